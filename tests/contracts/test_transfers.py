"""Transfers: ERC-721 moves and approvals, the registry's rules, and the cross-border rules.

A transfer first checks the caller's ERC-721 authorisation, then the registry's rules: the
status (rejected and cancelled assets cannot move), the restrictions (frozen, under
objection), both participants (active), and across jurisdictions the grade rule (grade 1 free,
grade 2 needs an export permit that the transfer consumes, grade 3 refused).
"""

from __future__ import annotations

import pytest

from helpers.assertions import reverts
from helpers.builders import doc
from helpers.world import World
from provledger.chain.client import Provledger
from provledger.chain.enums import AssetStatus, ParticipantStatus, Ruling
from provledger.chain.events import (
    Approval,
    ApprovalForAll,
    DisputeOpened,
    ExportPermitUsed,
    ObjectionLodged,
    Transfer,
)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ONE_HOUR = 3600


def moved(asset: int, source: Provledger, target: Provledger) -> Transfer:
    """The ERC-721 Transfer event of ``asset`` from ``source`` to ``target``."""
    return Transfer(from_=source.address, to=target.address, token_id=asset)


def grade_two_asset(world: World) -> int:
    """A grade 2 (important) asset held by alice (CN)."""
    return world.register(world.alice, grade=2)


# ---------------------------------------------------------------- same jurisdiction


@pytest.mark.parametrize("grade", [1, 2, 3])
def test_same_jurisdiction_transfer_of_each_grade(world: World, grade: int) -> None:
    asset = world.register(world.alice, grade=grade)
    assert world.alice.registry.balance_of(world.alice.address) == 1
    assert world.alice.registry.balance_of(world.bob.address) == 0

    receipt = world.alice.registry.transfer(asset, world.bob.address)

    assert receipt.events == (moved(asset, world.alice, world.bob),)
    assert world.alice.registry.holder_of(asset) == world.bob.address
    assert world.alice.registry.balance_of(world.alice.address) == 0
    assert world.alice.registry.balance_of(world.bob.address) == 1
    state = world.alice.registry.asset(asset)
    assert state is not None
    assert state.holder == world.bob.address
    assert state.registrant == world.alice.address  # the registrant never changes
    assert state.grade == grade


@pytest.mark.parametrize(
    ("reach", "status"),
    [("noticed", AssetStatus.NOTICED), ("certified", AssetStatus.CERTIFIED)],
    ids=["noticed", "certified"],
)
def test_transfer_after_notice_and_certificate(
    world: World, reach: str, status: AssetStatus
) -> None:
    asset = world.register(world.alice)
    if reach == "noticed":
        world.notice(asset)
    else:
        world.certify(asset)

    receipt = world.alice.registry.transfer(asset, world.bob.address)

    assert receipt.events == (moved(asset, world.alice, world.bob),)
    state = world.alice.registry.asset(asset)
    assert state is not None
    assert state.holder == world.bob.address
    assert state.status is status  # a transfer does not touch the status


# ---------------------------------------------------------------- approvals


def test_approved_account_can_transfer(world: World) -> None:
    asset = world.register(world.alice)
    approval = world.alice.registry.approve(world.relayer.address, asset)
    assert approval.events == (
        Approval(owner=world.alice.address, approved=world.relayer.address, token_id=asset),
    )
    assert world.alice.registry._call("getApproved", asset) == world.relayer.address

    receipt = world.relayer.registry.transfer(asset, world.bob.address)

    assert receipt.events == (moved(asset, world.alice, world.bob),)
    assert world.alice.registry.holder_of(asset) == world.bob.address
    # the approval of one asset is cleared when it moves
    assert world.alice.registry._call("getApproved", asset) == ZERO_ADDRESS


