"""Throwaway index databases: SQLite files and PostgreSQL databases.

PostgreSQL runs at 127.0.0.1:5432 (trust auth, user postgres) on this machine and in CI;
where it is absent, PostgreSQL cases skip with the reason, except under ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from helpers.required import unavailable
from provledger.store.engine import create_store_engine

POSTGRES_ADMIN_URL: Final = os.environ.get(
    "PROVLEDGER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


_ENGINES: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One engine per database URL for the whole test process."""
    if url not in _ENGINES:
        _ENGINES[url] = create_store_engine(url)
    return _ENGINES[url]


def release(url: str) -> None:
    """Close the pooled connections to ``url`` (before the database is dropped)."""
    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


def postgres_available() -> str | None:
    """None if PostgreSQL answers, else the reason it does not."""
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as error:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is not available: {error.orig}"
    return None


def require_postgres() -> None:
    """Skip (or, under CI=true, fail) when PostgreSQL is absent."""
    reason = postgres_available()
    if reason is None:
        return
    unavailable(reason)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new empty PostgreSQL database for the duration of the block; yields its URL."""
    require_postgres()
    name = f"provledger_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        release(url)
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextmanager
def database(kind: str, folder: Path, label: str = "index") -> Iterator[str]:
    """A fresh database URL of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'{label}-{uuid.uuid4().hex[:8]}.sqlite'}"
        try:
            yield url
        finally:
            release(url)
        return
    with postgres_database() as url:
        yield url
