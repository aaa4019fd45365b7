"""A chain for the CLI tests: one anvil node per module, deployed through `provledger deploy`.

Every command runs through typer's runner with the settings in ``PROVLEDGER_*`` variables,
as a user's shell would hold them; the tests then read the chain to check what happened.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from hexbytes import HexBytes
from typer.testing import CliRunner, Result
from web3 import Web3

from helpers.processes import PROVLEDGER, clean_env, wait_for_http
from helpers.required import start_anvil
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.anvil import AnvilNode, free_port
from provledger.chain.client import Provledger
from provledger.chain.connection import DevChain
from provledger.chain.deployments import Deployment, load_deployment
from provledger.chain.events import AssetRegistered
from provledger.cli import app

#: Public notice of the test deployment: short, so that certification needs little time travel.
NOTICE_SECONDS = 3600
#: Dev accounts of the participants the tests use (0-4 hold the authority roles).
HOLDER, BUYER, FOREIGN, OBJECTOR = 5, 6, 7, 8


@dataclass
class Cli:
    """The CLI, a home folder with its settings, and the chain it drives."""

    node: AnvilNode
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def w3(self) -> Web3:
        return self.node.web3()

    @property
    def deployment(self) -> Deployment:
        return load_deployment(self.home / "deployments", 31337)

    def ledger(self) -> Provledger:
        """A read-only client of the deployment, to check the chain."""
        return Provledger(self.w3, self.deployment)

    def run(self, *args: str, input: str | None = None) -> Result:
        """Run ``provledger ARGS`` with this home's settings."""
        return CliRunner().invoke(app, list(args), env=self.env, input=input)

    @staticmethod
    def listing(folder: Path, count: int, label: str) -> tuple[Path, set[bytes]]:
        """A `register-many` listing of ``count`` new files in ``folder`` (category 301), and
        their SHA-256 content hashes."""
        rows = ["path,category"]
        hashes = set()
        for number in range(count):
            content = f"{label} row {number}\n".encode()
            (folder / f"{label}-{number}.txt").write_bytes(content)
            hashes.add(hashlib.sha256(content).digest())
            rows.append(f"{label}-{number}.txt,301")
        listing = folder / f"{label}.csv"
        listing.write_text("\n".join(rows) + "\n")
        return listing, hashes

    def registrations_since(self, block: int) -> list[tuple[bytes, HexBytes]]:
        """Each registration from ``block`` on: its content hash and its transaction."""
        logs = self.w3.eth.get_logs(
            {
                "address": self.ledger().registry.address,
                "fromBlock": block,
                "toBlock": "latest",
                "topics": ["0x" + AssetRegistered.TOPIC0.hex()],
            }
        )
        return [(bytes(log["topics"][3]), HexBytes(log["transactionHash"])) for log in logs]

    def assert_mined_within(self, transactions: set[HexBytes], gas: int) -> None:
        """Each transaction succeeded, with a gas limit of at most ``gas`` (from the receipts)."""
        for tx_hash in transactions:
            sent = self.w3.eth.get_transaction(tx_hash)
            mined = self.w3.eth.get_transaction_receipt(tx_hash)
            assert mined["status"] == 1
            assert sent["gas"] <= gas
            assert mined["gasUsed"] <= sent["gas"]

    def ok(self, *args: str, input: str | None = None) -> str:
        """Run a command that must succeed; its standard output."""
        result = self.run(*args, input=input)
        assert result.exit_code == 0, f"{args}: {result.exit_code}\n{result.output}"
        return result.stdout

    def json(self, *args: str) -> Any:
        """Run a command with ``--json``; its parsed output."""
        return json.loads(self.ok(*args, "--json"))

    def fails(self, code: int, *args: str, input: str | None = None) -> str:
        """Run a command that must exit with ``code`` and one error line; that line."""
        result = self.run(*args, input=input)
        assert result.exit_code == code, f"{args}: {result.exit_code}\n{result.output}"
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert "Traceback" not in result.output
        return lines[0]

    def address(self, index: int) -> str:
        return str(dev_account(index).address)

    def advance(self, seconds: int) -> None:
        DevChain(self.w3).advance(seconds)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A deployed chain with the authority roles on dev accounts 0-4 and four participants."""
    yield from deployed_cli(start_anvil(), tmp_path_factory)


def deployed_cli(node: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """:func:`cli`'s set-up on ``node`` (a started anvil), which it stops at the end."""
    try:
        home = tmp_path_factory.mktemp("cli-home")
        env = {
            "PROVLEDGER_RPC_URL": node.url,
            "PROVLEDGER_DEPLOYMENTS_DIR": str(home / "deployments"),
            "PROVLEDGER_BLOB_DIR": str(home / "blobs"),
            "PROVLEDGER_KEYSTORE_DIR": str(home / "keystore"),
            "PROVLEDGER_DATABASE_URL": str(home / "index.sqlite"),
            "PROVLEDGER_NOTIFY_DATABASE_URL": str(home / "notify.sqlite"),
        }
        cli = Cli(node, home, env)
        cli.ok(
            "deploy", "--dev-account", "0", "--dev-roles", "--notice-period", str(NOTICE_SECONDS)
        )
        registrar = str(DEV_ROLES["registrar"])
        for index, country in ((HOLDER, "CN"), (BUYER, "CN"), (FOREIGN, "US"), (OBJECTOR, "HK")):
            cli.ok(
                "participants", "add", cli.address(index), "--jurisdiction", country,
                "--name", f"party {index}", "--dev-account", registrar,
            )  # fmt: skip
        yield cli
    finally:
        node.stop()


@dataclass(frozen=True)
class Gateway:
    """A `provledger serve` process (one worker: the process itself answers)."""

    url: str
    process: subprocess.Popen[bytes]
    indexed_block: int

    def rss(self) -> int:
        """The process's resident memory, in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kilobytes = next(line.split()[1] for line in status.splitlines() if line[:6] == "VmRSS:")
        return int(kilobytes) * 1024

    def assert_alive(self) -> None:
        """The process runs and answers /health."""
        assert self.process.poll() is None, f"the gateway died ({self.process.returncode})"
        assert requests.get(f"{self.url}/health", timeout=10).json() == {"status": "ok"}


@contextmanager
def gateway_process(cli: Cli, **env: str) -> Iterator[Gateway]:
    """Index the chain once (finality depth 2) and serve it with `provledger serve`, with the
    settings ``env`` on top of the CLI's."""
    indexed = cli.json("index", "--once", "--no-progress", "--finality-depth", "2")
    port = free_port()
    env = clean_env(
        **{**cli.env, "PROVLEDGER_PORT": str(port), "PROVLEDGER_FINALITY_DEPTH": "2", **env}
    )
    server = subprocess.Popen(
        [PROVLEDGER, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", server, "the gateway")
        yield Gateway(url, server, int(indexed["indexed_block"]))
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def served_gateway(cli: Cli) -> Iterator[tuple[str, int]]:
    """:func:`gateway_process` with the CLI's settings: the URL and the block the index
    reached."""
    with gateway_process(cli) as gateway:
        yield gateway.url, gateway.indexed_block
