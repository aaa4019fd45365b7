"""Reminders: a licence or an export permit about to expire, told to the subscriptions that
match it, as outbox rows beside the announcements (:mod:`provledger.store.outbox`).

The clock is the chain's, the one the contracts judge expiry by: a batch whose last block is
at chain time *now* reminds a subscription of every live licence (not revoked) and export
permit (issued, not used or revoked) whose expiry is after *now* and at most the
subscription's ``remind_before`` later, once:

* when the chain's time crosses ``expires_at - remind_before`` (the index keeps the time it
  has reminded up to in its ``meta`` table, in the batch's transaction);
* when it is granted or issued already that close to its expiry;
* when the subscription starts (its first batch) while it is already that close.

A reminder is matched as an event named :data:`LICENSE_EXPIRING` or
:data:`EXPORT_PERMIT_EXPIRING` about the asset, naming the licensee and licensor (or the
recipient and approver) and the asset's holder now; its outbox row points at the grant's (or
issue's) event, and a reorg that removes that event retracts it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, Row, Table, exists, insert, or_, select

from provledger.store import schema
from provledger.store.eventargs import unpack_args
from provledger.store.outbox import REMIND, Matcher, Subject
from provledger.store.subscriptions import (
    EXPORT_PERMIT_EXPIRING,
    LICENSE_EXPIRING,
    MADE_BY,
    Subscription,
)

#: The ``meta`` key of the chain time the index has written reminders up to.
META_REMINDED_TO: Final = "reminded_to"
#: The position, among the arguments of the event that made each kind of record
#: (:data:`provledger.store.subscriptions.MADE_BY`), of the field that tells one record of an
#: asset from another: the licence id; the permit's recipient.
_KEY_ARGUMENT: Final = {LICENSE_EXPIRING: 0, EXPORT_PERMIT_EXPIRING: 1}


@dataclass(frozen=True)
class Clock:
    """Where a batch leaves the chain's time, and where the last one left it."""

    now: int
    """The chain time of the batch's last block."""
    since: int | None
    """The chain time reminders were written up to (None: never)."""
    first_block: int
    """The batch's first block: records made from there on are new."""
    block: int
    """The batch's last block (subscriptions that start after it hear of nothing yet)."""


@dataclass(frozen=True)
class Expiring:
    """A licence or an export permit that expires soon."""

    kind: str
    """:data:`LICENSE_EXPIRING` or :data:`EXPORT_PERMIT_EXPIRING`."""
    asset: str
    key: Any
    """The licence id, or the permit's recipient."""
    expires_at: int
    made_block: int
    accounts: frozenset[str]
    licensee: str | None


def _expiring(conn: Connection, clock: Clock, lead: int, narrow: int | None) -> Iterator[Expiring]:
    """The live licences and permits that expire after ``clock.now`` and at most ``lead``
    seconds later; with ``narrow``, only those whose expiry is ``narrow`` seconds after
    ``clock.since`` or later, or made in this batch."""
    licenses, permits = schema.licenses, schema.export_permits
    for row in _soon(
        conn, licenses, licenses.c.revoked_block.is_(None), "granted_block", clock, lead, narrow
    ):
        yield Expiring(
            LICENSE_EXPIRING,
            row.asset_id,
            row.license_id,
            row.expires_at,
            row.granted_block,
            frozenset({row.licensee, row.licensor}),
            row.licensee,
        )
    for row in _soon(
        conn, permits, permits.c.state == "ISSUED", "issued_block", clock, lead, narrow
    ):
        yield Expiring(
            EXPORT_PERMIT_EXPIRING,
            row.asset_id,
            row.recipient,
            row.expires_at,
            row.issued_block,
            frozenset({row.recipient, row.approver}),
            None,
        )


def _soon(
    conn: Connection,
    table: Table,
    live: ColumnElement[bool],
    made: str,
    clock: Clock,
    lead: int,
    narrow: int | None,
) -> Sequence[Row[Any]]:
    """The ``live`` rows of ``table`` (licences or permits, ``made`` in the block of that
    column) as :func:`_expiring` wants them."""
    expires = table.c.expires_at
    query = select(table).where(live, expires > clock.now, expires <= clock.now + lead)
    if narrow is not None and clock.since is not None:
        query = query.where(or_(expires > clock.since + narrow, table.c[made] >= clock.first_block))
    return conn.execute(query).all()


