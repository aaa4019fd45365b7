"""The records the indexer hands to the store: decoded events with their position, and
block headers. Plain values, cheap to build; what crosses between processes is the events
tables' rows (:func:`provledger.indexer.decoding.event_rows`), not these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class BlockHeader(NamedTuple):
    """What reorg detection needs of a block."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class LogPosition:
    """Where a log was emitted, and the name of its event: what the indexer's records and the
    rows of the ``events`` table (:class:`provledger.store.proofs.EventRow`) both carry."""

    block_number: int
    log_index: int
    block_hash: str
    block_time: int
    tx_hash: str
    tx_index: int
    contract: str
    """The emitting contract's address, lowercase."""
    event: str
    """The event's name."""


@dataclass(frozen=True, slots=True)
class LogRecord(LogPosition):
    """A decoded event and where it happened."""

    row: tuple[Any, ...]
    """The event's fields in storage form (a row type of :mod:`provledger.indexer.rows`)."""


class EventRows(NamedTuple):
    """The rows a batch of records adds to ``events``, ``event_blocks`` and ``transactions``,
    in column order and as stored (:class:`provledger.store.columns.HexBytes` values as
    bytes)."""

    events: list[tuple[Any, ...]]
    blocks: list[tuple[Any, ...]]
    transactions: list[tuple[Any, ...]]
