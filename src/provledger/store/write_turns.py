"""Whose turn it is to write a SQLite database that several processes write (the relay's)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, ClassVar, Self

from sqlalchemy import Connection, Engine, MetaData, Table
from sqlalchemy.dialects import postgresql, sqlite

from provledger.store.engine import create_store_engine, is_sqlite, sqlite_file


class WriteTurns:
    """Whose turn it is to write a SQLite relay store: one thread of this process at a time (a
    lock) and one process at a time (``flock`` on a file beside the database).

    SQLite's own busy handler polls with sleeps of up to 100 ms, so a worker whose threads
    write back to back can hold the write lock for many seconds while another worker waits,
    and that one gives up with "database is locked". The kernel wakes a process blocked in
    ``flock`` as soon as the lock is let go.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._thread_turn = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def take(self) -> Iterator[None]:
        """This thread's and this process's turn, until the block ends."""
        with self._thread_turn:
            if self._path is None:  # an in-memory database: one process only
                yield
                return
            if self._fd is None or self._pid != os.getpid():  # not the parent's descriptor
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the lock file's descriptor."""
        with self._thread_turn:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


def lock_file(engine: Engine) -> Path | None:
    """The lock file beside the SQLite database of ``engine`` (None for an in-memory one)."""
    database = sqlite_file(engine.url)
    return None if database is None else Path(database + ".lock")


class TurnTakingStore:
    """Tables of one database (created on open) whose SQLite writers take turns: the base of the
    gateway's own stores (the relay's, the data room's, the access log)."""

    #: The store's tables.
    metadata: ClassVar[MetaData]

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._turns = WriteTurns(lock_file(engine)) if is_sqlite(engine) else None
        self.metadata.create_all(engine)

    @classmethod
    def open(cls, url: str) -> Self:
        """The store at ``url`` (a SQLite path or URL, or ``postgresql://``)."""
        return cls(create_store_engine(url, pool_size=20, max_overflow=40))

    def close(self) -> None:
        """Close the store's connections and its lock file."""
        self.engine.dispose()
        if self._turns is not None:
            self._turns.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A write transaction, in this writer's turn."""
        with self._writing(), self.engine.begin() as conn:
            yield conn

    def _insert(self, table: Table) -> Any:
        """An INSERT of the store's dialect, which has its ON CONFLICT clauses."""
        return (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert(table)

    def _writing(self) -> AbstractContextManager[None]:
        return nullcontext() if self._turns is None else self._turns.take()
