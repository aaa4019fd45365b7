"""DataMarket: offers, counter-bids, delivery versus payment, pulled proceeds and fees.

A holder lists an asset or offers licenses to it at a price in the native currency or in a
listed ERC-20 token; a buyer pays the price (or escrows a counter-bid the seller may accept)
and, in the same transaction, receives the asset through the registry (every transfer rule
applies) or a license through the LicenseRegistry (``grantFor``, gated by MARKET_ROLE). Money
leaves the market only through ``withdraw``. The platform fee rate is fixed into each offer.

Payment tokens are harness contracts from ``tests/artifacts`` deployed inside each test (the
snapshot revert removes them): ``TestToken``, a plain ERC-20, and ``ReentrantToken``, which calls
back into the market while the market moves it.
"""

from __future__ import annotations

from typing import Any, Final

import pytest
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.types import Wei

from helpers.assertions import reverts
from helpers.builders import doc, sha256
from helpers.tokens import HarnessToken
from helpers.world import World
from provledger.chain.client import NATIVE, Provledger
from provledger.chain.enums import (
    AssetStatus,
    BidStatus,
    LicenseKind,
    OfferKind,
    OfferStatus,
    ParticipantStatus,
)
from provledger.chain.events import (
    BidCancelled,
    BidPlaced,
    CurrencyListingChanged,
    DisputeOpened,
    ExportPermitUsed,
    FeeUpdated,
    LicenseGranted,
    OfferCancelled,
    OfferCreated,
    ProceedsWithdrawn,
    TradeSettled,
    Transfer,
)
from provledger.chain.ids import asset_id, role_id
from provledger.chain.reverts import revert_from_exception
from provledger.chain.transactions import Receipt, Sender
from provledger.chain.types import BidState, LicenseState, OfferState

DAY: Final = 24 * 3600
#: The native currency's address in offers and events.
ZERO: Final = Web3.to_checksum_address(NATIVE)
ZERO_HASH: Final = b"\x00" * 32
#: Odd prices, so that ``price * feeBps // 10_000`` rounds down.
PRICE: Final = 1_000_000_000_000_039
MIN_BID: Final = 400_000_000_000_011
BID: Final = 700_000_000_000_013
FEE_BPS: Final = 250
MAX_FEE_BPS: Final = 1000
TERMS: Final = doc("license terms v1")
SCOPE: Final = "model training on the cleaned set, mainland China only; 加工使用"
#: Enough gas for a purchase sent without an estimate (to mine a failing one).
BUY_GAS: Final = 600_000
#: ``ReentrancyGuardReentrantCall()``: what a reentry into a guarded function reverts with.
REENTRANCY_SELECTOR: Final = keccak(text="ReentrancyGuardReentrantCall()")[:4]
ADMIN_ROLE: Final = role_id("DEFAULT_ADMIN_ROLE")
MARKET_ROLE: Final = role_id("MARKET_ROLE")
#: An asset id nobody registered.
UNKNOWN_ASSET: Final = asset_id(sha256("content never registered (market)"))


# ---------------------------------------------------------------- helpers


def market_address(world: World) -> ChecksumAddress:
    """The deployed DataMarket."""
    return world.deployment.address("DataMarket")


def signer(actor: Provledger) -> LocalAccount:
    """The signing account of ``actor``."""
    assert actor.account is not None
    return actor.account


def balance(world: World, address: str) -> int:
    """The native balance of ``address``."""
    return int(world.w3.eth.get_balance(Web3.to_checksum_address(address)))


def fee_paid(world: World, tx_hash: bytes) -> int:
    """What the sender of ``tx_hash`` paid for gas: gas used times the effective gas price."""
    raw = world.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    return int(raw["gasUsed"]) * int(raw["effectiveGasPrice"])


def gas_cost(world: World, receipt: Receipt) -> int:
    """The gas cost of a mined transaction: ``gas_used * effectiveGasPrice``."""
    raw = world.w3.eth.get_transaction_receipt(HexBytes(receipt.tx_hash))
    return receipt.gas_used * int(raw["effectiveGasPrice"])


def last_failed_cost(world: World) -> int:
    """The gas cost of the failed transaction that the latest block holds (and nothing else)."""
    block = world.w3.eth.get_block("latest")
    transactions = block["transactions"]
    assert len(transactions) == 1
    tx_hash = bytes(HexBytes(transactions[0]))  # type: ignore[arg-type]
    assert int(world.w3.eth.get_transaction_receipt(HexBytes(tx_hash))["status"]) == 0
    return fee_paid(world, tx_hash)


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that mined ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


def latest_block(world: World) -> tuple[int, int]:
    """The latest block's number and timestamp."""
    block = world.w3.eth.get_block("latest")
    return int(block["number"]), int(block["timestamp"])


def simulate(
    world: World, actor: Provledger, block: int, function: str, *args: Any, value: int = 0
) -> None:
    """Call market ``function(*args)`` as ``actor`` at ``block``, whose timestamp it then reads.

    A simulated call at a fixed block sees that block's time on every backend, which makes the
    timestamp of ``ExpiryInPast`` exact. A revert raises :class:`ContractRevertError`.
    """
    market = actor.market
    try:
        world.w3.eth.call(
            {
                "from": actor.address,
                "to": market.address,
                "data": HexBytes(market.encode(function, *args)),
                "value": Wei(value),
            },
            block_identifier=block,
        )
    except Exception as error:
        revert = revert_from_exception(error)
        if revert is None:
            raise
        raise revert from error


def list_asset(
    world: World,
    *,
    seller: Provledger | None = None,
    asset: int | None = None,
    price: int = PRICE,
    currency: str = NATIVE,
    min_bid: int = 0,
    days: int = 7,
    grade: int = 1,
) -> tuple[int, int]:
    """List an asset (a fresh one of ``grade`` unless given) for sale; return (asset, offer)."""
    holder = seller if seller is not None else world.alice
    listed = asset if asset is not None else world.register(holder, grade=grade)
    holder.registry.approve(market_address(world), listed)
    receipt = holder.market.list_asset(
        listed, price, world.now() + days * DAY, currency=currency, min_bid=min_bid
    )
    return listed, receipt.event(OfferCreated).offer_id


def offer_license(
    world: World,
    *,
    seller: Provledger | None = None,
    asset: int | None = None,
    kind: LicenseKind = LicenseKind.PROCESSING_USE,
    duration: int = 30 * DAY,
    price: int = PRICE,
    currency: str = NATIVE,
    min_bid: int = 0,
    days: int = 7,
    grade: int = 1,
) -> tuple[int, int]:
    """Offer licenses on an asset (a fresh one unless given); return (asset, offer)."""
    holder = seller if seller is not None else world.alice
    offered = asset if asset is not None else world.register(holder, grade=grade)
    receipt = holder.market.offer_license(
        offered,
        kind,
        duration,
        TERMS,
        SCOPE,
        price,
        world.now() + days * DAY,
        currency=currency,
        min_bid=min_bid,
    )
    return offered, receipt.event(OfferCreated).offer_id


def listed_token(world: World, name: str = "TestToken") -> HarnessToken:
    """Deploy harness token ``name`` and have the admin list it as a market currency."""
    deployed = HarnessToken(world.w3, signer(world.admin), name)
    world.admin.market.set_currency_listed(deployed.address)
    return deployed


def fund(world: World, token: HarnessToken, actor: Provledger, amount: int) -> None:
    """Mint ``amount`` to ``actor`` and let the market take all of it."""
    token.mint(signer(actor), actor.address, amount)
    actor.market.token(token.address).approve(market_address(world), amount)


def set_fee(world: World, bps: int = FEE_BPS) -> ChecksumAddress:
    """Set the platform fee to ``bps`` for a spare account; return the recipient."""
    recipient = world.actor(12).address
    world.admin.market.set_fee(recipient, bps)
    return recipient


def freeze(world: World, asset: int) -> None:
    """Freeze ``asset``: a stranger opens a dispute over it and the arbiter freezes it."""
    opened = world.stranger.court.open(asset, doc("evidence of a prior claim"))
    world.arbiter.court.freeze(opened.event(DisputeOpened).dispute_id)


@pytest.fixture
def token(world: World) -> HarnessToken:
    """A TestToken listed as a market currency (deployed per test; the snapshot undoes it)."""
    return listed_token(world)


# ---------------------------------------------------------------- administration


def test_market_starts_empty(world: World) -> None:
    market = world.alice.market
    assert market.fee() == (ZERO, 0)
    assert market.counts() == (0, 0, 0)
    assert market.is_currency_listed(NATIVE) is True
    assert market.is_currency_listed(world.stranger.address) is False
    assert market.owed_to(world.alice.address) == 0
    assert market.offer(1) == OfferState(
        offer_id=1,
        seller=ZERO,
        expires_at=0,
        kind=OfferKind.NONE,
        status=OfferStatus.NONE,
        license_kind=LicenseKind.NONE,
        fee_bps=0,
        asset_id=0,
        currency=ZERO,
        license_duration=0,
        price=0,
        min_bid=0,
        terms_hash=ZERO_HASH,
        scope="",
    )
    assert market.bid_state(1) == BidState(
        bid_id=1, offer_id=0, bidder=ZERO, expires_at=0, status=BidStatus.NONE, amount=0
    )
    assert market._call("MAX_FEE_BPS") == MAX_FEE_BPS
    assert market._call("registry") == world.deployment.address("DataAssetRegistry")
    assert world.alice.registry.has_role("MARKET_ROLE", market_address(world)) is True


