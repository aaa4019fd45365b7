"""Market commands: list an asset for sale, offer licenses, bid, accept, buy, cancel, withdraw,
and read offers and trades from a gateway.

Amounts are integers in the currency's smallest unit (wei for the native currency). For an
ERC-20 currency, ``buy`` and ``bid`` first approve the market for exactly the amount due when
the allowance falls short, so one command pays.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import typer
from rich.table import Table

from provledger.chain.client import NATIVE, Provledger
from provledger.chain.enums import LicenseKind, OfferKind
from provledger.chain.events import BidPlaced, OfferCreated, ProceedsWithdrawn, TradeSettled
from provledger.chain.ids import asset_id_hex
from provledger.chain.types import OfferState
from provledger.cli.base import EXIT_OK, JsonOption, command_group, guarded, out, settings_from
from provledger.cli.query import GatewayOption, brief, gateway_pages, require_gateway, when
from provledger.cli.session import (
    MAX_DAYS,
    AssetArgument,
    LicenseKindOption,
    TermsOption,
    act_document,
    chain_command,
    open_ledger,
    parse_address,
    parse_asset,
    parse_choice,
    print_json,
    show_receipt,
)
from provledger.config import Settings
from provledger.errors import InputError
from provledger.services.market import MAX_AMOUNT, format_amount, parse_amount

DAY: Final = 24 * 3600
#: The longest offer, bid or license in days: the market's 100-year license limit.

market_app = command_group("market", "Sell assets and licenses, bid, buy, and read trades.")

CurrencyOption = Annotated[
    str,
    typer.Option(help="An ERC-20 token address (listed by the admin), or 'native'."),
]
DaysOption = Annotated[int, typer.Option(min=1, max=MAX_DAYS, help="Days until the offer expires.")]
MinBidOption = Annotated[
    int,
    typer.Option(min=0, max=MAX_AMOUNT, help="Smallest counter-bid accepted; 0 takes no bids."),
]


def parse_price(text: str, what: str) -> int:
    """A positive amount in the smallest unit, at most 2**128 - 1."""
    amount = parse_amount(text.replace("_", ""), what)
    if not amount:  # None cannot come back for a str; 0 is refused here
        raise InputError(f"{what}: must be at least 1")
    return amount


def parse_currency(text: str) -> str:
    """The market's currency address: the zero address for 'native'."""
    if text.strip().lower() == "native":
        return NATIVE
    return parse_address(text, "currency")


def currency_label(currency: str) -> str:
    """'native' or the token address (a table column of its own)."""
    return "native" if int(currency, 16) == 0 else currency


def chain_time(ledger: Provledger) -> int:
    """The latest block's time: offers expire by the chain's clock."""
    return int(ledger.w3.eth.get_block("latest")["timestamp"])


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


@chain_command(market_app, "list")
def list_command(
    settings: Settings,
    as_json: bool,
    asset: AssetArgument,
    price: Annotated[str, typer.Argument(help="Price in the currency's smallest unit.")],
    currency: CurrencyOption = "native",
    days: DaysOption = 30,
    min_bid: MinBidOption = 0,
) -> None:
    """List an asset you hold for sale (the market is approved to move it when it sells).

    Example: provledger market list 0x5f…e1 1000000000000000000 --days 30 --dev-account 5
    """
    target, amount = parse_asset(asset), parse_price(price, "price")
    token = parse_currency(currency)
    ledger = open_ledger(settings)
    market = ledger.market.address
    if ledger.registry.approved(target) != market:
        ledger.registry.approve(market, target)
    receipt = ledger.market.list_asset(
        target, amount, chain_time(ledger) + days * DAY, currency=token, min_bid=min_bid
    )
    offer = receipt.event(OfferCreated)
    show_receipt(
        receipt,
        f"offer #{offer.offer_id}: {asset_id_hex(target)} for {format_amount(amount, token)} "
        f"until {when(offer.expires_at)}",
        as_json,
        offer_id=offer.offer_id,
    )


