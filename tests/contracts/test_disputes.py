"""DisputeCourt: disputes opened by anyone, freezes and rulings by arbiters."""

from __future__ import annotations

from typing import Final

from helpers.assertions import reverts
from helpers.builders import doc, sha256
from helpers.world import World
from provledger.chain.client import Provledger
from provledger.chain.enums import AssetStatus, DisputeStatus, ParticipantStatus, Ruling
from provledger.chain.events import (
    AssetRestrictionsChanged,
    AssetStatusChanged,
    DisputeFrozen,
    DisputeOpened,
    DisputeRuled,
    Transfer,
)
from provledger.chain.ids import asset_id, role_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import AssetState, DisputeState

ZERO_HASH: Final = b"\x00" * 32
#: An asset id nobody registered.
UNKNOWN_ASSET: Final = asset_id(sha256("content never registered (disputes)"))


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that mined ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


def state_of(world: World, asset: int) -> AssetState:
    """The registry's record of a registered asset."""
    state = world.alice.registry.asset(asset)
    assert state is not None
    return state


def frozen_dispute(world: World, claimant: Provledger) -> tuple[int, int]:
    """A fresh asset of alice, disputed by ``claimant`` and frozen: ``(asset, dispute)``."""
    asset = world.register(world.alice)
    dispute = claimant.court.open(asset, doc("evidence")).event(DisputeOpened).dispute_id
    world.arbiter.court.freeze(dispute)
    return asset, dispute


# ---------------------------------------------------------------- open


def test_anyone_opens_a_dispute(world: World) -> None:
    court = world.stranger.court
    asset = world.register(world.alice)
    evidence = doc("stolen dataset evidence")
    assert court.dispute_count() == 0

    receipt = court.open(asset, evidence)

    assert receipt.events == (
        DisputeOpened(
            dispute_id=1, asset_id=asset, claimant=world.stranger.address, evidence_hash=evidence
        ),
    )
    assert court.dispute(1) == DisputeState(
        dispute_id=1,
        asset_id=asset,
        claimant=world.stranger.address,
        opened_at=block_time(world, receipt),
        status=DisputeStatus.OPEN,
        ruling=Ruling.NONE,
        evidence_hash=evidence,
        ruling_hash=ZERO_HASH,
    )
    assert court.dispute_count() == 1
    assert court.freeze_count(asset) == 0
    assert state_of(world, asset).frozen is False
    assert court.dispute(2).asset_id == 0


def test_open_rejects_zero_evidence_and_unknown_or_cancelled_assets(world: World) -> None:
    court = world.bob.court
    asset = world.register(world.alice)
    world.alice.registry.cancel(asset, doc("withdrawn"))

    with reverts("ZeroDocumentHash"):
        court.open(asset, ZERO_HASH)
    with reverts("UnknownAsset", assetId=UNKNOWN_ASSET):
        court.open(UNKNOWN_ASSET, doc("evidence"))
    with reverts("AssetNotModifiable", assetId=asset, status=AssetStatus.CANCELLED):
        court.open(asset, doc("evidence"))
    assert court.dispute_count() == 0


# ---------------------------------------------------------------- freeze


def test_arbiter_freezes_the_asset(world: World) -> None:
    court = world.arbiter.court
    asset = world.register(world.alice)
    world.bob.court.open(asset, doc("evidence"))

    receipt = court.freeze(1)

    assert receipt.events == (
        DisputeFrozen(dispute_id=1, asset_id=asset, arbiter=world.arbiter.address),
        AssetRestrictionsChanged(asset_id=asset, under_objection=False, frozen=True),
    )
    assert court.freeze_count(asset) == 1
    assert court.dispute(1).status is DisputeStatus.FROZEN
    assert state_of(world, asset).frozen is True
    with reverts("AssetFrozen", assetId=asset):
        world.alice.registry.transfer(asset, world.erin.address)
    with reverts("AssetFrozen", assetId=asset):
        world.alice.registry.update_metadata(asset, "ipfs://bafynew/metadata.json", doc("m2"))
    with reverts("AssetFrozen", assetId=asset):
        world.alice.registry.cancel(asset, doc("withdrawn"))
    state = state_of(world, asset)
    assert (state.holder, state.status, state.metadata_version) == (
        world.alice.address,
        AssetStatus.APPLIED,
        1,
    )

    with reverts("DisputeAlreadyFrozen", disputeId=1):
        court.freeze(1)
    with reverts("UnknownDispute", disputeId=2):
        court.freeze(2)
    with reverts("UnknownDispute", disputeId=0):
        court.rule(0, Ruling.DISMISS, doc("ruling"))
    with reverts("UnknownDispute", disputeId=2):
        court.rule(2, Ruling.DISMISS, doc("ruling"))


