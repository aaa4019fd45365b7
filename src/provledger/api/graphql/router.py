"""``/graphql``: strawberry's FastAPI router, hardened on the request side.

What it adds to strawberry's router:

* the depth and cost limits of :mod:`provledger.api.graphql.limits`, checked before execution;
* Apollo's automatic persisted queries (APQ): a client sends a query's SHA-256 alone and, when
  the gateway does not know it (``PersistedQueryNotFound``), the query with its hash, which the
  gateway checks and keeps in a bounded LRU;
* an ``extensions.code`` on every error (the ``*_FAILED``, ``BAD_*`` and ``PERSISTED_QUERY_*``
  constants below, the limits' codes, or a resolver's own code), and a generic message in place
  of an unexpected exception's text, which goes to the log;
* every bad request answered as a GraphQL ``errors`` list with a 4xx status, where strawberry
  answers some with plain text and some (a body that is not a JSON object, bytes that are not
  UTF-8) with a 500;
* the GraphiQL page of :mod:`provledger.api.graphql.ide` on ``GET /graphql`` from a browser.

Mutations over GET, subscriptions (over HTTP or websockets), multipart uploads and batches (a
JSON array of operations) are refused.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, overload

import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute, APIWebSocketRoute
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from provledger.api.graphql.endpoint import post_endpoint
from provledger.api.graphql.ide import ide_html
from provledger.api.graphql.limits import QueryLimits
from provledger.api.graphql.prepared import Lru, Prepared, prepare, run_prepared
from provledger.api.problems import answer_of
from provledger.errors import ProvledgerError

log = logging.getLogger(__name__)

#: Query documents whose parse and validation are kept.
DOCUMENT_CACHE_SIZE: Final = 256

#: Where the router answers; the GraphiQL page sends its queries here.
PATH: Final = "/graphql"

GRAPHQL_PARSE_FAILED: Final = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED: Final = "GRAPHQL_VALIDATION_FAILED"
#: A resolver refused its arguments (a domain error the REST face answers with a 4xx), or the
#: request's variables do not fit their types.
BAD_USER_INPUT: Final = "BAD_USER_INPUT"
#: The HTTP request is not a GraphQL request: not JSON, not an object, fields of wrong types.
BAD_REQUEST: Final = "BAD_REQUEST"
#: ``operationName`` names no operation of the document, or the document has several and
#: ``operationName`` is missing.
OPERATION_RESOLUTION_FAILURE: Final = "OPERATION_RESOLUTION_FAILURE"
BATCHING_NOT_SUPPORTED: Final = "BATCHING_NOT_SUPPORTED"
PERSISTED_QUERY_NOT_FOUND: Final = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_SUPPORTED: Final = "PERSISTED_QUERY_NOT_SUPPORTED"
PERSISTED_QUERY_HASH_MISMATCH: Final = "PERSISTED_QUERY_HASH_MISMATCH"
#: A domain error the REST face answers with 503 (the index not built yet, the gateway busy).
SERVICE_UNAVAILABLE: Final = "SERVICE_UNAVAILABLE"
INTERNAL_SERVER_ERROR: Final = "INTERNAL_SERVER_ERROR"

#: What a client reads in place of an unexpected exception's text (as the REST face says it).
INTERNAL_MESSAGE: Final = "the gateway failed to answer; see its log"
#: The APQ version this gateway speaks.
APQ_VERSION: Final = 1
#: Persisted-query refusals are about to be resolved by the client's retry: no cache may keep
#: them (Apollo Server sends the same).
_NO_CACHE: Final = {"Cache-Control": "private, no-cache, must-revalidate"}


def graphql_router(
    schema: strawberry.Schema,
    context_getter: Callable[..., Any],
    *,
    max_depth: int,
    max_cost: int,
    persisted_cache_size: int = 1000,
) -> GatewayGraphQLRouter:
    """The ``/graphql`` routes (GET and POST) over ``schema``, each request's context made by
    the FastAPI dependency ``context_getter``; operations deeper than ``max_depth`` or costlier
    than ``max_cost`` are refused before they run, and up to ``persisted_cache_size`` persisted
    queries are kept."""
    # The limits and the error codes are extensions of a copy: the caller's schema object
    # (shared with tests and the SDL export) stays as it was built.
    limited = copy.copy(schema)
    # The caches come first: the parse and the validation of a document are kept (keyed by
    # its text, and by the document and the rules); the limits validate only what the cache
    # did not, then take the cost with the request's variables.
    limited.extensions = (
        *schema.extensions,
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: QueryLimits(max_depth=max_depth, max_cost=max_cost),
        _PhaseCodes,
    )
    # strawberry logs every error of every answer at ERROR; the client's mistakes are not the
    # gateway's, and the unexpected ones are logged once, with their cause (_formatted)
    limited.process_errors = _unlogged  # type: ignore[method-assign]
    return GatewayGraphQLRouter(
        limited,
        context_getter,
        persisted=PersistedQueries(persisted_cache_size),
        max_cost=max_cost,
    )


def _unlogged(errors: list[GraphQLError], execution_context: Any = None) -> None:
    """Errors not written to the log by strawberry (see :func:`graphql_router`)."""


def error_code(error: Exception) -> str:
    """The ``extensions.code`` of an exception a resolver raised (not a ``GraphQLError``):
    a domain error takes the status the REST face gives it (:func:`problems.answer_of
    <provledger.api.problems.answer_of>`), a 4xx being :data:`BAD_USER_INPUT` and a 503
    :data:`SERVICE_UNAVAILABLE`; anything else is :data:`INTERNAL_SERVER_ERROR`."""
    if not isinstance(error, ProvledgerError):
        return INTERNAL_SERVER_ERROR
    answer = answer_of(error)
    status = answer.status if isinstance(answer.status, int) else answer.status(error)
    if 400 <= status < 500:
        return BAD_USER_INPUT
    return SERVICE_UNAVAILABLE if status == 503 else INTERNAL_SERVER_ERROR


class PersistedQueries(Lru[str, str]):
    """Query texts by their SHA-256 (lowercase hex): a bounded LRU, safe to share between
    threads."""

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity, "query")


class RequestRefusedError(ProvledgerError):
    """A request answered with a single GraphQL error before any operation ran."""

    def __init__(
        self, status: int, message: str, code: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        """The answer: ``{"errors": [{"message", "extensions": {"code"}}]}``."""
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


class GatewayGraphQLRouter(GraphQLRouter[Any, Any]):
    """strawberry's router with provledger's request parsing, persisted queries, error codes
    and GraphiQL page; no websocket route. Made by :func:`graphql_router`."""

    temporal_response: Response
    """The response whose headers and status an answer takes (strawberry's own routes set it
    per request)."""

    def __init__(
        self,
        schema: strawberry.Schema,
        context_getter: Callable[..., Any],
        *,
        persisted: PersistedQueries,
        max_cost: int,
    ) -> None:
        super().__init__(
            schema,
            path=PATH,
            context_getter=context_getter,
            subscription_protocols=(),
            multipart_uploads_enabled=False,
            # documented in docs/graphql.md and its own schema, not in the REST OpenAPI
            include_in_schema=False,
        )
        self.persisted = persisted
        self.prepared: Lru[tuple[str, str | None], Prepared] = Lru(DOCUMENT_CACHE_SIZE)
        """Documents that passed validation, by their text and operation name
        (:mod:`~provledger.api.graphql.prepared`)."""
        self.max_cost = max_cost
        self.limited = schema
        # strawberry always adds a websocket route for subscriptions; the gateway has none.
        # Its POST route becomes a plain endpoint making the context itself (endpoint.py).
        post = Route(PATH, post_endpoint(self, context_getter), methods=["POST"])
        self.routes[:] = [
            post if isinstance(route, APIRoute) and "POST" in (route.methods or ()) else route
            for route in self.routes
            if not isinstance(route, APIWebSocketRoute)
        ]

    @overload
    async def run(
        self, request: Request, context: Any = UNSET, root_value: Any = UNSET
    ) -> Response: ...

    @overload
    async def run(
        self, request: WebSocket, context: Any = UNSET, root_value: Any = UNSET
    ) -> WebSocket: ...

    async def run(
        self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET
    ) -> Response | WebSocket:
        """strawberry's handling, with each refusal answered as a GraphQL error (strawberry's
        handlers would answer plain text)."""
        try:
            return await super().run(request, context, root_value)
        except RequestRefusedError as refusal:
            return refusal.response()
        except HTTPException as error:  # strawberry's own refusals, a 405 for one
            return RequestRefusedError(error.status_code, error.reason, BAD_REQUEST).response()

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """A browser's GET with no operation; not a GET of a persisted query by its hash,
        which sends ``extensions`` and no ``query``."""
        return super().should_render_graphql_ide(request) and (
            request.query_params.get("extensions") is None
        )

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """provledger's offline GraphiQL page, querying this endpoint."""
        return HTMLResponse(ide_html(PATH))

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        """The operation a GET's parameters or a POST's JSON body asks for, its query taken
        from the persisted queries when it comes as a hash alone."""
        if request.method == "GET":
            data: object = _query_parameters(request.query_params)
        else:
            given = request.content_type
            media_type = parse_content_type(given)[0].lower() if given else "none"
            if media_type != "application/json":
                message = f"a GraphQL request's body is application/json, not {media_type}"
                raise RequestRefusedError(415, message, BAD_REQUEST)
            data = _decoded(await request.get_body(), "the body")
        if isinstance(data, list):
            message = "batched operations (a JSON array) are not supported: send one per request"
            raise RequestRefusedError(400, message, BATCHING_NOT_SUPPORTED)
        if not isinstance(data, dict):
            raise RequestRefusedError(400, "the body must be a JSON object", BAD_REQUEST)
        query = _field(data, "query", str, "a string")
        extensions = _field(data, "extensions", dict, "an object")
        return GraphQLRequestData(
            query=self._persisted_query(query, extensions),
            variables=_field(data, "variables", dict, "an object"),
            operation_name=_field(data, "operationName", str, "a string"),
            extensions=extensions,
        )

    def _persisted_query(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """``query``, or the one its persisted-query hash names; refuses a hash it does not
        know, or that is not the query's."""
        digest = _persisted_hash(extensions)
        if digest is None:
            return query
        if query is None:
            known = self.persisted.get(digest)
            if known is None:
                raise RequestRefusedError(
                    200, "PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND, _NO_CACHE
                )
            return known
        if _sha256(query) != digest:
            message = "the persisted query's sha256Hash is not the SHA-256 of its query"
            raise RequestRefusedError(400, message, PERSISTED_QUERY_HASH_MISMATCH, _NO_CACHE)
        return query

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Any,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Run the operation: queries over GET, queries and mutations over POST; a persisted
        query is kept once it has passed validation."""
        allowed = {OperationType.QUERY}
        if request_adapter.method == "POST":
            allowed.add(OperationType.MUTATION)
        query, operation_name = request_data.query, request_data.operation_name
        prepared = None if query is None else self.prepared.get((query, operation_name))
        if prepared is not None and prepared.operation in allowed:
            result = await run_prepared(
                self.limited,
                prepared,
                variables=request_data.variables,
                context=context,
                root_value=root_value,
                operation_name=operation_name,
                operation_extensions=request_data.extensions,
                max_cost=self.max_cost,
            )
            _code_variables_errors(result.errors)
            return result
        try:
            result = await self.schema.execute(
                request_data.query,
                variable_values=request_data.variables,
                context_value=context,
                root_value=root_value,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except MissingQueryError as error:
            message = "no GraphQL query in the request: send query (or a persisted query's hash)"
            raise RequestRefusedError(400, message, BAD_REQUEST) from error
        except CannotGetOperationTypeError as error:
            if error.operation_name is None:
                message = "the document has no operation, or several and no operationName"
            else:
                message = f"the document has no operation named {error.operation_name!r}"
            raise RequestRefusedError(400, message, OPERATION_RESOLUTION_FAILURE) from error
        except InvalidOperationTypeError as error:
            message = error.as_http_error_reason(request_adapter.method)
            raise RequestRefusedError(400, message, BAD_REQUEST) from error
        # Errors without a path are the document's or the variables' (field errors have one):
        # a query that was refused is not worth a place in the caches.
        refused = any(error.path is None for error in result.errors or ())
        if query is not None and not refused:
            self.prepared.put((query, operation_name), prepare(query, operation_name))
            digest = _persisted_hash(request_data.extensions)
            if digest is not None:
                self.persisted.put(digest, query)
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """strawberry's response, each error with its code and unexpected ones masked."""
        response = process_result(result)
        if result.errors:
            response["errors"] = [_formatted(error) for error in result.errors]
        return response


class _PhaseCodes(SchemaExtension):
    """Codes the errors only their phase tells apart: validation's, and the request's
    variables' (coerced by graphql-core as execution starts, so without a path)."""

    def on_validate(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            _set_code(error, GRAPHQL_VALIDATION_FAILED)

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        _code_variables_errors(result.errors if result is not None else None)


def _code_variables_errors(errors: list[GraphQLError] | None) -> None:
    """Code :data:`BAD_USER_INPUT` an execution's errors without a path: the variables'
    (field errors have one)."""
    for error in errors or ():
        if error.path is None:
            _set_code(error, BAD_USER_INPUT)


def _set_code(error: GraphQLError, code: str) -> None:
    # A new dict: graphql-core shares an error's extensions with the error it wraps.
    if "code" not in (error.extensions or {}):
        error.extensions = {**(error.extensions or {}), "code": code}


def _formatted(error: GraphQLError) -> dict[str, Any]:
    """``error`` as the response shows it, with its ``extensions.code``."""
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(error.extensions or {})
    code = extensions.get("code")
    if not isinstance(code, str):
        cause = _cause(error)
        if isinstance(error, GraphQLSyntaxError):
            code = GRAPHQL_PARSE_FAILED
        elif cause is None:  # a GraphQLError raised on purpose: its message is for the client
            code = GRAPHQL_VALIDATION_FAILED if error.path is None else BAD_USER_INPUT
        else:
            code = error_code(cause)
            if code == INTERNAL_SERVER_ERROR:
                where = ".".join(str(key) for key in error.path or ()) or "(no field)"
                log.error("GraphQL operation failed at %s", where, exc_info=cause)
                formatted["message"] = INTERNAL_MESSAGE
                extensions = {}
    formatted["extensions"] = {**extensions, "code": code}
    return formatted


def _cause(error: GraphQLError) -> Exception | None:
    """The exception behind ``error``, through the GraphQLErrors wrapping it; None when a
    GraphQLError is the origin."""
    cause = error.original_error
    while isinstance(cause, GraphQLError):
        cause = cause.original_error
    return cause


def _persisted_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The SHA-256 a request's ``extensions.persistedQuery`` names, lowercase; None when it
    names none. Refuses a malformed one, or one of a version other than :data:`APQ_VERSION`."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise RequestRefusedError(400, "extensions.persistedQuery must be an object", BAD_REQUEST)
    version = persisted.get("version")
    # `type(...) is int`: JSON's true and 1.0 equal 1 in Python.
    if type(version) is not int or version != APQ_VERSION:
        raise RequestRefusedError(
            400, "PersistedQueryNotSupported", PERSISTED_QUERY_NOT_SUPPORTED, _NO_CACHE
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str):
        message = "extensions.persistedQuery.sha256Hash must be a string"
        raise RequestRefusedError(400, message, BAD_REQUEST)
    return digest.lower()


def _sha256(query: str) -> str:
    # surrogatepass: JSON can carry a lone surrogate, which strict UTF-8 cannot encode.
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


def _query_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A GET's parameters as a body would give them: ``variables`` and ``extensions``
    decoded from JSON."""
    data: dict[str, Any] = dict(parameters)
    for name in ("variables", "extensions"):
        value = data.get(name)
        data[name] = _decoded(value, f"the {name} parameter") if value else None
    return data


def _decoded(text: str | bytes, what: str) -> object:
    """``text`` parsed as JSON; a 400 when it is not JSON (bytes not UTF-8, nesting past the
    recursion limit: strawberry lets both through as 500s)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        raise RequestRefusedError(400, f"{what} is not valid JSON", BAD_REQUEST) from error


def _field(data: Mapping[str, Any], name: str, kind: type[Any], noun: str) -> Any:
    """The request's field ``name`` when it is a ``kind`` or null; a 400 otherwise."""
    value = data.get(name)
    if value is not None and not isinstance(value, kind):
        raise RequestRefusedError(400, f"{name} must be {noun} or null", BAD_REQUEST)
    return value
