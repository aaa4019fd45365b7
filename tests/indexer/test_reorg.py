"""Reorgs on anvil and on Hardhat's node: the index follows the new branch exactly, whatever
the abandoned one did.

Snapshot, mine ``depth`` blocks with events (among them a transfer that only the abandoned
branch has), index, revert to the snapshot, mine a different branch, index again: the store
equals a fresh index of the chain as it now is.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import select

from helpers.builders import doc
from helpers.indexing import differences, index, source_of
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.chain.serialize import asset_hex
from provledger.indexer.decoding import RawLog
from provledger.indexer.scanner import IndexerConfig
from provledger.indexer.source import LogSource
from provledger.store import schema
from provledger.store.records import BlockHeader

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


NODES = [
    pytest.param("anvil", marks=pytest.mark.anvil, id="anvil"),
    pytest.param("hardhat", marks=pytest.mark.hardhat, id="hardhat"),
]


@pytest.fixture(params=NODES)
def node_world(request: pytest.FixtureRequest) -> World:
    """The World of a node that can reorg (snapshot and revert): anvil, then Hardhat."""
    world: World = request.getfixturevalue(f"{request.param}_world")
    return world


def _mine_to(world: World, target: int) -> None:
    head = world.w3.eth.block_number
    if target > head:
        world.chain.mine(target - head)


@pytest.mark.parametrize(("depth", "new_length"), [(1, 2), (5, 7), (20, 22), (5, 3), (4, 4)])
def test_reorg_is_rolled_back_and_replayed(
    node_world: World, new_database: NewDatabase, depth: int, new_length: int
) -> None:
    world = node_world
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


class StaleParent:
    """A node that serves block ``number`` once naming ``parent`` as its parent although the
    block before it is now another, then as it is: a node answering from its old tip for a
    moment (anvil reverting to a snapshot while its interval miner seals a block, seen in the
    soak), or an endpoint that balances over two nodes, one of them behind."""

    def __init__(self, inner: LogSource, number: int, parent: str) -> None:
        self.inner, self.number, self.parent = inner, number, parent
        self.served = False

    def chain_id(self) -> int:
        return self.inner.chain_id()

    def head(self) -> int:
        return self.inner.head()

    def logs(self, addresses: Sequence[str], start: int, end: int) -> list[RawLog]:
        return self.inner.logs(addresses, start, end)

    def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]:
        found = self.inner.headers(numbers)
        if self.number in found and not self.served:
            found[self.number] = found[self.number]._replace(parent_hash=self.parent)
            self.served = True
        return found


def test_a_block_linked_to_an_abandoned_tip_does_not_hide_the_reorg(
    node_world: World, new_database: NewDatabase
) -> None:
    """The abandoned branch registered an asset; the new branch registers it again two blocks
    later, in a block that names the abandoned tip as its parent. The index notices that its
    tip is no longer the chain's block of that number, rolls back and replays, instead of
    writing the asset twice (the soak's UNIQUE constraint failure)."""
    world = node_world
    url = new_database("stale-parent")
    world.register(world.alice)
    index(world.w3, world.deployment, url, REORG_CONFIG)
    fork_base = world.w3.eth.block_number
    snapshot = world.chain.snapshot()
    content = b"registered on both branches".ljust(32, b".")
    again = world.register(world.bob, content_hash=content)
    _mine_to(world, fork_base + 2)
    index(world.w3, world.deployment, url, REORG_CONFIG)
    abandoned_tip = world.w3.eth.get_block(fork_base + 2)["hash"].to_0x_hex()

    world.chain.revert(snapshot)
    world.chain.mine(2)
    assert world.register(world.bob, content_hash=content) == again
    stale = StaleParent(source_of(world.w3), fork_base + 3, abandoned_tip)
    summary = index(world.w3, world.deployment, url, REORG_CONFIG, source=stale)

    assert summary.reorgs == 1
    with engine_for(url).connect() as conn:
        registered = conn.execute(
            select(schema.assets.c.registered_block).where(
                schema.assets.c.asset_id == asset_hex(again)
            )
        ).scalar_one()
    assert registered == fork_base + 3
    fresh = new_database("stale-parent-fresh")
    index(world.w3, world.deployment, fresh, REORG_CONFIG)
    assert differences(url, fresh) == {}
