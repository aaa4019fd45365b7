"""Errors as RFC 9457 problem details (``application/problem+json``), mapped in one place.

Domain errors name the fault and carry no HTTP: :data:`ANSWERS` gives each its status, the
request field it names (``invalid_params``) and the headers it calls for (``Retry-After``,
``WWW-Authenticate``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, Final

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from provledger.api.heavy import GatewayBusyError
from provledger.api.security import HEADERS
from provledger.errors import InputError, ProvledgerError, ServiceUnavailableError
from provledger.params import InvalidParameterError
from provledger.services.checkpoints import MalformedCosignatureError
from provledger.services.checkpoints.desk import CosignatureMismatchError, UnknownCheckpointError
from provledger.services.delivery.accesslog import (
    AccessLogAlteredError,
    ReceiptNotReadyError,
    UnknownAccessRecordError,
)
from provledger.services.delivery.envelope import MasterKeyError
from provledger.services.delivery.errors import (
    BadUploadError,
    ContentMismatchError,
    DataRoomNotConfiguredError,
    DeliveryRefusedError,
    FolderNotFileError,
    MetadataDocumentError,
    MetadataRevisedError,
    NoStoredDataError,
    NoStoredFileError,
    NoStoredMetadataError,
    RangeNotSatisfiableError,
    SignedForOtherDataError,
)
from provledger.services.delivery.requests import (
    MalformedSignedRequestError,
    SignatureRejectedError,
)
from provledger.services.delivery.rules import Refusal
from provledger.services.disclosed import BadPresentationError, UnprovedPresentationError
from provledger.services.notify.desk import StreamPrunedError, TooManyStreamsError
from provledger.services.notify.signing import NotifyKeyError
from provledger.services.notify.subscriptions import TooManySubscriptionsError
from provledger.services.proofs import ProofUnavailableError
from provledger.services.reads import NotFoundError
from provledger.services.relay import (
    RegistrationRefusedError,
    UnauthorizedError,
    UnknownRelayRequestError,
)
from provledger.services.verification import UploadTooLargeError
from provledger.store.checkpoints import ConflictingCosignatureError
from provledger.store.engine import IndexNotBuiltError
from provledger.store.notify import SubscriptionNotFoundError
from provledger.store.relay import (
    AlreadyRelayingError,
    GasBudgetExceededError,
    IdempotencyConflictError,
    RateLimitedError,
    RelayRefusalError,
)

PROBLEM_JSON: Final = "application/problem+json"
#: The longest request path a problem's ``instance`` repeats.
MAX_INSTANCE: Final = 120


@dataclass(frozen=True)
class InvalidParam:
    """One request field that was refused, and why."""

    name: Annotated[str, Field(examples=["limit"])]
    reason: Annotated[str, Field(examples=["must be between 1 and 1000, got 0"])]


@dataclass(frozen=True)
class Problem:
    """An error answer (RFC 9457)."""

    type: Annotated[str, Field(examples=["about:blank"])]
    title: Annotated[str, Field(examples=["Bad Request"])]
    status: Annotated[int, Field(examples=[400])]
    detail: Annotated[str, Field(examples=["limit: must be between 1 and 1000, got 0"])]
    instance: Annotated[str, Field(examples=["/assets"])]
    invalid_params: list[InvalidParam] | None = None


def documented(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


#: The error answers every route may give, documented once for the OpenAPI schema.
ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: documented("A parameter or body that does not parse; `invalid_params` names it."),
    404: documented("No such record in the index."),
    413: documented("A body over the configured size cap."),
    422: documented("A parameter outside its declared range or type."),
    503: documented("The index is not ready, or a query ran past the time limit."),
}


def problem(
    request: Request,
    status: int,
    detail: str,
    invalid: list[InvalidParam] | None = None,
    headers: dict[str, str] | None = None,
    kind: str = "about:blank",
) -> JSONResponse:
    """A problem+json response (``kind`` is its ``type``)."""
    body = problem_document(status, detail, _shortened(request.url.path), invalid, kind)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_document(
    status: int,
    detail: str,
    instance: str,
    invalid: list[InvalidParam] | None = None,
    kind: str = "about:blank",
) -> dict[str, Any]:
    """The body of a problem+json answer."""
    body: dict[str, Any] = {
        "type": kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if invalid:
        body["invalid_params"] = [{"name": item.name, "reason": item.reason} for item in invalid]
    return body


def _shortened(path: str) -> str:
    """A request path as an answer repeats it: a bad value in it is cut to a short prefix."""
    return path if len(path) <= MAX_INSTANCE else path[:MAX_INSTANCE] + "..."


def _location(loc: tuple[Any, ...]) -> str:
    # ("query", "limit") -> "limit"; ("body", "file") -> "file"
    parts = [str(part) for part in loc if part not in ("query", "path", "body", "header")]
    return ".".join(parts) or ".".join(str(part) for part in loc)


@dataclass(frozen=True)
class Answer:
    """How one kind of domain error is answered."""

    #: The status, or how the error gives it.
    status: int | Callable[[Any], int]
    #: The request field at fault, for ``invalid_params``.
    invalid: Callable[[Any], InvalidParam] | None = None
    #: The headers the answer carries.
    headers: Callable[[Any], dict[str, str]] | None = None
    #: The problem's ``type``, where it names a rule (``urn:provledger:problem:<rule>``).
    kind: Callable[[Any], str] | None = None


def _refused(field: str) -> Callable[[Exception], InvalidParam]:
    """``field`` is at fault, for the reason the error's message gives."""
    return lambda error: InvalidParam(field, str(error))


