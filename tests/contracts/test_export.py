"""Export permits: issue, replace, revoke, and who may consume them.

A permit exists for grade 2 data only, names one asset and one active recipient, records the
recipient's jurisdiction as its destination, and is consumed by the one transfer it allows.
"""

from __future__ import annotations

import pytest

from helpers.assertions import reverts
from helpers.builders import doc, unique_content
from helpers.world import World
from provledger.chain.client import Provledger
from provledger.chain.connection import is_embedded
from provledger.chain.enums import ParticipantStatus
from provledger.chain.events import ExportPermitIssued, ExportPermitRevoked, Transfer
from provledger.chain.ids import asset_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import ExportPermitState

ONE_DAY = 24 * 3600


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that included ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


def estimate_time(world: World) -> int:
    """``block.timestamp`` as a reverted write sees it: writes revert at gas estimation.

    eth-tester estimates in the pending block (latest + 1 second); anvil in the latest block.
    """
    return world.now() + (1 if is_embedded(world.w3) else 0)


def grade_two_asset(world: World) -> int:
    """A grade 2 (important) asset held by alice (CN)."""
    return world.register(world.alice, grade=2)


@pytest.mark.parametrize(("recipient", "jurisdiction"), [("carol", "HK"), ("dave", "US")])
def test_issue_permit(world: World, recipient: str, jurisdiction: str) -> None:
    asset = grade_two_asset(world)
    target: Provledger = getattr(world, recipient)
    expires_at = world.now() + ONE_DAY

    receipt = world.exporter.export.issue_permit(asset, target.address, expires_at)

    assert receipt.events == (
        ExportPermitIssued(
            asset_id=asset,
            recipient=target.address,
            destination=jurisdiction.encode(),
            expires_at=expires_at,
            approver=world.exporter.address,
        ),
    )
    assert world.stranger.export.permit(asset, target.address) == ExportPermitState(
        destination=jurisdiction,
        issued_at=block_time(world, receipt),
        expires_at=expires_at,
        used=False,
        revoked=False,
        approver=world.exporter.address,
    )
    # a permit names one recipient
    assert world.stranger.export.permit(asset, world.bob.address) is None


def test_reissuing_replaces_the_permit(world: World) -> None:
    asset = grade_two_asset(world)
    second_approver = world.actor(12)
    world.admin.registry.grant_role("EXPORT_APPROVER_ROLE", second_approver.address)
    first_expiry = world.now() + ONE_DAY
    world.exporter.export.issue_permit(asset, world.dave.address, first_expiry)
    world.exporter.export.revoke_permit(asset, world.dave.address)
    world.chain.advance(60)
    later_expiry = first_expiry + 7 * ONE_DAY

    receipt = second_approver.export.issue_permit(asset, world.dave.address, later_expiry)

    assert receipt.events == (
        ExportPermitIssued(
            asset_id=asset,
            recipient=world.dave.address,
            destination=b"US",
            expires_at=later_expiry,
            approver=second_approver.address,
        ),
    )
    # every field is replaced: the revocation of the old permit is gone with it
    assert world.stranger.export.permit(asset, world.dave.address) == ExportPermitState(
        destination="US",
        issued_at=block_time(world, receipt),
        expires_at=later_expiry,
        used=False,
        revoked=False,
        approver=second_approver.address,
    )
    moved = world.alice.registry.transfer(asset, world.dave.address)
    assert moved.event(Transfer) == Transfer(
        from_=world.alice.address, to=world.dave.address, token_id=asset
    )


def test_reissuing_after_use_allows_another_transfer(world: World) -> None:
    asset = grade_two_asset(world)
    expires_at = world.now() + ONE_DAY
    world.exporter.export.issue_permit(asset, world.carol.address, expires_at)
    world.alice.registry.transfer(asset, world.carol.address)
    used = world.stranger.export.permit(asset, world.carol.address)
    assert used is not None
    assert used.used

    receipt = world.exporter.export.issue_permit(asset, world.carol.address, expires_at)

    replaced = world.stranger.export.permit(asset, world.carol.address)
    assert replaced == ExportPermitState(
        destination="HK",
        issued_at=block_time(world, receipt),
        expires_at=expires_at,
        used=False,
        revoked=False,
        approver=world.exporter.address,
    )


