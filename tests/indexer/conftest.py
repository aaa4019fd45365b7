"""Fixtures of the indexer suites: store backends and indexing helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from helpers.stores import database

STORE_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
]

NewDatabase = Callable[[str], str]


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The database backend of this run of the test."""
    return str(request.param)


@pytest.fixture
def new_database(store_kind: str, tmp_path: Path) -> Iterator[NewDatabase]:
    """A factory of fresh, empty databases of this test's backend (dropped afterwards)."""
    with ExitStack() as stack:

        def make(label: str = "index") -> str:
            return stack.enter_context(database(store_kind, tmp_path, label))

        yield make