def test_only_arbiters_freeze_and_rule(world: World) -> None:
    asset = world.register(world.alice)
    world.bob.court.open(asset, doc("evidence"))
    arbiter_role = role_id("ARBITER_ROLE")

    with reverts(
        "AccessControlUnauthorizedAccount", account=world.bob.address, neededRole=arbiter_role
    ):
        world.bob.court.freeze(1)
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=world.registrar.address,
        neededRole=arbiter_role,
    ):
        world.registrar.court.rule(1, Ruling.DISMISS, doc("ruling"))


def test_restrictions_report_objection_and_freeze_together(world: World) -> None:
    asset = world.register(world.alice)
    world.registrar.office.accept(asset)
    world.carol.office.object(asset, doc("grounds"))
    world.bob.court.open(asset, doc("evidence"))

    frozen = world.arbiter.court.freeze(1)
    assert frozen.event(AssetRestrictionsChanged) == AssetRestrictionsChanged(
        asset_id=asset, under_objection=True, frozen=True
    )

    ruled = world.arbiter.court.rule(1, Ruling.DISMISS, doc("dismissed"))
    assert ruled.event(AssetRestrictionsChanged) == AssetRestrictionsChanged(
        asset_id=asset, under_objection=True, frozen=False
    )
    state = state_of(world, asset)
    assert (state.under_objection, state.frozen) == (True, False)


# ---------------------------------------------------------------- rule: guards


def test_rule_requires_a_frozen_dispute_and_valid_arguments(world: World) -> None:
    court = world.arbiter.court
    asset = world.register(world.alice)
    world.bob.court.open(asset, doc("evidence"))

    with reverts("DisputeNotFrozen", disputeId=1):
        court.rule(1, Ruling.DISMISS, doc("ruling"))

    court.freeze(1)
    with reverts("InvalidRuling", ruling=0):
        court.rule(1, Ruling.NONE, doc("ruling"))
    with reverts("InvalidRuling", ruling=4):
        court.rule(1, 4, doc("ruling"))
    with reverts("ZeroDocumentHash"):
        court.rule(1, Ruling.DISMISS, ZERO_HASH)
    assert court.dispute(1).status is DisputeStatus.FROZEN
    assert court.freeze_count(asset) == 1


# ---------------------------------------------------------------- rulings


def test_dismissal_lifts_the_freeze(world: World) -> None:
    court = world.arbiter.court
    asset, dispute = frozen_dispute(world, world.bob)
    opened = court.dispute(dispute)
    ruling_hash = doc("claim dismissed")

    receipt = court.rule(dispute, Ruling.DISMISS, ruling_hash)

    assert receipt.events == (
        DisputeRuled(
            dispute_id=dispute,
            asset_id=asset,
            ruling=Ruling.DISMISS,
            ruling_hash=ruling_hash,
            arbiter=world.arbiter.address,
        ),
        AssetRestrictionsChanged(asset_id=asset, under_objection=False, frozen=False),
    )
    assert court.dispute(dispute) == DisputeState(
        dispute_id=dispute,
        asset_id=asset,
        claimant=world.bob.address,
        opened_at=opened.opened_at,
        status=DisputeStatus.RULED,
        ruling=Ruling.DISMISS,
        evidence_hash=doc("evidence"),
        ruling_hash=ruling_hash,
    )
    assert court.freeze_count(asset) == 0
    state = state_of(world, asset)
    assert state.frozen is False
    assert state.status is AssetStatus.APPLIED

    with reverts("DisputeClosed", disputeId=dispute):
        court.freeze(dispute)
    with reverts("DisputeClosed", disputeId=dispute):
        court.rule(dispute, Ruling.CANCEL_ASSET, doc("again"))

    moved = world.alice.registry.transfer(asset, world.erin.address)
    assert moved.event(Transfer) == Transfer(
        from_=world.alice.address, to=world.erin.address, token_id=asset
    )
    assert world.alice.registry.holder_of(asset) == world.erin.address


