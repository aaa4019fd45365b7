"""The GraphQL schema over the index: a list (connection) of every kind of record with ``where``
filters, ``orderBy`` and cursors, a lookup of each by its key, and the links between records
(an asset's holder, licences, trades, lineage; a licence's asset…), batched per request so that
a page of a hundred assets with their links takes one statement a link.

One request reads on one connection and takes the index's position once, so every record in an
answer has its finality as of the same head.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeVar

import strawberry
from sqlalchemy import Engine
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from provledger.api.graphql.links import Link
from provledger.api.graphql.types import (
    Edge,
    Long,
    OrderDirection,
    PageInfo,
    lazy,
)
from provledger.params import InvalidParameterError
from provledger.services.asof import Past, PastIndexes
from provledger.services.provenance import Provenance, parse_title
from provledger.services.records import KINDS, Found, RecordKind, Records, Snapshot, condition
from provledger.store.queries.listing import Condition, Listing

T = TypeVar("T")

#: Records a list answers when ``first`` is not given, and the most it may ask for.
DEFAULT_FIRST: Final = 20
MAX_FIRST: Final = 100


class Reading:
    """One index a request reads: the live one, or a replay of it at a past block. Its
    connection is opened on first use; its position is read once."""

    def __init__(self, engine: Engine, records: Records, block: int | None = None) -> None:
        self.engine = engine
        self.records = records
        self.provenance = records.provenance
        self.block = block
        """The past block it stands at; None for the live index."""
        self._snapshot: Snapshot | None = None
        self.loaders: dict[Any, DataLoader[Any, Any]] = {}

    @property
    def snapshot(self) -> Snapshot:
        """Its position for this request."""
        if self._snapshot is None:
            self._snapshot = self.records.snapshot()
        return self._snapshot

    def seen_head(self, head: int) -> None:
        """The chain head a read gave with its rows: the position of the request's later
        reads, unless one was taken already (a statement fewer)."""
        if self._snapshot is None:
            self._snapshot = self.records.snapshot_at(head)

    def placed(self, found: Found) -> Found:
        """``found`` with each record marked as read here (a past reading's records lead their
        links to the same past)."""
        if self.block is None:
            return found
        return Found([self.place(item) for item in found.items], found.cursors, found.has_next)

    def place(self, record: Any) -> Any:
        """``record`` marked as read here (see :meth:`placed`)."""
        return record if self.block is None else Placed(record, self)


class Placed:
    """A record read from a past index: its view's fields, and the reading its links use."""

    __slots__ = ("_reading", "_view")

    def __init__(self, view: Any, reading: Reading) -> None:
        self._view = view
        self._reading = reading

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)


@strawberry.input(
    description="A past point of the chain: a block number, or a unix time (the chain as it "
    "stood after the last block at or before it). Give one of the two."
)
class BlockAt:
    number: Long | None = None
    timestamp: Long | None = None


class GraphContext(BaseContext):
    """One request: the live reading, and those of the past blocks it names."""

    def __init__(self, engine: Engine, records: Records, pasts: PastIndexes) -> None:
        super().__init__()
        self.live = Reading(engine, records)
        self.pasts = pasts
        self._past: dict[int, Reading] = {}
        self._held: list[Past] = []

    async def reading(self, at: BlockAt | None) -> Reading:
        """The reading ``at`` names: the live index when None."""
        if at is None:
            return self.live
        if (at.number is None) == (at.timestamp is None):
            raise InvalidParameterError("block", "give either number or timestamp")
        if at.number is not None and at.number < 0:
            raise InvalidParameterError("block", f"a block number is not negative, got {at.number}")
        block: int | None = at.number
        if at.timestamp is not None:
            block = await asyncio.to_thread(self.pasts.block_at_time, at.timestamp)
        assert block is not None
        if block not in self._past:
            past = await asyncio.to_thread(self.pasts.at, block)
            if block in self._past:  # another field of the request asked for it meanwhile
                self.pasts.release(past)
                return self._past[block]
            self._held.append(past)
            records = self.live.records
            provenance = Provenance(
                past.engine,
                confirmations=records.provenance.confirmations,
                finality_depth=records.provenance.finality_depth,
            )
            self._past[block] = Reading(past.engine, Records(past.engine, provenance), block)
        return self._past[block]

    def close(self) -> None:
        """Let go of the replays the request read (its answer is made)."""
        while self._held:
            self.pasts.release(self._held.pop())

    def of(self, root: Any) -> Reading:
        """The reading a record came from."""
        return root._reading if isinstance(root, Placed) else self.live


