"""Participants and the published category list of the DataAssetRegistry.

An authority (REGISTRAR_ROLE) registers, suspends and reinstates participants; only active
participants register, send or receive assets. The admin keeps the category list.
"""

from __future__ import annotations

from typing import Final

import pytest

from helpers.assertions import reverts
from helpers.builders import DEFAULT_CATEGORY, doc, registration
from helpers.world import World
from provledger.categories import CATEGORIES
from provledger.chain.enums import ParticipantStatus
from provledger.chain.events import (
    AssetRegistered,
    CategoryListingChanged,
    ParticipantRegistered,
    ParticipantReinstated,
    ParticipantSuspended,
)
from provledger.chain.ids import role_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import ParticipantState

ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
ZERO_HASH: Final = b"\x00" * 32
UNLISTED_CATEGORY: Final = 999


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that mined ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


# ---------------------------------------------------------------- registerParticipant


def test_register_participant_records_and_emits(world: World) -> None:
    newcomer = world.actor(12)
    name_hash = doc("legal name of newcomer")
    assert world.registrar.registry.participant(newcomer.address).status is ParticipantStatus.NONE

    receipt = world.registrar.registry.register_participant(newcomer.address, "HK", name_hash)

    assert receipt.events == (
        ParticipantRegistered(
            account=newcomer.address,
            jurisdiction=b"HK",
            name_hash=name_hash,
            registrar=world.registrar.address,
        ),
    )
    assert world.registrar.registry.participant(newcomer.address) == ParticipantState(
        account=newcomer.address,
        jurisdiction="HK",
        status=ParticipantStatus.ACTIVE,
        registered_at=block_time(world, receipt),
        name_hash=name_hash,
    )
    # an active participant may register at once
    item = registration()
    registered = newcomer.registry.register(item).event(AssetRegistered)
    assert registered.registrant == newcomer.address


def test_world_participants_are_active_in_their_jurisdictions(world: World) -> None:
    expected = {
        world.alice: "CN",
        world.bob: "CN",
        world.carol: "HK",
        world.dave: "US",
        world.erin: "CN",
    }
    for actor, jurisdiction in expected.items():
        state = world.registrar.registry.participant(actor.address)
        assert state.jurisdiction == jurisdiction
        assert state.status is ParticipantStatus.ACTIVE
        assert state.registered_at > 0
        assert state.account == actor.address
    assert world.registrar.registry.participant(world.alice.address).name_hash == doc(
        "legal name of alice"
    )


@pytest.mark.parametrize("who", ["stranger", "relayer"])
def test_unknown_account_has_an_empty_record(world: World, who: str) -> None:
    account = getattr(world, who).address
    assert world.registrar.registry.participant(account) == ParticipantState(
        account=account,
        jurisdiction="",
        status=ParticipantStatus.NONE,
        registered_at=0,
        name_hash=ZERO_HASH,
    )


def test_register_participant_refuses_the_zero_address(world: World) -> None:
    with reverts("InvalidParticipant", account=ZERO_ADDRESS):
        world.registrar.registry.register_participant(ZERO_ADDRESS, "CN", doc("nobody"))


def test_register_participant_refuses_a_zero_jurisdiction(world: World) -> None:
    newcomer = world.actor(12).address
    with reverts("InvalidJurisdiction", jurisdiction=b"\x00\x00"):
        world.registrar.registry.register_participant(newcomer, "\x00\x00", doc("newcomer"))
    assert world.registrar.registry.participant(newcomer).status is ParticipantStatus.NONE


def test_register_participant_refuses_an_existing_participant(world: World) -> None:
    with reverts("ParticipantAlreadyRegistered", account=world.alice.address):
        world.registrar.registry.register_participant(world.alice.address, "HK", doc("again"))
    # a suspended participant is still a participant
    world.registrar.registry.suspend_participant(world.bob.address, doc("audit"))
    with reverts("ParticipantAlreadyRegistered", account=world.bob.address):
        world.registrar.registry.register_participant(world.bob.address, "CN", doc("again"))
    assert world.registrar.registry.participant(world.alice.address).jurisdiction == "CN"


def test_participant_administration_needs_the_registrar_role(world: World) -> None:
    registry = world.alice.registry
    needed = role_id("REGISTRAR_ROLE")
    with reverts(
        "AccessControlUnauthorizedAccount", account=world.alice.address, neededRole=needed
    ):
        registry.register_participant(world.actor(12).address, "CN", doc("newcomer"))
    with reverts(
        "AccessControlUnauthorizedAccount", account=world.alice.address, neededRole=needed
    ):
        registry.suspend_participant(world.bob.address, doc("reason"))
    world.registrar.registry.suspend_participant(world.bob.address, doc("reason"))
    with reverts(
        "AccessControlUnauthorizedAccount", account=world.alice.address, neededRole=needed
    ):
        registry.reinstate_participant(world.bob.address)


def test_participant_administration_stops_while_paused(world: World) -> None:
    world.admin.registry.pause()
    with reverts("EnforcedPause"):
        world.registrar.registry.register_participant(world.actor(12).address, "CN", doc("x"))
    with reverts("EnforcedPause"):
        world.registrar.registry.suspend_participant(world.alice.address, doc("x"))


# ---------------------------------------------------------------- suspend and reinstate


