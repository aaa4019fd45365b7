"""The depth and cost limits (provledger.api.graphql.limits): what they count, and that the
gateway refuses an operation past either limit, at the limit answers it, and never calls a
resolver for a refused one."""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from fastapi import FastAPI
from graphql import (
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    get_introspection_query,
    parse,
)

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from provledger.api.graphql.limits import (
    COST_LIMIT_EXCEEDED,
    DEFAULT_MAX_COST,
    DEFAULT_MAX_DEPTH,
    DEPTH_LIMIT_EXCEEDED,
    QueryLimits,
    query_cost,
    query_depth,
)
from provledger.api.graphql.router import graphql_router

#: How often each resolver ran.
CALLS: Counter[str] = Counter()
#: At most this many items in a page, however large ``first``.
PAGE: int = 3


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ItemEdge:
    cursor: str
    node: Item


@strawberry.type
class ItemConnection:
    edges: list[ItemEdge]
    nodes: list[Item]
    page_info: PageInfo
    total_count: int


@strawberry.type
class Item:
    number: int

    @strawberry.field
    def parent(self) -> Item | None:
        CALLS["parent"] += 1
        return Item(number=self.number + 1)

    @strawberry.field
    def siblings(self) -> list[Item]:
        CALLS["siblings"] += 1
        return [Item(number=self.number - 1), Item(number=self.number + 1)]

    @strawberry.field
    def children(self, first: int = 20, after: str | None = None) -> ItemConnection:
        CALLS["children"] += 1
        return page(first, after)


def page(first: int, after: str | None) -> ItemConnection:
    """Up to :data:`PAGE` items after the cursor ``after`` (a number)."""
    start = int(after) + 1 if after else 0
    items = [Item(number=number) for number in range(start, start + min(first, PAGE))]
    edges = [ItemEdge(cursor=str(item.number), node=item) for item in items]
    end = edges[-1].cursor if edges else None
    return ItemConnection(
        edges=edges,
        nodes=items,
        page_info=PageInfo(has_next_page=True, end_cursor=end),
        total_count=1_000_000,
    )


@strawberry.type
class Query:
    @strawberry.field
    def item(self, number: int) -> Item:
        CALLS["item"] += 1
        return Item(number=number)

    @strawberry.field
    def items(self, first: int = 20, after: str | None = None) -> ItemConnection:
        CALLS["items"] += 1
        return page(first, after)

    @strawberry.field
    def recent(self, first: int = 5) -> ItemConnection:
        CALLS["recent"] += 1
        return page(first, None)


SCHEMA = strawberry.Schema(query=Query)
#: The same schema as graphql-core builds it from the SDL, for the counting functions.
CORE_SCHEMA: GraphQLSchema = build_schema(SCHEMA.as_str())

#: Two connections, one in the other, each asked for 100: 1 + 100 + 100 + 100 * (1 + 100 + 100).
NESTED = """{
  items(first: 100) {
    edges { node { children(first: 100) { edges { cursor node { number } } } } }
  }
}"""
NESTED_COST = 20_301


@pytest.fixture(autouse=True)
def no_calls_yet() -> Iterator[None]:
    CALLS.clear()
    yield
    CALLS.clear()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """A gateway with the default limits."""
    app = FastAPI()
    router = graphql_router(
        SCHEMA, lambda: None, max_depth=DEFAULT_MAX_DEPTH, max_cost=DEFAULT_MAX_COST
    )
    app.include_router(router)
    with TestClient(app) as client:
        yield client