def test_admin_sets_the_fee_up_to_the_cap(world: World) -> None:
    market = world.admin.market
    recipient = world.actor(12).address

    receipt = market.set_fee(recipient, FEE_BPS)
    assert receipt.events == (
        FeeUpdated(fee_recipient=recipient, fee_bps=FEE_BPS, admin=world.admin.address),
    )
    assert market.fee() == (recipient, FEE_BPS)

    with reverts("FeeAboveCap", feeBps=MAX_FEE_BPS + 1, cap=MAX_FEE_BPS):
        market.set_fee(recipient, MAX_FEE_BPS + 1)
    with reverts("InvalidFeeRecipient", feeRecipient=ZERO):
        market.set_fee(ZERO, 1)
    assert market.fee() == (recipient, FEE_BPS)

    at_cap = market.set_fee(recipient, MAX_FEE_BPS)
    assert at_cap.events == (
        FeeUpdated(fee_recipient=recipient, fee_bps=MAX_FEE_BPS, admin=world.admin.address),
    )
    switched_off = market.set_fee(ZERO, 0)
    assert switched_off.events == (
        FeeUpdated(fee_recipient=ZERO, fee_bps=0, admin=world.admin.address),
    )
    assert market.fee() == (ZERO, 0)


def test_admin_lists_and_delists_currencies(world: World, token: HarnessToken) -> None:
    market = world.admin.market
    assert market.is_currency_listed(token.address) is True  # listed by the fixture
    asset, offer = list_asset(world, currency=token.address)

    delisted = market.set_currency_listed(token.address, False)
    assert delisted.events == (
        CurrencyListingChanged(currency=token.address, listed=False, admin=world.admin.address),
    )
    assert market.is_currency_listed(token.address) is False
    # delisting stops new offers in the token; an offer made before still sells in it
    with reverts("UnknownCurrency", currency=token.address):
        world.alice.market.offer_license(
            asset,
            LicenseKind.PROCESSING_USE,
            DAY,
            TERMS,
            SCOPE,
            PRICE,
            world.now() + DAY,
            currency=token.address,
        )
    fund(world, token, world.bob, PRICE)
    settled = world.bob.market.buy(offer).event(TradeSettled)
    assert (settled.offer_id, settled.currency, settled.price) == (offer, token.address, PRICE)
    assert market.owed_to(world.alice.address, token.address) == PRICE

    listed = market.set_currency_listed(token.address, True)
    assert listed.events == (
        CurrencyListingChanged(currency=token.address, listed=True, admin=world.admin.address),
    )
    assert market.is_currency_listed(token.address) is True

    with reverts("InvalidCurrency", currency=ZERO):
        market.set_currency_listed(NATIVE, True)
    with reverts("InvalidCurrency", currency=ZERO):
        market.set_currency_listed(NATIVE, False)
    assert market.is_currency_listed(NATIVE) is True


def test_only_an_admin_sets_the_fee_and_the_currencies(world: World) -> None:
    for actor in (world.registrar, world.arbiter, world.alice, world.stranger):
        with reverts(
            "AccessControlUnauthorizedAccount", account=actor.address, neededRole=ADMIN_ROLE
        ):
            actor.market.set_fee(actor.address, 100)
        with reverts(
            "AccessControlUnauthorizedAccount", account=actor.address, neededRole=ADMIN_ROLE
        ):
            actor.market.set_currency_listed(world.stranger.address, True)
    assert world.alice.market.fee() == (ZERO, 0)
    assert world.alice.market.is_currency_listed(world.stranger.address) is False


# ---------------------------------------------------------------- offers


def test_list_asset_records_the_offer(world: World) -> None:
    set_fee(world)
    asset = world.register(world.alice)
    world.alice.registry.approve(market_address(world), asset)
    expires_at = world.now() + 7 * DAY

    receipt = world.alice.market.list_asset(asset, PRICE, expires_at, min_bid=MIN_BID)

    assert receipt.events == (
        OfferCreated(
            offer_id=1,
            asset_id=asset,
            seller=world.alice.address,
            kind=OfferKind.ASSET,
            currency=ZERO,
            price=PRICE,
            min_bid=MIN_BID,
            expires_at=expires_at,
            fee_bps=FEE_BPS,
            license_kind=LicenseKind.NONE,
            license_duration=0,
            terms_hash=ZERO_HASH,
            scope="",
        ),
    )
    assert world.alice.market.offer(1) == OfferState(
        offer_id=1,
        seller=world.alice.address,
        expires_at=expires_at,
        kind=OfferKind.ASSET,
        status=OfferStatus.OPEN,
        license_kind=LicenseKind.NONE,
        fee_bps=FEE_BPS,
        asset_id=asset,
        currency=ZERO,
        license_duration=0,
        price=PRICE,
        min_bid=MIN_BID,
        terms_hash=ZERO_HASH,
        scope="",
    )
    assert world.alice.market.counts() == (1, 0, 0)
    # listing moves nothing: the asset stays with its holder until a trade
    assert world.alice.registry.holder_of(asset) == world.alice.address


def test_offer_license_records_the_offer(world: World, token: HarnessToken) -> None:
    asset = world.register(world.alice)  # no market approval is needed for licenses
    expires_at = world.now() + 7 * DAY
    duration = 90 * DAY

    receipt = world.alice.market.offer_license(
        asset,
        LicenseKind.PRODUCT_OPERATION,
        duration,
        TERMS,
        SCOPE,
        PRICE,
        expires_at,
        currency=token.address,
        min_bid=MIN_BID,
    )

    assert receipt.events == (
        OfferCreated(
            offer_id=1,
            asset_id=asset,
            seller=world.alice.address,
            kind=OfferKind.LICENSE,
            currency=token.address,
            price=PRICE,
            min_bid=MIN_BID,
            expires_at=expires_at,
            fee_bps=0,
            license_kind=LicenseKind.PRODUCT_OPERATION,
            license_duration=duration,
            terms_hash=TERMS,
            scope=SCOPE,
        ),
    )
    assert world.alice.market.offer(1) == OfferState(
        offer_id=1,
        seller=world.alice.address,
        expires_at=expires_at,
        kind=OfferKind.LICENSE,
        status=OfferStatus.OPEN,
        license_kind=LicenseKind.PRODUCT_OPERATION,
        fee_bps=0,
        asset_id=asset,
        currency=token.address,
        license_duration=duration,
        price=PRICE,
        min_bid=MIN_BID,
        terms_hash=TERMS,
        scope=SCOPE,
    )

    # asset and license offers share one sequence of ids
    _, second = list_asset(world)
    assert second == 2
    assert world.alice.market.counts() == (2, 0, 0)


def test_approval_for_all_tokens_lets_the_market_list_and_deliver(world: World) -> None:
    asset = world.register(world.alice)
    market = market_address(world)
    world.alice.registry._send("setApprovalForAll", market, True)

    offer = (
        world.alice.market.list_asset(asset, PRICE, world.now() + DAY).event(OfferCreated).offer_id
    )
    receipt = world.bob.market.buy(offer, value=PRICE)

    assert receipt.event(Transfer) == Transfer(
        from_=world.alice.address, to=world.bob.address, token_id=asset
    )
    assert world.alice.registry.holder_of(asset) == world.bob.address


def test_seller_must_hold_the_asset_and_approve_the_market(world: World) -> None:
    asset = world.register(world.alice)
    expires_at = world.now() + DAY
    alice = world.alice.address

    with reverts("NotAssetHolder", assetId=asset, caller=world.bob.address, holder=alice):
        world.bob.market.list_asset(asset, PRICE, expires_at)
    with reverts("NotAssetHolder", assetId=asset, caller=world.bob.address, holder=alice):
        world.bob.market.offer_license(
            asset, LicenseKind.PROCESSING_USE, DAY, TERMS, SCOPE, PRICE, expires_at
        )
    with reverts("UnknownAsset", assetId=UNKNOWN_ASSET):
        world.alice.market.list_asset(UNKNOWN_ASSET, PRICE, expires_at)
    with reverts("UnknownAsset", assetId=UNKNOWN_ASSET):
        world.alice.market.offer_license(
            UNKNOWN_ASSET, LicenseKind.PROCESSING_USE, DAY, TERMS, SCOPE, PRICE, expires_at
        )
    with reverts("MarketNotApproved", assetId=asset, holder=alice):
        world.alice.market.list_asset(asset, PRICE, expires_at)
    # approving someone else does not help
    world.alice.registry.approve(world.relayer.address, asset)
    with reverts("MarketNotApproved", assetId=asset, holder=alice):
        world.alice.market.list_asset(asset, PRICE, expires_at)
    assert world.alice.market.counts() == (0, 0, 0)


