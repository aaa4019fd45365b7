"""Scanner.stop() ends a run promptly, whatever the node does (issue 16, item 7).

Every wait of a run (the poll of the head, a retry's backoff, standing by for the writer lock,
the queue or pipe to the fetcher) must end as soon as stop() is asked, and the run must return
its summary with ``stopped`` set. The node here is a fake that answers, fails, or never
answers; the fetch process is a real child process against a dead or a silent loopback port.
A run that fails (its write raises) ends its fetch process too (issue 19, item 5): that test
runs on anvil behind a fault proxy.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_utils.address import to_checksum_address
from sqlalchemy import Engine

from helpers.faultproxy import FaultKind, FaultPlan, FaultProxy
from helpers.required import start_anvil
from helpers.stores import database, engine_for
from helpers.workload import deploy_ledger
from provledger.chain.anvil import free_port
from provledger.chain.deployments import CONTRACT_NAMES, ContractDeployment, Deployment
from provledger.errors import ProvledgerError
from provledger.indexer.decoding import RawLog
from provledger.indexer.fetcher import (
    ProcessJob,
    RangePolicy,
    StopRequestedError,
    fetch_in_process,
)
from provledger.indexer.scanner import IndexerConfig, RunSummary, Scanner
from provledger.indexer.source import JsonRpcSource, RpcError
from provledger.store.engine import writer_lock
from provledger.store.index import IndexStore
from provledger.store.records import BlockHeader

#: A stopped run must return within this: its waits end at once (the fetcher's queue and pipe
#: are read 0.1 s at a time), so this leaves ample room on a loaded machine and still fails on
#: any wait that ignores the stop (the shortest such wait here is 2 s).
PROMPT_SECONDS = 1.0
HEAD = 100
CHAIN_ID = 31337


def _deployment() -> Deployment:
    contracts = {
        name: ContractDeployment(
            name=name,
            address=to_checksum_address(f"0x{index + 1:040x}"),
            tx_hash=bytes(32),
            block_number=1,
            deployed_bytecode_hash="",
        )
        for index, name in enumerate(CONTRACT_NAMES)
    }
    admin = to_checksum_address("0x" + "ab" * 20)
    return Deployment(CHAIN_ID, admin, admin, 1, contracts)


def _header(number: int) -> BlockHeader:
    return BlockHeader(number, f"0x{number + 1:064x}", f"0x{number:064x}", 1_700_000_000 + number)


@dataclass
class FakeNode:
    """A node with ``HEAD`` empty blocks; each method can be made to fail or to hang."""

    failing: set[str] = field(default_factory=set)
    """Methods that raise a node error."""
    silent: set[str] = field(default_factory=set)
    """Methods that never answer (until ``release``)."""
    calls: dict[str, int] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)

    def _call(self, method: str) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1
        if method in self.silent:
            self.release.wait()
        if method in self.failing:
            raise RpcError(method, "connection failed: ConnectionError")

    def chain_id(self) -> int:
        self._call("eth_chainId")
        return CHAIN_ID

    def head(self) -> int:
        self._call("eth_blockNumber")
        return HEAD

    def logs(self, addresses: Sequence[str], start: int, end: int) -> list[RawLog]:
        self._call("eth_getLogs")
        return []

    def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]:
        self._call("eth_getBlockByNumber")
        return {number: _header(number) for number in numbers}


@dataclass
class Running:
    """A scanner running in a thread of its own."""

    scanner: Scanner
    thread: threading.Thread
    result: list[RunSummary]
    notes: list[str]

    def wait_for(self, ready: Callable[[], bool], what: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.thread.is_alive(), f"the run ended before {what}"
            assert time.monotonic() < deadline, f"no {what} within {timeout:g} s"
            time.sleep(0.02)

    def stop(self) -> tuple[float, RunSummary]:
        """Stop the run; the seconds until it returned, and its summary."""
        asked = time.monotonic()
        self.scanner.stop()
        self.thread.join(timeout=30)
        elapsed = time.monotonic() - asked
        assert not self.thread.is_alive(), "the run did not return within 30 s of stop()"
        (summary,) = self.result
        return elapsed, summary


@pytest.fixture
def index_url(tmp_path: Path) -> Iterator[str]:
    with database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
def node() -> Iterator[FakeNode]:
    fake = FakeNode()
    yield fake
    fake.release.set()  # a thread left in a silent call ends with the test


def _run(node: FakeNode, url: str, config: IndexerConfig | None = None) -> Running:
    notes: list[str] = []
    result: list[RunSummary] = []
    scanner = Scanner(
        node,
        IndexStore(engine_for(url)),
        _deployment(),
        config=config or IndexerConfig(finality_depth=64, poll_interval=60),
        on_note=notes.append,
    )
    thread = threading.Thread(target=lambda: result.append(scanner.run()), daemon=True)
    thread.start()
    return Running(scanner, thread, result, notes)


def test_stop_ends_a_run_that_follows_the_head(node: FakeNode, index_url: str) -> None:
    running = _run(node, index_url)
    running.wait_for(lambda: running.scanner.summary.last_block == HEAD, "run caught up")
    running.wait_for(lambda: any("caught up" in note for note in running.notes), "poll")
    elapsed, summary = running.stop()
    assert elapsed < PROMPT_SECONDS  # not the 60 s poll interval
    assert summary.stopped
    assert summary.last_block == HEAD


def test_stop_ends_the_retries_against_a_dead_node(node: FakeNode, index_url: str) -> None:
    node.failing.add("eth_blockNumber")
    running = _run(node, index_url)
    # the third failure backs off for 2 s, the twentieth for 30 s
    running.wait_for(lambda: running.scanner.summary.rpc_errors >= 3, "third retry")
    elapsed, summary = running.stop()
    assert elapsed < PROMPT_SECONDS
    assert summary.stopped
    assert summary.rpc_errors == node.calls["eth_blockNumber"]
    assert summary.batches == 0


@pytest.mark.parametrize("fault", ["failing", "silent"])
def test_stop_ends_a_catch_up_whose_fetch_thread_waits_on_the_node(
    node: FakeNode, index_url: str, fault: str
) -> None:
    """Catch-up fetches in a thread (a web3 source); the node fails every eth_getLogs (the
    thread backs off) or never answers one (the thread is stuck in the request)."""
    getattr(node, fault).add("eth_getLogs")
    running = _run(node, index_url)
    wanted = 3 if fault == "failing" else 1  # failing: the third backs off for 2 s
    running.wait_for(lambda: node.calls.get("eth_getLogs", 0) >= wanted, f"{fault} eth_getLogs")
    elapsed, summary = running.stop()
    assert elapsed < PROMPT_SECONDS
    assert summary.stopped
    assert summary.batches == 0


def test_stop_ends_the_standby_for_the_writer_lock(node: FakeNode, index_url: str) -> None:
    engine = engine_for(index_url)
    with writer_lock(engine):
        running = _run(node, index_url)
        running.wait_for(lambda: any("standby" in note for note in running.notes), "standby")
        elapsed, summary = running.stop()
    assert elapsed < PROMPT_SECONDS
    assert summary.stopped
    assert "eth_blockNumber" not in node.calls  # it never began


@dataclass
class UnlinkedNode(FakeNode):
    """A node whose blocks from ``UNLINKED`` on name a parent that is not the block before:
    blocks that never link, as a node serving placeholder blocks does."""

    def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]:
        headers = super().headers(numbers)
        return {
            number: header if number < UNLINKED else header._replace(parent_hash="0x" + "00" * 32)
            for number, header in headers.items()
        }


UNLINKED = HEAD - 10


def test_blocks_that_never_link_are_read_again_each_poll_not_in_a_loop(index_url: str) -> None:
    """The first read whose blocks do not link is read again at once (the chain moved); from
    the second on, a read waits the poll interval (60 s here) and a note says why."""
    node = UnlinkedNode()
    running = _run(node, index_url)
    running.wait_for(lambda: any("do not agree" in note for note in running.notes), "a note")
    reads = node.calls["eth_getBlockByNumber"]
    time.sleep(0.5)
    assert node.calls["eth_getBlockByNumber"] == reads  # waiting out the poll, not reading
    (note,) = running.notes[-1:]
    assert note == (
        f"the node's blocks near the head do not agree (block {UNLINKED} does not link to its "
        "parent); reading again"
    )
    elapsed, summary = running.stop()
    assert elapsed < PROMPT_SECONDS
    assert summary.stopped
    assert summary.last_block < UNLINKED


# ---------------------------------------------------------------- the fetch process


def _children() -> set[int]:
    """The processes this one has started and not yet reaped."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with suppress(OSError):  # a thread that has just ended
            found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers on them."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield int(listener.getsockname()[1])
    listener.close()