def _parameter(error: InvalidParameterError) -> InvalidParam:
    return InvalidParam(error.field, error.reason)


def _retry_after(error: Any) -> dict[str, str]:
    return {"Retry-After": str(error.retry_after)}


def _bearer(_: Exception) -> dict[str, str]:
    return {"WWW-Authenticate": "Bearer"}


#: The ``type`` of a problem that names a rule of the data room.
PROBLEM_TYPE: Final = "urn:provledger:problem:"

#: The status of each data-room refusal (the rule a
#: :class:`~provledger.services.delivery.rules.Refusal` names): 451 where the law or an export
#: rule stands in the way, 403 where the requester has no right, 410 where the data is gone.
REFUSAL_STATUS: Final[dict[Refusal, int]] = {
    Refusal.UNKNOWN_ASSET: 404,
    Refusal.ASSET_CANCELLED: 410,
    Refusal.NOT_HOLDER: 403,
    Refusal.REQUESTER_SUSPENDED: 403,
    Refusal.HOLDER_SUSPENDED: 403,
    Refusal.NO_LICENCE: 403,
    Refusal.LICENCE_EXPIRED: 403,
    Refusal.LICENCE_REVOKED: 403,
    Refusal.NOT_REVIEWING: 403,
    Refusal.NO_OPEN_DISPUTE: 403,
    Refusal.ASSET_REJECTED: 451,
    Refusal.ASSET_FROZEN: 451,
    Refusal.ASSET_UNDER_OBJECTION: 451,
    Refusal.CORE_DATA_ABROAD: 451,
    Refusal.EXPORT_PERMIT_MISSING: 451,
}


def _rule(name: str) -> Callable[[Any], str]:
    return lambda _: PROBLEM_TYPE + name


def _refusal_type(error: DeliveryRefusedError) -> str:
    return PROBLEM_TYPE + error.refusal


def _signature_type(error: SignatureRejectedError) -> str:
    return f"{PROBLEM_TYPE}signature-{error.rule}"


def _record_header(error: DeliveryRefusedError) -> dict[str, str]:
    return {"Provledger-Access-Record": error.record_id} if error.record_id else {}


def _content_range(error: RangeNotSatisfiableError) -> dict[str, str]:
    return {"Content-Range": f"bytes */{error.size}"}


def _refusal_status(error: DeliveryRefusedError) -> int:
    return REFUSAL_STATUS.get(Refusal(error.refusal), 403)


#: The answer to each domain error; a subclass takes its nearest listed ancestor's.
ANSWERS: Final[dict[type[Exception], Answer]] = {
    UploadTooLargeError: Answer(413, _parameter),
    UnauthorizedError: Answer(401, _refused("Authorization"), _bearer),
    UnknownRelayRequestError: Answer(404, _refused("request_id")),
    IdempotencyConflictError: Answer(409, _refused("Idempotency-Key")),
    AlreadyRelayingError: Answer(409, _refused("body")),
    RateLimitedError: Answer(429, _refused("Authorization"), _retry_after),
    GasBudgetExceededError: Answer(429, _refused("Authorization"), _retry_after),
    RegistrationRefusedError: Answer(
        422, lambda error: InvalidParam(f"registrations[{error.position}]", str(error))
    ),
    RelayRefusalError: Answer(422, _refused("body")),
    DeliveryRefusedError: Answer(_refusal_status, headers=_record_header, kind=_refusal_type),
    SignatureRejectedError: Answer(401, _refused("Provledger-Signature"), kind=_signature_type),
    MalformedSignedRequestError: Answer(
        400, _refused("Provledger-Signature"), kind=_rule("malformed-signature")
    ),
    SignedForOtherDataError: Answer(
        401, _refused("Provledger-Signature"), kind=_rule("signature-other-request")
    ),
    ContentMismatchError: Answer(422, _refused("body"), kind=_rule("content-mismatch")),
    BadUploadError: Answer(422, _refused("body"), kind=_rule("bad-upload")),
    RangeNotSatisfiableError: Answer(416, _refused("Range"), _content_range),
    NoStoredDataError: Answer(404, kind=_rule("no-stored-data")),
    NoStoredFileError: Answer(404, kind=_rule("no-stored-file")),
    NoStoredMetadataError: Answer(404, kind=_rule("no-stored-metadata")),
    MetadataRevisedError: Answer(409, kind=_rule("metadata-revised")),
    MetadataDocumentError: Answer(422, _parameter, kind=_rule("bad-metadata-document")),
    FolderNotFileError: Answer(409, kind=_rule("folder-not-file")),
    DataRoomNotConfiguredError: Answer(503),
    UnknownAccessRecordError: Answer(
        404, _refused("record_id"), kind=_rule("unknown-access-record")
    ),
    ReceiptNotReadyError: Answer(409, _refused("record_id"), kind=_rule("receipt-not-ready")),
    AccessLogAlteredError: Answer(500, kind=_rule("access-log-altered")),
    BadPresentationError: Answer(422, _parameter, kind=_rule("bad-presentation")),
    UnprovedPresentationError: Answer(
        422,
        lambda error: InvalidParam(error.check, error.reason),
        kind=_rule("presentation-unproved"),
    ),
    MasterKeyError: Answer(503),
    UnknownCheckpointError: Answer(404, _refused("sequence"), kind=_rule("unknown-checkpoint")),
    MalformedCosignatureError: Answer(
        400,
        lambda error: InvalidParam(error.where.removeprefix("body."), error.reason),
        kind=_rule("malformed-cosignature"),
    ),
    CosignatureMismatchError: Answer(
        422, _refused("signature"), kind=_rule("cosignature-not-witness")
    ),
    ConflictingCosignatureError: Answer(
        409, _refused("signature"), kind=_rule("cosignature-conflict")
    ),
    InvalidParameterError: Answer(400, _parameter),
    NotFoundError: Answer(404),
    SubscriptionNotFoundError: Answer(404, _refused("subscription_id")),
    TooManySubscriptionsError: Answer(409),
    TooManyStreamsError: Answer(429),
    StreamPrunedError: Answer(410, _refused("Last-Event-ID"), kind=_rule("stream-pruned")),
    NotifyKeyError: Answer(503),
    ProofUnavailableError: Answer(503),
    GatewayBusyError: Answer(503, headers=_retry_after),
    ServiceUnavailableError: Answer(503),
    InputError: Answer(400),
    ProvledgerError: Answer(500),
}


