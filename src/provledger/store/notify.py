"""Subscriptions to the ledger's changes, and where each one's delivery stands.

They live apart from the index, in the database of the ``notify_database_url`` setting, which
the CLI and the gateway write and the indexer reads. The indexer writes a notification row
for every event a subscription matches into the index's outbox
(:mod:`provledger.store.outbox`), in the batch's transaction; the ``provledger notify`` workers
deliver them, keeping here, per subscription, the outbox position delivered so far (the
*cursor*), the failures of the delivery at its head, and a lease that says which worker is
delivering it. Several workers share the subscriptions: a worker leases the due ones (on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``; on SQLite the writers take turns) and only the
lease holder moves a cursor, so each subscription's notifications go out one at a time, in
outbox order.

A delivery that keeps failing for :data:`provledger.services.notify.webhook.GIVE_UP_AFTER_MS`
is dead-lettered: kept here with its last error, and the cursor moves past it.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

from provledger.errors import InputError
from provledger.store.columns import column
from provledger.store.engine import is_sqlite
from provledger.store.naming import new_metadata
from provledger.store.subscriptions import (
    DEFAULT_REMIND_BEFORE,
    Subscription,
    SubscriptionFilter,
)
from provledger.store.subscriptions import (
    FILTER_FIELDS as FILTER_FIELDS,
)
from provledger.store.subscriptions import (
    FINALITIES as FINALITIES,
)
from provledger.store.write_turns import TurnTakingStore

ID_PREFIX: Final = "sub_"

metadata = new_metadata()

subscriptions = Table(
    "subscriptions",
    metadata,
    column("id", String(40), primary_key=True),
    column("owner", String(64)),  # the API key id that made it, or "cli"
    column("filters", Text),  # JSON: {field: [values]} (FILTER_FIELDS)
    column("finality", String(8)),
    column("target", String(8)),  # webhook | stream
    column("url", Text, nullable=True),
    # the first block of the first batch the indexer wrote after it saw the subscription; NULL
    # until then (a new subscription hears of what is indexed after it was made)
    column("from_block", BigInteger, nullable=True),
    column("created_at", BigInteger),  # unix ms
    column("active", Boolean),
    # seconds before an expiry that reminders go out; NULL in a store made before there were
    # reminders (the default then)
    column("remind_before", BigInteger, nullable=True),
    # a stream's: when a client was last connected to it (unix ms; NULL: never since it was made)
    column("last_seen", BigInteger, nullable=True),
    Index(None, "owner", "id"),
)
#: Columns added to ``subscriptions`` since the first stores were made: added on open.
_ADDED_COLUMNS: Final = ("remind_before", "last_seen")

# One row: a number the writers of subscriptions raise, so the indexer reloads them only then.
version = Table(
    "notify_version",
    metadata,
    column("id", Integer, primary_key=True),
    column("version", BigInteger),
)

cursors = Table(
    "notify_cursors",
    metadata,
    column("subscription_id", String(40), primary_key=True),
    column("seq", BigInteger),  # the last outbox seq handled (delivered, skipped or dead)
    column("attempts", Integer),  # failed attempts of the notification after seq
    column("first_failed_at", BigInteger, nullable=True),  # unix ms
    column("next_attempt_at", BigInteger),  # unix ms
    column("last_error", Text, nullable=True),
    column("lease_owner", String(64), nullable=True),
    column("lease_until", BigInteger),  # unix ms; 0: free
    Index(None, "next_attempt_at"),
)

# Announcements a worker skipped because a reorg had retracted them before they went out: their
# retractions are skipped too.
skipped = Table(
    "notify_skipped",
    metadata,
    column("subscription_id", String(40), primary_key=True),
    column("seq", BigInteger, primary_key=True),
)

dead_letters = Table(
    "notify_dead_letters",
    metadata,
    column("delivery_id", String(120), primary_key=True),
    column("subscription_id", String(40)),
    column("seq", BigInteger),
    column("body", LargeBinary),
    column("error", Text),
    column("first_failed_at", BigInteger),
    column("dead_at", BigInteger),
    column("attempts", Integer),
    Index(None, "subscription_id", "seq"),
)


class SubscriptionNotFoundError(InputError):
    """No subscription has this id (for this owner)."""

    template = "no subscription {subscription_id}"
    subscription_id: str


@dataclass
class Cursor:
    """Where one subscription's delivery stands (see the module docstring)."""

    subscription_id: str
    seq: int
    attempts: int
    first_failed_at: int | None
    next_attempt_at: int
    last_error: str | None = None


