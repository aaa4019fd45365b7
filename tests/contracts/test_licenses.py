"""LicenseRegistry: typed, expiring, revocable usage licenses granted by the holder."""

from __future__ import annotations

from typing import Final

import pytest

from helpers.assertions import reverts
from helpers.builders import doc, sha256
from helpers.world import World
from provledger.chain.client import Provledger
from provledger.chain.enums import AssetStatus, LicenseKind, ParticipantStatus
from provledger.chain.events import LicenseGranted, LicenseRevoked
from provledger.chain.ids import asset_id
from provledger.chain.reverts import ContractRevertError, revert_from_exception
from provledger.chain.transactions import Receipt
from provledger.chain.types import LicenseState

DAY: Final = 24 * 3600
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
#: An asset id nobody registered.
UNKNOWN_ASSET: Final = asset_id(sha256("content never registered (licenses)"))


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that mined ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


def grant(
    world: World,
    asset: int,
    *,
    holder: Provledger | None = None,
    licensee: Provledger | None = None,
    kind: LicenseKind = LicenseKind.PROCESSING_USE,
    days: int = 30,
) -> int:
    """Grant a license on ``asset`` (default: alice to bob) for ``days``; return its id."""
    licensor = holder if holder is not None else world.alice
    receiver = licensee if licensee is not None else world.bob
    receipt = licensor.licenses.grant(
        asset, receiver.address, kind, world.now() + days * DAY, doc("terms"), "scope"
    )
    return receipt.event(LicenseGranted).license_id


def grant_call_at(world: World, block: int, asset: int, expires_at: int) -> int:
    """Simulate alice granting bob a license at ``block`` (its timestamp is the contract's now).

    A simulated call at a fixed block sees that block's timestamp on every backend, which makes
    the time in ``LicenseExpiryInPast`` exact. Returns the license id the grant would get;
    a revert raises :class:`ContractRevertError`.
    """
    licenses = world.alice.licenses
    data = licenses.encode(
        "grant", asset, world.bob.address, int(LicenseKind.PROCESSING_USE), expires_at, doc("t"), ""
    )
    try:
        result = world.w3.eth.call(
            {"from": world.alice.address, "to": licenses.address, "data": data},
            block_identifier=block,
        )
    except Exception as error:
        revert = revert_from_exception(error)
        if revert is None:
            raise
        raise revert from error
    return int.from_bytes(bytes(result), "big")


# ---------------------------------------------------------------- grant


def test_grant_records_the_license(world: World) -> None:
    licenses = world.alice.licenses
    asset = world.register(world.alice)
    expires_at = world.now() + 30 * DAY
    terms = doc("processing terms v1")
    scope = "cleaning and model training, mainland China only; 加工使用"
    assert licenses.license_count() == 0

    receipt = licenses.grant(
        asset, world.bob.address, LicenseKind.PROCESSING_USE, expires_at, terms, scope
    )

    assert receipt.events == (
        LicenseGranted(
            license_id=1,
            asset_id=asset,
            licensee=world.bob.address,
            licensor=world.alice.address,
            kind=LicenseKind.PROCESSING_USE,
            expires_at=expires_at,
            terms_hash=terms,
            scope=scope,
        ),
    )
    granted_at = block_time(world, receipt)
    assert licenses.license(1) == LicenseState(
        license_id=1,
        asset_id=asset,
        licensor=world.alice.address,
        granted_at=granted_at,
        expires_at=expires_at,
        revoked_at=0,
        kind=LicenseKind.PROCESSING_USE,
        licensee=world.bob.address,
        terms_hash=terms,
    )
    assert licenses.licenses_of(asset, world.bob.address) == (1,)
    assert licenses.licenses_of(asset, world.carol.address) == ()
    assert licenses.license_count() == 1
    assert licenses.license(2).asset_id == 0

    assert licenses.is_valid_at(1, granted_at - 1) is False
    assert licenses.is_valid_at(1, granted_at) is True
    assert licenses.is_valid_at(1, expires_at - 1) is True
    assert licenses.is_valid_at(1, expires_at) is False
    assert licenses.is_valid_at(2, granted_at) is False

    bob = world.bob.address
    assert licenses.valid_license_of(asset, bob, LicenseKind.PROCESSING_USE, granted_at) == 1
    assert licenses.valid_license_of(asset, bob, LicenseKind.PRODUCT_OPERATION, granted_at) == 0
    assert licenses.valid_license_of(asset, bob, LicenseKind.PROCESSING_USE, granted_at - 1) == 0
    assert licenses.valid_license_of(asset, bob, LicenseKind.PROCESSING_USE, expires_at) == 0
    carol = world.carol.address
    assert licenses.valid_license_of(asset, carol, LicenseKind.PROCESSING_USE, granted_at) == 0