@pytest.mark.parametrize("grade", [1, 3])
def test_permit_not_applicable_to_general_or_core_data(world: World, grade: int) -> None:
    asset = world.register(world.alice, grade=grade)

    with reverts("ExportPermitNotApplicable", assetId=asset, grade=grade):
        world.exporter.export.issue_permit(asset, world.dave.address, world.now() + ONE_DAY)


def test_permit_for_unknown_asset(world: World) -> None:
    unknown = asset_id(unique_content())

    with reverts("UnknownAsset", assetId=unknown):
        world.exporter.export.issue_permit(unknown, world.dave.address, world.now() + ONE_DAY)


def test_permit_for_non_participant_recipient(world: World) -> None:
    asset = grade_two_asset(world)

    with reverts(
        "ParticipantNotActive", account=world.stranger.address, status=ParticipantStatus.NONE
    ):
        world.exporter.export.issue_permit(asset, world.stranger.address, world.now() + ONE_DAY)


def test_permit_for_suspended_recipient(world: World) -> None:
    asset = grade_two_asset(world)
    world.registrar.registry.suspend_participant(world.dave.address, doc("suspended"))

    with reverts(
        "ParticipantNotActive", account=world.dave.address, status=ParticipantStatus.SUSPENDED
    ):
        world.exporter.export.issue_permit(asset, world.dave.address, world.now() + ONE_DAY)


@pytest.mark.parametrize("offset", [-ONE_DAY, 0], ids=["past", "now"])
def test_permit_expiry_must_be_in_the_future(world: World, offset: int) -> None:
    asset = grade_two_asset(world)
    now = estimate_time(world)
    expires_at = now + offset

    with reverts("PermitExpiryInPast", expiresAt=expires_at, timestamp=now):
        world.exporter.export.issue_permit(asset, world.dave.address, expires_at)

    assert world.stranger.export.permit(asset, world.dave.address) is None


def test_revoke_permit(world: World) -> None:
    asset = grade_two_asset(world)
    expires_at = world.now() + ONE_DAY
    issued = world.exporter.export.issue_permit(asset, world.dave.address, expires_at)

    receipt = world.exporter.export.revoke_permit(asset, world.dave.address)

    assert receipt.events == (
        ExportPermitRevoked(
            asset_id=asset, recipient=world.dave.address, approver=world.exporter.address
        ),
    )
    assert world.stranger.export.permit(asset, world.dave.address) == ExportPermitState(
        destination="US",
        issued_at=block_time(world, issued),
        expires_at=expires_at,
        used=False,
        revoked=True,
        approver=world.exporter.address,
    )
    with reverts("ExportPermitMissing", assetId=asset, recipient=world.dave.address):
        world.alice.registry.transfer(asset, world.dave.address)


@pytest.mark.parametrize("state", ["missing", "used", "revoked"])
def test_revoking_a_permit_that_is_not_usable(world: World, state: str) -> None:
    asset = grade_two_asset(world)
    if state != "missing":
        world.exporter.export.issue_permit(asset, world.dave.address, world.now() + ONE_DAY)
    if state == "used":
        world.alice.registry.transfer(asset, world.dave.address)
    if state == "revoked":
        world.exporter.export.revoke_permit(asset, world.dave.address)

    with reverts("ExportPermitMissing", assetId=asset, recipient=world.dave.address):
        world.exporter.export.revoke_permit(asset, world.dave.address)


@pytest.mark.parametrize("caller", ["stranger", "exporter", "admin", "alice"])
def test_only_the_registry_consumes_permits(world: World, caller: str) -> None:
    asset = grade_two_asset(world)
    world.exporter.export.issue_permit(asset, world.dave.address, world.now() + ONE_DAY)
    consumer: Provledger = getattr(world, caller)

    with reverts("CallerNotRegistry", caller=consumer.address):
        consumer.export._send(
            "consumePermit", asset, world.alice.address, world.dave.address, b"US"
        )

    permit = world.stranger.export.permit(asset, world.dave.address)
    assert permit is not None
    assert not permit.used
