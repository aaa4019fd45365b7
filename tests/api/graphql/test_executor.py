"""The leaf executor (provledger.api.graphql.executor) answers every query exactly as
graphql-core's own execution does: values, nulls, and the errors of values the schema refuses."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from provledger.api.graphql.executor import LeafExecutor, plain_leaves
from provledger.api.graphql.types import SCALARS, Long


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Item:
    name: str
    size: Long
    colour: Colour
    note: str | None
    tags: list[str]

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times


@dataclass
class Wrapped:
    """A record read through ``__getattr__``, as a past reading's records are."""

    inner: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


GOOD = Item(name="a", size=Long(2**40), colour=Colour.RED, note=None, tags=["x"])
#: Values the schema refuses: a null where none may be, an enum member it does not have, a
#: string where a number goes.
BAD = [
    Item(name=None, size=Long(1), colour=Colour.BLUE, note="n", tags=[]),  # type: ignore[arg-type]
    Item(name="b", size=Long(1), colour="GREEN", note=None, tags=[]),  # type: ignore[arg-type]
    Item(name="d", size="many", colour=Colour.BLUE, note=None, tags=[]),  # type: ignore[arg-type]
]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [GOOD, *BAD]

    @strawberry.field
    def wrapped(self) -> Item:
        return Wrapped(GOOD)  # type: ignore[return-value]

    @strawberry.field
    def maybe(self) -> Item | None:
        return BAD[0]

    @strawberry.field
    def bad(self, n: int) -> Item | None:
        return BAD[n]


def _schema(executor: Any) -> strawberry.Schema:
    config = StrawberryConfig(scalar_map=SCALARS)
    return strawberry.Schema(query=Query, config=config, execution_context_class=executor)


PLAIN = _schema(None)
LEAVES = _schema(LeafExecutor)


@pytest.mark.parametrize(
    "query",
    [
        "{ items { name size colour note tags shout } }",
        "{ items { n: name s: size c: colour twice: shout(times: 2) } }",
        "{ items { ... on Item { name } ...F } } fragment F on Item { size note }",
        "{ wrapped { name size colour note tags } }",
        "{ maybe { name } }",
        "{ maybe { note colour } }",
        "{ items { __typename name } }",
    ],
)
def test_answers_equal_graphql_cores(query: str) -> None:
    plain = PLAIN.execute_sync(query)
    leaves = LEAVES.execute_sync(query)
    assert leaves.data == plain.data
    assert [error.formatted for error in leaves.errors or ()] == [
        error.formatted for error in plain.errors or ()
    ]


@pytest.mark.parametrize(("number", "field"), [(0, "name"), (1, "colour"), (2, "size")])
def test_a_refused_value_is_an_error_at_its_field(number: int, field: str) -> None:
    query = f"{{ bad(n: {number}) {{ name colour size }} }}"
    answer = LEAVES.execute_sync(query)
    assert answer.errors is not None
    assert [error.path for error in answer.errors] == [["bad", field]]
    assert answer.data == {"bad": None} == PLAIN.execute_sync(query).data


def test_the_plain_leaves_are_the_fields_read_as_attributes() -> None:
    found = {key for key in plain_leaves(LEAVES._schema) if key[0] == "Item"}
    # not tags (a list) nor shout (a resolver with an argument)
    assert found == {("Item", "name"), ("Item", "size"), ("Item", "colour"), ("Item", "note")}


def test_plain_leaves_do_not_reach_graphql_cores_field_execution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reached: list[str] = []
    inner = StrawberryGraphQLCoreExecutionContext.execute_field

    def counted(self: Any, parent_type: Any, source: Any, details: Any, *rest: Any) -> Any:
        reached.append(details[0].node.name.value)
        return inner(self, parent_type, source, details, *rest)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counted)
    answer = LEAVES.execute_sync("{ wrapped { name size colour note tags shout } }")
    assert answer.errors is None
    # the root field, the list and the resolver; not the four plain leaves
    assert reached == ["wrapped", "tags", "shout"]
    reached.clear()
    assert (
        PLAIN.execute_sync("{ wrapped { name size } }").data
        == LEAVES.execute_sync("{ wrapped { name size } }").data
    )
    assert reached == ["wrapped", "name", "size", "wrapped"]
