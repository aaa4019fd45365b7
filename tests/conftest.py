"""Shared fixtures: chain backends, the deployed World, snapshot isolation, test profiles.

Every contract test takes ``world`` and runs once per backend: the embedded eth-tester chain
(marker ``ethtester``) and an anvil node started here (marker ``anvil``). Select with
``-m ethtester`` or ``-m anvil``; ``make test`` runs both. A few suites (the README tour, the
indexer's equivalence and reorgs, register-many under the gas cap) also run on a Hardhat node
(marker ``hardhat``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine
from web3 import Web3

from helpers.required import start_anvil, start_hardhat
from helpers.stores import database, engine_for
from helpers.world import World, build_world
from provledger.chain.anvil import AnvilNode
from provledger.chain.connection import embedded_chain
from provledger.store.engine import create_schema

settings.register_profile(
    "default",
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "deep",
    max_examples=200,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PROFILE = os.environ.get("PROVLEDGER_TEST_PROFILE", "default")
settings.load_profile(PROFILE)

BACKENDS = [
    pytest.param("ethtester", marks=pytest.mark.ethtester, id="ethtester"),
    pytest.param("anvil", marks=pytest.mark.anvil, id="anvil"),
]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The chain backend of this run of the test."""
    return str(request.param)


def _node(start: Callable[[], AnvilNode] = start_anvil) -> Iterator[Web3]:
    """A started node (anvil unless ``start`` says otherwise) for as long as it is used."""
    node = start()
    try:
        yield node.web3()
    finally:
        node.stop()


def _reset_after(world: World) -> Iterator[World]:
    """``world`` for one test, then back to its state before it (snapshot and revert)."""
    snapshot = world.chain.snapshot()
    try:
        yield world
    finally:
        world.chain.revert(snapshot)


@pytest.fixture(scope="session")
def chain_w3(backend: str) -> Iterator[Web3]:
    """A fresh chain of ``backend``: in-process eth-tester, or an anvil node on loopback."""
    if backend == "ethtester":
        yield embedded_chain()
        return
    yield from _node()


@pytest.fixture(scope="session")
def anvil_session_world() -> Iterator[World]:
    """A World on an anvil node of its own, for tests that only anvil can run (reorgs)."""
    for w3 in _node():
        yield build_world(w3)


@pytest.fixture
def anvil_world(anvil_session_world: World) -> Iterator[World]:
    """The anvil-only World, reset after the test."""
    yield from _reset_after(anvil_session_world)


@pytest.fixture(scope="session")
def hardhat_session_world() -> Iterator[World]:
    """A World on a Hardhat node (EDR) of its own: the second node implementation, for the
    tests that run on it too (marker ``hardhat``)."""
    for w3 in _node(start_hardhat):
        yield build_world(w3)


@pytest.fixture
def hardhat_world(hardhat_session_world: World) -> Iterator[World]:
    """The Hardhat World, reset after the test."""
    yield from _reset_after(hardhat_session_world)


@pytest.fixture(scope="session")
def session_world(chain_w3: Web3) -> World:
    """The deployment every contract test of this backend starts from."""
    return build_world(chain_w3)


@pytest.fixture
def world(session_world: World) -> Iterator[World]:
    """The World, reset to its starting state after the test (snapshot and revert)."""
    yield from _reset_after(session_world)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    ]
)
def schema_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh index database with the schema created, on SQLite and PostgreSQL."""
    with database(request.param, tmp_path) as url:
        engine = engine_for(url)
        create_schema(engine)
        yield engine


#: The modules with the longest tests (measured by ``--durations``), longest first. ``make
#: test`` runs them before the rest: xdist hands tests out in collection order, so a long test
#: collected last (the README's tour comes after most directories) kept one worker busy while
#: the other had nothing left.
LONGEST_FIRST: tuple[str, ...] = (
    "tests/test_readme.py",
    "tests/indexer/test_crash.py",
    "tests/api/graphql/test_graphql_fuzz.py",
    "tests/indexer/test_faults.py",
    "tests/contracts/test_model.py",
    "tests/api/test_verify_proof_js.py",
    "tests/api/test_relay.py",
    "tests/api/test_gateway_schema.py",
    "tests/api/test_fuzz.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The modules of :data:`LONGEST_FIRST` first, in its order; the rest as collected."""
    root = Path(str(config.rootpath))
    rank = {name: number for number, name in enumerate(LONGEST_FIRST)}

    def place(item: pytest.Item) -> int:
        path = Path(str(item.path))
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else ""
        return rank.get(name, len(rank))

    items.sort(key=place)
