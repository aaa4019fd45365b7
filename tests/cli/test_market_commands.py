"""The market commands against a real chain, then read back through a real gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.conftest import BUYER, FOREIGN, HOLDER, Cli, served_gateway
from helpers.tokens import HarnessToken
from provledger.chain.accounts import dev_account
from provledger.chain.client import Provledger
from provledger.chain.enums import BidStatus, LicenseKind, OfferKind, OfferStatus

pytestmark = pytest.mark.anvil

SELLER = ("--dev-account", str(HOLDER))
BUYS = ("--dev-account", str(BUYER))


def _asset(cli: Cli, folder: Path, name: str) -> str:
    path = folder / name
    path.write_text(f"{name}\n", encoding="utf-8")
    registered = cli.json("register", str(path), "--category", "301", *SELLER)
    return str(registered["asset_id"])


@pytest.fixture(scope="module")
def traded(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Trades made through the CLI: an asset sold on a bid, a license sold, one in tokens."""
    folder = tmp_path_factory.mktemp("market")
    assets = {name: _asset(cli, folder, f"{name}.csv") for name in ("bid", "license", "token")}
    listed = cli.json("market", "list", assets["bid"], "1000 wei", "--min-bid", "500wei", *SELLER)
    assert listed["offer_id"] == 1
    bid = cli.json("market", "bid", "1", "600", "--raw", "--days", "2", *BUYS)
    assert bid["bid_id"] == 1
    accepted = cli.json("market", "accept", "1", *SELLER)
    assert accepted["trade_id"] == 1
    offered = cli.json(
        "market", "offer-license", assets["license"], "0.0000000000000003ETH",
        "--kind", "product-operation", "--license-days", "30", "--scope", "dashboards", *SELLER,
    )  # fmt: skip
    assert offered["offer_id"] == 2
    bought = cli.json("market", "buy", "2", "--dev-account", str(FOREIGN))
    assert bought["trade_id"] == 2
    cli.ok("market", "cancel", "2", *SELLER)

    admin = Provledger(cli.w3, cli.deployment, dev_account(0))
    token = HarnessToken(cli.w3, dev_account(0))
    admin.market.set_currency_listed(token.address)
    token.mint(dev_account(0), cli.address(BUYER), 10_000)
    cli.ok("market", "list", assets["token"], "2500", "--raw", "--currency", token.address, *SELLER)
    assert cli.json("market", "buy", "3", *BUYS)["trade_id"] == 3  # approves, then buys
    return {**assets, "token_address": token.address}


def test_trades_through_the_cli_settle_on_chain(cli: Cli, traded: dict[str, str]) -> None:
    market = cli.ledger().market
    seller, buyer, foreign = cli.address(HOLDER), cli.address(BUYER), cli.address(FOREIGN)
    first = market.offer(1)
    assert (first.kind, first.status, first.price, first.min_bid) == (
        OfferKind.ASSET,
        OfferStatus.FILLED,
        1000,
        500,
    )
    assert market.bid_state(1).status is BidStatus.ACCEPTED
    assert cli.ledger().registry.holder_of(int(traded["bid"], 16)) == buyer
    second = market.offer(2)
    assert (second.kind, second.status, second.license_kind, second.scope) == (
        OfferKind.LICENSE,
        OfferStatus.CANCELLED,
        LicenseKind.PRODUCT_OPERATION,
        "dashboards",
    )
    assert second.license_duration == 30 * 86400
    licenses = cli.ledger().licenses.licenses_of(int(traded["license"], 16), foreign)
    assert len(licenses) == 1
    assert cli.ledger().registry.holder_of(int(traded["token"], 16)) == buyer
    token = traded["token_address"]
    assert market.owed_to(seller) == 900
    assert market.owed_to(seller, token) == 2500
    withdrawn = cli.json("market", "withdraw", *SELLER)
    assert withdrawn["amount"] == "900"
    assert cli.json("market", "withdraw", "--currency", token, *SELLER)["amount"] == "2500"
    assert market.token(token).balance_of(seller) == 2500
    assert market.owed_to(seller) == 0


