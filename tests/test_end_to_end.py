"""End to end: the model of the rules, the chain, the index and the gateway agree at every step.

The contracts' state machine (:func:`contracts.machine.state_machine.registry_machine`: random
actions of every role, each checked against the Python model, and every view the model predicts)
runs on anvil, and after each step the indexer brings a SQLite index up to the head and the
gateway, reading that index, must answer for every asset and participant what the model says,
and the index's holding periods must follow the model's changes of holder: after its
registration an asset changes holder in the index only by a transfer, a ruling or a trade the
model made, in the same block, and every holding acquired by trade is an asset trade of the
index (and back). Every fourth step also breaks something on purpose: a reorganisation (blocks
with events the model never sees are indexed, then reverted away), or an indexer process killed
with SIGKILL in the middle of its work. At the end of each example the index must equal a fresh
index of the same chain, table by table.

``make test`` runs a fixed number of examples with a derandomised seed; ``make test-deep``
(``PROVLEDGER_TEST_PROFILE=deep``) runs more.
"""

from __future__ import annotations

import copy
import itertools
import subprocess
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from hypothesis import settings
from hypothesis.stateful import invariant, run_state_machine_as_test
from sqlalchemy import select

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from contracts.machine.driver import Driver
from contracts.machine.seed import seed
from contracts.machine.state_machine import registry_machine
from helpers.indexing import TEST_CONFIG, differences, index
from helpers.processes import PROVLEDGER, clean_env
from helpers.world import World
from provledger.api.app import create_app
from provledger.chain.serialize import asset_hex
from provledger.config import Settings
from provledger.indexer.scanner import Scanner
from provledger.indexer.source import JsonRpcSource
from provledger.store import schema
from provledger.store.engine import create_store_engine
from provledger.store.index import IndexStore

pytestmark = pytest.mark.anvil


