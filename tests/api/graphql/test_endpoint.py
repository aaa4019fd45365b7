"""``POST /graphql`` as a plain endpoint (provledger.api.graphql.endpoint): each form of context
getter gives the resolvers the context strawberry's own route would, an async generator's is
closed after the answer, and a getter that wants FastAPI's parameters is refused."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import strawberry
from fastapi import FastAPI
from strawberry.fastapi import BaseContext

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from provledger.api.graphql.router import graphql_router


def _seen(context: Any) -> str:
    """What a resolver finds in its context: the request's path, and whose context it is."""
    if isinstance(context, dict):
        return f"{context['request'].url.path} {context.get('who', 'default')}"
    return f"{context.request.url.path} {context.who}"


@strawberry.type
class Query:
    @strawberry.field
    def seen(self, info: strawberry.Info) -> str:
        return _seen(info.context)

    @strawberry.field
    def later(self, info: strawberry.Info) -> str:
        info.context["background_tasks"].add_task(DONE.append, "after the answer")
        return "queued"


SCHEMA = strawberry.Schema(query=Query)
DONE: list[str] = []


class Mine(BaseContext):
    who = "mine"


async def _awaited() -> Mine:
    return Mine()


CLOSED: list[bool] = []


async def _generated() -> AsyncIterator[dict[str, str]]:
    try:
        yield {"who": "generated"}
    finally:
        CLOSED.append(True)


def _post(getter: Callable[[], Any], query: str = "{ seen }") -> Any:
    app = FastAPI()
    app.include_router(graphql_router(SCHEMA, getter, max_depth=10, max_cost=5_000))
    with TestClient(app) as client:
        answer = client.post("/graphql", json={"query": query})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(
    ("getter", "expected"),
    [
        (lambda: None, "/graphql default"),
        (lambda: {"who": "dict"}, "/graphql dict"),
        (Mine, "/graphql mine"),
        (_awaited, "/graphql mine"),
        (_generated, "/graphql generated"),
    ],
    ids=["none", "dict", "context", "awaitable", "async generator"],
)
def test_each_form_of_getter_gives_the_resolvers_their_context(
    getter: Callable[[], Any], expected: str
) -> None:
    assert _post(getter) == {"data": {"seen": expected}}


def test_an_async_generators_context_is_closed_after_the_answer() -> None:
    CLOSED.clear()
    _post(_generated)
    assert CLOSED == [True]


def test_background_tasks_run_after_the_answer() -> None:
    DONE.clear()
    assert _post(lambda: None, "{ later }") == {"data": {"later": "queued"}}
    assert DONE == ["after the answer"]


def test_a_getter_with_parameters_is_refused() -> None:
    def wants_the_request(request: Any) -> None:
        return None

    with pytest.raises(TypeError, match="takes no parameters"):
        graphql_router(SCHEMA, wants_the_request, max_depth=10, max_cost=5_000)


def test_a_context_of_another_kind_is_refused() -> None:
    app = FastAPI()
    app.include_router(graphql_router(SCHEMA, lambda: 5, max_depth=10, max_cost=5_000))
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/graphql", json={"query": "{ seen }"})
    assert answer.status_code == 500


def test_the_answer_has_one_length_and_it_is_the_bodys() -> None:
    app = FastAPI()
    app.include_router(graphql_router(SCHEMA, lambda: None, max_depth=10, max_cost=5_000))
    with TestClient(app) as client:
        answer = client.post("/graphql", json={"query": "{ seen }"})
    assert answer.headers.get_list("content-length") == [str(len(answer.content))]
    assert answer.headers.get_list("content-type") == ["application/json"]
