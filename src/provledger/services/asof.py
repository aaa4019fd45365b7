"""The index as it stood at a past block: a replay of the live index's events up to that block
(:mod:`provledger.indexer.replay`) into a SQLite file of its own, kept for the next question
about the same block (a few at a time, the least recently used dropped first).

A replay is keyed by the block and the hash of the last indexed block with events at or before
it, so that a reorg that replaces those blocks makes a new one. Whoever asks for one holds it
until they release it: a replay dropped from the cache while a request still reads it keeps its
file until the last holder lets go. Replaying costs time in
proportion to the events up to the block; a block with more than the configured number of events
before it is refused rather than replayed.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from provledger.errors import InputError
from provledger.indexer.replay import last_event_block_hash, replay
from provledger.store import queries, schema
from provledger.store.engine import create_store_engine


class BlockBeyondIndexError(InputError):
    """A block (or time) past what the index has indexed."""

    template = "{asked} is beyond the indexed head, block {head}"
    asked: str
    head: int


class ReplayTooLargeError(InputError):
    """A block with more events before it than a replay may take."""

    template = (
        "answering as of block {block} replays the {events:,} events up to it, more than the "
        "{limit:,} this gateway replays (PROVLEDGER_GRAPHQL_ASOF_MAX_EVENTS)"
    )
    block: int
    events: int
    limit: int


@dataclass(eq=False)
class Past:
    """A replayed index: the block it stands at, its engine, and the events replayed."""

    block: int
    engine: Engine
    events: int
    path: Path
    holders: int = 0
    """How many have it from :meth:`PastIndexes.at` and not yet released it."""
    retired: bool = False
    """Out of the cache: its file goes when the last holder releases it."""

    def drop(self) -> None:
        """Close its connections and remove its files."""
        _remove(self.engine, self.path)


def _remove(engine: Engine, path: Path) -> None:
    """Close ``engine``'s connections and remove its SQLite file at ``path``, with its
    write-ahead log and shared-memory index."""
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


class PastIndexes:
    """Replays of the live index at past blocks, cached."""

    def __init__(self, live: Engine, *, max_events: int, keep: int) -> None:
        self.live = live
        self.max_events = max_events
        self.keep = keep
        self._folder: Path | None = None
        """Where the replays' files go: made with the first (most gateways never make one)."""
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._cache: OrderedDict[tuple[int, str], Past] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[int, str], threading.Lock] = {}
        self._made = itertools.count(1)
        """Numbers the replays' files: a new replay of a block never takes the file of an
        older one a request still reads."""

    def block_at_time(self, timestamp: int) -> int:
        """The last block with indexed events at or before unix time ``timestamp``: the index
        at any later block before the next event's is the same."""
        with self.live.connect() as conn:
            position = queries.index_position(conn)
            indexed = 0 if position is None else position.indexed_block
            if timestamp > queries.indexed_time(conn, position):
                raise BlockBeyondIndexError(f"unix time {timestamp}", indexed)
            blocks = schema.event_blocks
            found = conn.execute(
                select(func.max(blocks.c.block_number)).where(blocks.c.block_time <= timestamp)
            ).scalar()
        return -1 if found is None else int(found)

    def at(self, block: int) -> Past:
        """The index at ``block`` (replayed now, or kept from before), held by the caller until
        it hands it to :meth:`release`. A kept replay costs two keyed reads of the live index;
        the events before the block are counted only for a new one."""
        with self.live.connect() as conn:
            key = self._key(conn, block)
        with self._lock:
            past = self._hold(key)
            if past is not None:
                return past
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one replay of a block at a time; the others wait for it
            with self._lock:
                past = self._hold(key)
            try:
                if past is None:
                    self._refuse_too_large(block)
                    past = self._replay(block, key)
            finally:
                with self._lock:
                    self._building.pop(key, None)
        return past

    def release(self, past: Past) -> None:
        """Let go of ``past`` (from :meth:`at`); its file goes if it has left the cache and no
        one else holds it."""
        with self._lock:
            past.holders -= 1
            if past.retired and past.holders == 0:
                past.drop()

    def _hold(self, key: tuple[int, str]) -> Past | None:
        """The cached replay under ``key``, held, and made the most recently used (with the
        lock held)."""
        past = self._cache.get(key)
        if past is not None:
            self._cache.move_to_end(key)
            past.holders += 1
        return past

    def _key(self, conn: Connection, block: int) -> tuple[int, str]:
        position = queries.index_position(conn)
        indexed = -1 if position is None else position.indexed_block
        if block > indexed:
            raise BlockBeyondIndexError(f"block {block}", max(indexed, 0))
        return block, last_event_block_hash(conn, block) or ""

    def _refuse_too_large(self, block: int) -> None:
        """:class:`ReplayTooLargeError` when more events than a replay may take precede
        ``block``."""
        events = schema.events
        with self.live.connect() as conn:
            count = conn.execute(
                select(func.count()).select_from(events).where(events.c.block_number <= block)
            ).scalar_one()
        if count > self.max_events:
            raise ReplayTooLargeError(block, count, self.max_events)

    def _replay(self, block: int, key: tuple[int, str]) -> Past:
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="provledger-asof-"))
                self._finalizer = weakref.finalize(self, shutil.rmtree, self._folder, True)
        path = self._folder / f"{block}-{key[1][2:18] or 'empty'}-{next(self._made)}.sqlite"
        engine = create_store_engine(f"sqlite:///{path}")
        try:
            events = replay(self.live, engine, block)
        except BaseException:
            _remove(engine, path)
            raise
        past = Past(block, engine, events, path, holders=1)
        with self._lock:
            self._cache[key] = past
            while len(self._cache) > self.keep:
                _, dropped = self._cache.popitem(last=False)
                dropped.retired = True
                if dropped.holders == 0:
                    dropped.drop()
        return past

    def close(self) -> None:
        """Drop every replay and its files (when the gateway stops: no request reads any)."""
        with self._lock:
            for past in self._cache.values():
                past.drop()
            self._cache.clear()
        if self._finalizer is not None:
            self._finalizer()