def test_operator_approved_for_all_can_safe_transfer(world: World) -> None:
    asset = world.register(world.alice)
    approval = world.alice.registry._send("setApprovalForAll", world.relayer.address, True)
    assert approval.events == (
        ApprovalForAll(owner=world.alice.address, operator=world.relayer.address, approved=True),
    )

    receipt = world.relayer.registry._send(
        "safeTransferFrom", world.alice.address, world.bob.address, asset
    )

    assert receipt.events == (moved(asset, world.alice, world.bob),)
    assert world.alice.registry.holder_of(asset) == world.bob.address
    # the operator stays approved by alice, not by bob
    assert world.alice.registry._call(
        "isApprovedForAll", world.alice.address, world.relayer.address
    )
    assert not world.alice.registry._call(
        "isApprovedForAll", world.bob.address, world.relayer.address
    )


@pytest.mark.parametrize("caller", ["stranger", "bob", "registrar"])
def test_unauthorised_caller_is_refused(world: World, caller: str) -> None:
    asset = world.register(world.alice)
    mover: Provledger = getattr(world, caller)

    with reverts("ERC721InsufficientApproval", operator=mover.address, tokenId=asset):
        mover.registry.transfer(asset, world.bob.address)

    assert world.alice.registry.holder_of(asset) == world.alice.address


def test_approval_is_checked_before_the_registry_rules(world: World) -> None:
    """A stranger moving a frozen asset to a non-participant learns only that it may not."""
    asset = world.register(world.alice)
    world.arbiter.court.freeze(
        world.bob.court.open(asset, doc("evidence")).event(DisputeOpened).dispute_id
    )

    with reverts("ERC721InsufficientApproval", operator=world.stranger.address, tokenId=asset):
        world.stranger.registry.transfer(asset, world.relayer.address)
    # the holder itself meets the registry's rule
    with reverts("AssetFrozen", assetId=asset):
        world.alice.registry.transfer(asset, world.bob.address)


def test_safe_transfer_checks_approval_first(world: World) -> None:
    asset = world.register(world.alice)
    world.alice.registry.cancel(asset, doc("withdrawn"))

    with reverts("ERC721InsufficientApproval", operator=world.stranger.address, tokenId=asset):
        world.stranger.registry._send(
            "safeTransferFrom", world.alice.address, world.bob.address, asset
        )


# ---------------------------------------------------------------- status and restrictions


@pytest.mark.parametrize(
    "status", [AssetStatus.REJECTED, AssetStatus.CANCELLED], ids=["rejected", "cancelled"]
)
def test_rejected_or_cancelled_asset_cannot_move(world: World, status: AssetStatus) -> None:
    asset = world.register(world.alice)
    if status is AssetStatus.REJECTED:
        world.registrar.office.reject(asset, doc("incomplete application"))
    else:
        world.alice.registry.cancel(asset, doc("withdrawn"))

    with reverts("AssetNotTransferable", assetId=asset, status=status):
        world.alice.registry.transfer(asset, world.bob.address)

    assert world.alice.registry.holder_of(asset) == world.alice.address


def test_frozen_asset_cannot_move_until_the_dispute_is_dismissed(world: World) -> None:
    asset = world.register(world.alice)
    dispute_id = world.bob.court.open(asset, doc("evidence")).event(DisputeOpened).dispute_id
    world.arbiter.court.freeze(dispute_id)

    with reverts("AssetFrozen", assetId=asset):
        world.alice.registry.transfer(asset, world.bob.address)

    world.arbiter.court.rule(dispute_id, Ruling.DISMISS, doc("ruling"))
    receipt = world.alice.registry.transfer(asset, world.bob.address)
    assert receipt.events == (moved(asset, world.alice, world.bob),)


def test_asset_under_objection_cannot_move_until_resolved(world: World) -> None:
    asset = world.register(world.alice)
    world.notice(asset)
    objection_id = (
        world.stranger.office.object(asset, doc("grounds")).event(ObjectionLodged).objection_id
    )

    with reverts("AssetUnderObjection", assetId=asset):
        world.alice.registry.transfer(asset, world.bob.address)

    world.registrar.office.resolve_objection(objection_id, False, doc("dismissed"))
    receipt = world.alice.registry.transfer(asset, world.bob.address)
    assert receipt.events == (moved(asset, world.alice, world.bob),)