def answer_of(error: Exception) -> Answer:
    """The answer to ``error``: its own class's in :data:`ANSWERS`, or its nearest ancestor's."""
    return next(ANSWERS[kind] for kind in type(error).__mro__ if kind in ANSWERS)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        invalid = [
            InvalidParam(_location(tuple(item.get("loc", ()))), str(item.get("msg", "invalid")))
            for item in error.errors()
        ]
        detail = "; ".join(f"{item.name}: {item.reason}" for item in invalid)
        return problem(request, 422, detail or "invalid request", invalid)

    async def domain_error(request: Request, error: Exception) -> JSONResponse:
        answer = answer_of(error)
        invalid = None if answer.invalid is None else [answer.invalid(error)]
        headers = None if answer.headers is None else answer.headers(error)
        status = answer.status if isinstance(answer.status, int) else answer.status(error)
        kind = "about:blank" if answer.kind is None else answer.kind(error)
        return problem(request, status, str(error), invalid, headers, kind)

    for kind in ANSWERS:
        app.add_exception_handler(kind, domain_error)
    app.add_exception_handler(IndexNotBuiltError, _index_not_built)

    @app.exception_handler(ClientDisconnect)
    async def went_away(request: Request, error: ClientDisconnect) -> JSONResponse:
        # The client closed its connection (or was cut off) before its body arrived: nobody
        # reads this answer, but the request ends as the client's fault, not as a 500.
        return problem(request, 400, "the client closed the connection before its body arrived")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        # Starlette's outermost middleware answers with this, outside the security headers'
        # middleware: the headers are added here. The error itself goes to the log.
        headers = {name.decode(): value.decode() for name, value in HEADERS}
        return problem(request, 500, "the gateway failed to answer; see its log", headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers) if error.headers else None
        return problem(request, error.status_code, str(error.detail), headers=headers)


_NOT_BUILT_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not ready yet · provledger</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<header class="top"><a class="brand" href="/">provledger</a></header>
<main id="main">
<h1>Not ready yet</h1>
<p>{detail}.</p>
<p>This page will answer once the indexer has read the chain.</p>
</main>
</body>
</html>
"""


async def _index_not_built(request: Request, error: Exception) -> Response:
    """The answer while the database holds no index: a page for the pages (whose routes answer
    HTML), problem+json for the API; 503 either way, in the same words."""
    route = request.scope.get("route")
    kind = getattr(route, "response_class", None)
    if isinstance(kind, type) and issubclass(kind, HTMLResponse):
        detail = str(error)
        sentence = html.escape(detail[:1].upper() + detail[1:])
        return HTMLResponse(_NOT_BUILT_PAGE.format(detail=sentence), 503)
    return problem(request, 503, str(error))


def add_problem_schema(app: FastAPI) -> None:
    """Put the Problem schema the error responses refer to into the app's OpenAPI."""
    from fastapi.openapi.utils import get_openapi
    from pydantic import TypeAdapter

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema = TypeAdapter(Problem).json_schema(ref_template="#/components/schemas/{model}")
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(schema.pop("$defs", {}))
            schemas["Problem"] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
