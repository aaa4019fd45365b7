"""The working set (:mod:`provledger.store.workingset`) over an index the real indexer built:
reads by key, replaced rows flushed as inserts and updates, the undo images of the unfinalized
window, and the blind updates of the catch-up."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest
from sqlalchemy import Connection, select

from helpers.indexing import index
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.chain.serialize import asset_hex
from provledger.store import schema
from provledger.store.workingset import StoreConsistencyError, WorkingSet, primary_key

assets, holdings = schema.assets, schema.holdings

#: The working set does not need a second chain backend: the session's eth-tester World.
pytestmark = pytest.mark.parametrize("backend", ["ethtester"], indirect=True)


@dataclass(frozen=True)
class Indexed:
    """An open transaction on an index of alice's asset (registered, then given to bob)."""

    conn: Connection
    key: str
    registered: int
    """The registration's block."""
    transferred: int
    """The transfer's block: the row's ``block_number``."""


@pytest.fixture
def indexed(world: World, new_database: NewDatabase) -> Iterator[Indexed]:
    url = new_database("index")
    asset = world.register(world.alice)
    registered = world.w3.eth.block_number
    world.alice.registry.transfer(asset, world.bob.address)
    transferred = world.w3.eth.block_number
    index(world.w3, world.deployment, url)
    with engine_for(url).connect() as conn, conn.begin():
        yield Indexed(conn, asset_hex(asset), registered, transferred)


def _stored(conn: Connection, key: str) -> dict[str, object]:
    row = conn.execute(select(assets).where(assets.c.asset_id == key)).mappings().one()
    return {str(name): value for name, value in row.items()}


def _holdings(conn: Connection, key: str) -> list[dict[str, object]]:
    query = select(holdings).where(holdings.c.asset_id == key).order_by(holdings.c.from_block)
    return [
        {str(name): value for name, value in row.items()} for row in conn.execute(query).mappings()
    ]


def test_rows_are_read_by_key_and_flushed_as_changed(indexed: Indexed) -> None:
    conn, key = indexed.conn, indexed.key
    before = _stored(conn, key)
    assert before["block_number"] == indexed.transferred
    window = indexed.transferred + 1
    ws = WorkingSet(conn, undo_from_block=window)
    assert ws.get(assets, (key,)) == before
    assert ws.get(assets, ("0x" + "00" * 32,)) is None
    # below the window: changed, no image
    ws.block = window - 1
    ws.update(assets, (key,), grade=7)
    # in the window: one image per row and block, of the row as it was before that block
    ws.block = window
    ws.update(assets, (key,), status="REJECTED")
    ws.update(assets, (key,), under_objection=True)
    after_first = {
        **before,
        "grade": 7,
        "status": "REJECTED",
        "under_objection": True,
        "block_number": window,
    }
    assert ws.get(assets, (key,)) == after_first
    ws.block = window + 1
    ws.update(assets, (key,), frozen=True)
    period = {**_holdings(conn, key)[-1], "from_block": window + 1, "block_number": window + 1}
    ws.create(holdings, period)
    unchanged = ws.get(holdings, primary_key(holdings, _holdings(conn, key)[0]))
    assert unchanged is not None
    ws.put(holdings, dict(unchanged))  # the same values: imaged, but nothing to write
    assert ws.flush() == 2  # the asset's update and the new period's insert
    assert _stored(conn, key) == {**after_first, "frozen": True, "block_number": window + 1}
    assert _holdings(conn, key)[-1] == period
    assert len(_holdings(conn, key)) == 3

    def image(row: dict[str, object] | None) -> str | None:
        return None if row is None else orjson.dumps(row).decode()

    assert ws.undo_rows == [
        {
            "block_number": window,
            "table_name": "assets",
            "row_key": orjson.dumps([key]).decode(),
            "image": image({**before, "grade": 7, "block_number": window - 1}),
        },
        {
            "block_number": window + 1,
            "table_name": "assets",
            "row_key": orjson.dumps([key]).decode(),
            "image": image(after_first),
        },
        {
            "block_number": window + 1,
            "table_name": "holdings",
            "row_key": orjson.dumps(list(primary_key(holdings, period))).decode(),
            "image": None,
        },
        {
            "block_number": window + 1,
            "table_name": "holdings",
            "row_key": orjson.dumps(list(primary_key(holdings, unchanged))).decode(),
            "image": image(dict(unchanged)),
        },
    ]


def test_updates_of_missing_rows_are_refused(indexed: Indexed) -> None:
    missing = ("0x" + "00" * 32,)
    ws = WorkingSet(indexed.conn, undo_from_block=None)
    with pytest.raises(KeyError, match="assets has no row"):
        ws.update(assets, missing, frozen=True)
    with pytest.raises(ValueError, match="blind working sets"):
        ws.update_where(holdings, {"asset_id": indexed.key}, to_block=1)
    with pytest.raises(ValueError, match="pre-images"):
        WorkingSet(indexed.conn, undo_from_block=0, blind=True)


def test_blind_updates_write_only_their_columns(indexed: Indexed) -> None:
    conn, key = indexed.conn, indexed.key
    before = _stored(conn, key)
    periods = _holdings(conn, key)
    ws = WorkingSet(conn, undo_from_block=None, blind=True)
    ws.block = indexed.transferred + 5
    ws.update(assets, (key,), frozen=True)
    assert ws.known(assets, (key,)) == {"frozen": True, "block_number": indexed.transferred + 5}
    ws.update_where(holdings, {"asset_id": key, "to_block": None}, to_block=99, to_log=0)
    assert ws.flush() == 2
    assert ws.undo_rows == []
    assert _stored(conn, key) == {**before, "frozen": True, "block_number": indexed.transferred + 5}
    assert _holdings(conn, key) == [
        periods[0],
        {**periods[1], "to_block": 99, "to_log": 0, "block_number": indexed.transferred + 5},
    ]
    # a read merges what a blind update set into the stored row
    again = WorkingSet(conn, undo_from_block=None, blind=True)
    again.block = indexed.transferred + 6
    again.update(assets, (key,), grade=4)
    row = again.get(assets, (key,))
    assert row is not None
    assert (row["grade"], row["frozen"], row["block_number"]) == (
        4,
        True,
        indexed.transferred + 6,
    )
    # a blind update that finds no row means the index is not contiguous
    lost = WorkingSet(conn, undo_from_block=None, blind=True)
    lost.update(assets, ("0x" + "00" * 32,), frozen=True)
    with pytest.raises(StoreConsistencyError, match="matched 0 rows"):
        lost.flush()


def test_markers_are_taken_once(indexed: Indexed) -> None:
    ws = WorkingSet(indexed.conn, undo_from_block=None)
    ws.set_marker(("approved", 1))
    assert ws.take_marker(("approved", 1))
    assert not ws.take_marker(("approved", 1))
