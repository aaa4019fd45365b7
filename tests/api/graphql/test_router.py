"""The ``/graphql`` router (provledger.api.graphql.router): persisted queries, the code of every
error, a 4xx GraphQL answer to every bad request, the GraphiQL page, and what is turned off."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from fastapi import FastAPI
from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from provledger.api.graphql.ide import ide_html
from provledger.api.graphql.router import (
    BAD_REQUEST,
    BAD_USER_INPUT,
    BATCHING_NOT_SUPPORTED,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    INTERNAL_MESSAGE,
    INTERNAL_SERVER_ERROR,
    OPERATION_RESOLUTION_FAILURE,
    PERSISTED_QUERY_HASH_MISMATCH,
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_NOT_SUPPORTED,
    SERVICE_UNAVAILABLE,
    PersistedQueries,
    error_code,
    graphql_router,
)
from provledger.errors import InputError, InvalidHashError, LogDecodeError, ProvledgerError
from provledger.store.engine import IndexNotBuiltError

#: Text only the server may see.
SECRET = "password=hunter2 at db.internal:5432"
#: What the context getter gives each request.
CONTEXT = {"greeting": "hello"}


@strawberry.type
class Query:
    @strawberry.field
    def greet(self, info: strawberry.Info, name: str = "world") -> str:
        return f"{info.context['greeting']}, {name}"

    @strawberry.field
    def bad_hash(self) -> str:
        raise InvalidHashError("0xzz", "it is 2 hex digits, not 64")

    @strawberry.field
    def not_built(self) -> str:
        raise IndexNotBuiltError()

    @strawberry.field
    def undecodable(self) -> str:
        raise LogDecodeError("Registered", SECRET)

    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError(SECRET)

    @strawberry.field
    def coded(self) -> str:
        raise GraphQLError("not for you", extensions={"code": "FORBIDDEN", "reason": "policy"})

    @strawberry.field
    def refused(self) -> str:
        raise GraphQLError("ask for fewer")


SCHEMA = strawberry.Schema(query=Query)
GREET = "query Greet($name: String) { greet(name: $name) }"


def make_app(**options: Any) -> FastAPI:
    app = FastAPI()
    router = graphql_router(SCHEMA, lambda: CONTEXT, max_depth=10, max_cost=5_000, **options)
    app.include_router(router)
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A gateway of its own per test: the persisted queries start empty."""
    with TestClient(make_app()) as client:
        yield client


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(digest: str, version: object = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def codes(body: Any) -> list[str]:
    """The code of each error of ``body``, once checked that each has a message and a code."""
    assert isinstance(body["errors"], list)
    assert body["errors"]
    for error in body["errors"]:
        assert isinstance(error["message"], str)
        assert error["message"]
        assert isinstance(error["extensions"]["code"], str)
    return [error["extensions"]["code"] for error in body["errors"]]


# --- automatic persisted queries ---


def test_persisted_query_round_trip_over_post(client: TestClient) -> None:
    digest = sha256(GREET)
    unknown = client.post("/graphql", json={"extensions": persisted(digest)})
    assert unknown.status_code == 200
    assert unknown.json() == {
        "errors": [
            {"message": "PersistedQueryNotFound", "extensions": {"code": PERSISTED_QUERY_NOT_FOUND}}
        ]
    }
    assert unknown.headers["cache-control"] == "private, no-cache, must-revalidate"

    registered = client.post(
        "/graphql",
        json={"query": GREET, "variables": {"name": "ada"}, "extensions": persisted(digest)},
    )
    assert registered.json() == {"data": {"greet": "hello, ada"}}

    by_hash = client.post(
        "/graphql", json={"variables": {"name": "bob"}, "extensions": persisted(digest)}
    )
    assert by_hash.status_code == 200
    assert by_hash.json() == {"data": {"greet": "hello, bob"}}


def test_persisted_query_round_trip_over_get(client: TestClient) -> None:
    digest = sha256(GREET)
    extensions = json.dumps(persisted(digest))
    unknown = client.get("/graphql", params={"extensions": extensions})
    assert unknown.status_code == 200
    assert codes(unknown.json()) == [PERSISTED_QUERY_NOT_FOUND]

    registered = client.get("/graphql", params={"query": GREET, "extensions": extensions})
    assert registered.json() == {"data": {"greet": "hello, world"}}

    # httpx sends `Accept: */*`, which a browser's page load would too: the hash is a query.
    variables = json.dumps({"name": "eve"})
    by_hash = client.get("/graphql", params={"extensions": extensions, "variables": variables})
    assert by_hash.headers["content-type"] == "application/json"
    assert by_hash.json() == {"data": {"greet": "hello, eve"}}


def test_a_hash_registered_over_post_is_found_over_get(client: TestClient) -> None:
    digest = sha256(GREET).upper()  # hex in either case
    client.post("/graphql", json={"query": GREET, "extensions": persisted(digest)})
    answer = client.get("/graphql", params={"extensions": json.dumps(persisted(digest.lower()))})
    assert answer.json() == {"data": {"greet": "hello, world"}}


def test_a_hash_that_is_not_the_querys_is_refused_and_not_kept(client: TestClient) -> None:
    wrong = sha256("{ greet }")
    answer = client.post("/graphql", json={"query": GREET, "extensions": persisted(wrong)})
    assert answer.status_code == 400
    assert answer.json() == {
        "errors": [
            {
                "message": "the persisted query's sha256Hash is not the SHA-256 of its query",
                "extensions": {"code": PERSISTED_QUERY_HASH_MISMATCH},
            }
        ]
    }
    later = client.post("/graphql", json={"extensions": persisted(wrong)})
    assert codes(later.json()) == [PERSISTED_QUERY_NOT_FOUND]


@pytest.mark.parametrize("version", [2, 0, "1", True, 1.0, None])
def test_only_version_1_is_spoken(client: TestClient, version: object) -> None:
    digest = sha256(GREET)
    for request in (
        {"extensions": persisted(digest, version)},
        {"query": GREET, "extensions": persisted(digest, version)},
    ):
        answer = client.post("/graphql", json=request)
        assert answer.status_code == 400
        assert answer.json() == {
            "errors": [
                {
                    "message": "PersistedQueryNotSupported",
                    "extensions": {"code": PERSISTED_QUERY_NOT_SUPPORTED},
                }
            ]
        }


def test_a_query_refused_by_validation_is_not_kept(client: TestClient) -> None:
    query = "{ greet nope }"
    refused = client.post("/graphql", json={"query": query, "extensions": persisted(sha256(query))})
    assert codes(refused.json()) == [GRAPHQL_VALIDATION_FAILED]
    later = client.post("/graphql", json={"extensions": persisted(sha256(query))})
    assert codes(later.json()) == [PERSISTED_QUERY_NOT_FOUND]


def test_the_least_recently_used_query_is_forgotten() -> None:
    queries = ["{ a: greet }", "{ b: greet }", "{ c: greet }"]
    with TestClient(make_app(persisted_cache_size=2)) as client:

        def send(query: str, *, with_text: bool) -> Any:
            body: dict[str, Any] = {"extensions": persisted(sha256(query))}
            if with_text:
                body["query"] = query
            return client.post("/graphql", json=body).json()

        send(queries[0], with_text=True)
        send(queries[1], with_text=True)
        assert send(queries[0], with_text=False) == {"data": {"a": "hello, world"}}
        send(queries[2], with_text=True)  # evicts b, used least recently
        assert codes(send(queries[1], with_text=False)) == [PERSISTED_QUERY_NOT_FOUND]
        assert send(queries[0], with_text=False) == {"data": {"a": "hello, world"}}
        assert send(queries[2], with_text=False) == {"data": {"c": "hello, world"}}


def test_persisted_queries_stay_bounded_under_threads() -> None:
    cache = PersistedQueries(50)

    def fill(start: int) -> None:
        for number in range(start, start + 500):
            cache.put(f"{number:064x}", str(number))
            cache.get(f"{number - 1:064x}")

    threads = [threading.Thread(target=fill, args=(n * 1_000,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50
    assert all(cache.get(f"{number:064x}") == str(number) for number in range(7_450, 7_500))
    with pytest.raises(ValueError, match="at least 1"):
        PersistedQueries(0)


# --- the code of every error ---


def test_a_resolvers_input_error_is_bad_user_input_with_its_message(client: TestClient) -> None:
    body = client.post("/graphql", json={"query": "{ badHash }"}).json()
    assert body["errors"] == [
        {
            "message": "'0xzz' is not a 32-byte hash: it is 2 hex digits, not 64",
            "locations": [{"line": 1, "column": 3}],
            "path": ["badHash"],
            "extensions": {"code": BAD_USER_INPUT},
        }
    ]


def test_an_unexpected_exception_is_masked_and_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="provledger.api.graphql.router"):
        answer = client.post("/graphql", json={"query": "{ greet broken }"})
    assert answer.status_code == 200
    assert answer.json() == {
        "data": None,
        "errors": [
            {
                "message": INTERNAL_MESSAGE,
                "locations": [{"line": 1, "column": 9}],
                "path": ["broken"],
                "extensions": {"code": INTERNAL_SERVER_ERROR},
            }
        ],
    }
    assert SECRET not in answer.text
    assert "RuntimeError" not in answer.text
    [record] = [r for r in caplog.records if r.name == "provledger.api.graphql.router"]
    assert record.getMessage() == "GraphQL operation failed at broken"
    assert record.exc_info is not None
    assert record.exc_info[1] is not None
    assert str(record.exc_info[1]) == SECRET


def test_domain_errors_take_their_rest_status(client: TestClient) -> None:
    not_built = client.post("/graphql", json={"query": "{ notBuilt }"}).json()
    assert not_built["errors"][0]["message"] == IndexNotBuiltError.template
    assert codes(not_built) == [SERVICE_UNAVAILABLE]
    # a ProvledgerError the REST face answers with 500 is the gateway's fault: masked
    undecodable = client.post("/graphql", json={"query": "{ undecodable }"})
    assert codes(undecodable.json()) == [INTERNAL_SERVER_ERROR]
    assert SECRET not in undecodable.text


def test_error_code_maps_exceptions_as_problems_does() -> None:
    assert error_code(InvalidHashError("x", "short")) == BAD_USER_INPUT
    assert error_code(InputError("no")) == BAD_USER_INPUT
    assert error_code(IndexNotBuiltError()) == SERVICE_UNAVAILABLE
    assert error_code(ProvledgerError("ours")) == INTERNAL_SERVER_ERROR
    assert error_code(KeyError("x")) == INTERNAL_SERVER_ERROR


def test_a_resolvers_own_code_is_kept(client: TestClient) -> None:
    body = client.post("/graphql", json={"query": "{ coded }"}).json()
    assert body["errors"][0]["message"] == "not for you"
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "reason": "policy"}
    uncoded = client.post("/graphql", json={"query": "{ refused }"}).json()
    assert uncoded["errors"][0]["message"] == "ask for fewer"
    assert codes(uncoded) == [BAD_USER_INPUT]


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        ({"query": "{ greet("}, GRAPHQL_PARSE_FAILED),
        ({"query": "{ nope }"}, GRAPHQL_VALIDATION_FAILED),  # unknown field
        ({"query": "{ greet(name: 5) }"}, GRAPHQL_VALIDATION_FAILED),  # wrong type
        ({"query": "{ greet(title: 5) }"}, GRAPHQL_VALIDATION_FAILED),  # unknown argument
        ({"query": "{ greet { x } }"}, GRAPHQL_VALIDATION_FAILED),  # selection on a scalar
        ({"query": "mutation { greet }"}, GRAPHQL_VALIDATION_FAILED),  # no mutations
        ({"query": "{ a: greet } { b: greet }"}, GRAPHQL_VALIDATION_FAILED),  # two anonymous
        ({"query": GREET, "variables": {"name": 5}}, BAD_USER_INPUT),  # a variable's type
        ({"query": "query ($n: String!) { greet(name: $n) }"}, BAD_USER_INPUT),  # missing
    ],
)
def test_graphql_errors_answer_200_with_their_code(
    client: TestClient, request_body: dict[str, Any], code: str
) -> None:
    answer = client.post("/graphql", json=request_body)
    assert answer.status_code == 200
    assert answer.json()["data"] is None
    assert set(codes(answer.json())) == {code}


