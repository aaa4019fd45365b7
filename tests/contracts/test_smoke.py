"""A first end-to-end check of the World on both backends."""

from __future__ import annotations

from helpers.assertions import reverts
from helpers.builders import registration
from helpers.world import World
from provledger.chain.enums import AssetStatus
from provledger.chain.events import AssetRegistered


def test_register_then_duplicate(world: World) -> None:
    item = registration()
    receipt = world.alice.registry.register(item)
    asset = receipt.event(AssetRegistered).asset_id
    state = world.alice.registry.asset(asset)
    assert state is not None
    assert state.status is AssetStatus.APPLIED
    assert state.holder == world.alice.address
    with reverts(
        "AssetAlreadyRegistered",
        assetId=asset,
        contentHash=item.content_hash,
        registrant=world.alice.address,
    ):
        world.bob.registry.register(item)