def at_reading(info: strawberry.Info, block: BlockAt | None, answer: Callable[[Reading], T]) -> Any:
    """``answer`` of the reading ``block`` names: at once for the live index (a resolver that
    returns a value keeps graphql-core's execution synchronous), else once the past block's
    replay is ready."""
    ctx: GraphContext = info.context
    if block is None:
        return answer(ctx.live)

    async def past() -> T:
        return answer(await ctx.reading(block))

    return past()


def in_list(info: strawberry.Info) -> bool:
    """Whether the field's object is an item of a list (whose other items' fields a loader
    gathers into one read)."""
    step = info.path.prev
    while step is not None:
        if isinstance(step.key, int):
            return True
        step = step.prev
    return False


def context_getter(
    engine: Engine, records: Records, pasts: PastIndexes
) -> Callable[[], AsyncIterator[GraphContext]]:
    """The context getter of ``/graphql``: makes each request's context, and closes it after
    the answer (async: FastAPI, which makes the context of a GET, runs a plain one on a
    thread)."""

    async def context() -> AsyncIterator[GraphContext]:
        made = GraphContext(engine, records, pasts)
        try:
            yield made
        finally:
            made.close()

    return context


@dataclass
class ConnectionValue:
    """What a connection field answers: a page, and how to count the whole list."""

    found: Found
    counter: Callable[[], Awaitable[int]]
    edges: list[Edge] = field(init=False)
    nodes: list[Any] = field(init=False)
    page_info: PageInfo = field(init=False)

    def __post_init__(self) -> None:
        found = self.found
        self.nodes = found.items
        self.edges = [
            Edge(cursor, node) for cursor, node in zip(found.cursors, found.items, strict=True)
        ]
        end = found.cursors[-1] if found.cursors else None
        self.page_info = PageInfo(has_next_page=found.has_next, end_cursor=end)

    async def count(self) -> int:
        """The number of records over all pages."""
        return await self.counter()


# ------------------------------------------------------------------ conditions


def conditions(reading: Reading, kind: RecordKind, where: Any) -> tuple[Condition, ...]:
    """The store's conditions from a ``where`` input of ``kind``, read by ``reading``."""
    if where is None:
        return ()
    found: list[Condition] = []

    def now() -> int:
        return reading.snapshot.now

    for name in kind.filters:
        given = getattr(where, name, None)
        if given is None:
            continue
        for op in ("eq", "ne", "gt", "gte", "lt", "lte", "in_", "is_null"):
            value = getattr(given, op, None)
            if value is None:
                continue
            try:
                found.append(condition(kind, name, op.rstrip("_"), value, now))
            except InvalidParameterError as error:  # named as the query names it
                raise InvalidParameterError(f"where.{camel(name)}", error.reason) from None
    title = getattr(where, "title", None)
    if title is not None:
        found.extend(Condition("title", "words", word) for word in parse_title(title.contains))
    either = getattr(where, "or_", None)
    if either:
        found.append(
            Condition("", "any", tuple(conditions(reading, kind, each) for each in either))
        )
    return tuple(found)


def camel(name: str) -> str:
    """A field's name as GraphQL shows it (``asset_id`` is ``assetId``)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def first_of(first: int) -> int:
    """A list's ``first``, checked."""
    if not 0 <= first <= MAX_FIRST:
        raise InvalidParameterError("first", f"must be between 0 and {MAX_FIRST}, got {first}")
    return first


def _listing(
    reading: Reading, kind: RecordKind, where: Any, order_by: Any, direction: OrderDirection
) -> Listing:
    order = None if order_by is None else str(order_by.value)
    descending = direction is OrderDirection.DESC
    return reading.records.listing(kind, conditions(reading, kind, where), order, descending)


# ------------------------------------------------------------------ resolvers


def list_field(kind: RecordKind, types: dict[str, Any]) -> Any:
    """The root field listing ``kind``."""

    def resolve(
        info: strawberry.Info,
        where: Any = None,
        order_by: Any = None,
        order_direction: OrderDirection = OrderDirection.ASC,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
        block: BlockAt | None = None,
    ) -> Any:
        def answer(reading: Reading) -> ConnectionValue:
            listing = _listing(reading, kind, where, order_by, order_direction)
            found = reading.records.page(reading.snapshot, kind, listing, after, first_of(first))

            async def count() -> int:
                return reading.records.count(listing)

            return ConnectionValue(reading.placed(found), count)

        return at_reading(info, block, answer)

    # nullable: a refused list (a bad filter, a block past the head) leaves the query's other
    # fields their answers
    resolve.__annotations__ = {
        **_list_annotations(kind, types),
        "block": BlockAt | None,
        "return": lazy(f"{kind.name}Connection") | None,
    }
    return strawberry.field(resolver=resolve, description=f"{kind.name} records, a page at a time.")