def test_suspend_participant_records_and_emits(world: World) -> None:
    before = world.registrar.registry.participant(world.alice.address)
    reason = doc("suspension order 7")

    receipt = world.registrar.registry.suspend_participant(world.alice.address, reason)

    assert receipt.events == (
        ParticipantSuspended(
            account=world.alice.address, reason_hash=reason, registrar=world.registrar.address
        ),
    )
    assert world.registrar.registry.participant(world.alice.address) == ParticipantState(
        account=world.alice.address,
        jurisdiction="CN",
        status=ParticipantStatus.SUSPENDED,
        registered_at=before.registered_at,
        name_hash=doc("legal name of alice"),
    )


def test_suspended_participant_cannot_register(world: World) -> None:
    world.registrar.registry.suspend_participant(world.alice.address, doc("audit"))
    item = registration()
    with reverts(
        "ParticipantNotActive", account=world.alice.address, status=ParticipantStatus.SUSPENDED
    ):
        world.alice.registry.register(item)
    assert world.alice.registry.asset_by_hash(item.content_hash) is None


def test_suspended_participant_cannot_send_or_receive(world: World) -> None:
    sent = world.register(world.alice)
    received = world.register(world.bob)
    world.registrar.registry.suspend_participant(world.bob.address, doc("audit"))
    with reverts(
        "ParticipantNotActive", account=world.bob.address, status=ParticipantStatus.SUSPENDED
    ):
        world.alice.registry.transfer(sent, world.bob.address)
    with reverts(
        "ParticipantNotActive", account=world.bob.address, status=ParticipantStatus.SUSPENDED
    ):
        world.bob.registry.transfer(received, world.alice.address)
    assert world.alice.registry.holder_of(sent) == world.alice.address
    assert world.alice.registry.holder_of(received) == world.bob.address


def test_suspend_refuses_an_account_that_is_not_active(world: World) -> None:
    with reverts(
        "ParticipantNotActive", account=world.stranger.address, status=ParticipantStatus.NONE
    ):
        world.registrar.registry.suspend_participant(world.stranger.address, doc("x"))
    world.registrar.registry.suspend_participant(world.alice.address, doc("first"))
    with reverts(
        "ParticipantNotActive", account=world.alice.address, status=ParticipantStatus.SUSPENDED
    ):
        world.registrar.registry.suspend_participant(world.alice.address, doc("second"))


def test_reinstate_participant_records_and_emits(world: World) -> None:
    before = world.registrar.registry.participant(world.alice.address)
    world.registrar.registry.suspend_participant(world.alice.address, doc("audit"))

    receipt = world.registrar.registry.reinstate_participant(world.alice.address)

    assert receipt.events == (
        ParticipantReinstated(account=world.alice.address, registrar=world.registrar.address),
    )
    assert world.registrar.registry.participant(world.alice.address) == before
    # active again: may register
    item = registration()
    assert world.alice.registry.register(item).event(AssetRegistered).registrant == (
        world.alice.address
    )


def test_reinstate_refuses_an_account_that_is_not_suspended(world: World) -> None:
    with reverts(
        "ParticipantNotSuspended", account=world.alice.address, status=ParticipantStatus.ACTIVE
    ):
        world.registrar.registry.reinstate_participant(world.alice.address)
    with reverts(
        "ParticipantNotSuspended", account=world.stranger.address, status=ParticipantStatus.NONE
    ):
        world.registrar.registry.reinstate_participant(world.stranger.address)


# ---------------------------------------------------------------- categories


def test_published_categories_are_listed(world: World) -> None:
    registry = world.admin.registry
    for code in CATEGORIES:
        assert registry.is_category_listed(code), code
    assert world.deployment.categories == tuple(sorted(CATEGORIES))
    assert not registry.is_category_listed(UNLISTED_CATEGORY)
    assert not registry.is_category_listed(0)


def test_set_category_listed_adds_and_removes(world: World) -> None:
    registry = world.admin.registry

    added = registry.set_category_listed(UNLISTED_CATEGORY, True)

    assert added.events == (
        CategoryListingChanged(category=UNLISTED_CATEGORY, listed=True, admin=world.admin.address),
    )
    assert registry.is_category_listed(UNLISTED_CATEGORY)
    world.register(world.alice, category=UNLISTED_CATEGORY)

    removed = registry.set_category_listed(UNLISTED_CATEGORY, False)

    assert removed.events == (
        CategoryListingChanged(category=UNLISTED_CATEGORY, listed=False, admin=world.admin.address),
    )
    assert not registry.is_category_listed(UNLISTED_CATEGORY)
    assert registry.is_category_listed(DEFAULT_CATEGORY)


def test_set_category_listed_refuses_code_zero(world: World) -> None:
    with reverts("InvalidCategory", category=0):
        world.admin.registry.set_category_listed(0, True)
    assert not world.admin.registry.is_category_listed(0)


def test_set_category_listed_needs_the_admin_role(world: World) -> None:
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=world.registrar.address,
        neededRole=role_id("DEFAULT_ADMIN_ROLE"),
    ):
        world.registrar.registry.set_category_listed(UNLISTED_CATEGORY, True)
    assert not world.admin.registry.is_category_listed(UNLISTED_CATEGORY)
