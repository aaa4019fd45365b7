"""``POST /graphql`` as a plain Starlette endpoint.

strawberry's FastAPI router declares its context as a FastAPI dependency, and FastAPI solves
the dependencies of each request (its own context, the background tasks, the connection, the
response) before the operation starts: about a fifth of what answering an asset by its hash
costs. Every GraphQL request a client sends is a POST; this endpoint makes the context itself
and hands the request to the same router, so the answers are those of strawberry's own POST
route. The context getter is therefore a function without parameters, returning the context,
an awaitable of it, or an async generator yielding it once (closed after the answer, as FastAPI
closes a dependency with ``yield``).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from cross_web import HTTPException
from fastapi import BackgroundTasks, Request, Response
from fastapi.responses import PlainTextResponse
from strawberry.exceptions import InvalidCustomContext
from strawberry.fastapi import BaseContext


class Runs(Protocol):
    """What the endpoint needs of the router."""

    temporal_response: Response

    async def run(self, request: Request, context: Any, root_value: Any) -> Response: ...


def post_endpoint(
    router: Runs, context_getter: Callable[[], Any]
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of ``POST /graphql`` on ``router``, each request's context made by
    ``context_getter``."""
    if inspect.signature(context_getter).parameters:
        raise TypeError("the GraphQL context getter takes no parameters")

    async def post(request: Request) -> Response:
        # as FastAPI makes a route's own Response: no length (the answer's is the one sent),
        # and no status unless a resolver sets one
        sub_response = Response()
        del sub_response.headers["content-length"]
        sub_response.status_code = None  # type: ignore[assignment]
        tasks = BackgroundTasks()
        async with _context(context_getter, request, tasks, sub_response) as context:
            # as strawberry's own route does: the router hands it to its response
            router.temporal_response = sub_response
            try:
                response = await router.run(request, context, None)
            except HTTPException as error:
                response = PlainTextResponse(error.reason, status_code=error.status_code)
        if tasks.tasks:
            response.background = tasks
        return response

    return post


@asynccontextmanager
async def _context(
    getter: Callable[[], Any], request: Request, tasks: BackgroundTasks, response: Response
) -> AsyncIterator[Any]:
    """The request's context from ``getter``, completed as strawberry completes it."""
    made = getter()
    if inspect.isasyncgen(made):
        try:
            yield _completed(await anext(made), request, tasks, response)
        finally:
            await made.aclose()
        return
    if inspect.isawaitable(made):
        made = await made
    yield _completed(made, request, tasks, response)


def _completed(context: Any, request: Request, tasks: BackgroundTasks, response: Response) -> Any:
    """``context`` with the request, its background tasks and its response (strawberry's
    FastAPI router's rule: a ``BaseContext`` gets them as attributes, a dict as keys, None
    becomes a dict of the three)."""
    if isinstance(context, BaseContext):
        context.request = request
        context.background_tasks = tasks
        context.response = response
        return context
    default = {"request": request, "background_tasks": tasks, "response": response}
    if isinstance(context, dict):
        return {**default, **context}
    if context is None:
        return default
    raise InvalidCustomContext
