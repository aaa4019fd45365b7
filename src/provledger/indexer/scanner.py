"""The scanner: ranges, pipelining, retries, reorgs and the checkpoint.

Two modes, by distance from the head:

* **catch-up** (blocks deeper than ``finality_depth``, which cannot reorganise): a fetch thread
  walks adaptive block ranges and fetches logs (and, where logs carry no timestamp, headers)
  while the main thread decodes, projects and writes the previous range — a pipeline bounded
  by a small queue, so memory does not grow with the chain;
* **near head** (the unfinalized window): one range at a time; every block's header is fetched
  and the parent-hash chain is checked against the stored window; a fork rolls the store back
  to the common ancestor (undo images) and indexing resumes from there.

Every batch is one database transaction with its checkpoint, so a crash at any point resumes
from the checkpoint with no gap and no duplicate.

:meth:`Scanner.stop` ends a run promptly: every wait (the poll of the head, a retry's backoff,
standing by for the writer lock, a queue or pipe to the fetcher) is a wait on the stop event,
and the run returns its summary so far. Only a request already sent to the node runs on to its
timeout; a caller that must end sooner (the CLI, on a signal) runs the scanner in a thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from typing import Final, TypeVar

from provledger.chain.deployments import Deployment
from provledger.errors import ProvledgerError
from provledger.indexer import projector
from provledger.indexer.fetcher import (
    Fetched,
    ProcessJob,
    RangeFetcher,
    RangePolicy,
    Retry,
    StopRequestedError,
    fetch_in_process,
    fetch_in_thread,
)
from provledger.indexer.metrics import IndexerMetrics
from provledger.indexer.rows import BatchAnchoredRow
from provledger.indexer.source import JsonRpcSource, LogSource, RpcError
from provledger.store.blobs import BlobStore
from provledger.store.documents import index_named_manifests
from provledger.store.engine import WriterLockHeldError, writer_lock
from provledger.store.index import Checkpoint, Identity, IndexStore
from provledger.store.records import BlockHeader, LogRecord

T = TypeVar("T")

WRITER_LOCK_POLL_SECONDS: Final = 1.0
"""How often an indexer on standby asks for the writer lock again."""


class ReorgTooDeepError(ProvledgerError):
    """The chain reorganised below the stored window: the index cannot roll back that far."""

    template = (
        "the chain reorganised below block {block}, deeper than the finality depth; "
        "rebuild the index (delete the database) or raise --finality-depth"
    )
    block: int


class ChainMismatchError(ProvledgerError):
    """The node serves another chain than the deployment's."""

    template = "the deployment is on chain {expected}, but the node serves chain {actual}"
    expected: int
    actual: int


@dataclass(frozen=True)
class IndexerConfig(RangePolicy):
    """How the scanner walks the chain: its block ranges adapt as :class:`RangePolicy` says,
    and the rest is below."""

    confirmations: int = 12
    """Blocks below the head after which a record is *safe*."""
    finality_depth: int = 64
    """Blocks below the head after which a record is *final*; also the reorg window."""
    poll_interval: float = 1.0
    """Seconds between looks at the head once caught up (unless the run is ``once``)."""
    queue_depth: int = 2
    """Fetched ranges a fetch thread may hold ahead of the writer; bounds memory."""
    bulk_load_blocks: int = 100_000
    """A catch-up longer than this (or the first one) drops the secondary indexes and
    rebuilds them once caught up with the head."""
    fetch_process: bool = True
    """Fetch and decode a bulk catch-up from a JSON-RPC node in a child process."""


@dataclass
class BatchReport:
    """What one written batch did, for progress bars and logs."""

    start: int
    end: int
    head: int
    events: int
    skipped: int
    seconds: float
    mode: str


@dataclass
class RunSummary:
    """What a run did."""

    batches: int = 0
    events: int = 0
    skipped: int = 0
    reorgs: int = 0
    rolled_back_rows: int = 0
    rpc_errors: int = 0
    last_block: int = -1
    seconds: float = 0.0
    stopped: bool = False
    """Whether :meth:`Scanner.stop` ended the run (rather than ``once`` reaching its head)."""
    notes: list[str] = field(default_factory=list)


