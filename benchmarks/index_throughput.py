"""Indexer throughput: provledger's indexer against a naive web3.py indexer, on one anvil chain.

    python benchmarks/index_throughput.py [--events N] [--seed S] [--keep DIR] [--chain FILE]
        [--backend sqlite|postgresql] [--postgres URL] [--profile]

Starts anvil, deploys the contracts and generates a mixed workload of at least N events
(default 200,000): batch registrations (``registerMany``, 100 assets each), plain, derived and
EIP-712 signed registrations, transfers and license grants. Transactions are signed locally with
explicit gas and nonces and mined with automine off, about 700 events to a block per 200,000
events of workload (``--block-scale``). The generation time is printed but not measured.
``--chain FILE`` saves the generated chain (anvil state) and reuses it on later runs with the
same ``--events`` and ``--seed``, to measure the indexers again without generating anew.

Then it indexes the chain twice, each in its own process so that neither the workload
generation nor the other indexer counts in its peak RSS:

* **provledger**: the real :class:`~provledger.indexer.scanner.Scanner` (raw JSON-RPC source,
  store with every projection) from an empty database to the checkpoint at the head,
  ``run(once=True)`` with the CLI's defaults and a small finality depth, into a fresh SQLite
  file or, with ``--backend postgresql``, a fresh PostgreSQL database (``--postgres``: the
  server's URL; the database ``provledger_bench`` is dropped and created);
* **baseline**: what a naive indexer does with web3.py: ``contract.events.<Name>().get_logs``
  for every event type of every contract over the whole range (fixed block chunks if the node
  refuses), one block header per block for its timestamp, and one ``INSERT`` per event into
  the same ``events`` table, in a fresh SQLite file.

Both counts must agree, and the two ``events`` tables must hold the same rows (position,
hashes, contract, event, asset). The last line is ``result events=<n> provledger_eps=<x>
baseline_eps=<y> ratio=<r> peak_rss_mb=<m> bytes_per_event=<b>``, where the ratio is
provledger's events/s over the baseline's, the peak RSS is the provledger processes' and
``bytes_per_event`` is the size of provledger's database over the events indexed (SQLite: the
file with its WAL; PostgreSQL: every table with its indexes and TOAST). ``--profile`` runs the
provledger phase under cProfile and prints where its time went.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import hashlib
import itertools
import json
import math
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    create_engine,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from web3 import HTTPProvider, Web3

from provledger.categories import CATEGORIES
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.anvil import AnvilNode
from provledger.chain.artifacts import load_artifact
from provledger.chain.client import Provledger
from provledger.chain.deploy import deploy, dev_role_grants
from provledger.chain.deployments import Deployment
from provledger.chain.eip712 import sign_registration
from provledger.chain.enums import LicenseKind, Relation
from provledger.chain.events import CONTRACT_EVENTS
from provledger.chain.ids import asset_id
from provledger.chain.serialize import asset_hex
from provledger.chain.types import ParentLink, Registration
from provledger.indexer.fetcher import tune_gc
from provledger.indexer.scanner import BatchReport, IndexerConfig, Scanner
from provledger.indexer.source import JsonRpcSource, RpcError
from provledger.store import schema
from provledger.store.engine import create_store_engine, is_sqlite, normalise_url, sqlite_file
from provledger.store.index import IndexStore

DEFAULT_EVENTS: Final = 200_000
#: Blocks below the head that the provledger run treats as unfinalized (near-head mode).
FINALITY_DEPTH: Final = 4
CONFIRMATIONS: Final = 2
#: Block gas limit of the benchmark node: room for a full block of the mix below.
BLOCK_GAS_LIMIT: Final = 300_000_000

# One block of the workload at scale 1 (about 700 events, 87 transactions once assets exist).
# anvil's cost of mining a block grows with the size of the whole state (about 0.4 s per empty
# block at 200,000 events), so the default scale grows with the workload to keep the number of
# blocks near 300: 700 events a block at 200,000 events, 3,500 at 1,000,000.
EVENTS_PER_SCALE: Final = 200_000
BATCH_SIZE: Final = 100
BATCHES_PER_BLOCK: Final = 3
REGISTRATIONS_PER_BLOCK: Final = 10
"""Plain registrations; every other one names a parent its registrant holds (lineage)."""
SIGNED_PER_BLOCK: Final = 4
TRANSFERS_PER_BLOCK: Final = 40
LICENSES_PER_BLOCK: Final = 30

#: Explicit gas limits per transaction kind (generous: the base fee is zero, unused gas is free).
GAS: Final[dict[str, int]] = {
    "batch": 12_000_000,
    "register": 400_000,
    "signed": 400_000,
    "transfer": 150_000,
    "license": 350_000,
}
HOLDERS: Final = tuple(range(5, 15))
"""Dev accounts that register, hold, transfer and license assets (all participants in CN)."""
RELAYER: Final = 15
#: Assets remembered per holder for transfers, licenses and lineage (bounds the generator).
POOL_CAP: Final = 4_000
BASELINE_FALLBACK_CHUNK: Final = 1_000
#: Loading the saved state of a 1,000,000-event chain takes anvil about a minute.
NODE_START_SECONDS: Final = 600.0
COMPARED_COLUMNS: Final = (
    "block_number",
    "log_index",
    "block_hash",
    "block_time",
    "tx_hash",
    "tx_index",
    "contract",
    "event",
    "asset_id",
)
BENCH_DATABASE: Final = "provledger_bench"
#: The baseline's table: one row per event, hashes as hex text, as a naive indexer keeps them.
BASELINE_EVENTS: Final = Table(
    "events",
    MetaData(),
    Column("block_number", BigInteger, primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("block_hash", String(66)),
    Column("block_time", BigInteger),
    Column("tx_hash", String(66)),
    Column("tx_index", Integer),
    Column("contract", String(42)),
    Column("event", String(64)),
    Column("asset_id", String(66)),
    Column("args", Text),
)
DEFAULT_POSTGRES: Final = "postgresql://postgres@127.0.0.1:5432/postgres"


# ---------------------------------------------------------------------- JSON-RPC


# ---------------------------------------------------------------------- workload


@dataclass
class Actor:
    """A sending account with its locally tracked nonce and a ready signing key."""

    account: LocalAccount
    key: PrivateKey
    nonce: int


@dataclass
class Tx:
    """One signed transaction of a block and what it should emit."""

    kind: str
    raw: str
    events: int


@dataclass
class Block:
    """A block's transactions and the pool updates to apply once it is mined."""

    txs: list[Tx] = field(default_factory=list)
    new_assets: list[tuple[int, int]] = field(default_factory=list)
    """(holder index, asset id) that become usable after this block."""
    returned: list[tuple[int, int]] = field(default_factory=list)
    """Assets taken out of a pool for this block (licensed, used as parent, transferred)."""
    registered: int = 0
    """Assets this block registers."""

    @property
    def events(self) -> int:
        """Events this block should emit."""
        return sum(tx.events for tx in self.txs)


