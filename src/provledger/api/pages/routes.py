"""The routes of the pages: each parses its path and query, asks the services, and renders
its template in the frame (:class:`Frame`); malformed or unknown keys get the not-found page."""

from __future__ import annotations

import re
from contextlib import suppress
from typing import Annotated, Any, Final

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from provledger.api.gateway import Gateway
from provledger.api.pages.asset import asset_context
from provledger.api.pages.dataroom import access_requests
from provledger.api.pages.frame import FILES, Frame
from provledger.api.pages.notices import NO_NOTICES, notice_context
from provledger.api.pages.notifications import add_notification_pages
from provledger.api.params import MAX_CURSOR, Digits
from provledger.api.security import VERIFY_PAGE_POLICY
from provledger.chain.ids import asset_id
from provledger.errors import InputError
from provledger.params import INT64_MAX, checksum, parse_address, parse_asset_id, parse_hash
from provledger.services.market import parse_amount, parse_kind
from provledger.services.provenance import parse_title
from provledger.services.reads import NotFoundError
from provledger.store.queries import AssetFilter, OfferFilter

#: The longest search text read (and shown back in the search box).
MAX_QUERY: Final = 1000
#: The most open offers the market page lists.
MAX_OFFERS: Final = 1000
#: The one sentence that says what the site is (the home page's lede).
ABOUT: Final = (
    "provledger is a public register of data assets: who registered a dataset, who holds it "
    "now, what it was made from and who may use it, recorded on a blockchain so that anyone "
    "can check a file against it."
)