@pytest.mark.parametrize("node_state", ["dead", "silent"])
def test_stop_ends_the_fetch_process(node_state: str, request: pytest.FixtureRequest) -> None:
    """The child retries against a dead port with growing backoff, or waits on a port that never
    answers; the parent stops reading at once, and the child is ended and reaped."""
    port = free_port() if node_state == "dead" else request.getfixturevalue("silent_port")
    job = ProcessJob(
        url=f"http://127.0.0.1:{port}",
        timeout=30.0,
        max_log_reply_bytes=1 << 20,
        addresses=["0x" + "01" * 20],
        contracts={"0x" + "01" * 20: "DataAssetRegistry"},
        policy=RangePolicy(),
        start=1,
        stop=100,
        initial_range=1,
    )
    before = _children()
    stop = threading.Event()
    outcome: list[BaseException] = []

    def consume() -> None:
        try:
            for _ in fetch_in_process(job, stopped=stop.is_set, on_error=lambda: None):
                pass
        except BaseException as error:
            outcome.append(error)

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while not _children() - before:
        assert time.monotonic() < deadline, "the fetch process did not start"
        time.sleep(0.02)
    time.sleep(1.5)  # the child is importing, then in its backoff or its request
    asked = time.monotonic()
    stop.set()
    reader.join(timeout=30)
    elapsed = time.monotonic() - asked
    assert not reader.is_alive()
    assert elapsed < PROMPT_SECONDS
    (raised,) = outcome
    assert isinstance(raised, StopRequestedError), raised
    assert _children() - before == set()