@pytest.mark.parametrize(
    "status", [AssetStatus.REJECTED, AssetStatus.CANCELLED], ids=["rejected", "cancelled"]
)
def test_no_offer_on_a_rejected_or_cancelled_asset(world: World, status: AssetStatus) -> None:
    asset = world.register(world.alice)
    world.alice.registry.approve(market_address(world), asset)
    if status is AssetStatus.REJECTED:
        world.registrar.office.reject(asset, doc("incomplete application"))
    else:
        world.alice.registry.cancel(asset, doc("withdrawn"))
    expires_at = world.now() + DAY

    with reverts("AssetNotModifiable", assetId=asset, status=status):
        world.alice.market.list_asset(asset, PRICE, expires_at)
    with reverts("AssetNotModifiable", assetId=asset, status=status):
        world.alice.market.offer_license(
            asset, LicenseKind.PROCESSING_USE, DAY, TERMS, SCOPE, PRICE, expires_at
        )
    assert world.alice.market.counts() == (0, 0, 0)


def test_no_offer_on_a_frozen_asset_or_by_a_suspended_holder(world: World) -> None:
    frozen = world.register(world.alice)
    world.alice.registry.approve(market_address(world), frozen)
    freeze(world, frozen)
    held = world.register(world.alice)
    world.alice.registry.approve(market_address(world), held)
    expires_at = world.now() + DAY

    with reverts("AssetFrozen", assetId=frozen):
        world.alice.market.list_asset(frozen, PRICE, expires_at)
    with reverts("AssetFrozen", assetId=frozen):
        world.alice.market.offer_license(
            frozen, LicenseKind.PROCESSING_USE, DAY, TERMS, SCOPE, PRICE, expires_at
        )

    world.registrar.registry.suspend_participant(world.alice.address, doc("sanctioned"))
    suspended = {"account": world.alice.address, "status": ParticipantStatus.SUSPENDED}
    with reverts("ParticipantNotActive", **suspended):
        world.alice.market.list_asset(held, PRICE, expires_at)
    with reverts("ParticipantNotActive", **suspended):
        world.alice.market.offer_license(
            held, LicenseKind.PROCESSING_USE, DAY, TERMS, SCOPE, PRICE, expires_at
        )
    assert world.alice.market.counts() == (0, 0, 0)


@pytest.mark.parametrize("kind", [OfferKind.ASSET, OfferKind.LICENSE], ids=["asset", "license"])
def test_offer_terms_are_checked(world: World, kind: OfferKind) -> None:
    asset = world.register(world.alice)
    world.alice.registry.approve(market_address(world), asset)
    unlisted = world.stranger.address  # any address the admin did not list

    def make(currency: str, price: int, min_bid: int, expires_at: int) -> Receipt:
        market = world.alice.market
        if kind is OfferKind.ASSET:
            return market.list_asset(asset, price, expires_at, currency=currency, min_bid=min_bid)
        return market.offer_license(
            asset,
            LicenseKind.PROCESSING_USE,
            DAY,
            TERMS,
            SCOPE,
            price,
            expires_at,
            currency=currency,
            min_bid=min_bid,
        )

    later = world.now() + DAY
    with reverts("UnknownCurrency", currency=unlisted):
        make(unlisted, PRICE, 0, later)
    with reverts("ZeroPrice"):
        make(NATIVE, 0, 0, later)
    with reverts("MinBidAbovePrice", minBid=PRICE + 1, price=PRICE):
        make(NATIVE, PRICE, PRICE + 1, later)

    block, now = latest_block(world)
    if kind is OfferKind.ASSET:
        args: tuple[Any, ...] = (asset, ZERO, PRICE, 0)
        function = "listAsset"
    else:
        function = "offerLicense"
        args = (asset, int(LicenseKind.PROCESSING_USE), DAY, TERMS, SCOPE, ZERO, PRICE, 0)
    with reverts("ExpiryInPast", expiresAt=now, timestamp=now):
        simulate(world, world.alice, block, function, *args, now)
    with reverts("ExpiryInPast", expiresAt=now - DAY, timestamp=now):
        simulate(world, world.alice, block, function, *args, now - DAY)
    simulate(world, world.alice, block, function, *args, now + 1)  # one second ahead is fine

    # a minimum bid equal to the price is allowed
    receipt = make(NATIVE, PRICE, PRICE, later)
    assert receipt.event(OfferCreated).min_bid == PRICE
    assert world.alice.market.counts() == (1, 0, 0)


def test_license_terms_are_checked(world: World) -> None:
    asset = world.register(world.alice)
    market = world.alice.market
    expires_at = world.now() + DAY

    with reverts("InvalidLicenseKind", kind=0):
        market.offer_license(asset, LicenseKind.NONE, DAY, TERMS, SCOPE, PRICE, expires_at)
    with reverts("InvalidLicenseKind", kind=3):
        market.offer_license(asset, 3, DAY, TERMS, SCOPE, PRICE, expires_at)
    with reverts("ZeroLicenseDuration"):
        market.offer_license(asset, LicenseKind.PROCESSING_USE, 0, TERMS, SCOPE, PRICE, expires_at)
    with reverts("ZeroTermsHash"):
        market.offer_license(
            asset, LicenseKind.PROCESSING_USE, DAY, ZERO_HASH, SCOPE, PRICE, expires_at
        )
    assert market.counts() == (0, 0, 0)


def test_seller_cancels_an_offer(world: World) -> None:
    asset, offer = list_asset(world, min_bid=MIN_BID, days=1)

    with reverts(
        "NotOfferSeller", offerId=offer, caller=world.bob.address, seller=world.alice.address
    ):
        world.bob.market.cancel_offer(offer)
    with reverts("UnknownOffer", offerId=offer + 1):
        world.alice.market.cancel_offer(offer + 1)
    with reverts("UnknownOffer", offerId=0):
        world.alice.market.cancel_offer(0)

    # an expired offer may still be cancelled
    world.chain.advance(2 * DAY)
    receipt = world.alice.market.cancel_offer(offer)

    assert receipt.events == (
        OfferCancelled(offer_id=offer, asset_id=asset, seller=world.alice.address),
    )
    assert world.alice.market.offer(offer).status is OfferStatus.CANCELLED
    with reverts("OfferNotOpen", offerId=offer, status=OfferStatus.CANCELLED):
        world.alice.market.cancel_offer(offer)
    with reverts("OfferNotOpen", offerId=offer, status=OfferStatus.CANCELLED):
        world.bob.market.buy(offer, value=PRICE)
    with reverts("OfferNotOpen", offerId=offer, status=OfferStatus.CANCELLED):
        world.bob.market.bid(offer, MIN_BID, world.now() + DAY, value=MIN_BID)


def test_cancelled_license_offer_sells_no_more(world: World) -> None:
    asset, offer = offer_license(world)
    world.bob.market.buy(offer, value=PRICE)

    receipt = world.alice.market.cancel_offer(offer)

    assert receipt.events == (
        OfferCancelled(offer_id=offer, asset_id=asset, seller=world.alice.address),
    )
    with reverts("OfferNotOpen", offerId=offer, status=OfferStatus.CANCELLED):
        world.carol.market.buy(offer, value=PRICE)
    # the license already sold stays valid
    assert world.alice.licenses.is_valid_at(1, world.now()) is True


# ---------------------------------------------------------------- buying


def test_buy_an_asset_with_native_currency_and_withdraw(world: World) -> None:
    market = market_address(world)
    treasury = set_fee(world)
    asset, offer = list_asset(world)
    fee = PRICE * FEE_BPS // 10_000
    alice, bob = world.alice.address, world.bob.address
    bob_before = balance(world, bob)

    receipt = world.bob.market.buy(offer, value=PRICE)

    assert receipt.events == (
        Transfer(from_=alice, to=bob, token_id=asset),
        TradeSettled(
            trade_id=1,
            asset_id=asset,
            buyer=bob,
            offer_id=offer,
            bid_id=0,
            seller=alice,
            kind=OfferKind.ASSET,
            currency=ZERO,
            price=PRICE,
            fee=fee,
            fee_recipient=treasury,
            license_id=0,
        ),
    )
    assert fee == 25_000_000_000_000  # rounded down
    assert balance(world, bob) == bob_before - PRICE - gas_cost(world, receipt)
    assert balance(world, market) == PRICE
    assert world.alice.registry.holder_of(asset) == bob
    assert world.alice.market.offer(offer).status is OfferStatus.FILLED
    assert world.alice.market.owed_to(alice) == PRICE - fee
    assert world.alice.market.owed_to(treasury) == fee
    assert world.alice.market.owed_to(bob) == 0
    assert world.alice.market.counts() == (1, 0, 1)

    alice_before = balance(world, alice)
    proceeds = world.alice.market.withdraw()
    assert proceeds.events == (ProceedsWithdrawn(account=alice, currency=ZERO, amount=PRICE - fee),)
    assert balance(world, alice) == alice_before + PRICE - fee - gas_cost(world, proceeds)
    assert world.alice.market.owed_to(alice) == 0

    treasury_before = balance(world, treasury)
    collected = world.actor(12).market.withdraw(NATIVE)
    assert collected.events == (ProceedsWithdrawn(account=treasury, currency=ZERO, amount=fee),)
    assert balance(world, treasury) == treasury_before + fee - gas_cost(world, collected)
    assert world.alice.market.owed_to(treasury) == 0
    assert balance(world, market) == 0

    with reverts("NothingToWithdraw", account=alice, currency=ZERO):
        world.alice.market.withdraw()


