"""RegistrationOffice: review, public notice, objections, certificates and the notice period."""

from __future__ import annotations

from typing import Final

from helpers.assertions import reverts
from helpers.builders import doc, sha256
from helpers.world import NOTICE_PERIOD, World
from provledger.chain.enums import AssetStatus, RegistrationType
from provledger.chain.events import (
    AssetRestrictionsChanged,
    AssetStatusChanged,
    CertificateIssued,
    NoticePeriodChanged,
    ObjectionLodged,
    ObjectionResolved,
    RegistrationAccepted,
    RegistrationRejected,
)
from provledger.chain.ids import asset_id, role_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import AssetState, CertificateState, ObjectionState

#: ``RegistrationOffice.MAX_NOTICE_PERIOD``: 365 days.
MAX_NOTICE_PERIOD: Final = 365 * 24 * 3600
ZERO_HASH: Final = b"\x00" * 32
#: An asset id nobody registered.
UNKNOWN_ASSET: Final = asset_id(sha256("content never registered (office)"))
#: The registration types that need the initial certificate and a Certified asset.
LATER_TYPES: Final = (
    RegistrationType.LICENSE,
    RegistrationType.TRANSFER,
    RegistrationType.CHANGE,
    RegistrationType.OBJECTION,
)


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that mined ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


def state_of(world: World, asset: int) -> AssetState:
    """The registry's record of a registered asset."""
    state = world.alice.registry.asset(asset)
    assert state is not None
    return state


def noticed(world: World) -> tuple[int, int]:
    """A fresh asset of alice, accepted: ``(asset id, notice end)``."""
    asset = world.register(world.alice)
    receipt = world.registrar.office.accept(asset)
    return asset, receipt.event(RegistrationAccepted).notice_ends_at


# ---------------------------------------------------------------- review


def test_accept_starts_the_public_notice(world: World) -> None:
    office = world.registrar.office
    asset = world.register(world.alice)
    assert office.notice_period() == NOTICE_PERIOD
    assert office.notice_ends_at(asset) == 0

    receipt = office.accept(asset)

    ends = block_time(world, receipt) + NOTICE_PERIOD
    registrar = world.registrar.address
    assert receipt.events == (
        RegistrationAccepted(asset_id=asset, notice_ends_at=ends, registrar=registrar),
        AssetStatusChanged(
            asset_id=asset,
            previous_status=AssetStatus.APPLIED,
            new_status=AssetStatus.NOTICED,
            reason_hash=ZERO_HASH,
            actor=registrar,
        ),
    )
    assert office.notice_ends_at(asset) == ends
    state = state_of(world, asset)
    assert state.status is AssetStatus.NOTICED
    assert state.under_objection is False
    assert state.holder == world.alice.address


def test_reject_records_the_reason(world: World) -> None:
    office = world.registrar.office
    asset = world.register(world.alice)
    reason = doc("incomplete application")

    receipt = office.reject(asset, reason)

    registrar = world.registrar.address
    assert receipt.events == (
        RegistrationRejected(asset_id=asset, reason_hash=reason, registrar=registrar),
        AssetStatusChanged(
            asset_id=asset,
            previous_status=AssetStatus.APPLIED,
            new_status=AssetStatus.REJECTED,
            reason_hash=reason,
            actor=registrar,
        ),
    )
    assert state_of(world, asset).status is AssetStatus.REJECTED
    assert office.notice_ends_at(asset) == 0
    with reverts(
        "UnexpectedStatus",
        assetId=asset,
        status=AssetStatus.REJECTED,
        expected=AssetStatus.APPLIED,
    ):
        office.accept(asset)
    with reverts(
        "UnexpectedStatus",
        assetId=asset,
        status=AssetStatus.REJECTED,
        expected=AssetStatus.NOTICED,
    ):
        world.stranger.office.object(asset, doc("grounds"))


