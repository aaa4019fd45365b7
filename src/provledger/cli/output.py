"""How commands show values to people: long hex shortened, times with how far away they are,
tables, what a transaction did, event arguments in their units (or JSON with --json)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from rich.table import Table
from web3 import Web3

from provledger import params
from provledger.categories import category_name, grade_words
from provledger.chain.connection import rpc_chain
from provledger.chain.events import Event
from provledger.chain.serialize import event_args, fixed_text, hex_bytes
from provledger.chain.transactions import Receipt
from provledger.cli.base import out
from provledger.config import Settings
from provledger.services.proofs.verdict import Verdict
from provledger.units import (
    NATIVE,
    Currency,
    fiat,
    format_amount,
    format_time,
    iso_time,
    read_currency,
)


def brief(value: Any) -> str:
    """A value for a human table: long hex (hashes, ids) as ``0x1234abcd…9f8e``; --json has
    them whole."""
    text = str(value)
    if text.startswith("0x") and len(text) > 42:
        return f"{text[:10]}…{text[-4:]}"
    return text


def when(timestamp: int | None) -> str:
    """A unix time for a table: ISO 8601 with the zone and how far away it is,
    ``2026-12-06T07:30:00+00:00 (in 2 min)``; ``-`` for none. --json keeps the number."""
    if timestamp is None:
        return "-"
    return format_time(int(timestamp))


def print_table(
    value: Any, as_json: bool, columns: Sequence[str], rows: Iterable[Sequence[str]]
) -> None:
    """``value`` as JSON with --json; else ``rows`` as a table under ``columns``."""
    if as_json:
        print_json(value)
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*row)
    out.print(table)


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    """A receipt as JSON: transaction, block, gas and every decoded event."""
    return {
        "transaction": hex_bytes(receipt.tx_hash),
        "block_number": receipt.block_number,
        "block_hash": hex_bytes(receipt.block_hash),
        "gas_used": receipt.gas_used,
        "sender": receipt.sender,
        "events": [event_json(event) for event in receipt.events],
    }


def event_json(event: Event) -> dict[str, Any]:
    """One event as ``{"event": name, "args": {...}}``."""
    return {"event": type(event).__name__, "args": event_args(event)}


def show_receipt(
    receipt: Receipt,
    summary: str,
    as_json: bool,
    *,
    currencies: Mapping[str, Currency] | None = None,
    raw: bool = False,
    **extra: Any,
) -> None:
    """Print what a transaction did: a summary line and its events, or JSON with ``extra``.

    The events show times in ISO 8601 and amounts in their currency's units (ETH, an
    appraisal's ISO 4217 code, a token of ``currencies`` by address), or raw with ``raw``;
    the JSON keeps the events' numbers as they are.
    """
    if as_json:
        print_json({**extra, **receipt_json(receipt)})
        return
    out.print(summary, highlight=False, soft_wrap=True)
    show_events(receipt.events, currencies=currencies, raw=raw)
    out.print(
        f"transaction {hex_bytes(receipt.tx_hash)} in block {receipt.block_number}, "
        f"gas {receipt.gas_used:,}",
        highlight=False,
        soft_wrap=True,
    )


class CurrencyBook:
    """The market's currencies by address: ETH for the zero address, a token by the symbol and
    decimals its contract answers through ``w3``, each read once. Without a node (``w3`` None:
    a command that asks only a gateway), a token is known by its address alone and its amounts
    are given and shown in its smallest unit."""

    def __init__(self, w3: Web3 | None) -> None:
        self.w3 = w3
        self.known: dict[str, Currency] = {}

    @classmethod
    def of(cls, settings: Settings) -> CurrencyBook:
        """The book of a gateway command: tokens read through the configured node, if any."""
        if settings.rpc_url is None:
            return cls(None)
        return cls(rpc_chain(settings.rpc_url, timeout=settings.rpc_timeout, check=False))

    def __call__(self, address: str) -> Currency:
        """The currency at ``address``."""
        if int(address, 16) == 0:
            return NATIVE
        key = params.checksum(address)
        if key not in self.known:
            self.known[key] = (
                read_currency(self.w3, key) if self.w3 is not None else Currency(key, "", 0)
            )
        return self.known[key]

    def of_receipt(self, receipt: Receipt) -> dict[str, Currency]:
        """The currencies the events of ``receipt`` name (for :func:`show_receipt`)."""
        for event in receipt.events:
            value = event_args(event).get("currency")
            if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
                self(value)
        return self.known


#: Event arguments that are a jurisdiction's two letters (``bytes2``).
JURISDICTION_ARGS: Final = frozenset({"jurisdiction", "destination"})
#: Event arguments that are amounts in the event's ``currency``.
AMOUNT_ARGS: Final = frozenset({"price", "min_bid", "amount", "fee", "refund"})


def readable_args(
    args: Mapping[str, Any],
    currencies: Mapping[str, Currency] | None = None,
    *,
    raw: bool = False,
) -> dict[str, Any]:
    """An event's JSON arguments for people: times (``*_at``) in ISO 8601, categories and
    grades with their names, jurisdictions as their letters (``HK``), amounts in their
    currency's units when the currency is known (ETH; an appraisal's ISO 4217 code; a token
    of ``currencies``), unless ``raw``."""
    shown = dict(args)
    for key, value in args.items():
        if key.endswith("_at") and isinstance(value, int):
            shown[key] = iso_time(value)
        elif key == "category" and isinstance(value, int):
            shown[key] = f"{value} ({category_name(value)})"
        elif key == "grade" and isinstance(value, int):
            shown[key] = grade_words(value)
        elif key in JURISDICTION_ARGS and isinstance(value, str) and len(value) == 6:
            letters = fixed_text(value)
            shown[key] = letters if letters.isalpha() else value
    currency = _event_currency(args.get("currency"), currencies or {})
    if currency is None or raw:
        return shown
    if currency.fixed:  # an appraisal's ISO 4217 code, by its letters
        shown["currency"] = currency.symbol
    for key in AMOUNT_ARGS & set(args):
        shown[key] = format_amount(args[key], currency)
    return shown


def _event_currency(value: Any, currencies: Mapping[str, Currency]) -> Currency | None:
    if not isinstance(value, str) or not value.startswith("0x"):
        return None
    if len(value) == 8:  # an appraisal's bytes3 ISO 4217 code
        code = fixed_text(value)
        return fiat(code) if code.isalpha() and code.isupper() else None
    if int(value, 16) == 0:
        return NATIVE
    return currencies.get(value)


def show_events(
    events: Sequence[Event],
    *,
    currencies: Mapping[str, Currency] | None = None,
    raw: bool = False,
) -> None:
    """The events as a table of name and arguments (see :func:`readable_args`)."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("event", no_wrap=True)
    table.add_column("arguments", overflow="fold")  # hashes are read in full, never cut
    for event in events:
        args = readable_args(event_args(event), currencies, raw=raw)
        table.add_row(
            f"[bold]{type(event).__name__}[/]",
            ", ".join(f"{key}={value}" for key, value in args.items()),
        )
    out.print(table, soft_wrap=True)


def print_json(value: Any) -> None:
    """Machine-readable output: one JSON document, nothing else on stdout."""
    out.print_json(json.dumps(value), highlight=False)


def print_verdict(verdict: Verdict, title: str, where: str = "") -> None:
    """A verdict's checks as a table under ``title``, then one line: verified (``where``: on
    which chain), or how many checks failed and which."""
    table = Table(title=title)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("reason", overflow="fold")  # fold, not cut: hashes are read in full
    for check in verdict.checks:
        result = "[green]pass[/]" if check.passed else "[bold red]FAIL[/]"
        table.add_row(check.name, result, check.reason)
    out.print(table)
    if verdict.ok:
        out.print(f"verified: all {len(verdict.checks)} checks passed{where}")
    else:
        out.print(
            f"[bold red]not verified[/]: {len(verdict.failed)} of {len(verdict.checks)} checks "
            f"failed ({', '.join(verdict.failed)})",
            highlight=False,
        )