class Scanner:
    """Indexes one deployment from one source into one store."""

    def __init__(
        self,
        source: LogSource,
        store: IndexStore,
        deployment: Deployment,
        *,
        config: IndexerConfig | None = None,
        metrics: IndexerMetrics | None = None,
        on_batch: Callable[[BatchReport], None] | None = None,
        on_note: Callable[[str], None] | None = None,
        on_prepared: Callable[[], None] | None = None,
        sleep: Callable[[float], None] | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        self.source = source
        self.store = store
        self.deployment = deployment
        self.config = config or IndexerConfig()
        self.metrics = metrics or IndexerMetrics()
        self.on_batch = on_batch or (lambda _: None)
        self.on_note = on_note or (lambda _: None)
        self.on_prepared = on_prepared or (lambda: None)
        """Called once the store is checked (and rebuilt if needed), holding the writer lock."""
        self.sleep = sleep
        """Replaces the waits between polls and retries (tests shorten them); None: waits on
        the stop event. Either way a wait raises :class:`StopRequestedError` once stopped."""
        self.blobs = blobs
        """The blob folder: a batch's manifest (registration or access log) that its manifest
        URI names is indexed from it as the batch is written, if the folder holds it (one
        stored later is indexed by ``provledger blobs add``, or when the indexer starts)."""
        self.addresses = [address.lower() for address in deployment.addresses]
        self.contracts = {item.address.lower(): name for name, item in deployment.contracts.items()}
        self.summary = RunSummary()
        # The config's range settings as a plain RangePolicy: the fetch process unpickles it
        # without importing this module.
        self.policy = RangePolicy(
            initial_range=self.config.initial_range,
            max_range=self.config.max_range,
            target_logs=self.config.target_logs,
            give_up_after=self.config.give_up_after,
        )
        self.fetcher = RangeFetcher(
            source,
            self.addresses,
            self.contracts,
            self.policy,
            sleep=self._wait,
            on_error=self._count_error,
            on_note=self._note,
        )
        self._stop = threading.Event()
        self._unsettled = 0
        """Reads near the head in a row whose blocks did not agree (see :meth:`_read_again`)."""
        self._bulk_loading = False
        """Whether the secondary indexes are dropped: from a large catch-up until caught up
        with the head (the blocks near the head are written without them too)."""

    # ------------------------------------------------------------ entry points
    def identity(self) -> Identity:
        """What the store must be an index of."""
        return Identity(
            chain_id=self.deployment.chain_id,
            deployment=",".join(self.addresses),
            start_block=self.deployment.block_number,
        )

    def stop(self) -> None:
        """Ask a running :meth:`run` to return: at once from a wait, after the batch it is
        writing, or when the request it has sent to the node ends. Any thread may call it."""
        self._stop.set()

    def run(self, *, once: bool = False, wait_for_lock: bool = True) -> RunSummary:
        """Index until stopped (or, with ``once``, until the head seen at the start is indexed).

        Returns the summary; after :meth:`stop`, the summary so far with ``stopped`` set.
        """
        started = time.monotonic()
        try:
            chain_id = self._retry("eth_chainId", self.source.chain_id)
            if chain_id != self.deployment.chain_id:
                raise ChainMismatchError(self.deployment.chain_id, chain_id)
            with ExitStack() as held:
                self._take_writer_lock(held, wait=wait_for_lock)
                if self.store.prepare(self.identity()):
                    self.on_note("schema changed: the index is rebuilt from the deployment block")
                self._bulk_loading = self.store.in_bulk_load()
                self.on_prepared()
                self.summary.last_block = self._next_block() - 1
                self._loop(once)
        except StopRequestedError:
            pass  # every batch written is committed with its checkpoint: nothing to undo
        self.summary.stopped = self._stop.is_set()
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _take_writer_lock(self, held: ExitStack, *, wait: bool) -> None:
        """Hold the store's writer lock in ``held``; while another indexer holds it, stand by
        (unless not ``wait``), asking again every second until it is free or stop() is asked."""
        announced = False
        while True:
            try:
                held.enter_context(writer_lock(self.store.engine))
                return
            except WriterLockHeldError:
                if not wait:
                    raise
            if not announced:
                self.on_note("standby: another indexer holds the writer lock")
                announced = True
            if self._stop.wait(WRITER_LOCK_POLL_SECONDS):
                raise StopRequestedError()

    # ------------------------------------------------------------ main loop
    def _next_block(self) -> int:
        checkpoint = self.store.checkpoint()
        return self.deployment.block_number if checkpoint is None else checkpoint.block_number + 1

    def _loop(self, once: bool) -> None:
        target: int | None = None
        while not self._stop.is_set():
            head = self._retry("eth_blockNumber", self.source.head)
            self.metrics.head_block.set(head)
            if once and target is None:
                target = head
            next_block = self._next_block()
            limit = head if target is None else min(head, target)
            final_limit = head - self.config.finality_depth
            if next_block <= min(final_limit, limit):
                self._catch_up(next_block, min(final_limit, limit), head)
                continue
            if next_block <= limit:
                self._near_head(next_block, limit)
                continue
            if self._bulk_loading:  # caught up: now build the indexes the queries use
                self._end_bulk_load()
            if self._tip_replaced(head):
                continue
            if once:
                return
            self._wait(self.config.poll_interval)

    # ------------------------------------------------------------ catch-up (final blocks)
    def _catch_up(self, start: int, stop: int, head: int) -> None:
        bulk = self._bulk_loading or (
            self.store.checkpoint() is None or stop - start >= self.config.bulk_load_blocks
        )
        if bulk and not self._bulk_loading:
            self.store.begin_bulk_load()
            self._bulk_loading = True
        mode = "bulk" if bulk else "catch-up"
        if bulk and self.config.fetch_process and isinstance(self.source, JsonRpcSource):
            self._pipeline_process(start, stop, head, mode)
        else:
            self._pipeline(start, stop, head, mode)

    def _end_bulk_load(self) -> None:
        self.on_note("caught up: building the secondary indexes")
        self.store.end_bulk_load()
        self._bulk_loading = False

    def _pipeline(self, start: int, stop: int, head: int, mode: str) -> None:
        """Fetch in a thread while this thread projects and writes."""
        depth = self.config.queue_depth
        items = fetch_in_thread(self.fetcher, start, stop, stopped=self._stop.is_set, depth=depth)
        with closing(items):
            for item in items:
                self._write(item, head, mode=mode, undo_from_block=None)

    def _pipeline_process(self, start: int, stop: int, head: int, mode: str) -> None:
        """Fetch and decode in a child process while this one projects and writes."""
        source = self.source
        assert isinstance(source, JsonRpcSource)
        job = ProcessJob(
            url=source.url,
            timeout=source.timeout,
            max_log_reply_bytes=source.max_log_reply_bytes,
            addresses=self.addresses,
            contracts=self.contracts,
            policy=self.policy,
            start=start,
            stop=stop,
            initial_range=self.fetcher.range,
        )
        items = fetch_in_process(job, stopped=self._stop.is_set, on_error=self._count_error)
        with closing(items):  # a failed write ends the child now, not when garbage is collected
            for item in items:
                self._write(item, head, mode=mode, undo_from_block=None)

    # ------------------------------------------------------------ near head (unfinalized)
    def _near_head(self, start: int, stop: int) -> None:
        stop = min(stop, start + self.config.finality_depth + self.config.initial_range)
        item = self.fetcher.fetch(start, stop, all_headers=True)
        previous = start - 1
        expected_parent = self._hash_of(previous)
        chain: list[BlockHeader] = [
            item.headers[number] for number in range(item.start, item.end + 1)
        ]
        for header in chain:
            if expected_parent is not None and header.parent_hash != expected_parent:
                if header.number == item.start:
                    self._handle_reorg(header.number - 1)
                    return
                # the chain moved while we were reading: fetch again
                self._read_again(f"block {header.number} does not link to its parent")
                return
            expected_parent = header.hash
        if any(
            record.block_hash != item.headers[record.block_number].hash for record in item.records
        ):
            self._read_again("its logs and block headers come from different forks")
            return
        self._unsettled = 0
        stored_tip = self._hash_of(previous)
        if stored_tip is not None and self._header(previous).hash != stored_tip:
            # The new blocks link to the stored tip, yet the chain's block of that number is
            # another: a node that sealed a block on an abandoned tip (anvil reverting while
            # its interval miner works), or an endpoint that balances over two nodes. The
            # link alone would have the abandoned branch kept under the new one.
            self._handle_reorg(previous)
            return
        head = self._retry("eth_blockNumber", self.source.head)
        self._write(
            item,
            head,
            mode="live",
            undo_from_block=head - self.config.finality_depth + 1,
            store_headers=chain,
        )

    def _tip_replaced(self, head: int) -> bool:
        """With nothing new to index, check that the indexed tip is still on the chain.

        A reorg to an equally long or shorter branch brings no new block to notice it by.
        Returns True when it rolled back.
        """
        checkpoint = self.store.checkpoint()
        if checkpoint is None or checkpoint.block_number < head - self.config.finality_depth:
            return False
        number = min(checkpoint.block_number, head)
        stored = self._hash_of(number)
        if stored is None:
            return False
        if number == checkpoint.block_number and self._header(number).hash == stored:
            return False
        self._handle_reorg(number if number < checkpoint.block_number else number - 1)
        return True

    def _hash_of(self, number: int) -> str | None:
        if number < self.deployment.block_number:
            return None
        stored = self.store.stored_hashes([number]).get(number)
        if stored is not None:
            return stored
        checkpoint = self.store.checkpoint()
        if checkpoint is not None and checkpoint.block_number == number and checkpoint.block_hash:
            return checkpoint.block_hash
        return None

    def _handle_reorg(self, fork_parent: int) -> None:
        """The block after ``fork_parent`` no longer links to it: find the ancestor, roll back."""
        for number, stored in self.store.window():
            if number > fork_parent:
                continue
            current = self._header(number)
            if current.hash == stored:
                head = self._retry("eth_blockNumber", self.source.head)
                restored = self.store.rollback(number, stored, head)
                self.summary.reorgs += 1
                self.summary.rolled_back_rows += restored
                self.metrics.reorgs.inc()
                self.on_note(
                    f"reorg: rolled back {fork_parent - number + 1} block(s) to {number} "
                    f"({restored} row images restored)"
                )
                return
        raise ReorgTooDeepError(fork_parent)

    def _header(self, number: int) -> BlockHeader:
        return self._retry("eth_getBlockByNumber", lambda: self.source.headers([number]))[number]

    # ------------------------------------------------------------ writing
    def _write(
        self,
        item: Fetched,
        head: int,
        *,
        mode: str,
        undo_from_block: int | None,
        store_headers: Sequence[BlockHeader] = (),
    ) -> None:
        for note in item.notes:
            self.on_note(note)
        for _ in range(item.errors):
            self._count_error()
        began = time.monotonic()
        records = item.records
        skipped = item.skipped
        end_header = item.headers.get(item.end)
        checkpoint = Checkpoint(
            block_number=item.end,
            block_hash=end_header.hash if end_header is not None else "",
            head_block=head,
        )
        self.store.write_batch(
            records,
            item.event_rows,
            project=projector.project,
            checkpoint=checkpoint,
            headers=store_headers,
            undo_from_block=undo_from_block,
            prune_below=head - self.config.finality_depth - 1,
            bulk=self._bulk_loading,
        )
        self._learn_manifests(records)
        seconds = time.monotonic() - began
        self.summary.batches += 1
        self.summary.events += len(records)
        self.summary.skipped += skipped
        self.summary.last_block = item.end
        self.metrics.record_batch(item.end, head, len(records), skipped, seconds)
        self.on_batch(BatchReport(item.start, item.end, head, len(records), skipped, seconds, mode))

    def _learn_manifests(self, records: Sequence[LogRecord]) -> None:
        """Index the manifests the batches anchored in ``records`` name, from the blob folder."""
        if self.blobs is None:
            return
        uris = (r.row.manifest_uri for r in records if isinstance(r.row, BatchAnchoredRow))
        try:
            index_named_manifests(self.store.engine, self.blobs, uris)
        except OSError as error:  # the folder is unreadable: the batch stays, unlinked for now
            self.on_note(f"batch manifests not indexed from the blob folder: {error}")

    # ------------------------------------------------------------ retries
    def _note(self, note: str) -> None:
        self.on_note(note)

    def _read_again(self, why: str) -> None:
        """A read near the head whose blocks did not agree: the chain moved while it was read,
        and the next read settles it. The first is read again at once; a node that keeps
        answering so (one serving blocks that never link) is read again each poll interval,
        with a note on the 2nd, 5th and every 20th time, instead of in a tight loop."""
        self._unsettled += 1
        if self._unsettled == 1:
            return
        if self._unsettled in (2, 5) or self._unsettled % 20 == 0:
            self._note(f"the node's blocks near the head do not agree ({why}); reading again")
        self._wait(self.config.poll_interval)

    def _count_error(self) -> None:
        self.summary.rpc_errors += 1
        self.metrics.rpc_errors.inc()

    def _retry(self, method: str, action: Callable[[], T]) -> T:
        retry = Retry(self.config.give_up_after)
        while True:
            try:
                return action()
            except RpcError as error:
                self._count_error()
                retry.back_off(error, self.on_note, self._wait)

    def _wait(self, seconds: float) -> None:
        """Wait between polls and retries; :class:`StopRequestedError` once stop() is asked."""
        if not self._stop.is_set():
            if self.sleep is None:
                self._stop.wait(seconds)
            else:
                self.sleep(seconds)
        if self._stop.is_set():
            raise StopRequestedError()