def test_steps_at_the_wrong_status_revert(world: World) -> None:
    office = world.registrar.office
    applied = world.register(world.alice)
    asset, _ = noticed(world)

    with reverts(
        "UnexpectedStatus", assetId=asset, status=AssetStatus.NOTICED, expected=AssetStatus.APPLIED
    ):
        office.accept(asset)
    with reverts(
        "UnexpectedStatus", assetId=asset, status=AssetStatus.NOTICED, expected=AssetStatus.APPLIED
    ):
        office.reject(asset, doc("reason"))
    with reverts(
        "UnexpectedStatus",
        assetId=applied,
        status=AssetStatus.APPLIED,
        expected=AssetStatus.NOTICED,
    ):
        world.bob.office.object(applied, doc("grounds"))
    with reverts(
        "UnexpectedStatus",
        assetId=applied,
        status=AssetStatus.APPLIED,
        expected=AssetStatus.NOTICED,
    ):
        office.certify(applied, doc("certificate"), RegistrationType.INITIAL)

    world.chain.advance(NOTICE_PERIOD)
    office.certify(asset, doc("certificate"), RegistrationType.INITIAL)
    with reverts(
        "UnexpectedStatus",
        assetId=asset,
        status=AssetStatus.CERTIFIED,
        expected=AssetStatus.APPLIED,
    ):
        office.accept(asset)
    with reverts(
        "UnexpectedStatus",
        assetId=asset,
        status=AssetStatus.CERTIFIED,
        expected=AssetStatus.APPLIED,
    ):
        office.reject(asset, doc("reason"))
    with reverts(
        "UnexpectedStatus",
        assetId=asset,
        status=AssetStatus.CERTIFIED,
        expected=AssetStatus.NOTICED,
    ):
        world.bob.office.object(asset, doc("grounds"))


def test_zero_document_hashes_revert(world: World) -> None:
    office = world.registrar.office
    applied = world.register(world.alice)
    asset, _ = noticed(world)
    objection = world.bob.office.object(asset, doc("grounds")).event(ObjectionLodged)

    with reverts("ZeroDocumentHash"):
        office.reject(applied, ZERO_HASH)
    with reverts("ZeroDocumentHash"):
        world.bob.office.object(asset, ZERO_HASH)
    with reverts("ZeroDocumentHash"):
        office.resolve_objection(objection.objection_id, False, ZERO_HASH)
    with reverts("ZeroDocumentHash"):
        office.resolve_objection(objection.objection_id, True, ZERO_HASH)
    world.chain.advance(NOTICE_PERIOD)
    with reverts("ZeroDocumentHash"):
        office.certify(asset, ZERO_HASH, RegistrationType.INITIAL)
    assert state_of(world, applied).status is AssetStatus.APPLIED
    assert office.objection(objection.objection_id).open is True


def test_unknown_asset_reverts(world: World) -> None:
    office = world.registrar.office
    with reverts("UnknownAsset", assetId=UNKNOWN_ASSET):
        office.accept(UNKNOWN_ASSET)
    with reverts("UnknownAsset", assetId=UNKNOWN_ASSET):
        office.reject(UNKNOWN_ASSET, doc("reason"))
    with reverts("UnknownAsset", assetId=UNKNOWN_ASSET):
        world.stranger.office.object(UNKNOWN_ASSET, doc("grounds"))
    with reverts("UnknownAsset", assetId=UNKNOWN_ASSET):
        office.certify(UNKNOWN_ASSET, doc("certificate"), RegistrationType.INITIAL)
    with reverts("UnknownAsset", assetId=UNKNOWN_ASSET):
        office.certify(UNKNOWN_ASSET, doc("certificate"), RegistrationType.LICENSE)
    assert office.notice_ends_at(UNKNOWN_ASSET) == 0


# ---------------------------------------------------------------- objections