@dataclass
class Tally:
    """What the workload did."""

    blocks: int = 0
    transactions: int = 0
    events: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def bench_document(seed: int, number: int) -> tuple[bytes, str, bytes]:
    """The content hash, metadata URI and metadata hash of the benchmark's registration
    ``number`` (the generated stream of ``generated_stream.py`` registers the same)."""
    content = hashlib.sha256(f"provledger-bench:{seed}:{number}".encode()).digest()
    return (
        content,
        f"ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/{number:08x}",
        hashlib.sha256(b"metadata" + content).digest(),
    )


class Workload:
    """Builds blocks of signed transactions and mines them on an anvil node with automine off."""

    def __init__(
        self, w3: Web3, rpc: JsonRpcSource, deployment: Deployment, seed: int, scale: int
    ) -> None:
        self.w3 = w3
        self.scale = scale
        self.rpc = rpc
        self.deployment = deployment
        self.random = random.Random(seed)
        self.seed = seed
        self.chain_id = deployment.chain_id
        self.ledger = Provledger(w3, deployment)
        self.holders = [self._actor(index) for index in HOLDERS]
        self.relayer = self._actor(RELAYER)
        self.signed_nonces = [0 for _ in HOLDERS]
        self.pools: list[list[int]] = [[] for _ in HOLDERS]
        self.contents = itertools.count()
        self.categories = sorted(CATEGORIES)
        registry, licenses = self.ledger.registry, self.ledger.licenses
        self.register_many = registry.encoder("registerMany")
        self.register = registry.encoder("register")
        self.register_signed = registry.encoder("registerWithSignature")
        self.transfer = registry.encoder("transferFrom")
        self.grant = licenses.encoder("grant")

    def _actor(self, index: int) -> Actor:
        account = dev_account(index)
        nonce = int(self.w3.eth.get_transaction_count(account.address, "pending"))
        return Actor(account, PrivateKey(bytes(account.key)), nonce)

    # -- building
    def _sign(self, actor: Actor, to: str, data: bytes, gas: int) -> str:
        transaction: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": actor.nonce,
            "gas": gas,
            "maxFeePerGas": 10**9,
            "maxPriorityFeePerGas": 0,
            "to": to,
            "value": 0,
            "data": data,
        }
        actor.nonce += 1
        signed = Account.sign_transaction(transaction, actor.key)
        return "0x" + bytes(signed.raw_transaction).hex()

    def _registration(self, parents: tuple[ParentLink, ...] = ()) -> Registration:
        number = next(self.contents)
        content, metadata_uri, metadata_hash = bench_document(self.seed, number)
        return Registration(
            content_hash=content,
            metadata_uri=metadata_uri,
            metadata_hash=metadata_hash,
            category=self.random.choice(self.categories),
            grade=self.random.choice((1, 1, 1, 2)),
            parents=parents,
        )

    def _take(self, holder: int) -> int | None:
        """Remove a random settled asset from ``holder``'s pool (it comes back after mining)."""
        pool = self.pools[holder]
        if not pool:
            return None
        index = self.random.randrange(len(pool))
        pool[index], pool[-1] = pool[-1], pool[index]
        return pool.pop()

    def _other(self, holder: int) -> int:
        other = self.random.randrange(len(self.holders) - 1)
        return other if other < holder else other + 1

    def add_batches(self, block: Block, count: int) -> None:
        """Add ``count`` batch registrations (``registerMany``, BATCH_SIZE assets each)."""
        registry_address = self.ledger.registry.address
        for _ in range(count):
            holder = self.random.randrange(len(self.holders))
            batch = [self._registration() for _ in range(BATCH_SIZE)]
            data = self.register_many([item.as_tuple() for item in batch])
            raw = self._sign(self.holders[holder], registry_address, data, GAS["batch"])
            block.txs.append(Tx("batch", raw, 2 * BATCH_SIZE))
            block.new_assets += [(holder, asset_id(item.content_hash)) for item in batch]
            block.registered += BATCH_SIZE

    def add_transfers(self, block: Block, count: int) -> None:
        """Add up to ``count`` transfers of settled assets to another holder."""
        registry_address = self.ledger.registry.address
        for _ in range(count):
            holder = self.random.randrange(len(self.holders))
            asset = self._take(holder)
            if asset is None:
                continue
            recipient = self._other(holder)
            source = self.holders[holder].account.address
            target = self.holders[recipient].account.address
            data = self.transfer(source, target, asset)
            raw = self._sign(self.holders[holder], registry_address, data, GAS["transfer"])
            block.txs.append(Tx("transfer", raw, 1))
            block.returned.append((recipient, asset))

    def build(self, now: int) -> Block:
        """The next block's transactions, signed (pools exclude assets of blocks in flight)."""
        block = Block()
        registry = self.ledger.registry
        registry_address = registry.address
        deadline = now + 30 * 24 * 3600
        expiry = now + 3650 * 24 * 3600
        self.add_batches(block, BATCHES_PER_BLOCK * self.scale)
        for index in range(REGISTRATIONS_PER_BLOCK * self.scale):
            holder = self.random.randrange(len(self.holders))
            parent = self._take(holder) if index % 2 else None
            parents: tuple[ParentLink, ...] = ()
            if parent is not None:
                parents = (ParentLink(parent, self.random.choice(list(Relation)[1:])),)
                block.returned.append((holder, parent))
            item = self._registration(parents)
            data = self.register(item.as_tuple())
            raw = self._sign(self.holders[holder], registry_address, data, GAS["register"])
            block.txs.append(Tx("register", raw, 2 + len(parents)))
            block.new_assets.append((holder, asset_id(item.content_hash)))
        for _ in range(SIGNED_PER_BLOCK * self.scale):
            holder = self.random.randrange(len(self.holders))
            item = self._registration()
            signed = sign_registration(
                item,
                signer=self.holders[holder].account,
                nonce=self.signed_nonces[holder],
                deadline=deadline,
                chain_id=self.chain_id,
                registry=registry_address,
            )
            self.signed_nonces[holder] += 1
            data = self.register_signed(signed.as_tuple())
            raw = self._sign(self.relayer, registry_address, data, GAS["signed"])
            block.txs.append(Tx("signed", raw, 2))
            block.new_assets.append((holder, asset_id(item.content_hash)))
        self.add_transfers(block, TRANSFERS_PER_BLOCK * self.scale)
        licenses = self.ledger.licenses
        for index in range(LICENSES_PER_BLOCK * self.scale):
            holder = self.random.randrange(len(self.holders))
            asset = self._take(holder)
            if asset is None:
                continue
            licensee = self.holders[self._other(holder)].account.address
            kind = LicenseKind.PROCESSING_USE if index % 3 else LicenseKind.PRODUCT_OPERATION
            terms = hashlib.sha256(b"terms" + asset.to_bytes(32, "big")).digest()
            data = self.grant(asset, licensee, int(kind), expiry, terms, "analytics")
            raw = self._sign(self.holders[holder], licenses.address, data, GAS["license"])
            block.txs.append(Tx("license", raw, 1))
            block.returned.append((holder, asset))
        return block

    # -- mining
    def mine(self, block: Block) -> int:
        """Send the block's transactions, mine them, check every receipt; return the number."""
        hashes = self.rpc.batch([("eth_sendRawTransaction", [tx.raw]) for tx in block.txs])
        mined: list[str] = []
        number = -1
        for _ in range(10):
            self.rpc.call("evm_mine", [])
            latest = self.rpc.call("eth_getBlockByNumber", ["latest", False])
            number = int(latest["number"], 16)
            mined += latest["transactions"]
            if len(mined) >= len(hashes):
                break
        if sorted(mined) != sorted(hashes):
            raise RuntimeError(f"sent {len(hashes)} transactions, {len(mined)} were mined")
        receipts = self.rpc.batch([("eth_getTransactionReceipt", [tx_hash]) for tx_hash in hashes])
        for tx, receipt in zip(block.txs, receipts, strict=True):
            logs = len(receipt["logs"])
            if receipt["status"] != "0x1" or logs != tx.events:
                raise RuntimeError(
                    f"{tx.kind} transaction {receipt['transactionHash']} in block "
                    f"{int(receipt['blockNumber'], 16)}: status {receipt['status']}, "
                    f"{logs} logs where {tx.events} were expected"
                )
        return number

    def settle(self, block: Block) -> None:
        """Put the block's assets (new and returned) into their holders' pools."""
        for holder, asset in block.returned:
            self.pools[holder].append(asset)
        for holder, asset in block.new_assets:
            if len(self.pools[holder]) < POOL_CAP:
                self.pools[holder].append(asset)

    def units_of(self, block: Block) -> int:
        """What :meth:`run`'s target counts of a block: its events."""
        return block.events

    def run(self, target: int, progress: bool = True, rate: float = 0.0) -> Tally:
        """Mine blocks until at least ``target`` units (:meth:`units_of`) exist; with ``rate``,
        no faster than that many events a second (as a live chain brings them), else as fast
        as the node mines."""
        tally = Tally()
        units = 0
        started = time.perf_counter()
        now = int(self.rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
        reported = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-mine") as pool:
            in_flight: tuple[Block, Future[int]] | None = None
            while True:
                block: Block | None = None
                if units + (self.units_of(in_flight[0]) if in_flight else 0) < target:
                    block = self.build(now)  # built while the previous block is mined
                if in_flight is not None:
                    done, future = in_flight
                    future.result()
                    self.settle(done)
                    tally.blocks += 1
                    tally.transactions += len(done.txs)
                    tally.events += done.events
                    units += self.units_of(done)
                    for tx in done.txs:
                        tally.by_kind[tx.kind] = tally.by_kind.get(tx.kind, 0) + 1
                    if progress and tally.events - reported >= max(target // 10, 1):
                        reported = tally.events
                        rate = tally.events / (time.perf_counter() - started)
                        print(
                            f"  generated {tally.events:,} events in {tally.blocks:,} blocks "
                            f"({rate:,.0f} events/s)",
                            flush=True,
                        )
                if block is None:
                    break
                if rate > 0:  # the block is due once the events before it had their time
                    time.sleep(max(0.0, started + tally.events / rate - time.perf_counter()))
                in_flight = (block, pool.submit(self.mine, block))
        tally.seconds = time.perf_counter() - started
        return tally


def set_up(w3: Web3) -> Deployment:
    """Deploy with the dev roles and register the holders as participants (automine on)."""
    deployment = deploy(w3, dev_account(DEV_ROLES["admin"]), grants=dev_role_grants())
    registrar = Provledger(w3, deployment, dev_account(DEV_ROLES["registrar"]))
    for index in HOLDERS:
        registrar.registry.register_participant(dev_account(index).address, "CN")
    return deployment


# ---------------------------------------------------------------------- indexing phases


def rss_now_mb() -> float:
    """Resident set size of this process now, in MiB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_child_rss_mb() -> float:
    """Peak resident set size of the largest finished child (the fetch process), in MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def provledger_phase(
    url: str, deployment: Deployment, database: str, overrides: dict[str, int], profile: bool
) -> dict[str, Any]:
    """Index with provledger's scanner from an empty database to the head."""
    samples: list[tuple[int, float, float]] = []
    indexed = {"events": 0}

    def on_batch(report: BatchReport) -> None:
        indexed["events"] += report.events
        samples.append((indexed["events"], rss_now_mb(), time.perf_counter() - started))

    defaults = IndexerConfig()
    config = IndexerConfig(
        confirmations=CONFIRMATIONS,
        finality_depth=FINALITY_DEPTH,
        initial_range=overrides.get("initial_range", defaults.initial_range),
        target_logs=overrides.get("target_logs", defaults.target_logs),
    )
    tune_gc()  # as `provledger index` does
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    store = IndexStore(create_store_engine(database))
    scanner = Scanner(JsonRpcSource(url), store, deployment, config=config, on_batch=on_batch)
    if profiler is not None:
        profiler.enable()
    summary = scanner.run(once=True, wait_for_lock=False)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    size = database_bytes(store.engine)
    store.engine.dispose()
    return {
        "events": summary.events,
        "skipped": summary.skipped,
        "batches": summary.batches,
        "rpc_errors": summary.rpc_errors,
        "last_block": summary.last_block,
        "seconds": seconds,
        # the indexer and its fetch process together: the sum of both peaks bounds their total
        "peak_rss_mb": peak_rss_mb() + peak_child_rss_mb(),
        "indexer_rss_mb": peak_rss_mb(),
        "fetch_rss_mb": peak_child_rss_mb(),
        "samples": samples,
        "database_bytes": size,
        "profiled": profile,
    }


def database_bytes(engine: Engine) -> int:
    """The size of an index: a SQLite file with its WAL, or every PostgreSQL table of the
    current schema with its indexes and TOAST."""
    if is_sqlite(engine):
        path = sqlite_file(engine.url)
        assert path is not None
        return sum(
            Path(name).stat().st_size for name in (str(path), f"{path}-wal") if Path(name).exists()
        )
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'r' AND n.nspname = current_schema()"
                )
            ).scalar_one()
        )


