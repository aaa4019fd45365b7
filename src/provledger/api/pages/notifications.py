"""The notifications page: an API key's subscriptions, seen, made and removed in the browser,
with plain forms (no JavaScript).

The page signs in with an API key of the gateway (the one ``POST /subscriptions`` takes), kept
in a cookie that only this page's paths receive: ``HttpOnly``, ``SameSite=Strict`` (a form on
another site posts without it), ``Secure`` over HTTPS, and gone when the browser closes. A
``POST`` the browser says comes from another site (``Sec-Fetch-Site``, ``Origin``) is refused as
well. What the page does is what the
API does (:class:`~provledger.services.notify.desk.SubscriptionDesk`): the same checks, the same
one-line refusals, shown above the form with what was typed kept.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import ImmutableMultiDict, QueryParams

from provledger.api.pages.frame import Frame
from provledger.errors import InputError, ProvledgerError
from provledger.services.notify.subscriptions import OPTION_FIELDS
from provledger.services.relay import UnauthorizedError
from provledger.store.subscriptions import FINALITIES

#: The page, and the path its cookie is sent to.
PATH: Final = "/notifications"
#: The cookie that holds the API key the page signed in with.
COOKIE: Final = "provledger_api_key"
#: The form's text fields besides the filter's, and their values on a blank form.
BLANK: Final = {"url": "", "finality": "pending", "remind_before": "7d"}
#: The longest value of one form field read.
MAX_FIELD: Final = 20_000


def _values(text: str) -> list[str]:
    """The values of one filter field as typed: separated by commas, spaces or lines."""
    return [value for value in re.split(r"[\s,]+", text.strip()) if value]


def _form(given: ImmutableMultiDict[str, Any]) -> dict[str, Any]:
    """The form's fields from ``given`` (a query or a posted form), each text cut to
    :data:`MAX_FIELD`; ``grade`` the grades ticked."""
    form: dict[str, Any] = {
        name: str(given.get(name, default)).strip()[:MAX_FIELD] for name, default in BLANK.items()
    }
    for option in OPTION_FIELDS:
        if option != "grade":
            form[option] = " ".join(str(item) for item in given.getlist(option))[:MAX_FIELD]
    form["grade"] = [str(item) for item in given.getlist("grade")][:3]
    return form


def _body(form: dict[str, Any]) -> dict[str, Any]:
    """The subscription's JSON body (as ``POST /subscriptions`` takes it) from the form."""
    fields = {
        field: form[option] if option == "grade" else _values(form[option])
        for option, field in OPTION_FIELDS.items()
    }
    return {
        "url": form["url"],
        "finality": form["finality"],
        "remind_before": form["remind_before"],
        "filter": {field: values for field, values in fields.items() if values},
    }


def _same_site(request: Request) -> bool:
    """Whether a ``POST`` comes from this site's own pages: as the browser's ``Sec-Fetch-Site``
    says, else as its ``Origin`` does (``null`` under the gateway's ``no-referrer`` policy, so
    not told apart; the cookie's ``SameSite=Strict`` still keeps another site's form out)."""
    fetched_from = request.headers.get("sec-fetch-site")
    if fetched_from is not None:
        return fetched_from in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin in (None, "null", f"{request.url.scheme}://{request.url.netloc}")


