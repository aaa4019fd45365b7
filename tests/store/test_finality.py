"""Finality at chosen heads: which record is pending, safe or final, exactly.

A record's finality is the depth of its block below the head the indexer last saw: *final*
from ``finality_depth`` blocks down, *safe* from ``confirmations`` down, *pending* above
(:meth:`provledger.services.provenance.Provenance._finality_at`). Each test fixes the head by
mining empty blocks, indexes with the real indexer, and states the finality of records on both
sides of each threshold (the test window: confirmations 2, finality depth 8).
"""

from __future__ import annotations

from typing import Final

import pytest

from helpers.indexing import TEST_CONFIG, index
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.chain.events import DECODERS
from provledger.services.provenance import Provenance
from provledger.services.views import Finality
from provledger.store.queries import AssetFilter

CONFIRMATIONS: Final = TEST_CONFIG.confirmations
FINALITY_DEPTH: Final = TEST_CONFIG.finality_depth

#: Depth below the head -> the finality a record of that block has: both sides of each threshold.
AT_DEPTH: Final = {
    0: Finality.PENDING,
    CONFIRMATIONS - 1: Finality.PENDING,
    CONFIRMATIONS: Finality.SAFE,
    FINALITY_DEPTH - 1: Finality.SAFE,
    FINALITY_DEPTH: Finality.FINAL,
    FINALITY_DEPTH + 1: Finality.FINAL,
}


def test_the_test_window_has_room_on_both_sides_of_each_threshold() -> None:
    assert (CONFIRMATIONS, FINALITY_DEPTH) == (2, 8)
    assert list(AT_DEPTH) == [0, 1, 2, 7, 8, 9]


def _provenance(url: str) -> Provenance:
    return Provenance(engine_for(url), confirmations=CONFIRMATIONS, finality_depth=FINALITY_DEPTH)


def _mine_to(world: World, head: int) -> None:
    now = world.w3.eth.block_number
    assert head >= now
    if head > now:
        world.chain.mine(head - now)
    assert world.w3.eth.block_number == head


def _event_names(world: World, block: int) -> list[str]:
    """The names of the deployment's events in ``block``, in log order."""
    logs = world.w3.eth.get_logs(
        {"fromBlock": block, "toBlock": block, "address": list(world.deployment.addresses)}
    )
    names = []
    for log in logs:
        topics = [bytes(topic) for topic in log["topics"]]
        names.append(type(DECODERS[topics[0]](topics, bytes(log["data"]))).NAME)
    return names


def test_one_record_grows_final_as_the_head_moves(world: World, new_database: NewDatabase) -> None:
    url = new_database("index")
    asset = world.register(world.alice)
    block = world.w3.eth.block_number  # the registration's block: eth-tester and anvil automine
    registration_events = _event_names(world, block)
    assert sorted(registration_events) == ["AssetRegistered", "Transfer"]
    provenance = _provenance(url)
    for depth, expected in AT_DEPTH.items():
        _mine_to(world, block + depth)
        index(world.w3, world.deployment, url)
        status = provenance.status()
        assert (status.head_block, status.indexed_block) == (block + depth, block + depth)
        seen = provenance.asset(asset)
        assert (seen.block_number, seen.finality) == (block, expected), depth
        history = provenance.history(asset, None, 10).items
        assert [(item.event, item.block_number, item.finality) for item in history] == [
            (name, block, expected) for name in registration_events
        ], depth
        holding = provenance.holders(asset, None, 10).items
        assert [(item.from_block, item.finality) for item in holding] == [(block, expected)]
    # Measured from the head the indexer saw: the chain moving on changes nothing until the
    # index catches up with it.
    url = new_database("behind")
    _mine_to(world, world.w3.eth.block_number + 1)
    later = world.register(world.carol)
    block = world.w3.eth.block_number
    _mine_to(world, block + CONFIRMATIONS - 1)
    index(world.w3, world.deployment, url)
    provenance = _provenance(url)
    assert provenance.asset(later).finality is Finality.PENDING
    _mine_to(world, block + FINALITY_DEPTH)
    assert provenance.asset(later).finality is Finality.PENDING
    assert provenance.history(later, None, 1).items[0].finality is Finality.PENDING
    index(world.w3, world.deployment, url)
    assert provenance.asset(later).finality is Finality.FINAL
    assert provenance.history(later, None, 1).items[0].finality is Finality.FINAL


#: The tests below read the same head through the same code on any chain: eth-tester suffices.
ethtester_only = pytest.mark.parametrize("backend", ["ethtester"], indirect=True)


@ethtester_only
def test_records_at_every_depth_under_one_head(world: World, new_database: NewDatabase) -> None:
    url = new_database("index")
    depths = sorted(AT_DEPTH, reverse=True)  # the deepest first: registered first
    head = world.w3.eth.block_number + 1 + depths[0]
    assets: dict[int, int] = {}
    for depth in depths:
        _mine_to(world, head - depth - 1)
        assets[depth] = world.register(world.bob)
        assert world.w3.eth.block_number == head - depth
    assert world.w3.eth.block_number == head
    index(world.w3, world.deployment, url)
    provenance = _provenance(url)
    by_id = {int(view.asset_id, 16): view for view in provenance.recent(len(depths))}
    listed = provenance.assets(AssetFilter(registrant=world.bob.address.lower()), None, 100).items
    assert len(listed) == len(depths)
    by_list = {int(view.asset_id, 16): view for view in listed}
    for depth, asset in assets.items():
        expected = (head - depth, AT_DEPTH[depth])
        assert (provenance.asset(asset).block_number, provenance.asset(asset).finality) == expected
        assert (by_id[asset].block_number, by_id[asset].finality) == expected, depth
        assert (by_list[asset].block_number, by_list[asset].finality) == expected, depth


@ethtester_only
def test_a_lineage_link_grows_final_as_the_head_moves(
    world: World, new_database: NewDatabase
) -> None:
    url = new_database("index")
    parent = world.register(world.alice)
    child = world.register_derived(world.alice, parent)
    block = world.w3.eth.block_number  # the child's registration, with its link
    provenance = _provenance(url)
    for depth, expected in AT_DEPTH.items():
        _mine_to(world, block + depth)
        index(world.w3, world.deployment, url)
        for root, direction in ((child, "up"), (parent, "down"), (child, "both")):
            lineage = provenance.lineage(root, depth=1, direction=direction)
            assert [
                (int(edge.child_id, 16), int(edge.parent_id, 16), edge.block_number, edge.finality)
                for edge in lineage.edges
            ] == [(child, parent, block, expected)], (depth, direction)


@ethtester_only
def test_the_settings_move_the_thresholds(world: World, new_database: NewDatabase) -> None:
    """Confirmations 3 and finality depth 5 over the same index: the depths 0 to 6."""
    confirmations, finality_depth = 3, 5
    url = new_database("index")
    asset = world.register(world.dave)
    block = world.w3.eth.block_number
    provenance = Provenance(
        engine_for(url), confirmations=confirmations, finality_depth=finality_depth
    )
    for depth in range(finality_depth + 2):
        _mine_to(world, block + depth)
        index(world.w3, world.deployment, url)
        if depth >= finality_depth:
            expected = Finality.FINAL
        elif depth >= confirmations:
            expected = Finality.SAFE
        else:
            expected = Finality.PENDING
        assert provenance.asset(asset).finality is expected, depth
