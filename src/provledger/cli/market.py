"""Market commands: list an asset for sale, offer licenses, bid, accept, buy, cancel, withdraw,
and read offers and trades from a gateway.

Amounts are given and shown with their unit: ``0.005ether``, ``0.005 ETH``, ``1.5 gwei``, or an
ERC-20's own symbol scaled by its decimals (``12.5 USDT``); with ``--raw``, as integers in the
currency's smallest unit (wei for ETH). For an ERC-20 currency, ``buy`` and ``bid`` first
approve the market for exactly the amount due when the allowance falls short, so one command
pays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer

from provledger.chain.client import NATIVE, Provledger
from provledger.chain.connection import rpc_chain
from provledger.chain.enums import LicenseKind, OfferKind
from provledger.chain.events import BidPlaced, OfferCreated, ProceedsWithdrawn, TradeSettled
from provledger.chain.ids import asset_id_hex
from provledger.chain.transactions import Receipt
from provledger.chain.types import OfferState
from provledger.cli.acts import DAY, asset_act, expiry
from provledger.cli.arguments import AssetArgument, parse_address, parse_asset, parse_choice
from provledger.cli.base import command_group
from provledger.cli.holder import LicenseKindOption, ScopeOption, TermsOption
from provledger.cli.output import CurrencyBook
from provledger.cli.session import ChainRun, chain_command, days_option, require_node
from provledger.config import Settings
from provledger.errors import InputError
from provledger.units import Currency, format_amount, format_time, parse_amount

market_app = command_group("market", "Sell assets and licenses, bid, buy, and read trades.")

CurrencyOption = Annotated[
    str,
    typer.Option(help="An ERC-20 token address (listed by the admin), or 'native'."),
]
DaysOption = Annotated[int, days_option("Days until the offer expires.")]
MinBidOption = Annotated[
    str,
    typer.Option(help="Smallest counter-bid accepted, e.g. 0.004 ETH; 0 takes no bids."),
]
RawOption = Annotated[
    bool,
    typer.Option(
        "--raw",
        help="Amounts are given and shown as integers in the smallest unit (wei for ETH).",
    ),
]
OfferArgument = Annotated[int, typer.Argument(min=1, help="Offer number.")]


def parse_price(text: str, currency: Currency, what: str, raw: bool) -> int:
    """A positive amount of ``currency`` with its unit (``0.005 ETH``), or with ``raw`` an
    integer in its smallest unit; at most 2**128 - 1 of that unit."""
    return parse_amount(text, currency, what=what, raw=raw)


def parse_min_bid(text: str, currency: Currency, raw: bool) -> int:
    """``--min-bid``: like a price, but 0 (no bids) needs no unit."""
    return parse_amount(text, currency, what="--min-bid", raw=raw, allow_zero=True)


def parse_currency(text: str) -> str:
    """The market's currency address: the zero address for 'native'."""
    if text.strip().lower() == "native":
        return NATIVE
    return parse_address(text, "currency")


def currency_label(currency: str) -> str:
    """'native' or the token address (a table column of its own)."""
    return "native" if int(currency, 16) == 0 else currency


def existing_offer(ledger: Provledger, offer: int) -> OfferState:
    """The offer as the chain holds it; an unknown number is an input error."""
    state = ledger.market.offer(offer)
    if state.kind == OfferKind.NONE:
        raise InputError(f"there is no offer #{offer}")
    return state


def pay(ledger: Provledger, currency: str, amount: int) -> int:
    """The native value to send for ``amount``; for a token, approve the market if needed."""
    if int(currency, 16) == 0:
        return amount
    token = ledger.market.token(currency)
    market = ledger.market.address
    allowance = token.allowance(ledger.address, market)
    if allowance < amount:
        if allowance:  # some tokens (USDT) refuse to change one non-zero allowance to another
            token.approve(market, 0)
        token.approve(market, amount)
    return 0


def node_currencies(settings: Settings, currency: str) -> CurrencyBook:
    """The currencies read through the node of ``settings``, for amounts in ``currency``: a
    token's symbol and decimals are read from it; ETH's amounts are read with no node call."""
    return CurrencyBook(
        rpc_chain(require_node(settings), timeout=settings.rpc_timeout)
        if int(currency, 16)
        else None
    )