def post(client: TestClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    operation, fragments = split(query)
    return query_cost(CORE_SCHEMA, operation, fragments, variables)


def depth(query: str) -> int:
    return query_depth(*split(query))


def split(query: str) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    document = parse(query)
    operations = [
        node for node in document.definitions if isinstance(node, OperationDefinitionNode)
    ]
    fragments = {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    assert len(operations) == 1
    return operations[0], fragments


def parents(count: int) -> str:
    """An operation of depth ``count + 2``: ``item``, ``count`` parents, ``number``."""
    return "{ item(number: 1) { " + "parent { " * count + "number" + " }" * count + " } }"


# --- what depth counts ---


def test_depth_counts_the_fields_on_the_longest_path() -> None:
    assert depth("{ item(number: 1) { number } }") == 2
    assert depth(parents(8)) == 10
    assert depth("{ item(number: 1) { number parent { number } } items { totalCount } }") == 3


def test_depth_follows_fragments_and_leaves_out_introspection() -> None:
    query = """
    { item(number: 1) { ...Up } __schema { types { fields { type { name } } } } }
    fragment Up on Item { parent { ... on Item { parent { number __typename } } } }
    """
    assert depth(query) == 4


def test_depth_survives_fragment_cycles_and_unknown_fragments() -> None:
    query = """
    { item(number: 1) { ...A ...Missing } }
    fragment A on Item { parent { ...B } }
    fragment B on Item { parent { ...A number } }
    """
    assert depth(query) == 4


# --- what cost counts ---


def test_a_connection_multiplies_its_lists_by_first() -> None:
    assert cost("{ items(first: 100) { edges { node { number } } } }") == 201
    assert cost(NESTED) == NESTED_COST


def test_page_info_is_one_object_per_connection_and_scalars_are_free() -> None:
    assert cost("{ items(first: 100) { pageInfo { hasNextPage } totalCount } }") == 2
    assert cost("{ item(number: 1) { number } }") == 1


def test_without_first_the_schema_default_then_20() -> None:
    assert cost("{ items { nodes { number } } }") == 1 + 20
    assert cost("{ recent { nodes { number } } }") == 1 + 5  # recent(first: Int! = 5)


def test_a_list_outside_a_connection_counts_as_a_page_of_20() -> None:
    assert cost("{ item(number: 1) { siblings { number } } }") == 1 + 20
    assert cost("{ items(first: 2) { nodes { siblings { parent { number } } } } }") == (
        1 + 2 + 2 * 20 * (1 + 1)
    )


def test_first_from_variables_and_their_defaults() -> None:
    by_variable = "query ($n: Int) { items(first: $n) { nodes { number } } }"
    assert cost(by_variable, {"n": 70}) == 71
    assert cost(by_variable) == 21  # not given: the argument's default
    assert cost(by_variable, {"n": None}) == 21
    assert cost(by_variable, {"n": "x"}) == 21  # refused when the query runs
    assert cost(by_variable, {"n": True}) == 21
    assert cost(by_variable, {"n": -5}) == 1
    defaulted = "query ($n: Int = 7) { items(first: $n) { nodes { number } } }"
    assert cost(defaulted) == 8
    assert cost(defaulted, {"n": 9}) == 10


def test_fragments_named_and_inline_are_followed() -> None:
    query = """
    {
      items(first: 10) { ...Page }
      item(number: 1) { ... on Item { children(first: 4) { nodes { number } } } }
    }
    fragment Page on ItemConnection { edges { node { ...Kids } } }
    fragment Kids on Item { children(first: 3) { nodes { number } } }
    """
    # items: 1 + 10 edges + 10 nodes + 10 * (1 + 3); item: 1 + 1 + 4
    assert cost(query) == 1 + 10 + 10 + 40 + 1 + 1 + 4


def test_introspection_is_free() -> None:
    assert cost("{ __schema { types { name fields { name type { name } } } } }") == 0
    assert cost("{ __typename items(first: 10) { __typename nodes { __typename number } } }") == 11
    assert cost(get_introspection_query()) == 0


def test_fragments_spread_in_fragments_are_costed_once_each() -> None:
    # Level k spreads level k - 1 twice: 2**40 spreads of the first level, counted in no time.
    levels = ["fragment L0 on ItemConnection { nodes { number } }"] + [
        f"fragment L{k} on ItemConnection {{ ...L{k - 1} a{k}: nodes {{ number }} ...L{k - 1} }}"
        for k in range(1, 41)
    ]
    query = "{ items(first: 1) { ...L40 } }\n" + "\n".join(levels)
    started = time.perf_counter()
    # L(k) = 2 L(k - 1) + 1 with L(0) = 1, so L(40) = 2**41 - 1; plus items itself.
    assert cost(query) == 1 + 2**41 - 1
    assert time.perf_counter() - started < 1


# --- the limits at the gateway ---


def test_at_the_depth_limit_the_query_runs(client: TestClient) -> None:
    body = post(client, parents(DEFAULT_MAX_DEPTH - 2))
    assert "errors" not in body
    assert CALLS == {"item": 1, "parent": DEFAULT_MAX_DEPTH - 2}


def test_past_the_depth_limit_nothing_runs(client: TestClient) -> None:
    body = post(client, parents(DEFAULT_MAX_DEPTH - 1))
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "query depth 11 exceeds the limit of 10 "
            "(each field inside another's selection adds 1)",
            "locations": [{"line": 1, "column": 1}],
            "extensions": {"code": DEPTH_LIMIT_EXCEEDED, "depth": 11, "limit": 10},
        }
    ]
    assert CALLS == {}


def test_at_the_cost_limit_the_query_runs(client: TestClient) -> None:
    query = "query Page($n: Int!) { items(first: $n) { nodes { number } } }"
    body = post(client, query, {"n": DEFAULT_MAX_COST - 1})
    assert body == {"data": {"items": {"nodes": [{"number": 0}, {"number": 1}, {"number": 2}]}}}
    assert CALLS == {"items": 1}


