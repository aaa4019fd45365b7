"""The block-hash tree a checkpoint commits to, and the commitment the contract stores.

A checkpoint of source blocks ``from_block..to_block`` is the root of an OpenZeppelin
StandardMerkleTree with one ``(uint256 number, bytes32 hash)`` leaf per block. A block's path
to that root proves the block hash was the source chain's when the checkpoint was taken; the
contract keeps ``keccak256(abi.encode(uint64 fromBlock, uint64 toBlock, bytes32 toBlockHash,
bytes32 root))`` per checkpoint (:func:`checkpoint_commitment`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

from eth_abi.abi import encode as abi_encode

from provledger.merkle import StandardMerkleTree, keccak256, leaf_hash

#: The ABI types of a block-hash leaf.
BLOCK_LEAF_TYPES: Final = ("uint256", "bytes32")


def block_leaf(number: int, block_hash: bytes) -> bytes:
    """The leaf of source block ``number`` with hash ``block_hash``."""
    return leaf_hash(BLOCK_LEAF_TYPES, (number, block_hash))


def checkpoint_commitment(
    from_block: int, to_block: int, to_block_hash: bytes, root: bytes
) -> bytes:
    """What ``Checkpoint.checkpointOf`` holds for a checkpoint with these fields."""
    encoded = abi_encode(
        ["uint64", "uint64", "bytes32", "bytes32"], [from_block, to_block, to_block_hash, root]
    )
    return keccak256(encoded)


@dataclass(frozen=True)
class BlockHashTree:
    """The tree of consecutive source blocks ``first..first + len(hashes) - 1``."""

    first: int
    hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.hashes:
            raise ValueError("a block-hash tree needs at least one block")

    @classmethod
    def of(cls, first: int, hashes: Sequence[bytes]) -> BlockHashTree:
        """The tree of ``hashes``, the hashes of blocks ``first``, ``first + 1``, ..."""
        return cls(first, tuple(bytes(block_hash) for block_hash in hashes))

    @property
    def last(self) -> int:
        """The number of the last block."""
        return self.first + len(self.hashes) - 1

    @cached_property
    def _tree(self) -> StandardMerkleTree:
        leaves = ((self.first + i, block_hash) for i, block_hash in enumerate(self.hashes))
        return StandardMerkleTree.of(leaves, BLOCK_LEAF_TYPES)

    @property
    def root(self) -> bytes:
        """The root the checkpoint records."""
        return self._tree.root

    def hash_of(self, number: int) -> bytes:
        """The hash of block ``number`` (one of the tree's)."""
        return self.hashes[self._index(number)]

    def path(self, number: int) -> tuple[bytes, ...]:
        """The path from block ``number``'s leaf to :attr:`root` (OpenZeppelin's
        ``MerkleProof.processProof`` takes it)."""
        return self._tree.proof(self._index(number))

    def _index(self, number: int) -> int:
        if not self.first <= number <= self.last:
            raise ValueError(f"block {number} is not in {self.first}..{self.last}")
        return number - self.first
