"""The transactional outbox: what the indexer announces to subscriptions, and retracts.

:func:`announce` runs inside a batch's transaction, after its projection rows are written: for
every event of the batch and every subscription whose filter it matches, one ``announce`` row
(:data:`provledger.store.schema.outbox`). So nothing is announced that was not committed, and
nothing committed goes unannounced. :func:`retract` runs inside a rollback's transaction: every
announcement of a rolled-back block gets a ``retract`` row. Workers deliver the rows in ``seq``
order per subscription (:mod:`provledger.services.notify.worker`); an announcement retracted
before it went out is skipped with its retraction.

What an event matches (:class:`provledger.store.notify.SubscriptionFilter`), field by field:

* ``assets``: the asset the event concerns (its ``asset_id``, or an ERC-721 ``token_id``);
* ``events``: the event's name;
* ``holders``: the asset's holder as of the event (from ``holdings``), and both sides of a
  transfer;
* ``registrants``: the asset's registrant;
* ``licensees``: the event's ``licensee``;
* ``participants``: any account the event names;
* ``categories`` and ``grades``: the asset's, once the batch is written.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    func,
    insert,
    make_url,
    or_,
    select,
)

from provledger.store import schema
from provledger.store.engine import normalise_url, sqlite_file
from provledger.store.notify import NotifyStore
from provledger.store.records import LogRecord
from provledger.store.subscriptions import REMINDERS, Subscription, SubscriptionFilter
from provledger.store.upkeep import PRUNE_EVERY_MS, STREAM_KEEP_MS, Pruner

ANNOUNCE: Final = "announce"
RETRACT: Final = "retract"
#: A reminder of an expiry (:mod:`provledger.store.reminders`), and the retraction of one.
REMIND: Final = "remind"
UNREMIND: Final = "unremind"
#: What a retraction of each kind of row is.
RETRACTION: Final = {ANNOUNCE: RETRACT, REMIND: UNREMIND}
ZERO_ADDRESS: Final = "0x" + "00" * 20
_CHUNK: Final = 500
_ADDRESS_LENGTH: Final = 42


class Holding(NamedTuple):
    """One holder period of an asset, as the ``holdings`` table keeps it."""

    holder: str
    start: tuple[int, int]
    end: tuple[int, int] | None
    via: str


@dataclass
class AssetFacts:
    """What matching reads of an asset: its registrant, category and grade, and the holder
    periods that reach into the batch."""

    registrant: str
    category: int
    grade: int
    holdings: list[Holding]

    def holder_at(self, position: tuple[int, int]) -> str | None:
        """Who held the asset at ``position`` (block, log index), as of that event. The
        registration's own event comes before its mint's transfer: its holder is the first."""
        for holding in self.holdings:
            if holding.start <= position and (holding.end is None or position < holding.end):
                return holding.holder
        first = self.holdings[0] if self.holdings else None
        if first is not None and first.via == "REGISTRATION" and position < first.start:
            return first.holder
        return None


@dataclass(frozen=True, slots=True)
class Subject:
    """What a filter is matched against: one event and the asset it concerns."""

    asset: str | None
    event: str
    participants: frozenset[str]
    holders: frozenset[str]
    registrants: frozenset[str]
    licensees: frozenset[str]
    category: int | None
    grade: int | None


def _asset_of(record: LogRecord) -> str | None:
    """The asset ``record`` concerns, if any (``asset_id``, else ``token_id``)."""
    row: Any = record.row
    found: str | None = getattr(row, "asset_id", None) or getattr(row, "token_id", None)
    return found


def subject_of(record: LogRecord, facts: AssetFacts | None) -> Subject:
    """The subject of ``record``; ``facts`` are its asset's, if it concerns one the index
    holds."""
    row: Any = record.row
    names: tuple[str, ...] = row._fields
    asset = _asset_of(record)
    accounts = frozenset(
        value
        for value in row
        if isinstance(value, str) and len(value) == _ADDRESS_LENGTH and value.startswith("0x")
    ) - {ZERO_ADDRESS}
    position = (record.block_number, record.log_index)
    held_by = facts.holder_at(position) if facts is not None else None
    holders = {held_by} if held_by is not None else set()
    if record.event == "Transfer":
        holders.update((row.from_, row.to))
    registrants = {facts.registrant} if facts is not None else set()
    if "registrant" in names:
        registrants.add(row.registrant)
    category = row.category if "category" in names and "grade" in names else None
    grade = row.grade if "grade" in names else None
    if facts is not None:
        category = facts.category if category is None else category
        grade = facts.grade if grade is None else grade
    return Subject(
        asset=asset,
        event=record.event,
        participants=accounts,
        holders=frozenset(holders) - {ZERO_ADDRESS},
        registrants=frozenset(registrants),
        licensees=frozenset({row.licensee}) if "licensee" in names else frozenset(),
        category=category,
        grade=grade,
    )


def matches(wanted: SubscriptionFilter, subject: Subject) -> bool:
    """Whether ``subject`` meets every field ``wanted`` gives."""
    return (
        (not wanted.assets or subject.asset in wanted.assets)
        and (not wanted.events or subject.event in wanted.events)
        and (not wanted.holders or not wanted.holders.isdisjoint(subject.holders))
        and (not wanted.registrants or not wanted.registrants.isdisjoint(subject.registrants))
        and (not wanted.licensees or not wanted.licensees.isdisjoint(subject.licensees))
        and (not wanted.participants or not wanted.participants.isdisjoint(subject.participants))
        and (not wanted.categories or subject.category in wanted.categories)
        and (not wanted.grades or subject.grade in wanted.grades)
    )


def _asset_facts(
    conn: Connection, asset_ids: Iterable[str], first_block: int
) -> dict[str, AssetFacts]:
    """The facts of ``asset_ids`` that the index holds, with the holder periods that end at
    ``first_block`` or later (or have not ended)."""
    assets, holdings = schema.assets, schema.holdings
    wanted = list(asset_ids)
    found: dict[str, AssetFacts] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = conn.execute(
            select(assets.c.asset_id, assets.c.registrant, assets.c.category, assets.c.grade).where(
                assets.c.asset_id.in_(chunk)
            )
        )
        for row in rows:
            found[row.asset_id] = AssetFacts(row.registrant, row.category, row.grade, [])
        periods = conn.execute(
            select(holdings)
            .where(holdings.c.asset_id.in_(chunk))
            .where(or_(holdings.c.to_block.is_(None), holdings.c.to_block >= first_block))
            .order_by(holdings.c.asset_id, holdings.c.from_block, holdings.c.from_log)
        )
        for period in periods:
            end = None if period.to_block is None else (period.to_block, period.to_log)
            found[period.asset_id].holdings.append(
                Holding(period.holder, (period.from_block, period.from_log), end, period.via)
            )
    return found


#: The filter fields a subscription is indexed by (:class:`Matcher`), the most selective first.
KEY_FIELDS: Final = (
    "assets",
    "licensees",
    "registrants",
    "holders",
    "participants",
    "events",
    "categories",
    "grades",
)


def _keys(subject: Subject, field: str) -> Iterable[Any]:
    """The values of ``subject`` a filter ``field`` may name."""
    if field == "assets":
        return (subject.asset,)
    if field == "events":
        return (subject.event,)
    if field == "categories":
        return (subject.category,)
    if field == "grades":
        return (subject.grade,)
    found: frozenset[str] = getattr(subject, field)
    return found


class Matcher:
    """Subscriptions indexed by one field each (the first of :data:`KEY_FIELDS` their filter
    gives), so an event is checked against the few it might match, not against all."""

    def __init__(self, subscriptions: Sequence[Subscription]) -> None:
        self.subscriptions = list(subscriptions)
        self.needs_asset = any(item.filter.needs_asset for item in subscriptions)
        self._by: dict[str, dict[Any, list[Subscription]]] = {field: {} for field in KEY_FIELDS}
        self._any: list[Subscription] = []
        for item in subscriptions:
            field = next((name for name in KEY_FIELDS if getattr(item.filter, name)), None)
            if field is None:
                self._any.append(item)
                continue
            for value in getattr(item.filter, field):
                self._by[field].setdefault(value, []).append(item)
        self._fields = [field for field in KEY_FIELDS if self._by[field]]
        self.wants_reminders = any(
            not item.filter.events or not item.filter.events.isdisjoint(REMINDERS)
            for item in subscriptions
        )
        """Whether any subscription may hear of reminders (its filter names no events, or
        one of :data:`provledger.store.subscriptions.REMINDERS`)."""

    def __bool__(self) -> bool:
        return bool(self.subscriptions)

    def matching(self, subject: Subject, block: int) -> list[Subscription]:
        """The subscriptions ``subject`` (an event of ``block``) matches, each from its
        ``from_block`` on."""
        found = {id(item): item for item in self._any}
        for field in self._fields:
            index = self._by[field]
            for key in _keys(subject, field):
                for item in index.get(key, ()):
                    found[id(item)] = item
        return [
            item
            for item in found.values()
            if item.from_block is not None
            and block >= item.from_block
            and matches(item.filter, subject)
        ]


def announce(conn: Connection, records: Sequence[LogRecord], matcher: Matcher) -> int:
    """Write the announcements of ``records`` for the subscriptions of ``matcher`` (each from
    its ``from_block`` on); return how many."""
    if not records or not matcher:
        return 0
    facts: dict[str, AssetFacts] = {}
    if matcher.needs_asset:
        assets = {asset for record in records if (asset := _asset_of(record))}
        facts = _asset_facts(conn, assets, records[0].block_number)
    rows: list[dict[str, Any]] = []
    written_at = int(time.time() * 1000)
    for record in records:
        asset = _asset_of(record)
        subject = subject_of(record, facts.get(asset) if asset else None)
        for subscription in matcher.matching(subject, record.block_number):
            rows.append(
                {
                    "subscription_id": subscription.id,
                    "block_number": record.block_number,
                    "log_index": record.log_index,
                    "block_hash": record.block_hash,
                    "kind": ANNOUNCE,
                    "retracts": None,
                    "written_at": written_at,
                }
            )
    if rows:
        conn.execute(insert(schema.outbox), rows)
    return len(rows)


def retract(conn: Connection, ancestor: int) -> int:
    """Write a retraction of every announcement (and reminder) of an event in a block after
    ``ancestor`` not yet retracted (a rollback to ``ancestor`` is under way); return how
    many."""
    outbox = schema.outbox
    retracted = select(outbox.c.retracts).where(outbox.c.retracts.is_not(None))
    announced = conn.execute(
        select(outbox)
        .where(
            and_(
                outbox.c.block_number > ancestor,
                outbox.c.kind.in_(list(RETRACTION)),
                outbox.c.seq.not_in(retracted),
            )
        )
        .order_by(outbox.c.seq)
    ).all()
    written_at = int(time.time() * 1000)
    rows = [
        {
            "subscription_id": row.subscription_id,
            "block_number": row.block_number,
            "log_index": row.log_index,
            "block_hash": row.block_hash,
            "kind": RETRACTION[row.kind],
            "retracts": row.seq,
            "written_at": written_at,
        }
        for row in announced
    ]
    if rows:
        conn.execute(insert(outbox), rows)
    return len(rows)


def after(conn: Connection, subscription_id: str, seq: int, limit: int) -> list[RowMapping]:
    """The notifications of one subscription after ``seq``, in order, each with
    ``retracted_by``: the seq of its retraction, None while it has none."""
    outbox = schema.outbox
    retractions = outbox.alias("retractions")
    query = (
        select(
            outbox,
            select(retractions.c.seq)
            .where(retractions.c.retracts == outbox.c.seq)
            .limit(1)
            .scalar_subquery()
            .label("retracted_by"),
        )
        .where(outbox.c.subscription_id == subscription_id, outbox.c.seq > seq)
        .order_by(outbox.c.seq)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def waiting_since(conn: Connection, seq: int) -> dict[str, int]:
    """Per subscription with notifications after outbox position ``seq``, its last one."""
    outbox = schema.outbox
    rows = conn.execute(
        select(outbox.c.subscription_id, func.max(outbox.c.seq))
        .where(outbox.c.seq > seq)
        .group_by(outbox.c.subscription_id)
    )
    return {str(subscription): int(last) for subscription, last in rows}


def last_seq(conn: Connection, subscription_id: str) -> int:
    """The last outbox position of ``subscription_id`` (0 before its first notification)."""
    outbox = schema.outbox
    found = conn.execute(
        select(func.max(outbox.c.seq)).where(outbox.c.subscription_id == subscription_id)
    ).scalar()
    return int(found or 0)


def window_events(
    conn: Connection, subscription_id: str, after: int, through: int
) -> dict[tuple[int, int], RowMapping]:
    """The indexed events the outbox rows of ``subscription_id`` from after ``after`` through
    ``through`` name (those the index holds, in the block the row names), by position (block,
    log index), as
    :func:`provledger.store.schema.positioned_events` gives them."""
    events, outbox = schema.events, schema.outbox
    query = (
        schema.positioned_events()
        .join(
            outbox,
            and_(
                outbox.c.block_number == events.c.block_number,
                outbox.c.log_index == events.c.log_index,
                # the event the row was written for: not one a reorg put at its position since
                outbox.c.block_hash == schema.event_blocks.c.block_hash,
            ),
        )
        .where(
            outbox.c.subscription_id == subscription_id,
            outbox.c.seq > after,
            outbox.c.seq <= through,
        )
    )
    return {(row["block_number"], row["log_index"]): row for row in conn.execute(query).mappings()}


class ActiveSubscriptions:
    """The subscriptions as the indexer sees them: reloaded when the notify store's version
    moves, and started (:meth:`NotifyStore.start`) at the first block written after they were
    seen. A SQLite notify database that does not exist yet (nobody has subscribed) is looked
    for again at each batch, not created."""

    def __init__(
        self, url: str, *, stream_keep_ms: int = STREAM_KEEP_MS, prune_ms: int = PRUNE_EVERY_MS
    ) -> None:
        self.url = url
        self.stream_keep_ms = stream_keep_ms
        """How long a stream's rows are kept (:mod:`provledger.store.upkeep`)."""
        self.prune_ms = prune_ms
        """Time between two prunings of the outbox."""
        self.pruner: Pruner | None = None
        """The outbox's pruner, once the notify store is open."""
        parsed = make_url(normalise_url(url))
        self._file = sqlite_file(parsed) if parsed.get_backend_name() == "sqlite" else None
        """The SQLite file of the notify store, which the indexer does not create."""
        self.store: NotifyStore | None = None
        self._version = -1
        self._matcher = Matcher([])
        self.started: frozenset[str] = frozenset()
        """The subscriptions :meth:`before_batch` started whose first reminders are not written
        yet (:meth:`reminded` once they are)."""

    def _open(self) -> NotifyStore | None:
        if self.store is None:
            if self._file is not None and not Path(self._file).exists():
                return None
            self.store = NotifyStore.open(self.url)
            self.pruner = Pruner(self.store, keep_ms=self.stream_keep_ms, every_ms=self.prune_ms)
        return self.store

    def reminded(self, started: frozenset[str]) -> None:
        """The first reminders of ``started`` are committed: they are no longer new."""
        self.started -= started

    def close(self) -> None:
        """Close the notify store, if it was opened."""
        if self.store is not None:
            self.store.close()

    def before_batch(self, first_block: int) -> Matcher:
        """The subscriptions to match a batch that begins at ``first_block`` against."""
        store = self._open()
        if store is None:
            return self._matcher
        current = store.version()
        loaded = self._matcher.subscriptions
        if current != self._version:
            loaded = store.active()
            self._version = current
        new = [item.id for item in loaded if item.from_block is None]
        self.started |= frozenset(new)
        if new:
            store.start(new, first_block)
            loaded = [
                replace(item, from_block=first_block) if item.from_block is None else item
                for item in loaded
            ]
        if loaded is not self._matcher.subscriptions:
            self._matcher = Matcher(loaded)
        return self._matcher