def test_model_chain_index_and_gateway_agree(anvil_world: World, tmp_path: Path) -> None:
    world = anvil_world
    rpc_url = str(world.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    driver = Driver(world)
    seed(driver)
    contracts_machine = registry_machine(world, driver, copy.deepcopy(driver.model))
    world.deployment.save(tmp_path / "deployments")
    examples = itertools.count()
    seen = {"reorgs": 0, "kills": 0, "steps": 0}

    class EndToEnd(contracts_machine):  # type: ignore[misc, valid-type]
        """The contracts' machine, with the index and the gateway checked after every step."""

        def __init__(self) -> None:
            super().__init__()
            self.url = str(tmp_path / f"example-{next(examples)}.sqlite")
            self.store = IndexStore(create_store_engine(self.url))
            gateway_settings = Settings(
                database_url=self.url,
                deployments_dir=tmp_path / "deployments",
                blob_dir=tmp_path / "blobs",
                confirmations=TEST_CONFIG.confirmations,
                finality_depth=TEST_CONFIG.finality_depth,
            )
            self.gateway = TestClient(create_app(gateway_settings))
            self.steps = 0

        def teardown(self) -> None:
            try:
                self.index()
                fresh = str(Path(self.url).with_suffix(".fresh.sqlite"))
                index(world.w3, world.deployment, fresh)
                assert differences(self.url, fresh) == {}
            finally:
                self.gateway.close()
                self.gateway.app.state.gateway.engine.dispose()  # type: ignore[attr-defined]
                self.store.engine.dispose()
                super().teardown()

        def index(self) -> None:
            scanner = Scanner(
                JsonRpcSource(rpc_url), self.store, world.deployment, config=TEST_CONFIG
            )
            scanner.run(once=True, wait_for_lock=False)

        def reorganise(self, depth: int) -> None:
            """Blocks with events the model never sees are indexed, then reverted away."""
            snapshot = world.chain.snapshot()
            for _ in range(depth):
                world.registrar.registry.register_participant(Account.create().address, "CN")
            self.index()
            world.chain.revert(snapshot)
            driver.advance(1)  # the next block is dated from the snapshot's time again
            seen["reorgs"] += 1

        def kill_an_indexer(self, delay: float) -> None:
            """An indexer process of the same index is killed with SIGKILL mid-run."""
            process = subprocess.Popen(
                [
                    PROVLEDGER,
                    "index",
                    "--no-progress",
                    "--rpc-url",
                    rpc_url,
                    "--database-url",
                    self.url,
                    "--deployments-dir",
                    str(tmp_path / "deployments"),
                    "--finality-depth",
                    str(TEST_CONFIG.finality_depth),
                    "--confirmations",
                    str(TEST_CONFIG.confirmations),
                ],
                env=clean_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(delay)
            process.kill()
            process.wait(timeout=10)
            seen["kills"] += 1

        @invariant()
        def index_and_gateway_agree_with_the_model(self) -> None:
            # Between steps the indexer runs; every fourth time after a reorganisation, and
            # every fourth time after an indexer process was killed mid-run.
            self.steps += 1
            if self.steps % 4 == 2:
                self.reorganise(depth=1 + self.steps % 3)
            elif self.steps % 4 == 0:
                self.kill_an_indexer(delay=(0.4, 0.8, 1.5)[self.steps % 3])
            self.index()
            seen["steps"] += 1
            model = driver.model
            for asset, record in model.assets.items():
                answer = self.gateway.get(f"/assets/{asset_hex(asset)}")
                assert answer.status_code == 200, answer.text
                shown: dict[str, Any] = answer.json()
                expected = {
                    "registrant": record.registrant,
                    "holder": record.holder,
                    "category": record.category,
                    "grade": record.grade,
                    "status": record.status.name,
                    "under_objection": record.open_objections > 0,
                    "frozen": record.freezes > 0,
                    "metadata_version": record.metadata_version,
                    "metadata_hash": "0x" + record.metadata_hash.hex(),
                    "registered_at": record.registered_at,
                }
                assert {key: shown[key] for key in expected} == expected, asset_hex(asset)
            for account, participant in model.participants.items():
                answer = self.gateway.get(f"/participants/{account}")
                assert answer.status_code == 200, answer.text
                assert answer.json()["status"] == participant.status.name, account
            self.holdings_follow_the_model()

        def holdings_follow_the_model(self) -> None:
            """No asset changes holder in the index without a matching move of the model (a
            transfer, a ruling or a trade, in the same block), and the index's holdings acquired
            by trade are exactly its asset trades: same asset, buyer and block."""
            holdings, trades = schema.holdings.c, schema.trades.c
            with self.store.engine.connect() as connection:
                periods = connection.execute(
                    select(
                        holdings.asset_id,
                        holdings.holder,
                        holdings.via,
                        holdings.from_block,
                        holdings.to_block,
                    ).order_by(holdings.asset_id, holdings.from_block, holdings.from_log)
                ).all()
                asset_trades = connection.execute(
                    select(trades.asset_id, trades.buyer, trades.block_number).where(
                        trades.kind == "ASSET"
                    )
                ).all()
            by_asset: dict[str, list[tuple[str, str, int, int | None]]] = defaultdict(list)
            for row in periods:
                by_asset[row.asset_id].append(
                    (row.holder.lower(), row.via, row.from_block, row.to_block)
                )
            model = driver.model
            assert set(by_asset) == {asset_hex(asset) for asset in model.assets}
            for asset, record in model.assets.items():
                name = asset_hex(asset)
                (registrant, via, _, _), *later = by_asset[name]
                assert (registrant, via) == (record.registrant.lower(), "REGISTRATION"), name
                moves = [
                    (move.holder.lower(), move.via, move.block)
                    for move in model.moves
                    if move.asset_id == asset
                ]
                assert [period[:3] for period in later] == moves, name
                # every period but the latest has ended; the latest is the holder's
                ended = [period[3] is not None for period in by_asset[name]]
                assert ended == [True] * len(later) + [False], name
                assert by_asset[name][-1][0] == record.holder.lower(), name
            acquired = sorted(
                (row.asset_id, row.holder.lower(), row.from_block)
                for row in periods
                if row.via == "TRADE"
            )
            sold = sorted(
                (row.asset_id, row.buyer.lower(), row.block_number) for row in asset_trades
            )
            assert acquired == sold

    deep = settings().max_examples > 100  # the deep profile
    run_state_machine_as_test(
        EndToEnd,
        settings=settings(
            max_examples=20 if deep else 2,
            stateful_step_count=40 if deep else 12,
            derandomize=True,  # a fixed seed: the same steps on every run
            database=None,
        ),
    )
    assert seen["steps"] > 0
    assert seen["reorgs"] > 0
    assert seen["kills"] > 0
