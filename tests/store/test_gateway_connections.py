"""The gateway's PostgreSQL connections: pinged only after sitting idle, and a lost one is a 503.

The gateway's engine does not ping every connection it takes from its pool (a round trip on
every request); it pings one that sat idle for longer than ``PING_AFTER_IDLE_SECONDS``. Each
test drops the gateway's server connections (``pg_terminate_backend``, as a server restart
does) and states what the next requests get.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from helpers.stores import POSTGRES_ADMIN_URL, postgres_database
from provledger.api.app import create_app
from provledger.config import Settings
from provledger.store import engine as store_engine
from provledger.store.engine import create_schema, create_store_engine

pytestmark = pytest.mark.postgres

#: The idle time after which a connection is pinged, in these tests (the default is 1 s).
IDLE: float = 0.2


@pytest.fixture
def index_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty index (its tables, no rows) in a new PostgreSQL database."""
    monkeypatch.setattr(store_engine, "PING_AFTER_IDLE_SECONDS", IDLE)
    with postgres_database() as url:
        writer = create_store_engine(url)
        create_schema(writer)
        writer.dispose()
        yield url


def drop_connections(url: str) -> int:
    """End every server connection to ``url``'s database, as a restart would; how many."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": url.rsplit("/", 1)[1]},
                ).all()
            )
    finally:
        admin.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(index_url: str) -> None:
    gateway = create_store_engine(index_url, read_only=True)
    try:
        first = backend_pid(gateway)
        assert drop_connections(index_url) == 1
        time.sleep(IDLE * 2)
        second = backend_pid(gateway)  # the ping found the loss: a new connection answered
        assert second != first
        assert backend_pid(gateway) == second  # reused at once, unpinged, and alive
    finally:
        gateway.dispose()


def test_a_busy_gateway_answers_one_503_per_lost_connection_then_reconnects(
    index_url: str,
) -> None:
    settings = Settings(database_url=index_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/assets?limit=1").status_code == 200
        assert drop_connections(index_url) == 1
        lost = client.get("/assets?limit=1")  # at once: the connection is reused unpinged
        assert lost.status_code == 503
        assert lost.headers["content-type"] == "application/problem+json"
        assert lost.json()["detail"].startswith("the index database cannot be reached (")
        assert lost.json()["detail"].endswith("); retry shortly")
        again = client.get("/assets?limit=1")
        assert again.status_code == 200
        assert again.json()["items"] == []


def test_the_indexer_engine_still_pings_every_checkout(index_url: str) -> None:
    writer = create_store_engine(index_url)
    try:
        first = backend_pid(writer)
        assert drop_connections(index_url) == 1
        assert backend_pid(writer) != first  # no idle time needed: pool_pre_ping
    finally:
        writer.dispose()
