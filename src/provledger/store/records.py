"""The records the indexer hands to the store: decoded events with their position, and
block headers. Plain tuples, cheap to build and to pass between processes."""

from __future__ import annotations

from typing import Any, NamedTuple


class BlockHeader(NamedTuple):
    """What reorg detection needs of a block."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int


class LogRecord(NamedTuple):
    """A decoded event and where it happened."""

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
    row: tuple[Any, ...]
    """The event's fields in storage form (a row type of :mod:`provledger.indexer.rows`)."""