def fresh_postgres(admin_url: str, name: str = BENCH_DATABASE) -> str:
    """Drop and create the database ``name`` on the server of ``admin_url``; its URL."""
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise SystemExit(f"--postgres {admin_url}: {reason}") from None
    finally:
        admin.dispose()
    return database_url(admin_url, name)


def database_url(admin_url: str, name: str) -> str:
    """The URL of the database ``name`` on the server of ``admin_url``."""
    return (
        make_url(normalise_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    )


def _ranges(start: int, end: int, chunk: int) -> list[tuple[int, int]]:
    if chunk <= 0:
        return [(start, end)]
    return [(low, min(end, low + chunk - 1)) for low in range(start, end + 1, chunk)]


def baseline_phase(url: str, deployment: Deployment, database: str, chunk: int) -> dict[str, Any]:
    """Index the ``events`` table the naive web3.py way: get_logs per event, row-by-row inserts."""
    started = time.perf_counter()
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 3600}))
    engine = create_store_engine(database)
    BASELINE_EVENTS.create(engine)
    start, end = deployment.block_number, int(w3.eth.block_number)
    contracts = [
        (name, w3.eth.contract(address=item.address, abi=list(load_artifact(name).abi)))
        for name, item in deployment.contracts.items()
    ]
    timestamps: dict[int, int] = {}
    count = 0
    notes: list[str] = []
    ranges = _ranges(start, end, chunk)
    with engine.connect() as conn:
        position = 0
        while position < len(ranges):
            low, high = ranges[position]
            inserted = 0
            try:
                for name, contract in contracts:
                    for event_name in CONTRACT_EVENTS[name]:
                        logs = contract.events[event_name]().get_logs(from_block=low, to_block=high)
                        for log in logs:
                            number = int(log["blockNumber"])
                            if number not in timestamps:
                                timestamps[number] = int(w3.eth.get_block(number)["timestamp"])
                            args = log["args"]
                            asset = args.get("assetId", args.get("tokenId"))
                            conn.execute(
                                BASELINE_EVENTS.insert(),
                                {
                                    "block_number": number,
                                    "log_index": int(log["logIndex"]),
                                    "block_hash": log["blockHash"].to_0x_hex(),
                                    "block_time": timestamps[number],
                                    "tx_hash": log["transactionHash"].to_0x_hex(),
                                    "tx_index": int(log["transactionIndex"]),
                                    "contract": str(log["address"]).lower(),
                                    "event": log["event"],
                                    "asset_id": None if asset is None else asset_hex(int(asset)),
                                    "args": Web3.to_json(args),
                                },
                            )
                            inserted += 1
            except Exception as error:  # the node refused the range: chunk it, as naive indexers do
                conn.rollback()
                if len(ranges) > 1:
                    raise
                notes.append(f"whole-range get_logs failed ({error}); fixed chunks instead")
                ranges = _ranges(start, end, BASELINE_FALLBACK_CHUNK)
                continue
            conn.commit()
            count += inserted
            position += 1
    engine.dispose()
    return {
        "events": count,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "ranges": len(ranges),
        "notes": notes,
    }