def test_ruling_transfers_the_frozen_asset_to_the_claimant(world: World) -> None:
    court = world.arbiter.court
    asset, dispute = frozen_dispute(world, world.bob)
    ruling_hash = doc("bob is the rightful holder")

    receipt = court.rule(dispute, Ruling.TRANSFER_TO_CLAIMANT, ruling_hash)

    assert receipt.events == (
        DisputeRuled(
            dispute_id=dispute,
            asset_id=asset,
            ruling=Ruling.TRANSFER_TO_CLAIMANT,
            ruling_hash=ruling_hash,
            arbiter=world.arbiter.address,
        ),
        AssetRestrictionsChanged(asset_id=asset, under_objection=False, frozen=False),
        Transfer(from_=world.alice.address, to=world.bob.address, token_id=asset),
    )
    assert world.alice.registry.holder_of(asset) == world.bob.address
    assert court.dispute(dispute).status is DisputeStatus.RULED
    assert court.dispute(dispute).ruling is Ruling.TRANSFER_TO_CLAIMANT
    assert court.freeze_count(asset) == 0
    state = state_of(world, asset)
    assert state.frozen is False
    assert state.registrant == world.alice.address


def test_transfer_to_a_claimant_who_is_no_participant_reverts(world: World) -> None:
    court = world.arbiter.court
    asset, dispute = frozen_dispute(world, world.stranger)

    with reverts(
        "ParticipantNotActive", account=world.stranger.address, status=ParticipantStatus.NONE
    ):
        court.rule(dispute, Ruling.TRANSFER_TO_CLAIMANT, doc("ruling"))

    assert world.alice.registry.holder_of(asset) == world.alice.address
    assert court.dispute(dispute).status is DisputeStatus.FROZEN
    assert court.freeze_count(asset) == 1
    assert state_of(world, asset).frozen is True


def test_ruling_cancels_the_asset(world: World) -> None:
    court = world.arbiter.court
    asset, dispute = frozen_dispute(world, world.carol)
    ruling_hash = doc("registration was fraudulent")

    receipt = court.rule(dispute, Ruling.CANCEL_ASSET, ruling_hash)

    assert receipt.events == (
        DisputeRuled(
            dispute_id=dispute,
            asset_id=asset,
            ruling=Ruling.CANCEL_ASSET,
            ruling_hash=ruling_hash,
            arbiter=world.arbiter.address,
        ),
        AssetRestrictionsChanged(asset_id=asset, under_objection=False, frozen=False),
        AssetStatusChanged(
            asset_id=asset,
            previous_status=AssetStatus.APPLIED,
            new_status=AssetStatus.CANCELLED,
            reason_hash=ruling_hash,
            actor=world.arbiter.address,
        ),
    )
    state = state_of(world, asset)
    assert state.status is AssetStatus.CANCELLED
    assert state.frozen is False
    assert state.holder == world.alice.address
    assert court.dispute(dispute).ruling is Ruling.CANCEL_ASSET

    with reverts("AssetNotTransferable", assetId=asset, status=AssetStatus.CANCELLED):
        world.alice.registry.transfer(asset, world.erin.address)
    with reverts("AssetNotModifiable", assetId=asset, status=AssetStatus.CANCELLED):
        world.bob.court.open(asset, doc("more evidence"))


def test_the_asset_stays_frozen_until_every_dispute_is_ruled(world: World) -> None:
    court = world.arbiter.court
    asset = world.register(world.alice)
    world.bob.court.open(asset, doc("bob's evidence"))
    world.carol.court.open(asset, doc("carol's evidence"))
    court.freeze(1)

    second_freeze = court.freeze(2)

    assert second_freeze.events == (
        DisputeFrozen(dispute_id=2, asset_id=asset, arbiter=world.arbiter.address),
    )
    assert court.freeze_count(asset) == 2

    first_ruling = court.rule(1, Ruling.DISMISS, doc("dismissed"))

    assert first_ruling.events == (
        DisputeRuled(
            dispute_id=1,
            asset_id=asset,
            ruling=Ruling.DISMISS,
            ruling_hash=doc("dismissed"),
            arbiter=world.arbiter.address,
        ),
    )
    assert court.freeze_count(asset) == 1
    assert state_of(world, asset).frozen is True
    with reverts("AssetFrozen", assetId=asset):
        world.alice.registry.transfer(asset, world.erin.address)

    last_ruling = court.rule(2, Ruling.DISMISS, doc("dismissed too"))

    assert last_ruling.events == (
        DisputeRuled(
            dispute_id=2,
            asset_id=asset,
            ruling=Ruling.DISMISS,
            ruling_hash=doc("dismissed too"),
            arbiter=world.arbiter.address,
        ),
        AssetRestrictionsChanged(asset_id=asset, under_objection=False, frozen=False),
    )
    assert court.freeze_count(asset) == 0
    assert state_of(world, asset).frozen is False
    assert court.dispute_count() == 2