def _raise_version(conn: Connection) -> None:
    if (
        conn.execute(
            update(version).where(version.c.id == 1).values(version=version.c.version + 1)
        ).rowcount
        == 0
    ):
        conn.execute(insert(version).values(id=1, version=1))


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        owner=row.owner,
        filter=SubscriptionFilter.from_mapping(orjson.loads(row.filters)),
        finality=row.finality,
        target=row.target,
        url=row.url,
        from_block=row.from_block,
        created_at=row.created_at,
        active=bool(row.active),
        remind_before=DEFAULT_REMIND_BEFORE if row.remind_before is None else row.remind_before,
    )


def _cursor(row: Any) -> Cursor:
    return Cursor(
        row.subscription_id,
        row.seq,
        row.attempts,
        row.first_failed_at,
        row.next_attempt_at,
        row.last_error,
    )


class NotifyStore(TurnTakingStore):
    """Subscriptions and their delivery state in one database."""

    metadata = metadata

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        known = {item["name"] for item in inspect(engine).get_columns(subscriptions.name)}
        for name in _ADDED_COLUMNS:
            if name not in known:  # a store made before the column was
                try:
                    with self._transaction() as conn:
                        conn.execute(text(f"ALTER TABLE subscriptions ADD COLUMN {name} BIGINT"))
                except DBAPIError:  # another process opening the store added it first
                    columns = inspect(engine).get_columns(subscriptions.name)
                    if name not in {item["name"] for item in columns}:
                        raise

    # ------------------------------------------------------------ subscriptions
    def create(
        self,
        *,
        owner: str,
        filter: SubscriptionFilter,
        finality: str,
        target: str,
        url: str | None,
        now_ms: int,
        subscription_id: str | None = None,
        remind_before: int = DEFAULT_REMIND_BEFORE,
    ) -> Subscription:
        """A new subscription, its cursor at the start of the outbox; with ``subscription_id``,
        the subscription of that id, made unless it exists (a stream's, named by what it
        asks)."""
        if subscription_id is not None:
            with contextlib.suppress(SubscriptionNotFoundError):
                return self.get(subscription_id)
        created = Subscription(
            id=subscription_id or ID_PREFIX + secrets.token_hex(12),
            owner=owner,
            filter=filter,
            finality=finality,
            target=target,
            url=url,
            from_block=None,
            created_at=now_ms,
            remind_before=remind_before,
        )
        with self._transaction() as conn:  # two first connections of one stream: one row
            conn.execute(
                self._insert(subscriptions)
                .on_conflict_do_nothing()
                .values(
                    id=created.id,
                    owner=owner,
                    filters=filter.to_json(),
                    finality=finality,
                    target=target,
                    url=url,
                    from_block=None,
                    created_at=now_ms,
                    active=True,
                    remind_before=remind_before,
                )
            )
            _raise_version(conn)
            conn.execute(
                self._insert(cursors)
                .on_conflict_do_nothing()
                .values(
                    subscription_id=created.id,
                    seq=0,
                    attempts=0,
                    next_attempt_at=0,
                    lease_until=0,
                )
            )
        return created

    def get(self, subscription_id: str, *, owner: str | None = None) -> Subscription:
        """The subscription ``subscription_id`` (of ``owner`` if given)."""
        query = select(subscriptions).where(subscriptions.c.id == subscription_id)
        if owner is not None:
            query = query.where(subscriptions.c.owner == owner)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise SubscriptionNotFoundError(subscription_id)
        return _subscription(row)

    def listed(self, *, owner: str | None = None) -> list[Subscription]:
        """Every subscription (of ``owner`` if given), in id order."""
        query = select(subscriptions).order_by(subscriptions.c.id)
        if owner is not None:
            query = query.where(subscriptions.c.owner == owner)
        with self.engine.connect() as conn:
            return [_subscription(row) for row in conn.execute(query)]

    def active(self) -> list[Subscription]:
        """The subscriptions the indexer matches events against."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(subscriptions).where(subscriptions.c.active.is_(True)))
            return [_subscription(row) for row in rows]

    def remove(self, subscription_id: str, *, owner: str | None = None) -> None:
        """Delete a subscription, its cursor and its dead letters."""
        self.get(subscription_id, owner=owner)
        with self._transaction() as conn:
            for table, key in (
                (subscriptions, subscriptions.c.id),
                (cursors, cursors.c.subscription_id),
                (skipped, skipped.c.subscription_id),
                (dead_letters, dead_letters.c.subscription_id),
            ):
                conn.execute(delete(table).where(key == subscription_id))
            _raise_version(conn)

    def seen(self, subscription_id: str, now_ms: int) -> None:
        """Note that a client is connected to the stream ``subscription_id`` now (a stream
        nobody connects to is removed after a while: :mod:`provledger.store.upkeep`)."""
        with self._transaction() as conn:
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id)
                .values(last_seen=now_ms)
            )

    def version(self) -> int:
        """A number that changes whenever a subscription is made or removed."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(version.c.version)).scalar() or 0)

    def start(self, subscription_ids: Sequence[str], block: int) -> None:
        """Set the first block of the subscriptions that have none yet (the indexer, before it
        writes the first batch that matches events against them)."""
        with self._transaction() as conn:
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id.in_(list(subscription_ids)))
                .where(subscriptions.c.from_block.is_(None))
                .values(from_block=block)
            )

    # ------------------------------------------------------------ delivery state
    def lease(
        self,
        worker: str,
        *,
        now_ms: int,
        lease_ms: int,
        limit: int,
        among: Sequence[str] | None = None,
    ) -> list[tuple[Subscription, Cursor]]:
        """Lease up to ``limit`` due webhook subscriptions (of ``among``, if given) whose lease
        is free, expired or ``worker``'s own (a pass that failed midway) to ``worker`` until
        ``now_ms + lease_ms``; each with its cursor."""
        if among is not None and not among:
            return []
        due = (
            select(cursors, subscriptions)
            .join(subscriptions, subscriptions.c.id == cursors.c.subscription_id)
            .where(
                subscriptions.c.active.is_(True),
                subscriptions.c.target == "webhook",
                cursors.c.next_attempt_at <= now_ms,
                or_(cursors.c.lease_until <= now_ms, cursors.c.lease_owner == worker),
            )
            .order_by(cursors.c.next_attempt_at)
            .limit(limit)
        )
        if among is not None:
            due = due.where(cursors.c.subscription_id.in_(list(among)))
        with self._transaction() as conn:
            if not is_sqlite(self.engine):
                due = due.with_for_update(of=cursors, skip_locked=True)
            rows = conn.execute(due).all()
            if rows:
                conn.execute(
                    update(cursors)
                    .where(cursors.c.subscription_id.in_([row.subscription_id for row in rows]))
                    .values(lease_owner=worker, lease_until=now_ms + lease_ms)
                )
        return [(_subscription(row), _cursor(row)) for row in rows]

    def advance(self, worker: str, subscription_id: str, seq: int, *, lease_until: int) -> bool:
        """Move the cursor to ``seq`` (handled), clearing its failures, and hold the lease
        until ``lease_until``; False if ``worker`` no longer holds the lease (another worker
        took it over: it delivers from there)."""
        with self._transaction() as conn:
            moved = conn.execute(
                update(cursors)
                .where(cursors.c.subscription_id == subscription_id)
                .where(cursors.c.lease_owner == worker)
                .values(
                    seq=seq,
                    attempts=0,
                    first_failed_at=None,
                    last_error=None,
                    lease_until=lease_until,
                )
            )
        return moved.rowcount == 1

    def failed(
        self, worker: str, cursor: Cursor, *, error: str, now_ms: int, next_attempt_at: int
    ) -> bool:
        """Count a failed attempt at the notification after the cursor; retry at
        ``next_attempt_at``. False if ``worker`` no longer holds the lease."""
        with self._transaction() as conn:
            moved = conn.execute(
                update(cursors)
                .where(cursors.c.subscription_id == cursor.subscription_id)
                .where(cursors.c.lease_owner == worker)
                .values(
                    attempts=cursor.attempts + 1,
                    first_failed_at=cursor.first_failed_at or now_ms,
                    last_error=error,
                    next_attempt_at=next_attempt_at,
                    lease_owner=None,
                    lease_until=0,
                )
            )
        return moved.rowcount == 1

    def release(self, worker: str, subscription_id: str, *, next_attempt_at: int) -> None:
        """Give the lease back; the subscription is due again at ``next_attempt_at``."""
        with self._transaction() as conn:
            conn.execute(
                update(cursors)
                .where(cursors.c.subscription_id == subscription_id)
                .where(cursors.c.lease_owner == worker)
                .values(lease_owner=None, lease_until=0, next_attempt_at=next_attempt_at)
            )

    def let_go(self, worker: str) -> None:
        """Give back every lease ``worker`` holds (it is stopping): another worker may take
        the subscriptions up at once."""
        with self._transaction() as conn:
            conn.execute(
                update(cursors)
                .where(cursors.c.lease_owner == worker)
                .values(lease_owner=None, lease_until=0)
            )

    def dead_letter(
        self, worker: str, cursor: Cursor, *, seq: int, delivery_id: str, body: bytes, now_ms: int
    ) -> bool:
        """Keep the notification at ``seq`` as dead, with its last error, and move past it."""
        with self._transaction() as conn:
            moved = conn.execute(
                update(cursors)
                .where(cursors.c.subscription_id == cursor.subscription_id)
                .where(cursors.c.lease_owner == worker)
                .values(seq=seq, attempts=0, first_failed_at=None, last_error=None)
            )
            if moved.rowcount != 1:
                return False
            conn.execute(
                insert(dead_letters).values(
                    delivery_id=delivery_id,
                    subscription_id=cursor.subscription_id,
                    seq=seq,
                    body=body,
                    error=cursor.last_error or "",
                    first_failed_at=cursor.first_failed_at or now_ms,
                    dead_at=now_ms,
                    attempts=cursor.attempts,
                )
            )
        return True

    def skip(self, subscription_id: str, seq: int) -> None:
        """Remember that the announcement at ``seq`` was retracted before it went out."""
        statement = self._insert(skipped).values(subscription_id=subscription_id, seq=seq)
        with self._transaction() as conn:  # two streams of one subscription may both skip it
            conn.execute(statement.on_conflict_do_nothing())

    def was_skipped(self, subscription_id: str, seq: int) -> bool:
        """Whether the announcement at ``seq`` was skipped (see :meth:`skip`)."""
        query = select(skipped.c.seq).where(
            skipped.c.subscription_id == subscription_id, skipped.c.seq == seq
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def cursor(self, subscription_id: str) -> Cursor:
        """The delivery state of one subscription."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(cursors).where(cursors.c.subscription_id == subscription_id)
            ).first()
        if row is None:
            raise SubscriptionNotFoundError(subscription_id)
        return _cursor(row)

    def dead(self, subscription_id: str) -> list[dict[str, Any]]:
        """The dead letters of one subscription, in outbox order."""
        query = (
            select(dead_letters)
            .where(dead_letters.c.subscription_id == subscription_id)
            .order_by(dead_letters.c.seq)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