def test_buy_an_asset_with_an_erc20_and_withdraw(world: World, token: HarnessToken) -> None:
    market = market_address(world)
    treasury = set_fee(world)
    asset, offer = list_asset(world, currency=token.address)
    fund(world, token, world.bob, PRICE)
    fee = PRICE * FEE_BPS // 10_000
    alice, bob = world.alice.address, world.bob.address
    bob_native = balance(world, bob)

    receipt = world.bob.market.buy(offer)

    assert receipt.events == (
        Transfer(from_=alice, to=bob, token_id=asset),
        TradeSettled(
            trade_id=1,
            asset_id=asset,
            buyer=bob,
            offer_id=offer,
            bid_id=0,
            seller=alice,
            kind=OfferKind.ASSET,
            currency=token.address,
            price=PRICE,
            fee=fee,
            fee_recipient=treasury,
            license_id=0,
        ),
    )
    assert token.balance_of(bob) == 0
    assert token.balance_of(market) == PRICE
    assert world.bob.market.token(token.address).allowance(bob, market) == 0
    assert balance(world, bob) == bob_native - gas_cost(world, receipt)  # only gas in native
    assert world.alice.registry.holder_of(asset) == bob
    assert world.alice.market.owed_to(alice, token.address) == PRICE - fee
    assert world.alice.market.owed_to(treasury, token.address) == fee
    assert world.alice.market.owed_to(alice) == 0  # nothing in the native currency

    proceeds = world.alice.market.withdraw(token.address)
    assert proceeds.events == (
        ProceedsWithdrawn(account=alice, currency=token.address, amount=PRICE - fee),
    )
    assert token.balance_of(alice) == PRICE - fee
    collected = world.actor(12).market.withdraw(token.address)
    assert collected.events == (
        ProceedsWithdrawn(account=treasury, currency=token.address, amount=fee),
    )
    assert token.balance_of(treasury) == fee
    assert token.balance_of(market) == 0
    assert world.alice.market.owed_to(alice, token.address) == 0
    assert world.alice.market.owed_to(treasury, token.address) == 0

    with reverts("NothingToWithdraw", account=alice, currency=token.address):
        world.alice.market.withdraw(token.address)
    with reverts("NothingToWithdraw", account=alice, currency=ZERO):
        world.alice.market.withdraw(NATIVE)


def test_native_payment_must_be_exact(world: World, token: HarnessToken) -> None:
    asset, offer = list_asset(world)
    _, in_tokens = list_asset(world, currency=token.address)
    fund(world, token, world.bob, PRICE)

    for sent in (PRICE - 1, PRICE + 1, 0):
        with reverts("WrongPayment", expected=PRICE, sent=sent):
            world.bob.market.buy(offer, value=sent)
    # an ERC-20 offer takes no native value at all
    with reverts("WrongPayment", expected=0, sent=1):
        world.bob.market.buy(in_tokens, value=1)
    with reverts("WrongPayment", expected=0, sent=PRICE):
        world.bob.market.buy(in_tokens, value=PRICE)

    assert world.alice.registry.holder_of(asset) == world.alice.address
    assert token.balance_of(world.bob.address) == PRICE
    assert world.alice.market.counts() == (2, 0, 0)


def test_erc20_payment_needs_allowance_and_balance(world: World, token: HarnessToken) -> None:
    market = market_address(world)
    _, offer = list_asset(world, currency=token.address)
    bob = world.bob.address
    token.mint(signer(world.bob), bob, PRICE)

    with reverts("ERC20InsufficientAllowance", spender=market, allowance=0, needed=PRICE):
        world.bob.market.buy(offer)
    world.bob.market.token(token.address).approve(market, PRICE - 1)
    with reverts("ERC20InsufficientAllowance", spender=market, allowance=PRICE - 1, needed=PRICE):
        world.bob.market.buy(offer)

    # carol approves the price but holds less than it
    token.mint(signer(world.carol), world.carol.address, PRICE - 1)
    world.carol.market.token(token.address).approve(market, PRICE)
    with reverts(
        "ERC20InsufficientBalance", sender=world.carol.address, balance=PRICE - 1, needed=PRICE
    ):
        world.carol.market.buy(offer)
    assert token.balance_of(market) == 0
    assert world.alice.market.offer(offer).status is OfferStatus.OPEN


def test_a_token_that_takes_a_fee_on_transfer_is_refused(world: World) -> None:
    """The market credits what it received or nothing: a short payment reverts whole."""
    fee_token = listed_token(world, "FeeToken")
    market = market_address(world)
    asset, offer = list_asset(world, currency=fee_token.address)
    fund(world, fee_token, world.bob, PRICE)

    with reverts(
        "PaymentShortfall",
        currency=fee_token.address,
        expected=PRICE,
        received=PRICE - PRICE // 100,
    ):
        world.bob.market.buy(offer)
    assert fee_token.balance_of(market) == 0
    assert world.alice.registry.holder_of(asset) == world.alice.address


def test_buyer_may_not_be_the_seller(world: World) -> None:
    _, offer = list_asset(world, min_bid=MIN_BID)
    _, licenses = offer_license(world, min_bid=MIN_BID)
    alice = world.alice.address

    for target in (offer, licenses):
        with reverts("BuyerIsSeller", offerId=target, buyer=alice):
            world.alice.market.buy(target, value=PRICE)
        with reverts("BuyerIsSeller", offerId=target, buyer=alice):
            world.alice.market.bid(target, MIN_BID, world.now() + DAY, value=MIN_BID)


def test_a_filled_asset_offer_fills_once(world: World) -> None:
    asset, offer = list_asset(world, min_bid=MIN_BID)
    world.bob.market.buy(offer, value=PRICE)

    with reverts("OfferNotOpen", offerId=offer, status=OfferStatus.FILLED):
        world.carol.market.buy(offer, value=PRICE)
    with reverts("OfferNotOpen", offerId=offer, status=OfferStatus.FILLED):
        world.carol.market.bid(offer, MIN_BID, world.now() + DAY, value=MIN_BID)
    with reverts("OfferNotOpen", offerId=offer, status=OfferStatus.FILLED):
        world.alice.market.cancel_offer(offer)
    with reverts("UnknownOffer", offerId=offer + 1):
        world.carol.market.buy(offer + 1, value=PRICE)
    assert world.alice.registry.holder_of(asset) == world.bob.address


def test_an_expired_offer_cannot_be_bought_or_bid_on(world: World) -> None:
    _, offer = list_asset(world, min_bid=MIN_BID, days=1)
    _, licenses = offer_license(world, days=1)
    expires_at = world.alice.market.offer(offer).expires_at
    license_expiry = world.alice.market.offer(licenses).expires_at

    # expiry is exclusive: at expiresAt an offer has expired
    world.chain.set_time(max(expires_at, license_expiry))

    with reverts("OfferExpired", offerId=offer, expiresAt=expires_at):
        world.bob.market.buy(offer, value=PRICE)
    with reverts("OfferExpired", offerId=offer, expiresAt=expires_at):
        world.bob.market.bid(offer, MIN_BID, expires_at + DAY, value=MIN_BID)
    with reverts("OfferExpired", offerId=licenses, expiresAt=license_expiry):
        world.bob.market.buy(licenses, value=PRICE)
    assert world.alice.market.offer(offer).status is OfferStatus.OPEN


def test_an_asset_moved_since_listing_cannot_be_sold(world: World) -> None:
    asset, offer = list_asset(world, min_bid=MIN_BID)
    _, licenses = offer_license(world, asset=asset)
    bid = (
        world.carol.market.bid(offer, MIN_BID, world.now() + DAY, value=MIN_BID)
        .event(BidPlaced)
        .bid_id
    )
    alice, erin = world.alice.address, world.erin.address
    world.alice.registry.transfer(asset, erin)

    with reverts("AssetMovedSinceListing", offerId=offer, seller=alice, holder=erin):
        world.bob.market.buy(offer, value=PRICE)
    with reverts("AssetMovedSinceListing", offerId=offer, seller=alice, holder=erin):
        world.bob.market.bid(offer, MIN_BID, world.now() + DAY, value=MIN_BID)
    with reverts("AssetMovedSinceListing", offerId=offer, seller=alice, holder=erin):
        world.alice.market.accept_bid(bid)
    with reverts("AssetMovedSinceListing", offerId=licenses, seller=alice, holder=erin):
        world.bob.market.buy(licenses, value=PRICE)

    # Back with alice, the asset offer still cannot fill: the move cleared the market's
    # approval, and the registry refuses the delivery, so the payment is not taken either.
    world.erin.registry.transfer(asset, alice)
    with reverts("ERC721InsufficientApproval", operator=market_address(world), tokenId=asset):
        world.bob.market.buy(offer, value=PRICE)
    # the license offer sells again once alice holds the asset
    receipt = world.bob.market.buy(licenses, value=PRICE)
    assert receipt.event(TradeSettled).license_id == 1