@dataclass(frozen=True)
class Pricing:
    """What a new offer asks, read in its currency before any transaction is sent."""

    book: CurrencyBook
    currency: Currency
    price: int
    min_bid: int

    @classmethod
    def read(
        cls, settings: Settings, price: str, currency: str, min_bid: str, raw: bool
    ) -> Pricing:
        """The price and smallest counter-bid of the options, in the currency of ``currency``."""
        address = parse_currency(currency)
        book = node_currencies(settings, address)
        token = book(address)
        return cls(
            book, token, parse_price(price, token, "price", raw), parse_min_bid(min_bid, token, raw)
        )

    def show_offer(
        self, run: ChainRun, receipt: Receipt, what: str, raw: bool, *, each: bool = False
    ) -> None:
        """The receipt of a new offer of ``what`` at this price (``each``: of every license)."""
        offer = receipt.event(OfferCreated)
        price = format_amount(self.price, self.currency, raw=raw) + (" each" if each else "")
        summary = f"offer #{offer.offer_id}: {what} for {price}"
        show_market_receipt(
            run,
            receipt,
            f"{summary} until {format_time(offer.expires_at)}",
            self.book,
            raw,
            offer_id=offer.offer_id,
        )


def show_market_receipt(
    run: ChainRun, receipt: Receipt, summary: str, book: CurrencyBook, raw: bool, **extra: Any
) -> None:
    """:meth:`ChainRun.show`, with the amounts of the events in their currencies (or ``raw``)."""
    run.show(receipt, summary, currencies=book.of_receipt(receipt), raw=raw, **extra)


def show_trade(run: ChainRun, receipt: Receipt, book: CurrencyBook, done: str, raw: bool) -> None:
    """The receipt of a settled trade: ``trade #N: {done} for {its price}``."""
    trade = receipt.event(TradeSettled)
    price = format_amount(trade.price, book(trade.currency), raw=raw)
    summary = f"trade #{trade.trade_id}: {done} for {price}"
    show_market_receipt(run, receipt, summary, book, raw, trade_id=trade.trade_id)


@chain_command(market_app, "list")
def list_command(
    run: ChainRun,
    asset: AssetArgument,
    price: Annotated[
        str, typer.Argument(help="Price with its unit, e.g. 0.005ether or 12.5 USDT.")
    ],
    currency: CurrencyOption = "native",
    days: DaysOption = 30,
    min_bid: MinBidOption = "0",
    raw: RawOption = False,
) -> None:
    """List an asset you hold for sale (the market is approved to move it when it sells).

    Example: provledger market list 0x5f…e1 0.005ether --days 30 --dev-account 5
    """
    target = parse_asset(asset)
    pricing = Pricing.read(run.settings, price, currency, min_bid, raw)
    ledger = run.ledger()
    market = ledger.market.address
    if ledger.registry.approved(target) != market:
        ledger.registry.approve(market, target)
    receipt = ledger.market.list_asset(
        target,
        pricing.price,
        expiry(ledger, days),
        currency=pricing.currency.address,
        min_bid=pricing.min_bid,
    )
    pricing.show_offer(run, receipt, asset_id_hex(target), raw)


@chain_command(market_app, "offer-license", blobs=True)
def offer_license_command(
    run: ChainRun,
    asset: AssetArgument,
    price: Annotated[str, typer.Argument(help="Price of one license with its unit, e.g. 5 USDT.")],
    kind: LicenseKindOption = "processing-use",
    license_days: Annotated[int, days_option("Days each license lasts from its purchase.")] = 365,
    scope: ScopeOption = "",
    terms: TermsOption = None,
    currency: CurrencyOption = "native",
    days: DaysOption = 30,
    min_bid: MinBidOption = "0",
    raw: RawOption = False,
) -> None:
    """Offer licenses on an asset you hold: every buyer gets a license of its own.

    Example: provledger market offer-license 0x5f…e1 0.005ether --kind processing-use
    --license-days 90 --scope research --dev-account 5
    """
    target = parse_asset(asset)
    license_kind = parse_choice(LicenseKind, kind, "--kind")
    pricing = Pricing.read(run.settings, price, currency, min_bid, raw)
    ledger = run.ledger()
    duration = license_days * DAY
    terms_hash = asset_act(
        run.settings,
        terms,
        "license offer terms",
        target,
        kind=license_kind.name,
        scope=scope,
        duration_seconds=duration,
    )
    receipt = ledger.market.offer_license(
        target,
        license_kind,
        duration,
        terms_hash,
        scope,
        pricing.price,
        expiry(ledger, days),
        currency=pricing.currency.address,
        min_bid=pricing.min_bid,
    )
    kind_name = license_kind.name.lower().replace("_", "-")
    pricing.show_offer(
        run, receipt, f"{kind_name} licenses on {asset_id_hex(target)}", raw, each=True
    )


