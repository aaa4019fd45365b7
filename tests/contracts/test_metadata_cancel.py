"""Holder actions: metadata revisions and cancellation.

The holder revises the metadata URI and hash (each revision an event with a version number)
and may cancel the asset; neither works on a rejected, cancelled or frozen asset. A cancelled
asset keeps its record but can no longer move.
"""

from __future__ import annotations

import dataclasses
from typing import Final

import pytest

from helpers.assertions import reverts
from helpers.builders import doc, registration, sha256, unique_content
from helpers.world import World
from provledger.chain.enums import AssetStatus
from provledger.chain.events import (
    AssetRestrictionsChanged,
    AssetStatusChanged,
    DisputeFrozen,
    MetadataUpdated,
)
from provledger.chain.ids import asset_id
from provledger.chain.types import AssetState

ZERO_HASH: Final = b"\x00" * 32


def state_of(world: World, asset: int) -> AssetState:
    """The asset's record, which must exist."""
    state = world.alice.registry.asset(asset)
    assert state is not None
    return state


def freeze(world: World, asset: int) -> None:
    """Open a dispute over ``asset`` and have the arbiter freeze it."""
    world.stranger.court.open(asset, doc("e"))
    receipt = world.arbiter.court.freeze(1)
    assert receipt.event(DisputeFrozen).asset_id == asset
    assert receipt.event(AssetRestrictionsChanged) == AssetRestrictionsChanged(
        asset_id=asset, under_objection=False, frozen=True
    )


# ---------------------------------------------------------------- updateMetadata


def test_update_metadata_bumps_the_version(world: World) -> None:
    alice = world.alice
    asset = world.register(alice)
    registered = state_of(world, asset)

    for version in (2, 3):
        uri = f"https://meta.example/{asset}/v{version}.json"
        metadata_hash = sha256(f"metadata v{version}")

        receipt = alice.registry.update_metadata(asset, uri, metadata_hash)

        assert receipt.events == (
            MetadataUpdated(
                asset_id=asset,
                version=version,
                metadata_hash=metadata_hash,
                metadata_uri=uri,
                holder=alice.address,
            ),
        )
        assert state_of(world, asset) == dataclasses.replace(
            registered, metadata_version=version, metadata_hash=metadata_hash
        )
        functions = alice.registry.contract.functions
        assert bytes(functions.metadataHashOf(asset).call()) == metadata_hash


def test_update_metadata_may_repeat_the_same_document(world: World) -> None:
    item = registration()
    asset = world.register(world.alice, item)
    receipt = world.alice.registry.update_metadata(asset, item.metadata_uri, item.metadata_hash)
    assert receipt.event(MetadataUpdated).version == 2
    assert state_of(world, asset).metadata_hash == item.metadata_hash


def test_update_metadata_by_the_new_holder_after_a_transfer(world: World) -> None:
    asset = world.register(world.alice)
    world.alice.registry.transfer(asset, world.bob.address)
    uri, metadata_hash = "ipfs://bafynew/meta.json", sha256("bob's metadata")

    receipt = world.bob.registry.update_metadata(asset, uri, metadata_hash)

    assert receipt.events == (
        MetadataUpdated(
            asset_id=asset,
            version=2,
            metadata_hash=metadata_hash,
            metadata_uri=uri,
            holder=world.bob.address,
        ),
    )
    with reverts(
        "NotAssetHolder", assetId=asset, caller=world.alice.address, holder=world.bob.address
    ):
        world.alice.registry.update_metadata(asset, "ipfs://old", sha256("old"))


@pytest.mark.parametrize("who", ["bob", "stranger", "registrar"])
def test_update_metadata_needs_the_holder(world: World, who: str) -> None:
    asset = world.register(world.alice)
    caller = getattr(world, who)
    with reverts(
        "NotAssetHolder", assetId=asset, caller=caller.address, holder=world.alice.address
    ):
        caller.registry.update_metadata(asset, "ipfs://x", sha256("x"))
    assert state_of(world, asset).metadata_version == 1


def test_an_approved_operator_is_not_the_holder(world: World) -> None:
    asset = world.register(world.alice)
    world.alice.registry.approve(world.bob.address, asset)
    with reverts(
        "NotAssetHolder", assetId=asset, caller=world.bob.address, holder=world.alice.address
    ):
        world.bob.registry.update_metadata(asset, "ipfs://x", sha256("x"))
    with reverts(
        "NotAssetHolder", assetId=asset, caller=world.bob.address, holder=world.alice.address
    ):
        world.bob.registry.cancel(asset, doc("x"))


def test_update_metadata_refuses_an_empty_uri(world: World) -> None:
    item = registration()
    asset = world.register(world.alice, item)
    with reverts("EmptyMetadataURI"):
        world.alice.registry.update_metadata(asset, "", sha256("x"))
    assert state_of(world, asset).metadata_version == 1
    assert state_of(world, asset).metadata_hash == item.metadata_hash


def test_update_metadata_refuses_a_zero_hash(world: World) -> None:
    item = registration()
    asset = world.register(world.alice, item)
    with reverts("ZeroMetadataHash"):
        world.alice.registry.update_metadata(asset, "ipfs://x", ZERO_HASH)
    assert state_of(world, asset).metadata_version == 1
    assert state_of(world, asset).metadata_hash == item.metadata_hash


