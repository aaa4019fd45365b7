"""The two anvil chains every checkpoint test shares (see helpers.checkpointing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.checkpointing import TwoChains, two_chains


@pytest.fixture(scope="session")
def chains() -> Iterator[TwoChains]:
    """A source chain and a target chain, for the whole session."""
    with two_chains() as started:
        yield started
