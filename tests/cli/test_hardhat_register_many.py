"""register-many on Hardhat 3's node, which enforces the EIP-7825 per-transaction gas cap
(issue 19): 1,000 entries with the default chunk size all reach the chain, and no transaction
asked for, or used, more than 16,777,216 gas (read from the transactions and their receipts).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from cli.conftest import HOLDER, Cli, deployed_cli
from helpers.required import start_hardhat
from provledger.chain.transactions import TX_GAS_CAP
from provledger.cli import app

pytestmark = pytest.mark.hardhat

ENTRIES = 1_000


@pytest.fixture(scope="module")
def hardhat_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    yield from deployed_cli(start_hardhat(), tmp_path_factory)


def _default_chunk() -> int:
    """The registrations per transaction of `register-many` without ``--chunk``."""
    command = typer.main.get_group(app).commands["register-many"]
    (chunk,) = (param for param in command.params if param.name == "chunk")
    return int(chunk.default)  # type: ignore[arg-type]


def test_a_thousand_entries_register_with_every_transaction_under_the_cap(
    hardhat_cli: Cli, tmp_path: Path
) -> None:
    cli = hardhat_cli
    listing, hashes = cli.listing(tmp_path, ENTRIES, "hardhat")
    start = cli.w3.eth.block_number + 1

    result = cli.run("register-many", str(listing), "--dev-account", str(HOLDER))

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1,000 registered, 0 failed, 0 skipped"
    registered = cli.registrations_since(start)
    assert len(registered) == ENTRIES
    assert {content for content, _ in registered} == hashes
    transactions = {tx_hash for _, tx_hash in registered}
    assert len(transactions) >= math.ceil(ENTRIES / _default_chunk())
    cli.assert_mined_within(transactions, TX_GAS_CAP)