def run_phase(phase: str, url: str, deployment_file: Path, database: str, options: Options) -> Any:
    """Run one indexing phase in a fresh interpreter; return its JSON report."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--rpc-url",
        url,
        "--deployment-file",
        str(deployment_file),
        "--database",
        database,
        "--baseline-chunk",
        str(options.baseline_chunk),
    ]
    if options.initial_range is not None:
        command += ["--initial-range", str(options.initial_range)]
    if options.target_logs is not None:
        command += ["--target-logs", str(options.target_logs)]
    if options.profile and phase == "provledger":
        command.append("--profile")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{phase} phase failed ({done.returncode}):\n{done.stderr.strip()}")
    if options.profile and phase == "provledger":
        print(done.stderr, flush=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rows(database: str, query: Select[Any]) -> Iterator[tuple[Any, ...]]:
    engine = create_store_engine(database)
    try:
        with engine.connect() as conn:
            yield from conn.execute(query)
    finally:
        engine.dispose()


def compare_events(left: str, right: str) -> list[str]:
    """Rows that differ between provledger's events (with their block and transaction) and
    the baseline's table (at most five are described)."""
    events = schema.positioned_events().subquery()
    provledger = select(*(events.c[name] for name in COMPARED_COLUMNS)).order_by(
        events.c.block_number, events.c.log_index
    )
    baseline = select(*(BASELINE_EVENTS.c[name] for name in COMPARED_COLUMNS)).order_by(
        BASELINE_EVENTS.c.block_number, BASELINE_EVENTS.c.log_index
    )
    differences: list[str] = []
    for ours, theirs in itertools.zip_longest(_rows(left, provledger), _rows(right, baseline)):
        if ours != theirs:
            differences.append(f"provledger {ours} / baseline {theirs}")
            if len(differences) == 5:
                break
    return differences


