"""Crash test: the indexer process is killed with SIGKILL at random points of a catch-up.

Acceptance (issue 3): the indexer process is killed with SIGKILL at random points of a
catch-up (at least 20 kills) and restarted; the final store equals a fresh index.

The chain carries a mixed workload of some 12,000 events over about eighty blocks. The
reference is a fresh, uninterrupted ``provledger index --once`` into its own database. The
crashed store then goes through 24 SIGKILLs:

* 2 of ``provledger index --once`` itself, on the empty store: once its metrics show it has
  the writer lock and the chain head, at a random point of the first half of the time the
  reference run took from there (fetching, decoding or writing its one large catch-up batch);
* 2 of an indexer process right after it started (chain checks, writer lock, schema creation,
  first batches);
* 20 of an indexer process at random points spread over the catch-up: for each kill a random
  block is drawn; once the process reports a batch reaching it, the kill follows after a random
  fraction of a batch's time, so it lands anywhere in fetching, decoding, projecting or
  committing the next batches.

The indexer processes of the last 22 kills run the Python API with one- to three-block ranges
(the CLI has no option for the range sizes: ``--max-range`` or similar does not exist), so that
the catch-up is many small transactions. After every kill the checkpoint must not have gone
back, and the ``events`` table must hold exactly the chain's events up to the checkpoint: no gap,
no duplicate, nothing beyond. Finally ``provledger index --once`` completes the store, which
must equal the reference, table by table.
"""

from __future__ import annotations

import json
import queue
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest
from sqlalchemy import inspect

from helpers.indexing import differences
from helpers.stores import engine_for
from helpers.workload import deployed_anvil, generate
from indexer.conftest import NewDatabase
from provledger.chain.anvil import free_port
from provledger.chain.deployments import Deployment
from provledger.store import schema
from provledger.store.index import IndexStore

pytestmark = pytest.mark.anvil

SEED: Final = 20_260_603
WORKLOAD_EVENTS: Final = 12_000
FINALITY_DEPTH: Final = 4
CLI_KILLS: Final = 2
EARLY_KILLS: Final = 2
CATCH_UP_KILLS: Final = 20
#: The gauge the CLI sets once it holds the writer lock and has read the chain head.
HEAD_GAUGE: Final = "provledger_chain_head_block"
#: Longest wait for one process to reach a point (start-up, a batch, its end).
STEP_TIMEOUT: Final = 90.0

#: An indexer process with small ranges: the Python API, as the CLI runs it, printing a line
#: when it starts and after every batch it commits.
RUNNER: Final = """
import sys
from pathlib import Path

from provledger.chain.deployments import load_deployment
from provledger.indexer.scanner import IndexerConfig, Scanner
from provledger.indexer.source import JsonRpcSource
from provledger.store.engine import create_store_engine
from provledger.store.index import IndexStore

import time

rpc_url, database_url, folder, chain_id, finality = sys.argv[1:6]
config = IndexerConfig(
    confirmations=1, finality_depth=int(finality), initial_range=1, max_range=1, target_logs=300
)


def on_batch(report):
    print("batch", report.start, report.end, report.events, flush=True)
    time.sleep(0.02)  # pace the catch-up so that kills land all along it


scanner = Scanner(
    JsonRpcSource(rpc_url),
    IndexStore(create_store_engine(database_url)),
    load_deployment(Path(folder), int(chain_id)),
    config=config,
    on_batch=on_batch,
)
print("started", flush=True)
summary = scanner.run(once=True)
print("done", summary.last_block, summary.events, flush=True)
"""


@dataclass(frozen=True)
class Chain:
    """An anvil node with the workload, and the deployment file the indexers read."""

    url: str
    deployment: Deployment
    deployments_dir: Path
    head: int
    events: int


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """Anvil, the contracts and a mixed workload of about 12,000 events."""
    with deployed_anvil(tmp_path_factory.mktemp("deployments")) as deployed:
        url, deployment = deployed.node.url, deployed.deployment
        summary = generate(url, deployment, WORKLOAD_EVENTS, seed=SEED)
        head = int(deployed.w3.eth.block_number)
        yield Chain(url, deployment, deployed.deployments, head, summary.events)


def cli_command() -> list[str]:
    """The installed ``provledger`` console script (or the module, where it is not on disk)."""
    script = Path(sys.executable).with_name("provledger")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from provledger.cli import main; main()"]