class DiskFullError(ProvledgerError):
    """What the store below raises on every write."""

    def __init__(self) -> None:
        super().__init__("the disk is full")


class FailingStore(IndexStore):
    """A store whose batch writes fail, once ``ready()`` holds (or after 10 s)."""

    def __init__(self, engine: Engine, ready: Callable[[], bool]) -> None:
        super().__init__(engine)
        self.ready = ready

    def write_batch(self, *args: Any, **kwargs: Any) -> int:
        deadline = time.monotonic() + 10
        while not self.ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        raise DiskFullError()


@pytest.mark.anvil
def test_a_failed_write_ends_the_fetch_process(tmp_path: Path) -> None:
    """The first range reaches the writer, whose write fails, while the child waits on the node
    for the next one (held unanswered): the run raises the error, and the child is ended and
    reaped before it returns, not when the generator that started it is collected (the
    traceback keeps it alive here)."""
    node = start_anvil()
    try:
        deployment = deploy_ledger(node.web3())
        plan = FaultPlan(
            delay=60.0, methods=frozenset({"eth_getLogs"}), script=(None, FaultKind.TIMEOUT)
        )
        with FaultProxy(node.url, plan) as proxy, database("sqlite", tmp_path) as url:
            scanner = Scanner(
                JsonRpcSource(proxy.url),
                FailingStore(engine_for(url), lambda: proxy.methods["eth_getLogs"] == 2),
                deployment,
                config=IndexerConfig(finality_depth=0, initial_range=1, max_range=1),
            )
            before = _children()
            with pytest.raises(DiskFullError) as raised:
                scanner.run(once=True, wait_for_lock=False)
            assert proxy.methods["eth_getLogs"] == 2  # the child was waiting on the second
            assert _children() - before == set()
            assert raised.traceback  # held until here: the generator was not collected
    finally:
        node.stop()