def test_an_asset_frozen_after_listing_cannot_be_sold(world: World, token: HarnessToken) -> None:
    market = market_address(world)
    asset, offer = list_asset(world, currency=token.address)
    _, licenses = offer_license(world, asset=asset)
    fund(world, token, world.bob, PRICE)
    freeze(world, asset)

    with reverts("AssetFrozen", assetId=asset):
        world.bob.market.buy(offer)
    with reverts("AssetFrozen", assetId=asset):
        world.bob.market.buy(licenses, value=PRICE)

    # mined with a fixed gas limit, the purchase fails as a whole: no tokens change hands
    with reverts("AssetFrozen", assetId=asset):
        world.bob.market.buy(offer, gas=BUY_GAS)
    assert last_failed_cost(world) > 0
    assert token.balance_of(world.bob.address) == PRICE
    assert token.balance_of(market) == 0
    assert world.bob.market.token(token.address).allowance(world.bob.address, market) == PRICE
    assert world.alice.registry.holder_of(asset) == world.alice.address
    assert world.alice.market.owed_to(world.alice.address, token.address) == 0
    assert world.alice.market.counts() == (2, 0, 0)


def test_an_asset_cancelled_after_offering_cannot_be_sold(world: World) -> None:
    asset, offer = list_asset(world)
    _, licenses = offer_license(world, asset=asset)
    world.alice.registry.cancel(asset, doc("withdrawn"))

    with reverts("AssetNotModifiable", assetId=asset, status=AssetStatus.CANCELLED):
        world.bob.market.buy(licenses, value=PRICE)
    with reverts("AssetNotTransferable", assetId=asset, status=AssetStatus.CANCELLED):
        world.bob.market.buy(offer, value=PRICE)
    assert world.alice.licenses.license_count() == 0
    assert world.alice.market.owed_to(world.alice.address) == 0


# ---------------------------------------------------------------- the registry's rules


@pytest.mark.parametrize("buyer", ["carol", "dave"])
def test_core_data_cannot_be_sold_abroad(world: World, buyer: str) -> None:
    target: Provledger = getattr(world, buyer)
    asset, offer = list_asset(world, grade=3)
    destination = world.alice.registry.participant(target.address).jurisdiction.encode()
    before = balance(world, target.address)

    with reverts(
        "CrossBorderTransferProhibited",
        assetId=asset,
        grade=3,
        fromJurisdiction=b"CN",
        toJurisdiction=destination,
    ):
        target.market.buy(offer, value=PRICE, gas=BUY_GAS)

    # the failed purchase was mined: the buyer paid its gas and nothing else
    assert balance(world, target.address) == before - last_failed_cost(world)
    assert balance(world, market_address(world)) == 0
    assert world.alice.market.owed_to(world.alice.address) == 0
    assert world.alice.registry.holder_of(asset) == world.alice.address
    assert world.alice.market.offer(offer).status is OfferStatus.OPEN
    assert world.alice.market.counts() == (1, 0, 0)
    # within the jurisdiction it sells
    receipt = world.erin.market.buy(offer, value=PRICE)
    assert receipt.event(Transfer) == Transfer(
        from_=world.alice.address, to=world.erin.address, token_id=asset
    )


def test_important_data_sold_abroad_needs_an_export_permit(world: World) -> None:
    asset, offer = list_asset(world, grade=2)
    alice, dave = world.alice.address, world.dave.address

    with reverts("ExportPermitMissing", assetId=asset, recipient=dave):
        world.dave.market.buy(offer, value=PRICE)

    world.exporter.export.issue_permit(asset, dave, world.now() + DAY)
    receipt = world.dave.market.buy(offer, value=PRICE)

    assert receipt.events == (
        ExportPermitUsed(asset_id=asset, recipient=dave, from_=alice),
        Transfer(from_=alice, to=dave, token_id=asset),
        TradeSettled(
            trade_id=1,
            asset_id=asset,
            buyer=dave,
            offer_id=offer,
            bid_id=0,
            seller=alice,
            kind=OfferKind.ASSET,
            currency=ZERO,
            price=PRICE,
            fee=0,
            fee_recipient=ZERO,
            license_id=0,
        ),
    )
    permit = world.alice.export.permit(asset, dave)
    assert permit is not None
    assert permit.used
    assert world.alice.registry.holder_of(asset) == dave


def test_a_license_sale_abroad_follows_the_cross_border_rule(world: World) -> None:
    """A license sold abroad lets the data be used abroad: grade 3 never, grade 2 under an
    export permit for the licensee, which the sale uses up; grade 1 freely."""
    core, core_offer = offer_license(world, grade=3)
    with reverts(
        "CrossBorderTransferProhibited",
        assetId=core,
        grade=3,
        fromJurisdiction=b"CN",
        toJurisdiction=b"US",
    ):
        world.dave.market.buy(core_offer, value=PRICE)  # CN -> US
    world.bob.market.buy(core_offer, value=PRICE)  # CN -> CN: no border

    important, offer = offer_license(world, grade=2)
    with reverts("ExportPermitMissing", assetId=important, recipient=world.dave.address):
        world.dave.market.buy(offer, value=PRICE)
    world.exporter.export.issue_permit(important, world.dave.address, world.now() + DAY)
    receipt = world.dave.market.buy(offer, value=PRICE)
    used = ExportPermitUsed(
        asset_id=important, recipient=world.dave.address, from_=world.alice.address
    )
    assert receipt.events[0] == used
    assert receipt.event(LicenseGranted).licensee == world.dave.address
    permit = world.exporter.export.permit(important, world.dave.address)
    assert permit is not None
    assert permit.used is True
    with reverts("ExportPermitMissing", assetId=important, recipient=world.dave.address):
        world.dave.market.buy(offer, value=PRICE)  # the permit served one sale

    general, general_offer = offer_license(world, grade=1)
    granted = world.dave.market.buy(general_offer, value=PRICE).event(LicenseGranted)
    assert (granted.licensee, granted.asset_id) == (world.dave.address, general)


def test_a_license_cannot_be_sold_under_objection(world: World) -> None:
    asset, offer = offer_license(world)
    world.notice(asset)
    world.stranger.office.object(asset, doc("grounds"))
    with reverts("AssetUnderObjection", assetId=asset):
        world.bob.market.buy(offer, value=PRICE)
    # a direct grant by the holder is not a sale: the objection does not stop it
    world.alice.licenses.grant(
        asset, world.carol.address, LicenseKind.PROCESSING_USE, world.now() + DAY, TERMS, SCOPE
    )


def test_a_sold_license_cannot_be_revoked(world: World) -> None:
    """Paid for, a license lasts until it expires: neither the seller nor a later holder can
    take it back; a license granted directly stays revocable."""
    asset, offer = offer_license(world)
    sold = world.bob.market.buy(offer, value=PRICE).event(LicenseGranted).license_id
    given = (
        world.alice.licenses.grant(
            asset, world.carol.address, LicenseKind.PROCESSING_USE, world.now() + DAY, TERMS, ""
        )
        .event(LicenseGranted)
        .license_id
    )
    assert world.alice.licenses.contract.functions.isSold(sold).call() is True
    assert world.alice.licenses.contract.functions.isSold(given).call() is False
    with reverts("SoldLicenseNotRevocable", licenseId=sold):
        world.alice.licenses.revoke(sold, doc("changed my mind"))
    world.alice.registry.transfer(asset, world.erin.address)
    with reverts("SoldLicenseNotRevocable", licenseId=sold):
        world.erin.licenses.revoke(sold, doc("new holder"))
    world.erin.licenses.revoke(given, doc("new holder"))
    assert world.admin.licenses.is_valid_at(sold, world.now()) is True


def test_buyer_and_seller_must_be_active_participants(world: World) -> None:
    asset, offer = list_asset(world)
    _, licenses = offer_license(world, asset=asset)
    stranger = world.stranger.address

    with reverts("ParticipantNotActive", account=stranger, status=ParticipantStatus.NONE):
        world.stranger.market.buy(offer, value=PRICE)
    with reverts("ParticipantNotActive", account=stranger, status=ParticipantStatus.NONE):
        world.stranger.market.buy(licenses, value=PRICE)

    world.registrar.registry.suspend_participant(world.bob.address, doc("sanctioned"))
    with reverts(
        "ParticipantNotActive", account=world.bob.address, status=ParticipantStatus.SUSPENDED
    ):
        world.bob.market.buy(offer, value=PRICE)

    # a seller suspended after offering cannot deliver either
    world.registrar.registry.suspend_participant(world.alice.address, doc("sanctioned"))
    for target in (offer, licenses):
        with reverts(
            "ParticipantNotActive",
            account=world.alice.address,
            status=ParticipantStatus.SUSPENDED,
        ):
            world.carol.market.buy(target, value=PRICE)
    assert world.alice.market.counts() == (2, 0, 0)


def test_asset_under_objection_cannot_be_sold(world: World) -> None:
    asset, offer = list_asset(world)
    world.notice(asset)
    world.stranger.office.object(asset, doc("grounds"))

    with reverts("AssetUnderObjection", assetId=asset):
        world.bob.market.buy(offer, value=PRICE)


