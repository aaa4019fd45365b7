"""Lists of any projection table with filters on its columns, an order and a keyset cursor, and
their counts: the reads behind the GraphQL API, whose questions nobody fixed in advance.

A :class:`Listing` names the table, the conditions (column, operator, value), the order column
and the table's unique key; the page after a cursor is a keyset read on (order column, key), so
that every page is a bounded read through an index where the order column has one. Records of
many parents (the licences of a hundred assets) are read in one statement that numbers each
parent's rows (a window function, on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    RowMapping,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from provledger.errors import ProvledgerError
from provledger.store import schema
from provledger.store.queries.assets import TITLE_OF_ASSET
from provledger.store.queries.market import offers_with_standing, sellable
from provledger.store.queries.participants import named_participants
from provledger.store.queries.statements import DriverStatement

#: The operators of a condition. ``words``: the title of the asset's metadata holds every word.
#: ``any``: one of several lists of conditions (a tuple of tuples of conditions) holds;
#: ``amount_gt``… compare amounts (decimal text); ``market_status`` takes (statuses, unix time
#: now, negated) and matches an offer's or a bid's status as shown then.
OPERATORS: Final = frozenset(
    {
        "eq",
        "ne",
        "in",
        "gt",
        "gte",
        "lt",
        "lte",
        "is_null",
        "words",
        "any",
        "amount_gt",
        "amount_gte",
        "amount_lt",
        "amount_lte",
        "market_status",
    }
)


class UnknownListingError(ProvledgerError):
    """A listing names a table, column or operator the index does not have."""

    template = "cannot list {what}"
    what: str


@dataclass(frozen=True)
class Condition:
    """``column op value``: ``in`` takes a sequence, ``is_null`` a boolean."""

    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class Listing:
    """What to list: rows of ``table`` meeting every condition, by ``order`` (then ``key``)."""

    table: str
    key: tuple[str, ...]
    """The table's unique key, the tie-break of the order."""
    conditions: tuple[Condition, ...] = ()
    order: str | None = None
    """The order column; None: the key alone."""
    descending: bool = False
    """Whether the whole order (the order column and the key) is reversed."""

    def columns(self) -> tuple[str, ...]:
        """The columns of a row's cursor: the order column (if any) then the key."""
        return self.key if self.order is None else (self.order, *self.key)


def _table(name: str) -> Table:
    table = schema.metadata.tables.get(name)
    if table is None:
        raise UnknownListingError(f"table {name!r}")
    return table


def column_names(table: str) -> frozenset[str]:
    """The columns of ``table``."""
    return frozenset(column.name for column in _table(table).c)


#: The largest magnitude of each SQL integer type (PostgreSQL refuses a wider value).
_INTEGER_BITS: Final[dict[type, int]] = {Integer: 31, BigInteger: 63}


@lru_cache(maxsize=64)
def integer_bounds(table: str) -> dict[str, int]:
    """The largest magnitude each integer column of ``table`` holds, by name."""
    return {
        column.name: (1 << _INTEGER_BITS[type(column.type)]) - 1
        for column in _table(table).c
        if type(column.type) in _INTEGER_BITS
    }


def _source(table: Table) -> Select[Any]:
    """What a listing of ``table`` selects from: the table, or for the tables whose rows are
    read with more, the same select the other reads of them use (events with their block and
    transaction, participants with their names, offers with whether they can sell)."""
    match table.name:
        case "events":
            return schema.positioned_events()
        case "participants":
            return named_participants()
        case "offers":
            return offers_with_standing()
        case _:
            return select(table)


def _condition(table: Table, condition: Condition) -> ColumnElement[bool]:
    if condition.op == "any":  # any of several lists of conditions holds
        return or_(*(_where(table, each) for each in condition.value))
    if condition.op == "market_status":
        return _market_status(table, *condition.value)
    if condition.op in _AMOUNT_ORDER:
        return _amount(table.c[condition.column], condition.op, condition.value)
    if condition.op == "words":
        words = schema.title_words
        titled = select(words.c.metadata_hash).where(words.c.word == condition.value)
        return and_(
            table.c.metadata_hash.in_(titled),
            exists().where(TITLE_OF_ASSET),
        )
    column = table.c.get(condition.column)
    if column is None or condition.op not in OPERATORS:
        raise UnknownListingError(f"{condition.column} {condition.op} in {table.name}")
    value = condition.value
    match condition.op:
        case "ne":
            return or_(column != value, column.is_(None))
        case "in":
            return column.in_(list(value))
        case "is_null":
            return column.is_(None) if value else column.is_not(None)
        case _:
            return _COMPARISONS[condition.op](column, value)