@chain_command(market_app, "offer-license", blobs=True)
def offer_license_command(
    settings: Settings,
    as_json: bool,
    asset: AssetArgument,
    price: Annotated[str, typer.Argument(help="Price of one license, smallest unit.")],
    kind: LicenseKindOption = "processing-use",
    license_days: Annotated[
        int, typer.Option(min=1, max=MAX_DAYS, help="Days each license lasts from its purchase.")
    ] = 365,
    scope: Annotated[str, typer.Option(help="What the license covers, in words.")] = "",
    terms: TermsOption = None,
    currency: CurrencyOption = "native",
    days: DaysOption = 30,
    min_bid: MinBidOption = 0,
) -> None:
    """Offer licenses on an asset you hold: every buyer gets a license of its own.

    Example: provledger market offer-license 0x5f…e1 5000 --kind processing-use
    --license-days 90 --scope research --dev-account 5
    """
    target, amount = parse_asset(asset), parse_price(price, "price")
    license_kind = parse_choice(LicenseKind, kind, "--kind")
    token = parse_currency(currency)
    ledger = open_ledger(settings)
    duration = license_days * DAY
    terms_hash = act_document(
        settings,
        terms,
        {
            "act": "license offer terms",
            "asset_id": asset_id_hex(target),
            "kind": license_kind.name,
            "scope": scope,
            "duration_seconds": duration,
        },
    )
    receipt = ledger.market.offer_license(
        target,
        license_kind,
        duration,
        terms_hash,
        scope,
        amount,
        chain_time(ledger) + days * DAY,
        currency=token,
        min_bid=min_bid,
    )
    offer = receipt.event(OfferCreated)
    show_receipt(
        receipt,
        f"offer #{offer.offer_id}: {license_kind.name.lower().replace('_', '-')} licenses on "
        f"{asset_id_hex(target)} for {format_amount(amount, token)} each",
        as_json,
        offer_id=offer.offer_id,
    )


@chain_command(market_app, "buy")
def buy_command(
    settings: Settings,
    as_json: bool,
    offer: Annotated[int, typer.Argument(min=1, help="Offer number.")],
) -> None:
    """Buy from an offer at its price; the asset or a license is delivered in the same
    transaction as the payment.

    Example: provledger market buy 1 --dev-account 6
    """
    ledger = open_ledger(settings)
    state = existing_offer(ledger, offer)
    value = pay(ledger, state.currency, state.price)
    receipt = ledger.market.buy(offer, value=value)
    trade = receipt.event(TradeSettled)
    what = (
        asset_id_hex(trade.asset_id)
        if trade.kind == OfferKind.ASSET
        else f"license #{trade.license_id}"
    )
    show_receipt(
        receipt,
        f"trade #{trade.trade_id}: bought {what} for {format_amount(trade.price, trade.currency)}",
        as_json,
        trade_id=trade.trade_id,
    )


@chain_command(market_app, "bid")
def bid_command(
    settings: Settings,
    as_json: bool,
    offer: Annotated[int, typer.Argument(min=1, help="Offer number.")],
    amount: Annotated[str, typer.Argument(help="Bid in the offer's currency, smallest unit.")],
    days: Annotated[int, typer.Option(min=1, max=MAX_DAYS, help="Days until the bid expires.")] = 7,
) -> None:
    """Make a counter-bid on an offer; the amount is held by the market until the seller
    accepts it or you cancel it.

    Example: provledger market bid 1 800000000000000000 --days 7 --dev-account 6
    """
    bid_amount = parse_price(amount, "amount")
    ledger = open_ledger(settings)
    state = existing_offer(ledger, offer)
    value = pay(ledger, state.currency, bid_amount)
    receipt = ledger.market.bid(offer, bid_amount, chain_time(ledger) + days * DAY, value=value)
    placed = receipt.event(BidPlaced)
    show_receipt(
        receipt,
        f"bid #{placed.bid_id} of {format_amount(bid_amount, state.currency)} on offer #{offer}",
        as_json,
        bid_id=placed.bid_id,
    )


@chain_command(market_app, "accept")
def accept_command(
    settings: Settings,
    as_json: bool,
    bid: Annotated[int, typer.Argument(min=1, help="Bid number.")],
) -> None:
    """Accept a counter-bid on your offer: the bid pays, the asset or a license is delivered.

    Example: provledger market accept 1 --dev-account 5
    """
    receipt = open_ledger(settings).market.accept_bid(bid)
    trade = receipt.event(TradeSettled)
    show_receipt(
        receipt,
        f"trade #{trade.trade_id}: bid #{bid} accepted for "
        f"{format_amount(trade.price, trade.currency)}",
        as_json,
        trade_id=trade.trade_id,
    )