def test_paused_registry_stops_trading_but_not_cancellations_or_withdrawals(world: World) -> None:
    asset, offer = offer_license(world, min_bid=MIN_BID)
    world.bob.market.buy(offer, value=PRICE)
    expires_at = world.now() + DAY
    bid = world.carol.market.bid(offer, MIN_BID, expires_at, value=MIN_BID).event(BidPlaced).bid_id
    listable = world.register(world.alice)
    world.alice.registry.approve(market_address(world), listable)
    world.admin.registry.pause()

    with reverts("EnforcedPause"):
        world.dave.market.buy(offer, value=PRICE)
    with reverts("EnforcedPause"):
        world.dave.market.bid(offer, MIN_BID, expires_at, value=MIN_BID)
    with reverts("EnforcedPause"):
        world.alice.market.accept_bid(bid)
    with reverts("EnforcedPause"):
        world.alice.market.list_asset(listable, PRICE, expires_at)
    with reverts("EnforcedPause"):
        world.alice.market.offer_license(
            listable, LicenseKind.PROCESSING_USE, DAY, TERMS, SCOPE, PRICE, expires_at
        )

    withdrawn = world.alice.market.cancel_offer(offer)  # a seller need not race buyers later
    assert withdrawn.events == (
        OfferCancelled(offer_id=offer, asset_id=asset, seller=world.alice.address),
    )
    cancelled = world.carol.market.cancel_bid(bid)
    assert cancelled.events == (
        BidCancelled(
            bid_id=bid, offer_id=offer, bidder=world.carol.address, currency=ZERO, refund=MIN_BID
        ),
    )
    refund = world.carol.market.withdraw()
    assert refund.events == (
        ProceedsWithdrawn(account=world.carol.address, currency=ZERO, amount=MIN_BID),
    )
    proceeds = world.alice.market.withdraw()
    assert proceeds.events == (
        ProceedsWithdrawn(account=world.alice.address, currency=ZERO, amount=PRICE),
    )
    assert balance(world, market_address(world)) == 0
    assert world.alice.market.counts() == (1, 1, 1)
    assert world.alice.registry.holder_of(asset) == world.alice.address


# ---------------------------------------------------------------- licenses


def test_a_license_offer_sells_to_several_buyers(world: World) -> None:
    treasury = set_fee(world)
    duration = 45 * DAY
    asset, offer = offer_license(world, kind=LicenseKind.PRODUCT_OPERATION, duration=duration)
    fee = PRICE * FEE_BPS // 10_000
    alice = world.alice.address

    for number, buyer in enumerate((world.bob, world.carol, world.dave), start=1):
        receipt = buyer.market.buy(offer, value=PRICE)
        granted_at = block_time(world, receipt)
        assert receipt.events == (
            LicenseGranted(
                license_id=number,
                asset_id=asset,
                licensee=buyer.address,
                licensor=alice,
                kind=LicenseKind.PRODUCT_OPERATION,
                expires_at=granted_at + duration,
                terms_hash=TERMS,
                scope=SCOPE,
            ),
            TradeSettled(
                trade_id=number,
                asset_id=asset,
                buyer=buyer.address,
                offer_id=offer,
                bid_id=0,
                seller=alice,
                kind=OfferKind.LICENSE,
                currency=ZERO,
                price=PRICE,
                fee=fee,
                fee_recipient=treasury,
                license_id=number,
            ),
        )
        licenses = world.admin.licenses
        assert licenses.license(number) == LicenseState(
            license_id=number,
            asset_id=asset,
            licensor=alice,
            granted_at=granted_at,
            expires_at=granted_at + duration,
            revoked_at=0,
            kind=LicenseKind.PRODUCT_OPERATION,
            licensee=buyer.address,
            terms_hash=TERMS,
        )
        assert licenses.is_valid_at(number, granted_at) is True
        assert licenses.is_valid_at(number, granted_at + duration - 1) is True
        assert licenses.is_valid_at(number, granted_at + duration) is False
        assert (
            licenses.valid_license_of(
                asset, buyer.address, LicenseKind.PRODUCT_OPERATION, granted_at
            )
            == number
        )

    # the offer stays open and the asset stays with its holder
    assert world.alice.market.offer(offer).status is OfferStatus.OPEN
    assert world.alice.registry.holder_of(asset) == alice
    assert world.alice.market.owed_to(alice) == 3 * (PRICE - fee)
    assert world.alice.market.owed_to(treasury) == 3 * fee
    assert balance(world, market_address(world)) == 3 * PRICE
    assert world.alice.market.counts() == (1, 0, 3)
    # a buyer may buy the same license again
    again = world.bob.market.buy(offer, value=PRICE)
    assert again.event(LicenseGranted).license_id == 4


def test_grant_for_needs_the_market_role(world: World) -> None:
    asset = world.register(world.alice)
    expires_at = world.now() + DAY

    for actor in (world.alice, world.admin, world.stranger):
        with reverts(
            "AccessControlUnauthorizedAccount", account=actor.address, neededRole=MARKET_ROLE
        ):
            actor.licenses.grant(
                asset,
                world.bob.address,
                LicenseKind.PROCESSING_USE,
                expires_at,
                TERMS,
                SCOPE,
                licensor=world.alice.address,
            )
    assert world.alice.licenses.license_count() == 0


# ---------------------------------------------------------------- counter-bids


def test_counter_bid_is_escrowed_and_accepted(world: World) -> None:
    market = market_address(world)
    treasury = set_fee(world)
    asset, offer = list_asset(world, min_bid=MIN_BID)
    alice, carol, erin = world.alice.address, world.carol.address, world.erin.address
    expires_at = world.now() + DAY
    carol_before = balance(world, carol)

    placed = world.carol.market.bid(offer, BID, expires_at, value=BID)

    assert placed.events == (
        BidPlaced(
            bid_id=1,
            offer_id=offer,
            bidder=carol,
            asset_id=asset,
            currency=ZERO,
            amount=BID,
            expires_at=expires_at,
        ),
    )
    assert balance(world, carol) == carol_before - BID - gas_cost(world, placed)
    assert world.alice.market.bid_state(1) == BidState(
        bid_id=1,
        offer_id=offer,
        bidder=carol,
        expires_at=expires_at,
        status=BidStatus.OPEN,
        amount=BID,
    )
    # a second bid, at exactly the minimum
    second = world.erin.market.bid(offer, MIN_BID, expires_at, value=MIN_BID)
    assert second.event(BidPlaced).bid_id == 2
    assert balance(world, market) == BID + MIN_BID
    assert world.alice.market.counts() == (1, 2, 0)

    accepted = world.alice.market.accept_bid(1)

    fee = BID * FEE_BPS // 10_000
    assert accepted.events == (
        Transfer(from_=alice, to=carol, token_id=asset),
        TradeSettled(
            trade_id=1,
            asset_id=asset,
            buyer=carol,
            offer_id=offer,
            bid_id=1,
            seller=alice,
            kind=OfferKind.ASSET,
            currency=ZERO,
            price=BID,
            fee=fee,
            fee_recipient=treasury,
            license_id=0,
        ),
    )
    assert world.alice.registry.holder_of(asset) == carol
    assert world.alice.market.bid_state(1).status is BidStatus.ACCEPTED
    assert world.alice.market.offer(offer).status is OfferStatus.FILLED
    assert world.alice.market.owed_to(alice) == BID - fee
    assert world.alice.market.owed_to(treasury) == fee
    assert world.alice.market.owed_to(carol) == 0
    with reverts("BidNotOpen", bidId=1, status=BidStatus.ACCEPTED):
        world.carol.market.cancel_bid(1)

    # erin's bid stays escrowed until erin takes it back
    assert world.alice.market.bid_state(2).status is BidStatus.OPEN
    with reverts("OfferNotOpen", offerId=offer, status=OfferStatus.FILLED):
        world.alice.market.accept_bid(2)
    cancelled = world.erin.market.cancel_bid(2)
    assert cancelled.events == (
        BidCancelled(bid_id=2, offer_id=offer, bidder=erin, currency=ZERO, refund=MIN_BID),
    )
    erin_before = balance(world, erin)
    refund = world.erin.market.withdraw()
    assert refund.events == (ProceedsWithdrawn(account=erin, currency=ZERO, amount=MIN_BID),)
    assert balance(world, erin) == erin_before + MIN_BID - gas_cost(world, refund)
    assert balance(world, market) == BID
    assert world.alice.market.counts() == (1, 2, 1)