class Process:
    """One indexer process; its stdout lines arrive on a queue, its stderr goes to a file."""

    def __init__(self, command: list[str], folder: Path, label: str) -> None:
        self.stderr_path = folder / f"{label}.stderr"
        self.started_at = time.monotonic()
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=stderr, cwd=folder, text=True
            )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def next_line(self, until: float) -> str | None:
        """The next line printed, or None once the process has closed its output."""
        remaining = until - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no output from the indexer within {STEP_TIMEOUT:g} s")
        try:
            line = self.lines.get(timeout=remaining)
        except queue.Empty as error:
            raise AssertionError(
                f"no output from the indexer within {STEP_TIMEOUT:g} s; stderr: "
                + self.stderr_path.read_text()[-2_000:]
            ) from error
        if line is not None:
            self.output.append(line)
        return line

    def wait_for(self, wanted: Callable[[str], bool]) -> str | None:
        """The first line that is ``wanted``, or None if the process ended first."""
        until = time.monotonic() + STEP_TIMEOUT
        while True:
            line = self.next_line(until)
            if line is None or wanted(line):
                return line

    def kill_after(self, delay: float) -> bool:
        """SIGKILL after ``delay`` seconds; False if the process had ended by then."""
        try:
            self.process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STEP_TIMEOUT)
            self._reader.join(timeout=STEP_TIMEOUT)
            return True
        self._reader.join(timeout=STEP_TIMEOUT)
        return False

    def finish(self) -> int:
        """Wait for the process to end by itself; its exit code."""
        code = self.process.wait(timeout=STEP_TIMEOUT)
        self._reader.join(timeout=STEP_TIMEOUT)
        while not self.lines.empty():
            line = self.lines.get_nowait()
            if line is not None:
                self.output.append(line)
        return code

    def wait_for_metric(self, port: int, name: str) -> bool:
        """Poll ``/metrics`` until gauge ``name`` is positive; False if the process ended."""
        until = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < until:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as page:
                    text = page.read().decode()
            except OSError:
                text = ""  # not serving yet
            for line in text.splitlines():
                if line.startswith(f"{name} ") and float(line.split()[1]) > 0:
                    return True
            try:
                self.process.wait(timeout=0.02)
            except subprocess.TimeoutExpired:
                continue
            return False
        raise AssertionError(f"{name} stayed at zero for {STEP_TIMEOUT:g} s")

    def wait_for_batch(self, target: int, intervals: list[float]) -> str | None:
        """Lines until a batch ending at or after ``target`` (or the end of the run, or None
        if the process died); the times between its batches go to ``intervals``."""
        until = time.monotonic() + STEP_TIMEOUT
        last: float | None = None
        while True:
            line = self.next_line(until)
            if line is None or line.startswith("done"):
                return line
            if line.startswith("batch "):
                now = time.monotonic()
                if last is not None:
                    intervals.append(now - last)
                last = now
                if int(line.split()[2]) >= target:
                    return line


def event_keys(url: str) -> list[tuple[int, int, str]]:
    """(block, log index, block hash) of every stored event, in chain order."""
    engine = engine_for(url)
    if not inspect(engine).has_table(schema.events.name):
        return []
    events = schema.events.c
    with engine.connect() as conn:
        rows = conn.execute(
            schema.positioned_events()
            .with_only_columns(
                events.block_number, events.log_index, schema.event_blocks.c.block_hash
            )
            .order_by(events.block_number, events.log_index)
        )
        return [(row.block_number, row.log_index, row.block_hash) for row in rows]


def checkpoint_block(url: str) -> int:
    """The stored checkpoint's block, or -1 before the first batch (or the schema)."""
    engine = engine_for(url)
    if not inspect(engine).has_table(schema.checkpoint.name):
        return -1
    checkpoint = IndexStore(engine).checkpoint()
    return -1 if checkpoint is None else checkpoint.block_number


@dataclass
class Crashes:
    """The kills so far and what the store held after each."""

    reference: list[tuple[int, int, str]]
    url: str
    checkpoints: list[int] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)
    """How each killed process was interrupted: cli, early or catch-up."""
    batch_intervals: list[float] = field(default_factory=list)

    @property
    def checkpoint(self) -> int:
        """The checkpoint after the last kill (-1 before any batch)."""
        return self.checkpoints[-1] if self.checkpoints else -1

    def record(self, how: str) -> None:
        """After a kill: the checkpoint went forward or stayed; events are exact up to it."""
        block = checkpoint_block(self.url)
        assert block >= self.checkpoint, (
            f"kill {len(self.kills) + 1} ({how}): the checkpoint went back from "
            f"{self.checkpoint} to {block}"
        )
        stored = event_keys(self.url)
        expected = [key for key in self.reference if key[0] <= block]
        assert len(stored) <= len(self.reference)
        assert len(stored) == len(expected), (
            f"kill {len(self.kills) + 1} ({how}): {len(stored)} events stored, "
            f"{len(expected)} on the chain up to the checkpoint {block}"
        )
        assert stored == expected, f"kill {len(self.kills) + 1} ({how}): events differ"
        self.checkpoints.append(block)
        self.kills.append(how)

    def typical_batch(self) -> float:
        """The median time between two batches seen so far (0.1 s before any)."""
        return statistics.median(self.batch_intervals) if self.batch_intervals else 0.1


