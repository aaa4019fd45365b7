"""Gateway load: lookups, history, lineage and verification over an index of 1,000,000 assets.

    python benchmarks/query_load.py [--assets N] [--chain FILE | --generate] [--keep DIR]
        [--reuse] [--clients C] [--seconds S] [--workers W] [--backends sqlite,postgresql]
        [--postgres URL]

1. **Chain.** Starts anvil and mines, through the real contracts, at least N assets (default
   1,000,000): batch registrations (``registerMany``, 100 assets each), lineage chains of
   derived registrations (each asset derived from the previous one, 12 links, so that a chain's
   tip has at least 10 ancestors) and transfers, so that histories hold more than the
   registration. ``--chain FILE`` saves the chain (anvil state) and reuses it on later runs.

   ``--generate`` mines only the deployment and its participants, and builds the same blocks
   (the same events, in the contracts' order) as a generated event stream that the store's own
   bulk writer indexes (``benchmarks/generated_stream.py``): ten million assets take anvil most
   of a day to mine on a small machine. The output says which way the index was built.
2. **Index.** Indexes the chain with the real indexer (``Scanner``, as ``provledger index``
   does) into a fresh SQLite file and a fresh PostgreSQL database (then, with ``--generate``,
   the generated stream after it).
3. **Load.** For each backend, starts ``provledger serve --workers W`` over that index and, from
   a separate process (``benchmarks/loadgen.py``), drives it with C concurrent keep-alive
   clients (default 32), one route at a time for S seconds after a warm-up:

   ======== ==============================================================
   health   ``GET /health`` (the baseline: the framework with no query)
   by_id    ``GET /assets/{id}``
   by_hash  ``GET /assets/by-hash/{content hash}``
   history  ``GET /assets/{id}/history`` (assets with transfers among them)
   lineage  ``GET /assets/{tip}/lineage?depth=10`` on the tips of the chains
   verify   ``GET /verify?hash=…``
   ======== ==============================================================

   and two GraphQL routes, ``POST /graphql`` with a JSON body, each the question of a REST
   route above asked the GraphQL way, over the same samples:

   =============== =========================================================================
   graphql_by_hash ``asset(contentHash:)`` with its holder, status, holder participant and
                   licences (the hashes of by_hash)
   graphql_lineage ``lineage(assetId:, depth: 10)``: root, nodes, edges (the tips of lineage)
   =============== =========================================================================

   over requests sampled at random from the index. Every answer must be a 2xx (and a GraphQL
   answer one without ``errors``, whose field is not null); before the load, a few GraphQL
   answers are compared with the REST answers to the same question.

It prints p50/p95/p99 latency and requests/s per route and backend, each route's requests/s as a
share of the baseline's, then one line per route and backend:
``result backend=<name> route=<name> p50_ms=<x> p95_ms=<x> p99_ms=<x> rps=<x>``, and ends with
each GraphQL route's p99 over its REST route's, per backend:
``ratio graphql_by_hash/by_hash p99=<x> backend=<name>``.

The GraphQL routes are POSTs of ``loadgen.py`` too, measured the same way: from the first byte
written to the last byte of the answer read, on keep-alive connections.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

# sibling scripts (the benchmarks folder is on sys.path when a script in it runs)
from generated_stream import Shape, StreamSpec, Written, write_stream
from index_throughput import (
    BATCH_SIZE,
    CONFIRMATIONS,
    DEFAULT_POSTGRES,
    FINALITY_DEPTH,
    GAS,
    HOLDERS,
    NODE_START_SECONDS,
    POOL_CAP,
    Block,
    Tx,
    Workload,
    _meta_path,
    database_url,
    fresh_postgres,
    set_up,
    start_node,
)
from provledger.categories import CATEGORIES
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import free_port
from provledger.chain.deployments import CONTRACT_NAMES, Deployment
from provledger.chain.enums import Relation
from provledger.chain.ids import asset_id
from provledger.chain.types import ParentLink
from provledger.indexer.fetcher import tune_gc
from provledger.indexer.scanner import IndexerConfig, Scanner
from provledger.indexer.source import JsonRpcSource
from provledger.store.engine import create_store_engine
from provledger.store.index import IndexStore
from provledger.store.stored_hex import from_stored

DEFAULT_ASSETS: Final = 1_000_000
#: Batch registrations per block (100 assets each): with the chains and transfers, a block
#: stays under the benchmark node's gas limit.
BATCHES_PER_BLOCK: Final = 23
CHAINS: Final = 40
CHAIN_LINKS: Final = 12
TRANSFERS_PER_BLOCK: Final = 40
SAMPLES: Final = 4_000
BENCH_DATABASE: Final = "provledger_query_load"
#: The GraphQL routes: each one's query, and the REST route it asks the same question as.
GRAPHQL: Final = {
    "graphql_by_hash": (
        "query($h: String!) { asset(contentHash: $h) { assetId holder status "
        "holderParticipant { account name } "
        "licenses { nodes { licenseId licensee expiresAt } } } }",
        "by_hash",
    ),
    "graphql_lineage": (
        "query($id: String!) { lineage(assetId: $id, depth: 10) { root "
        "nodes { assetId depth } edges { childId parentId relation } } }",
        "lineage",
    ),
}
GRAPHQL_PATH: Final = "/graphql"
ROUTES: Final = ("health", "by_id", "by_hash", "history", "lineage", "verify", *GRAPHQL)
#: Answers of each GraphQL route compared with its REST route's before the load.
CHECKED: Final = 5
SERVE_START_SECONDS: Final = 120.0


# ---------------------------------------------------------------------- the chain


@dataclass
class ChainTip:
    """One lineage chain: its registrant, its newest asset and how many links it has."""

    holder: int
    tip: int | None = None
    links: int = 0
    pending: int | None = None


class AssetWorkload(Workload):
    """Blocks of batch registrations, lineage chains and transfers; counts assets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chains = [ChainTip(holder=number % len(self.holders)) for number in range(CHAINS)]
        self.assets = 0

    def units_of(self, block: Block) -> int:
        """The target counts registered assets, not events."""
        return block.registered

    def build(self, now: int) -> Block:
        block = Block()
        registry = self.ledger.registry
        self.add_batches(block, BATCHES_PER_BLOCK)
        for chain in self.chains:
            if chain.pending is not None or chain.links > CHAIN_LINKS:
                continue  # the last link is not mined yet, or the chain is long enough
            parents: tuple[ParentLink, ...] = ()
            if chain.tip is not None:
                relation = self.random.choice(list(Relation)[1:])
                parents = (ParentLink(chain.tip, relation),)
            item = self._registration(parents)
            data = self.register(item.as_tuple())
            raw = self._sign(self.holders[chain.holder], registry.address, data, GAS["register"])
            block.txs.append(Tx("register", raw, 2 + len(parents)))
            chain.pending = asset_id(item.content_hash)
            block.registered += 1
        self.add_transfers(block, TRANSFERS_PER_BLOCK)
        return block

    def settle(self, block: Block) -> None:
        super().settle(block)
        for chain in self.chains:
            if chain.pending is not None:
                chain.tip, chain.pending = chain.pending, None
                chain.links += 1


