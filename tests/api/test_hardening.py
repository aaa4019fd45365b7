"""The gateway reads only and briefly: query time limits, query-only SQLite connections, a
PostgreSQL role that may only read (``provledger db reader``)."""

from __future__ import annotations

import subprocess
import threading
import uuid
import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import literal_column, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from api.conftest import Indexed
from helpers.processes import PROVLEDGER, clean_env
from provledger.api.app import create_app
from provledger.store import schema
from provledger.store.engine import QueryTimeoutError, create_store_engine
from provledger.store.queries import DriverStatement

#: Counts to 10^8 in a recursive query: seconds of work on either backend.
SLOW_QUERY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) "
    "SELECT count(*) FROM c"
)


def _gateway(indexed: Indexed, url: str, query_timeout: float) -> TestClient:
    """A second gateway over the same index, reading through ``url`` with a time limit."""
    engine = create_store_engine(url, read_only=True, query_timeout=query_timeout)
    settings = indexed.app.state.gateway.settings
    return TestClient(create_app(settings, engine=engine, w3=indexed.world.w3))


def test_a_query_past_the_time_limit_is_cancelled(indexed: Indexed) -> None:
    engine = create_store_engine(indexed.database_url, read_only=True, query_timeout=0.2)
    try:
        with (
            pytest.raises(QueryTimeoutError, match="longer than 200 ms") as caught,
            engine.connect() as conn,
        ):
            conn.execute(text(SLOW_QUERY)).all()
        assert caught.value.seconds == 0.2
        with engine.connect() as conn:  # the connection is usable again, with a fresh limit
            assert conn.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        engine.dispose()


def test_a_driver_statement_past_the_time_limit_is_cancelled_too(indexed: Indexed) -> None:
    """The hot-path reads skip SQLAlchemy's execution layer but not the limit."""
    counted = SLOW_QUERY.replace("count(*)", "count(*) AS n")
    slow = DriverStatement(select(literal_column("n")).select_from(text(f"({counted}) AS s")))
    engine = create_store_engine(indexed.database_url, read_only=True, query_timeout=0.2)
    try:
        with (
            pytest.raises(QueryTimeoutError, match="longer than 200 ms"),
            engine.connect() as conn,
        ):
            slow.rows(conn, {})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        engine.dispose()


def test_the_gateway_answers_a_cancelled_query_with_503(indexed: Indexed) -> None:
    """A writer holding the table makes the gateway's read wait past its limit (PostgreSQL;
    SQLite readers never wait for writers, and the store test above covers its limit)."""
    if make_url(indexed.database_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite readers are not blocked by a writer")
    asset = indexed.client.get("/assets", params={"limit": 1}).json()["items"][0]["asset_id"]
    holder = create_store_engine(indexed.database_url)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.begin() as conn:
            conn.exec_driver_sql("LOCK TABLE assets IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert locked.wait(10)
        with _gateway(indexed, indexed.database_url, 0.3) as client:
            response = client.get(f"/assets/{asset}")
    finally:
        release.set()
        worker.join()
        holder.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "the query ran longer than 300 ms and was cancelled"
    assert indexed.client.get(f"/assets/{asset}").status_code == 200


def test_the_gateway_cannot_write_the_index(indexed: Indexed) -> None:
    engine = indexed.app.state.gateway.engine
    with pytest.raises(DBAPIError, match=r"read-only|readonly"), engine.begin() as conn:
        conn.execute(schema.meta.delete())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM meta")).scalar_one() > 0


@pytest.fixture
def reader_role(indexed: Indexed) -> Iterator[str]:
    """A reader role made with ``provledger db reader`` (PostgreSQL only), dropped afterwards."""
    if make_url(indexed.database_url).get_backend_name() != "postgresql":
        pytest.skip("reader roles are PostgreSQL roles")
    name = f"reader_{uuid.uuid4().hex[:12]}"
    done = subprocess.run(
        [PROVLEDGER, "db", "reader", name, "--database-url", indexed.database_url],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"role {name} may read the index" in done.stdout
    yield name
    admin = create_store_engine(indexed.database_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP OWNED BY {name}")
        conn.exec_driver_sql(f"DROP ROLE {name}")
    admin.dispose()


def test_a_reader_role_reads_everything_and_writes_nothing(
    indexed: Indexed, reader_role: str
) -> None:
    url = make_url(indexed.database_url).set(username=reader_role).render_as_string(False)
    with _gateway(indexed, url, 5.0) as client:
        mine = client.get("/assets", params={"limit": 1000}).json()
    assert mine == indexed.client.get("/assets", params={"limit": 1000}).json()
    engine = create_store_engine(url)  # not even a read-write session may write
    try:
        for statement in (
            schema.meta.delete(),
            schema.assets.update().values(frozen=True),
            text("CREATE TABLE intruder (x int)"),
        ):
            with pytest.raises(DBAPIError, match="permission denied"), engine.begin() as conn:
                conn.execute(statement)
    finally:
        engine.dispose()
