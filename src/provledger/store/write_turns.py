"""Whose turn it is to write a SQLite database that several processes write (the relay's)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from provledger.store.engine import sqlite_file


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