def install_pages(app: FastAPI, gateway: Gateway) -> None:
    """Add the pages and their static files to ``app``."""
    app.mount("/static", StaticFiles(directory=FILES / "static"), name="static")
    frame = Frame(gateway)
    service, page, missing = frame.service, frame.page, frame.missing
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        """What the site is, the search box, recent registrations."""
        labels = frame.labels()
        recent = service.recent(10)
        labels.learn_listed(recent)
        return page(request, "home.html", labels=labels, recent=recent, about=ABOUT)

    @router.get("/search", response_class=HTMLResponse)
    def search(request: Request, q: str = "") -> Response:
        """An account, an asset (by id or content hash) or a registration number leads to its
        page, a hash no asset holds to its verdict; other text searches the titles."""
        text = q.strip()[:MAX_QUERY]
        if not text:
            return RedirectResponse("/", status_code=303)
        if re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
            return RedirectResponse(f"/participant/{text}", status_code=303)
        if re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", text):
            key = parse_hash(text, "q")
            for candidate in (int(key, 16), asset_id(bytes.fromhex(key[2:]))):  # id, content
                try:
                    found = service.asset(candidate)
                except NotFoundError:
                    continue
                return RedirectResponse(f"/asset/{found.asset_id}", status_code=303)
            return RedirectResponse(f"/check?hash={key}", status_code=303)
        if text.isascii() and text.isdigit():  # a registration number (a 64-bit column)
            fits = len(text) <= len(str(INT64_MAX)) and int(text) <= INT64_MAX
            certified = service.asset_of_registration(int(text)) if fits else None
            if certified is not None:
                return RedirectResponse(f"/asset/{certified}", status_code=303)
            return missing(request, "registration", f"no registration number {text}")
        try:
            terms = parse_title(text)
        except InputError as error:
            return page(request, "search.html", 400, query=text, results=[], error=str(error))
        results = service.assets(AssetFilter(title_words=terms), None, 100).items
        labels = frame.labels()
        labels.learn_listed(results)
        return page(request, "search.html", labels=labels, query=text, results=results, error=None)

    def verify_page(request: Request, status_code: int = 200, **context: Any) -> Response:
        response = page(request, "check.html", status_code, **context)
        response.headers["content-security-policy"] = VERIFY_PAGE_POLICY.decode()
        return response

    @router.get("/check", response_class=HTMLResponse)
    def check(
        request: Request,
        hash: str = "",
        batch: str = "",
        files: Annotated[int, Digits, Query(ge=0, le=INT64_MAX)] = 0,
    ) -> Response:
        """The verify page; with a hash, its verdict (and, for a folder, whether its files
        are anchored together as the batch ``batch``)."""
        blank: dict[str, Any] = {"verdict": None, "batch": None, "batch_query": "", "files": files}
        if not hash:
            return verify_page(request, **blank, error=None, query="")
        try:
            verdict = frame.gateway.verifier.verify_hash(hash)
            anchored = None
            if batch:
                with suppress(NotFoundError):  # not anchored as a batch: said on the page
                    anchored = service.batch(parse_hash(batch, "batch"))
        except InputError as error:
            return verify_page(request, 400, **blank, error=str(error), query=hash)
        found: dict[str, Any] = {
            "verdict": verdict,
            "batch": anchored,
            "batch_query": batch,
            "files": files,
        }
        return verify_page(request, **found, error=None, query=hash)

    @router.get("/asset/{asset_id}", response_class=HTMLResponse)
    def asset_page(request: Request, asset_id: str) -> Response:
        """An asset's record, standing, timeline, lineage, holders and market."""
        try:
            number = parse_asset_id(asset_id)
            asset = service.asset(number)
        except (InputError, NotFoundError) as error:
            return missing(request, "asset", str(error))
        base = str(request.base_url).rstrip("/")
        return page(request, "asset.html", **asset_context(frame, number, asset, base))

    @router.get("/notices", response_class=HTMLResponse)
    def notices_page(request: Request, cursor: str = "", limit: str = "") -> Response:
        """The registrations under public notice: open to objection now, the notice ending
        soonest first, a page at a time (``cursor``, ``limit``)."""
        try:
            context = notice_context(frame, cursor[:MAX_CURSOR], limit.strip())
        except InputError as error:
            return page(request, "notices.html", 400, **NO_NOTICES, error=str(error))
        return page(request, "notices.html", **context, error=None)

    @router.get("/market", response_class=HTMLResponse)
    def market_page(
        request: Request,
        currency: str = "",
        kind: str = "",
        min_price: str = "",
        max_price: str = "",
        seller: str = "",
    ) -> Response:
        """The open offers (filtered by the form) and the trade statistics."""
        form = {
            "currency": currency.strip(),
            "kind": kind.strip().lower(),
            "min_price": min_price.strip(),
            "max_price": max_price.strip(),
            "seller": seller.strip(),
        }
        market = frame.gateway.market
        try:
            where = OfferFilter(
                currency=parse_address(form["currency"], "currency") if form["currency"] else None,
                kind=parse_kind(form["kind"] or None),
                min_price=parse_amount(form["min_price"] or None, "min_price"),
                max_price=parse_amount(form["max_price"] or None, "max_price"),
                seller=parse_address(form["seller"], "seller") if form["seller"] else None,
            )
            offers = market.open_offers(where, None, MAX_OFFERS).items
        except InputError as error:
            return page(
                request, "market.html", 400, form=form, offers=[], stats=[], error=str(error)
            )
        labels = frame.labels()
        labels.learn(
            accounts=[offer.seller for offer in offers],
            assets=[offer.asset_id for offer in offers],
        )
        stats = market.statistics()
        return page(
            request, "market.html", labels=labels, form=form, offers=offers, stats=stats, error=None
        )

    @router.get("/participant/{address}", response_class=HTMLResponse)
    def participant_page(request: Request, address: str) -> Response:
        """An account: as a participant if it is one, its roles, what it holds, registered
        and is licensed to use, and (with the data room on) the requests for its assets' data."""
        try:
            key = parse_address(address, "address")
        except InputError as error:
            return missing(request, "participant", str(error))
        record = None
        with suppress(NotFoundError):  # an account that is not a participant: said on the page
            record = service.participant(key)
        held = service.assets(AssetFilter(holder=key), None, 1000).items
        registered = service.assets(AssetFilter(registrant=key), None, 1000).items
        licensed = service.licenses_held(key, None, 1000).items
        labels = frame.labels()
        labels.learn_listed([*held, *registered])
        labels.learn(
            accounts=[item.licensor for item in licensed],
            assets=[item.asset_id for item in licensed],
        )
        return page(
            request,
            "participant.html",
            labels=labels,
            address=checksum(key),
            party=labels.party(key),
            participant=record,
            held=held,
            registered=registered,
            licensed=licensed,
            requests=access_requests(frame.gateway, held, labels),
        )

    @router.get("/holder/{address}", response_class=HTMLResponse)
    def holder_page(request: Request, address: str) -> Response:
        """The former holder page: its account's participant page now."""
        try:
            key = parse_address(address, "address")
        except InputError as error:
            return missing(request, "holder", str(error))
        return RedirectResponse(f"/participant/{checksum(key)}", status_code=301)

    @router.get("/batch/{root}", response_class=HTMLResponse)
    def batch_page(request: Request, root: str, leaf: str = "") -> Response:
        """A batch anchor; with ``leaf``, whether that content hash is one of its leaves."""
        try:
            batch = service.batch(parse_hash(root, "root"))
        except (InputError, NotFoundError) as error:
            return missing(request, "batch", str(error))
        verdict, refusal = None, None
        if leaf:
            try:
                verdict = frame.gateway.verifier.verify_hash(leaf)
            except InputError as problem:
                refusal = str(problem)
        return page(request, "batch.html", batch=batch, leaf=leaf, verdict=verdict, error=refusal)

    add_notification_pages(router, frame)
    app.router.routes.extend(router.routes)
