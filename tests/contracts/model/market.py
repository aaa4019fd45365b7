"""The market's records and rules (``DataMarket``, native currency only), on top of the
registry's: the whole model the state machine holds the chain to."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_typing import ChecksumAddress

from contracts.model.records import (
    BPS,
    MAX_FEE_BPS,
    MAX_LICENSE_DURATION,
    NATIVE,
    ZERO_ADDRESS,
    ZERO_HASH,
    Around,
    AssetRecord,
    ExpectedRevertError,
    numbered,
)
from contracts.model.registry import RegistryRules
from provledger.chain.enums import BidStatus, LicenseKind, OfferKind, OfferStatus
from provledger.chain.events import (
    BidCancelled,
    BidPlaced,
    Event,
    FeeUpdated,
    OfferCancelled,
    OfferCreated,
    ProceedsWithdrawn,
    TradeSettled,
)
from provledger.chain.types import OfferState

# ---------------------------------------------------------------- the records


@dataclass
class OfferRecord:
    seller: ChecksumAddress
    expires_at: int
    kind: OfferKind
    fee_bps: int
    asset_id: int
    price: int
    min_bid: int
    license_kind: int = 0
    license_duration: int = 0
    terms_hash: bytes = ZERO_HASH
    scope: str = ""
    status: OfferStatus = OfferStatus.OPEN

    def state(self, number: int) -> OfferState:
        """What ``offerOf`` must return (native currency only)."""
        return OfferState(
            offer_id=number,
            seller=self.seller,
            expires_at=self.expires_at,
            kind=self.kind,
            status=self.status,
            license_kind=LicenseKind(self.license_kind),
            fee_bps=self.fee_bps,
            asset_id=self.asset_id,
            currency=NATIVE,
            license_duration=self.license_duration,
            price=self.price,
            min_bid=self.min_bid,
            terms_hash=self.terms_hash,
            scope=self.scope,
        )


@dataclass
class BidRecord:
    offer_id: int
    bidder: ChecksumAddress
    expires_at: int
    amount: int
    status: BidStatus = BidStatus.OPEN


# ---------------------------------------------------------------- the rules


@dataclass
class Rules(RegistryRules):
    """The registry's rules and the market's: offers, bids, trades, proceeds and the fee.

    A trade delivers through the registry's rules (:meth:`RegistryRules._move` for an asset,
    :meth:`RegistryRules.grant` as a sale for a license), as the market calls the registry.
    """

    offers: list[OfferRecord] = field(default_factory=list)
    bids: list[BidRecord] = field(default_factory=list)
    owed: dict[ChecksumAddress, int] = field(default_factory=dict)
    trades: int = 0
    fee_recipient: ChecksumAddress = ZERO_ADDRESS
    fee_bps: int = 0

    def _check_seller(self, caller: ChecksumAddress, asset: int) -> AssetRecord:
        record = self._held_by(caller, asset)
        self._require_modifiable(record)
        self._require_active(caller)
        return record

    def _create_offer(self, offer: OfferRecord, now: int) -> list[Event]:
        """The terms every offer shares; stores ``offer`` (made at the current fee rate)."""
        if offer.price == 0:
            raise ExpectedRevertError("ZeroPrice")
        if offer.min_bid > offer.price:
            raise ExpectedRevertError("MinBidAbovePrice", minBid=offer.min_bid, price=offer.price)
        if offer.expires_at <= now:
            raise ExpectedRevertError(
                "ExpiryInPast", expiresAt=offer.expires_at, timestamp=Around(now)
            )
        offer.fee_bps = self.fee_bps
        self.offers.append(offer)
        return [
            OfferCreated(
                len(self.offers),
                offer.asset_id,
                offer.seller,
                offer.kind,
                NATIVE,
                offer.price,
                offer.min_bid,
                offer.expires_at,
                offer.fee_bps,
                LicenseKind(offer.license_kind),
                offer.license_duration,
                offer.terms_hash,
                offer.scope,
            )
        ]

    def list_asset(
        self,
        caller: ChecksumAddress,
        asset: int,
        price: int,
        min_bid: int,
        expires_at: int,
        now: int,
    ) -> list[Event]:
        self._check_seller(caller, asset)
        if asset not in self.approved:
            raise ExpectedRevertError("MarketNotApproved", assetId=asset, holder=caller)
        offer = OfferRecord(caller, expires_at, OfferKind.ASSET, 0, asset, price, min_bid)
        return self._create_offer(offer, now)

    def offer_license(
        self,
        caller: ChecksumAddress,
        asset: int,
        kind: int,
        duration: int,
        terms: bytes,
        scope: str,
        price: int,
        min_bid: int,
        expires_at: int,
        now: int,
    ) -> list[Event]:
        self._check_seller(caller, asset)
        if not 1 <= kind <= 2:
            raise ExpectedRevertError("InvalidLicenseKind", kind=kind)
        if duration == 0:
            raise ExpectedRevertError("ZeroLicenseDuration")
        if duration > MAX_LICENSE_DURATION:
            raise ExpectedRevertError(
                "LicenseDurationTooLong", licenseDuration=duration, maximum=MAX_LICENSE_DURATION
            )
        if terms == ZERO_HASH:
            raise ExpectedRevertError("ZeroTermsHash")
        offer = OfferRecord(
            caller,
            expires_at,
            OfferKind.LICENSE,
            0,
            asset,
            price,
            min_bid,
            license_kind=kind,
            license_duration=duration,
            terms_hash=terms,
            scope=scope,
        )
        return self._create_offer(offer, now)

    def _offer(self, offer_id: int) -> OfferRecord:
        return numbered(self.offers, offer_id, "UnknownOffer", "offerId")

    def cancel_offer(self, caller: ChecksumAddress, offer_id: int, now: int) -> list[Event]:
        offer = self._offer(offer_id)
        if caller != offer.seller:
            raise ExpectedRevertError(
                "NotOfferSeller", offerId=offer_id, caller=caller, seller=offer.seller
            )
        if offer.status is not OfferStatus.OPEN:
            raise ExpectedRevertError("OfferNotOpen", offerId=offer_id, status=offer.status)
        offer.status = OfferStatus.CANCELLED
        return [OfferCancelled(offer_id, offer.asset_id, offer.seller)]

    def _live_offer(self, offer_id: int, now: int) -> OfferRecord:
        """An open, unexpired offer whose seller still holds the asset."""
        offer = self._offer(offer_id)
        if offer.status is not OfferStatus.OPEN:
            raise ExpectedRevertError("OfferNotOpen", offerId=offer_id, status=offer.status)
        if offer.expires_at <= now:
            raise ExpectedRevertError("OfferExpired", offerId=offer_id, expiresAt=offer.expires_at)
        holder = self.assets[offer.asset_id].holder
        if holder != offer.seller:
            raise ExpectedRevertError(
                "AssetMovedSinceListing", offerId=offer_id, seller=offer.seller, holder=holder
            )
        return offer

    def buy(self, caller: ChecksumAddress, offer_id: int, value: int, now: int) -> list[Event]:
        offer = self._live_offer(offer_id, now)
        if caller == offer.seller:
            raise ExpectedRevertError("BuyerIsSeller", offerId=offer_id, buyer=caller)
        if value != offer.price:
            raise ExpectedRevertError("WrongPayment", expected=offer.price, sent=value)
        return self._settle(offer_id, offer, 0, caller, offer.price, now)

    def bid(
        self,
        caller: ChecksumAddress,
        offer_id: int,
        amount: int,
        expires_at: int,
        value: int,
        now: int,
    ) -> list[Event]:
        offer = self._live_offer(offer_id, now)
        if caller == offer.seller:
            raise ExpectedRevertError("BuyerIsSeller", offerId=offer_id, buyer=caller)
        if offer.min_bid == 0:
            raise ExpectedRevertError("BidsNotAccepted", offerId=offer_id)
        if amount < offer.min_bid:
            raise ExpectedRevertError(
                "BidBelowMinimum", offerId=offer_id, amount=amount, minimum=offer.min_bid
            )
        if expires_at <= now:
            raise ExpectedRevertError("ExpiryInPast", expiresAt=expires_at, timestamp=Around(now))
        if value != amount:
            raise ExpectedRevertError("WrongPayment", expected=amount, sent=value)
        self.bids.append(BidRecord(offer_id, caller, expires_at, amount))
        return [
            BidPlaced(len(self.bids), offer_id, caller, offer.asset_id, NATIVE, amount, expires_at)
        ]

    def _bid(self, bid_id: int) -> BidRecord:
        return numbered(self.bids, bid_id, "UnknownBid", "bidId")

    def cancel_bid(self, caller: ChecksumAddress, bid_id: int, now: int) -> list[Event]:
        placed = self._bid(bid_id)
        if caller != placed.bidder:
            raise ExpectedRevertError(
                "NotBidder", bidId=bid_id, caller=caller, bidder=placed.bidder
            )
        if placed.status is not BidStatus.OPEN:
            raise ExpectedRevertError("BidNotOpen", bidId=bid_id, status=placed.status)
        placed.status = BidStatus.CANCELLED
        self._credit(placed.bidder, placed.amount)
        return [BidCancelled(bid_id, placed.offer_id, placed.bidder, NATIVE, placed.amount)]

    def accept_bid(self, caller: ChecksumAddress, bid_id: int, now: int) -> list[Event]:
        placed = self._bid(bid_id)
        offer = self._live_offer(placed.offer_id, now)
        if caller != offer.seller:
            raise ExpectedRevertError(
                "NotOfferSeller", offerId=placed.offer_id, caller=caller, seller=offer.seller
            )
        if placed.status is not BidStatus.OPEN:
            raise ExpectedRevertError("BidNotOpen", bidId=bid_id, status=placed.status)
        if placed.expires_at <= now:
            raise ExpectedRevertError("BidExpired", bidId=bid_id, expiresAt=placed.expires_at)
        placed.status = BidStatus.ACCEPTED
        return self._settle(placed.offer_id, offer, bid_id, placed.bidder, placed.amount, now)

    def _credit(self, account: ChecksumAddress, amount: int) -> None:
        self.owed[account] = self.owed.get(account, 0) + amount

    def _settle(
        self,
        offer_id: int,
        offer: OfferRecord,
        bid_id: int,
        buyer: ChecksumAddress,
        price: int,
        now: int,
    ) -> list[Event]:
        """The trade: credit the seller and the fee recipient, deliver, record the trade."""
        self.trades += 1
        # the offer's rate; with no recipient set now (fees switched off), nothing is taken
        recipient = self.fee_recipient
        fee = price * offer.fee_bps // BPS if recipient != ZERO_ADDRESS else 0
        if fee == 0:
            recipient = ZERO_ADDRESS
        else:
            self._credit(recipient, fee)
        self._credit(offer.seller, price - fee)
        license_id = 0
        if offer.kind is OfferKind.ASSET:
            offer.status = OfferStatus.FILLED
            # the registry's transferFrom, sent by the market: its approval, then every rule
            if offer.asset_id not in self.approved:
                raise ExpectedRevertError(
                    "ERC721InsufficientApproval", operator=self.market, tokenId=offer.asset_id
                )
            events = self._move(self.assets[offer.asset_id], buyer, via="TRADE", now=now)
        else:
            events = self.grant(
                offer.seller,
                offer.asset_id,
                buyer,
                offer.license_kind,
                now + offer.license_duration,
                offer.terms_hash,
                offer.scope,
                now,
                sale=True,
            )
            license_id = len(self.licenses)
        events.append(
            TradeSettled(
                self.trades,
                offer.asset_id,
                buyer,
                offer_id,
                bid_id,
                offer.seller,
                offer.kind,
                NATIVE,
                price,
                fee,
                recipient,
                license_id,
            )
        )
        return events

    def withdraw(self, caller: ChecksumAddress, now: int) -> list[Event]:
        amount = self.owed.get(caller, 0)
        if amount == 0:
            raise ExpectedRevertError("NothingToWithdraw", account=caller, currency=NATIVE)
        self.owed[caller] = 0
        return [ProceedsWithdrawn(caller, NATIVE, amount)]

    def set_fee(
        self, caller: ChecksumAddress, recipient: ChecksumAddress, bps: int, now: int
    ) -> list[Event]:
        """``setFee`` sent by an admin (the role check is the rule ``without_the_role``'s)."""
        if bps > MAX_FEE_BPS:
            raise ExpectedRevertError("FeeAboveCap", feeBps=bps, cap=MAX_FEE_BPS)
        if bps != 0 and recipient == ZERO_ADDRESS:
            raise ExpectedRevertError("InvalidFeeRecipient", feeRecipient=recipient)
        self.fee_recipient, self.fee_bps = recipient, bps
        return [FeeUpdated(recipient, bps, caller)]

    def escrowed(self) -> int:
        """The amounts of the open bids, which the market holds."""
        return sum(placed.amount for placed in self.bids if placed.status is BidStatus.OPEN)