@dataclass
class Chain:
    """A generated (or reloaded) chain."""

    deployment: Deployment
    assets: int
    blocks: int
    events: int
    seconds: float
    head_time: int = 0
    """The timestamp of the chain's last block (a generated stream continues after it)."""


def load_or_generate(options: Options) -> tuple[Any, Chain]:
    """Start anvil on the saved chain, or on a new one it generates (and saves); with
    ``--generate``, on a chain of the deployment alone."""
    if options.generate:
        node = start_node((), timeout=NODE_START_SECONDS)
        try:
            w3 = node.web3(timeout=600)
            deployment = set_up(w3)
            latest = w3.eth.get_block("latest")
            return node, Chain(deployment, 0, 0, 0, 0.0, head_time=int(latest["timestamp"]))
        except BaseException:
            node.stop()
            raise
    saved = options.chain is not None and options.chain.exists()
    extra: tuple[str, ...] = ()
    if options.chain is not None:
        extra = ("--load-state" if saved else "--dump-state", str(options.chain))
    node = start_node(extra, timeout=NODE_START_SECONDS)
    try:
        if saved:
            assert options.chain is not None
            meta = json.loads(_meta_path(options.chain).read_text())
            if meta["assets_target"] != options.assets:
                raise SystemExit(
                    f"{options.chain} holds a chain of {meta['assets_target']:,} assets; give the "
                    "same --assets, or another --chain file"
                )
            chain = Chain(
                Deployment.from_json(meta["deployment"]),
                meta["assets"],
                meta["blocks"],
                meta["events"],
                meta["seconds"],
            )
            return node, chain
        w3 = node.web3(timeout=600)
        rpc = JsonRpcSource(node.url, timeout=600.0)
        deployment = set_up(w3)
        rpc.call("evm_setAutomine", [False])
        print(f"generating at least {options.assets:,} assets", flush=True)
        workload = AssetWorkload(w3, rpc, deployment, options.seed, 1)
        tally = workload.run(options.assets)
        chain = Chain(deployment, sum_assets(tally), tally.blocks, tally.events, tally.seconds)
        if options.chain is not None:
            meta = {
                "assets_target": options.assets,
                "assets": chain.assets,
                "blocks": chain.blocks,
                "events": chain.events,
                "seconds": chain.seconds,
                "deployment": deployment.to_json(),
            }
            _meta_path(options.chain).write_text(json.dumps(meta, indent=2) + "\n")
        return node, chain
    except BaseException:
        node.stop()
        raise


