"""Keeping the outbox bounded: the indexer prunes it, once a minute unless the settings say
(``notify_prune_seconds``), in a batch's transaction.

* A webhook subscription's rows go once delivered (at or before its cursor in the notify store)
  and final (in a block below the index's reorg horizon, so no rollback can need them).
* A removed subscription's rows go; its horizon is the outbox's newest position then, so a
  stream made again under its id (by a client that comes back) refuses an older position.
* A stream's position is its client's (``Last-Event-ID``): its rows go once final and older than
  the streams' retention (``notify_stream_keep_days``). The last position pruned is kept
  (``outbox_horizon``), so a client that resumes from before it is told what it missed instead
  of missing it silently.
* A stream subscription no client has been connected to for as long is removed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import ColumnElement, Connection, and_, delete, func, select, update

from provledger.store import schema
from provledger.store.notify import (
    NotifyStore,
    SubscriptionNotFoundError,
    cursors,
    subscriptions,
)

#: How often the indexer prunes the outbox unless the settings say (wall-clock milliseconds
#: between two prunings).
PRUNE_EVERY_MS: Final = 60_000
#: How long stream rows, and streams nobody connects to, are kept unless the settings say.
STREAM_KEEP_MS: Final = 7 * 24 * 3600 * 1000


def _expire_streams(store: NotifyStore, before_ms: int) -> list[str]:
    """Remove the stream subscriptions no client was connected to since ``before_ms``; their
    ids."""
    seen = func.coalesce(subscriptions.c.last_seen, subscriptions.c.created_at)
    with store.engine.connect() as conn:
        stale = list(
            conn.execute(
                select(subscriptions.c.id).where(
                    subscriptions.c.target == "stream", seen < before_ms
                )
            ).scalars()
        )
    for subscription_id in stale:
        with contextlib.suppress(SubscriptionNotFoundError):  # removed meanwhile
            store.remove(subscription_id)
    return stale


def _set_horizon(conn: Connection, subscription_id: str, seq: int) -> None:
    """Note that ``subscription_id``'s notifications before ``seq`` (a resume from before it)
    cannot be served any more: before an outbox position no later than the newest one, or, for
    a removed subscription, past the newest (it heard of nothing once removed)."""
    table = schema.outbox_horizon
    known = horizon(conn, subscription_id)
    if known >= seq:
        return
    changed = conn.execute(
        update(table).where(table.c.subscription_id == subscription_id).values(seq=seq)
    )
    if changed.rowcount == 0:
        conn.execute(table.insert().values(subscription_id=subscription_id, seq=seq))


def horizon(conn: Connection, subscription_id: str) -> int:
    """The outbox position before which ``subscription_id`` cannot be resumed (0: any)."""
    table = schema.outbox_horizon
    found = conn.execute(
        select(table.c.seq).where(table.c.subscription_id == subscription_id)
    ).scalar()
    return int(found or 0)


@dataclass
class Pruner:
    """Prunes one index's outbox for the subscriptions of one notify store."""

    store: NotifyStore
    keep_ms: int = STREAM_KEEP_MS
    """How long a stream's rows are kept, and a stream nobody connects to."""
    every_ms: int = PRUNE_EVERY_MS
    """Time between two prunings."""
    last_ms: int = 0
    """When it last pruned."""
    _through: dict[str, int] = field(default_factory=dict)
    """Per webhook subscription, the cursor position it last pruned through."""

    def due(self, now_ms: int) -> bool:
        """Whether :attr:`every_ms` has passed since the last pruning."""
        return now_ms - self.last_ms >= self.every_ms

    def prune(self, conn: Connection, *, below_block: int, now_ms: int) -> int:
        """Delete what no subscription needs any more (blocks below ``below_block`` are beyond
        a reorg's reach); return how many rows."""
        self.last_ms = now_ms
        expired = _expire_streams(self.store, now_ms - self.keep_ms)
        with self.store.engine.connect() as notify:
            kinds = dict(notify.execute(select(subscriptions.c.id, subscriptions.c.target)).all())
            through = dict(notify.execute(select(cursors.c.subscription_id, cursors.c.seq)).all())
        outbox = schema.outbox
        present = conn.execute(select(outbox.c.subscription_id).distinct()).scalars().all()
        horizons = schema.outbox_horizon
        newest = max(
            int(conn.execute(select(func.max(outbox.c.seq))).scalar() or 0),
            int(conn.execute(select(func.max(horizons.c.seq))).scalar() or 0),
        )
        for subscription_id in expired:  # even one whose rows were all pruned already
            _set_horizon(conn, subscription_id, newest + 1)
        gone = 0
        for subscription_id in present:
            kind = kinds.get(subscription_id)
            if kind is None:  # removed: a stream made again under its id resumes after this
                _set_horizon(conn, subscription_id, newest + 1)
                gone += self._delete(conn, subscription_id, outbox.c.seq >= 0)
                self._through.pop(subscription_id, None)
            elif kind == "stream":
                gone += self._prune_stream(conn, subscription_id, below_block, now_ms)
            elif through.get(subscription_id, 0) > self._through.get(subscription_id, 0):
                seq = through[subscription_id]
                gone += self._delete(
                    conn,
                    subscription_id,
                    and_(outbox.c.seq <= seq, outbox.c.block_number < below_block),
                )
                self._through[subscription_id] = seq
        return gone

    def _prune_stream(
        self, conn: Connection, subscription_id: str, below_block: int, now_ms: int
    ) -> int:
        outbox = schema.outbox
        last = conn.execute(
            select(func.max(outbox.c.seq)).where(
                outbox.c.subscription_id == subscription_id,
                outbox.c.written_at < now_ms - self.keep_ms,
                outbox.c.block_number < below_block,
            )
        ).scalar()
        if last is None:
            return 0
        _set_horizon(conn, subscription_id, int(last))
        return self._delete(conn, subscription_id, outbox.c.seq <= last)

    @staticmethod
    def _delete(conn: Connection, subscription_id: str, condition: ColumnElement[bool]) -> int:
        outbox = schema.outbox
        done = conn.execute(
            delete(outbox).where(outbox.c.subscription_id == subscription_id, condition)
        )
        return int(done.rowcount)