# ---------------------------------------------------------------- participants


def test_suspended_sender_cannot_transfer(world: World) -> None:
    asset = world.register(world.alice)
    world.registrar.registry.suspend_participant(world.alice.address, doc("suspended"))

    with reverts(
        "ParticipantNotActive", account=world.alice.address, status=ParticipantStatus.SUSPENDED
    ):
        world.alice.registry.transfer(asset, world.bob.address)


def test_suspended_recipient_cannot_receive(world: World) -> None:
    asset = world.register(world.alice)
    world.registrar.registry.suspend_participant(world.bob.address, doc("suspended"))

    with reverts(
        "ParticipantNotActive", account=world.bob.address, status=ParticipantStatus.SUSPENDED
    ):
        world.alice.registry.transfer(asset, world.bob.address)


def test_non_participant_cannot_receive(world: World) -> None:
    asset = world.register(world.alice)

    with reverts(
        "ParticipantNotActive", account=world.stranger.address, status=ParticipantStatus.NONE
    ):
        world.alice.registry.transfer(asset, world.stranger.address)


def test_reinstated_recipient_can_receive(world: World) -> None:
    asset = world.register(world.alice)
    world.registrar.registry.suspend_participant(world.bob.address, doc("suspended"))
    world.registrar.registry.reinstate_participant(world.bob.address)

    receipt = world.alice.registry.transfer(asset, world.bob.address)

    assert receipt.events == (moved(asset, world.alice, world.bob),)


# ---------------------------------------------------------------- across jurisdictions


def test_general_data_crosses_borders_freely(world: World) -> None:
    asset = world.register(world.alice, grade=1)

    receipt = world.alice.registry.transfer(asset, world.carol.address)  # CN -> HK

    assert receipt.events == (moved(asset, world.alice, world.carol),)
    assert world.alice.registry.holder_of(asset) == world.carol.address


@pytest.mark.parametrize("recipient", ["carol", "dave"])
def test_core_data_may_not_leave_its_jurisdiction(world: World, recipient: str) -> None:
    asset = world.register(world.alice, grade=3)
    target: Provledger = getattr(world, recipient)
    destination = world.alice.registry.participant(target.address).jurisdiction.encode()

    with reverts(
        "CrossBorderTransferProhibited",
        assetId=asset,
        grade=3,
        fromJurisdiction=b"CN",
        toJurisdiction=destination,
    ):
        world.alice.registry.transfer(asset, target.address)


def test_core_data_may_not_leave_even_by_ruling(world: World) -> None:
    """A ruling lifts the freeze, not the cross-border rule (see transferByRuling)."""
    asset = world.register(world.alice, grade=3)
    dispute_id = world.carol.court.open(asset, doc("evidence")).event(DisputeOpened).dispute_id
    world.arbiter.court.freeze(dispute_id)

    with reverts(
        "CrossBorderTransferProhibited",
        assetId=asset,
        grade=3,
        fromJurisdiction=b"CN",
        toJurisdiction=b"HK",
    ):
        world.arbiter.court.rule(dispute_id, Ruling.TRANSFER_TO_CLAIMANT, doc("ruling"))


def test_important_data_needs_an_export_permit(world: World) -> None:
    asset = grade_two_asset(world)

    with reverts("ExportPermitMissing", assetId=asset, recipient=world.dave.address):
        world.alice.registry.transfer(asset, world.dave.address)  # CN -> US