def sum_assets(tally: Any) -> int:
    """Assets the workload registered (batches of 100, single registrations)."""
    return int(tally.by_kind.get("batch", 0) * BATCH_SIZE + tally.by_kind.get("register", 0))


# ---------------------------------------------------------------------- indexing


def index_into(url: str, node_url: str, deployment: Deployment) -> tuple[int, float]:
    """Index the whole chain into ``url`` with the real scanner; return (events, seconds)."""
    tune_gc()
    started = time.perf_counter()
    store = IndexStore(create_store_engine(url))
    config = IndexerConfig(confirmations=CONFIRMATIONS, finality_depth=FINALITY_DEPTH)
    summary = Scanner(JsonRpcSource(node_url), store, deployment, config=config).run(
        once=True, wait_for_lock=False
    )
    store.engine.dispose()
    return summary.events, time.perf_counter() - started


def stream_into(url: str, chain: Chain, options: Options) -> Written:
    """Write the generated stream after what ``url`` indexed of the chain (its checkpoint)."""
    store = IndexStore(create_store_engine(url))
    checkpoint = store.checkpoint()
    assert checkpoint is not None, "the deployment is indexed first"
    registry = chain.deployment.contracts[CONTRACT_NAMES[0]].address.lower()
    spec = StreamSpec(
        registry=registry,
        holders=tuple(dev_account(index).address.lower() for index in HOLDERS),
        categories=tuple(sorted(CATEGORIES)),
        seed=options.seed,
        first_block=checkpoint.block_number + 1,
        first_time=chain.head_time + 1,
        assets=options.assets,
        shape=Shape(
            batches_per_block=BATCHES_PER_BLOCK,
            batch_size=BATCH_SIZE,
            chains=CHAINS,
            chain_links=CHAIN_LINKS,
            transfers_per_block=TRANSFERS_PER_BLOCK,
            pool_cap=POOL_CAP,
        ),
    )
    tenth = max(options.assets // 10, 1)
    reported = [0]

    def progress(written: Written) -> None:
        assets = written.events // 2  # two events per registration, give or take the transfers
        if assets - reported[0] >= tenth:
            reported[0] = assets
            print(
                f"    {written.events:,} events, {written.blocks:,} blocks in "
                f"{written.seconds:,.0f} s ({written.events / written.seconds:,.0f}/s)",
                flush=True,
            )

    written = write_stream(store, spec, finality_depth=FINALITY_DEPTH, progress=progress)
    store.engine.dispose()
    return written


# ---------------------------------------------------------------------- requests


def sample_requests(sqlite_path: Path, seed: int) -> dict[str, list[str]]:
    """Request paths per route, sampled from the index (the same for every backend)."""
    rng = random.Random(seed)
    with sqlite3.connect(sqlite_path) as db:
        picked = db.execute(
            f"SELECT asset_id, content_hash FROM assets ORDER BY random() LIMIT {SAMPLES}"
        ).fetchall()
        moved = [
            row[0]
            for row in db.execute(
                "SELECT asset_id FROM holdings GROUP BY asset_id HAVING count(*) > 1 "
                f"ORDER BY random() LIMIT {SAMPLES // 2}"
            )
        ]
        tips = [
            row[0]
            for row in db.execute(
                "SELECT child_id FROM lineage WHERE child_id NOT IN (SELECT parent_id FROM lineage)"
            )
        ]
    ids = [from_stored(row[0]) for row in picked]
    hashes = [from_stored(row[1]) for row in picked]
    history = [from_stored(item) for item in moved] + ids[: SAMPLES // 2]
    tips = [from_stored(item) for item in tips]
    rng.shuffle(history)
    return {
        "health": ["/health"],
        "by_id": [f"/assets/{item}" for item in ids],
        "by_hash": [f"/assets/by-hash/{item}" for item in hashes],
        "history": [f"/assets/{item}/history" for item in history],
        "lineage": [f"/assets/{item}/lineage?depth=10" for item in tips],
        "verify": [f"/verify?hash={item}" for item in hashes],
        "graphql_by_hash": [graphql_body("graphql_by_hash", h=item) for item in hashes],
        "graphql_lineage": [graphql_body("graphql_lineage", id=item) for item in tips],
    }


def graphql_body(route: str, **variables: str) -> str:
    """The JSON body of a request of a GraphQL route (one line)."""
    return json.dumps({"query": GRAPHQL[route][0], "variables": variables}, separators=(",", ":"))


def check_graphql(port: int, requests: dict[str, list[str]]) -> list[str]:
    """Ask the first few questions of each GraphQL route both ways; return what differs (the
    asset, its holder and status; the lineage's root, nodes and edges)."""
    problems = []
    base = f"http://127.0.0.1:{port}"
    for route, (_, rest_route) in GRAPHQL.items():
        pairs = zip(requests[route][:CHECKED], requests[rest_route][:CHECKED], strict=True)
        for body, path in pairs:
            posted = urllib.request.Request(
                base + GRAPHQL_PATH,
                data=body.encode(),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
            with urllib.request.urlopen(posted, timeout=30) as answer:
                found = json.load(answer)
            with urllib.request.urlopen(base + path, timeout=30) as answer:
                rest = json.load(answer)
            if found.get("errors") or not found.get("data"):
                problems.append(f"{route}: {found}")
                continue
            if route == "graphql_by_hash":
                asset = found["data"]["asset"] or {}
                got = (asset.get("assetId"), asset.get("holder"), asset.get("status"))
                want = (rest["asset_id"], rest["holder"], rest["status"])
            else:
                graph = found["data"]["lineage"]
                got = (
                    graph["root"],
                    sorted((node["assetId"], node["depth"]) for node in graph["nodes"]),
                    sorted(tuple(edge.values()) for edge in graph["edges"]),
                )
                want = (
                    rest["root"],
                    sorted((node["asset_id"], node["depth"]) for node in rest["nodes"]),
                    sorted(
                        (edge["child_id"], edge["parent_id"], edge["relation"])
                        for edge in rest["edges"]
                    ),
                )
            if got != want:
                problems.append(f"{route} answers {got}, {rest_route} {want}")
    return problems


# ---------------------------------------------------------------------- the gateway


class Gateway:
    """``provledger serve`` in a child process, stopped by its own process id."""

    def __init__(self, database_url: str, workers: int, deployments: Path) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "PROVLEDGER_DATABASE_URL": database_url,
            "PROVLEDGER_DEPLOYMENTS_DIR": str(deployments),
        }
        env.pop("PROVLEDGER_RPC_URL", None)
        command = [
            str(Path(sys.executable).with_name("provledger")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
        ]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + SERVE_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"the gateway exited with {self.process.returncode}: {error}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2):
                    # every worker imports and opens its engine: give them a moment to settle
                    time.sleep(2.0)
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the gateway did not answer within {SERVE_START_SECONDS:g} s")

    def stop(self) -> None:
        """Stop the server and its workers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def drive(
    port: int, paths: list[str], route: str, options: Options, folder: Path
) -> dict[str, Any]:
    """Run the load generator on one route (a GraphQL route's "paths" are JSON bodies, POSTed
    to ``/graphql``); return its summary of that route."""
    requests = folder / f"{route}.txt"
    post = f"POST {GRAPHQL_PATH} " if route in GRAPHQL else ""
    requests.write_text("".join(f"{route} {post}{path}\n" for path in paths))
    generator = [str(Path(__file__).resolve().with_name("loadgen.py"))]
    result = subprocess.run(
        [
            sys.executable,
            *generator,
            "--port",
            str(port),
            "--clients",
            str(options.clients),
            "--seconds",
            str(options.seconds),
            "--warmup",
            str(options.warmup),
            "--requests",
            str(requests),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    summary: dict[str, Any] = json.loads(result.stdout)["routes"][route]
    return summary


# ---------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Options:
    """The command line."""

    assets: int
    seed: int
    chain: Path | None
    keep: Path | None
    clients: int
    seconds: float
    warmup: float
    workers: int
    backends: tuple[str, ...]
    postgres: str
    generate: bool = False
    reuse: bool = False


@dataclass
class BackendResult:
    """One backend's index and its routes' figures."""

    name: str
    events: int
    index_seconds: float
    routes: dict[str, dict[str, Any]] = field(default_factory=dict)


def benchmark(options: Options) -> int:
    """The whole benchmark; returns the exit status."""
    with tempfile.TemporaryDirectory(prefix="provledger-load-") as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        sqlite_path = folder / "index.sqlite"
        urls = {"sqlite": str(sqlite_path)}
        if options.reuse:
            if "postgresql" in options.backends:
                urls["postgresql"] = database_url(options.postgres, BENCH_DATABASE)
            results = reused(urls)
        else:
            for path in folder.glob("index.sqlite*"):
                path.unlink()
            if "postgresql" in options.backends:
                urls["postgresql"] = fresh_postgres(options.postgres, BENCH_DATABASE)
            results = build_indexes(options, folder, urls)
        requests = sample_requests(sqlite_path, options.seed)
        counts = ", ".join(f"{len(paths):,} {route}" for route, paths in requests.items())
        print(f"requests sampled from the index: {counts}", flush=True)
        problems = []
        for result in results:
            if result.name not in options.backends:
                continue
            if result.events != results[0].events:
                problems.append(f"{result.name} indexed {result.events:,} events")
            gateway = Gateway(urls[result.name], options.workers, folder)
            try:
                problems.extend(
                    f"{result.name} {problem}" for problem in check_graphql(gateway.port, requests)
                )
                for route in ROUTES:
                    if not requests[route]:
                        problems.append(f"no requests for {route}")
                        continue
                    summary = drive(gateway.port, requests[route], route, options, folder)
                    result.routes[route] = summary
                    if summary["errors"]:
                        problems.append(
                            f"{result.name} {route}: {summary['errors']} non-2xx answers "
                            f"{summary['statuses']}"
                        )
                    print(f"  {result.name:<10} {_line(route, summary)}", flush=True)
            finally:
                gateway.stop()
        return report([item for item in results if item.routes], options, problems)


def build_indexes(options: Options, folder: Path, urls: dict[str, str]) -> list[BackendResult]:
    """Index the chain (and, with ``--generate``, the generated stream) into each backend."""
    node, chain = load_or_generate(options)
    results: list[BackendResult] = []
    try:
        if options.generate:
            print(
                "index: the deployment is mined and indexed; then the store's own bulk "
                f"writer indexes a generated event stream of {options.assets:,} assets "
                "(the blocks the chain generator mines, not mined through anvil)",
                flush=True,
            )
        else:
            print(
                f"chain: {chain.assets:,} assets, {chain.events:,} events in "
                f"{chain.blocks:,} blocks (generated in {chain.seconds:,.0f} s, not measured)",
                flush=True,
            )
        chain.deployment.save(folder)
        if "sqlite" not in options.backends:  # the requests are sampled from the SQLite index
            print("(the SQLite index is still built: the requests are sampled from it)")
        for name in ("sqlite", *[item for item in options.backends if item != "sqlite"]):
            print(f"indexing into {name} ...", flush=True)
            events, seconds = index_into(urls[name], node.url, chain.deployment)
            print(f"  {events:,} events in {seconds:,.1f} s ({events / seconds:,.0f}/s)")
            if options.generate:
                print(f"  the generated stream into {name} ...", flush=True)
                written = stream_into(urls[name], chain, options)
                print(
                    f"  {written.events:,} generated events in {written.blocks:,} blocks "
                    f"written in {written.seconds:,.1f} s "
                    f"({written.events / written.seconds:,.0f}/s, secondary indexes "
                    "built at the end included)",
                    flush=True,
                )
                events += written.events
                seconds += written.seconds
            results.append(BackendResult(name, events, seconds))
    finally:
        node.stop()
    return results


def reused(urls: dict[str, str]) -> list[BackendResult]:
    """The indexes an earlier run left (``--reuse``), with their events counted."""
    results = []
    for name, url in urls.items():
        if name == "sqlite" and not Path(url).exists():  # opening it would create an empty one
            raise SystemExit(
                f"--reuse: no index to reuse in sqlite ({url}); run once without --reuse, "
                "with the same --keep folder"
            )
        engine = create_store_engine(url)
        try:
            with engine.connect() as conn:
                events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        except SQLAlchemyError as error:
            raise SystemExit(
                f"--reuse: no index to reuse in {name} ({url}): {type(error).__name__}; run "
                "once without --reuse, with the same --keep folder"
            ) from None
        finally:
            engine.dispose()
        print(f"reusing the {name} index an earlier run built: {events:,} events", flush=True)
        results.append(BackendResult(name, events, 0.0))
    if len({result.events for result in results}) > 1:  # the PostgreSQL database is shared
        counts = ", ".join(f"{result.events:,} events in {result.name}" for result in results)
        raise SystemExit(
            f"--reuse: the indexes hold different chains ({counts}), built by runs of "
            "different sizes; run once without --reuse to build both again"
        )
    return results


#: The width of the route column of the table.
ROUTE_WIDTH: Final = max(len(route) for route in ROUTES)


def _line(route: str, summary: dict[str, Any]) -> str:
    return (
        f"{route:<{ROUTE_WIDTH}} {summary['p50_ms']:>8.2f} {summary['p95_ms']:>8.2f} "
        f"{summary['p99_ms']:>8.2f} {summary['rps']:>9,.0f}"
    )


def report(results: list[BackendResult], options: Options, problems: list[str]) -> int:
    """Print the table and the result lines; return the exit status."""
    print()
    print(
        f"{options.clients} clients, {options.workers} workers, {options.seconds:g} s per route "
        f"after {options.warmup:g} s of warm-up"
    )
    print(
        f"{'backend':<10} {'route':<{ROUTE_WIDTH}} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'req/s':>9}  of baseline"
    )
    for result in results:
        baseline = result.routes.get("health", {}).get("rps") or float("nan")
        for route, summary in result.routes.items():
            share = summary["rps"] / baseline
            print(f"{result.name:<10} {_line(route, summary)}  {share:>6.2f}x")
    if problems:
        print("PROBLEMS: " + "; ".join(problems))
    for result in results:
        for route, summary in result.routes.items():
            print(
                f"result backend={result.name} route={route} p50_ms={summary['p50_ms']:.2f} "
                f"p95_ms={summary['p95_ms']:.2f} p99_ms={summary['p99_ms']:.2f} "
                f"rps={summary['rps']:.0f}"
            )
    for result in results:
        for route, (_, rest_route) in GRAPHQL.items():
            if route in result.routes and rest_route in result.routes:
                ratio = result.routes[route]["p99_ms"] / result.routes[rest_route]["p99_ms"]
                print(f"ratio {route}/{rest_route} p99={ratio:.2f} backend={result.name}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--assets", type=int, default=DEFAULT_ASSETS, help="index size")
    parser.add_argument("--seed", type=int, default=1, help="workload and sampling seed")
    parser.add_argument(
        "--chain", type=Path, help="anvil state file: reused if it exists, else saved there"
    )
    parser.add_argument(
        "--generate",
        action="store_true",
        help="index a generated event stream with the store's bulk writer instead of mining "
        "the assets through anvil",
    )
    parser.add_argument("--keep", type=Path, help="keep the SQLite index in this folder")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="serve the indexes an earlier run left (its --keep folder and PostgreSQL "
        "database) instead of building them",
    )
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per route")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per route")
    parser.add_argument("--workers", type=int, default=2, help="gateway worker processes")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help=f"PostgreSQL server (admin URL); the benchmark uses a database {BENCH_DATABASE}",
    )
    args = parser.parse_args(argv)
    backends = tuple(item.strip() for item in args.backends.split(",") if item.strip())
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown or not backends:
        parser.error(f"--backends: unknown {', '.join(sorted(unknown)) or 'empty list'}")
    if args.reuse and args.keep is None:
        parser.error("--reuse serves the index an earlier run kept: give its --keep folder")
    if args.generate and args.chain is not None:
        parser.error("--generate mines no chain to save: give --chain or --generate, not both")
    options = Options(
        assets=args.assets,
        seed=args.seed,
        chain=args.chain,
        keep=args.keep,
        clients=args.clients,
        seconds=args.seconds,
        warmup=args.warmup,
        workers=args.workers,
        backends=backends,
        postgres=args.postgres,
        generate=args.generate,
        reuse=args.reuse,
    )
    return benchmark(options)


if __name__ == "__main__":
    sys.exit(main())
