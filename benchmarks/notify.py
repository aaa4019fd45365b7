"""Notifications end to end: a live chain, the indexer writing the outbox, notify workers posting
to a local receiver.

    python benchmarks/notify.py [--events N] [--subscriptions S] [--broad B] [--workers W]
        [--threads T] [--rate R] [--seed SEED]

Starts anvil and deploys the contracts (index_throughput's set-up: ten participant holders),
makes S subscriptions (default 10,000) before anything is indexed: B of them (default 10) hear
of every event naming one of the holders (``participants``), the others of holders that never
act (they only weigh on matching). Then, at once:

* a receiver (a process of its own, a minimal asyncio HTTP/1.1 server) answers 200 to every
  POST and notes its delivery id and when it arrived;
* ``provledger index`` follows the chain, writing the outbox in each batch's transaction;
* W ``provledger notify run`` workers (default 1) deliver, T subscriptions at once each;
* this process mines index_throughput's mixed workload until N events exist (default
  100,000), R events a second (default 2,000; 0: as fast as anvil mines), as a live chain
  brings them: the deliveries they come to (about 1.09 per event) then arrive at more than
  2,000 a second, and the lag says whether the workers keep up.

Once the workload is mined, it waits until the receiver holds every announcement of the outbox.
The lag of a delivery is its arrival less the time its batch was written (``outbox.written_at``,
taken just before the batch's commit). The last line is ``result deliveries=<n> per_s=<x>
lag_p50_ms=<x> lag_p99_ms=<x> duplicates=<n> missing=<n>``, where ``per_s`` counts deliveries
from the first arrival to the last and ``duplicates`` the arrivals of an id already received.
As a baseline for the rate, it first times the receiver alone: the same number of POSTs, one
connection, no provledger in between (``receiver_only_per_s``, and ``ratio`` = per_s over it).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Final

import requests
from sqlalchemy import select

from index_throughput import HOLDERS, Workload, set_up, start_node
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import free_port
from provledger.indexer.source import JsonRpcSource
from provledger.services.notify.signing import generate_master_key
from provledger.store import schema
from provledger.store.engine import IndexNotBuiltError, create_store_engine
from provledger.store.notify import NotifyStore
from provledger.store.subscriptions import SubscriptionFilter

PROVLEDGER: Final = str(Path(sys.executable).with_name("provledger"))
#: Seconds to wait for the last deliveries once the workload is mined.
DRAIN_SECONDS: Final = 900.0
BASELINE_POSTS: Final = 5_000


class _Receiver(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive endpoint: every POST is answered 200 at once, its
    ``Provledger-Delivery`` id noted with its arrival time (http.server is too slow to be the
    measure of anything here)."""

    def __init__(self, arrivals: list[tuple[str, float]]) -> None:
        self.arrivals = arrivals
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            fields = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in head[1:])
            }
            length = int(fields.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.arrivals.append((fields.get("provledger-delivery", ""), time.time()))
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def _receive(port: int, pipe: Connection) -> None:
    """The receiver process: serve until asked, then send the arrivals back."""
    arrivals: list[tuple[str, float]] = []
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(lambda: _Receiver(arrivals), "127.0.0.1", port)
    )
    threading.Thread(target=loop.run_forever, daemon=True).start()
    pipe.send("ready")
    while True:
        asked = pipe.recv()
        if asked == "count":
            pipe.send(len(arrivals))
        elif asked == "take":
            pipe.send(list(arrivals))
            arrivals.clear()
        else:
            loop.call_soon_threadsafe(server.close)
            return


