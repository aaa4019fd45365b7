"""No transaction asks for more gas than one may use (issue 19, item 1).

Nodes that enforce EIP-7825 refuse a transaction whose gas limit is above 16,777,216; every
node refuses one above its block gas limit. anvil enforces neither cap on its own, so the
chain here has a block gas limit of 8,000,000: a register-many chunk of 200 registrations
(about 16 million gas) must go out as several transactions, each within the limit, and say
so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.conftest import HOLDER, Cli, deployed_cli
from helpers.required import start_anvil
from provledger.chain.transactions import (
    GAS_HEADROOM,
    TX_GAS_CAP,
    GasCapExceededError,
    capped_gas,
)

pytestmark = pytest.mark.anvil

BLOCK_GAS_LIMIT = 8_000_000
ROWS = 200


@pytest.fixture(scope="module")
def small_blocks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    yield from deployed_cli(start_anvil("--gas-limit", str(BLOCK_GAS_LIMIT)), tmp_path_factory)


def test_a_chunk_above_the_cap_is_sent_as_smaller_transactions(
    small_blocks: Cli, tmp_path: Path
) -> None:
    cli = small_blocks
    listing, hashes = cli.listing(tmp_path, ROWS, "gas-cap")
    start = cli.w3.eth.block_number + 1

    result = cli.run("register-many", str(listing), "--chunk", "200", "--dev-account", str(HOLDER))

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "200 registered, 0 failed, 0 skipped"
    splits = result.stderr.strip().splitlines()
    assert len(splits) == 1
    assert splits[0].startswith("note: ")
    assert splits[0].endswith(
        f"needed more than the {BLOCK_GAS_LIMIT:,} gas one transaction may use on this chain, "
        "so they were sent as smaller transactions"
    )
    registered = cli.registrations_since(start)
    assert {content for content, _ in registered} == hashes
    transactions = {tx_hash for _, tx_hash in registered}
    assert len(transactions) > 1
    cli.assert_mined_within(transactions, BLOCK_GAS_LIMIT)


def test_the_headroom_is_cut_to_the_cap_and_an_estimate_above_it_is_refused() -> None:
    assert capped_gas(100_000, TX_GAS_CAP) == int(100_000 * GAS_HEADROOM)
    # the chunk of 200: estimate 16,362,372, with headroom 20,452,965
    assert capped_gas(16_362_372, TX_GAS_CAP) == TX_GAS_CAP == 16_777_216
    with pytest.raises(GasCapExceededError) as refused:
        capped_gas(TX_GAS_CAP + 1, TX_GAS_CAP)
    assert (refused.value.needed, refused.value.cap) == (TX_GAS_CAP + 1, TX_GAS_CAP)
    assert "16,777,217 gas" in str(refused.value)
    assert "(16,777,216:" in str(refused.value)
