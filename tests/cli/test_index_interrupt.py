"""Ctrl-C ends a following ``index`` within 2 s and leaves a consistent index (issue 19, item 5).

A terminal's Ctrl-C sends SIGINT to the whole foreground process group: the command and every
process it started there. So each command here runs as a real process in a process group of
its own, as a shell runs a job, and the signal goes to the group (one case sends it to the pid
only, as ``kill -INT`` does). The chain is anvil with a few thousand events over some 75
blocks, indexed a block a batch, so that a catch-up (fetched by a child process) takes a while.

After the stop: the process exited within 2 s, with 0 and its summary line, no traceback, no
process it started left running; the index's checkpoint names the chain's block at its height,
and its rows equal a fresh index of the chain up to that block.

``serve --workers 2`` is stopped once both workers serve, and while they are still starting
(importing: a Ctrl-C killed them with tracebacks, and the supervisor first waited out a 5 s
health ping of a worker that could not answer yet).
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
import requests
from web3 import Web3

from helpers.indexing import differences, index
from helpers.processes import wait_for_http, wait_until
from helpers.signalled import Command, Ended, assert_stopped, descendants
from helpers.stores import database, engine_for
from helpers.workload import DeployedNode, Mix, deployed_anvil, generate
from provledger.chain.anvil import free_port
from provledger.indexer.source import JsonRpcSource
from provledger.store.index import IndexStore

pytestmark = pytest.mark.anvil

EVENTS = 3_000
#: About 40 events a block, so that the events span some 75 blocks.
SPARSE = Mix(batches=1, registrations=4, transfers=4, licenses=2, metadata=2, appraisals=1)
#: Blocks per eth_getLogs request of the index under test: a batch a block.
MAX_RANGE = 1
#: Blocks of the catch-up written before the SIGINT.
BEFORE_SIGINT = 10
FINALITY_DEPTH = 4
#: The summary line (rich wraps it at the console's width).
SUMMARY = re.compile(
    r"indexed to block (\d+) \(stopped\): [\d,]+ events in \d+ batches, [\d.]+ s "
    r"\([\d,]+ events/s\); 0 logs skipped, 0 reorgs, 0 node errors"
)


Chain = DeployedNode


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with deployed_anvil(tmp_path_factory.mktemp("deployments")) as deployed:
        generate(deployed.node.url, deployed.deployment, EVENTS, mix=SPARSE)
        yield deployed


# ------------------------------------------------------------------ a job in its own group


def _catches_sigterm(pid: int) -> bool:
    """Whether ``pid`` has a handler for SIGTERM (Python has none unless one is put in)."""
    with suppress(OSError, StopIteration):
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        caught = next(line for line in status if line.startswith("SigCgt:")).split()[1]
        return bool(int(caught, 16) >> (signal.SIGTERM - 1) & 1)
    return False


@pytest.fixture
def jobs() -> Iterator[list[Command]]:
    started: list[Command] = []
    yield started
    for job in started:
        job.kill()


# ------------------------------------------------------------------ index


class CappedSource(JsonRpcSource):
    """A node whose head stands at ``cap``: an index of the chain up to that block."""

    def __init__(self, url: str, cap: int) -> None:
        super().__init__(url)
        self.cap = cap

    def head(self) -> int:
        return min(super().head(), self.cap)


def assert_consistent(chain: Chain, url: str, folder: Path) -> int:
    """The index at ``url`` is the chain's up to its checkpoint; returns that block."""
    checkpoint = IndexStore(engine_for(url)).checkpoint()
    assert checkpoint is not None, "no batch was written"
    block_number = checkpoint.block_number
    block = chain.w3.eth.get_block(block_number)
    assert checkpoint.block_hash == "0x" + bytes(block["hash"]).hex()
    with database("sqlite", folder, "fresh") as fresh:
        index(
            chain.w3,
            chain.deployment,
            fresh,
            source=CappedSource(chain.node.url, checkpoint.block_number),
        )
        again = IndexStore(engine_for(fresh)).checkpoint()
        assert again is not None
        assert (again.block_number, again.block_hash) == (block_number, checkpoint.block_hash)
        assert differences(url, fresh) == {}
    return checkpoint.block_number


def _index(jobs: list[Command], chain: Chain, folder: Path, url: str) -> Command:
    job = Command.start(
        folder,
        "index",
        "--rpc-url",
        chain.node.url,
        "--database-url",
        url,
        "--deployments-dir",
        str(chain.deployments),
        "--finality-depth",
        str(FINALITY_DEPTH),
        "--max-range",
        str(MAX_RANGE),
        "--no-progress",
        group=True,
    )
    jobs.append(job)
    return job


def _indexed(url: str) -> int:
    """The checkpoint's block of the index at ``url`` (-1 before its first batch)."""
    try:
        checkpoint = IndexStore(engine_for(url)).checkpoint()
    except Exception:  # the schema is not there yet
        return -1
    return -1 if checkpoint is None else checkpoint.block_number