def test_anyone_may_object_during_the_notice(world: World) -> None:
    office = world.registrar.office
    asset, _ = noticed(world)
    grounds = doc("prior art by a stranger")
    assert office.objection_count() == 0

    first = world.stranger.office.object(asset, grounds)

    assert first.events == (
        ObjectionLodged(
            objection_id=1, asset_id=asset, objector=world.stranger.address, grounds_hash=grounds
        ),
        AssetRestrictionsChanged(asset_id=asset, under_objection=True, frozen=False),
    )
    assert office.objection(1) == ObjectionState(
        objection_id=1,
        asset_id=asset,
        objector=world.stranger.address,
        lodged_at=block_time(world, first),
        open=True,
        upheld=False,
        grounds_hash=grounds,
    )
    assert office.open_objection_count(asset) == 1
    assert office.objection_count() == 1
    assert state_of(world, asset).under_objection is True

    second = world.bob.office.object(asset, doc("bob's grounds"))

    # Only the first open objection changes the registry's restrictions.
    assert second.events == (
        ObjectionLodged(
            objection_id=2,
            asset_id=asset,
            objector=world.bob.address,
            grounds_hash=doc("bob's grounds"),
        ),
    )
    assert office.open_objection_count(asset) == 2
    assert office.objection_count() == 2
    assert office.objection(2).objector == world.bob.address


def test_an_asset_under_objection_cannot_be_transferred(world: World) -> None:
    asset, _ = noticed(world)
    world.stranger.office.object(asset, doc("grounds"))

    with reverts("AssetUnderObjection", assetId=asset):
        world.alice.registry.transfer(asset, world.erin.address)
    assert world.alice.registry.holder_of(asset) == world.alice.address


def test_objections_close_when_the_notice_period_ends(world: World) -> None:
    office = world.registrar.office
    asset, ends = noticed(world)

    world.chain.set_time(ends - 60)
    world.bob.office.object(asset, doc("just in time"))
    world.chain.set_time(ends)
    with reverts("NoticePeriodOver", assetId=asset, noticeEndsAt=ends):
        world.carol.office.object(asset, doc("at the end"))
    world.chain.advance(3600)
    with reverts("NoticePeriodOver", assetId=asset, noticeEndsAt=ends):
        world.stranger.office.object(asset, doc("after the end"))
    assert office.objection_count() == 1
    assert office.open_objection_count(asset) == 1


def test_dismissed_objections_lift_the_restriction_with_the_last(world: World) -> None:
    office = world.registrar.office
    registrar = world.registrar.address
    asset, _ = noticed(world)
    world.stranger.office.object(asset, doc("grounds 1"))
    world.bob.office.object(asset, doc("grounds 2"))
    reason = doc("objection unfounded")

    first = office.resolve_objection(1, False, reason)

    assert first.events == (
        ObjectionResolved(
            objection_id=1, asset_id=asset, upheld=False, reason_hash=reason, registrar=registrar
        ),
    )
    assert office.open_objection_count(asset) == 1
    assert state_of(world, asset).under_objection is True

    last = office.resolve_objection(2, False, reason)

    assert last.events == (
        ObjectionResolved(
            objection_id=2, asset_id=asset, upheld=False, reason_hash=reason, registrar=registrar
        ),
        AssetRestrictionsChanged(asset_id=asset, under_objection=False, frozen=False),
    )
    assert office.open_objection_count(asset) == 0
    assert office.objection(1) == ObjectionState(
        objection_id=1,
        asset_id=asset,
        objector=world.stranger.address,
        lodged_at=office.objection(1).lodged_at,
        open=False,
        upheld=False,
        grounds_hash=doc("grounds 1"),
    )
    assert office.objection(2).open is False
    assert office.objection(2).upheld is False
    state = state_of(world, asset)
    assert state.status is AssetStatus.NOTICED
    assert state.under_objection is False

    with reverts("ObjectionAlreadyResolved", objectionId=1):
        office.resolve_objection(1, True, reason)
    with reverts("UnknownObjection", objectionId=3):
        office.resolve_objection(3, False, reason)
    with reverts("UnknownObjection", objectionId=0):
        office.resolve_objection(0, False, reason)

    # A new objection after all were closed is again the first open one.
    again = world.carol.office.object(asset, doc("grounds 3"))
    assert again.events == (
        ObjectionLodged(
            objection_id=3,
            asset_id=asset,
            objector=world.carol.address,
            grounds_hash=doc("grounds 3"),
        ),
        AssetRestrictionsChanged(asset_id=asset, under_objection=True, frozen=False),
    )
    assert office.open_objection_count(asset) == 1


