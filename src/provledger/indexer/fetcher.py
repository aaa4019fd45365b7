"""Fetching and decoding log ranges, in a thread or in a process of its own.

:class:`RangeFetcher` walks adaptive block ranges: it doubles the range while results stay
under half the target, shrinks it toward the target when they exceed twice, and on a node's
refusal ("too many results", timeouts, size limits) takes the node's suggested range or
halves. Every other node error is retried with backoff, so a node that goes away is waited
for; malformed replies are retried a few times, then reported with their block range.

During a large catch-up the fetcher runs in a child process (:func:`fetch_in_process`, which
starts ``python -m provledger.indexer.fetcher``), so that fetching, JSON parsing and decoding
use the second core while this process projects and writes; records cross the pipe as plain
tuples, which pickle fast, one length-prefixed message per range. The parent reads the pipe in
short waits, so a stop request ends the fetch at once even while the child waits on a node.
The child runs in a process group of its own: a terminal's Ctrl-C (sent to the foreground
group) reaches only the parent, which ends the child itself, even while it is still starting.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, BinaryIO, Final

from provledger.errors import LogDecodeError, ProvledgerError
from provledger.indexer.decoding import (
    Decoded,
    LogRecord,
    RawLog,
    block_of,
    decode_logs,
    event_rows,
    timestamp_of,
)
from provledger.indexer.rows import ROW_TYPES
from provledger.indexer.source import JsonRpcSource, LogSource, RangeTooLargeError, RpcError
from provledger.store.records import BlockHeader, EventRows
from provledger.store.stored_hex import from_stored

MAX_BACKOFF_SECONDS: Final = 30.0
MALFORMED_ATTEMPTS: Final = 5
POLL_SECONDS: Final = 0.1
"""The longest a waiting reader goes without looking at its stop flag."""
CHILD_EXIT_SECONDS: Final = 0.5
"""How long the fetch process may take to end on SIGTERM before it is killed."""


class StopRequestedError(ProvledgerError):
    """The indexer was asked to stop: raised from its waits to end the run at once."""

    template = "the indexer was asked to stop"


@dataclass(frozen=True)
class RangePolicy:
    """How block ranges adapt."""

    initial_range: int = 1
    """Blocks in the first request; ranges double from there while results are sparse."""
    max_range: int = 100_000
    """Blocks in one request at most."""
    target_logs: int = 10_000
    """Aimed-for logs per batch (ranges grow or shrink toward it); bounds memory."""
    give_up_after: int = 0
    """Failed attempts of one request after which its error is raised instead of retried
    (``index --once``); 0: retry until stopped (a following index rides out a node's outage)."""


@dataclass
class Fetched:
    """One fetched and decoded range."""

    start: int
    end: int
    records: list[LogRecord]
    event_rows: EventRows
    """The events tables' rows of ``records``."""
    skipped: int
    headers: dict[int, BlockHeader]
    errors: int = 0
    """Node errors met (and retried) while fetching this range."""
    notes: list[str] = field(default_factory=list)


@dataclass
class Retry:
    """The retries of one request: node errors met, malformed replies among them."""

    give_up_after: int = 0
    """Attempts after which the error is raised (0: never; see :class:`RangePolicy`)."""
    attempts: int = 0
    malformed: int = 0

    def failed(self, error: RpcError) -> str | None:
        """Count ``error``; re-raise it once malformed replies reach :data:`MALFORMED_ATTEMPTS`
        or the attempts :attr:`give_up_after`. Returns a note on the 1st, 5th and every 20th
        attempt, to report rather than flood."""
        self.attempts += 1
        if self.attempts == self.give_up_after:
            raise error
        if error.malformed:
            self.malformed += 1
            if self.malformed >= MALFORMED_ATTEMPTS:
                raise error
        if self.attempts in (1, 5) or self.attempts % 20 == 0:
            return f"node error ({error}); retrying"
        return None

    def back_off(
        self, error: RpcError, note: Callable[[str], None], sleep: Callable[[float], None]
    ) -> None:
        """Count ``error`` (:meth:`failed`), pass its note on to ``note`` if it has one, and
        ``sleep`` the backoff before the next attempt."""
        message = self.failed(error)
        if message is not None:
            note(message)
        sleep(backoff_seconds(self.attempts))


@dataclass(eq=False)
class RangeFetcher:
    """Fetches adaptive ranges from one source; its state (the current range) persists."""

    source: LogSource
    addresses: list[str]
    contracts: dict[str, str]
    policy: RangePolicy
    _: KW_ONLY
    sleep: Callable[[float], None] = time.sleep
    """Waits between retries; it may raise to end them (the scanner's raises
    :class:`StopRequestedError` once it is asked to stop)."""
    on_error: Callable[[], None] | None = None
    """Told of each node error as it is met; None: they are counted in ``unreported_errors``."""
    on_note: Callable[[str], None] | None = None
    """Takes the retry notes as they come; None: they go in the :class:`Fetched` range."""
    unreported_errors: int = field(default=0, init=False)
    """Errors met since the last :class:`Fetched` (when no ``on_error`` takes them)."""
    range: int = field(init=False)
    """Blocks in the next request."""

    def __post_init__(self) -> None:
        self.range = max(1, min(self.policy.initial_range, self.policy.max_range))

    def fetch(self, start: int, stop: int, *, all_headers: bool) -> Fetched:
        """Fetch and decode ``start..`` up to at most ``stop``; the range size adapts."""
        retry = Retry(self.policy.give_up_after)
        notes: list[str] = []
        while True:
            end = min(stop, start + self.range - 1)
            try:
                logs = self.source.logs(self.addresses, start, end)
                numbers = set(range(start, end + 1)) if all_headers else {end}
                numbers.update(block_of(log) for log in logs if timestamp_of(log) is None)
                headers = self.source.headers(sorted(numbers))
                decoded = self._decode(logs, headers, (start, end))
            except RangeTooLargeError as error:
                self._error()
                if end == start:
                    retry.back_off(error, self.on_note or notes.append, self.sleep)
                    continue
                suggested = error.suggested_end
                new_end = suggested if suggested is not None else start + (end - start) // 2
                self.range = max(1, new_end - start + 1)
                continue
            except RpcError as error:
                self._error()
                retry.back_off(error, self.on_note or notes.append, self.sleep)
                continue
            found = len(logs)
            del logs  # the raw replies are the bulk of a batch's memory
            self._adapt(found, end - start + 1)
            rows = event_rows(decoded.records)
            errors, self.unreported_errors = self.unreported_errors, 0
            return Fetched(
                start, end, decoded.records, rows, decoded.skipped, headers, errors, notes
            )

    def _error(self) -> None:
        if self.on_error is not None:
            self.on_error()
        else:
            self.unreported_errors += 1

    def _decode(
        self, logs: list[RawLog], headers: dict[int, BlockHeader], block_range: tuple[int, int]
    ) -> Decoded:
        times = {number: header.timestamp for number, header in headers.items()}
        try:
            return decode_logs(logs, self.contracts, times)
        except (KeyError, ValueError, TypeError, IndexError, LogDecodeError) as error:
            raise RpcError(
                "eth_getLogs", f"malformed log: {error!r}", block_range=block_range, malformed=True
            ) from error

    def _adapt(self, found: int, span: int) -> None:
        target = self.policy.target_logs
        if found > 2 * target and span > 1:
            self.range = max(1, span * target // max(found, 1))
        elif found < target // 2:
            self.range = min(self.policy.max_range, span * 2)


def tune_gc() -> None:
    """Collect cyclic garbage rarely: indexing allocates millions of short-lived, acyclic
    tuples and dicts, and the default thresholds spend a tenth of the time scanning them.
    The CLI's index command and the fetch process call this; library users may too."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 1_000)


def backoff_seconds(attempts: int) -> float:
    """The wait before retry number ``attempts``: 0.5 s doubling to 30 s."""
    return float(min(MAX_BACKOFF_SECONDS, 0.25 * 2 ** min(attempts, 8)))


# ------------------------------------------------------------------ the fetch thread


def fetch_in_thread(
    fetcher: RangeFetcher, start: int, stop: int, *, stopped: Callable[[], bool], depth: int
) -> Generator[Fetched, None, None]:
    """Fetched ranges ``start..stop`` from a thread of their own, in order, at most ``depth``
    ahead of the reader; :class:`StopRequestedError` as soon as ``stopped()``. Close the iterator
    when leaving it early: the thread then drops what it fetched and ends (it is not waited
    for: it may be in a request to a node that does not answer, and ends when that does)."""
    fetched: queue.Queue[Fetched | BaseException | None] = queue.Queue(depth)
    cancel = threading.Event()

    def offer(item: Fetched | BaseException | None) -> bool:
        """Queue ``item`` for the reader; False once the reader has gone."""
        while not cancel.is_set():
            try:
                fetched.put(item, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            block = start
            while block <= stop:
                item = fetcher.fetch(block, stop, all_headers=False)
                if not offer(item):
                    return
                block = item.end + 1
            offer(None)
        except BaseException as error:  # handed to the reader, which re-raises it
            offer(error)

    worker = threading.Thread(target=produce, name="provledger-fetch", daemon=True)
    worker.start()
    try:
        while True:
            if stopped():
                raise StopRequestedError()
            try:
                item = fetched.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancel.set()
    worker.join()  # it has queued its last range: it is ending


# ------------------------------------------------------------------ the fetch process


@dataclass(frozen=True)
class ProcessJob:
    """What the child process needs to fetch a span."""

    url: str
    timeout: float
    max_log_reply_bytes: int
    addresses: list[str]
    contracts: dict[str, str]
    policy: RangePolicy
    start: int
    stop: int
    initial_range: int


def pack_fetched(item: Fetched) -> tuple[Any, ...]:
    """``item`` as a message of plain values, cheap to pickle: the records' rows and the
    events tables' rows (:func:`unpack_fetched` rebuilds the rest)."""
    return (
        "batch",
        item.start,
        item.end,
        [tuple(record.row) for record in item.records],  # the rest is in the event rows
        tuple(item.event_rows),
        item.skipped,
        {n: (h.number, h.hash, h.parent_hash, h.timestamp) for n, h in item.headers.items()},
        item.errors,
        item.notes,
    )


def unpack_fetched(message: tuple[Any, ...]) -> Fetched:
    """The batch :func:`pack_fetched` packed; each record's block and transaction hashes, block
    time and contract come back from the stored rows (bytes to hex once per block, transaction and
    contract)."""
    _, start, end, rows, stored, skipped, headers, errors, notes = message
    event_rows = EventRows(*stored)
    blocks = {number: (from_stored(hash_), time) for number, hash_, time in event_rows.blocks}
    transactions = {
        (number, index): from_stored(hash_) for number, index, hash_ in event_rows.transactions
    }
    contracts: dict[bytes, str] = {}
    records = []
    for event, row in zip(event_rows.events, rows, strict=True):
        number, log_index, tx_index, contract, name = event[:5]
        block_hash, block_time = blocks[number]
        address = contracts.get(contract)
        if address is None:
            address = contracts[contract] = from_stored(contract)
        records.append(
            LogRecord(
                number,
                log_index,
                block_hash,
                block_time,
                transactions[number, tx_index],
                tx_index,
                address,
                name,
                ROW_TYPES[name]._make(row),
            )
        )
    return Fetched(
        start=start,
        end=end,
        records=records,
        event_rows=event_rows,
        skipped=skipped,
        headers={number: BlockHeader(*fields) for number, fields in headers.items()},
        errors=errors,
        notes=notes,
    )


_LENGTH: Final = struct.Struct("<Q")
"""The length of a message's pickle, ahead of it on the pipe."""


def _send(out: BinaryIO, message: tuple[Any, ...]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(data)))
    out.write(data)
    out.flush()


def _read(fd: int, size: int, stopped: Callable[[], bool]) -> bytearray | None:
    """``size`` bytes from pipe ``fd``, or None if it closes first; waits at most
    :data:`POLL_SECONDS` at a time and raises :class:`StopRequestedError` once ``stopped()``."""
    data = bytearray()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while len(data) < size:
        if stopped():
            raise StopRequestedError()
        if not poller.poll(POLL_SECONDS * 1000):
            continue
        chunk = os.read(fd, min(size - len(data), 1 << 20))
        if not chunk:
            return None
        data += chunk
    return data


def _run_child(job: ProcessJob, out: BinaryIO) -> None:
    """Fetch ``job`` range by range, writing one pickled message per range to ``out``."""
    fetcher = RangeFetcher(
        JsonRpcSource(job.url, timeout=job.timeout, max_log_reply_bytes=job.max_log_reply_bytes),
        job.addresses,
        job.contracts,
        job.policy,
    )
    fetcher.range = job.initial_range
    try:
        block = job.start
        while block <= job.stop:
            item = fetcher.fetch(block, job.stop, all_headers=False)
            _send(out, pack_fetched(item))
            block = item.end + 1
        _send(out, ("done",))
    except BrokenPipeError:
        return  # the parent went away
    except RpcError as error:  # reported to the parent, which raises it again
        _send(
            out,
            (
                "error",
                error.method,
                error.detail,
                error.block_range,
                error.malformed,
                fetcher.unreported_errors,
            ),
        )
    except Exception as error:
        _send(out, ("error", "fetch process", f"{type(error).__name__}: {error}", None, False, 0))


def main() -> None:
    """``python -m provledger.indexer.fetcher``: read a pickled job on stdin, stream ranges."""
    with contextlib.suppress(OSError, AttributeError):  # Linux: die with the parent
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    # The parent ends this process (SIGTERM) when it stops; a SIGINT sent to its process group
    # (its own, see fetch_in_process) would otherwise print a traceback from here too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_gc()
    job = pickle.load(sys.stdin.buffer)
    _run_child(job, sys.stdout.buffer)


def fetch_in_process(
    job: ProcessJob, *, stopped: Callable[[], bool], on_error: Callable[[], None]
) -> Generator[Fetched, None, None]:
    """Fetched ranges of ``job`` from a child process, in order; :class:`StopRequestedError` as soon
    as ``stopped()``, even while the child waits on the node. The pipe between the two bounds
    how far the child runs ahead; the child is stopped when the iteration ends: close the
    generator when leaving it early (an error while writing), or it runs until collected."""
    child = subprocess.Popen(
        [sys.executable, "-m", "provledger.indexer.fetcher"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        # Not in the caller's process group: a Ctrl-C there would reach the child too, and
        # kill it with a traceback while it imports (before it ignores SIGINT). The parent
        # ends it (terminate below, or PR_SET_PDEATHSIG when the parent dies).
        process_group=0,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    pipe = child.stdout.fileno()  # read with os.read only: the file object's buffer stays empty
    try:
        pickle.dump(job, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        child.stdin.close()
        while True:
            length = _read(pipe, _LENGTH.size, stopped)
            data = None if length is None else _read(pipe, _LENGTH.unpack(length)[0], stopped)
            if data is None:
                raise RpcError("eth_getLogs", f"the fetch process exited with {child.wait()}")
            message = pickle.loads(data)
            del data
            kind = message[0]
            if kind == "batch":
                yield unpack_fetched(message)
            elif kind == "error":
                _, method, detail, block_range, malformed, errors = message
                for _ in range(errors):
                    on_error()
                raise RpcError(method, detail, block_range=block_range, malformed=malformed)
            else:
                return
    finally:
        _end(child)


def _end(child: subprocess.Popen[bytes]) -> None:
    """End the fetch process (SIGTERM, then SIGKILL if it lingers) and reap it."""
    if child.poll() is None:
        child.terminate()
    try:
        child.wait(timeout=CHILD_EXIT_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    if child.stdout is not None:
        child.stdout.close()


if __name__ == "__main__":
    main()