@chain_command(market_app, "cancel")
def cancel_command(
    settings: Settings,
    as_json: bool,
    number: Annotated[int, typer.Argument(min=1, help="Offer number (bid number with --bid).")],
    bid: Annotated[bool, typer.Option("--bid", help="Cancel your bid, not an offer.")] = False,
) -> None:
    """Cancel your offer, or take back your bid (its amount becomes withdrawable).

    Example: provledger market cancel 1 --dev-account 5
    """
    ledger = open_ledger(settings)
    if bid:
        receipt = ledger.market.cancel_bid(number)
        show_receipt(receipt, f"bid #{number} cancelled; its amount can be withdrawn", as_json)
    else:
        receipt = ledger.market.cancel_offer(number)
        show_receipt(receipt, f"offer #{number} cancelled", as_json)


@chain_command(market_app, "withdraw")
def withdraw_command(
    settings: Settings, as_json: bool, currency: CurrencyOption = "native"
) -> None:
    """Withdraw what the market owes you in one currency (proceeds, fees, refunded bids).

    Example: provledger market withdraw --dev-account 5
    """
    receipt = open_ledger(settings).market.withdraw(parse_currency(currency))
    withdrawn = receipt.event(ProceedsWithdrawn)
    show_receipt(
        receipt,
        f"withdrew {format_amount(withdrawn.amount, withdrawn.currency)}",
        as_json,
        amount=str(withdrawn.amount),
    )


def _print_rows(items: list[Any], as_json: bool, columns: dict[str, str]) -> None:
    if as_json:
        print_json(items)
        raise typer.Exit(EXIT_OK)
    table = Table(*columns)
    for item in items:
        table.add_row(*(_cell(item, key) for key in columns.values()))
    out.print(table)
    raise typer.Exit(EXIT_OK)


def _cell(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if key == "currency":
        return currency_label(str(value))
    if key in ("expires_at", "settled_at"):
        return when(value)
    return "-" if value is None else brief(value)


@market_app.command("offers")
def offers_command(
    asset: Annotated[str | None, typer.Option(help="Only offers on this asset.")] = None,
    seller: Annotated[str | None, typer.Option(help="Only offers of this seller.")] = None,
    currency: Annotated[str | None, typer.Option(help="Only this currency, or 'native'.")] = None,
    kind: Annotated[str | None, typer.Option(help="asset or license.")] = None,
    min_price: Annotated[str | None, typer.Option(help="Lowest price (needs --currency).")] = None,
    max_price: Annotated[str | None, typer.Option(help="Highest price (needs --currency).")] = None,
    gateway: GatewayOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open offers, from a gateway's index.

    Example: provledger market offers --currency native --max-price 2000 --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway)

    def run() -> list[Any]:
        query: dict[str, Any] = {"kind": kind, "min_price": min_price, "max_price": max_price}
        if asset is not None:
            query["asset_id"] = asset_id_hex(parse_asset(asset))
        if seller is not None:
            query["seller"] = parse_address(seller, "seller")
        if currency is not None:
            query["currency"] = parse_currency(currency)
        wanted = {key: value for key, value in query.items() if value is not None}
        return gateway_pages(require_gateway(settings), "/market/offers", query=wanted)

    columns = {
        "offer": "offer_id",
        "asset": "asset_id",
        "kind": "kind",
        "seller": "seller",
        "price": "price",
        "currency": "currency",
        "min bid": "min_bid",
        "expires": "expires_at",
    }
    _print_rows(guarded(run), as_json, columns)


@market_app.command("trades")
def trades_command(
    asset: Annotated[str | None, typer.Option(help="The trades of this asset.")] = None,
    account: Annotated[
        str | None, typer.Option(help="The trades this account sold or bought in.")
    ] = None,
    gateway: GatewayOption = None,
    as_json: JsonOption = False,
) -> None:
    """Trade history of an asset or of an account, from a gateway's index.

    Example: provledger market trades --asset 0x5f…e1 --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway)

    def run() -> list[Any]:
        if (asset is None) == (account is None):
            raise InputError("give exactly one of --asset and --account")
        base = require_gateway(settings)
        if asset is not None:
            return gateway_pages(base, f"/assets/{asset_id_hex(parse_asset(asset))}/trades")
        return gateway_pages(base, f"/accounts/{parse_address(str(account), 'account')}/trades")

    columns = {
        "trade": "trade_id",
        "asset": "asset_id",
        "kind": "kind",
        "seller": "seller",
        "buyer": "buyer",
        "price": "price",
        "fee": "fee",
        "currency": "currency",
        "settled": "settled_at",
    }
    _print_rows(guarded(run), as_json, columns)
