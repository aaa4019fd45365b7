"""Reading a contract's logs over a block range a node will serve: one ``eth_getLogs`` per
``max_range`` blocks (nodes cap the span of one request; ``PROVLEDGER_MAX_BLOCK_RANGE``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import LogReceipt

#: The default span of one request (the ``max_block_range`` setting's default).
MAX_LOG_RANGE: Final = 100_000


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
        yield from w3.eth.get_logs(
            {
                "address": address,
                "fromBlock": start,
                "toBlock": min(start + max_range - 1, last),
                "topics": list(topics),
            }
        )
