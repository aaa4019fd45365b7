"""Multiproofs: several leaves of one tree proved together, as OpenZeppelin builds and checks them.

:func:`multiproof` is ``getMultiProof`` of ``@openzeppelin/merkle-tree`` (1.0.8) and
:func:`process_multiproof` is ``MerkleProof.processMultiProof`` of OpenZeppelin Contracts (5.x):
the leaves go in the order the proof names them (their tree positions, deepest first), each flag
says whether the next hash pairs two computed nodes (``True``) or a computed node with the next
proof element (``False``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from provledger.errors import InputError, LeafIndexError
from provledger.merkle.keccak import hash_pair
from provledger.merkle.proofs import check_node
from provledger.merkle.tree import StandardMerkleTree

__all__ = ["InvalidMultiproofError", "Multiproof", "multiproof", "process_multiproof"]


class InvalidMultiproofError(InputError):
    """A multiproof whose parts do not fit together (OpenZeppelin's
    ``MerkleProofInvalidMultiproof``), or one asked for twice the same leaf."""

    template = "Invalid multiproof: {reason}"
    reason: str


@dataclass(frozen=True)
class Multiproof:
    """Leaf hashes, in proof order, with what proves them together."""

    leaves: tuple[bytes, ...]
    proof: tuple[bytes, ...]
    flags: tuple[bool, ...]
    value_indices: tuple[int, ...]
    """For each leaf, the index of its value in the tree's ``values``."""


def multiproof(tree: StandardMerkleTree, value_indices: Sequence[int]) -> Multiproof:
    """The multiproof of the values at ``value_indices`` (each at most once), leaves in the
    order OpenZeppelin's ``getMultiProof`` gives them.

    Raises:
        LeafIndexError: an index is not in ``0..leaf_count - 1``.
        InvalidMultiproofError: an index is given twice.
    """
    for index in value_indices:
        if not 0 <= index < tree.leaf_count:
            raise LeafIndexError(index, tree.leaf_count)
    if len(set(value_indices)) != len(value_indices):
        raise InvalidMultiproofError("a leaf is asked for twice")
    by_node = {tree.tree_indices[index]: index for index in value_indices}
    nodes = sorted(by_node, reverse=True)
    stack = deque(nodes)
    proof: list[bytes] = []
    flags: list[bool] = []
    while stack and stack[0] > 0:
        node = stack.popleft()
        sibling = node + 1 if node % 2 else node - 1
        if stack and stack[0] == sibling:
            flags.append(True)
            stack.popleft()
        else:
            flags.append(False)
            proof.append(tree.tree[sibling])
        stack.append((node - 1) // 2)
    if not nodes:
        proof.append(tree.root)
    return Multiproof(
        leaves=tuple(tree.tree[node] for node in nodes),
        proof=tuple(proof),
        flags=tuple(flags),
        value_indices=tuple(by_node[node] for node in nodes),
    )


def process_multiproof(
    leaves: Sequence[bytes], proof: Sequence[bytes], flags: Sequence[bool]
) -> bytes:
    """The root that the multiproof leads to, as ``MerkleProof.processMultiProof`` computes it.

    Raises:
        MalformedProofError: a leaf or proof element is not exactly 32 bytes.
        InvalidMultiproofError: the counts do not fit together (``leaves + proof`` must be
            ``flags + 1``, and every proof element must be used), as the contract reverts.
    """
    computed = deque(check_node(f"Merkle leaf {i}", leaf) for i, leaf in enumerate(leaves))
    siblings = deque(check_node(f"Merkle proof element {i}", node) for i, node in enumerate(proof))
    if len(leaves) + len(proof) != len(flags) + 1:
        wanted = len(leaves) + len(proof) - 1
        raise InvalidMultiproofError(
            f"{len(leaves)} leaves and {len(proof)} proof elements need {wanted} flags, "
            f"got {len(flags)}"
        )
    for position, flag in enumerate(flags):
        if not computed or (not flag and not siblings) or (flag and len(computed) < 2):
            raise InvalidMultiproofError(f"flag {position} has nothing left to hash")
        first = computed.popleft()
        computed.append(hash_pair(first, computed.popleft() if flag else siblings.popleft()))
    return computed.pop() if computed else siblings.popleft()
