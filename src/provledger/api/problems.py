"""Errors as RFC 9457 problem details (``application/problem+json``), mapped in one place."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from provledger.api.heavy import GatewayBusy
from provledger.api.security import HEADERS
from provledger.errors import InputError, ProvledgerError, ServiceUnavailable
from provledger.services.proofs import ProofUnavailableError
from provledger.services.provenance import (
    InvalidParameterError,
    NotFoundError,
)
from provledger.services.verification import UploadTooLargeError
from provledger.store.relay import RelayRefusal

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
) -> JSONResponse:
    """A problem+json response."""
    body = problem_document(status, detail, _shortened(request.url.path), invalid)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_document(
    status: int, detail: str, instance: str, invalid: list[InvalidParam] | None = None
) -> dict[str, Any]:
    """The body of a problem+json answer."""
    body: dict[str, Any] = {
        "type": "about:blank",
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


#: The HTTP status of each domain error; a subclass takes its nearest listed ancestor's.
STATUS_OF: Final[dict[type[Exception], int]] = {
    UploadTooLargeError: 413,
    RelayRefusal: 422,
    InvalidParameterError: 400,
    NotFoundError: 404,
    ProofUnavailableError: 503,
    ServiceUnavailable: 503,
    InputError: 400,
    ProvledgerError: 500,
}


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
        status = next(STATUS_OF[kind] for kind in type(error).__mro__ if kind in STATUS_OF)
        invalid = None
        headers = None
        if isinstance(error, InvalidParameterError):
            invalid = [InvalidParam(error.field, error.reason)]
        if isinstance(error, GatewayBusy):
            headers = {"Retry-After": str(error.retry_after)}
        if isinstance(error, RelayRefusal):
            status = error.http_status
            invalid = [InvalidParam(error.field, str(error))]
            if status == 401:
                headers = {"WWW-Authenticate": "Bearer"}
            elif error.retry_after is not None:
                headers = {"Retry-After": str(error.retry_after)}
        return problem(request, status, str(error), invalid, headers)

    for kind in STATUS_OF:
        app.add_exception_handler(kind, domain_error)

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