@pytest.mark.timeout(600)
def test_sigkill_at_random_points_of_a_catch_up_then_the_store_equals_a_fresh_index(
    chain: Chain, new_database: NewDatabase, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    common = [
        "--rpc-url",
        chain.url,
        "--deployments-dir",
        str(chain.deployments_dir),
        "--finality-depth",
        str(FINALITY_DEPTH),
        "--confirmations",
        "1",
    ]

    def cli(url: str, label: str, metrics_port: int) -> Process:
        command = [*cli_command(), "index", *common, "--database-url", url]
        options = ["--once", "--no-progress", "--json", "--metrics-port", str(metrics_port)]
        return Process([*command, *options], tmp_path, label)

    def runner(url: str, label: str) -> Process:
        arguments = [chain.url, url, str(chain.deployments_dir), str(chain.deployment.chain_id)]
        command = [sys.executable, "-c", RUNNER, *arguments, str(FINALITY_DEPTH)]
        return Process(command, tmp_path, label)

    # The reference: one uninterrupted run of the CLI into a fresh database.
    reference_url = new_database("reference")
    port = free_port()
    reference_run = cli(reference_url, "reference", port)
    assert reference_run.wait_for_metric(port, HEAD_GAUGE)
    working_from = time.monotonic()
    assert reference_run.finish() == 0, reference_run.stderr_path.read_text()
    cli_working = time.monotonic() - working_from
    report: dict[str, Any] = json.loads("".join(reference_run.output))
    assert report["indexed_block"] == chain.head
    reference = event_keys(reference_url)
    assert len(reference) == report["events"] > chain.events
    first_block = chain.deployment.block_number
    catch_up_end = chain.head - FINALITY_DEPTH

    url = new_database("crashed")
    crashes = Crashes(reference, url)

    # 1. The CLI, killed while it works on its one large catch-up batch.
    for number in range(CLI_KILLS):
        port = free_port()
        process = cli(url, f"cli-{number}", port)
        assert process.wait_for_metric(port, HEAD_GAUGE), "the CLI ended before its kill"
        assert process.kill_after(rng.uniform(0.0, 0.5) * cli_working), "the CLI ended first"
        crashes.record("cli")
        assert crashes.checkpoint < catch_up_end, "the CLI committed the whole catch-up first"

    # 2. Killed right after start-up: chain id, writer lock, schema creation, first batches.
    for number in range(EARLY_KILLS):
        process = runner(url, f"early-{number}")
        assert process.wait_for(lambda line: line == "started") == "started"
        assert process.kill_after(rng.uniform(0.0, 0.15)), "the indexer ended first"
        crashes.record("early")

    # 3. Killed at random points spread over the catch-up.
    # The last fifth is left out: a kill after the last target must still find work to do,
    # even when the fetch process has run a few ranges ahead of the writes.
    last_target = catch_up_end - max(8, (catch_up_end - first_block) // 5)
    targets = sorted(rng.randint(first_block, last_target) for _ in range(CATCH_UP_KILLS))
    for number, drawn in enumerate(targets):
        # A run may go past later targets before its kill lands: aim past the checkpoint.
        target = max(drawn, crashes.checkpoint + 1)
        process = runner(url, f"catch-up-{number}")
        line = process.wait_for_batch(target, crashes.batch_intervals)
        assert line is not None, f"the indexer died: {process.stderr_path.read_text()[-2_000:]}"
        assert not line.startswith("done"), f"the catch-up ended before block {target}"
        assert process.kill_after(rng.uniform(0.0, 2.0) * crashes.typical_batch()), (
            "the indexer ended before its kill"
        )
        crashes.record("catch-up")

    # Restarted once more, the CLI completes the store.
    final = cli(url, "final", free_port())
    assert final.finish() == 0, final.stderr_path.read_text()
    summary = json.loads("".join(final.output))
    assert summary["indexed_block"] == chain.head
    assert summary["reorgs"] == 0

    assert differences(url, reference_url) == {}
    assert event_keys(url) == reference
    assert IndexStore(engine_for(url)).counts() == IndexStore(engine_for(reference_url)).counts()

    # The kills were real and spread over the catch-up, not bunched at one end of it.
    assert len(crashes.kills) == CLI_KILLS + EARLY_KILLS + CATCH_UP_KILLS >= 20
    during = crashes.checkpoints[CLI_KILLS + EARLY_KILLS :]
    span = catch_up_end - first_block
    assert sum(block < catch_up_end for block in during) >= CATCH_UP_KILLS - 2, during
    assert len(set(during)) >= CATCH_UP_KILLS // 2, during
    assert during[0] < first_block + span // 2, during
    # (two thirds, not three quarters: on a loaded machine the last kill may land a batch early)
    assert during[-1] >= first_block + 2 * span // 3, during
