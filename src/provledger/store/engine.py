"""Opening the store: engines for SQLite (WAL) and PostgreSQL, the schema, the writer lock.

The default is a SQLite file; a ``postgresql://`` URL selects PostgreSQL through psycopg 3.
Only one indexer writes: on PostgreSQL an advisory lock elects it, on SQLite an exclusive
lock on a file next to the database.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from provledger.errors import ConfigurationError, ProvledgerError
from provledger.store import schema

#: ``pg_advisory_lock`` key of the provledger writer: the first 8 bytes of sha256("provledger").
WRITER_LOCK_KEY: Final = int.from_bytes(
    hashlib.sha256(b"provledger.indexer").digest()[:8], "big", signed=True
)


class WriterLockHeld(ProvledgerError):
    """Another indexer holds the writer lock."""

    def __init__(self, where: str) -> None:
        super().__init__(f"another indexer is writing to {where}")


def normalise_url(url: str) -> str:
    """A SQLAlchemy URL: plain paths become SQLite files; ``postgresql://`` uses psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{Path(url)}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` is SQLite."""
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Larger pages halve B-tree work on bulk inserts; only a new database takes the setting.
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB
    cursor.close()


def create_store_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url`` with the project's settings."""
    full = normalise_url(url)
    parsed = make_url(full)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            folder = Path(database).parent
            if not folder.exists():
                folder.mkdir(parents=True, exist_ok=True)
        engine = create_engine(full, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # The gateway's reads: each statement in its own snapshot, as under READ COMMITTED
        # anyway, without the BEGIN and ROLLBACK round trips around every request.
        reads: dict[str, Any] = {
            "isolation_level": "AUTOCOMMIT",
            "connect_args": {"options": "-c default_transaction_read_only=on"},
        }
        return create_engine(full, pool_pre_ping=True, **(reads if read_only else {}))
    raise ConfigurationError(f"database URL {url!r} is neither SQLite nor PostgreSQL")


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet."""
    schema.metadata.create_all(engine)


def drop_schema(engine: Engine) -> None:
    """Drop every provledger table (a rebuild follows)."""
    schema.metadata.drop_all(engine)


@contextmanager
def writer_lock(
    engine: Engine, *, wait: bool = True, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the single-writer lock for the duration of the block."""
    if is_sqlite(engine):
        database = engine.url.database or ":memory:"
        if database == ":memory:":
            yield
            return
        path = Path(f"{database}.writer.lock")
        with path.open("a") as handle:
            _acquire(lambda: _try_flock(handle.fileno()), wait, on_wait, str(database))
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    with engine.connect() as conn:
        _acquire(lambda: _try_advisory(conn), wait, on_wait, engine.url.render_as_string())
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": WRITER_LOCK_KEY})
            conn.commit()


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _try_advisory(conn: Connection) -> bool:
    acquired = conn.execute(
        text("SELECT pg_try_advisory_lock(:key)"), {"key": WRITER_LOCK_KEY}
    ).scalar_one()
    conn.commit()
    return bool(acquired)


def _acquire(
    attempt: Callable[[], bool], wait: bool, on_wait: Callable[[], None] | None, where: str
) -> None:
    announced = False
    while not attempt():
        if not wait:
            raise WriterLockHeld(where)
        if on_wait is not None and not announced:
            on_wait()
            announced = True
        time.sleep(1.0)