def test_counter_bid_in_tokens_is_cancelled_and_refunded(world: World, token: HarnessToken) -> None:
    market = market_address(world)
    asset, offer = offer_license(world, currency=token.address, min_bid=MIN_BID)
    bob = world.bob.address
    fund(world, token, world.bob, BID)
    expires_at = world.now() + DAY

    placed = world.bob.market.bid(offer, BID, expires_at)
    assert placed.events == (
        BidPlaced(
            bid_id=1,
            offer_id=offer,
            bidder=bob,
            asset_id=asset,
            currency=token.address,
            amount=BID,
            expires_at=expires_at,
        ),
    )
    assert token.balance_of(bob) == 0
    assert token.balance_of(market) == BID

    with reverts("NotBidder", bidId=1, caller=world.alice.address, bidder=bob):
        world.alice.market.cancel_bid(1)
    with reverts("UnknownBid", bidId=2):
        world.bob.market.cancel_bid(2)
    cancelled = world.bob.market.cancel_bid(1)
    assert cancelled.events == (
        BidCancelled(bid_id=1, offer_id=offer, bidder=bob, currency=token.address, refund=BID),
    )
    assert world.bob.market.bid_state(1).status is BidStatus.CANCELLED
    assert world.bob.market.owed_to(bob, token.address) == BID
    with reverts("BidNotOpen", bidId=1, status=BidStatus.CANCELLED):
        world.bob.market.cancel_bid(1)
    with reverts("BidNotOpen", bidId=1, status=BidStatus.CANCELLED):
        world.alice.market.accept_bid(1)

    refund = world.bob.market.withdraw(token.address)
    assert refund.events == (ProceedsWithdrawn(account=bob, currency=token.address, amount=BID),)
    assert token.balance_of(bob) == BID
    assert token.balance_of(market) == 0
    with reverts("NothingToWithdraw", account=bob, currency=token.address):
        world.bob.market.withdraw(token.address)


def test_bids_accepted_on_a_license_offer_each_buy_a_license(
    world: World, token: HarnessToken
) -> None:
    market = market_address(world)
    duration = 10 * DAY
    asset, offer = offer_license(world, currency=token.address, min_bid=MIN_BID, duration=duration)
    fund(world, token, world.bob, BID)
    fund(world, token, world.carol, MIN_BID)
    expires_at = world.now() + DAY
    world.bob.market.bid(offer, BID, expires_at)
    world.carol.market.bid(offer, MIN_BID, expires_at)

    accepted = world.alice.market.accept_bid(1)
    granted_at = block_time(world, accepted)

    assert accepted.events == (
        LicenseGranted(
            license_id=1,
            asset_id=asset,
            licensee=world.bob.address,
            licensor=world.alice.address,
            kind=LicenseKind.PROCESSING_USE,
            expires_at=granted_at + duration,
            terms_hash=TERMS,
            scope=SCOPE,
        ),
        TradeSettled(
            trade_id=1,
            asset_id=asset,
            buyer=world.bob.address,
            offer_id=offer,
            bid_id=1,
            seller=world.alice.address,
            kind=OfferKind.LICENSE,
            currency=token.address,
            price=BID,
            fee=0,
            fee_recipient=ZERO,
            license_id=1,
        ),
    )
    with reverts("BidNotOpen", bidId=1, status=BidStatus.ACCEPTED):
        world.alice.market.accept_bid(1)
    # the offer is still open: the next bid buys another license
    second = world.alice.market.accept_bid(2)
    assert second.event(TradeSettled).license_id == 2
    assert second.event(LicenseGranted).licensee == world.carol.address
    assert world.alice.market.offer(offer).status is OfferStatus.OPEN
    assert world.alice.market.owed_to(world.alice.address, token.address) == BID + MIN_BID
    assert token.balance_of(market) == BID + MIN_BID
    assert world.admin.licenses.is_valid_at(2, block_time(world, second)) is True


def test_bid_terms_are_checked(world: World, token: HarnessToken) -> None:
    market = market_address(world)
    _, offer = list_asset(world, min_bid=MIN_BID)
    _, no_bids = list_asset(world)
    _, in_tokens = list_asset(world, currency=token.address, min_bid=MIN_BID)
    later = world.now() + DAY

    with reverts("BidsNotAccepted", offerId=no_bids):
        world.bob.market.bid(no_bids, PRICE, later, value=PRICE)
    with reverts("BidBelowMinimum", offerId=offer, amount=MIN_BID - 1, minimum=MIN_BID):
        world.bob.market.bid(offer, MIN_BID - 1, later, value=MIN_BID - 1)
    with reverts("UnknownOffer", offerId=99):
        world.bob.market.bid(99, MIN_BID, later, value=MIN_BID)
    with reverts("WrongPayment", expected=BID, sent=BID - 1):
        world.bob.market.bid(offer, BID, later, value=BID - 1)
    with reverts("WrongPayment", expected=BID, sent=0):
        world.bob.market.bid(offer, BID, later)
    with reverts("WrongPayment", expected=0, sent=BID):
        world.bob.market.bid(in_tokens, BID, later, value=BID)
    with reverts("ERC20InsufficientAllowance", spender=market, allowance=0, needed=BID):
        world.bob.market.bid(in_tokens, BID, later)

    block, now = latest_block(world)
    with reverts("ExpiryInPast", expiresAt=now, timestamp=now):
        simulate(world, world.bob, block, "bid", offer, BID, now, value=BID)
    with reverts("ExpiryInPast", expiresAt=now - 1, timestamp=now):
        simulate(world, world.bob, block, "bid", offer, BID, now - 1, value=BID)
    simulate(world, world.bob, block, "bid", offer, BID, now + 1, value=BID)
    assert world.alice.market.counts() == (3, 0, 0)


def test_accepting_a_bid_is_checked(world: World) -> None:
    asset, offer = list_asset(world, min_bid=MIN_BID, days=2)
    offer_expiry = world.alice.market.offer(offer).expires_at
    short = world.now() + 3600
    world.carol.market.bid(offer, BID, short, value=BID)
    world.erin.market.bid(offer, MIN_BID, offer_expiry + DAY, value=MIN_BID)

    with reverts("UnknownBid", bidId=3):
        world.alice.market.accept_bid(3)
    with reverts(
        "NotOfferSeller", offerId=offer, caller=world.carol.address, seller=world.alice.address
    ):
        world.carol.market.accept_bid(1)

    world.chain.set_time(short)  # bid 1 expires (exclusive); the offer does not
    with reverts("BidExpired", bidId=1, expiresAt=short):
        world.alice.market.accept_bid(1)

    world.chain.set_time(offer_expiry)  # the offer expires before bid 2
    with reverts("OfferExpired", offerId=offer, expiresAt=offer_expiry):
        world.alice.market.accept_bid(2)

    # expired bids and bids on expired offers may still be taken back
    for bid, bidder in ((1, world.carol), (2, world.erin)):
        receipt = bidder.market.cancel_bid(bid)
        assert receipt.event(BidCancelled).refund == (BID if bid == 1 else MIN_BID)
    assert world.alice.registry.holder_of(asset) == world.alice.address
    assert world.alice.market.counts() == (1, 2, 0)


def test_a_bid_on_a_cancelled_offer_cannot_be_accepted(world: World) -> None:
    _, offer = list_asset(world, min_bid=MIN_BID)
    world.carol.market.bid(offer, MIN_BID, world.now() + DAY, value=MIN_BID)
    world.alice.market.cancel_offer(offer)

    with reverts("OfferNotOpen", offerId=offer, status=OfferStatus.CANCELLED):
        world.alice.market.accept_bid(1)
    # the bid stays escrowed until its bidder cancels it
    assert world.alice.market.bid_state(1).status is BidStatus.OPEN
    assert balance(world, market_address(world)) == MIN_BID
    world.carol.market.cancel_bid(1)
    assert world.alice.market.owed_to(world.carol.address) == MIN_BID


# ---------------------------------------------------------------- fees