def setup_events(rpc: JsonRpcSource, deployment: Deployment, end: int) -> int:
    """Logs of the deployment and participant set-up, before the workload."""
    addresses = [address.lower() for address in deployment.addresses]
    return len(rpc.logs(addresses, deployment.block_number, end))


# ---------------------------------------------------------------------- report


def _row(name: str, report: dict[str, Any]) -> str:
    rate = report["events"] / report["seconds"]
    return (
        f"{name:<11} {report['events']:>11,} {report['seconds']:>10.2f} {rate:>12,.0f} "
        f"{report['peak_rss_mb']:>7.1f} MB"
    )


def _profile(samples: list[list[float]], total: int) -> str:
    """RSS and events/s over each fifth of the events (from the per-batch samples)."""
    parts = []
    last_events, last_seconds = 0.0, 0.0
    for share in (0.2, 0.4, 0.6, 0.8, 1.0):
        found = next((sample for sample in samples if sample[0] >= share * total), None)
        if found is None or found[0] <= last_events:
            continue
        events, rss, seconds = found
        rate = (events - last_events) / max(seconds - last_seconds, 1e-9)
        parts.append(f"{events:,.0f} events: {rss:.0f} MB, {rate:,.0f} events/s")
        last_events, last_seconds = events, seconds
    return "; ".join(parts) or "no batches"


