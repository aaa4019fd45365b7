"""The GraphQL types of the index's records, made from the REST views so that both faces show a
record with the same fields: each view's fields become the type's (camelCase), each filterable
field a field of the kind's ``where`` input, each order a value of its ``orderBy`` enum.

The types are built from :data:`provledger.services.records.KINDS` when the schema is made;
this module holds no annotations under ``from __future__``: strawberry reads the built classes'
annotations as objects.
"""

import enum
import inspect
import types
import typing
from dataclasses import dataclass, fields
from typing import Any, Final, NewType

import strawberry
from strawberry.scalars import JSON
from strawberry.types.lazy_type import LazyType
from strawberry.types.scalar import ScalarDefinition

from provledger.services.records import RecordKind
from provledger.services.views import Finality

MAX_INT53 = (1 << 53) - 1


def _long(value: Any) -> int:
    if type(value) is not int or not -MAX_INT53 <= value <= MAX_INT53:
        raise ValueError(f"Long takes a whole number within ±2^53-1, got {value!r}")
    return value


Long = NewType("Long", int)
"""A whole number of GraphQL's ``Long`` scalar (GraphQL's ``Int`` stops at 2^31 - 1)."""

#: The scalars the schema maps Python types to (strawberry's ``scalar_map``).
SCALARS: Final[dict[object, ScalarDefinition]] = {
    Long: strawberry.scalar(
        name="Long",
        description="A whole number within ±(2^53 - 1): block numbers, unix times, ids.",
        serialize=int,
        parse_value=_long,
    )
}

#: Named by its values, as REST shows them (``pending``, ``safe``, ``final``).
FinalityEnum = strawberry.enum(
    Finality, name="Finality", description=Finality.__doc__, graphql_name_from="value"
)


@strawberry.enum(description="The direction of an order.")
class OrderDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="Conditions on a whole-number field; all that are given hold.")
class LongFilter:
    eq: Long | None = None
    ne: Long | None = None
    in_: list[Long] | None = strawberry.field(name="in", default=None)
    gt: Long | None = None
    gte: Long | None = None
    lt: Long | None = None
    lte: Long | None = None
    is_null: bool | None = None


@strawberry.input(
    description="Conditions on a text, hash, address or amount field (hashes and addresses in "
    "any case; asset ids as 0x hex or decimal); all that are given hold."
)
class StringFilter:
    eq: str | None = None
    ne: str | None = None
    in_: list[str] | None = strawberry.field(name="in", default=None)
    is_null: bool | None = None


@strawberry.input(
    description="Conditions on an amount (decimal text in the currency's smallest unit, "
    "compared as numbers); all that are given hold."
)
class AmountFilter:
    eq: str | None = None
    ne: str | None = None
    in_: list[str] | None = strawberry.field(name="in", default=None)
    gt: str | None = None
    gte: str | None = None
    lt: str | None = None
    lte: str | None = None
    is_null: bool | None = None


@strawberry.input(description="A condition on a yes/no field.")
class BooleanFilter:
    eq: bool | None = None
    ne: bool | None = None


@strawberry.input(description="Words the title of the asset's metadata document must all hold.")
class TitleFilter:
    contains: str


FILTERS: dict[str, type] = {
    "int": LongFilter,
    "bool": BooleanFilter,
    "text": StringFilter,
    "hash": StringFilter,
    "address": StringFilter,
    "asset": StringFilter,
    "amount": AmountFilter,
    "status": StringFilter,
}