def test_holder_actions_refuse_an_unknown_asset(world: World) -> None:
    unknown = asset_id(unique_content())
    with reverts("UnknownAsset", assetId=unknown):
        world.alice.registry.update_metadata(unknown, "ipfs://x", sha256("x"))
    with reverts("UnknownAsset", assetId=unknown):
        world.alice.registry.cancel(unknown, doc("x"))


def test_holder_actions_refuse_a_rejected_asset(world: World) -> None:
    asset = world.register(world.alice)
    world.registrar.office.reject(asset, doc("x"))
    with reverts("AssetNotModifiable", assetId=asset, status=AssetStatus.REJECTED):
        world.alice.registry.update_metadata(asset, "ipfs://x", sha256("x"))
    with reverts("AssetNotModifiable", assetId=asset, status=AssetStatus.REJECTED):
        world.alice.registry.cancel(asset, doc("x"))
    assert state_of(world, asset).status is AssetStatus.REJECTED


def test_holder_actions_refuse_a_frozen_asset(world: World) -> None:
    asset = world.register(world.alice)
    freeze(world, asset)
    assert state_of(world, asset).frozen
    with reverts("AssetFrozen", assetId=asset):
        world.alice.registry.update_metadata(asset, "ipfs://x", sha256("x"))
    with reverts("AssetFrozen", assetId=asset):
        world.alice.registry.cancel(asset, doc("x"))
    assert state_of(world, asset).status is AssetStatus.APPLIED
    assert state_of(world, asset).metadata_version == 1


def test_metadata_may_change_while_under_objection(world: World) -> None:
    asset = world.register(world.alice)
    world.notice(asset)
    world.stranger.office.object(asset, doc("grounds"))
    assert state_of(world, asset).under_objection
    receipt = world.alice.registry.update_metadata(asset, "ipfs://answer", sha256("answer"))
    assert receipt.event(MetadataUpdated).version == 2


def test_holder_actions_stop_while_paused(world: World) -> None:
    asset = world.register(world.alice)
    world.admin.registry.pause()
    with reverts("EnforcedPause"):
        world.alice.registry.update_metadata(asset, "ipfs://x", sha256("x"))
    with reverts("EnforcedPause"):
        world.alice.registry.cancel(asset, doc("x"))


# ---------------------------------------------------------------- cancel


def test_cancel_records_and_emits(world: World) -> None:
    asset = world.register(world.alice)
    before = state_of(world, asset)
    reason = doc("withdrawn by the holder")

    receipt = world.alice.registry.cancel(asset, reason)

    assert receipt.events == (
        AssetStatusChanged(
            asset_id=asset,
            previous_status=AssetStatus.APPLIED,
            new_status=AssetStatus.CANCELLED,
            reason_hash=reason,
            actor=world.alice.address,
        ),
    )
    # the record stays, with its holder
    assert state_of(world, asset) == dataclasses.replace(before, status=AssetStatus.CANCELLED)
    assert world.alice.registry.balance_of(world.alice.address) == 1


def test_cancel_a_certified_asset(world: World) -> None:
    asset = world.register(world.alice)
    world.certify(asset)
    receipt = world.alice.registry.cancel(asset, doc("retired"))
    assert receipt.event(AssetStatusChanged) == AssetStatusChanged(
        asset_id=asset,
        previous_status=AssetStatus.CERTIFIED,
        new_status=AssetStatus.CANCELLED,
        reason_hash=doc("retired"),
        actor=world.alice.address,
    )


def test_cancel_a_noticed_asset(world: World) -> None:
    asset = world.register(world.alice)
    world.notice(asset)
    receipt = world.alice.registry.cancel(asset, ZERO_HASH)
    assert receipt.event(AssetStatusChanged) == AssetStatusChanged(
        asset_id=asset,
        previous_status=AssetStatus.NOTICED,
        new_status=AssetStatus.CANCELLED,
        reason_hash=ZERO_HASH,
        actor=world.alice.address,
    )


@pytest.mark.parametrize("who", ["bob", "stranger", "arbiter"])
def test_cancel_needs_the_holder(world: World, who: str) -> None:
    asset = world.register(world.alice)
    caller = getattr(world, who)
    with reverts(
        "NotAssetHolder", assetId=asset, caller=caller.address, holder=world.alice.address
    ):
        caller.registry.cancel(asset, doc("x"))
    assert state_of(world, asset).status is AssetStatus.APPLIED


def test_cancelled_asset_cannot_move_or_change(world: World) -> None:
    asset = world.register(world.alice)
    world.alice.registry.cancel(asset, doc("withdrawn"))
    with reverts("AssetNotTransferable", assetId=asset, status=AssetStatus.CANCELLED):
        world.alice.registry.transfer(asset, world.bob.address)
    with reverts("AssetNotModifiable", assetId=asset, status=AssetStatus.CANCELLED):
        world.alice.registry.cancel(asset, doc("again"))
    with reverts("AssetNotModifiable", assetId=asset, status=AssetStatus.CANCELLED):
        world.alice.registry.update_metadata(asset, "ipfs://x", sha256("x"))
    assert world.alice.registry.holder_of(asset) == world.alice.address


def test_cancelled_asset_cannot_move_through_an_approval(world: World) -> None:
    asset = world.register(world.alice)
    world.alice.registry.approve(world.bob.address, asset)
    world.alice.registry.cancel(asset, doc("withdrawn"))
    with reverts("AssetNotTransferable", assetId=asset, status=AssetStatus.CANCELLED):
        world.bob.registry.transfer(asset, world.bob.address)
    assert world.alice.registry.holder_of(asset) == world.alice.address
