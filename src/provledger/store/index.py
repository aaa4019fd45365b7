"""The indexer's view of the store: identity checks, batches, checkpoint, rollback.

Every write the indexer makes happens in :meth:`IndexStore.write_batch` or
:meth:`IndexStore.rollback`, each one database transaction: events, projection rows, undo
images, block hashes and the checkpoint commit together or not at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from provledger.errors import ProvledgerError
from provledger.store import outbox, reminders, schema
from provledger.store.engine import (
    BUSY_TIMEOUT_MS,
    create_tables,
    drop_schema,
    is_sqlite,
    sqlite_file,
    stored_schema_version,
)
from provledger.store.outbox import ActiveSubscriptions
from provledger.store.records import BlockHeader, EventRows, LogRecord
from provledger.store.workingset import TABLES, WorkingSet, insert_tuples, key_condition

#: meta keys
META_SCHEMA: Final = "schema_version"
META_CHAIN: Final = "chain_id"
META_DEPLOYMENT: Final = "deployment"
META_START: Final = "start_block"
META_BULK: Final = "bulk_load"

#: A bulk load's WAL is emptied (a TRUNCATE checkpoint between two batches) once it is longer
#: than this. Each batch rewrites every page of the random-keyed B-trees it touches; the
#: copier's checkpoints copy them into the database, but with one commit right after another
#: SQLite never finds the WAL fully copied and free to start over, so it would only grow (to
#: tens of gigabytes over ten million events).
WAL_LIMIT_BYTES: Final = 1 << 30
#: How long that checkpoint waits for the gateway's readers to leave the WAL before it gives
#: up and is tried again after the next batch.
WAL_TRUNCATE_WAIT_MS: Final = 250

#: The tables of :class:`EventRows`, in its order.
_EVENT_TABLES: Final = (schema.events, schema.event_blocks, schema.transactions)


class WrongChainError(ProvledgerError):
    """The database was built for another chain or deployment."""

    template = (
        "this database indexes {what} {stored}, not {given}: use another database URL "
        "or start from an empty one"
    )
    what: str
    stored: str
    given: str


@dataclass(frozen=True)
class Checkpoint:
    """The last block fully indexed."""

    block_number: int
    block_hash: str
    head_block: int
    """The chain's head the indexer saw when it wrote the checkpoint: readers reckon each
    record's finality from it, and the index's lag when they ask no node."""


@dataclass(frozen=True)
class Identity:
    """What a store is an index of."""

    chain_id: int
    deployment: str
    """Comma-joined lowercase contract addresses, in deployment order."""
    start_block: int


class WalCopier:
    """Copies a bulk load's WAL into the database on its own thread, after each commit.

    A bulk load turns SQLite's automatic checkpoints off (they would stall the writer); this
    thread does the copying beside it instead, so the WAL stays short (pages are read from it
    faster) and little is left to copy at the end. It stops when idle for ``idle`` seconds
    or when closed, and releases its connection.
    """

    def __init__(self, engine: Engine, idle: float = 5.0) -> None:
        self.engine = engine
        self.idle = idle
        self._wanted = threading.Event()
        self._turn = threading.Lock()
        """Orders a nudge against the thread deciding to stop, so that no nudge is lost."""
        self._finished = False
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="provledger-wal", daemon=True)
        self._thread.start()

    def nudge(self) -> bool:
        """Ask for a checkpoint of what is committed so far; False if the thread has stopped
        (a new copier is needed)."""
        with self._turn:
            if self._finished:
                return False
            self._wanted.set()
            return True

    def close(self) -> None:
        """Finish the checkpoint under way (or asked for) and stop."""
        self._closing = True
        self._wanted.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            with self.engine.connect() as conn:
                while self._wait():
                    # PASSIVE never waits for the writer; what it cannot copy now, it copies later
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                    if self._closing:
                        return
        except SQLAlchemyError:
            return  # the database went away: the writer finds out; end_bulk_load copies the rest
        finally:
            with self._turn:
                self._finished = True

    def _wait(self) -> bool:
        """Wait for a nudge; False once idle for ``idle`` seconds with none pending."""
        while not self._wanted.wait(timeout=self.idle):
            with self._turn:
                if not self._wanted.is_set():
                    self._finished = True
                    return False
        self._wanted.clear()
        return True


class IndexStore:
    """Bookkeeping and batch writes on one database."""

    def __init__(self, engine: Engine, *, subscriptions: ActiveSubscriptions | None = None) -> None:
        self.engine = engine
        self.subscriptions = subscriptions
        """The subscriptions each batch's events are announced to (none: no outbox rows)."""
        self._wal_copier: WalCopier | None = None
        database = sqlite_file(engine.url) if is_sqlite(engine) else None
        self._wal = None if database is None else Path(f"{database}-wal")
        """The WAL of a SQLite file (an in-memory database has none, and one per connection)."""
        self._has_wal = self._wal is not None
        self._reminded: frozenset[str] = frozenset()
        """The new subscriptions whose first reminders the batch being written holds."""

    # ------------------------------------------------------------ identity
    def prepare(self, identity: Identity) -> bool:
        """Create the schema, check identity and version; return True if the store was rebuilt.

        A store of another schema version is dropped and recreated (the index is derived data);
        a store of another chain or deployment is refused with :class:`WrongChainError`.
        """
        stored = stored_schema_version(self.engine)
        rebuilt = stored is not None and stored != str(schema.SCHEMA_VERSION)
        if rebuilt:
            drop_schema(self.engine)
        create_tables(self.engine)  # the version is checked above: not read again
        meta = self.meta()
        if meta.get(META_BULK) != "1":
            self._create_indexes()
        if meta:
            if meta.get(META_CHAIN) != str(identity.chain_id):
                raise WrongChainError("chain", str(meta.get(META_CHAIN)), str(identity.chain_id))
            if meta.get(META_DEPLOYMENT) != identity.deployment:
                raise WrongChainError(
                    "the deployment", str(meta.get(META_DEPLOYMENT)), identity.deployment
                )
            return rebuilt
        with self.engine.begin() as conn:
            conn.execute(
                schema.meta.insert(),
                [
                    {"key": META_SCHEMA, "value": str(schema.SCHEMA_VERSION)},
                    {"key": META_CHAIN, "value": str(identity.chain_id)},
                    {"key": META_DEPLOYMENT, "value": identity.deployment},
                    {"key": META_START, "value": str(identity.start_block)},
                ],
            )
        return rebuilt

    # ------------------------------------------------------------ bulk loading
    def in_bulk_load(self) -> bool:
        """Whether a bulk load left the secondary indexes dropped."""
        return self.meta().get(META_BULK) == "1"

    def begin_bulk_load(self) -> None:
        """Drop the secondary indexes for a large catch-up (only primary keys are read then).

        Rebuilding an index once at the end costs far less than updating it row by row.
        The flag survives a crash, so a restarted run keeps loading and still finishes with
        :meth:`end_bulk_load`.
        """
        with self.engine.begin() as conn:
            for table in schema.DERIVED:
                for index in table.indexes:
                    index.drop(conn, checkfirst=True)
            self._set_meta(conn, META_BULK, "1")

    def end_bulk_load(self) -> None:
        """Recreate the secondary indexes, checkpoint the WAL, clear the bulk-load flag.

        On SQLite the :class:`WalCopier` copies the rest of the bulk load's WAL into the
        database while this connection builds the indexes (disk writes beside sorting); the
        index pages follow at the end.
        """
        if not self._has_wal:
            self._create_indexes()
        else:
            copier = self._nudge_copier()
            try:
                self._create_indexes()
            finally:
                copier.close()
            self._checkpoint_wal("TRUNCATE")
        with self.engine.begin() as conn:
            self._set_meta(conn, META_BULK, "0")

    def _checkpoint_wal(self, mode: str) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")

    def _create_indexes(self) -> None:
        with self.engine.begin() as conn:
            for table in schema.DERIVED:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)

    def _set_meta(self, conn: Connection, key: str, value: str) -> None:
        updated = conn.execute(
            schema.meta.update().where(schema.meta.c.key == key).values(value=value)
        )
        if updated.rowcount == 0:
            conn.execute(schema.meta.insert().values(key=key, value=value))

    def meta(self) -> dict[str, str]:
        """The meta table as a dict (empty for a new store)."""
        with self.engine.connect() as conn:
            return {row.key: row.value for row in conn.execute(select(schema.meta))}

    def checkpoint(self) -> Checkpoint | None:
        """The last indexed block, or None before the first batch."""
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.checkpoint)).first()
        if row is None:
            return None
        return Checkpoint(row.block_number, row.block_hash, row.head_block)

    def stored_hashes(self, numbers: Iterable[int]) -> dict[int, str]:
        """Stored hashes of the blocks in ``numbers`` that the window still holds."""
        wanted = list(numbers)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.blocks.c.block_number, schema.blocks.c.block_hash).where(
                    schema.blocks.c.block_number.in_(wanted)
                )
            )
            return {row.block_number: row.block_hash for row in rows}

    def window(self) -> list[tuple[int, str]]:
        """Every stored (block, hash), newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.blocks.c.block_number, schema.blocks.c.block_hash).order_by(
                    schema.blocks.c.block_number.desc()
                )
            )
            return [(row.block_number, row.block_hash) for row in rows]

    # ------------------------------------------------------------ writing
    def write_batch(
        self,
        records: Sequence[LogRecord],
        event_rows: EventRows,
        *,
        project: Callable[[WorkingSet, Sequence[LogRecord]], None],
        checkpoint: Checkpoint,
        headers: Sequence[BlockHeader],
        undo_from_block: int | None,
        prune_below: int,
        bulk: bool = False,
    ) -> int:
        """Write one batch and move the checkpoint, in one transaction; return rows written.

        ``event_rows`` are the events tables' rows of ``records``;
        ``project`` applies ``records`` to the working set; the outbox gets the announcements
        of ``records`` for the store's :attr:`subscriptions` (:mod:`provledger.store.outbox`).
        """
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                # In a bulk load the WAL is checkpointed once, at the end, not every few pages.
                conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={0 if bulk else 1000}")
            elif bulk:
                # A bulk batch's commit need not wait for its WAL flush: a crash can lose the
                # last few batches only whole (each with its checkpoint), and they are fetched
                # again; the follow mode's commits stay durable.
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            ws = WorkingSet(conn, undo_from_block=undo_from_block, blind=undo_from_block is None)
            project(ws, records)
            for table, rows in zip(_EVENT_TABLES, event_rows, strict=True):
                if rows:
                    insert_tuples(conn, table, rows)
            written = ws.flush() + len(records)
            self._reminded = frozenset()
            if self.subscriptions is not None:
                written += self._notify(conn, records, headers, checkpoint)
                pruner = self.subscriptions.pruner
                now_ms = int(time.time() * 1000)
                if pruner is not None and pruner.due(now_ms):
                    pruner.prune(conn, below_block=prune_below, now_ms=now_ms)
            if ws.undo_rows:
                conn.execute(schema.undo.insert(), ws.undo_rows)
            if headers:
                self._store_headers(conn, headers)
            conn.execute(delete(schema.undo).where(schema.undo.c.block_number < prune_below))
            conn.execute(delete(schema.blocks).where(schema.blocks.c.block_number < prune_below))
            self._move_checkpoint(conn, checkpoint)
        if self.subscriptions is not None and self._reminded:  # committed: no longer new
            self.subscriptions.reminded(self._reminded)
        if bulk and self._has_wal:
            self._bound_wal()
        return written

    def _notify(
        self,
        conn: Connection,
        records: Sequence[LogRecord],
        headers: Sequence[BlockHeader],
        checkpoint: Checkpoint,
    ) -> int:
        """Write the batch's announcements and reminders to the outbox; return how many."""
        assert self.subscriptions is not None
        first = records[0].block_number if records else checkpoint.block_number
        matcher = self.subscriptions.before_batch(first)
        written = outbox.announce(conn, records, matcher) if records else 0
        times = [item.timestamp for item in headers[-1:]] + [
            item.block_time for item in records[-1:]
        ]
        if not times:  # blocks without events whose times were not fetched: the next batch
            return written
        if not matcher.wants_reminders:
            self._reminded = self.subscriptions.started
            return written
        stored = conn.execute(
            select(schema.meta.c.value).where(schema.meta.c.key == reminders.META_REMINDED_TO)
        ).scalar()
        since = None if stored is None else int(stored)
        clock = reminders.Clock(max(times), since, first, checkpoint.block_number)
        self._reminded = self.subscriptions.started
        written += reminders.remind(conn, matcher, clock, self._reminded)
        if since is None or clock.now > since:  # a reorg may take the chain's time back
            self._set_meta(conn, reminders.META_REMINDED_TO, str(clock.now))
        return written

    def _rewind_reminders(self, conn: Connection, ancestor: int) -> None:
        """Take the chain time reminders were written up to back to ``ancestor``'s: the new
        branch's blocks bring what came due on the old one again (reminders the rollback did
        not retract are not written twice: :func:`provledger.store.reminders.remind`)."""
        stored = conn.execute(
            select(schema.meta.c.value).where(schema.meta.c.key == reminders.META_REMINDED_TO)
        ).scalar()
        found = conn.execute(
            select(schema.blocks.c.timestamp).where(schema.blocks.c.block_number == ancestor)
        ).scalar()
        if stored is not None and found is not None and int(found) < int(stored):
            self._set_meta(conn, reminders.META_REMINDED_TO, str(found))

    def _bound_wal(self) -> None:
        """Have the bulk load's WAL copied into the database beside the next batch; empty it
        once it is longer than :data:`WAL_LIMIT_BYTES`."""
        assert self._wal is not None
        try:
            length = self._wal.stat().st_size
        except FileNotFoundError:
            length = 0
        if length <= WAL_LIMIT_BYTES:
            self._nudge_copier()
            return
        if self._wal_copier is not None:  # its checkpoint under way ends: little is left to copy
            self._wal_copier.close()
            self._wal_copier = None
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={WAL_TRUNCATE_WAIT_MS}")
            try:  # readers still in the WAL: it stays as it is until the next batch
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def _nudge_copier(self) -> WalCopier:
        """Ask the WAL copier for a checkpoint, starting one if none runs."""
        if self._wal_copier is None or not self._wal_copier.nudge():
            self._wal_copier = WalCopier(self.engine)
            self._wal_copier.nudge()
        return self._wal_copier

    def _store_headers(self, conn: Connection, headers: Sequence[BlockHeader]) -> None:
        numbers = [header.number for header in headers]
        conn.execute(delete(schema.blocks).where(schema.blocks.c.block_number.in_(numbers)))
        conn.execute(
            schema.blocks.insert(),
            [
                {
                    "block_number": header.number,
                    "block_hash": header.hash,
                    "parent_hash": header.parent_hash,
                    "timestamp": header.timestamp,
                }
                for header in headers
            ],
        )

    def _move_checkpoint(self, conn: Connection, checkpoint: Checkpoint) -> None:
        values = {
            "block_number": checkpoint.block_number,
            "block_hash": checkpoint.block_hash,
            "head_block": checkpoint.head_block,
            "updated_at": int(time.time()),
        }
        updated = conn.execute(
            schema.checkpoint.update().where(schema.checkpoint.c.id == 1).values(**values)
        )
        if updated.rowcount == 0:
            conn.execute(schema.checkpoint.insert().values(id=1, **values))

    def rollback(self, ancestor: int, ancestor_hash: str, head: int) -> int:
        """Undo every block after ``ancestor``; return how many rows were restored.

        Replays the undo images backwards, deletes events and block hashes above the ancestor,
        retracts the outbox's announcements of those blocks and moves the checkpoint to the
        ancestor, in one transaction.
        """
        with self.engine.begin() as conn:
            outbox.retract(conn, ancestor)
            self._rewind_reminders(conn, ancestor)
            images = conn.execute(
                select(schema.undo)
                .where(schema.undo.c.block_number > ancestor)
                .order_by(schema.undo.c.id.desc())
            ).all()
            for image in images:
                table = TABLES[image.table_name]
                key = tuple(orjson.loads(image.row_key))
                conn.execute(delete(table).where(key_condition(table, key)))
                if image.image is not None:
                    conn.execute(table.insert(), [orjson.loads(image.image)])
            conn.execute(delete(schema.undo).where(schema.undo.c.block_number > ancestor))
            for table in _EVENT_TABLES:
                conn.execute(delete(table).where(table.c.block_number > ancestor))
            conn.execute(delete(schema.blocks).where(schema.blocks.c.block_number > ancestor))
            self._move_checkpoint(conn, Checkpoint(ancestor, ancestor_hash, head))
        return len(images)

    # ------------------------------------------------------------ reading for checks
    def counts(self) -> dict[str, int]:
        """Row counts of every derived table."""
        with self.engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in schema.DERIVED
            }


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived table's rows, sorted by primary key: equal dumps mean equal indexes."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in schema.DERIVED:
            order = list(table.primary_key.columns)
            rows = conn.execute(select(table).order_by(*order)).all()
            result[table.name] = [tuple(row) for row in rows]
    return result