def _list_annotations(kind: RecordKind, types: dict[str, Any]) -> dict[str, Any]:
    return {
        "info": strawberry.Info,
        "where": types[f"{kind.name}Where"] | None,
        "order_by": types[f"{kind.name}OrderBy"] | None,
        "order_direction": OrderDirection,
        "first": int,
        "after": str | None,
        "return": lazy(f"{kind.name}Connection"),
    }


def _key_of(value: Any) -> Any:
    """A view's value as the store keys it: addresses are shown checksummed, stored lowercase."""
    return value.lower() if isinstance(value, str) else value


def _loader(reading: Reading, link: Link, listing: Listing, first: int) -> DataLoader[Any, Any]:
    """The request's loader of ``link`` for one listing and page size: the parents asked for
    in one tick are read in one statement."""
    token = ("page", link.child, link.column, listing, first)
    if token not in reading.loaders:
        kind = KINDS[link.child]

        async def load(parents: list[Any]) -> list[Found]:
            found = reading.records.children(
                reading.snapshot, kind, listing, link.column, parents, first
            )
            return [reading.placed(found[parent]) for parent in parents]

        reading.loaders[token] = DataLoader(load_fn=load)
    return reading.loaders[token]


def _children(reading: Reading, link: Link, listing: Listing, first: int, parent: Any) -> Found:
    """The first page of ``link``'s records of one parent, read at once."""
    kind = KINDS[link.child]
    found = reading.records.children(reading.snapshot, kind, listing, link.column, [parent], first)
    return reading.placed(found[parent])


def _counter(reading: Reading, link: Link, listing: Listing) -> DataLoader[Any, int]:
    token = ("count", link.child, link.column, listing)
    if token not in reading.loaders:

        async def load(parents: list[Any]) -> list[int]:
            counted = reading.records.counts(listing, link.column, parents)
            return [counted[parent] for parent in parents]

        reading.loaders[token] = DataLoader(load_fn=load)
    return reading.loaders[token]


def link_field(link: Link, types: dict[str, Any]) -> Any:
    """The field of ``link``: a connection (with ``where``, ``orderBy``, ``first``, ``after``)
    when it names many records, else the one record or null."""
    kind = KINDS[link.child]
    if not link.many:

        def one(root: strawberry.Parent[Any], info: strawberry.Info) -> Any:
            value = getattr(root, link.through)
            if value is None:
                return None
            ctx: GraphContext = info.context
            reading = ctx.of(root)
            listing = reading.records.listing(kind, (), link.order, link.descending)
            if not in_list(info):  # one parent: read now
                found = _children(reading, link, listing, 1, _key_of(value))
                return found.items[0] if found.items else None

            async def gathered() -> Any:
                found = await _loader(reading, link, listing, 1).load(_key_of(value))
                return found.items[0] if found.items else None

            return gathered()

        one.__annotations__ = {  # ``root`` is the parent by its name
            "info": strawberry.Info,
            "return": lazy(kind.name) | None,
        }
        return strawberry.field(resolver=one, description=link.description)

    def many(
        root: strawberry.Parent[Any],
        info: strawberry.Info,
        where: Any = None,
        order_by: Any = None,
        order_direction: OrderDirection = OrderDirection.ASC,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
    ) -> Any:
        ctx: GraphContext = info.context
        reading = ctx.of(root)
        value = _key_of(getattr(root, link.through))
        listing = _listing(reading, kind, where, order_by, order_direction)
        size = first_of(first)

        async def count() -> int:
            counted: int = await _counter(reading, link, listing).load(value)
            return counted

        if after is not None:  # a later page of one parent's records: read on its own
            mine = replace(
                listing, conditions=(*listing.conditions, Condition(link.column, "eq", value))
            )
            found = reading.placed(reading.records.page(reading.snapshot, kind, mine, after, size))
            return ConnectionValue(found, count)
        if not in_list(info):  # one parent: read now
            return ConnectionValue(_children(reading, link, listing, size, value), count)

        async def gathered() -> ConnectionValue:
            found = await _loader(reading, link, listing, size).load(value)
            return ConnectionValue(found, count)

        return gathered()

    many.__annotations__ = _list_annotations(kind, types)
    return strawberry.field(resolver=many, description=link.description)
