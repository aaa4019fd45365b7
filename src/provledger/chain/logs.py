"""Reading a contract's logs over a block range a node will serve: one ``eth_getLogs`` per
``max_range`` blocks (nodes cap the span of one request; ``PROVLEDGER_MAX_BLOCK_RANGE``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import FilterParams, LogReceipt

#: The default span of one request (the ``max_block_range`` setting's default).
MAX_LOG_RANGE: Final = 100_000


def topic(value: bytes | int) -> str:
    """A log topic as ``eth_getLogs`` filters take it: an event's topic0, or a ``uint256``
    indexed argument, as ``0x`` and 64 hex digits."""
    raw = value if isinstance(value, bytes) else value.to_bytes(32, "big")
    return "0x" + raw.hex()


def paged_logs(
    w3: Web3,
    address: ChecksumAddress,
    topics: Sequence[Any],
    from_block: int,
    to_block: int | None = None,
    max_range: int = MAX_LOG_RANGE,
) -> Iterator[LogReceipt]:
    """The logs of ``address`` matching ``topics`` in ``from_block..to_block`` (default: the
    node's head when called), in chain order, asked ``max_range`` blocks at a time."""
    last = int(w3.eth.block_number) if to_block is None else to_block
    for start in range(from_block, last + 1, max_range):
        yield from logs_in(w3, address, topics, start, min(start + max_range - 1, last))


def logs_in(
    w3: Web3, address: ChecksumAddress, topics: Sequence[Any], start: int, end: int
) -> list[LogReceipt]:
    """The logs of ``address`` matching ``topics`` in blocks ``start..end``: one request."""
    filters: FilterParams = {
        "address": address,
        "fromBlock": start,
        "toBlock": end,
        "topics": list(topics),
    }
    return list(w3.eth.get_logs(filters))


def windows_back(head: int, size: int) -> Iterator[tuple[int, int]]:
    """Block ranges of ``size`` blocks from ``head`` back to the genesis block, newest first
    (for searches that end as soon as they find what they look for)."""
    end = head
    while end >= 0:
        start = max(end - size + 1, 0)
        yield start, end
        end = start - 1
