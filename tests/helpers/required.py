"""Tools the suite needs: missing, a test skips with the reason, except under ``CI=true``,
where a missing tool fails it (CI must not pass by skipping)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from provledger.chain.anvil import AnvilNode
from provledger.errors import ConfigurationError


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``; under ``CI=true`` fail instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


def start_anvil(*extra_args: str) -> AnvilNode:
    """A started anvil node on a free loopback port, given ``extra_args`` (stop it with
    ``node.stop()``)."""
    try:
        return AnvilNode(extra_args=extra_args).start()
    except ConfigurationError as error:
        unavailable(f"anvil is not installed: {error}")
