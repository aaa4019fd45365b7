"""Merkle trees and proofs, byte-compatible with OpenZeppelin's tooling.

A :class:`StandardMerkleTree` built here has the same root, the same proofs and the same
``dump()`` JSON as ``StandardMerkleTree`` from the npm package ``@openzeppelin/merkle-tree``
(1.0.8) built from the same values, and its proofs verify on-chain with OpenZeppelin
Contracts' ``MerkleProof.verify`` / ``processProof``:

* a leaf is ``keccak256(keccak256(abi.encode(types, values)))``; the double hash keeps a
  64-byte internal node from ever passing as a leaf (second-preimage protection);
* an internal node is ``Hashes.commutativeKeccak256(a, b)``: keccak256 of the two children
  concatenated smaller first, so a proof is a plain list of siblings with no left/right flags;
* the tree is an array of ``2n - 1`` nodes, root at index 0, the children of node ``i`` at
  ``2i + 1`` and ``2i + 2``; the leaf hashes, sorted ascending (stable for equal hashes), fill
  the array *from the end*, so the smallest leaf hash sits at the last index. The tree is
  complete, not perfect: with ``n`` not a power of two, leaves sit on two levels and proofs
  differ in length.

The parts: :mod:`~provledger.merkle.keccak` (the hashes), :mod:`~provledger.merkle.leaves`
(leaf types, value normalisation, leaf hashes; the batch and folder leaf kinds),
:mod:`~provledger.merkle.proofs` (``processProof`` / ``verify``) and
:mod:`~provledger.merkle.tree` (the tree, its proofs and dump). Import from here.
"""

from provledger.merkle.keccak import hash_pair, keccak256
from provledger.merkle.leaves import (
    BATCH_LEAF_TYPES,
    FOLDER_LEAF_TYPES,
    LeafValue,
    batch_leaf_hash,
    folder_leaf_hash,
    leaf_hash,
)
from provledger.merkle.proofs import process_proof, verify
from provledger.merkle.tree import DUMP_FORMAT, TREE_DUMP_MAX_BYTES, StandardMerkleTree

__all__ = [
    "BATCH_LEAF_TYPES",
    "DUMP_FORMAT",
    "FOLDER_LEAF_TYPES",
    "TREE_DUMP_MAX_BYTES",
    "LeafValue",
    "StandardMerkleTree",
    "batch_leaf_hash",
    "folder_leaf_hash",
    "hash_pair",
    "keccak256",
    "leaf_hash",
    "process_proof",
    "verify",
]
