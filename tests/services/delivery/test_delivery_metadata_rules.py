"""Who may read an asset's committed metadata document, decided on a real anvil chain: the holder,
a registrar while the application is under review, an arbiter while a dispute over the asset is
open, and licensees under the data's rules. Each test asserts the whole decision."""

from __future__ import annotations

from dataclasses import replace

import pytest

from helpers.builders import doc
from helpers.world import NOTICE_PERIOD, World
from provledger.chain.client import Provledger
from provledger.chain.enums import AssetStatus, RegistrationType, Ruling
from provledger.chain.events import DisputeOpened
from provledger.services.delivery.rules import Decision, Facts, Refusal, decide_metadata_access
from services.delivery.test_delivery_rules import (
    allowed,
    facts,
    gateway,
    grant,
    holds,
    put_under_objection,
    refused,
    utc,
    valid_until,
)

pytestmark = pytest.mark.anvil


def decide(world: World, asset: int, requester: Provledger) -> Decision:
    return decide_metadata_access(gateway(world), asset, requester.address)


def on_duty(requester: Provledger, seen: Facts, basis: str, reason: str) -> Decision:
    """The decision allowing an authority on duty (``basis``: registrar or arbiter)."""
    return Decision(requester.address, seen, basis, None, None, reason)


def open_dispute(world: World, asset: int) -> int:
    """Carol opens a dispute over ``asset``; its id."""
    return world.carol.court.open(asset, doc("claim")).event(DisputeOpened).dispute_id


# ---------------------------------------------------------------- the holder and licensees


def test_the_holder_reads_its_document(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)

    assert decide(world, asset, world.alice) == allowed(
        world.alice, facts(world, asset, world.alice), holds(world.alice)
    )


def test_a_licensee_reads_it_under_the_datas_rules(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    licence = grant(world, asset, world.bob)

    assert decide(world, asset, world.bob) == allowed(
        world.bob, facts(world, asset, world.bob), valid_until(licence), licence
    )
    assert decide(world, asset, world.stranger) == refused(
        world.stranger,
        facts(world, asset, world.stranger),
        Refusal.NO_LICENCE,
        f"{world.stranger.address} holds no licence on the asset at {utc(world.now())}",
    )


def test_core_data_abroad_is_refused_as_the_data_is(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice, grade=3)
    grant(world, asset, world.carol)  # HK; alice is CN

    assert decide(world, asset, world.carol) == refused(
        world.carol,
        facts(world, asset, world.carol, grade=3),
        Refusal.CORE_DATA_ABROAD,
        "grade 3 (core) data may not leave CN for HK",
    )


# ---------------------------------------------------------------- the registrar


def test_the_registrar_reads_it_while_the_application_awaits_review(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    registrar = world.registrar

    assert decide(world, asset, registrar) == on_duty(
        registrar,
        facts(world, asset, registrar),
        "registrar",
        f"{registrar.address} is a registrar and the application awaits review",
    )


def test_the_registrar_reads_it_in_the_notice_whatever_restricts_the_asset(
    anvil_world: World,
) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    put_under_objection(world, asset)
    dispute = open_dispute(world, asset)
    world.arbiter.court.freeze(dispute)
    registrar = world.registrar

    assert decide(world, asset, registrar) == on_duty(
        registrar,
        facts(
            world,
            asset,
            registrar,
            status=AssetStatus.NOTICED,
            frozen=True,
            under_objection=True,
        ),
        "registrar",
        f"{registrar.address} is a registrar and the application is in its public notice",
    )


def test_the_registrar_is_refused_once_the_asset_is_certified(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    world.certify(asset)
    registrar = world.registrar

    assert decide(world, asset, registrar) == refused(
        registrar,
        facts(world, asset, registrar, status=AssetStatus.CERTIFIED),
        Refusal.NOT_REVIEWING,
        f"{registrar.address} is a registrar, but the asset is certified, not under review",
    )


def test_the_registrar_is_refused_once_the_application_is_rejected(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    world.registrar.office.reject(asset, doc("incomplete"))
    registrar = world.registrar

    assert decide(world, asset, registrar) == refused(
        registrar,
        facts(world, asset, registrar, status=AssetStatus.REJECTED),
        Refusal.NOT_REVIEWING,
        f"{registrar.address} is a registrar, but the asset is rejected, not under review",
    )


def test_a_registrar_off_duty_reads_it_as_a_licensee(anvil_world: World) -> None:
    world = anvil_world
    registrar = world.registrar
    registrar.registry.register_participant(registrar.address, "CN", doc("the registrar"))
    asset = world.register(world.alice)
    world.registrar.office.accept(asset)
    world.chain.advance(NOTICE_PERIOD)
    world.registrar.office.certify(asset, doc("certificate"), RegistrationType.INITIAL)
    licence = grant(world, asset, registrar)

    seen = facts(world, asset, registrar, status=AssetStatus.CERTIFIED)
    assert decide(world, asset, registrar) == allowed(
        registrar, replace(seen, requester_jurisdiction="CN"), valid_until(licence), licence
    )


def test_a_cancelled_asset_is_refused_to_the_registrar(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    world.alice.registry.cancel(asset, doc("withdrawn"))
    registrar = world.registrar

    assert decide(world, asset, registrar) == refused(
        registrar,
        facts(world, asset, registrar, status=AssetStatus.CANCELLED),
        Refusal.ASSET_CANCELLED,
        "the asset is cancelled: its data is gone for everyone",
    )


# ---------------------------------------------------------------- the arbiter


def test_the_arbiter_is_refused_while_no_dispute_was_opened(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    open_dispute(world, world.register(world.alice))  # over another asset
    arbiter = world.arbiter

    assert decide(world, asset, arbiter) == refused(
        arbiter,
        facts(world, asset, arbiter),
        Refusal.NO_OPEN_DISPUTE,
        f"{arbiter.address} is an arbiter, but no dispute over the asset is open (none was opened)",
    )


def test_the_arbiter_reads_it_while_a_dispute_is_open_or_frozen(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    dispute = open_dispute(world, asset)
    arbiter = world.arbiter

    assert decide(world, asset, arbiter) == on_duty(
        arbiter,
        facts(world, asset, arbiter),
        "arbiter",
        f"{arbiter.address} is an arbiter and dispute #{dispute} over the asset is open",
    )
    world.arbiter.court.freeze(dispute)
    assert decide(world, asset, arbiter) == on_duty(
        arbiter,
        facts(world, asset, arbiter, frozen=True),
        "arbiter",
        f"{arbiter.address} is an arbiter and dispute #{dispute} over the asset is frozen",
    )


def test_the_arbiter_is_refused_once_every_dispute_is_ruled(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    dispute = open_dispute(world, asset)
    world.arbiter.court.freeze(dispute)
    world.arbiter.court.rule(dispute, Ruling.DISMISS, doc("dismissed"))
    arbiter = world.arbiter

    assert decide(world, asset, arbiter) == refused(
        arbiter,
        facts(world, asset, arbiter),
        Refusal.NO_OPEN_DISPUTE,
        f"{arbiter.address} is an arbiter, but no dispute over the asset is open "
        "(all 1 were ruled)",
    )