def test_past_the_cost_limit_nothing_runs(client: TestClient) -> None:
    query = "query Page($n: Int!) { items(first: $n) { nodes { number } } }"
    body = post(client, query, {"n": DEFAULT_MAX_COST})
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "query cost 5,001 exceeds the limit of 5,000 "
            '(each list multiplies its fields by its "first")',
            "locations": [{"line": 1, "column": 1}],
            "extensions": {"code": COST_LIMIT_EXCEEDED, "cost": 5_001, "limit": 5_000},
        }
    ]
    assert CALLS == {}


def test_a_document_answered_before_is_refused_past_the_cost_with_new_variables(
    client: TestClient,
) -> None:
    # the second request runs the document kept from the first: its cost is taken again
    query = "query Again($n: Int!) { items(first: $n) { nodes { number } } }"
    assert "errors" not in post(client, query, {"n": 2})
    body = post(client, query, {"n": DEFAULT_MAX_COST})
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "query cost 5,001 exceeds the limit of 5,000 "
                '(each list multiplies its fields by its "first")',
                "locations": [{"line": 1, "column": 1}],
                "extensions": {"code": COST_LIMIT_EXCEEDED, "cost": 5_001, "limit": 5_000},
            }
        ],
    }
    assert CALLS == {"items": 1}


def test_nested_connections_are_refused_with_their_cost(client: TestClient) -> None:
    body = post(client, NESTED)
    [error] = body["errors"]
    assert error["message"] == (
        "query cost 20,301 exceeds the limit of 5,000 "
        '(each list multiplies its fields by its "first")'
    )
    assert error["extensions"]["code"] == COST_LIMIT_EXCEEDED
    assert CALLS == {}


def test_both_limits_report_together(client: TestClient) -> None:
    # depth 2 + 8 + 1, cost 1 + 5,000 * 9
    query = "{ items(first: 5000) { nodes { " + "parent { " * 8 + "number" + " }" * 8 + " } } }"
    body = post(client, query)
    codes = [error["extensions"]["code"] for error in body["errors"]]
    assert codes == [DEPTH_LIMIT_EXCEEDED, COST_LIMIT_EXCEEDED]
    assert CALLS == {}


def test_graphiqls_introspection_query_passes(client: TestClient) -> None:
    body = post(client, get_introspection_query(descriptions=True))
    assert "errors" not in body
    assert {kind["name"] for kind in body["data"]["__schema"]["types"]} >= {"Item", "PageInfo"}


def test_cyclic_introspection_is_refused_as_too_deep(client: TestClient) -> None:
    query = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    body = post(client, query)
    assert body["errors"] == [
        {
            "message": "Maximum introspection depth exceeded",
            "locations": [{"line": 1, "column": 3}],
            "extensions": {"code": DEPTH_LIMIT_EXCEEDED},
        }
    ]


def test_the_limits_are_the_routers_arguments() -> None:
    with TestClient(_app(max_depth=3, max_cost=10)) as client:
        assert "errors" not in post(client, parents(1))
        assert post(client, parents(2))["errors"][0]["extensions"]["limit"] == 3
        assert "errors" not in post(client, "{ items(first: 9) { nodes { number } } }")
        refused = post(client, "{ items(first: 10) { nodes { number } } }")
    assert refused["errors"][0]["message"].startswith("query cost 11 exceeds the limit of 10 ")


def test_the_extension_limits_a_schema_of_its_own() -> None:
    schema = strawberry.Schema(
        query=Query, extensions=[lambda: QueryLimits(max_depth=2, max_cost=3)]
    )
    assert schema.execute_sync("{ item(number: 1) { number } }").errors is None
    deep = schema.execute_sync(parents(1)).errors
    costly = schema.execute_sync(
        "{ a: item(number: 1) { number } b: item(number: 2) { number } "
        "c: item(number: 3) { number } d: item(number: 4) { number } }"
    ).errors
    assert deep is not None
    assert deep[0].extensions == {
        "code": DEPTH_LIMIT_EXCEEDED,
        "depth": 3,
        "limit": 2,
    }
    assert costly is not None
    assert costly[0].extensions == {
        "code": COST_LIMIT_EXCEEDED,
        "cost": 4,
        "limit": 3,
    }
    assert CALLS == {"item": 1}


def _app(*, max_depth: int, max_cost: int) -> FastAPI:
    app = FastAPI()
    app.include_router(graphql_router(SCHEMA, lambda: None, max_depth=max_depth, max_cost=max_cost))
    return app