def test_valid_license_of_returns_the_earliest_valid_of_its_kind(world: World) -> None:
    licenses = world.alice.licenses
    bob = world.bob.address
    asset = world.register(world.alice)
    first = grant(world, asset, days=10)
    second = grant(world, asset, days=20)
    operation = grant(world, asset, kind=LicenseKind.PRODUCT_OPERATION)
    assert (first, second, operation) == (1, 2, 3)
    assert licenses.licenses_of(asset, bob) == (1, 2, 3)
    assert licenses.license(operation).kind is LicenseKind.PRODUCT_OPERATION

    now = world.now()
    assert licenses.valid_license_of(asset, bob, LicenseKind.PROCESSING_USE, now) == first
    assert licenses.valid_license_of(asset, bob, LicenseKind.PRODUCT_OPERATION, now) == operation
    # After the first expires, the second is the earliest still valid.
    after_first = licenses.license(first).expires_at
    assert licenses.valid_license_of(asset, bob, LicenseKind.PROCESSING_USE, after_first) == second

    world.chain.advance(100)
    revoked_at = block_time(world, licenses.revoke(first, doc("breach")))
    assert licenses.valid_license_of(asset, bob, LicenseKind.PROCESSING_USE, revoked_at) == second
    assert licenses.valid_license_of(asset, bob, LicenseKind.PROCESSING_USE, revoked_at - 1) == (
        first
    )


def test_grant_needs_the_holder_and_a_known_asset(world: World) -> None:
    asset = world.register(world.alice)
    expires_at = world.now() + DAY

    with reverts(
        "NotAssetHolder", assetId=asset, caller=world.bob.address, holder=world.alice.address
    ):
        world.bob.licenses.grant(
            asset, world.carol.address, LicenseKind.PROCESSING_USE, expires_at, doc("terms")
        )
    with reverts("UnknownAsset", assetId=UNKNOWN_ASSET):
        world.alice.licenses.grant(
            UNKNOWN_ASSET, world.bob.address, LicenseKind.PROCESSING_USE, expires_at, doc("terms")
        )
    assert world.alice.licenses.license_count() == 0


def test_grant_refused_on_rejected_and_cancelled_assets(world: World) -> None:
    rejected = world.register(world.alice)
    world.registrar.office.reject(rejected, doc("refused"))
    cancelled = world.register(world.alice)
    world.alice.registry.cancel(cancelled, doc("withdrawn"))
    expires_at = world.now() + DAY

    with reverts("AssetNotModifiable", assetId=rejected, status=AssetStatus.REJECTED):
        world.alice.licenses.grant(
            rejected, world.bob.address, LicenseKind.PROCESSING_USE, expires_at, doc("terms")
        )
    with reverts("AssetNotModifiable", assetId=cancelled, status=AssetStatus.CANCELLED):
        world.alice.licenses.grant(
            cancelled, world.bob.address, LicenseKind.PRODUCT_OPERATION, expires_at, doc("terms")
        )


def test_grant_refused_while_frozen(world: World) -> None:
    asset = world.register(world.alice)
    world.bob.court.open(asset, doc("evidence"))
    world.arbiter.court.freeze(1)

    with reverts("AssetFrozen", assetId=asset):
        world.alice.licenses.grant(
            asset, world.erin.address, LicenseKind.PROCESSING_USE, world.now() + DAY, doc("terms")
        )


def test_grant_needs_active_participants(world: World) -> None:
    licenses = world.alice.licenses
    asset = world.register(world.alice)
    expires_at = world.now() + DAY

    with reverts(
        "ParticipantNotActive", account=world.stranger.address, status=ParticipantStatus.NONE
    ):
        licenses.grant(
            asset, world.stranger.address, LicenseKind.PROCESSING_USE, expires_at, doc("terms")
        )

    world.registrar.registry.suspend_participant(world.bob.address, doc("sanctioned"))
    with reverts(
        "ParticipantNotActive", account=world.bob.address, status=ParticipantStatus.SUSPENDED
    ):
        licenses.grant(asset, world.bob.address, LicenseKind.PROCESSING_USE, expires_at, doc("t"))

    world.registrar.registry.suspend_participant(world.alice.address, doc("sanctioned"))
    with reverts(
        "ParticipantNotActive", account=world.alice.address, status=ParticipantStatus.SUSPENDED
    ):
        licenses.grant(asset, world.erin.address, LicenseKind.PROCESSING_USE, expires_at, doc("t"))
    assert licenses.license_count() == 0


def test_grant_rejects_invalid_arguments(world: World) -> None:
    licenses = world.alice.licenses
    bob = world.bob.address
    asset = world.register(world.alice)
    expires_at = world.now() + DAY

    with reverts("InvalidLicensee", licensee=ZERO_ADDRESS):
        licenses.grant(asset, ZERO_ADDRESS, LicenseKind.PROCESSING_USE, expires_at, doc("t"))
    with reverts("InvalidLicensee", licensee=world.alice.address):
        licenses.grant(asset, world.alice.address, LicenseKind.PROCESSING_USE, expires_at, doc("t"))
    with reverts("InvalidLicenseKind", kind=0):
        licenses.grant(asset, bob, LicenseKind.NONE, expires_at, doc("t"))
    with reverts("InvalidLicenseKind", kind=3):
        licenses.grant(asset, bob, 3, expires_at, doc("t"))
    with reverts("ZeroTermsHash"):
        licenses.grant(asset, bob, LicenseKind.PROCESSING_USE, expires_at, b"\x00" * 32)
    assert licenses.license_count() == 0


