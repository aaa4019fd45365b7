"""Scanner behaviour: skipping foreign logs, identity checks, rebuilds, the writer lock,
adaptive ranges, metrics, holder-at-block queries."""

from __future__ import annotations

import itertools
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import inspect, update

from helpers.indexing import TEST_CONFIG, differences, index, source_of
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.chain.anvil import free_port
from provledger.chain.deployments import Deployment
from provledger.chain.serialize import asset_hex
from provledger.indexer.decoding import RawLog
from provledger.indexer.metrics import IndexerMetrics
from provledger.indexer.scanner import ChainMismatchError, IndexerConfig, Scanner
from provledger.indexer.source import LogSource, RangeTooLargeError
from provledger.store import schema
from provledger.store.engine import WriterLockHeldError, create_store_engine, writer_lock
from provledger.store.index import IndexStore, WalCopier, WrongChainError
from provledger.store.queries import holder_at
from provledger.store.records import BlockHeader


class Wrapped:
    """A source that forwards to a real one, for tests to tamper with."""

    def __init__(self, inner: LogSource) -> None:
        self.inner = inner
        self.log_calls: list[tuple[int, int]] = []

    def chain_id(self) -> int:
        return self.inner.chain_id()

    def head(self) -> int:
        return self.inner.head()

    def logs(self, addresses: Sequence[str], start: int, end: int) -> list[RawLog]:
        self.log_calls.append((start, end))
        return self.inner.logs(addresses, start, end)

    def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]:
        return self.inner.headers(numbers)


class WithForeignLogs(Wrapped):
    """Adds, to every range, a log of an unknown event from a known contract and a log of a
    known event from an unknown contract."""

    def logs(self, addresses: Sequence[str], start: int, end: int) -> list[RawLog]:
        found = super().logs(addresses, start, end)
        if not found:
            return found
        first = found[0]
        index = int(first["logIndex"], 16)
        unknown_event = {**first, "topics": ["0x" + "42" * 32], "logIndex": hex(index + 10_000)}
        unknown_contract = {**first, "address": "0x" + "77" * 20, "logIndex": hex(index + 20_000)}
        return [*found, unknown_event, unknown_contract]


class Refusing(Wrapped):
    """Refuses log ranges wider than ``limit`` blocks, the way public nodes do."""

    def __init__(self, inner: LogSource, limit: int, suggest: bool) -> None:
        super().__init__(inner)
        self.limit = limit
        self.suggest = suggest
        self.refusals = 0

    def logs(self, addresses: Sequence[str], start: int, end: int) -> list[RawLog]:
        if end - start + 1 > self.limit:
            self.refusals += 1
            self.log_calls.append((start, end))
            suggested = start + self.limit - 1 if self.suggest else None
            raise RangeTooLargeError(
                "eth_getLogs", "query returned more than 10000 results", (start, end), suggested
            )
        return super().logs(addresses, start, end)


def _scanner(
    world: World, url: str, source: LogSource, config: IndexerConfig = TEST_CONFIG
) -> Scanner:
    return Scanner(
        source, IndexStore(engine_for(url)), world.deployment, config=config, sleep=lambda _: None
    )


def test_foreign_logs_are_counted_and_skipped(world: World, new_database: NewDatabase) -> None:
    world.register(world.alice)
    url = new_database("foreign")
    summary = _scanner(world, url, WithForeignLogs(source_of(world.w3))).run(once=True)
    assert summary.skipped > 0
    assert summary.skipped % 2 == 0
    fresh = new_database("fresh")
    index(world.w3, world.deployment, fresh)
    assert differences(url, fresh) == {}