def test_market_bad_input_is_one_line(cli: Cli, traded: dict[str, str]) -> None:
    asset = traded["license"]
    line = cli.fails(2, "market", "list", asset, "0", *SELLER)
    assert line == "error: price '0' must be more than zero"
    line = cli.fails(2, "market", "list", asset, "ten", *SELLER)
    assert line == "error: price 'ten' is not an amount (write it like 0.005 ETH)"
    line = cli.fails(2, "market", "list", asset, str(2**128), "--raw", *SELLER)
    assert line == (f"error: price '{2**128}' is too large: at most {2**128 - 1} wei")
    line = cli.fails(2, "market", "list", asset, "10wei", "--min-bid", "4e20 ETH", *SELLER)
    assert line == "error: --min-bid '4e20 ETH' is not an amount (write it like 0.005 ETH)"
    huge = "400,000,000,000,000,000,000 ETH"
    line = cli.fails(2, "market", "list", asset, "10wei", "--min-bid", huge, *SELLER)
    assert line == (
        f"error: --min-bid '{huge}' is too large: at most 340,282,366,920,938,463,463"
        ".374607431768211455 ETH"
    )
    result = cli.run("market", "bid", "1", "10wei", "--days", "40000", *BUYS)
    assert result.exit_code == 2
    assert "--days" in result.output
    assert cli.fails(2, "market", "buy", "99", *BUYS) == "error: there is no offer #99"
    # the refusals' wording is reverts.py's (it names the fix); here: the error, one line
    line = cli.fails(2, "market", "withdraw", *BUYS)
    assert line.startswith("error: the contract refused: ")
    assert "NothingToWithdraw" in line
    stranger = cli.address(FOREIGN)
    line = cli.fails(2, "market", "list", asset, "10", "--raw", "--currency", stranger, *SELLER)
    assert line.startswith("error: the contract refused: ")
    assert "UnknownCurrency" in line
    assert stranger in line
    line = cli.fails(2, "market", "list", asset, "10 wei", *BUYS)
    assert line.startswith("error: the contract refused: ")
    assert "NotAssetHolder" in line
    line = cli.fails(2, "market", "offer-license", asset, "1gwei", "--kind", "resale", *SELLER)
    assert line.startswith("error: --kind 'resale' is not one of: processing-use")
    assert cli.fails(2, "market", "trades", "--asset", asset) == (
        "error: this command asks a gateway: give --gateway or set PROVLEDGER_GATEWAY_URL"
    )
    line = cli.fails(2, "market", "trades", "--gateway", "http://127.0.0.1:9")
    assert line == "error: give exactly one of --asset and --account"


@pytest.fixture(scope="module")
def gateway(cli: Cli, traded: dict[str, str]) -> Iterator[str]:
    with served_gateway(cli) as (url, _):
        yield url


def test_trades_and_offers_read_back_through_the_gateway(
    cli: Cli, traded: dict[str, str], gateway: str
) -> None:
    trades = cli.json("market", "trades", "--asset", traded["bid"], "--gateway", gateway)
    assert [(t["trade_id"], t["price"], t["bid_id"], t["buyer"]) for t in trades] == [
        (1, "600", 1, cli.address(BUYER))
    ]
    mine = cli.json("market", "trades", "--account", cli.address(HOLDER), "--gateway", gateway)
    assert [t["trade_id"] for t in mine] == [1, 2, 3]
    assert mine[2]["currency"] == traded["token_address"]
    table = cli.ok("market", "trades", "--account", cli.address(FOREIGN), "--gateway", gateway)
    assert [line.split("│")[1].strip() for line in table.splitlines() if "│ 2 " in line] == ["2"]
    assert cli.json("market", "offers", "--gateway", gateway) == []  # all filled or cancelled
    line = cli.fails(2, "market", "offers", "--min-price", "5 wei", "--gateway", gateway)
    assert line == (
        "error: --min-price needs --currency (prices in different currencies do not compare)"
    )
    assert (
        cli.json(
            "market", "offers", "--currency", "native", "--min-price", "1gwei", "--gateway", gateway
        )
        == []
    )