@contextmanager
def receiver(port: int) -> Iterator[Connection]:
    """A receiver process on ``port``; the pipe that asks it ("count", "take", "stop")."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_receive, args=(port, theirs))
    process.start()
    assert ours.recv() == "ready"
    try:
        yield ours
    finally:
        ours.send("stop")
        process.join(timeout=10)


def receiver_only_rate(pipe: Connection, url: str) -> float:
    """POSTs/s the receiver takes from one keep-alive connection, nothing in between."""
    session = requests.Session()
    body = b'{"id":"x","type":"announce"}'
    started = time.perf_counter()
    for number in range(BASELINE_POSTS):
        session.post(url, data=body, headers={"Provledger-Delivery": f"baseline-{number}"})
    seconds = time.perf_counter() - started
    pipe.send("take")
    pipe.recv()
    return BASELINE_POSTS / seconds


def subscribe(store: NotifyStore, url: str, total: int, broad: int) -> None:
    """``broad`` subscriptions to events naming one holder each, then quiet ones."""
    holders = [dev_account(index).address.lower() for index in HOLDERS]
    for number in range(total):
        if number < broad:
            wanted = SubscriptionFilter(participants=frozenset({holders[number % len(holders)]}))
        else:
            wanted = SubscriptionFilter(holders=frozenset({"0x" + secrets.token_hex(20)}))
        store.create(
            owner="bench",
            filter=wanted,
            finality="pending",
            target="webhook",
            url=url,
            now_ms=int(time.time() * 1000),
        )


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--broad", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rate",
        type=float,
        default=2_000.0,
        help="events mined per second, as a live chain brings them (0: as fast as anvil mines)",
    )
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="provledger-notify-") as scratch:
        folder = Path(scratch)
        node = start_node((), timeout=60)
        processes: list[subprocess.Popen[bytes]] = []
        port = free_port()
        url = f"http://127.0.0.1:{port}/hook"
        try:
            w3 = node.web3()
            rpc = JsonRpcSource(node.url)
            deployment = set_up(w3)
            deployment.save(folder / "deployments")
            key_file = folder / "notify.key"
            key_file.write_text(generate_master_key() + "\n")
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")},
                "PROVLEDGER_RPC_URL": node.url,
                "PROVLEDGER_DEPLOYMENTS_DIR": str(folder / "deployments"),
                "PROVLEDGER_DATABASE_URL": str(folder / "index.sqlite"),
                "PROVLEDGER_NOTIFY_DATABASE_URL": str(folder / "notify.sqlite"),
                "PROVLEDGER_NOTIFY_MASTER_KEY_FILE": str(key_file),
                "PROVLEDGER_NOTIFY_ALLOW_PRIVATE": "true",
                # the outbox is kept whole: the lags and the count are read from it at the end
                "PROVLEDGER_NOTIFY_PRUNE_SECONDS": str(365 * 86400),
                "PROVLEDGER_BLOB_DIR": str(folder / "blobs"),
            }
            with NotifyStore.open(str(folder / "notify.sqlite")) as store:
                made = time.perf_counter()
                subscribe(store, url, options.subscriptions, options.broad)
                print(
                    f"{options.subscriptions:,} subscriptions ({options.broad} broad) made in "
                    f"{time.perf_counter() - made:.1f} s",
                    flush=True,
                )
            with receiver(port) as pipe:
                baseline = receiver_only_rate(pipe, url)
                print(f"receiver alone: {baseline:,.0f} POSTs/s from one connection", flush=True)
                processes.append(
                    subprocess.Popen(
                        [PROVLEDGER, "index", "--no-progress"],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=(folder / "index.log").open("wb"),
                    )
                )
                for _ in range(options.workers):
                    processes.append(
                        subprocess.Popen(
                            [
                                PROVLEDGER,
                                "notify",
                                "run",
                                "--poll",
                                "0.05",
                                "--threads",
                                str(options.threads),
                            ],
                            env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=(folder / f"notify-{len(processes)}.log").open("wb"),
                        )
                    )
                rpc.call("evm_setAutomine", [False])
                print(f"mining a workload of at least {options.events:,} events", flush=True)
                workload = Workload(w3, rpc, deployment, options.seed, 1)
                tally = workload.run(options.events, rate=options.rate)
                print(f"mined {tally.events:,} events in {tally.blocks:,} blocks", flush=True)
                rpc.call("evm_setAutomine", [True])
                expected = wait_for_deliveries(folder, pipe, int(w3.eth.block_number), processes)
                pipe.send("take")
                arrivals: list[tuple[str, float]] = pipe.recv()
            status = report(folder, expected, arrivals, baseline)
            if status != 0:
                for log in sorted(folder.glob("*.log")):
                    print(f"--- {log.name}:\n{log.read_text()[-2000:]}")
            return status
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
            node.stop()


def wait_for_deliveries(
    folder: Path, pipe: Connection, head: int, processes: list[subprocess.Popen[bytes]]
) -> int:
    """Wait until the index reached ``head`` and the receiver holds as many deliveries as the
    outbox announcements; their count."""
    engine = create_store_engine(str(folder / "index.sqlite"), read_only=True)
    deadline = time.monotonic() + DRAIN_SECONDS
    expected = 0
    while time.monotonic() < deadline:
        try:
            with engine.connect() as conn:
                indexed = conn.execute(select(schema.checkpoint.c.block_number)).scalar() or 0
                expected = len(conn.execute(select(schema.outbox.c.seq)).all())
        except IndexNotBuiltError:  # the indexer has not made its tables yet
            indexed = 0
        pipe.send("count")
        got = int(pipe.recv())
        if indexed >= head and got >= expected:
            break
        if any(process.poll() is not None for process in processes):
            print("a provledger process ended; see its log below", flush=True)
            break
        time.sleep(0.5)
    engine.dispose()
    return expected


def report(folder: Path, expected: int, arrivals: list[tuple[str, float]], baseline: float) -> int:
    engine = create_store_engine(str(folder / "index.sqlite"), read_only=True)
    outbox = schema.outbox
    with engine.connect() as conn:
        written = {
            (row.subscription_id, row.block_number, row.log_index): row.written_at
            for row in conn.execute(select(outbox))
        }
    engine.dispose()
    seen: set[str] = set()
    duplicates = 0
    lags: list[float] = []
    for identity, at in arrivals:
        if identity in seen:
            duplicates += 1
            continue
        seen.add(identity)
        subscription, block, log, _ = identity.rsplit("-", 3)
        lags.append(at * 1000 - written[subscription, int(block), int(log)])
    deliveries = len(seen)
    missing = expected - deliveries
    times = [at for _, at in arrivals]
    span = max(times) - min(times) if times else 0.0
    per_s = deliveries / span if span > 0 else 0.0
    p50 = statistics.median(lags) if lags else 0.0
    p99 = percentile(lags, 0.99) if lags else 0.0
    print(
        f"deliveries {deliveries:,} of {expected:,} announcements in {span:.1f} s; lag from the "
        f"batch's commit: p50 {p50:,.0f} ms, p99 {p99:,.0f} ms, max {max(lags, default=0):,.0f} ms"
    )
    print(f"receiver_only_per_s={baseline:,.0f} ratio={per_s / baseline:.2f}")
    print(
        f"result deliveries={deliveries} per_s={per_s:.0f} lag_p50_ms={p50:.0f} "
        f"lag_p99_ms={p99:.0f} duplicates={duplicates} missing={missing}"
    )
    return 0 if duplicates == 0 and missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
