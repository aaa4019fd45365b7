"""Amounts in units and times in ISO 8601 in what the commands print, on a real chain: a
market offer in ETH and in an ERC-20 by its own symbol and decimals, `--raw`, a bare number
refused, and times in sentences, event tables and history."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.conftest import BUYER, HOLDER, Cli, served_gateway
from helpers.tokens import HarnessToken
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.client import Provledger
from provledger.cli.base import out

pytestmark = pytest.mark.anvil

SELLER = ("--dev-account", str(HOLDER))
BUYS = ("--dev-account", str(BUYER))
REGISTRAR = ("--dev-account", str(DEV_ROLES["registrar"]))
#: An ISO 8601 time with its zone, then how far away it is.
ISO: re.Pattern[str] = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 \((in \d+ [a-z]+|\d+ [a-z]+ ago|now)\)"
)
#: The first line of an event in ``history``: its name, block, time and finality.
HEAD: re.Pattern[str] = re.compile(
    r"(?P<event>\w+) · block (?P<block>\d+) · " + ISO.pattern + r" · (pending|safe|final)"
)


def _asset(cli: Cli, folder: Path, name: str) -> str:
    path = folder / name
    path.write_text(f"{name} for units\n", encoding="utf-8")
    return str(cli.json("register", str(path), "--category", "301", *SELLER)["asset_id"])


def _flat(text: str) -> str:
    """Output without whitespace: table cells fold at the terminal's width."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def assets(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("units")
    return {name: _asset(cli, folder, f"{name}.csv") for name in ("eth", "token", "raw", "bare")}


@pytest.fixture(scope="module")
def token(cli: Cli) -> HarnessToken:
    """The harness ERC-20 (symbol PLT, 18 decimals), listed by the market; the buyer holds
    100 PLT."""
    admin = Provledger(cli.w3, cli.deployment, dev_account(0))
    minted = HarnessToken(cli.w3, dev_account(0))
    admin.market.set_currency_listed(minted.address)
    minted.mint(dev_account(0), cli.address(BUYER), 100 * 10**18)
    return minted


def test_an_offer_in_ether_is_shown_in_eth(cli: Cli, assets: dict[str, str]) -> None:
    printed = cli.ok("market", "list", assets["eth"], "0.005ether", "--min-bid", "4 gwei", *SELLER)
    summary = printed.splitlines()[0]
    assert summary.startswith(f"offer #1: {assets['eth']} for 0.005 ETH until ")
    assert ISO.fullmatch(summary.split(" until ")[1]), summary
    assert summary.endswith("(in 30 days)")
    flat = _flat(printed)
    assert "price=0.005ETH" in flat
    assert "min_bid=0.000000004ETH" in flat
    assert re.search(r"expires_at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", flat)
    offer = cli.ledger().market.offer(1)
    assert (offer.price, offer.min_bid) == (5 * 10**15, 4 * 10**9)

    bought = cli.ok("market", "buy", "1", *BUYS)
    assert bought.splitlines()[0] == f"trade #1: bought {assets['eth']} for 0.005 ETH"
    assert "price=0.005ETH" in _flat(bought)
    assert cli.ok("market", "withdraw", *SELLER).splitlines()[0] == "withdrew 0.005 ETH"


def test_an_offer_in_a_token_is_shown_by_its_symbol(
    cli: Cli, assets: dict[str, str], token: HarnessToken
) -> None:
    printed = cli.ok(
        "market", "list", assets["token"], "12.5 plt", "--currency", token.address, *SELLER
    )
    assert printed.splitlines()[0].startswith(f"offer #2: {assets['token']} for 12.5 PLT until ")
    assert "price=12.5PLT" in _flat(printed)
    assert cli.ledger().market.offer(2).price == 12_500_000_000_000_000_000
    as_json = cli.json("market", "buy", "2", *BUYS)  # JSON keeps the numbers
    settled = next(e for e in as_json["events"] if e["event"] == "TradeSettled")
    assert settled["args"]["price"] == "12500000000000000000"
    assert token.balance_of(cli.address(BUYER)) == 87_500_000_000_000_000_000

    raw = cli.ok(
        "market", "list", assets["raw"], "2500", "--raw", "--currency", token.address, *SELLER
    )
    assert raw.splitlines()[0].startswith(
        f"offer #3: {assets['raw']} for 2500 smallest units of PLT until "
    )
    assert "price=2500," in _flat(raw)
    assert cli.ledger().market.offer(3).price == 2500
    line = cli.fails(2, "market", "list", assets["raw"], "1 ETH", "--currency", token.address)
    assert line == "error: price '1 ETH' is in ETH, but the currency is PLT"