def test_the_fee_is_fixed_into_each_offer_when_it_is_made(world: World) -> None:
    treasury = set_fee(world, FEE_BPS)
    _, first = list_asset(world)
    set_fee(world, MAX_FEE_BPS)
    _, second = list_asset(world)
    assert world.alice.market.offer(first).fee_bps == FEE_BPS
    assert world.alice.market.offer(second).fee_bps == MAX_FEE_BPS

    low = world.bob.market.buy(first, value=PRICE).event(TradeSettled)
    high = world.bob.market.buy(second, value=PRICE).event(TradeSettled)

    assert (low.fee, low.fee_recipient) == (PRICE * FEE_BPS // 10_000, treasury)
    assert (high.fee, high.fee_recipient) == (PRICE * MAX_FEE_BPS // 10_000, treasury)
    assert high.fee == 100_000_000_000_003  # 10% of PRICE, rounded down
    assert world.alice.market.owed_to(treasury) == low.fee + high.fee
    assert world.alice.market.owed_to(world.alice.address) == 2 * PRICE - low.fee - high.fee


def test_switching_fees_off_takes_no_fee_from_older_offers(world: World) -> None:
    set_fee(world, FEE_BPS)
    asset, offer = list_asset(world)
    switched_off = world.admin.market.set_fee(ZERO, 0)
    assert switched_off.event(FeeUpdated) == FeeUpdated(
        fee_recipient=ZERO, fee_bps=0, admin=world.admin.address
    )
    assert world.alice.market.offer(offer).fee_bps == FEE_BPS  # the rate stays in the offer

    receipt = world.bob.market.buy(offer, value=PRICE)

    assert receipt.event(TradeSettled) == TradeSettled(
        trade_id=1,
        asset_id=asset,
        buyer=world.bob.address,
        offer_id=offer,
        bid_id=0,
        seller=world.alice.address,
        kind=OfferKind.ASSET,
        currency=ZERO,
        price=PRICE,
        fee=0,
        fee_recipient=ZERO,
        license_id=0,
    )
    assert world.alice.market.owed_to(world.alice.address) == PRICE
    assert world.alice.market.owed_to(ZERO) == 0


def test_the_fee_of_an_older_offer_goes_to_the_current_recipient(world: World) -> None:
    """Only the rate is fixed into an offer; the recipient is read when the trade settles."""
    old = set_fee(world, FEE_BPS)
    _, offer = list_asset(world)
    new = world.actor(13).address
    world.admin.market.set_fee(new, 0)

    settled = world.bob.market.buy(offer, value=PRICE).event(TradeSettled)

    fee = PRICE * FEE_BPS // 10_000
    assert (settled.fee, settled.fee_recipient) == (fee, new)
    assert world.alice.market.owed_to(new) == fee
    assert world.alice.market.owed_to(old) == 0


def test_a_fee_that_rounds_to_zero_names_no_recipient(world: World) -> None:
    set_fee(world, FEE_BPS)
    _, offer = list_asset(world, price=39)  # 39 * 250 // 10_000 == 0

    settled = world.bob.market.buy(offer, value=39).event(TradeSettled)

    assert (settled.price, settled.fee, settled.fee_recipient) == (39, 0, ZERO)
    assert world.alice.market.owed_to(world.alice.address) == 39


def test_a_license_offer_lasts_at_most_a_hundred_years(world: World) -> None:
    """A longer duration is refused when offered: a purchase adds it to the 40-bit clock."""
    asset = world.register(world.alice)
    longest = 100 * 365 * DAY
    with reverts("LicenseDurationTooLong", licenseDuration=longest + 1, maximum=longest):
        world.alice.market.offer_license(
            asset, LicenseKind.PROCESSING_USE, longest + 1, TERMS, SCOPE, PRICE, world.now() + DAY
        )
    with reverts("LicenseDurationTooLong", licenseDuration=2**40 - 1, maximum=longest):
        world.alice.market.offer_license(
            asset, LicenseKind.PROCESSING_USE, 2**40 - 1, TERMS, SCOPE, PRICE, world.now() + DAY
        )
    offer = (
        world.alice.market.offer_license(
            asset, LicenseKind.PROCESSING_USE, longest, TERMS, SCOPE, PRICE, world.now() + DAY
        )
        .event(OfferCreated)
        .offer_id
    )
    receipt = world.bob.market.buy(offer, value=PRICE)
    block_time = int(world.w3.eth.get_block(receipt.block_number)["timestamp"])
    assert receipt.event(LicenseGranted).expires_at == block_time + longest


# ---------------------------------------------------------------- withdrawals


def test_nothing_to_withdraw(world: World, token: HarnessToken) -> None:
    with reverts("NothingToWithdraw", account=world.bob.address, currency=ZERO):
        world.bob.market.withdraw()
    with reverts("NothingToWithdraw", account=world.bob.address, currency=token.address):
        world.bob.market.withdraw(token.address)
    # allowed while paused, refused only for want of proceeds
    world.admin.registry.pause()
    with reverts("NothingToWithdraw", account=world.stranger.address, currency=ZERO):
        world.stranger.market.withdraw()


#: A contract that refuses the native currency and forwards any other call:
#: ``calldata = abi.encode(target) ++ payload`` calls ``target`` with ``payload`` and returns
#: or reverts with its result; empty calldata (a plain payment) reverts.
REFUSING_FORWARDER_RUNTIME: Final = bytes.fromhex(
    "3615602f57"  # 0x00: if calldatasize == 0, jump to refuse
    "602036038060206000376000600082600060006000355af1"  # 0x05: call(target, calldata[32:])
    "3d600060003e602a57"  # 0x1d: copy the returned data; if the call succeeded, jump to ok
    "3d6000fd"  # 0x26: revert with the returned data
    "5b3d6000f3"  # 0x2a ok: return the returned data
    "5b600080fd"  # 0x2f refuse: revert()
)
REFUSING_FORWARDER_INIT: Final = (
    bytes.fromhex(f"60{len(REFUSING_FORWARDER_RUNTIME):02x}80600b6000396000f3")
    + REFUSING_FORWARDER_RUNTIME
)


def test_native_withdrawal_to_an_account_that_refuses_it_fails(world: World) -> None:
    """NativeTransferFailed: the fee recipient is a contract that refuses the native currency."""
    market = market_address(world)
    sender = Sender(world.w3, signer(world.admin))
    deployed = sender.send(None, REFUSING_FORWARDER_INIT)
    raw = world.w3.eth.get_transaction_receipt(HexBytes(deployed.tx_hash))
    created = raw["contractAddress"]
    assert created is not None
    forwarder = Web3.to_checksum_address(created)
    assert bytes(world.w3.eth.get_code(forwarder)) == REFUSING_FORWARDER_RUNTIME
    world.admin.market.set_fee(forwarder, FEE_BPS)
    _, offer = list_asset(world)
    world.bob.market.buy(offer, value=PRICE)
    fee = PRICE * FEE_BPS // 10_000
    assert world.alice.market.owed_to(forwarder) == fee
    withdraw = (
        bytes(32 - 20) + bytes.fromhex(market[2:]) + world.admin.market.encode("withdraw", ZERO)
    )

    with reverts("NativeTransferFailed", account=forwarder, amount=fee):
        sender.send(forwarder, withdraw)

    assert world.alice.market.owed_to(forwarder) == fee
    assert balance(world, market) == PRICE


# ---------------------------------------------------------------- reentrancy


def reentrant_token(world: World) -> HarnessToken:
    """A listed ReentrantToken."""
    return listed_token(world, "ReentrantToken")


def reentry_of(token: HarnessToken) -> tuple[bool, bytes]:
    """Whether the token's reentry succeeded, and the revert data it got if not."""
    functions = token.contract.functions
    return bool(functions.reentered().call()), bytes(functions.reentryError().call())


def test_a_reentrant_token_cannot_buy_twice(world: World) -> None:
    market = market_address(world)
    token = reentrant_token(world)
    asset, offer = list_asset(world, currency=token.address)
    _, licenses = offer_license(world, currency=token.address)
    fund(world, token, world.bob, 2 * PRICE)
    token.send(signer(world.admin), "arm", offer)

    receipt = world.bob.market.buy(offer)

    assert receipt.events == (
        Transfer(from_=world.alice.address, to=world.bob.address, token_id=asset),
        TradeSettled(
            trade_id=1,
            asset_id=asset,
            buyer=world.bob.address,
            offer_id=offer,
            bid_id=0,
            seller=world.alice.address,
            kind=OfferKind.ASSET,
            currency=token.address,
            price=PRICE,
            fee=0,
            fee_recipient=ZERO,
            license_id=0,
        ),
    )
    assert reentry_of(token) == (False, REENTRANCY_SELECTOR)
    # the asset moved once, the buyer paid once
    assert world.alice.registry.holder_of(asset) == world.bob.address
    assert token.balance_of(world.bob.address) == PRICE
    assert token.balance_of(market) == PRICE
    assert world.alice.market.owed_to(world.alice.address, token.address) == PRICE
    assert world.alice.market.counts() == (2, 0, 1)

    # the same during a license purchase, which leaves its offer open
    token.send(signer(world.admin), "arm", licenses)
    again = world.bob.market.buy(licenses)
    assert again.event(TradeSettled).license_id == 1
    assert reentry_of(token) == (False, REENTRANCY_SELECTOR)
    assert world.admin.licenses.license_count() == 1
    assert token.balance_of(world.bob.address) == 0
    assert world.alice.market.counts() == (2, 0, 2)


def test_a_reentrant_token_cannot_buy_during_a_bid(world: World) -> None:
    token = reentrant_token(world)
    _, offer = offer_license(world, currency=token.address, min_bid=MIN_BID)
    fund(world, token, world.bob, PRICE + MIN_BID)
    token.send(signer(world.admin), "arm", offer)

    placed = world.bob.market.bid(offer, MIN_BID, world.now() + DAY)

    assert placed.event(BidPlaced).amount == MIN_BID
    assert reentry_of(token) == (False, REENTRANCY_SELECTOR)
    assert token.balance_of(world.bob.address) == PRICE
    assert world.admin.licenses.license_count() == 0
    assert world.alice.market.counts() == (1, 1, 0)


def test_a_reentrant_token_cannot_withdraw_twice(world: World) -> None:
    market = market_address(world)
    token = reentrant_token(world)
    _, first = offer_license(world, currency=token.address)
    fund(world, token, world.bob, 2 * PRICE)
    world.bob.market.buy(first)
    world.bob.market.buy(first)  # alice is owed two prices in the token
    token.send(signer(world.admin), "arm", 0)

    receipt = world.alice.market.withdraw(token.address)

    assert receipt.events == (
        ProceedsWithdrawn(account=world.alice.address, currency=token.address, amount=2 * PRICE),
    )
    assert reentry_of(token) == (False, REENTRANCY_SELECTOR)
    assert token.balance_of(world.alice.address) == 2 * PRICE
    assert token.balance_of(market) == 0
    assert world.alice.market.owed_to(world.alice.address, token.address) == 0
