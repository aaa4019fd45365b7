"""Reorgs on anvil: the index follows the new branch exactly, whatever the abandoned one did.

Snapshot, mine ``depth`` blocks with events (among them a transfer that only the abandoned
branch has), index, revert to the snapshot, mine a different branch, index again: the store
equals a fresh index of the chain as it now is.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpers.builders import doc
from helpers.indexing import differences, index
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.chain.serialize import asset_hex
from provledger.indexer.scanner import IndexerConfig
from provledger.store import schema

#: A window deep enough for the deepest reorg tested.
REORG_CONFIG = IndexerConfig(confirmations=2, finality_depth=32, initial_range=8)


def _holder_in_index(url: str, asset: int) -> str:
    with engine_for(url).connect() as conn:
        return str(
            conn.execute(
                select(schema.assets.c.holder).where(schema.assets.c.asset_id == asset_hex(asset))
            ).scalar_one()
        )


def _holders_in_index(url: str, asset: int) -> list[str]:
    with engine_for(url).connect() as conn:
        return [
            row.holder
            for row in conn.execute(
                select(schema.holdings.c.holder)
                .where(schema.holdings.c.asset_id == asset_hex(asset))
                .order_by(schema.holdings.c.from_block, schema.holdings.c.from_log)
            )
        ]


def _mine_to(world: World, target: int) -> None:
    head = world.w3.eth.block_number
    if target > head:
        world.chain.mine(target - head)


@pytest.mark.anvil
@pytest.mark.parametrize(("depth", "new_length"), [(1, 2), (5, 7), (20, 22), (5, 3), (4, 4)])
def test_reorg_is_rolled_back_and_replayed(
    anvil_world: World, new_database: NewDatabase, depth: int, new_length: int
) -> None:
    world = anvil_world
    url = new_database("reorg")
    moved = world.register(world.alice)
    index(world.w3, world.deployment, url, REORG_CONFIG)
    fork_base = world.w3.eth.block_number
    snapshot = world.chain.snapshot()

    # The abandoned branch: the asset moves to bob, a new asset appears, a metadata revision.
    world.alice.registry.transfer(moved, world.bob.address)
    if depth > 1:
        orphan = world.register(world.carol)
        world.carol.registry.update_metadata(orphan, "ipfs://orphan-v2", doc("orphan v2"))
    _mine_to(world, fork_base + depth)
    assert world.w3.eth.block_number == fork_base + depth
    index(world.w3, world.deployment, url, REORG_CONFIG)
    assert _holder_in_index(url, moved) == world.bob.address.lower()

    # The new branch: the asset goes to dave (abroad, grade 1) instead; other registrations.
    world.chain.revert(snapshot)
    assert world.w3.eth.block_number == fork_base
    world.alice.registry.transfer(moved, world.carol.address)
    if new_length > 1:
        world.register(world.dave)
    _mine_to(world, fork_base + new_length)
    summary = index(world.w3, world.deployment, url, REORG_CONFIG)

    assert summary.reorgs == 1
    assert _holder_in_index(url, moved) == world.carol.address.lower()
    assert _holders_in_index(url, moved) == [
        world.alice.address.lower(),
        world.carol.address.lower(),
    ]
    fresh = new_database("fresh")
    index(world.w3, world.deployment, fresh, REORG_CONFIG)
    assert differences(url, fresh) == {}
