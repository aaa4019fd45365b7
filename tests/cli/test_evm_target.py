"""The EVM target (issue 19, item 3): `deploy` probes the node and refuses one older than the
build, `--evm-version shanghai` deploys the build for nodes without cancun, `auto` picks.

The shanghai node is anvil with ``--hardfork shanghai``: it lacks MCOPY, on which the default
build's read-only ``offerOf`` died with "invalid opcode" after a deployment that looked fine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from typer.testing import CliRunner

from cli.conftest import BUYER, FOREIGN, HOLDER, Cli
from helpers.required import start_anvil
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import AnvilNode
from provledger.chain.artifacts import load_artifact
from provledger.chain.deployments import CONTRACT_NAMES, Deployment
from provledger.chain.probe import MCOPY, PUSH0, TRANSIENT_STORAGE, EvmProbe, NodeEvmTooOldError
from provledger.cli import app

pytestmark = pytest.mark.anvil

DEV = ("--dev-account", "0", "--dev-roles")


def _cli(node: AnvilNode, home: Path) -> Cli:
    return Cli(
        node,
        home,
        {
            "PROVLEDGER_RPC_URL": node.url,
            "PROVLEDGER_DEPLOYMENTS_DIR": str(home / "deployments"),
            "PROVLEDGER_BLOB_DIR": str(home / "blobs"),
            "PROVLEDGER_KEYSTORE_DIR": str(home / "keystore"),
            "PROVLEDGER_DATABASE_URL": str(home / "index.sqlite"),
        },
    )


@pytest.fixture
def shanghai(tmp_path: Path) -> Iterator[Cli]:
    """A fresh anvil running the shanghai hardfork, and a CLI home for it."""
    node = start_anvil("--hardfork", "shanghai")
    try:
        yield _cli(node, tmp_path / "shanghai")
    finally:
        node.stop()


@pytest.fixture
def latest(tmp_path: Path) -> Iterator[Cli]:
    """A fresh anvil on its default (latest) hardfork."""
    node = start_anvil()
    try:
        yield _cli(node, tmp_path / "latest")
    finally:
        node.stop()


def test_the_probe_tells_the_hardforks_apart(shanghai: Cli, latest: Cli) -> None:
    old, new = EvmProbe(shanghai.w3, "old"), EvmProbe(latest.w3, "new")

    assert [old.runs(op) for op in (PUSH0, TRANSIENT_STORAGE, MCOPY)] == [True, False, False]
    assert [new.runs(op) for op in (PUSH0, TRANSIENT_STORAGE, MCOPY)] == [True, True, True]
    assert (old.newest(), new.newest()) == ("shanghai", "cancun")
    assert old.missing("shanghai") == ()
    with pytest.raises(NodeEvmTooOldError) as refused:
        old.require("cancun")
    assert refused.value.missing == (TRANSIENT_STORAGE, MCOPY)
    # Probing is read-only: no block, no transaction.
    assert shanghai.w3.eth.block_number == 0
    assert shanghai.w3.eth.get_transaction_count(dev_account(0).address) == 0


def test_a_paris_node_is_refused_even_the_shanghai_build(tmp_path: Path) -> None:
    node = start_anvil("--hardfork", "paris")
    try:
        cli = _cli(node, tmp_path)
        line = cli.fails(2, "deploy", "--evm-version", "shanghai", *DEV)
        auto = cli.fails(2, "deploy", "--evm-version", "auto", *DEV)
    finally:
        node.stop()

    assert line == (
        f"error: the node at {node.url} runs an EVM older than shanghai (PUSH0, EIP-3855, is "
        "missing): these contracts need shanghai; provledger has no build for an EVM older "
        "than shanghai"
    )
    assert auto == line


def test_the_default_build_is_refused_on_a_shanghai_node_before_anything_is_sent(
    shanghai: Cli,
) -> None:
    deployer = dev_account(0).address
    would_be = [
        to_checksum_address(keccak(bytes(HexBytes(_rlp_sender_nonce(deployer, n))))[12:])
        for n in range(len(CONTRACT_NAMES))
    ]

    line = shanghai.fails(2, "deploy", *DEV)

    assert line == (
        f"error: the node at {shanghai.node.url} runs an EVM older than cancun (TSTORE/TLOAD, "
        "EIP-1153, and MCOPY, EIP-5656, are missing): these contracts need cancun; deploy the "
        "shanghai build with --evm-version shanghai"
    )
    assert not (shanghai.home / "deployments").exists()
    assert shanghai.w3.eth.get_transaction_count(deployer) == 0
    assert [bytes(shanghai.w3.eth.get_code(address)) for address in would_be] == [b""] * len(
        would_be
    )


def _rlp_sender_nonce(sender: str, nonce: int) -> bytes:
    """RLP of ``[sender, nonce]``: its keccak names the contract ``sender`` creates at
    ``nonce`` (nonces below 0x80 here)."""
    address = bytes(HexBytes(sender))
    encoded_nonce = b"\x80" if nonce == 0 else bytes([nonce])
    payload = b"\x94" + address + encoded_nonce
    return bytes([0xC0 + len(payload)]) + payload


def test_the_shanghai_build_runs_the_commands_on_a_shanghai_node(
    shanghai: Cli, tmp_path: Path
) -> None:
    cli = shanghai
    cli.ok("deploy", "--evm-version", "shanghai", *DEV, "--notice-period", "3600")

    record = json.loads((cli.home / "deployments" / "31337.json").read_text())
    assert record["compiler"]["evmVersion"] == "shanghai"
    deployment = Deployment.from_json(record)
    assert deployment.evm_version == "shanghai"
    for name, item in deployment.contracts.items():
        artifact = load_artifact(name, "shanghai")
        assert item.deployed_bytecode_hash == artifact.deployed_bytecode_hash
        assert (
            artifact.deployed_bytecode_hash != load_artifact(name, "cancun").deployed_bytecode_hash
        )
        onchain = bytes(cli.w3.eth.get_code(item.address))
        assert len(onchain) == len(bytes(HexBytes(artifact.deployed_bytecode))), name
    assert deployment.source_hash == load_artifact("DataAssetRegistry", "shanghai").source_hash

    seller, buys = ("--dev-account", str(HOLDER)), ("--dev-account", str(BUYER))
    for index, country in ((HOLDER, "CN"), (BUYER, "CN"), (FOREIGN, "CN")):
        cli.ok(
            "participants", "add", cli.address(index), "--jurisdiction", country,
            "--name", f"party {index}", "--dev-account", "1",
        )  # fmt: skip
    data = tmp_path / "sold.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    asset = str(cli.json("register", str(data), "--category", "301", *seller)["asset_id"])
    granted = cli.json("license", "grant", asset, cli.address(FOREIGN), "--days", "30", *seller)
    assert len(cli.ledger().licenses.licenses_of(int(asset, 16), cli.address(FOREIGN))) == 1
    assert granted["license_id"] == 1
    listed = cli.json("market", "list", asset, "1000 wei", *seller)
    # The read-only offerOf that died with "invalid opcode" on the cancun build.
    assert cli.json("market", "buy", str(listed["offer_id"]), *buys)["trade_id"] == 1
    assert cli.ledger().registry.holder_of(int(asset, 16)) == cli.address(BUYER)


def test_auto_picks_the_newest_build_the_node_runs(shanghai: Cli, latest: Cli) -> None:
    old = shanghai.run("deploy", "--evm-version", "auto", *DEV, "--json")
    new = latest.run("deploy", "--evm-version", "auto", *DEV, "--json")

    assert (old.exit_code, new.exit_code) == (0, 0), old.output + new.output
    assert old.stderr.strip() == "the node runs shanghai: deploying the shanghai build"
    assert new.stderr.strip() == "the node runs cancun: deploying the cancun build"
    assert json.loads(old.stdout)["compiler"]["evmVersion"] == "shanghai"
    assert json.loads(new.stdout)["compiler"]["evmVersion"] == "cancun"
    registry = json.loads(old.stdout)["contracts"]["DataAssetRegistry"]
    assert registry["deployedBytecodeHash"] == (
        load_artifact("DataAssetRegistry", "shanghai").deployed_bytecode_hash
    )


def test_an_unknown_evm_version_is_refused(latest: Cli) -> None:
    line = latest.fails(2, "deploy", "--evm-version", "london", *DEV)

    assert line == (
        "error: no artifacts are built for EVM version 'london'; choose one of cancun, shanghai"
    )


class _NoCreationCalls(BaseHTTPRequestHandler):
    """A node that answers eth_chainId and refuses every eth_call, as some gateways do."""

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply: dict[str, object] = {"jsonrpc": "2.0", "id": request["id"]}
        if request["method"] == "eth_chainId":
            reply["result"] = "0x7a69"
        else:
            reply["error"] = {"code": -32601, "message": f"{request['method']} is not served"}
        body = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


def test_a_node_that_runs_no_probe_is_a_chain_failure(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoCreationCalls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = CliRunner().invoke(
            app,
            ["deploy", "--rpc-url", url, *DEV],
            env={"PROVLEDGER_DEPLOYMENTS_DIR": str(tmp_path / "deployments")},
        )
    finally:
        server.shutdown()
        server.server_close()

    assert result.exit_code == 3, result.output
    assert result.stderr.strip() == (
        f"error: the node at {url} does not run a read-only creation call (eth_call without "
        "'to'), so its EVM version cannot be checked: eth_call is not served"
    )
    assert not (tmp_path / "deployments").exists()
