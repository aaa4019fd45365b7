"""Market reads: offers and trades from a gateway's index, amounts in their currency's units."""

from __future__ import annotations

from typing import Annotated, Any, Final

import typer
from rich.table import Table

from provledger.chain.ids import asset_id_hex
from provledger.cli.arguments import parse_address, parse_asset
from provledger.cli.base import ExitCode, out, settings_command
from provledger.cli.gateway import GatewayOption, gateway_pages, require_gateway
from provledger.cli.market import RawOption, currency_label, market_app, parse_currency
from provledger.cli.output import CurrencyBook, brief, print_json, when
from provledger.config import Settings
from provledger.errors import InputError
from provledger.units import Currency, format_amount, parse_amount

#: Columns of the gateway's market records that are amounts in the record's currency.
AMOUNT_COLUMNS: Final = frozenset({"price", "min_bid", "fee", "amount", "seller_proceeds"})


def _print_rows(
    items: list[Any], as_json: bool, columns: dict[str, str], book: CurrencyBook, raw: bool
) -> None:
    if as_json:
        print_json(items)
        raise typer.Exit(ExitCode.OK)
    table = Table(*columns)
    for column in table.columns:
        column.overflow = "fold"  # times and amounts are read whole, never cut
    for item in items:
        table.add_row(*(_cell(item, key, book, raw) for key in columns.values()))
    out.print(table)
    raise typer.Exit(ExitCode.OK)


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


def price_bound_option(bound: str) -> Any:
    """The option of a ``bound`` (``Lowest``) price a listing filters offers by."""
    return typer.Option(help=f"{bound} price with its unit (needs --currency).")


@settings_command(market_app, "offers", gateway_url=GatewayOption)
def offers_command(
    settings: Settings,
    as_json: bool,
    asset: Annotated[str | None, typer.Option(help="Only offers on this asset.")] = None,
    seller: Annotated[str | None, typer.Option(help="Only offers of this seller.")] = None,
    currency: Annotated[str | None, typer.Option(help="Only this currency, or 'native'.")] = None,
    kind: Annotated[str | None, typer.Option(help="asset or license.")] = None,
    min_price: Annotated[str | None, price_bound_option("Lowest")] = None,
    max_price: Annotated[str | None, price_bound_option("Highest")] = None,
    raw: RawOption = False,
) -> None:
    """Open offers, from a gateway's index. A token's symbol and decimals are read from the
    node (PROVLEDGER_RPC_URL) when one is set; without one, a token's amounts are raw.

    Example: provledger market offers --currency native --max-price 0.01ETH --gateway http://127.0.0.1:8000
    """
    book = CurrencyBook.of(settings)
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
    offers = gateway_pages(require_gateway(settings), "/market/offers", query=wanted)

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
    _print_rows(offers, as_json, columns, book, raw)


@settings_command(market_app, "trades", gateway_url=GatewayOption)
def trades_command(
    settings: Settings,
    as_json: bool,
    asset: Annotated[str | None, typer.Option(help="The trades of this asset.")] = None,
    account: Annotated[
        str | None, typer.Option(help="The trades this account sold or bought in.")
    ] = None,
    raw: RawOption = False,
) -> None:
    """Trade history of an asset or of an account, from a gateway's index (a token's amounts
    in its symbol when a node is set, as for `market offers`).

    Example: provledger market trades --asset 0x5f…e1 --gateway http://127.0.0.1:8000
    """
    if (asset is None) == (account is None):
        raise InputError("give exactly one of --asset and --account")
    book = CurrencyBook.of(settings)
    base = require_gateway(settings)
    if asset is not None:
        trades = gateway_pages(base, f"/assets/{asset_id_hex(parse_asset(asset))}/trades")
    else:
        trades = gateway_pages(base, f"/accounts/{parse_address(str(account), 'account')}/trades")

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
    _print_rows(trades, as_json, columns, book, raw)