def _due(item: Expiring, subscription: Subscription, clock: Clock, started: bool) -> bool:
    """Whether ``subscription`` is reminded of ``item`` in this batch."""
    lead = subscription.remind_before
    if item.expires_at - lead > clock.now:
        return False
    return (
        started
        or clock.since is None
        or item.expires_at - lead > clock.since
        or item.made_block >= clock.first_block
    )


def _assets(conn: Connection, asset_ids: set[str]) -> dict[str, Any]:
    assets = schema.assets
    found: dict[str, Any] = {}
    wanted = sorted(asset_ids)
    for start in range(0, len(wanted), 500):
        query = select(
            assets.c.asset_id,
            assets.c.holder,
            assets.c.registrant,
            assets.c.category,
            assets.c.grade,
        ).where(assets.c.asset_id.in_(wanted[start : start + 500]))
        found.update({row.asset_id: row for row in conn.execute(query)})
    return found


def _subject(item: Expiring, asset: Any) -> Subject:
    holders = frozenset({asset.holder}) if asset is not None else frozenset()
    return Subject(
        asset=item.asset,
        event=item.kind,
        participants=item.accounts | holders,
        holders=holders,
        registrants=frozenset({asset.registrant}) if asset is not None else frozenset(),
        licensees=frozenset({item.licensee}) if item.licensee else frozenset(),
        category=None if asset is None else asset.category,
        grade=None if asset is None else asset.grade,
    )


def _made_at(conn: Connection, item: Expiring) -> Any | None:
    """The event that made ``item`` (its block, log index and block hash)."""
    events = schema.events
    name, field = MADE_BY[item.kind], _KEY_ARGUMENT[item.kind]
    rows = conn.execute(
        schema.positioned_events()
        .where(
            events.c.block_number == item.made_block,
            events.c.event == name,
            events.c.asset_id == item.asset,
        )
        .order_by(events.c.log_index.desc())
    ).mappings()
    return next(
        (row for row in rows if unpack_args(row["args"], row["asset_id"])[field] == item.key),
        None,
    )


def remind(conn: Connection, matcher: Matcher, clock: Clock, started: frozenset[str]) -> int:
    """Write the reminders the batch ``clock`` describes is due to give ``matcher``'s
    subscriptions (``started``: those whose first batch it is); return how many."""
    if not matcher.wants_reminders:
        return 0
    leads = [item.remind_before for item in matcher.subscriptions]
    narrow = None if started else min(leads)
    candidates = sorted(
        _expiring(conn, clock, max(leads), narrow),
        key=lambda item: (item.expires_at, item.made_block, item.asset, str(item.key)),
    )
    if not candidates:
        return 0
    assets = _assets(conn, {item.asset for item in candidates})
    rows: list[dict[str, Any]] = []
    written_at = int(time.time() * 1000)
    for item in candidates:
        due = [
            subscription
            for subscription in matcher.matching(
                _subject(item, assets.get(item.asset)), clock.block
            )
            if _due(item, subscription, clock, subscription.id in started)
        ]
        event = _made_at(conn, item) if due else None
        if event is None:
            continue
        rows.extend(
            {
                "subscription_id": subscription.id,
                "block_number": event["block_number"],
                "log_index": event["log_index"],
                "block_hash": event["block_hash"],
                "kind": REMIND,
                "retracts": None,
                "written_at": written_at,
            }
            for subscription in due
        )
    if rows:
        given = _given(conn, {row["block_number"] for row in rows})
        rows = [row for row in rows if _identity(row) not in given]
    if rows:
        conn.execute(insert(schema.outbox), rows)
    return len(rows)


def _identity(row: Any) -> tuple[str, int, int, str]:
    return (
        str(row["subscription_id"]),
        int(row["block_number"]),
        int(row["log_index"]),
        str(row["block_hash"]),
    )


def _given(conn: Connection, blocks: set[int]) -> set[tuple[str, int, int, str]]:
    """The reminders already in the outbox, not retracted, of events in ``blocks``: after a
    reorg took the chain's clock back, the same reminder comes due again, and is not written
    twice."""
    outbox = schema.outbox
    retractions = outbox.alias("retractions")
    rows = conn.execute(
        select(outbox).where(
            outbox.c.kind == REMIND,
            outbox.c.block_number.in_(sorted(blocks)),
            ~exists().where(retractions.c.retracts == outbox.c.seq),
        )
    ).mappings()
    return {_identity(row) for row in rows}