def test_export_permit_allows_the_transfer_and_is_consumed(world: World) -> None:
    asset = grade_two_asset(world)
    expires_at = world.now() + ONE_HOUR
    world.exporter.export.issue_permit(asset, world.dave.address, expires_at)

    receipt = world.alice.registry.transfer(asset, world.dave.address)

    # the permit is consumed inside the transfer, before the token moves
    assert receipt.events == (
        ExportPermitUsed(asset_id=asset, recipient=world.dave.address, from_=world.alice.address),
        moved(asset, world.alice, world.dave),
    )
    assert world.alice.registry.holder_of(asset) == world.dave.address
    permit = world.alice.export.permit(asset, world.dave.address)
    assert permit is not None
    assert permit.used
    assert not permit.revoked
    assert permit.expires_at == expires_at


def test_export_permit_is_single_use(world: World) -> None:
    asset = grade_two_asset(world)
    expires_at = world.now() + ONE_HOUR
    world.exporter.export.issue_permit(asset, world.dave.address, expires_at)
    world.alice.registry.transfer(asset, world.dave.address)

    # back from US to CN is an export too: it needs a permit for alice
    with reverts("ExportPermitMissing", assetId=asset, recipient=world.alice.address):
        world.dave.registry.transfer(asset, world.alice.address)
    world.exporter.export.issue_permit(asset, world.alice.address, expires_at)
    back = world.dave.registry.transfer(asset, world.alice.address)
    assert back.events == (
        ExportPermitUsed(asset_id=asset, recipient=world.alice.address, from_=world.dave.address),
        moved(asset, world.dave, world.alice),
    )

    # dave's permit was used by the first transfer: a second one needs a new permit
    with reverts("ExportPermitMissing", assetId=asset, recipient=world.dave.address):
        world.alice.registry.transfer(asset, world.dave.address)
    world.exporter.export.issue_permit(asset, world.dave.address, expires_at)
    again = world.alice.registry.transfer(asset, world.dave.address)
    assert again.events == (
        ExportPermitUsed(asset_id=asset, recipient=world.dave.address, from_=world.alice.address),
        moved(asset, world.alice, world.dave),
    )


def test_expired_export_permit_is_refused(world: World) -> None:
    asset = grade_two_asset(world)
    expires_at = world.now() + ONE_HOUR
    world.exporter.export.issue_permit(asset, world.dave.address, expires_at)
    world.chain.advance(2 * ONE_HOUR)

    with reverts(
        "ExportPermitExpired",
        assetId=asset,
        recipient=world.dave.address,
        expiresAt=expires_at,
    ):
        world.alice.registry.transfer(asset, world.dave.address)

    permit = world.alice.export.permit(asset, world.dave.address)
    assert permit is not None
    assert not permit.used


def test_permit_for_another_recipient_or_asset_does_not_help(world: World) -> None:
    asset = grade_two_asset(world)
    other = grade_two_asset(world)
    expires_at = world.now() + ONE_HOUR
    world.exporter.export.issue_permit(asset, world.carol.address, expires_at)  # another recipient
    world.exporter.export.issue_permit(other, world.dave.address, expires_at)  # another asset

    with reverts("ExportPermitMissing", assetId=asset, recipient=world.dave.address):
        world.alice.registry.transfer(asset, world.dave.address)

    # the permit for carol still works for carol
    receipt = world.alice.registry.transfer(asset, world.carol.address)
    assert receipt.events == (
        ExportPermitUsed(asset_id=asset, recipient=world.carol.address, from_=world.alice.address),
        moved(asset, world.alice, world.carol),
    )


def test_important_data_moves_freely_within_its_jurisdiction(world: World) -> None:
    asset = grade_two_asset(world)
    receipt = world.alice.registry.transfer(asset, world.erin.address)  # CN -> CN, no permit

    assert receipt.events == (moved(asset, world.alice, world.erin),)


# ExportPermitDestinationMismatch (IExportControl.consumePermit) refuses a permit issued for a
# jurisdiction other than the recipient's current one. The permit stores the recipient's
# jurisdiction when issued, and participants cannot change jurisdiction in this design (there
# is no function for it and a participant cannot be registered twice), so the check is
# defence in depth that no sequence of calls can reach; it is deliberately not tested here.