# --- a document asked again runs as it was kept (provledger.api.graphql.prepared) ---

#: Requests whose document validates, with the answers' codes: a field's error, or the
#: variables'.
AGAIN: list[tuple[str, dict[str, Any], list[str]]] = [
    ("an answer", {"query": GREET, "variables": {"name": "you"}}, []),
    ("a field refused", {"query": "{ greet badHash }"}, [BAD_USER_INPUT]),
    ("a resolver failing", {"query": "{ greet broken }"}, [INTERNAL_SERVER_ERROR]),
    ("a resolver's own code", {"query": "{ coded }"}, ["FORBIDDEN"]),
    ("a 503 of the domain", {"query": "{ notBuilt }"}, [SERVICE_UNAVAILABLE]),
    ("variables of a wrong type", {"query": GREET, "variables": {"name": 5}}, [BAD_USER_INPUT]),
    (
        "an operation by name",
        {"query": f"{GREET} query Other {{ greet }}", "operationName": "Other"},
        [],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [case[1:] for case in AGAIN], ids=[case[0] for case in AGAIN]
)
def test_a_document_asked_again_is_answered_the_same(
    body: dict[str, Any], expected: list[str]
) -> None:
    router = graphql_router(SCHEMA, lambda: CONTEXT, max_depth=10, max_cost=5_000)
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        # the document once answered without a refusal, so that it is kept
        warm = client.post("/graphql", json={**body, "variables": {"name": "me"}})
        assert "errors" not in warm.json() or "variables" not in body
        assert len(router.prepared) == 1
        answers = [client.post("/graphql", json=body) for _ in range(2)]
    assert len(router.prepared) == 1
    assert answers[0].status_code == answers[1].status_code == 200
    assert answers[0].json() == answers[1].json()
    if expected:
        assert codes(answers[1].json()) == expected
    else:
        assert "errors" not in answers[1].json()
    # and as a router that never saw it answers
    with TestClient(make_app()) as fresh:
        assert fresh.post("/graphql", json=body).json() == answers[1].json()


# --- bad requests: a 4xx and a GraphQL error, never a 5xx ---

JSON = {"content-type": "application/json"}

BAD_REQUESTS: list[tuple[str, dict[str, Any], int, str]] = [
    ("malformed JSON", {"content": b'{"query": ', "headers": JSON}, 400, BAD_REQUEST),
    ("bytes not UTF-8", {"content": b'{"query": "\xff"}', "headers": JSON}, 400, BAD_REQUEST),
    ("JSON nested too deep", {"content": b"[" * 100_000, "headers": JSON}, 400, BAD_REQUEST),
    ("a number body", {"content": b"5", "headers": JSON}, 400, BAD_REQUEST),
    ("a null body", {"content": b"null", "headers": JSON}, 400, BAD_REQUEST),
    ("a string body", {"content": b'"{ greet }"', "headers": JSON}, 400, BAD_REQUEST),
    ("an empty body", {"content": b"", "headers": JSON}, 400, BAD_REQUEST),
    ("a batch", {"json": [{"query": "{ greet }"}]}, 400, BATCHING_NOT_SUPPORTED),
    ("an empty batch", {"json": []}, 400, BATCHING_NOT_SUPPORTED),
    ("a query not a string", {"json": {"query": 5}}, 400, BAD_REQUEST),
    ("a query as an object", {"json": {"query": {"greet": 1}}}, 400, BAD_REQUEST),
    ("variables not an object", {"json": {"query": GREET, "variables": [1]}}, 400, BAD_REQUEST),
    ("operationName a number", {"json": {"query": GREET, "operationName": 5}}, 400, BAD_REQUEST),
    ("extensions a string", {"json": {"query": GREET, "extensions": "x"}}, 400, BAD_REQUEST),
    (
        "persistedQuery a list",
        {"json": {"query": GREET, "extensions": {"persistedQuery": []}}},
        400,
        BAD_REQUEST,
    ),
    (
        "sha256Hash a number",
        {"json": {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": 5}}}},
        400,
        BAD_REQUEST,
    ),
    ("no query", {"json": {}}, 400, BAD_REQUEST),
    ("an empty query", {"json": {"query": ""}}, 400, BAD_REQUEST),
    (
        "an unknown operation name",
        {"json": {"query": GREET, "operationName": "Farewell"}},
        400,
        OPERATION_RESOLUTION_FAILURE,
    ),
    (
        "fragments only",
        {"json": {"query": "fragment F on Query { greet }"}},
        400,
        OPERATION_RESOLUTION_FAILURE,
    ),
    ("a subscription", {"json": {"query": "subscription { greet }"}}, 400, BAD_REQUEST),
    (
        "a text body",
        {"content": b'{"query": "{ greet }"}', "headers": {"content-type": "text/plain"}},
        415,
        BAD_REQUEST,
    ),
    (
        "a multipart upload",
        {"files": {"operations": ("o.json", b'{"query": "{ greet }"}')}},
        415,
        BAD_REQUEST,
    ),
]


@pytest.mark.parametrize(
    ("options", "status", "code"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_a_bad_post_is_a_graphql_error(
    client: TestClient, options: dict[str, Any], status: int, code: str
) -> None:
    answer = client.post("/graphql", **options)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert codes(answer.json()) == [code]


BAD_GETS: list[tuple[str, dict[str, str], int, str]] = [
    ("a mutation", {"query": "mutation { greet }"}, 400, BAD_REQUEST),
    ("variables not JSON", {"query": GREET, "variables": "{name"}, 400, BAD_REQUEST),
    ("variables not an object", {"query": GREET, "variables": "[1]"}, 400, BAD_REQUEST),
    ("extensions not JSON", {"query": GREET, "extensions": "}"}, 400, BAD_REQUEST),
    ("no query", {"variables": "{}"}, 400, BAD_REQUEST),
    (
        "an unknown operation",
        {"query": GREET, "operationName": "X"},
        400,
        OPERATION_RESOLUTION_FAILURE,
    ),
    ("a syntax error", {"query": "{"}, 200, GRAPHQL_PARSE_FAILED),
]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [case[1:] for case in BAD_GETS],
    ids=[case[0] for case in BAD_GETS],
)
def test_a_bad_get_is_a_graphql_error(
    client: TestClient, params: dict[str, str], status: int, code: str
) -> None:
    answer = client.get("/graphql", params=params, headers={"accept": "application/json"})
    assert answer.status_code == status
    assert codes(answer.json()) == [code]


def test_the_messages_say_what_is_wrong(client: TestClient) -> None:
    def message(**options: Any) -> str:
        return str(client.post("/graphql", **options).json()["errors"][0]["message"])

    assert message(content=b"[1", headers=JSON) == "the body is not valid JSON"
    assert message(content=b"5", headers=JSON) == "the body must be a JSON object"
    assert message(json=[{"query": "{ greet }"}]) == (
        "batched operations (a JSON array) are not supported: send one per request"
    )
    assert message(json={"query": 5}) == "query must be a string or null"
    assert message(content=b"{}") == "a GraphQL request's body is application/json, not none"
    assert message(content=b"{}", headers={"content-type": "text/plain; charset=utf-8"}) == (
        "a GraphQL request's body is application/json, not text/plain"
    )
    assert message(json={"query": GREET, "operationName": "Farewell"}) == (
        "the document has no operation named 'Farewell'"
    )
    get = client.get("/graphql", params={"query": "mutation { greet }"})
    assert get.json()["errors"][0]["message"] == "mutations are not allowed when using GET"


# --- the page, the context, and what is off ---


def test_a_browser_gets_graphiql(client: TestClient) -> None:
    page = client.get("/graphql", headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text == ide_html("/graphql")


def test_a_get_with_a_query_is_answered_even_from_a_browser(client: TestClient) -> None:
    answer = client.get("/graphql", params={"query": "{ greet }"}, headers={"accept": "text/html"})
    assert answer.json() == {"data": {"greet": "hello, world"}}


def test_the_context_getter_gives_each_request_its_context(client: TestClient) -> None:
    answer = client.post("/graphql", json={"query": GREET, "variables": {"name": "ada"}})
    assert answer.json() == {"data": {"greet": "hello, ada"}}


def test_no_websocket_route(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]),
    ):
        pass  # pragma: no cover - the handshake is refused


def test_the_callers_schema_is_left_as_it_was() -> None:
    extensions = SCHEMA.extensions
    make_app()
    assert SCHEMA.extensions is extensions
    assert SCHEMA.execute_sync("{ greet }", context_value=CONTEXT).data == {"greet": "hello, world"}
