"""An index built step by step equals a fresh index of the same chain, and equals the chain.

Runs on both chain backends and both store backends. The small test window (finality depth 8)
puts the later steps in the unfinalized window, so undo images are written there too.
"""

from __future__ import annotations

from sqlalchemy import select

from helpers.indexing import differences, index
from helpers.scenarios import provenance_scenario
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.chain.serialize import asset_hex
from provledger.store import schema
from provledger.store.index import IndexStore


def test_incremental_index_equals_fresh_index_and_the_chain(
    world: World, new_database: NewDatabase
) -> None:
    incremental = new_database("incremental")
    steps = 0

    def step() -> None:
        nonlocal steps
        index(world.w3, world.deployment, incremental)
        steps += 1

    assets = provenance_scenario(world, step)
    fresh = new_database("fresh")
    summary = index(world.w3, world.deployment, fresh)
    chain_logs = world.w3.eth.get_logs(
        {"fromBlock": world.deployment.block_number, "address": list(world.deployment.addresses)}
    )
    assert summary.events == len(chain_logs)
    assert differences(incremental, fresh) == {}
    assert steps == 9

    with engine_for(incremental).connect() as conn:
        rows = {row.asset_id: row for row in conn.execute(select(schema.assets))}
        for label, asset in assets.items():
            state = world.admin.registry.asset(asset)
            assert state is not None, label
            row = rows[asset_hex(asset)]
            assert row.holder == state.holder.lower(), label
            assert row.registrant == state.registrant.lower(), label
            assert row.status == state.status.name, label
            assert row.frozen == state.frozen, label
            assert row.under_objection == state.under_objection, label
            assert row.metadata_version == state.metadata_version, label
            assert row.metadata_hash == "0x" + state.metadata_hash.hex(), label
            assert row.registered_at == state.registered_at, label
        assert len(rows) == len(set(rows))
    counts = IndexStore(engine_for(incremental)).counts()
    assert counts["events"] == summary.events
    assert counts["licenses"] == 1
    assert counts["appraisals"] == 2
    assert counts["disputes"] == 1
    assert counts["batches"] == 1
