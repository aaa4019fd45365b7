"""A generated event stream, written into an index by the store's own bulk writer.

Mining ten million registrations through anvil takes most of a day on a small machine; the
read benchmark (``query_load.py --generate``) needs the index, not the mining. This module builds
the blocks the query benchmark's chain generator mines (``AssetWorkload``: batch registrations
of 100 assets, lineage chains, transfers between the holders), directly as decoded records:
the same events, in the order the contracts emit them, for the real deployment's addresses and
its registered participants and categories. Block and transaction hashes are derived from the
seed; nothing is signed or executed.

A child process builds the records and the events tables' rows (as the indexer's fetch process
does) while this one projects and writes them with :meth:`IndexStore.write_batch`, in a bulk
load (secondary indexes dropped, built once at the end), as ``provledger index`` writes a first
catch-up.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

# a sibling script (the benchmarks folder is on sys.path when a script in it runs)
from index_throughput import bench_document
from provledger.chain.enums import Channel, Relation
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.indexer import projector
from provledger.indexer.decoding import ZERO_ADDRESS, event_rows
from provledger.indexer.fetcher import Fetched, pack_fetched, unpack_fetched
from provledger.indexer.rows import AssetRegisteredRow, LineageLinkedRow, TransferRow
from provledger.store.index import Checkpoint, IndexStore
from provledger.store.records import BlockHeader, LogRecord

#: Events per write (the indexer's default ``target_logs``).
TARGET_EVENTS: Final = 10_000
BLOCK_SECONDS: Final = 12
RELATIONS: Final = tuple(Relation)[1:]


@dataclass(frozen=True)
class Shape:
    """What one block holds (the query benchmark's ``AssetWorkload`` mines the same)."""

    batches_per_block: int
    batch_size: int
    chains: int
    chain_links: int
    transfers_per_block: int
    pool_cap: int


@dataclass(frozen=True)
class StreamSpec:
    """Everything the child process needs to build the stream (plain values: it is pickled)."""

    registry: str
    """The registry's address, lowercase."""
    holders: tuple[str, ...]
    """The registrants (participants of the deployment), lowercase."""
    categories: tuple[int, ...]
    seed: int
    first_block: int
    first_time: int
    assets: int
    """Blocks are built until at least this many assets are registered."""
    shape: Shape


@dataclass
class _Chain:
    holder: int
    tip: str | None = None
    links: int = 0


@dataclass
class _Block:
    number: int
    time: int
    hash: str
    records: list[LogRecord] = field(default_factory=list)
    tx_index: int = -1
    tx_hash: str = ""

    def transaction(self, seed: int) -> None:
        self.tx_index += 1
        self.tx_hash = _digest(f"tx:{seed}:{self.number}:{self.tx_index}")

    def emit(self, contract: str, name: str, row: tuple[Any, ...]) -> None:
        self.records.append(
            LogRecord(
                self.number,
                len(self.records),
                self.hash,
                self.time,
                self.tx_hash,
                self.tx_index,
                contract,
                name,
                row,
            )
        )


def _digest(text: str) -> str:
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


class Stream:
    """Builds the blocks one after another (the holders' pools make it sequential)."""

    def __init__(self, spec: StreamSpec) -> None:
        self.spec = spec
        self.random = random.Random(spec.seed)
        self.pools: list[list[str]] = [[] for _ in spec.holders]
        self.chains = [_Chain(holder=n % len(spec.holders)) for n in range(spec.shape.chains)]
        self.contents = 0
        self.assets = 0
        self.number = spec.first_block

    def blocks(self) -> Iterator[_Block]:
        """Blocks until the target number of assets is registered."""
        while self.assets < self.spec.assets:
            yield self._block()

    def _block(self) -> _Block:
        spec, shape = self.spec, self.spec.shape
        number = self.number
        self.number += 1
        block = _Block(
            number,
            spec.first_time + (number - spec.first_block) * BLOCK_SECONDS,
            _digest(f"block:{spec.seed}:{number}"),
        )
        returned: list[tuple[int, str]] = []
        new: list[tuple[int, str]] = []
        for _ in range(shape.batches_per_block):
            holder = self.random.randrange(len(spec.holders))
            block.transaction(spec.seed)
            for _ in range(shape.batch_size):
                new.append((holder, self._register(block, holder, None)))
        for chain in self.chains:
            if chain.links > shape.chain_links:
                continue
            block.transaction(spec.seed)
            chain.tip = self._register(block, chain.holder, chain.tip)
            chain.links += 1
        for _ in range(shape.transfers_per_block):
            holder = self.random.randrange(len(spec.holders))
            pool = self.pools[holder]
            if not pool:
                continue
            index = self.random.randrange(len(pool))
            pool[index], pool[-1] = pool[-1], pool[index]
            asset = pool.pop()
            other = self.random.randrange(len(spec.holders) - 1)
            recipient = other if other < holder else other + 1
            block.transaction(spec.seed)
            block.emit(
                spec.registry,
                "Transfer",
                TransferRow(spec.holders[holder], spec.holders[recipient], asset),
            )
            returned.append((recipient, asset))
        for holder, asset in returned:
            self.pools[holder].append(asset)
        for holder, asset in new:
            if len(self.pools[holder]) < shape.pool_cap:
                self.pools[holder].append(asset)
        return block

    def _register(self, block: _Block, holder: int, parent: str | None) -> str:
        """One registration's events, as ``DataAssetRegistry._register`` emits them."""
        spec = self.spec
        number = self.contents
        self.contents += 1
        self.assets += 1
        content, metadata_uri, metadata_hash = bench_document(spec.seed, number)
        asset = asset_id_hex(asset_id(content))
        registrant = spec.holders[holder]
        block.emit(
            spec.registry,
            "AssetRegistered",
            AssetRegisteredRow(
                asset,
                registrant,
                "0x" + content.hex(),
                self.random.choice(spec.categories),
                self.random.choice((1, 1, 1, 2)),
                "0x" + metadata_hash.hex(),
                metadata_uri,
                Channel.DIRECT.value,
                registrant,
            ),
        )
        block.emit(spec.registry, "Transfer", TransferRow(ZERO_ADDRESS, registrant, asset))
        if parent is not None:
            relation = self.random.choice(RELATIONS)
            block.emit(
                spec.registry,
                "LineageLinked",
                LineageLinkedRow(asset, parent, relation.value, 0),
            )
        return asset


def _batches(spec: StreamSpec) -> Iterator[Fetched]:
    """The stream in writes of about :data:`TARGET_EVENTS` events, as the fetcher hands them."""
    pending: list[_Block] = []
    events = 0
    for block in Stream(spec).blocks():
        pending.append(block)
        events += len(block.records)
        if events >= TARGET_EVENTS:
            yield _fetched(pending)
            pending, events = [], 0
    if pending:
        yield _fetched(pending)


def _fetched(blocks: list[_Block]) -> Fetched:
    records = [record for block in blocks for record in block.records]
    last = blocks[-1]
    header = BlockHeader(last.number, last.hash, "", last.time)
    headers = {last.number: header}
    return Fetched(blocks[0].number, last.number, records, event_rows(records), 0, headers)


def _produce(spec: StreamSpec, connection: Any) -> None:
    """The child process: build the batches and send them, then ``None``."""
    for item in _batches(spec):
        connection.send(pack_fetched(item))
    connection.send(None)
    connection.close()


@dataclass
class Written:
    """What :func:`write_stream` wrote."""

    events: int = 0
    blocks: int = 0
    last_block: int = 0
    seconds: float = 0.0


def write_stream(
    store: IndexStore,
    spec: StreamSpec,
    *,
    finality_depth: int,
    progress: Callable[[Written], None] = lambda _: None,
) -> Written:
    """Write the stream after the store's checkpoint in a bulk load; end the bulk load."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_produce, args=(spec, sender), name="generated-stream")
    child.start()
    sender.close()
    written = Written()
    started = time.perf_counter()
    try:
        store.begin_bulk_load()
        while (message := receiver.recv()) is not None:
            item = unpack_fetched(message)
            end = item.headers[item.end]
            store.write_batch(
                item.records,
                item.event_rows,
                project=projector.project,
                checkpoint=Checkpoint(item.end, end.hash, head_block=item.end),
                headers=(),
                undo_from_block=None,
                prune_below=item.end - finality_depth - 1,
                bulk=True,
            )
            written.events += len(item.records)
            written.blocks += item.end - item.start + 1
            written.last_block = item.end
            written.seconds = time.perf_counter() - started
            progress(written)
        store.end_bulk_load()
        written.seconds = time.perf_counter() - started
    finally:
        receiver.close()
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
            child.join()
    return written
