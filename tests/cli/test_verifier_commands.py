"""The verifier's commands against a real gateway over a real index of a real chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.conftest import HOLDER, OBJECTOR, Cli, served_gateway
from provledger.chain.accounts import DEV_ROLES
from provledger.chain.anvil import free_port
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.hashing import sha256_file

pytestmark = pytest.mark.anvil


@dataclass(frozen=True)
class Served:
    """A scenario indexed and served: the gateway URL and what the scenario did."""

    url: str
    raw_file: Path
    raw: str
    derived: str
    transactions: dict[str, str]
    indexed_head: int


def _scenario(cli: Cli, folder: Path) -> tuple[Path, str, str, dict[str, str]]:

    raw_file = folder / "raw.csv"
    raw_file.write_text("t,pm25\n0,11\n")
    derived_file = folder / "clean.csv"
    derived_file.write_text("t,pm25\n0,11.0\n")
    holder = str(HOLDER)
    raw = cli.json("register", str(raw_file), "--category", "301", "--dev-account", holder)
    derived = cli.json(
        "register", str(derived_file), "--category", "301", "--parent", raw["asset_id"],
        "--title", "Cleaned readings", "--dev-account", holder,
    )  # fmt: skip
    opened = cli.json(
        "dispute", "open", raw["asset_id"], "--evidence", "claim", "--dev-account", str(OBJECTOR)
    )
    frozen = cli.json(
        "dispute", "freeze", str(opened["dispute_id"]), "--dev-account", str(DEV_ROLES["arbiter"])
    )
    transactions = {
        "raw": raw["transaction"],
        "derived": derived["transaction"],
        "opened": opened["transaction"],
        "frozen": frozen["transaction"],
    }
    return raw_file, raw["asset_id"], derived["asset_id"], transactions


@pytest.fixture(scope="module")
def served(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    raw_file, raw, derived, transactions = _scenario(cli, tmp_path_factory.mktemp("data"))
    with served_gateway(cli) as (url, head):
        cli.env["PROVLEDGER_GATEWAY_URL"] = url
        try:
            yield Served(url, raw_file, raw, derived, transactions, head)
        finally:
            cli.env.pop("PROVLEDGER_GATEWAY_URL", None)


def test_verify_a_registered_file_through_the_gateway(cli: Cli, served: Served) -> None:
    verdict = cli.json("verify", str(served.raw_file))
    content = sha256_file(served.raw_file)
    state = cli.ledger().registry.asset(asset_id(content))
    assert state is not None
    assert verdict["registered"] is True
    assert verdict["content_hash"] == "0x" + content.hex()
    assert verdict["asset"]["asset_id"] == served.raw == asset_id_hex(state.asset_id)
    assert verdict["asset"]["holder"] == state.holder
    assert verdict["asset"]["registrant"] == state.registrant
    assert verdict["asset"]["frozen"] is state.frozen is True
    assert verdict["open_disputes"] == 1
    assert any(warning.startswith("frozen") for warning in verdict["warnings"])
    assert verdict["source"] == f"gateway {served.url}"
    human = cli.ok("verify", str(served.raw_file))
    assert "registered as asset" in human
    assert "warning: frozen" in human


def test_verify_directly_against_the_node(cli: Cli, served: Served) -> None:
    content = "0x" + sha256_file(served.raw_file).hex()
    verdict = cli.json("verify", content, "--rpc-url", cli.node.url)
    assert verdict["source"] == f"node {cli.node.url}"
    assert verdict["registered"] is True
    assert verdict["asset_id"] == served.raw
    state = cli.ledger().registry.asset(int(served.raw, 16))
    assert state is not None
    assert verdict["asset"]["holder"] == state.holder
    assert verdict["asset"]["status"] == state.status.name
    assert verdict["warnings"] == ["frozen: an arbiter froze this asset during a dispute"]


def test_an_unregistered_file_is_a_negative_result(
    cli: Cli, served: Served, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger.bin"
    stranger.write_bytes(b"never registered")
    result = cli.run("verify", str(stranger), "--json")
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert verdict["registered"] is False
    assert verdict["asset"] is None
    result = cli.run("verify", str(stranger))
    assert result.exit_code == 1
    assert "not registered" in result.stdout


def test_history_lists_the_assets_events_in_chain_order(cli: Cli, served: Served) -> None:
    events = cli.json("history", served.raw)
    names = [event["event"] for event in events]
    assert names[:2] == ["AssetRegistered", "Transfer"]
    assert "DisputeOpened" in names
    assert "DisputeFrozen" in names
    positions = [(event["block_number"], event["log_index"]) for event in events]
    assert positions == sorted(positions)
    by_tx = {event["tx_hash"] for event in events}
    assert {served.transactions[key] for key in ("raw", "opened", "frozen")} <= by_tx
    for event in events:
        receipt = cli.w3.eth.get_transaction_receipt(event["tx_hash"])
        assert receipt["blockNumber"] == event["block_number"]
        assert "0x" + bytes(receipt["blockHash"]).hex() == event["block_hash"]
    assert "AssetRegistered" in cli.ok("history", served.raw)


def test_lineage_shows_parents_and_children(cli: Cli, served: Served) -> None:
    view = cli.json("lineage", served.derived, "--depth", "2")
    assert view["root"] == served.derived
    edges = [(edge["child_id"], edge["parent_id"], edge["relation"]) for edge in view["edges"]]
    assert edges == [(served.derived, served.raw, "DERIVED_FROM")]
    parents = cli.ledger().registry.parents_of(int(served.derived, 16))
    assert [asset_id_hex(link.parent_id) for link in parents] == [served.raw]
    tree = cli.ok("lineage", served.raw, "--direction", "down")
    assert "descendants" in tree
    assert served.derived in tree.replace("\n", "")


def test_proof_bundle_verifies_against_the_node(cli: Cli, served: Served, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    cli.ok("proof", served.raw, "-o", str(bundle))
    data = json.loads(bundle.read_text())
    assert data["chain_id"] == 31337
    report = cli.json("verify-proof", str(bundle), "--rpc-url", cli.node.url)
    assert report["ok"] is True


def test_status_reports_the_index(cli: Cli, served: Served) -> None:
    status = cli.json("status")
    assert status["chain_id"] == 31337
    assert status["indexed_block"] == served.indexed_head
    assert status["finality_depth"] == 2


def test_gateway_refusals_and_outages_are_one_line(cli: Cli, served: Served) -> None:
    unknown = asset_id_hex(asset_id(b"\x01" * 32))
    line = cli.fails(2, "lineage", unknown)
    assert line.startswith(f"error: the gateway refused /assets/{unknown}/lineage: ")
    closed = f"http://127.0.0.1:{free_port()}"
    line = cli.fails(3, "status", "--gateway", closed)
    assert (
        line
        == f"error: cannot reach the gateway at {closed}: connection refused or host unreachable"
    )
    line = cli.fails(2, "history", "not-an-id")
    assert line == "error: asset 'not-an-id' is not an asset id (0x and 64 hex digits, or a number)"
