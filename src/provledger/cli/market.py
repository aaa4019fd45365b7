"""Market commands: list an asset for sale, offer licenses, bid, accept, buy, cancel, withdraw,
and read offers and trades from a gateway.

Amounts are given and shown with their unit: ``0.005ether``, ``0.005 ETH``, ``1.5 gwei``, or an
ERC-20's own symbol scaled by its decimals (``12.5 USDT``); with ``--raw``, as integers in the
currency's smallest unit (wei for ETH). For an ERC-20 currency, ``buy`` and ``bid`` first
approve the market for exactly the amount due when the allowance falls short, so one command
pays.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import typer
from rich.table import Table

from provledger.chain.client import NATIVE, Provledger
from provledger.chain.connection import rpc_chain
from provledger.chain.enums import LicenseKind, OfferKind
from provledger.chain.events import BidPlaced, OfferCreated, ProceedsWithdrawn, TradeSettled
from provledger.chain.ids import asset_id_hex
from provledger.chain.types import OfferState
from provledger.cli.base import EXIT_OK, JsonOption, command_group, guarded, out, settings_from
from provledger.cli.query import GatewayOption, brief, gateway_pages, require_gateway, when
from provledger.cli.session import (
    MAX_DAYS,
    AssetArgument,
    CurrencyBook,
    LicenseKindOption,
    TermsOption,
    act_document,
    chain_command,
    open_ledger,
    parse_address,
    parse_asset,
    parse_choice,
    print_json,
    require_node,
    show_receipt,
)
from provledger.config import Settings
from provledger.errors import InputError
from provledger.units import Currency, format_amount, format_time, parse_amount

DAY: Final = 24 * 3600
#: The longest offer, bid or license in days: the market's 100-year license limit.

market_app = command_group("market", "Sell assets and licenses, bid, buy, and read trades.")

CurrencyOption = Annotated[
    str,
    typer.Option(help="An ERC-20 token address (listed by the admin), or 'native'."),
]
DaysOption = Annotated[int, typer.Option(min=1, max=MAX_DAYS, help="Days until the offer expires.")]
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


def node_currencies(settings: Settings, currency: str) -> CurrencyBook:
    """The currencies read through the node of ``settings``, for amounts in ``currency``: a
    token's symbol and decimals are read from it; ETH's amounts are read with no node call."""
    return CurrencyBook(rpc_chain(require_node(settings)) if int(currency, 16) else None)


@chain_command(market_app, "list")
def list_command(
    settings: Settings,
    as_json: bool,
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
    address = parse_currency(currency)
    book = node_currencies(settings, address)
    token = book(address)
    amount, floor = parse_price(price, token, "price", raw), parse_min_bid(min_bid, token, raw)
    ledger = open_ledger(settings)
    market = ledger.market.address
    if ledger.registry.approved(target) != market:
        ledger.registry.approve(market, target)
    receipt = ledger.market.list_asset(
        target, amount, chain_time(ledger) + days * DAY, currency=token.address, min_bid=floor
    )
    offer = receipt.event(OfferCreated)
    show_receipt(
        receipt,
        f"offer #{offer.offer_id}: {asset_id_hex(target)} for "
        f"{format_amount(amount, token, raw=raw)} until {format_time(offer.expires_at)}",
        as_json,
        currencies=book.of_receipt(receipt),
        raw=raw,
        offer_id=offer.offer_id,
    )


@chain_command(market_app, "offer-license", blobs=True)
def offer_license_command(
    settings: Settings,
    as_json: bool,
    asset: AssetArgument,
    price: Annotated[str, typer.Argument(help="Price of one license with its unit, e.g. 5 USDT.")],
    kind: LicenseKindOption = "processing-use",
    license_days: Annotated[
        int, typer.Option(min=1, max=MAX_DAYS, help="Days each license lasts from its purchase.")
    ] = 365,
    scope: Annotated[str, typer.Option(help="What the license covers, in words.")] = "",
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
    address = parse_currency(currency)
    book = node_currencies(settings, address)
    token = book(address)
    amount, floor = parse_price(price, token, "price", raw), parse_min_bid(min_bid, token, raw)
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
        currency=token.address,
        min_bid=floor,
    )
    offer = receipt.event(OfferCreated)
    show_receipt(
        receipt,
        f"offer #{offer.offer_id}: {license_kind.name.lower().replace('_', '-')} licenses on "
        f"{asset_id_hex(target)} for {format_amount(amount, token, raw=raw)} each until "
        f"{format_time(offer.expires_at)}",
        as_json,
        currencies=book.of_receipt(receipt),
        raw=raw,
        offer_id=offer.offer_id,
    )


@chain_command(market_app, "buy")
def buy_command(
    settings: Settings,
    as_json: bool,
    offer: Annotated[int, typer.Argument(min=1, help="Offer number.")],
    raw: RawOption = False,
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
    book = CurrencyBook(ledger.w3)
    show_receipt(
        receipt,
        f"trade #{trade.trade_id}: bought {what} for "
        f"{format_amount(trade.price, book(trade.currency), raw=raw)}",
        as_json,
        currencies=book.of_receipt(receipt),
        raw=raw,
        trade_id=trade.trade_id,
    )


@chain_command(market_app, "bid")
def bid_command(
    settings: Settings,
    as_json: bool,
    offer: Annotated[int, typer.Argument(min=1, help="Offer number.")],
    amount: Annotated[
        str, typer.Argument(help="Bid in the offer's currency with its unit, e.g. 0.004 ETH.")
    ],
    days: Annotated[int, typer.Option(min=1, max=MAX_DAYS, help="Days until the bid expires.")] = 7,
    raw: RawOption = False,
) -> None:
    """Make a counter-bid on an offer; the amount is held by the market until the seller
    accepts it or you cancel it.

    Example: provledger market bid 1 0.004ether --days 7 --dev-account 6
    """
    reader = open_ledger(settings, sign=False)  # the offer's currency reads the amount
    state = existing_offer(reader, offer)
    book = CurrencyBook(reader.w3)
    currency = book(state.currency)
    bid_amount = parse_price(amount, currency, "amount", raw)
    ledger = open_ledger(settings)
    value = pay(ledger, state.currency, bid_amount)
    receipt = ledger.market.bid(offer, bid_amount, chain_time(ledger) + days * DAY, value=value)
    placed = receipt.event(BidPlaced)
    show_receipt(
        receipt,
        f"bid #{placed.bid_id} of {format_amount(bid_amount, currency, raw=raw)} on offer "
        f"#{offer} until {format_time(placed.expires_at)}",
        as_json,
        currencies=book.of_receipt(receipt),
        raw=raw,
        bid_id=placed.bid_id,
    )


@chain_command(market_app, "accept")
def accept_command(
    settings: Settings,
    as_json: bool,
    bid: Annotated[int, typer.Argument(min=1, help="Bid number.")],
    raw: RawOption = False,
) -> None:
    """Accept a counter-bid on your offer: the bid pays, the asset or a license is delivered.

    Example: provledger market accept 1 --dev-account 5
    """
    ledger = open_ledger(settings)
    receipt = ledger.market.accept_bid(bid)
    trade = receipt.event(TradeSettled)
    book = CurrencyBook(ledger.w3)
    show_receipt(
        receipt,
        f"trade #{trade.trade_id}: bid #{bid} accepted for "
        f"{format_amount(trade.price, book(trade.currency), raw=raw)}",
        as_json,
        currencies=book.of_receipt(receipt),
        raw=raw,
        trade_id=trade.trade_id,
    )


@chain_command(market_app, "cancel")
def cancel_command(
    settings: Settings,
    as_json: bool,
    number: Annotated[int, typer.Argument(min=1, help="Offer number (bid number with --bid).")],
    bid: Annotated[bool, typer.Option("--bid", help="Cancel your bid, not an offer.")] = False,
    raw: RawOption = False,
) -> None:
    """Cancel your offer, or take back your bid (its amount becomes withdrawable).

    Example: provledger market cancel 1 --dev-account 5
    """
    ledger = open_ledger(settings)
    book = CurrencyBook(ledger.w3)
    if bid:
        receipt = ledger.market.cancel_bid(number)
        summary = f"bid #{number} cancelled; its amount can be withdrawn"
    else:
        receipt = ledger.market.cancel_offer(number)
        summary = f"offer #{number} cancelled"
    show_receipt(receipt, summary, as_json, currencies=book.of_receipt(receipt), raw=raw)


@chain_command(market_app, "withdraw")
def withdraw_command(
    settings: Settings,
    as_json: bool,
    currency: CurrencyOption = "native",
    raw: RawOption = False,
) -> None:
    """Withdraw what the market owes you in one currency (proceeds, fees, refunded bids).

    Example: provledger market withdraw --dev-account 5
    """
    ledger = open_ledger(settings)
    receipt = ledger.market.withdraw(parse_currency(currency))
    withdrawn = receipt.event(ProceedsWithdrawn)
    book = CurrencyBook(ledger.w3)
    show_receipt(
        receipt,
        f"withdrew {format_amount(withdrawn.amount, book(withdrawn.currency), raw=raw)}",
        as_json,
        currencies=book.of_receipt(receipt),
        raw=raw,
        amount=str(withdrawn.amount),
    )


#: Columns of the gateway's market records that are amounts in the record's currency.
AMOUNT_COLUMNS: Final = frozenset({"price", "min_bid", "fee", "amount", "seller_proceeds"})


def _print_rows(
    items: list[Any], as_json: bool, columns: dict[str, str], book: CurrencyBook, raw: bool
) -> None:
    if as_json:
        print_json(items)
        raise typer.Exit(EXIT_OK)
    table = Table(*columns)
    for column in table.columns:
        column.overflow = "fold"  # times and amounts are read whole, never cut
    for item in items:
        table.add_row(*(_cell(item, key, book, raw) for key in columns.values()))
    out.print(table)
    raise typer.Exit(EXIT_OK)


def _cell(item: dict[str, Any], key: str, book: CurrencyBook, raw: bool) -> str:
    value = item.get(key)
    if value is None:
        return "-"
    if key == "currency":
        return currency_label(str(value))
    if key in AMOUNT_COLUMNS:
        return format_amount(value, book(str(item["currency"])), raw=raw)
    if key in ("expires_at", "settled_at"):
        return when(value)
    return brief(value)


def _price_filter(
    text: str | None, option: str, currency: Currency | None, raw: bool
) -> str | None:
    """A price bound for the gateway, which takes integers in the smallest unit."""
    if text is None:
        return None
    if currency is None:
        raise InputError(
            f"{option} needs --currency (prices in different currencies do not compare)"
        )
    return str(parse_amount(text, currency, what=option, raw=raw, allow_zero=True))


@market_app.command("offers")
def offers_command(
    asset: Annotated[str | None, typer.Option(help="Only offers on this asset.")] = None,
    seller: Annotated[str | None, typer.Option(help="Only offers of this seller.")] = None,
    currency: Annotated[str | None, typer.Option(help="Only this currency, or 'native'.")] = None,
    kind: Annotated[str | None, typer.Option(help="asset or license.")] = None,
    min_price: Annotated[
        str | None, typer.Option(help="Lowest price with its unit (needs --currency).")
    ] = None,
    max_price: Annotated[
        str | None, typer.Option(help="Highest price with its unit (needs --currency).")
    ] = None,
    raw: RawOption = False,
    gateway: GatewayOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open offers, from a gateway's index. A token's symbol and decimals are read from the
    node (PROVLEDGER_RPC_URL) when one is set; without one, a token's amounts are raw.

    Example: provledger market offers --currency native --max-price 0.01ETH --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway)
    book = CurrencyBook.of(settings)

    def run() -> list[Any]:
        query: dict[str, Any] = {"kind": kind}
        if asset is not None:
            query["asset_id"] = asset_id_hex(parse_asset(asset))
        if seller is not None:
            query["seller"] = parse_address(seller, "seller")
        chosen = None if currency is None else book(parse_currency(currency))
        if chosen is not None:
            query["currency"] = chosen.address
        query["min_price"] = _price_filter(min_price, "--min-price", chosen, raw)
        query["max_price"] = _price_filter(max_price, "--max-price", chosen, raw)
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
    _print_rows(guarded(run), as_json, columns, book, raw)


@market_app.command("trades")
def trades_command(
    asset: Annotated[str | None, typer.Option(help="The trades of this asset.")] = None,
    account: Annotated[
        str | None, typer.Option(help="The trades this account sold or bought in.")
    ] = None,
    raw: RawOption = False,
    gateway: GatewayOption = None,
    as_json: JsonOption = False,
) -> None:
    """Trade history of an asset or of an account, from a gateway's index (a token's amounts
    in its symbol when a node is set, as for `market offers`).

    Example: provledger market trades --asset 0x5f…e1 --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway)
    book = CurrencyBook.of(settings)

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
    _print_rows(guarded(run), as_json, columns, book, raw)