def test_an_upheld_objection_rejects_the_registration(world: World) -> None:
    office = world.registrar.office
    registrar = world.registrar.address
    asset, _ = noticed(world)
    world.carol.office.object(asset, doc("carol registered it first elsewhere"))
    reason = doc("objection upheld")

    receipt = office.resolve_objection(1, True, reason)

    assert receipt.events == (
        ObjectionResolved(
            objection_id=1, asset_id=asset, upheld=True, reason_hash=reason, registrar=registrar
        ),
        AssetRestrictionsChanged(asset_id=asset, under_objection=False, frozen=False),
        AssetStatusChanged(
            asset_id=asset,
            previous_status=AssetStatus.NOTICED,
            new_status=AssetStatus.REJECTED,
            reason_hash=reason,
            actor=registrar,
        ),
    )
    objection = office.objection(1)
    assert (objection.open, objection.upheld) == (False, True)
    state = state_of(world, asset)
    assert state.status is AssetStatus.REJECTED
    assert state.under_objection is False
    world.chain.advance(NOTICE_PERIOD)
    with reverts(
        "UnexpectedStatus",
        assetId=asset,
        status=AssetStatus.REJECTED,
        expected=AssetStatus.NOTICED,
    ):
        office.certify(asset, doc("certificate"), RegistrationType.INITIAL)
    with reverts("ObjectionAlreadyResolved", objectionId=1):
        office.resolve_objection(1, False, reason)


def test_upholding_one_of_two_objections_keeps_the_restriction(world: World) -> None:
    office = world.registrar.office
    registrar = world.registrar.address
    asset, _ = noticed(world)
    world.carol.office.object(asset, doc("grounds 1"))
    world.bob.office.object(asset, doc("grounds 2"))
    reason = doc("objection upheld")

    receipt = office.resolve_objection(1, True, reason)

    assert receipt.events == (
        ObjectionResolved(
            objection_id=1, asset_id=asset, upheld=True, reason_hash=reason, registrar=registrar
        ),
        AssetStatusChanged(
            asset_id=asset,
            previous_status=AssetStatus.NOTICED,
            new_status=AssetStatus.REJECTED,
            reason_hash=reason,
            actor=registrar,
        ),
    )
    assert office.open_objection_count(asset) == 1
    state = state_of(world, asset)
    assert (state.status, state.under_objection) == (AssetStatus.REJECTED, True)


def test_upholding_after_the_holder_cancelled_changes_no_status(world: World) -> None:
    office = world.registrar.office
    asset, _ = noticed(world)
    world.carol.office.object(asset, doc("grounds"))
    world.alice.registry.cancel(asset, doc("withdrawn"))
    reason = doc("objection upheld")

    receipt = office.resolve_objection(1, True, reason)

    assert receipt.events == (
        ObjectionResolved(
            objection_id=1,
            asset_id=asset,
            upheld=True,
            reason_hash=reason,
            registrar=world.registrar.address,
        ),
        AssetRestrictionsChanged(asset_id=asset, under_objection=False, frozen=False),
    )
    assert state_of(world, asset).status is AssetStatus.CANCELLED


# ---------------------------------------------------------------- certificates