@chain_command(market_app, "buy")
def buy_command(run: ChainRun, offer: OfferArgument, raw: RawOption = False) -> None:
    """Buy from an offer at its price; the asset or a license is delivered in the same
    transaction as the payment.

    Example: provledger market buy 1 --dev-account 6
    """
    ledger = run.ledger()
    state = existing_offer(ledger, offer)
    receipt = ledger.market.buy(offer, value=pay(ledger, state.currency, state.price))
    trade = receipt.event(TradeSettled)
    what = (
        asset_id_hex(trade.asset_id)
        if trade.kind == OfferKind.ASSET
        else f"license #{trade.license_id}"
    )
    show_trade(run, receipt, CurrencyBook(ledger.w3), f"bought {what}", raw)


@chain_command(market_app, "bid")
def bid_command(
    run: ChainRun,
    offer: OfferArgument,
    amount: Annotated[
        str, typer.Argument(help="Bid in the offer's currency with its unit, e.g. 0.004 ETH.")
    ],
    days: Annotated[int, days_option("Days until the bid expires.")] = 7,
    raw: RawOption = False,
) -> None:
    """Make a counter-bid on an offer; the amount is held by the market until the seller
    accepts it or you cancel it.

    Example: provledger market bid 1 0.004ether --days 7 --dev-account 6
    """
    reader = run.ledger(sign=False)  # the offer's currency reads the amount
    state = existing_offer(reader, offer)
    book = CurrencyBook(reader.w3)
    currency = book(state.currency)
    bid_amount = parse_price(amount, currency, "amount", raw)
    ledger = run.ledger()
    value = pay(ledger, state.currency, bid_amount)
    receipt = ledger.market.bid(offer, bid_amount, expiry(ledger, days), value=value)
    placed = receipt.event(BidPlaced)
    summary = (
        f"bid #{placed.bid_id} of {format_amount(bid_amount, currency, raw=raw)} on offer "
        f"#{offer} until {format_time(placed.expires_at)}"
    )
    show_market_receipt(run, receipt, summary, book, raw, bid_id=placed.bid_id)


@chain_command(market_app, "accept")
def accept_command(
    run: ChainRun,
    bid: Annotated[int, typer.Argument(min=1, help="Bid number.")],
    raw: RawOption = False,
) -> None:
    """Accept a counter-bid on your offer: the bid pays, the asset or a license is delivered.

    Example: provledger market accept 1 --dev-account 5
    """
    ledger = run.ledger()
    receipt = ledger.market.accept_bid(bid)
    show_trade(run, receipt, CurrencyBook(ledger.w3), f"bid #{bid} accepted", raw)


@chain_command(market_app, "cancel")
def cancel_command(
    run: ChainRun,
    number: Annotated[int, typer.Argument(min=1, help="Offer number (bid number with --bid).")],
    bid: Annotated[bool, typer.Option("--bid", help="Cancel your bid, not an offer.")] = False,
    raw: RawOption = False,
) -> None:
    """Cancel your offer, or take back your bid (its amount becomes withdrawable).

    Example: provledger market cancel 1 --dev-account 5
    """
    ledger = run.ledger()
    book = CurrencyBook(ledger.w3)
    if bid:
        receipt = ledger.market.cancel_bid(number)
        summary = f"bid #{number} cancelled; its amount can be withdrawn"
    else:
        receipt = ledger.market.cancel_offer(number)
        summary = f"offer #{number} cancelled"
    show_market_receipt(run, receipt, summary, book, raw)


@chain_command(market_app, "withdraw")
def withdraw_command(
    run: ChainRun,
    currency: CurrencyOption = "native",
    raw: RawOption = False,
) -> None:
    """Withdraw what the market owes you in one currency (proceeds, fees, refunded bids).

    Example: provledger market withdraw --dev-account 5
    """
    ledger = run.ledger()
    receipt = ledger.market.withdraw(parse_currency(currency))
    withdrawn = receipt.event(ProceedsWithdrawn)
    book = CurrencyBook(ledger.w3)
    summary = f"withdrew {format_amount(withdrawn.amount, book(withdrawn.currency), raw=raw)}"
    show_market_receipt(run, receipt, summary, book, raw, amount=str(withdrawn.amount))