@strawberry.type(description="Where a page of a list ends.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def _scalar(hint: Any) -> Any:
    """The GraphQL form of a view field's type."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _scalar(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        options = [part for part in typing.get_args(hint) if part is not type(None)]
        return _scalar(options[0]) | None
    if origin in (list, tuple):
        return list[_scalar(typing.get_args(hint)[0])]  # type: ignore[misc]
    if origin is dict or hint is Any:
        return JSON
    if hint is int:
        return Long
    if hint is Finality:
        return FinalityEnum
    if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__"):
        return view_type(hint)
    return hint


_VIEW_TYPES: dict[type, Any] = {}


def summary(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line, its code in Markdown's quotes."""
    text = " ".join(inspect.cleandoc(doc or "").split("\n\n")[0].split())
    return text.replace("``", "`")


def view_type(view: type, name: str | None = None, links: dict[str, Any] | None = None) -> Any:
    """The GraphQL object type of a REST view (made once): its fields, plus ``links``
    (strawberry fields with resolvers)."""
    if view in _VIEW_TYPES:
        return _VIEW_TYPES[view]
    hints = typing.get_type_hints(view, include_extras=True)
    namespace: dict[str, Any] = {"__annotations__": {}, "__doc__": view.__doc__}
    for item in fields(view):
        namespace["__annotations__"][item.name] = _scalar(hints[item.name])
    namespace.update(links or {})
    type_name = name or view.__name__.removesuffix("View")
    made = strawberry.type(
        type(type_name, (), namespace), name=type_name, description=summary(view.__doc__)
    )
    _VIEW_TYPES[view] = made
    globals()[type_name] = made  # for the LazyType of a link to it
    return made


def lazy(type_name: str) -> Any:
    """A reference to a type made here, resolved when the schema is built (links are
    circular: an asset's licences, a licence's asset)."""
    return LazyType(type_name, __name__)


def where_type(kind: RecordKind) -> Any:
    """The ``where`` input of a kind: a filter per filterable field, ``or`` of several."""
    name = f"{kind.name}Where"
    annotations: dict[str, Any] = {
        field_name: FILTERS[form] | None for field_name, form in kind.filters.items()
    }
    namespace: dict[str, Any] = dict.fromkeys(annotations)
    if kind.name == "Asset":
        annotations["title"] = TitleFilter | None
        namespace["title"] = None
    annotations["or_"] = list[lazy(name)] | None  # type: ignore[misc]
    namespace["or_"] = strawberry.field(
        name="or", default=None, description="Any one of these holds (beside the rest)."
    )
    namespace["__annotations__"] = annotations
    made = strawberry.input(
        type(name, (), namespace),
        name=name,
        description=f"Conditions on {kind.name} records; all that are given hold.",
    )
    globals()[name] = made  # the LazyType of ``or`` finds it here
    return made


def order_type(kind: RecordKind) -> Any:
    """The ``orderBy`` enum of a kind: its key and its indexed columns."""
    names = dict.fromkeys((*kind.key[:1], *kind.orders))
    members = {column.upper(): column for column in names}
    made: Any = enum.Enum(f"{kind.name}OrderBy", members)  # type: ignore[misc]
    return strawberry.enum(
        made,
        name=f"{kind.name}OrderBy",
        description=f"What {kind.name} lists may be ordered by (then by their key).",
    )


@dataclass
class Edge:
    """A record and its cursor."""

    cursor: str
    node: Any


def connection_type(name: str, node: Any) -> Any:
    """``<name>Connection``: edges, nodes, page info and the total count."""
    edge: Any = strawberry.type(
        type(f"{name}Edge", (), {"__annotations__": {"cursor": str, "node": node}}),
        name=f"{name}Edge",
        description=f"A {name} record and the cursor of the page after it.",
    )
    annotations = {
        "edges": list[edge],
        "nodes": list[node],
        "page_info": PageInfo,
    }
    namespace: dict[str, Any] = {"__annotations__": annotations}
    namespace["total_count"] = strawberry.field(
        resolver=_total_count, description="How many records the list holds over all pages."
    )
    made = strawberry.type(
        type(f"{name}Connection", (), namespace),
        name=f"{name}Connection",
        description=f"A page of {name} records.",
    )
    globals()[f"{name}Connection"] = made
    return made


async def _total_count(root: strawberry.Parent[Any]) -> int:
    counted: int = await root.count()
    return counted