def add_notification_pages(router: APIRouter, frame: Frame) -> None:
    """The notifications page and its forms, on ``router``."""
    gateway = frame.gateway

    def desk_page(
        request: Request,
        key: str | None,
        status_code: int = 200,
        *,
        form: dict[str, Any] | None = None,
        error: str | None = None,
        made: dict[str, Any] | None = None,
        removed: str = "",
    ) -> Response:
        """The page: the sign-in form, or the key's subscriptions and the form for a new
        one."""
        context: dict[str, Any] = {
            "form": form or _form(request.query_params),
            "finalities": FINALITIES,
            "error": error,
            "made": made,
            "removed": removed,
            "signed_in": False,
            "subscriptions": [],
        }
        labels = frame.labels()
        if key is not None:
            try:
                context["subscriptions"] = gateway.subscriptions().statuses(key)
                context["signed_in"] = True
            except UnauthorizedError:
                context["error"] = "that API key is not a live key of this gateway"
                status_code = 401
            except ProvledgerError as problem:
                context["error"] = f"the subscriptions cannot be read now: {problem}"
                status_code = 503
        accounts = [
            value
            for item in context["subscriptions"]
            for name in ("holders", "registrants", "licensees", "participants")
            for value in item["filter"].get(name, ())
        ]
        labels.learn(accounts=accounts)
        response = frame.page(request, "notifications.html", status_code, labels=labels, **context)
        response.headers["cache-control"] = "no-store"
        return response

    def forget(response: Response) -> Response:
        response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
        return response

    @router.get(PATH, response_class=HTMLResponse)
    def notifications(request: Request, removed: str = "") -> Response:
        """The key's subscriptions and the form for a new one (its filter filled from the
        query: ``holder``, ``asset``, ``event``...); without a key, the sign-in form."""
        return desk_page(request, request.cookies.get(COOKIE), removed=removed[:64])

    @router.post(f"{PATH}/sign-in", response_class=HTMLResponse)
    async def sign_in(request: Request) -> Response:
        """Keep the API key in the page's cookie if it is a live one."""
        posted = await request.form()
        key = str(posted.get("api_key", "")).strip()[:200]
        form = _form(posted)
        if not _same_site(request):
            return desk_page(request, None, 403, form=form, error="a form of another site")
        try:
            gateway.subscriptions().owner(key)
        except UnauthorizedError:
            return desk_page(
                request,
                None,
                401,
                form=form,
                error="that API key is not a live key of this gateway",
            )
        prefill = {name: value for name, value in form.items() if value and name in OPTION_FIELDS}
        query = f"?{urlencode(prefill, doseq=True)}" if prefill else ""
        response = RedirectResponse(PATH + query, status_code=303)
        response.set_cookie(
            COOKIE,
            key,
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post(f"{PATH}/sign-out")
    def sign_out(request: Request) -> Response:
        """Forget the API key."""
        return forget(RedirectResponse(PATH, status_code=303))

    @router.post(PATH, response_class=HTMLResponse)
    async def subscribe(request: Request) -> Response:
        """Make a subscription from the form; the page shows its secret this once."""
        key = request.cookies.get(COOKIE)
        form = _form(await request.form())
        if not _same_site(request):
            return desk_page(request, key, 403, form=form, error="a form of another site")
        if key is None:
            return desk_page(request, None, 401, form=form, error="sign in with an API key first")
        try:
            made = gateway.subscriptions().create(key, _body(form))
        except UnauthorizedError:
            return forget(desk_page(request, None, 401, form=form, error="sign in again"))
        except InputError as problem:
            return desk_page(request, key, 400, form=form, error=str(problem))
        except ProvledgerError as problem:
            return desk_page(request, key, 503, form=form, error=str(problem))
        return desk_page(request, key, 201, form=_form(QueryParams()), made=made)

    @router.post(PATH + "/{subscription_id}/remove", response_class=HTMLResponse)
    def remove(request: Request, subscription_id: str) -> Response:
        """Remove one of the key's subscriptions."""
        key = request.cookies.get(COOKIE)
        if not _same_site(request):
            return desk_page(request, key, 403, error="a form of another site")
        try:
            gateway.subscriptions().remove(key, subscription_id[:64])
        except UnauthorizedError:
            return forget(desk_page(request, None, 401, error="sign in again"))
        except InputError as problem:
            return desk_page(request, key, 404, error=str(problem))
        return RedirectResponse(f"{PATH}?{urlencode({'removed': subscription_id})}", 303)
