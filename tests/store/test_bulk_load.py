"""Bulk loading (:class:`provledger.store.index.IndexStore`): a large catch-up drops the
secondary indexes and rebuilds them once caught up, without changing a row; the flag survives
a restart; an index loaded in bulk tells its time from its last event; its WAL is emptied once
past its limit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from helpers.indexing import TEST_CONFIG, differences, index, source_of
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.chain.serialize import asset_hex
from provledger.indexer.scanner import Scanner
from provledger.store import index as index_module
from provledger.store import queries, schema
from provledger.store.index import META_BULK, IndexStore, dump

#: The store's behaviour does not depend on the chain backend: the session's eth-tester World.
pytestmark = pytest.mark.parametrize("backend", ["ethtester"], indirect=True)


def _indexes(engine: Engine) -> dict[str, set[str]]:
    """The secondary indexes of every derived table, by table, as the database lists them."""
    inspector = inspect(engine)
    return {
        table.name: {str(index["name"]) for index in inspector.get_indexes(table.name)}
        for table in schema.DERIVED
    }


def _declared() -> dict[str, set[str]]:
    return {table.name: {str(index.name) for index in table.indexes} for table in schema.DERIVED}


def test_a_bulk_load_drops_and_rebuilds_the_indexes_only(
    world: World, new_database: NewDatabase
) -> None:
    url = new_database("index")
    world.register(world.alice)
    index(world.w3, world.deployment, url)
    engine = engine_for(url)
    store = IndexStore(engine)
    assert not store.in_bulk_load()
    assert _indexes(engine) == _declared()
    assert all(_declared()[table] for table in ("assets", "holdings", "events"))
    rows = dump(engine)
    for _ in range(2):
        store.begin_bulk_load()
        assert store.in_bulk_load()
        assert store.meta()[META_BULK] == "1"
        assert _indexes(engine) == {table.name: set() for table in schema.DERIVED}
        assert dump(engine) == rows
        store.end_bulk_load()
        assert not store.in_bulk_load()
        assert store.meta()[META_BULK] == "0"
        assert _indexes(engine) == _declared()
        assert dump(engine) == rows


def test_a_run_restarted_mid_load_finishes_it(world: World, new_database: NewDatabase) -> None:
    url = new_database("index")
    first = world.register(world.alice)
    index(world.w3, world.deployment, url)
    engine = engine_for(url)
    IndexStore(engine).begin_bulk_load()  # then the process died
    assert IndexStore(engine).in_bulk_load()  # the flag is in the database: a restart sees it
    world.alice.registry.transfer(first, world.bob.address)
    world.chain.mine(TEST_CONFIG.finality_depth + 1)
    index(world.w3, world.deployment, url)
    store = IndexStore(engine)
    assert not store.in_bulk_load()
    assert _indexes(engine) == _declared()
    fresh = new_database("fresh")
    index(world.w3, world.deployment, fresh)
    assert differences(url, fresh) == {}
    with engine.connect() as conn:
        assert queries.holder_at(conn, asset_hex(first), world.w3.eth.block_number) == (
            world.bob.address.lower()
        )


def test_a_bulk_loaded_index_tells_its_time_from_its_last_event(
    world: World, new_database: NewDatabase
) -> None:
    url = new_database("index")
    world.register(world.alice)
    last_event = world.w3.eth.get_block("latest")
    world.chain.mine(3)
    head = world.w3.eth.get_block("latest")
    assert head["timestamp"] > last_event["timestamp"]
    # finality depth 0: every block is final, so the whole run is one bulk catch-up, which
    # stores no block headers
    index(world.w3, world.deployment, url, config=replace(TEST_CONFIG, finality_depth=0))
    engine = engine_for(url)
    assert IndexStore(engine).window() == []
    assert not IndexStore(engine).in_bulk_load()
    assert _indexes(engine) == _declared()
    with engine.connect() as conn:
        position = queries.index_position(conn)
        assert position is not None
        assert (position.indexed_block, position.head_block) == (head["number"], head["number"])
        assert queries.indexed_time(conn, position) == last_event["timestamp"]
    # indexed near the head, the window holds the head's header, and its time is the answer
    near = new_database("near")
    index(world.w3, world.deployment, near)
    with engine_for(near).connect() as conn:
        assert queries.indexed_time(conn, queries.index_position(conn)) == head["timestamp"]


def _wal_after_each_batch(world: World, path: Path) -> list[int]:
    """Index the chain into the SQLite file ``path`` as one bulk catch-up of one block a batch;
    the WAL's length after each batch."""
    wal = Path(f"{path}-wal")
    lengths: list[int] = []
    config = replace(TEST_CONFIG, finality_depth=0, initial_range=1, max_range=1)
    scanner = Scanner(
        source_of(world.w3),
        IndexStore(engine_for(str(path))),
        world.deployment,
        config=config,
        on_batch=lambda _: lengths.append(wal.stat().st_size if wal.exists() else 0),
    )
    scanner.run(once=True, wait_for_lock=False)
    return lengths


def test_a_bulk_load_empties_its_wal_once_past_the_limit(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        world.register(world.alice)
    unbounded = _wal_after_each_batch(world, tmp_path / "unbounded.sqlite")
    assert len(unbounded) > 3
    assert max(unbounded) > 0  # the WAL holds the batches
    monkeypatch.setattr(index_module, "WAL_LIMIT_BYTES", 0)  # every batch finds it too long
    bounded = _wal_after_each_batch(world, tmp_path / "bounded.sqlite")
    assert len(bounded) == len(unbounded)
    assert bounded == [0] * len(bounded)
    assert differences(str(tmp_path / "bounded.sqlite"), str(tmp_path / "unbounded.sqlite")) == {}
