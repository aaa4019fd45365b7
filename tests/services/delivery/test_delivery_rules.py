"""Who may receive an asset's data: each rule of the data room decided on a real anvil chain.

Every test sets the chain up through the contracts (grants, sales, revocations, freezes,
objections, permits), asks the rules at the head, and asserts the whole decision: the refusal or
the basis, the licence relied on, the one-sentence reason and the facts read at the block.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import pytest

from helpers.builders import doc
from helpers.world import PARTICIPANTS, World
from provledger.chain.accounts import dev_account
from provledger.chain.client import Provledger
from provledger.chain.enums import AssetStatus, LicenseKind
from provledger.chain.events import DisputeOpened, LicenseGranted, OfferCreated
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.chain.transactions import Receipt
from provledger.params import InvalidParameterError
from provledger.services.delivery.rules import (
    Decision,
    Facts,
    Refusal,
    decide_access,
    decide_upload,
)

pytestmark = pytest.mark.anvil

DAY: Final = 24 * 3600
TERMS: Final = doc("data room licence terms")
PRICE: Final = 10**15
#: Dev account address -> the jurisdiction its participant record names.
JURISDICTIONS: Final = {
    dev_account(index).address: jurisdiction for index, (_, jurisdiction) in PARTICIPANTS.items()
}


# ---------------------------------------------------------------- helpers


def gateway(world: World) -> Provledger:
    """The deployment as the gateway sees it: views only, no signing account."""
    return Provledger(world.w3, world.deployment)


def utc(timestamp: int) -> str:
    """``timestamp`` as the reasons write it."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that mined ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


def facts(
    world: World,
    asset: int,
    requester: Provledger,
    *,
    holder: Provledger | None = None,
    grade: int = 1,
    status: AssetStatus = AssetStatus.APPLIED,
    frozen: bool = False,
    under_objection: bool = False,
) -> Facts:
    """The facts a decision made at the head should have read (holder alice by default)."""
    head = world.w3.eth.get_block("latest")
    holding = holder if holder is not None else world.alice
    return Facts(
        asset_id=asset,
        block_number=int(head["number"]),
        block_time=int(head["timestamp"]),
        holder=holding.address,
        status=status,
        grade=grade,
        frozen=frozen,
        under_objection=under_objection,
        holder_jurisdiction=JURISDICTIONS[holding.address],
        requester_jurisdiction=JURISDICTIONS.get(requester.address, ""),
    )


def grant(world: World, asset: int, licensee: Provledger, days: int = 30) -> LicenseGranted:
    """Alice grants ``licensee`` a processing licence on ``asset`` for ``days``."""
    receipt = world.alice.licenses.grant(
        asset, licensee.address, LicenseKind.PROCESSING_USE, world.now() + days * DAY, TERMS
    )
    return receipt.event(LicenseGranted)


def buy(world: World, asset: int, buyer: Provledger) -> LicenseGranted:
    """Alice offers 30-day licences on ``asset`` in the market; ``buyer`` buys one."""
    offer = world.alice.market.offer_license(
        asset, LicenseKind.PROCESSING_USE, 30 * DAY, TERMS, "", PRICE, world.now() + 7 * DAY
    )
    return buyer.market.buy(offer.event(OfferCreated).offer_id, value=PRICE).event(LicenseGranted)


def freeze(world: World, asset: int) -> None:
    """A stranger disputes ``asset`` and the arbiter freezes it."""
    dispute = world.stranger.court.open(asset, doc("evidence")).event(DisputeOpened).dispute_id
    world.arbiter.court.freeze(dispute)


def put_under_objection(world: World, asset: int) -> None:
    """The registrar accepts ``asset`` and a stranger objects during the notice."""
    world.notice(asset)
    world.stranger.office.object(asset, doc("grounds"))


def refused(requester: Provledger, seen: Facts | None, refusal: Refusal, reason: str) -> Decision:
    """The decision refusing ``requester`` by ``refusal``, having read ``seen``."""
    return Decision(requester.address, seen, "", None, refusal, reason)


def allowed(
    requester: Provledger, seen: Facts, reason: str, licence: LicenseGranted | None = None
) -> Decision:
    """The decision allowing ``requester``: as licensee of ``licence``, else as holder."""
    if licence is None:
        return Decision(requester.address, seen, "holder", None, None, reason)
    return Decision(requester.address, seen, "licensee", licence.license_id, None, reason)


def holds(requester: Provledger) -> str:
    """The reason the holder is allowed."""
    return f"{requester.address} holds the asset"


