"""The client of ``DataMarket``: offers, counter-bids, settlement and pulled proceeds."""

from __future__ import annotations

from eth_typing import ChecksumAddress
from web3 import Web3

from provledger.chain.client.base import ContractClient
from provledger.chain.enums import LicenseKind
from provledger.chain.tokens import Erc20
from provledger.chain.transactions import Receipt
from provledger.chain.types import BidState, OfferState

#: The market's currency address for the chain's native currency.
NATIVE = "0x0000000000000000000000000000000000000000"


class MarketClient(ContractClient):
    """``DataMarket``: offers, counter-bids, atomic settlement and pulled proceeds.

    ``currency`` is an ERC-20 token address, or :data:`NATIVE` for the chain's own currency;
    native payments are sent as the transaction's value.
    """

    NAME = "DataMarket"

    def list_asset(
        self, asset: int, price: int, expires_at: int, *, currency: str = NATIVE, min_bid: int = 0
    ) -> Receipt:
        """List an asset the sender holds (the market must be approved for it first)."""
        return self._send(
            "listAsset", asset, Web3.to_checksum_address(currency), price, min_bid, expires_at
        )

    def offer_license(
        self,
        asset: int,
        kind: LicenseKind | int,
        duration: int,
        terms_hash: bytes,
        scope: str,
        price: int,
        expires_at: int,
        *,
        currency: str = NATIVE,
        min_bid: int = 0,
    ) -> Receipt:
        """Offer licenses of ``kind`` lasting ``duration`` seconds on an asset the sender holds."""
        return self._send(
            "offerLicense",
            asset,
            int(kind),
            duration,
            terms_hash,
            scope,
            Web3.to_checksum_address(currency),
            price,
            min_bid,
            expires_at,
        )

    def cancel_offer(self, offer: int) -> Receipt:
        """Cancel an open offer the sender made."""
        return self._send("cancelOffer", offer)

    def buy(self, offer: int, *, value: int = 0, gas: int | None = None) -> Receipt:
        """Buy from an offer: its price as ``value`` if native, else approve the token first."""
        return self._send("buy", offer, value=value, gas=gas)

    def bid(self, offer: int, amount: int, expires_at: int, *, value: int = 0) -> Receipt:
        """Escrow a counter-bid on an offer (``value`` = ``amount`` if native)."""
        return self._send("bid", offer, amount, expires_at, value=value)

    def cancel_bid(self, bid: int) -> Receipt:
        """Take back an open bid; its amount becomes withdrawable."""
        return self._send("cancelBid", bid)

    def accept_bid(self, bid: int) -> Receipt:
        """Accept a bid on an offer the sender made."""
        return self._send("acceptBid", bid)

    def withdraw(self, currency: str = NATIVE) -> Receipt:
        """Pull everything the sender is owed in ``currency``."""
        return self._send("withdraw", Web3.to_checksum_address(currency))

    def set_fee(self, recipient: str, fee_bps: int) -> Receipt:
        """Set the platform fee of new offers (admin)."""
        return self._send("setFee", Web3.to_checksum_address(recipient), fee_bps)

    def set_currency_listed(self, currency: str, listed: bool = True) -> Receipt:
        """List or delist an ERC-20 currency (admin)."""
        return self._send("setCurrencyListed", Web3.to_checksum_address(currency), listed)

    def offer(self, offer: int) -> OfferState:
        """A stored offer."""
        return OfferState.from_abi(offer, self._call("offerOf", offer))

    def bid_state(self, bid: int) -> BidState:
        """A stored bid."""
        return BidState.from_abi(bid, self._call("bidOf", bid))

    def owed_to(self, account: str, currency: str = NATIVE) -> int:
        """What ``account`` may withdraw in ``currency``."""
        return int(
            self._call(
                "owedTo", Web3.to_checksum_address(account), Web3.to_checksum_address(currency)
            )
        )

    def fee(self) -> tuple[ChecksumAddress, int]:
        """The fee recipient and the fee of new offers in basis points."""
        recipient, bps = self._call("fee")
        return Web3.to_checksum_address(recipient), int(bps)

    def is_currency_listed(self, currency: str) -> bool:
        """Whether new offers may name ``currency``."""
        return bool(self._call("isCurrencyListed", Web3.to_checksum_address(currency)))

    def token(self, currency: str) -> Erc20:
        """The ERC-20 ``currency``, seen by this client's signing account."""
        return Erc20(self.w3, currency, self.sender)

    def counts(self) -> tuple[int, int, int]:
        """Offers, bids and trades so far."""
        offers, bids, trades = self._call("counts")
        return int(offers), int(bids), int(trades)