def test_a_bare_number_is_refused_before_anything_is_sent(
    cli: Cli, assets: dict[str, str], token: HarnessToken
) -> None:
    holder = dev_account(HOLDER).address
    before = cli.w3.eth.get_transaction_count(holder)
    line = cli.fails(2, "market", "list", assets["bare"], "1000", *SELLER)
    assert line == (
        "error: price '1000' has no unit: write it with one, like 1000 ETH, 1000 gwei or "
        "1000 wei (or give --raw for wei)"
    )
    line = cli.fails(2, "market", "list", assets["bare"], "1000", "--currency", token.address)
    assert line == (
        "error: price '1000' has no unit: write 1000 PLT (or give --raw for smallest units of PLT)"
    )
    line = cli.fails(2, "market", "list", assets["bare"], "0.5 wei", *SELLER)
    assert line == "error: price '0.5 wei' has too many decimals: wei takes no decimals"
    line = cli.fails(2, "market", "bid", "3", "0.0000000000000000001 PLT", *BUYS)
    assert line == (
        "error: amount '0.0000000000000000001 PLT' has too many decimals: PLT takes at most 18 "
        "decimals"
    )
    assert cli.w3.eth.get_transaction_count(holder) == before


def test_times_in_sentences_and_tables_are_iso_8601(
    cli: Cli, assets: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "noticed.csv"
    path.write_text("noticed\n", encoding="utf-8")
    asset = str(cli.json("register", str(path), "--category", "301", *SELLER)["asset_id"])
    accepted = cli.ok("review", "accept", asset, *REGISTRAR).splitlines()[0]
    assert accepted.startswith(f"accepted {asset}; public notice until ")
    assert ISO.fullmatch(accepted.split(" until ")[1]), accepted
    granted = cli.ok("license", "grant", assets["eth"], cli.address(HOLDER), "--days", "90", *BUYS)
    assert re.search(r"expires_at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", _flat(granted))
    license_json = cli.json(
        "license", "grant", assets["eth"], cli.address(HOLDER), "--days", "90", *BUYS
    )
    assert isinstance(license_json["expires_at"], int)  # --json keeps unix seconds


@pytest.fixture(scope="module")
def gateway(cli: Cli, assets: dict[str, str], token: HarnessToken) -> Iterator[str]:
    with served_gateway(cli) as (url, _):
        yield url


@dataclass
class Terminal:
    """The CLI in a terminal of a given width. The commands run in this process, whose
    console took its width from COLUMNS when it was made, if that was set (as it is under
    pytest-xdist): the width is set on the console itself, for each command."""

    cli: Cli
    monkeypatch: pytest.MonkeyPatch

    def ok(self, columns: int, *args: str) -> str:
        with self.monkeypatch.context() as patch:
            patch.setattr(out, "_width", columns)
            return self.cli.ok(*args)


def test_history_and_market_tables_show_iso_times_and_units(
    cli: Cli,
    assets: dict[str, str],
    token: HarnessToken,
    gateway: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal(cli, monkeypatch)
    wide = functools.partial(terminal.ok, 400)  # a row on one line
    table = wide("history", assets["eth"], "--gateway", gateway)
    rows = [line for line in table.splitlines() if line.startswith("OfferCreated · ")]
    assert len(rows) == 1, table
    assert ISO.search(rows[0]), rows[0]
    flat = _flat(table)
    assert "price=0.005ETH" in flat
    assert "price=5000000000000000" in _flat(
        wide("history", assets["eth"], "--raw", "--gateway", gateway)
    )
    events = cli.json("history", assets["eth"], "--gateway", gateway)
    assert all(isinstance(event["block_time"], int) for event in events)
    # in a terminal of 100 columns each event still heads its lines with its time whole
    shown = terminal.ok(100, "history", assets["eth"], "--gateway", gateway)
    heads = [HEAD.fullmatch(line.rstrip()) for line in shown.splitlines() if " · block " in line]
    assert [(head["event"], int(head["block"])) for head in heads if head] == [
        (event["event"], event["block_number"]) for event in events
    ], shown
    created = next(event for event in events if event["event"] == "OfferCreated")
    assert created["args"]["price"] == 5 * 10**15

    trades = wide("market", "trades", "--account", cli.address(BUYER), "--gateway", gateway)
    flat = _flat(trades)
    assert "0.005ETH" in flat
    assert "12.5PLT" in flat
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", flat)
    offers = wide(
        "market", "offers", "--currency", token.address, "--max-price", "0.000000000000003 PLT",
        "--gateway", gateway,
    )  # fmt: skip
    assert "0.0000000000000025PLT" in _flat(offers)  # offer 3, listed with --raw 2500
    higher = cli.json(
        "market", "offers", "--currency", token.address, "--min-price", "2501", "--raw",
        "--gateway", gateway,
    )  # fmt: skip
    assert higher == []
    status = cli.ok("status", "--gateway", gateway)
    assert ISO.search(status), status