def valid_until(licence: LicenseGranted) -> str:
    """The reason a licensee is allowed at home."""
    return f"licence #{licence.license_id} is valid until {utc(licence.expires_at)}"


def licensed_bob_is_refused(
    world: World, asset: int, refusal: Refusal, reason: str, seen: Facts
) -> None:
    """Bob holds a valid licence on ``asset``, yet is refused by ``refusal``."""
    decision = decide_access(gateway(world), asset, world.bob.address)

    assert decision == refused(world.bob, seen, refusal, reason)
    assert not decision.allowed


def dave_is_refused_abroad(world: World, asset: int, flaw: str) -> None:
    """Dave (US) holds a valid licence on alice's (CN) grade 2 ``asset``, yet no export
    permit covers it, for the reason ``flaw``."""
    decision = decide_access(gateway(world), asset, world.dave.address)

    assert decision == refused(
        world.dave,
        facts(world, asset, world.dave, grade=2),
        Refusal.EXPORT_PERMIT_MISSING,
        f"grade 2 data may leave CN for US only under an export permit: {flaw}",
    )


def granted(world: World, licence: LicenseGranted) -> str:
    """When ``licence`` was granted, as a permit's flaw names it."""
    granted_at = world.alice.licenses.license(licence.license_id).granted_at
    return f"licence #{licence.license_id} was granted at {utc(granted_at)}"


# ---------------------------------------------------------------- the holder


def test_the_holder_receives_its_own_data(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)

    decision = decide_access(gateway(world), asset, world.alice.address.lower())

    assert decision == allowed(world.alice, facts(world, asset, world.alice), holds(world.alice))
    assert decision.allowed


def test_the_holder_receives_its_data_while_frozen_and_under_objection(
    anvil_world: World,
) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    put_under_objection(world, asset)
    freeze(world, asset)

    decision = decide_access(gateway(world), asset, world.alice.address)

    assert decision == allowed(
        world.alice,
        facts(
            world, asset, world.alice, status=AssetStatus.NOTICED, frozen=True, under_objection=True
        ),
        holds(world.alice),
    )


# ---------------------------------------------------------------- licensees


