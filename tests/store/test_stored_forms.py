"""What the index keeps on disk: hashes and addresses as bytes, event arguments packed, the
block and transaction of each event once. Each reads back as exactly what was written; a
PostgreSQL index loaded with ``COPY`` equals one loaded row by row and a SQLite one; a value of
the wrong size never reaches the database; an index of an older schema is refused by its
readers with the command that rebuilds it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.exc import StatementError

from helpers.indexing import differences, index
from helpers.stores import database, engine_for, require_postgres
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.api.app import create_app
from provledger.chain.serialize import asset_hex
from provledger.config import Settings
from provledger.store import schema, workingset
from provledger.store.engine import IndexSchemaError, create_schema
from provledger.store.eventargs import pack_args, unpack_args
from provledger.store.index import IndexStore

#: The store's behaviour does not depend on the chain backend: the session's eth-tester World.
on_ethtester = pytest.mark.parametrize("backend", ["ethtester"], indirect=True)

HASH = "0x" + "ab" * 32
ACCOUNT = "0x" + "12" * 20

values = st.lists(
    st.one_of(
        st.text(),
        st.integers(min_value=0, max_value=2**53 - 1),
        st.binary(max_size=40).map(lambda data: "0x" + data.hex()),
        st.binary(min_size=1, max_size=40).map(lambda data: "0x" + data.hex().upper()),
        st.booleans(),
    ),
    max_size=12,
)


@given(values)
def test_packed_arguments_read_back_exactly_as_given(given_values: list[Any]) -> None:
    assert unpack_args(pack_args(given_values, None), None) == given_values


def test_hex_values_are_kept_as_bytes_and_the_asset_field_once() -> None:
    fields = [HASH, ACCOUNT, 7, "ipfs://x/metadata.json", "DIRECT", "0xAB", "0x123"]
    packed = pack_args(fields, 0)
    assert unpack_args(packed, HASH) == fields
    # the asset (in its own column) is nil here; the other hashes are their bytes
    assert bytes.fromhex("ab" * 32) not in packed
    assert bytes.fromhex("12" * 20) in packed
    # upper-case and odd-length hex stay text, so they read back unchanged
    assert b"0xAB" in packed
    assert b"0x123" in packed
    assert len(packed) < len(repr(fields)) // 2


@on_ethtester
def test_a_hash_of_the_wrong_size_never_reaches_the_database(
    world: World, new_database: NewDatabase
) -> None:
    url = new_database("index")
    index(world.w3, world.deployment, url)
    engine = engine_for(url)
    with engine.connect() as conn, pytest.raises(StatementError, match="expected 32 bytes"):
        conn.execute(select(schema.assets).where(schema.assets.c.asset_id == "0x" + "ab" * 31))


@on_ethtester
def test_hashes_and_addresses_are_stored_as_bytes(world: World, new_database: NewDatabase) -> None:
    url = new_database("index")
    asset = world.register(world.alice)
    index(world.w3, world.deployment, url)
    engine = engine_for(url)
    with engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT asset_id, holder FROM assets").one()
        seen = conn.execute(select(schema.assets.c.asset_id, schema.assets.c.holder)).one()
    assert bytes(raw.asset_id) == bytes.fromhex(asset_hex(asset)[2:])
    assert len(bytes(raw.holder)) == 20
    assert seen.asset_id == asset_hex(asset)
    assert seen.holder == world.alice.address.lower()


@on_ethtester
def test_copy_loads_the_same_index_as_row_inserts_and_as_sqlite(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_postgres()
    world.register(world.alice)
    world.register(world.bob)
    with (
        database("sqlite", tmp_path, "rows") as by_rows,
        database("postgresql", tmp_path, "inserts") as inserted,
        database("postgresql", tmp_path, "copied") as copied,
    ):
        index(world.w3, world.deployment, by_rows)
        monkeypatch.setattr(workingset, "COPY_ROWS", 10**9)
        index(world.w3, world.deployment, inserted)
        monkeypatch.setattr(workingset, "COPY_ROWS", 1)
        index(world.w3, world.deployment, copied)
        assert differences(inserted, copied) == {}
        assert differences(by_rows, copied) == {}
        assert IndexStore(engine_for(copied)).counts()["events"] > 0


@on_ethtester
def test_readers_refuse_an_index_of_an_older_schema_with_the_command_that_rebuilds_it(
    world: World, new_database: NewDatabase, tmp_path: Path
) -> None:
    url = new_database("index")
    asset = world.register(world.alice)
    index(world.w3, world.deployment, url)
    with engine_for(url).begin() as conn:
        conn.execute(
            update(schema.meta).where(schema.meta.c.key == "schema_version").values(value="10")
        )
    refusal = (
        "the index was built with schema version 10 and this provledger reads version "
        f"{schema.SCHEMA_VERSION}: run provledger index to rebuild it from the chain (it "
        "reports its progress)"
    )
    with _gateway(url, tmp_path) as gateway:
        for path in (f"/assets/{asset_hex(asset)}", "/status", "/assets"):
            answer = gateway.get(path)
            assert answer.status_code == 503, path
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["detail"] == refusal
        page = gateway.get("/")
        assert page.status_code == 503
        assert "The index was built with schema version 10 and" in page.text
    with pytest.raises(IndexSchemaError) as refused:  # `provledger blobs add` writes nothing
        create_schema(engine_for(url))
    assert str(refused.value) == refusal
    summary = index(world.w3, world.deployment, url)  # the indexer rebuilds it
    assert summary.events > 0
    with _gateway(url, tmp_path) as gateway:
        answer = gateway.get(f"/assets/{asset_hex(asset)}")
        assert answer.status_code == 200
        assert answer.json()["holder"] == world.alice.address


@contextmanager
def _gateway(url: str, folder: Path) -> Iterator[TestClient]:
    """The gateway over the index at ``url``."""
    app = create_app(Settings(database_url=url, blob_dir=folder / "blobs"))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        app.state.gateway.engine.dispose()