_COMPARISONS: Final[dict[str, Callable[[Any, Any], ColumnElement[bool]]]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


#: Comparisons of amounts (decimal text without leading zeros): a longer number is larger, and
#: numbers of one length compare as their text.
_AMOUNT_ORDER: Final = {
    "amount_gt": (operator.gt, operator.gt),
    "amount_gte": (operator.gt, operator.ge),
    "amount_lt": (operator.lt, operator.lt),
    "amount_lte": (operator.lt, operator.le),
}


def _amount(column: Any, op: str, digits: str) -> ColumnElement[bool]:
    longer, same = _AMOUNT_ORDER[op]
    length = func.length(column)
    return or_(longer(length, len(digits)), and_(length == len(digits), same(column, digits)))


def _market_status(
    table: Table, statuses: Sequence[str], now: int, negated: bool
) -> ColumnElement[bool]:
    """Offers or bids whose status as shown at unix time ``now`` is one of ``statuses``: the
    stored status, but EXPIRED for an open one past its expiry, and, for an offer, UNAVAILABLE
    for an open unexpired one its seller cannot deliver (:func:`~.market.sellable`)."""
    stored, expires = table.c.status, table.c.expires_at
    open_now = and_(stored == "OPEN", expires > now)
    offers = table.name == "offers"
    shown: list[ColumnElement[bool]] = []
    for status in statuses:
        if status == "EXPIRED":
            shown.append(and_(stored == "OPEN", expires <= now))
        elif status == "OPEN":
            shown.append(and_(open_now, sellable()) if offers else open_now)
        elif status == "UNAVAILABLE" and offers:
            shown.append(and_(open_now, not_(sellable())))
        elif status not in ("OPEN", "EXPIRED", "UNAVAILABLE"):
            shown.append(stored == status)
    matched = or_(false(), *shown)
    return not_(matched) if negated else matched


def _where(table: Table, conditions: Sequence[Condition]) -> ColumnElement[bool]:
    return and_(true(), *(_condition(table, condition) for condition in conditions))


def _after(table: Table, listing: Listing, after: Sequence[Any]) -> ColumnElement[bool]:
    """Rows past the cursor ``after`` in the listing's order: a row-value comparison spelt out
    (``(a, b) > (x, y)`` is ``a > x OR (a = x AND b > y)``), reversed for a descending list."""
    columns = [table.c[name] for name in listing.columns()]
    past: list[ColumnElement[bool]] = []
    for number, column in enumerate(columns):
        value = after[number]
        equal_before = [columns[earlier] == after[earlier] for earlier in range(number)]
        step = column < value if listing.descending else column > value
        past.append(and_(*equal_before, step))
    return or_(*past)


def _ordering(table: Table, listing: Listing) -> list[ColumnElement[Any]]:
    """The ORDER BY of the listing: its order column, then the key, all in its direction."""
    columns = [table.c[name] for name in listing.columns()]
    return [column.desc() if listing.descending else column.asc() for column in columns]


def list_rows(
    conn: Connection, listing: Listing, after: Sequence[Any] | None, limit: int
) -> list[RowMapping]:
    """Up to ``limit`` rows of the listing, past the cursor ``after`` (the values of
    :meth:`Listing.columns` of the last row seen)."""
    table = _table(listing.table)
    query = _source(table).where(_where(table, listing.conditions))
    if after is not None:
        query = query.where(_after(table, listing, after))
    return list(conn.execute(query.order_by(*_ordering(table, listing)).limit(limit)).mappings())


def count_rows(conn: Connection, listing: Listing) -> int:
    """How many rows the listing has, over all pages."""
    table = _table(listing.table)
    query = _source(table).with_only_columns(func.count(), maintain_column_froms=True)
    return int(conn.execute(query.where(_where(table, listing.conditions))).scalar_one())


def rows_of_parents(
    conn: Connection, listing: Listing, parent: str, parents: Sequence[Any], limit: int
) -> dict[Any, list[Mapping[Any, Any]]]:
    """The first ``limit`` rows of the listing for each of ``parents`` (values of the column
    ``parent``), in one statement: each parent's rows are numbered in the listing's order and
    those numbered past ``limit`` are left out."""
    if not parents:
        return {}
    distinct = list(dict.fromkeys(parents))
    rows: Iterable[Mapping[Any, Any]]
    shape = (listing.table, listing.key, listing.order, listing.descending, parent)
    if not listing.conditions and len(distinct) <= DRIVER_PARENTS:
        # a link with no filter from a few parents, the common case: on the driver's cursor
        statement = _bare_children_statement(*shape, len(distinct))
        params: dict[str, Any] = {f"parent_{n}": value for n, value in enumerate(distinct)}
        rows = statement.rows(conn, {**params, "limit": limit})
    else:
        query = (
            _children_query(listing, parent, None)
            if listing.conditions
            else _bare_children_query(*shape, None)
        )
        rows = conn.execute(query, {"parents": distinct, "limit": limit}).mappings()
    found: dict[Any, list[Mapping[Any, Any]]] = {value: [] for value in parents}
    for row in rows:
        found[row[parent]].append(row)
    return found


#: Parents up to which :func:`rows_of_parents` binds each value on its own and runs on the
#: driver's cursor; more are bound as one expanding list through SQLAlchemy.
DRIVER_PARENTS: Final = 8


def _children_query(listing: Listing, parent: str, parents: int | None) -> Select[Any]:
    """The statement of :func:`rows_of_parents`, binding ``limit`` and either ``parents`` (a
    list, when ``parents`` is None) or that many values ``parent_0``, ``parent_1``, …"""
    table = _table(listing.table)
    key = table.c[parent]
    source = _source(table)
    names = [str(column.key) for column in source.selected_columns]
    numbered_rows = func.row_number().over(partition_by=key, order_by=_ordering(table, listing))
    among = (
        key.in_(bindparam("parents", expanding=True))
        if parents is None
        else key.in_([bindparam(f"parent_{n}", type_=key.type) for n in range(parents)])
    )
    numbered = (
        source.add_columns(numbered_rows.label("_n"))
        .where(among)
        .where(_where(table, listing.conditions))
        .subquery()
    )
    return (
        select(*(numbered.c[name] for name in names))
        .where(numbered.c["_n"] <= bindparam("limit"))
        .order_by(numbered.c[parent], numbered.c["_n"])
    )


@lru_cache(maxsize=256)
def _bare_children_query(
    table: str,
    key: tuple[str, ...],
    order: str | None,
    descending: bool,
    parent: str,
    parents: int | None,
) -> Select[Any]:
    """:func:`_children_query` of a listing without conditions, made once per shape (building
    the statement costs several times what running it does)."""
    return _children_query(Listing(table, key, (), order, descending), parent, parents)


@lru_cache(maxsize=256)
def _bare_children_statement(
    table: str,
    key: tuple[str, ...],
    order: str | None,
    descending: bool,
    parent: str,
    parents: int,
) -> DriverStatement:
    """:func:`_bare_children_query` for ``parents`` parents on the driver's cursor, compiled
    once per driver."""
    return DriverStatement(_bare_children_query(table, key, order, descending, parent, parents))


def count_of_parents(
    conn: Connection, listing: Listing, parent: str, parents: Sequence[Any]
) -> dict[Any, int]:
    """How many rows the listing has for each of ``parents`` (values of ``parent``), in one
    statement."""
    table = _table(listing.table)
    key = table.c[parent]
    query = (
        _source(table)
        .with_only_columns(key, func.count(), maintain_column_froms=True)
        .where(key.in_(list(dict.fromkeys(parents))))
        .where(_where(table, listing.conditions))
        .group_by(key)
    )
    counted: dict[Any, int] = dict.fromkeys(parents, 0)
    for value, number in conn.execute(query):
        counted[value] = int(number)
    return counted