@pytest.mark.parametrize("suggest", [True, False])
def test_ranges_shrink_on_refusal_and_the_index_is_complete(
    world: World, new_database: NewDatabase, suggest: bool
) -> None:
    for _ in range(3):
        world.register(world.alice)
    url = new_database("refused")
    source = Refusing(source_of(world.w3), limit=3, suggest=suggest)
    config = replace(TEST_CONFIG, initial_range=64, finality_depth=4)
    summary = _scanner(world, url, source, config).run(once=True)
    assert source.refusals > 0
    assert summary.rpc_errors == source.refusals
    served = [(start, end) for start, end in source.log_calls if end - start + 1 <= 3]
    covered = sorted(served)
    assert covered[0][0] == world.deployment.block_number
    for (_, end), (start, _) in itertools.pairwise(covered):
        assert start == end + 1  # contiguous: no gap, no overlap
    fresh = new_database("fresh")
    index(world.w3, world.deployment, fresh)
    assert differences(url, fresh) == {}


def test_ranges_grow_while_logs_are_sparse(world: World, new_database: NewDatabase) -> None:
    world.chain.mine(40)
    source = Wrapped(source_of(world.w3))
    config = replace(TEST_CONFIG, initial_range=2, finality_depth=4)
    _scanner(world, new_database("grow"), source, config).run(once=True)
    spans = [end - start + 1 for start, end in source.log_calls]
    assert spans[:4] == [2, 4, 8, 16]


def test_another_chain_or_deployment_is_refused(world: World, new_database: NewDatabase) -> None:
    url = new_database("identity")
    index(world.w3, world.deployment, url)
    other_chain = replace(world.deployment, chain_id=world.deployment.chain_id + 1)
    with pytest.raises(ChainMismatchError, match="the node serves chain"):
        _scanner_for(world, url, other_chain).run(once=True)
    store = IndexStore(engine_for(url))
    with pytest.raises(
        WrongChainError, match=f"this database indexes chain {world.deployment.chain_id}"
    ):
        store.prepare(replace(_scanner_for(world, url, world.deployment).identity(), chain_id=5))
    moved = dict(world.deployment.contracts)
    registry = moved["DataAssetRegistry"]
    moved["DataAssetRegistry"] = replace(registry, address=world.stranger.address)
    with pytest.raises(WrongChainError, match="this database indexes the deployment"):
        _scanner_for(world, url, replace(world.deployment, contracts=moved)).run(once=True)


def _scanner_for(world: World, url: str, deployment: Deployment) -> Scanner:
    return Scanner(source_of(world.w3), IndexStore(engine_for(url)), deployment, config=TEST_CONFIG)


def test_a_schema_change_rebuilds_the_index(world: World, new_database: NewDatabase) -> None:
    world.register(world.alice)
    url = new_database("schema")
    index(world.w3, world.deployment, url)
    with engine_for(url).begin() as conn:
        conn.execute(
            update(schema.meta).where(schema.meta.c.key == "schema_version").values(value="0")
        )
    notes: list[str] = []
    scanner = _scanner(world, url, source_of(world.w3))
    scanner.on_note = notes.append
    scanner.run(once=True)
    assert any("rebuilt from the deployment block" in note for note in notes)
    fresh = new_database("fresh")
    index(world.w3, world.deployment, fresh)
    assert differences(url, fresh) == {}


def test_only_one_writer(world: World, new_database: NewDatabase) -> None:
    url = new_database("lock")
    engine = engine_for(url)
    IndexStore(engine).prepare(_scanner(world, url, source_of(world.w3)).identity())
    with writer_lock(engine):
        with pytest.raises(WriterLockHeldError, match="another indexer is writing"):
            _scanner(world, url, source_of(world.w3)).run(once=True, wait_for_lock=False)
        waiting = threading.Event()
        scanner = _scanner(world, url, source_of(world.w3))
        scanner.on_note = lambda note: waiting.set()
        runner = threading.Thread(target=lambda: scanner.run(once=True))
        runner.start()
        assert waiting.wait(10), "the second indexer should stand by"
    runner.join(30)
    assert not runner.is_alive()
    assert scanner.summary.last_block == world.w3.eth.block_number


