"""AppraisalRegistry: valuations recorded by appraisers, the latest superseding the earlier."""

from __future__ import annotations

from typing import Final

from helpers.assertions import reverts
from helpers.builders import doc, sha256
from helpers.world import World
from provledger.chain.enums import AssetStatus, ValuationMethod
from provledger.chain.events import AppraisalRecorded
from provledger.chain.ids import asset_id, role_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import AppraisalState

#: An asset id nobody registered.
UNKNOWN_ASSET: Final = asset_id(sha256("content never registered (appraisals)"))
#: 1,250,000.00 CNY in fen.
AMOUNT: Final = 125_000_000


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that mined ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


def test_appraiser_records_a_valuation(world: World) -> None:
    appraisals = world.appraiser.appraisals
    asset = world.register(world.alice)
    report = doc("appraisal report 2024-001")
    assert appraisals.appraisal_count() == 0
    assert appraisals.current_appraisal_of(asset) == 0

    receipt = appraisals.appraise(asset, AMOUNT, "CNY", ValuationMethod.COST, report)

    assert receipt.events == (
        AppraisalRecorded(
            appraisal_id=1,
            asset_id=asset,
            appraiser=world.appraiser.address,
            amount=AMOUNT,
            currency=b"CNY",
            method=ValuationMethod.COST,
            report_hash=report,
            supersedes=0,
        ),
    )
    assert appraisals.appraisal(1) == AppraisalState(
        appraisal_id=1,
        asset_id=asset,
        amount=AMOUNT,
        currency="CNY",
        method=ValuationMethod.COST,
        appraised_at=block_time(world, receipt),
        appraiser=world.appraiser.address,
        supersedes=0,
        report_hash=report,
    )
    assert appraisals.current_appraisal_of(asset) == 1
    assert appraisals.appraisal_count() == 1
    assert appraisals.appraisal(2).asset_id == 0


def test_a_later_appraisal_supersedes_and_history_is_kept(world: World) -> None:
    appraisals = world.appraiser.appraisals
    asset = world.register(world.alice)
    other = world.register(world.bob)
    first_receipt = appraisals.appraise(asset, AMOUNT, "CNY", ValuationMethod.COST, doc("r1"))
    first = appraisals.appraisal(1)

    receipt = appraisals.appraise(asset, 2 * AMOUNT, "USD", ValuationMethod.MARKET, doc("r2"))

    assert receipt.events == (
        AppraisalRecorded(
            appraisal_id=2,
            asset_id=asset,
            appraiser=world.appraiser.address,
            amount=2 * AMOUNT,
            currency=b"USD",
            method=ValuationMethod.MARKET,
            report_hash=doc("r2"),
            supersedes=1,
        ),
    )
    assert appraisals.appraisal(2) == AppraisalState(
        appraisal_id=2,
        asset_id=asset,
        amount=2 * AMOUNT,
        currency="USD",
        method=ValuationMethod.MARKET,
        appraised_at=block_time(world, receipt),
        appraiser=world.appraiser.address,
        supersedes=1,
        report_hash=doc("r2"),
    )
    assert appraisals.current_appraisal_of(asset) == 2
    assert appraisals.appraisal(1) == first
    assert first == AppraisalState(
        appraisal_id=1,
        asset_id=asset,
        amount=AMOUNT,
        currency="CNY",
        method=ValuationMethod.COST,
        appraised_at=block_time(world, first_receipt),
        appraiser=world.appraiser.address,
        supersedes=0,
        report_hash=doc("r1"),
    )

    # Supersession is per asset: another asset's first appraisal supersedes nothing.
    third = appraisals.appraise(other, 7, "HKD", ValuationMethod.INCOME, doc("r3"))
    assert third.event(AppraisalRecorded).appraisal_id == 3
    assert third.event(AppraisalRecorded).supersedes == 0
    assert appraisals.current_appraisal_of(other) == 3
    assert appraisals.current_appraisal_of(asset) == 2
    assert appraisals.appraisal_count() == 3


def test_appraise_rejects_invalid_arguments(world: World) -> None:
    appraisals = world.appraiser.appraisals
    asset = world.register(world.alice)

    with reverts("ZeroValuation"):
        appraisals.appraise(asset, 0, "CNY", ValuationMethod.COST, doc("r"))
    for currency in ("cny", "CN\x00", "C1Y", "CN[", "@NY"):
        with reverts("InvalidCurrency", currency=currency.encode("ascii")):
            appraisals.appraise(asset, AMOUNT, currency, ValuationMethod.COST, doc("r"))
    with reverts("InvalidValuationMethod", method=0):
        appraisals.appraise(asset, AMOUNT, "CNY", ValuationMethod.NONE, doc("r"))
    with reverts("InvalidValuationMethod", method=4):
        appraisals.appraise(asset, AMOUNT, "CNY", 4, doc("r"))
    with reverts("ZeroReportHash"):
        appraisals.appraise(asset, AMOUNT, "CNY", ValuationMethod.INCOME, b"\x00" * 32)
    with reverts("UnknownAsset", assetId=UNKNOWN_ASSET):
        appraisals.appraise(UNKNOWN_ASSET, AMOUNT, "CNY", ValuationMethod.COST, doc("r"))
    assert appraisals.appraisal_count() == 0


def test_only_appraisers_appraise(world: World) -> None:
    asset = world.register(world.alice)
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=world.alice.address,
        neededRole=role_id("APPRAISER_ROLE"),
    ):
        world.alice.appraisals.appraise(asset, AMOUNT, "CNY", ValuationMethod.COST, doc("r"))


def test_appraise_refused_on_cancelled_and_rejected_assets(world: World) -> None:
    appraisals = world.appraiser.appraisals
    cancelled = world.register(world.alice)
    world.alice.registry.cancel(cancelled, doc("withdrawn"))
    rejected = world.register(world.alice)
    world.registrar.office.reject(rejected, doc("refused"))

    with reverts("AssetNotModifiable", assetId=cancelled, status=AssetStatus.CANCELLED):
        appraisals.appraise(cancelled, AMOUNT, "CNY", ValuationMethod.COST, doc("r"))
    with reverts("AssetNotModifiable", assetId=rejected, status=AssetStatus.REJECTED):
        appraisals.appraise(rejected, AMOUNT, "CNY", ValuationMethod.COST, doc("r"))
    assert appraisals.current_appraisal_of(cancelled) == 0
