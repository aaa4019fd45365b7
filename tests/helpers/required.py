"""Tools the suite needs: missing, a test skips with the reason, except under ``CI=true``,
where a missing tool fails it (CI must not pass by skipping)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from helpers.hardhat import HardhatNode
from provledger.chain.anvil import ANVIL_CHAIN_ID, AnvilNode
from provledger.errors import ConfigurationError


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``; under ``CI=true`` fail instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


def start_anvil(
    *extra_args: str,
    block_time: float | None = None,
    mixed_mining: bool = False,
    chain_id: int = ANVIL_CHAIN_ID,
) -> AnvilNode:
    """A started anvil node on a free loopback port, given ``extra_args`` (stop it with
    ``node.stop()``); ``block_time``, ``mixed_mining`` and ``chain_id`` (a second chain beside
    the first) as :class:`AnvilNode` takes them."""
    try:
        node = AnvilNode(
            extra_args=extra_args,
            block_time=block_time,
            mixed_mining=mixed_mining,
            chain_id=chain_id,
        )
        return node.start()
    except ConfigurationError as error:
        unavailable(f"anvil is not installed: {error}")


def start_hardhat(*, block_time: float | None = None, mixed_mining: bool = False) -> HardhatNode:
    """A started Hardhat node (EDR) on a free loopback port (stop it with ``node.stop()``)."""
    try:
        node = HardhatNode(block_time=block_time, mixed_mining=mixed_mining)
        return node.start()
    except ConfigurationError as error:
        unavailable(f"the Hardhat node is not installed: {error}")