def test_a_licensee_by_grant_receives_the_data(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    licence = grant(world, asset, world.bob)

    decision = decide_access(gateway(world), asset, world.bob.address)

    assert decision == allowed(
        world.bob, facts(world, asset, world.bob), valid_until(licence), licence
    )
    assert decision.allowed


def test_a_licensee_by_purchase_receives_the_data(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    licence = buy(world, asset, world.bob)

    decision = decide_access(gateway(world), asset, world.bob.address)

    assert decision == allowed(
        world.bob, facts(world, asset, world.bob), valid_until(licence), licence
    )


def test_the_valid_licence_expiring_last_is_relied_on(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    grant(world, asset, world.bob, days=10)
    longest = grant(world, asset, world.bob, days=90)
    grant(world, asset, world.bob, days=30)

    decision = decide_access(gateway(world), asset, world.bob.address)

    assert (decision.basis, decision.licence_id) == ("licensee", longest.license_id)
    assert decision.reason == valid_until(longest)


def test_an_expired_licence_is_refused(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    licence = grant(world, asset, world.bob, days=1)
    world.chain.set_time(licence.expires_at)  # valid while t < expiresAt

    decision = decide_access(gateway(world), asset, world.bob.address)

    assert decision == refused(
        world.bob,
        facts(world, asset, world.bob),
        Refusal.LICENCE_EXPIRED,
        f"licence #{licence.license_id} expired at {utc(licence.expires_at)}",
    )
    assert decision.facts is not None
    assert decision.facts.block_time == licence.expires_at


def test_a_revoked_licence_is_refused(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    licence = grant(world, asset, world.bob)
    revoked = world.alice.licenses.revoke(licence.license_id, doc("breach of terms"))

    decision = decide_access(gateway(world), asset, world.bob.address)

    assert decision == refused(
        world.bob,
        facts(world, asset, world.bob),
        Refusal.LICENCE_REVOKED,
        f"licence #{licence.license_id} was revoked at {utc(block_time(world, revoked))}",
    )


def test_no_licence_is_refused(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    grant(world, asset, world.erin)  # someone else's licence covers nobody else

    decision = decide_access(gateway(world), asset, world.bob.address)

    assert decision == refused(
        world.bob,
        facts(world, asset, world.bob),
        Refusal.NO_LICENCE,
        f"{world.bob.address} holds no licence on the asset at {utc(world.now())}",
    )


# ---------------------------------------------------------------- the asset's state


def test_an_unknown_asset_is_refused(anvil_world: World) -> None:
    world = anvil_world
    unknown = asset_id(doc("content never registered (delivery rules)"))

    decision = decide_access(gateway(world), unknown, world.bob.address)

    head = world.w3.eth.block_number
    assert decision == refused(
        world.bob,
        None,
        Refusal.UNKNOWN_ASSET,
        f"no asset {asset_id_hex(unknown)} is registered at block {head}",
    )


@pytest.mark.parametrize("requester", ["alice", "bob"])
def test_a_cancelled_asset_is_refused_to_everyone(anvil_world: World, requester: str) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    grant(world, asset, world.bob)
    world.alice.registry.cancel(asset, doc("withdrawn"))
    asking: Provledger = getattr(world, requester)

    decision = decide_access(gateway(world), asset, asking.address)

    assert decision == refused(
        asking,
        facts(world, asset, asking, status=AssetStatus.CANCELLED),
        Refusal.ASSET_CANCELLED,
        "the asset is cancelled: its data is gone for everyone",
    )


def test_a_rejected_asset_is_refused(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    grant(world, asset, world.bob)
    world.registrar.office.reject(asset, doc("not original"))

    licensed_bob_is_refused(
        world,
        asset,
        Refusal.ASSET_REJECTED,
        "the asset's registration was rejected",
        facts(world, asset, world.bob, status=AssetStatus.REJECTED),
    )


def test_a_frozen_asset_is_refused(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    grant(world, asset, world.bob)
    freeze(world, asset)

    licensed_bob_is_refused(
        world,
        asset,
        Refusal.ASSET_FROZEN,
        "a dispute has frozen the asset",
        facts(world, asset, world.bob, frozen=True),
    )


def test_an_asset_under_objection_is_refused(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    grant(world, asset, world.bob)
    put_under_objection(world, asset)

    licensed_bob_is_refused(
        world,
        asset,
        Refusal.ASSET_UNDER_OBJECTION,
        "an objection against the asset's registration is open",
        facts(world, asset, world.bob, status=AssetStatus.NOTICED, under_objection=True),
    )


# ---------------------------------------------------------------- participants' standing


@pytest.mark.parametrize(
    ("party", "refusal"),
    [("requester", Refusal.REQUESTER_SUSPENDED), ("holder", Refusal.HOLDER_SUSPENDED)],
)
def test_a_suspended_participant_stops_the_licensee(
    anvil_world: World, party: str, refusal: Refusal
) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    grant(world, asset, world.bob)
    suspended = world.bob if party == "requester" else world.alice
    world.registrar.registry.suspend_participant(suspended.address, doc("sanctioned"))

    licensed_bob_is_refused(
        world,
        asset,
        refusal,
        f"the {party} {suspended.address} is a suspended participant",
        facts(world, asset, world.bob),
    )


# ---------------------------------------------------------------- across a border


def test_general_data_goes_abroad_under_a_licence(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice, grade=1)
    licence = grant(world, asset, world.dave)  # CN -> US

    decision = decide_access(gateway(world), asset, world.dave.address)

    assert decision == allowed(
        world.dave, facts(world, asset, world.dave), valid_until(licence), licence
    )


def test_important_data_goes_abroad_under_a_licence_sold_with_a_permit(
    anvil_world: World,
) -> None:
    world = anvil_world
    asset = world.register(world.alice, grade=2)
    issued = world.exporter.export.issue_permit(asset, world.dave.address, world.now() + DAY)
    licence = buy(world, asset, world.dave)  # the sale uses the permit up

    decision = decide_access(gateway(world), asset, world.dave.address)

    assert decision == allowed(
        world.dave,
        facts(world, asset, world.dave, grade=2),
        (
            f"licence #{licence.license_id} is valid until {utc(licence.expires_at)},"
            f" granted under the export permit to US issued at {utc(block_time(world, issued))}"
        ),
        licence,
    )


def test_important_data_goes_abroad_on_the_licence_the_permit_covers(
    anvil_world: World,
) -> None:
    """Of two valid licences, the one granted without a permit expires last, but only the one
    sold under the permit lets the data leave: the permit, used and expired, covers no licence
    granted after it expired."""
    world = anvil_world
    asset = world.register(world.alice, grade=2)
    world.exporter.export.issue_permit(asset, world.dave.address, world.now() + DAY)
    sold = buy(world, asset, world.dave)
    world.chain.advance(2 * DAY)  # the used permit has expired since
    grant(world, asset, world.dave, days=90)

    decision = decide_access(gateway(world), asset, world.dave.address)

    assert (decision.basis, decision.licence_id) == ("licensee", sold.license_id)


def test_important_data_granted_abroad_without_a_permit_is_refused(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice, grade=2)
    grant(world, asset, world.dave)  # a direct grant checks no border

    dave_is_refused_abroad(world, asset, f"none was issued for {world.dave.address}")


def test_a_permit_issued_after_the_grant_does_not_cover_it(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice, grade=2)
    licence = grant(world, asset, world.dave)
    world.chain.advance(60)  # blocks mined in one second may share its timestamp
    issued = world.exporter.export.issue_permit(asset, world.dave.address, world.now() + DAY)

    issued_at = utc(block_time(world, issued))
    dave_is_refused_abroad(
        world, asset, f"the permit was issued at {issued_at}, after {granted(world, licence)}"
    )


def test_a_permit_expired_before_the_grant_does_not_cover_it(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice, grade=2)
    expires_at = world.now() + DAY
    world.exporter.export.issue_permit(asset, world.dave.address, expires_at)
    world.chain.set_time(expires_at)
    licence = grant(world, asset, world.dave)

    dave_is_refused_abroad(
        world, asset, f"the permit expired at {utc(expires_at)}, before {granted(world, licence)}"
    )


def test_core_data_never_goes_abroad(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice, grade=3)
    grant(world, asset, world.carol)  # CN -> HK

    decision = decide_access(gateway(world), asset, world.carol.address)

    assert decision == refused(
        world.carol,
        facts(world, asset, world.carol, grade=3),
        Refusal.CORE_DATA_ABROAD,
        "grade 3 (core) data may not leave CN for HK",
    )


def test_core_data_stays_open_to_a_licensee_at_home(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice, grade=3)
    licence = grant(world, asset, world.erin)  # CN -> CN

    decision = decide_access(gateway(world), asset, world.erin.address)

    assert (decision.refusal, decision.licence_id) == (None, licence.license_id)


# ---------------------------------------------------------------- upload


def test_the_holder_uploads(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)

    decision = decide_upload(gateway(world), asset, world.alice.address)

    assert decision == allowed(world.alice, facts(world, asset, world.alice), holds(world.alice))


def test_a_licensee_may_not_upload(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    grant(world, asset, world.bob)

    decision = decide_upload(gateway(world), asset, world.bob.address)

    assert decision == refused(
        world.bob,
        facts(world, asset, world.bob),
        Refusal.NOT_HOLDER,
        f"{world.bob.address} does not hold the asset; {world.alice.address} does",
    )


def test_nothing_is_uploaded_for_a_cancelled_asset(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)
    world.alice.registry.cancel(asset, doc("withdrawn"))

    decision = decide_upload(gateway(world), asset, world.alice.address)

    assert decision == refused(
        world.alice,
        facts(world, asset, world.alice, status=AssetStatus.CANCELLED),
        Refusal.ASSET_CANCELLED,
        "the asset is cancelled: its data is gone for everyone",
    )


def test_an_upload_for_an_unknown_asset_is_refused(anvil_world: World) -> None:
    world = anvil_world
    unknown = asset_id(doc("content never registered (delivery upload)"))

    decision = decide_upload(gateway(world), unknown, world.alice.address)

    assert (decision.refusal, decision.facts) == (Refusal.UNKNOWN_ASSET, None)


# ---------------------------------------------------------------- one block


def test_a_decision_reads_every_fact_at_the_head(anvil_world: World) -> None:
    """The facts come from the block that was the head when the decision was asked for, and
    the licence's validity from that block's time, not the wall clock's."""
    world = anvil_world
    asset = world.register(world.alice)
    licence = grant(world, asset, world.bob, days=1)
    head = world.w3.eth.get_block("latest")

    before = decide_access(gateway(world), asset, world.bob.address)
    world.chain.set_time(licence.expires_at)  # mines one block, at the expiry
    after = decide_access(gateway(world), asset, world.bob.address)

    assert before.facts is not None
    assert after.facts is not None
    assert (before.facts.block_number, before.facts.block_time) == (
        head["number"],
        head["timestamp"],
    )
    assert (after.facts.block_number, after.facts.block_time) == (
        head["number"] + 1,
        licence.expires_at,
    )
    assert (before.refusal, after.refusal) == (None, Refusal.LICENCE_EXPIRED)


def test_a_requester_that_is_no_address_raises(anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice)

    with pytest.raises(InvalidParameterError) as raised:
        decide_access(gateway(world), asset, "alice")
    assert (raised.value.field, raised.value.reason) == (
        "requester",
        "an address is 0x and 40 hex digits",
    )
