"""Checking Merkle proofs the way OpenZeppelin's ``MerkleProof`` does on-chain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from provledger.errors import MalformedProofError
from provledger.merkle.keccak import hash_pair
from provledger.merkle.render import describe_value

__all__ = ["check_node", "process_proof", "verify"]

_NODE_SIZE: Final = 32


def check_node(what: str, node: object) -> bytes:
    """``node`` as 32 bytes; else :class:`MalformedProofError` naming it as ``what``."""
    if isinstance(node, bytes | bytearray | memoryview):
        raw = bytes(node)
        if len(raw) == _NODE_SIZE:
            return raw
        raise MalformedProofError(what, f"{len(raw)} bytes (0x{raw.hex()})")
    raise MalformedProofError(what, describe_value(node))


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Return the root that ``proof`` leads to from the leaf hash ``leaf``.

    The same computation as OpenZeppelin ``MerkleProof.processProof``: fold the proof with
    :func:`~provledger.merkle.hash_pair`, starting from ``leaf``. ``leaf`` is a leaf *hash*
    (see :func:`~provledger.merkle.leaf_hash`), not a value.

    Raises:
        MalformedProofError: the leaf or a proof element is not exactly 32 bytes.
    """
    computed = check_node("Merkle leaf", leaf)
    for position, sibling in enumerate(proof):
        computed = hash_pair(computed, check_node(f"Merkle proof element {position}", sibling))
    return computed


def verify(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """Return whether ``proof`` proves the leaf hash ``leaf`` under ``root``.

    The same answer as OpenZeppelin ``MerkleProof.verify(proof, root, leaf)`` on-chain.

    Raises:
        MalformedProofError: the root, the leaf or a proof element is not exactly 32 bytes.
    """
    return process_proof(leaf, proof) == check_node("Merkle root", root)