def test_metrics_are_served(world: World, new_database: NewDatabase) -> None:
    world.register(world.alice)
    metrics = IndexerMetrics()
    port = free_port()
    metrics.serve(port)
    scanner = _scanner(world, new_database("metrics"), source_of(world.w3))
    scanner.metrics = metrics
    summary = scanner.run(once=True)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    head = world.w3.eth.block_number
    assert f"provledger_indexed_block {float(head)}" in text
    assert f"provledger_chain_head_block {float(head)}" in text
    assert "provledger_index_lag_blocks 0.0" in text
    assert f"provledger_indexed_events_total {float(summary.events)}" in text
    assert "provledger_reorgs_total 0.0" in text
    assert "provledger_rpc_errors_total 0.0" in text


def test_holder_at_block_is_one_query(world: World, new_database: NewDatabase) -> None:
    asset = world.register(world.alice)
    registered = world.w3.eth.block_number
    world.alice.registry.transfer(asset, world.bob.address)
    first_move = world.w3.eth.block_number
    world.bob.registry.transfer(asset, world.erin.address)
    second_move = world.w3.eth.block_number
    url = new_database("holders")
    index(world.w3, world.deployment, url)
    key = asset_hex(asset)
    with engine_for(url).connect() as conn:
        assert holder_at(conn, key, registered - 1) is None
        assert holder_at(conn, key, registered) == world.alice.address.lower()
        assert holder_at(conn, key, first_move) == world.bob.address.lower()
        assert holder_at(conn, key, second_move - 1) == world.bob.address.lower()
        assert holder_at(conn, key, second_move) == world.erin.address.lower()


def test_the_wal_copier_stops_when_idle_and_a_nudge_then_starts_another(tmp_path: Path) -> None:
    engine = create_store_engine(str(tmp_path / "copier.sqlite"))
    try:
        copier = WalCopier(engine, idle=0.05)
        assert copier.nudge()
        deadline = time.monotonic() + 10
        while copier.nudge() and time.monotonic() < deadline:  # idle for 50 ms: it stops
            time.sleep(0.2)
        assert not copier.nudge()
        copier._thread.join(timeout=10)  # it has left its loop; the thread ends with it
        assert not copier._thread.is_alive()
        store = IndexStore(engine)
        store._wal_copier = copier
        started = store._nudge_copier()  # the stopped copier refused the nudge: a new one
        assert started is not copier
        assert started.nudge()
        started.close()
        assert not started.nudge()
    finally:
        engine.dispose()


def test_an_in_memory_store_has_no_wal_copier() -> None:
    store = IndexStore(create_store_engine("sqlite://"))
    assert not store._has_wal


def test_a_first_catch_up_builds_the_secondary_indexes_once_caught_up(
    world: World, new_database: NewDatabase
) -> None:
    """The first catch-up writes without secondary indexes, through the unfinalized window
    too, and builds them when it reaches the head: after the last batch, once."""
    world.register(world.alice)
    for _ in range(TEST_CONFIG.finality_depth + 2):
        world.register(world.bob)
    url = new_database("bulk")
    store = IndexStore(engine_for(url))
    seen: list[str] = []
    scanner = Scanner(
        source_of(world.w3),
        store,
        world.deployment,
        config=TEST_CONFIG,
        on_batch=lambda report: seen.append(f"batch {report.mode}"),
        on_note=seen.append,
    )
    scanner.run(once=True, wait_for_lock=False)
    assert "batch bulk" in seen
    assert "batch live" in seen  # the window's blocks, still without the indexes
    assert seen[-1] == "caught up: building the secondary indexes"
    assert seen.count("caught up: building the secondary indexes") == 1
    assert not store.in_bulk_load()
    inspector = inspect(store.engine)
    for table in schema.DERIVED:
        present = {found["name"] for found in inspector.get_indexes(table.name)}
        assert {str(wanted.name) for wanted in table.indexes} <= present, table.name
    # the WAL copier that ran beside a SQLite bulk load has stopped (its connection released);
    # this store's own, not any other test's in this process
    copier = store._wal_copier
    assert (copier is not None) == (store.engine.dialect.name == "sqlite")
    assert copier is None or not copier.nudge()