def test_certify_initial_after_the_notice(world: World) -> None:
    office = world.registrar.office
    registrar = world.registrar.address
    asset, ends = noticed(world)
    certificate = doc("initial certificate")
    assert office.certificate_count() == 0

    with reverts("NoticePeriodNotOver", assetId=asset, noticeEndsAt=ends):
        office.certify(asset, certificate, RegistrationType.INITIAL)
    world.chain.set_time(ends)
    receipt = office.certify(asset, certificate, RegistrationType.INITIAL)

    assert receipt.events == (
        CertificateIssued(
            registration_number=1,
            asset_id=asset,
            registration_type=RegistrationType.INITIAL,
            certificate_hash=certificate,
            registrar=registrar,
        ),
        AssetStatusChanged(
            asset_id=asset,
            previous_status=AssetStatus.NOTICED,
            new_status=AssetStatus.CERTIFIED,
            reason_hash=certificate,
            actor=registrar,
        ),
    )
    assert office.certificate(1) == CertificateState(
        registration_number=1,
        asset_id=asset,
        registration_type=RegistrationType.INITIAL,
        issued_at=block_time(world, receipt),
        registrar=registrar,
        certificate_hash=certificate,
    )
    assert office.initial_registration_number(asset) == 1
    assert office.certificate_count() == 1
    assert state_of(world, asset).status is AssetStatus.CERTIFIED

    with reverts("AlreadyCertified", assetId=asset, registrationNumber=1):
        office.certify(asset, doc("again"), RegistrationType.INITIAL)


def test_open_objections_stop_the_certificate(world: World) -> None:
    office = world.registrar.office
    asset, ends = noticed(world)
    world.bob.office.object(asset, doc("grounds"))
    world.chain.set_time(ends)

    with reverts("OpenObjections", assetId=asset, count=1):
        office.certify(asset, doc("certificate"), RegistrationType.INITIAL)

    office.resolve_objection(1, False, doc("dismissed"))
    receipt = office.certify(asset, doc("certificate"), RegistrationType.INITIAL)
    assert receipt.event(CertificateIssued).registration_number == 1
    assert state_of(world, asset).status is AssetStatus.CERTIFIED


def test_registration_numbers_are_sequential_across_assets_and_types(world: World) -> None:
    office = world.registrar.office
    registrar = world.registrar.address
    first = world.register(world.alice)
    second = world.register(world.bob)
    office.accept(first)
    office.accept(second)
    world.chain.advance(NOTICE_PERIOD)

    steps = [
        (first, RegistrationType.INITIAL),
        (second, RegistrationType.INITIAL),
        (first, RegistrationType.LICENSE),
        (second, RegistrationType.TRANSFER),
        (first, RegistrationType.CHANGE),
        (second, RegistrationType.OBJECTION),
    ]
    for number, (asset, kind) in enumerate(steps, start=1):
        certificate = doc(f"certificate {number}")
        receipt = office.certify(asset, certificate, kind)
        issued = CertificateIssued(
            registration_number=number,
            asset_id=asset,
            registration_type=kind,
            certificate_hash=certificate,
            registrar=registrar,
        )
        if kind is RegistrationType.INITIAL:
            assert receipt.events[0] == issued
            assert len(receipt.events) == 2
        else:
            assert receipt.events == (issued,)
        assert office.certificate(number) == CertificateState(
            registration_number=number,
            asset_id=asset,
            registration_type=kind,
            issued_at=block_time(world, receipt),
            registrar=registrar,
            certificate_hash=certificate,
        )

    assert office.certificate_count() == 6
    assert office.initial_registration_number(first) == 1
    assert office.initial_registration_number(second) == 2
    assert state_of(world, first).status is AssetStatus.CERTIFIED
    assert state_of(world, second).status is AssetStatus.CERTIFIED
    assert office.certificate(7).asset_id == 0


def test_later_registrations_need_the_initial_certificate(world: World) -> None:
    office = world.registrar.office
    asset = world.register(world.alice)

    for kind in (*LATER_TYPES, RegistrationType.CANCELLATION):
        with reverts("NotInitiallyCertified", assetId=asset):
            office.certify(asset, doc("certificate"), kind)
    office.accept(asset)
    for kind in LATER_TYPES:
        with reverts("NotInitiallyCertified", assetId=asset):
            office.certify(asset, doc("certificate"), kind)
    world.alice.registry.cancel(asset, doc("withdrawn"))
    with reverts("NotInitiallyCertified", assetId=asset):
        office.certify(asset, doc("certificate"), RegistrationType.CANCELLATION)
    assert office.certificate_count() == 0