def test_grant_expiry_must_be_in_the_future(world: World) -> None:
    asset = world.register(world.alice)
    block = world.w3.eth.block_number
    now = int(world.w3.eth.get_block(block)["timestamp"])

    with reverts("LicenseExpiryInPast", expiresAt=now, timestamp=now):
        grant_call_at(world, block, asset, now)
    with reverts("LicenseExpiryInPast", expiresAt=now - DAY, timestamp=now):
        grant_call_at(world, block, asset, now - DAY)
    assert grant_call_at(world, block, asset, now + 1) == 1

    # The same check on a sent transaction: it runs at the next block's time, which the
    # backend chooses (the latest block's second or the one after).
    with pytest.raises(ContractRevertError) as info:
        world.alice.licenses.grant(
            asset, world.bob.address, LicenseKind.PROCESSING_USE, now - 1, doc("t")
        )
    error = info.value
    assert error.name == "LicenseExpiryInPast", str(error)
    timestamp = error.args_by_name.get("timestamp")
    assert error.args_by_name == {"expiresAt": now - 1, "timestamp": timestamp}
    assert isinstance(timestamp, int)
    assert now <= timestamp <= world.now() + 1
    assert world.alice.licenses.license_count() == 0


# ---------------------------------------------------------------- revoke


def test_holder_revokes_a_license(world: World) -> None:
    licenses = world.alice.licenses
    asset = world.register(world.alice)
    license_id = grant(world, asset)
    granted = licenses.license(license_id)
    world.chain.advance(100)
    reason = doc("terms breached")

    with reverts(
        "NotAssetHolder", assetId=asset, caller=world.bob.address, holder=world.alice.address
    ):
        world.bob.licenses.revoke(license_id, reason)
    receipt = licenses.revoke(license_id, reason)

    assert receipt.events == (
        LicenseRevoked(
            license_id=license_id, asset_id=asset, holder=world.alice.address, reason_hash=reason
        ),
    )
    revoked_at = block_time(world, receipt)
    assert revoked_at > granted.granted_at
    assert licenses.license(license_id) == LicenseState(
        license_id=license_id,
        asset_id=asset,
        licensor=world.alice.address,
        granted_at=granted.granted_at,
        expires_at=granted.expires_at,
        revoked_at=revoked_at,
        kind=LicenseKind.PROCESSING_USE,
        licensee=world.bob.address,
        terms_hash=doc("terms"),
    )
    assert licenses.is_valid_at(license_id, revoked_at - 1) is True
    assert licenses.is_valid_at(license_id, revoked_at) is False
    assert licenses.is_valid_at(license_id, granted.expires_at - 1) is False

    with reverts("LicenseAlreadyRevoked", licenseId=license_id, revokedAt=revoked_at):
        licenses.revoke(license_id, reason)
    with reverts("UnknownLicense", licenseId=2):
        licenses.revoke(2, reason)
    with reverts("UnknownLicense", licenseId=0):
        licenses.revoke(0, reason)


def test_license_survives_a_transfer_and_the_new_holder_may_revoke(world: World) -> None:
    asset = world.register(world.alice)
    license_id = grant(world, asset)
    world.alice.registry.transfer(asset, world.erin.address)
    now = world.now()

    assert world.alice.registry.holder_of(asset) == world.erin.address
    assert world.alice.licenses.is_valid_at(license_id, now) is True
    assert (
        world.alice.licenses.valid_license_of(
            asset, world.bob.address, LicenseKind.PROCESSING_USE, now
        )
        == license_id
    )
    assert world.alice.licenses.license(license_id).licensor == world.alice.address

    with reverts(
        "NotAssetHolder", assetId=asset, caller=world.alice.address, holder=world.erin.address
    ):
        world.alice.licenses.revoke(license_id, doc("no longer mine"))
    receipt = world.erin.licenses.revoke(license_id, doc("new holder's policy"))

    assert receipt.events == (
        LicenseRevoked(
            license_id=license_id,
            asset_id=asset,
            holder=world.erin.address,
            reason_hash=doc("new holder's policy"),
        ),
    )
    assert world.erin.licenses.license(license_id).revoked_at == block_time(world, receipt)


def test_an_expired_license_cannot_be_revoked(world: World) -> None:
    licenses = world.alice.licenses
    asset = world.register(world.alice)
    license_id = grant(world, asset, days=1)
    expires_at = licenses.license(license_id).expires_at

    assert licenses.is_valid_at(license_id, expires_at - 1) is True
    assert licenses.is_valid_at(license_id, expires_at) is False
    world.chain.set_time(expires_at)

    with reverts("LicenseAlreadyExpired", licenseId=license_id, expiresAt=expires_at):
        licenses.revoke(license_id, doc("too late"))
    assert licenses.license(license_id).revoked_at == 0
