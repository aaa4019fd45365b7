"""How commands show values to people: long hex shortened, times with how far away they are,
tables (or JSON with --json)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.table import Table

from provledger.cli.base import out
from provledger.cli.session import print_json
from provledger.units import format_time


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