def _wait_for_block(job: Command, url: str, block: int) -> None:
    """Wait until the index at ``url`` has written ``block``, looking often: a catch-up
    goes fast."""
    deadline = time.monotonic() + 90
    while _indexed(url) < block:
        assert job.process.poll() is None, job.stderr()[-2000:]
        assert time.monotonic() < deadline, f"block {block} not indexed within 90 s"
        time.sleep(0.01)


def _stopped_at(ended: Ended) -> int:
    match = SUMMARY.fullmatch(" ".join(ended.stdout.split()))
    assert match is not None, ended.stdout
    return int(match.group(1))


@pytest.mark.parametrize(
    ("store", "group"),
    [
        pytest.param("sqlite", True, id="sqlite-group"),
        pytest.param("sqlite", False, id="sqlite-pid"),
        pytest.param("postgresql", True, id="postgresql-group", marks=pytest.mark.postgres),
    ],
)
def test_ctrl_c_during_catch_up(
    chain: Chain, tmp_path: Path, jobs: list[Command], store: str, group: bool
) -> None:
    """Catching up (a fetch process of its own), past the first round of events."""
    head = chain.w3.eth.block_number
    with database(store, tmp_path) as url:
        job = _index(jobs, chain, tmp_path, url)
        _wait_for_block(job, url, chain.deployment.block_number + BEFORE_SIGINT)
        assert descendants(job.process.pid), "no fetch process"
        ended = job.stop(signal.SIGINT, to_group=group)
        assert_stopped(ended)
        block = assert_consistent(chain, url, tmp_path)
        assert _stopped_at(ended) == block < head - FINALITY_DEPTH  # stopped mid-catch-up


def test_ctrl_c_as_the_fetch_process_starts(
    chain: Chain, tmp_path: Path, jobs: list[Command]
) -> None:
    """The fetch process is still importing Python modules: a SIGINT that reached it would
    kill it with a traceback, and the index would end with an error."""
    with database("sqlite", tmp_path) as url:
        job = _index(jobs, chain, tmp_path, url)
        wait_until(lambda: bool(descendants(job.process.pid)), job.process, "a fetch process")
        ended = job.stop(signal.SIGINT, to_group=True)
        assert_stopped(ended)
        assert ended.stdout.startswith("indexed to block "), ended.stdout


@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_ctrl_c_while_following_the_head(
    chain: Chain, tmp_path: Path, jobs: list[Command], store: str
) -> None:
    head = chain.w3.eth.block_number
    with database(store, tmp_path) as url:
        job = _index(jobs, chain, tmp_path, url)
        wait_until(lambda: _indexed(url) == head, job.process, "caught up", 120)
        time.sleep(0.3)  # polling the head
        ended = job.stop(signal.SIGINT, to_group=True)
        assert_stopped(ended)
        assert _stopped_at(ended) == assert_consistent(chain, url, tmp_path) == head


# ------------------------------------------------------------------ serve and chain


@pytest.mark.parametrize("when", ["serving", "starting"])
def test_ctrl_c_ends_serve_and_its_workers(
    chain: Chain, tmp_path: Path, jobs: list[Command], when: str
) -> None:
    """Two worker processes (spawned in the job's group): each gets the SIGINT too, once both
    serve or as soon as both are there (still importing)."""
    with database("sqlite", tmp_path) as url:
        index(chain.w3, chain.deployment, url)
        port = free_port()
        job = Command.start(
            tmp_path,
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--rpc-url",
            chain.node.url,
            "--database-url",
            url.removeprefix("sqlite:///"),
            group=True,
        )
        jobs.append(job)
        if when == "starting":
            wait_until(lambda: len(descendants(job.process.pid)) >= 2, job.process, "2 workers")
            ended = job.stop(signal.SIGINT, to_group=True)
            assert_stopped(ended)
            return
        wait_for_http(f"http://127.0.0.1:{port}/health", job.process, "the gateway")

        def serving() -> bool:
            """Both workers have put in their server's signal handlers (one still starting
            is another case: see the module's docstring)."""
            return sum(map(_catches_sigterm, descendants(job.process.pid))) == 2

        wait_until(serving, job.process, "2 workers serving")
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        ended = job.stop(signal.SIGINT, to_group=True)
    assert_stopped(ended)


def test_ctrl_c_ends_chain_and_keeps_its_state(tmp_path: Path, jobs: list[Command]) -> None:
    """anvil runs in the job's group: it gets the SIGINT too, and the state is still written."""
    port = free_port()
    state = tmp_path / "state.json"
    job = Command.start(tmp_path, "chain", "--port", str(port), "--state", str(state), group=True)
    jobs.append(job)
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 5}))
    wait_until(lambda: w3.is_connected() and w3.eth.block_number >= 1, job.process, "anvil")
    ended = job.stop(signal.SIGINT, to_group=True)
    assert_stopped(ended)
    assert "stopping: writing the chain state" in ended.stdout
    assert state.stat().st_size > 0
