"""The source chain's blocks as checkpoints need them: consecutive headers, read in batches, and
the final head.

A checkpoint covers blocks ``first..last``: it needs each block's hash, and block ``first``'s
parent hash to link it to the checkpoint before. A JSON-RPC node is asked in batches of
:data:`BATCH_SIZE` ``eth_getBlockByNumber`` calls (one HTTP request each); a provider without
batches (eth-tester) one block at a time. The headers read must link (each block's parent is
the block before): a range that does not was read while the chain reorganised, and is refused.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from hexbytes import HexBytes
from web3 import Web3
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint

from provledger.errors import ServiceUnavailableError

#: Block headers asked for in one JSON-RPC batch.
BATCH_SIZE: Final = 256


@dataclass(frozen=True)
class BlockHeader:
    """What a checkpoint reads of a block: its number, hash and parent's hash."""

    number: int
    hash: bytes
    parent_hash: bytes


class MissingBlockError(ServiceUnavailableError):
    """The node has no block of that number (it is behind, or the number is ahead of its head)."""

    template = "the node of chain {chain_id} has no block {number}"
    chain_id: int
    number: int


class UnlinkedBlocksError(ServiceUnavailableError):
    """Consecutive blocks read from the node do not link: the chain changed while they were
    read (a reorganisation deeper than the blocks asked for were thought final)."""

    template = (
        "blocks {number} and {parent} of chain {chain_id} do not link (block {number}'s parent "
        "is 0x{parent_hash}, block {parent} is 0x{hash}): the chain changed while they were "
        "read; try again"
    )
    chain_id: int
    number: int
    parent: int
    parent_hash: str
    hash: str


def final_head(w3: Web3, finality_depth: int) -> int:
    """The newest block of ``w3``'s chain that counts as final: the head less
    ``finality_depth`` (-1 while the chain is shorter than that)."""
    return max(int(w3.eth.block_number) - finality_depth, -1)


def read_headers(w3: Web3, first: int, last: int, chain_id: int) -> list[BlockHeader]:
    """The headers of blocks ``first..last`` of ``w3``'s chain (``chain_id``), in order,
    checked to link.

    Raises:
        MissingBlockError: the node has no block of one of those numbers.
        UnlinkedBlocksError: two consecutive blocks do not link.
    """
    headers: list[BlockHeader] = []
    for start in range(first, last + 1, BATCH_SIZE):
        numbers = range(start, min(start + BATCH_SIZE, last + 1))
        headers.extend(_batch(w3, numbers, chain_id))
    for before, block in itertools.pairwise(headers):
        if block.parent_hash != before.hash:
            raise UnlinkedBlocksError(
                chain_id,
                block.number,
                before.number,
                block.parent_hash.hex(),
                before.hash.hex(),
            )
    return headers


def _batch(w3: Web3, numbers: Sequence[int], chain_id: int) -> list[BlockHeader]:
    """The headers of ``numbers``: one batch request to a JSON-RPC node, else one call each."""
    provider = w3.provider
    answers: list[Any] = []
    if isinstance(provider, JSONBaseProvider) and len(numbers) > 1:
        responses = provider.make_batch_request(
            [(RPCEndpoint("eth_getBlockByNumber"), [hex(number), False]) for number in numbers]
        )
        # A batch the node refused as a whole, or with an error in it, is asked again block by
        # block, so that the error raised is the one of the block at fault.
        if isinstance(responses, list) and all("error" not in item for item in responses):
            answers = [item.get("result") for item in responses]
    if len(answers) != len(numbers):
        answers = [_single(w3, number) for number in numbers]
    headers = []
    for number, answer in zip(numbers, answers, strict=True):
        if answer is None:
            raise MissingBlockError(chain_id, number)
        header = _header(answer)
        if header.number != number:  # a node that answers another block than asked for
            raise MissingBlockError(chain_id, number)
        headers.append(header)
    return headers


def _single(w3: Web3, number: int) -> Any:
    """Block ``number`` as web3 returns it, None if the node has none."""
    from web3.exceptions import BlockNotFound

    try:
        return w3.eth.get_block(number)
    except BlockNotFound:
        return None


def _header(block: Any) -> BlockHeader:
    """A header from a raw JSON-RPC block (hex strings) or web3's (ints and bytes)."""

    def number(value: Any) -> int:
        return int(value, 16) if isinstance(value, str) else int(value)

    return BlockHeader(
        number(block["number"]),
        bytes(HexBytes(block["hash"])),
        bytes(HexBytes(block["parentHash"])),
    )