@dataclass(frozen=True)
class Options:
    """The command line."""

    events: int
    seed: int
    keep: Path | None
    baseline_chunk: int
    block_scale: int
    chain: Path | None
    initial_range: int | None
    target_logs: int | None
    backend: str
    postgres: str
    profile: bool


@dataclass
class Chain:
    """The generated chain: where it was deployed and what the workload did."""

    deployment: Deployment
    setup_events: int
    tally: Tally
    scale: int


def _node_args(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    # Zero base fee (fees play no part here); no on-disk state history, which otherwise makes
    # every block slower once anvil starts writing old states to disk.
    return (
        "--gas-limit",
        str(BLOCK_GAS_LIMIT),
        "--base-fee",
        "0",
        "--no-priority-fee",
        "--prune-history",
        *extra,
    )


def start_node(extra: tuple[str, ...], timeout: float) -> AnvilNode:
    """An :class:`AnvilNode` started with ``extra`` arguments, waited for up to ``timeout``.

    ``AnvilNode.start`` gives anvil 20 s, too little to load the state of a large chain.
    """
    node = AnvilNode(extra_args=_node_args(extra))
    node.process = subprocess.Popen(
        node.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise RuntimeError(f"anvil exited with {node.process.returncode}")
        try:
            JsonRpcSource(node.url).call("eth_chainId", [])
            return node
        except RpcError:  # not listening yet
            time.sleep(0.2)
    node.stop()
    raise RuntimeError(f"anvil did not answer on {node.url} within {timeout:g} s")


def _meta_path(chain: Path) -> Path:
    return chain.with_name(chain.name + ".meta.json")


def generate(w3: Web3, rpc: JsonRpcSource, options: Options) -> Chain:
    """Deploy, then mine the workload with automine off."""
    scale = options.block_scale or max(1, math.ceil(options.events / EVENTS_PER_SCALE))
    deployment = set_up(w3)
    setup_count = setup_events(rpc, deployment, int(w3.eth.block_number))
    rpc.call("evm_setAutomine", [False])
    print(
        f"generating a workload of at least {options.events:,} events "
        f"(seed {options.seed}, block scale {scale})",
        flush=True,
    )
    tally = Workload(w3, rpc, deployment, options.seed, scale).run(options.events)
    return Chain(deployment, setup_count, tally, scale)


def load_chain(options: Options) -> Chain | None:
    """The saved chain of ``--chain``, if it exists and matches the options."""
    if options.chain is None or not options.chain.exists():
        return None
    meta = json.loads(_meta_path(options.chain).read_text())
    if (meta["events"], meta["seed"]) != (options.events, options.seed):
        raise SystemExit(
            f"{options.chain} holds a workload of {meta['events']:,} events (seed {meta['seed']}); "
            "give the same --events and --seed, or another --chain file"
        )
    return Chain(
        Deployment.from_json(meta["deployment"]),
        int(meta["setup_events"]),
        Tally(**meta["tally"]),
        int(meta["scale"]),
    )


def save_chain_meta(options: Options, chain: Chain) -> None:
    """Write what a later run needs to reuse the chain saved by anvil."""
    if options.chain is None:
        return
    meta = {
        "events": options.events,
        "seed": options.seed,
        "scale": chain.scale,
        "setup_events": chain.setup_events,
        "deployment": chain.deployment.to_json(),
        "tally": dataclasses.asdict(chain.tally),
    }
    _meta_path(options.chain).write_text(json.dumps(meta, indent=2) + "\n")


def benchmark(options: Options) -> int:
    """The whole benchmark; returns the exit status."""
    with tempfile.TemporaryDirectory(prefix="provledger-bench-") as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for path in folder.glob("*.sqlite*"):
            path.unlink()
        ours = str(folder / "provledger.sqlite")
        if options.backend == "postgresql":
            ours = fresh_postgres(options.postgres)
        theirs = str(folder / "baseline.sqlite")
        chain = load_chain(options)
        extra: tuple[str, ...] = ()
        if options.chain is not None:
            state = str(options.chain)
            extra = ("--load-state", state) if chain is not None else ("--dump-state", state)
        node = start_node(extra, timeout=NODE_START_SECONDS)
        try:
            w3 = node.web3(timeout=600)
            rpc = JsonRpcSource(node.url, timeout=600.0)
            print(f"{rpc.call('web3_clientVersion', [])} at {node.url}", flush=True)
            if chain is None:
                chain = generate(w3, rpc, options)
                save_chain_meta(options, chain)
                how = f"generated in {chain.tally.seconds:.1f} s (not measured)"
            else:
                how = f"loaded from {options.chain}"
            tally = chain.tally
            kinds = ", ".join(f"{count:,} {kind}" for kind, count in sorted(tally.by_kind.items()))
            print(
                f"workload: {tally.events:,} events in {tally.blocks:,} blocks "
                f"({tally.events / max(tally.blocks, 1):,.0f} events/block), "
                f"{tally.transactions:,} transactions ({kinds}); "
                f"set-up {chain.setup_events:,} events; {how}",
                flush=True,
            )
            expected = chain.setup_events + tally.events
            deployment_file = chain.deployment.save(folder)
            print(f"indexing with provledger into {options.backend} ...", flush=True)
            mine = run_phase("provledger", node.url, deployment_file, ours, options)
            print("indexing with the web3.py baseline ...", flush=True)
            base = run_phase("baseline", node.url, deployment_file, theirs, options)
        finally:
            node.stop()
        return report(mine, base, expected, ours, theirs)


def report(
    mine: dict[str, Any], base: dict[str, Any], expected: int, ours: str, theirs: str
) -> int:
    """Check both indexes, print the figures and the result line; return the exit status."""
    problems = []
    if mine["events"] != expected:
        problems.append(f"provledger indexed {mine['events']:,} events, not {expected:,}")
    if base["events"] != expected:
        problems.append(f"baseline indexed {base['events']:,} events, not {expected:,}")
    if mine["skipped"]:
        problems.append(f"provledger skipped {mine['skipped']:,} logs")
    problems += compare_events(ours, theirs)
    ours_eps = mine["events"] / mine["seconds"]
    base_eps = base["events"] / base["seconds"]
    ratio = ours_eps / base_eps
    print()
    print(f"{'indexer':<11} {'events':>11} {'seconds':>10} {'events/s':>12} {'peak RSS':>10}")
    print(_row("provledger", mine))
    print(_row("baseline", base))
    print(
        f"provledger: {mine['batches']} batches, {mine['rpc_errors']} node errors; peak RSS "
        f"{mine['indexer_rss_mb']:.0f} MB indexer + {mine['fetch_rss_mb']:.0f} MB fetch process; "
        f"after {_profile(mine['samples'], mine['events'])}"
    )
    notes = "; ".join(base["notes"])
    print(f"baseline: {base['ranges']} block range(s) per event type{'; ' if notes else ''}{notes}")
    per_event = mine["database_bytes"] / max(mine["events"], 1)
    print(f"ratio {ratio:.2f}x; provledger's database {mine['database_bytes']:,} bytes")
    if problems:
        print("MISMATCH: " + "; ".join(problems))
    else:
        print(f"check: both indexed {expected:,} events and their events tables agree")
    if mine["profiled"]:
        print(
            "profiled: cProfile slowed provledger's run; its rate and ratio here are not the "
            "indexer's (measure without --profile)"
        )
    print(
        f"result events={mine['events']} provledger_eps={ours_eps:.0f} "
        f"baseline_eps={base_eps:.0f} ratio={ratio:.2f} peak_rss_mb={mine['peak_rss_mb']:.1f} "
        f"bytes_per_event={per_event:.0f}"
    )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line; run the benchmark or (internally) one indexing phase."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=DEFAULT_EVENTS, help="workload size (at least this many)"
    )
    parser.add_argument("--seed", type=int, default=1, help="workload random seed")
    parser.add_argument("--keep", type=Path, help="keep the SQLite files in this folder")
    parser.add_argument(
        "--chain",
        type=Path,
        help="anvil state file: reused if it exists (same --events and --seed), else saved there",
    )
    parser.add_argument(
        "--block-scale",
        type=int,
        default=0,
        help="multiply the per-block mix (0: one per 200,000 events)",
    )
    parser.add_argument(
        "--baseline-chunk",
        type=int,
        default=0,
        help="baseline block range per get_logs (0: the whole range)",
    )
    parser.add_argument(
        "--initial-range",
        type=int,
        help="provledger's first block range (default: the indexer's default, as in the CLI)",
    )
    parser.add_argument(
        "--target-logs",
        type=int,
        help="provledger's aimed-for logs per batch (default: the indexer's default)",
    )
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="provledger's store (the baseline always writes SQLite)",
    )
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help=f"PostgreSQL server URL for --backend postgresql (database {BENCH_DATABASE})",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the provledger phase (cProfile)"
    )
    parser.add_argument("--phase", choices=("provledger", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--rpc-url", help=argparse.SUPPRESS)
    parser.add_argument("--deployment-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase is not None:
        deployment = Deployment.from_json(json.loads(args.deployment_file.read_text()))
        if args.phase == "provledger":
            overrides = {
                name: value
                for name, value in (
                    ("initial_range", args.initial_range),
                    ("target_logs", args.target_logs),
                )
                if value is not None
            }
            result = provledger_phase(
                args.rpc_url, deployment, args.database, overrides, args.profile
            )
        else:
            result = baseline_phase(args.rpc_url, deployment, args.database, args.baseline_chunk)
        print(json.dumps(result))
        return 0
    options = Options(
        events=args.events,
        seed=args.seed,
        keep=args.keep,
        baseline_chunk=args.baseline_chunk,
        block_scale=args.block_scale,
        chain=args.chain,
        initial_range=args.initial_range,
        target_logs=args.target_logs,
        backend=args.backend,
        postgres=args.postgres,
        profile=args.profile,
    )
    return benchmark(options)


if __name__ == "__main__":
    sys.exit(main())