def test_cancellation_certificate_needs_a_cancelled_asset(world: World) -> None:
    office = world.registrar.office
    asset = world.register(world.alice)
    assert world.certify(asset) == 1

    with reverts(
        "UnexpectedStatus",
        assetId=asset,
        status=AssetStatus.CERTIFIED,
        expected=AssetStatus.CANCELLED,
    ):
        office.certify(asset, doc("cancellation"), RegistrationType.CANCELLATION)

    world.alice.registry.cancel(asset, doc("withdrawn"))
    for kind in LATER_TYPES:
        with reverts(
            "UnexpectedStatus",
            assetId=asset,
            status=AssetStatus.CANCELLED,
            expected=AssetStatus.CERTIFIED,
        ):
            office.certify(asset, doc("certificate"), kind)

    certificate = doc("cancellation")
    receipt = office.certify(asset, certificate, RegistrationType.CANCELLATION)

    assert receipt.events == (
        CertificateIssued(
            registration_number=2,
            asset_id=asset,
            registration_type=RegistrationType.CANCELLATION,
            certificate_hash=certificate,
            registrar=world.registrar.address,
        ),
    )
    assert office.certificate(2).registration_type is RegistrationType.CANCELLATION
    assert office.initial_registration_number(asset) == 1
    assert state_of(world, asset).status is AssetStatus.CANCELLED
    with reverts("AlreadyCertified", assetId=asset, registrationNumber=1):
        office.certify(asset, doc("again"), RegistrationType.INITIAL)


def test_invalid_registration_types_revert(world: World) -> None:
    office = world.registrar.office
    asset, _ = noticed(world)
    world.chain.advance(NOTICE_PERIOD)

    with reverts("InvalidRegistrationType", registrationType=0):
        office.certify(asset, doc("certificate"), RegistrationType.NONE)
    with reverts("InvalidRegistrationType", registrationType=7):
        office.certify(asset, doc("certificate"), 7)
    with reverts("InvalidRegistrationType", registrationType=255):
        office.certify(asset, doc("certificate"), 255)
    assert office.certificate_count() == 0


# ---------------------------------------------------------------- notice period


def test_admin_sets_the_notice_period_for_future_acceptances(world: World) -> None:
    office = world.admin.office
    earlier, earlier_ends = noticed(world)

    receipt = office.set_notice_period(3600)

    assert receipt.events == (
        NoticePeriodChanged(
            previous_period=NOTICE_PERIOD, new_period=3600, admin=world.admin.address
        ),
    )
    assert office.notice_period() == 3600
    assert office.notice_ends_at(earlier) == earlier_ends
    later = world.register(world.alice)
    accepted = world.registrar.office.accept(later)
    assert office.notice_ends_at(later) == block_time(world, accepted) + 3600

    longest = office.set_notice_period(MAX_NOTICE_PERIOD)
    assert longest.event(NoticePeriodChanged) == NoticePeriodChanged(
        previous_period=3600, new_period=MAX_NOTICE_PERIOD, admin=world.admin.address
    )
    assert office.notice_period() == MAX_NOTICE_PERIOD


def test_notice_period_bounds_and_authority(world: World) -> None:
    office = world.admin.office
    with reverts("InvalidNoticePeriod", period=0, max=MAX_NOTICE_PERIOD):
        office.set_notice_period(0)
    with reverts("InvalidNoticePeriod", period=MAX_NOTICE_PERIOD + 1, max=MAX_NOTICE_PERIOD):
        office.set_notice_period(MAX_NOTICE_PERIOD + 1)
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=world.registrar.address,
        neededRole=role_id("DEFAULT_ADMIN_ROLE"),
    ):
        world.registrar.office.set_notice_period(3600)
    assert office.notice_period() == NOTICE_PERIOD
