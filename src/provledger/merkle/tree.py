"""The StandardMerkleTree itself: its layout, proofs, and its ``"standard-v1"`` dump."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from provledger.errors import (
    EmptyMerkleTreeError,
    InvalidLeafError,
    LeafIndexError,
    LeafNotInTreeError,
    MalformedTreeDumpError,
    UnsupportedLeafTypeError,
)
from provledger.jsondoc import JsonDocumentError, parse_json
from provledger.merkle.keccak import hash_pair, new_keccak
from provledger.merkle.leaves import (
    BATCH_LEAF_TYPES,
    FOLDER_LEAF_TYPES,
    LeafCodec,
    LeafValue,
    codec_for,
    leaf_codec,
)
from provledger.merkle.render import describe_value, render_value, to_json

__all__ = ["DUMP_FORMAT", "TREE_DUMP_MAX_BYTES", "StandardMerkleTree"]

DUMP_FORMAT: Final = "standard-v1"
"""The ``format`` field of the JS library's ``StandardMerkleTree.dump()``."""

TREE_DUMP_MAX_BYTES: Final = 1 << 30
"""The largest tree dump :meth:`StandardMerkleTree.loads` reads."""

_HEX_NODE = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64}")


def _build_tree(leaves: Sequence[bytes]) -> list[bytes]:
    count = len(leaves)
    tree: list[bytes] = [b""] * (count - 1)
    tree.extend(reversed(leaves))
    new = new_keccak
    for i in range(count - 2, -1, -1):
        left = tree[2 * i + 1]
        right = tree[2 * i + 2]
        tree[i] = new(left + right if left < right else right + left).digest()
    return tree


@dataclass(frozen=True)
class StandardMerkleTree:
    """A Merkle tree laid out, hashed and dumped exactly like OpenZeppelin's StandardMerkleTree.

    Build one with :meth:`of` (or :meth:`batch` / :meth:`folder`) or :meth:`load`; the
    constructor trusts its arguments beyond a shape check.

    Attributes:
        leaf_encoding: the ABI types of every leaf, e.g. ``("string", "bytes32")``.
        tree: every node, root first, in the JS library's array layout.
        values: the leaves' values, normalised, in the order they were given.
        tree_indices: for each value, the index of its leaf hash in ``tree``.
    """

    leaf_encoding: tuple[str, ...]
    tree: tuple[bytes, ...]
    values: tuple[LeafValue, ...]
    tree_indices: tuple[int, ...]

    def __post_init__(self) -> None:
        count = len(self.values)
        if count == 0:
            raise EmptyMerkleTreeError()
        if len(self.tree) != 2 * count - 1 or len(self.tree_indices) != count:
            raise ValueError(
                f"a tree of {count} values needs {2 * count - 1} nodes and {count} tree "
                f"indices, got {len(self.tree)} and {len(self.tree_indices)}"
            )

    @classmethod
    def of(
        cls,
        values: Iterable[Sequence[object]],
        types: Sequence[str],
        *,
        sort_leaves: bool = True,
    ) -> StandardMerkleTree:
        """Build the tree of ``values``, each a sequence with one value per ABI type in ``types``.

        Duplicate values are kept (each is a leaf), as the JS library does.
        ``sort_leaves=False`` mirrors the JS option of the same name; sorted (the default) is
        what the JS library does unless told otherwise.

        Raises:
            EmptyMerkleTreeError: ``values`` is empty.
            UnsupportedLeafTypeError: ``types`` is not a list of supported canonical ABI types.
            InvalidLeafError: a value does not fit ``types``; the message names it.
        """
        codec = codec_for(types)
        normalised = tuple(codec.normalise(value) for value in values)
        count = len(normalised)
        if count == 0:
            raise EmptyMerkleTreeError()
        hashes = [codec.leaf_hash(value) for value in normalised]
        order: Sequence[int] = (
            sorted(range(count), key=hashes.__getitem__) if sort_leaves else range(count)
        )
        tree = _build_tree([hashes[i] for i in order])
        last = len(tree) - 1
        tree_indices = [0] * count
        for position, value_index in enumerate(order):
            tree_indices[value_index] = last - position
        return cls(codec.types, tuple(tree), normalised, tuple(tree_indices))

    @classmethod
    def batch(cls, content_hashes: Iterable[bytes | str]) -> StandardMerkleTree:
        """Build a batch anchor tree: one ``bytes32`` leaf per content hash."""
        return cls.of(((content_hash,) for content_hash in content_hashes), BATCH_LEAF_TYPES)

    @classmethod
    def folder(cls, files: Iterable[tuple[str, bytes | str]]) -> StandardMerkleTree:
        """Build a dataset-folder tree: one ``(string path, bytes32 sha256)`` leaf per file."""
        return cls.of(files, FOLDER_LEAF_TYPES)

    @property
    def root(self) -> bytes:
        """The root hash (32 bytes), what a contract stores and ``MerkleProof.verify`` takes."""
        return self.tree[0]

    @property
    def leaf_count(self) -> int:
        """The number of leaves (values, duplicates included)."""
        return len(self.values)

    @functools.cached_property
    def _codec(self) -> LeafCodec:
        return leaf_codec(self.leaf_encoding)

    @functools.cached_property
    def _index_by_hash(self) -> dict[bytes, int]:
        # Like the JS library's hashLookup: with duplicate values the last one wins.
        return {self.tree[tree_index]: i for i, tree_index in enumerate(self.tree_indices)}

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise LeafIndexError(index, self.leaf_count)
        if not 0 <= index < self.leaf_count:
            raise LeafIndexError(index, self.leaf_count)
        return index

    def at(self, index: int) -> LeafValue:
        """Return the value at ``index`` (the order values were given in)."""
        return self.values[self._check_index(index)]

    def leaf_hash_at(self, index: int) -> bytes:
        """Return the leaf hash of the value at ``index``: what :func:`verify` takes as leaf."""
        return self.tree[self.tree_indices[self._check_index(index)]]

    def index_of(self, value: Sequence[object]) -> int:
        """Return the index of ``value``; with duplicates, the last one (as the JS library).

        Raises:
            InvalidLeafError: ``value`` does not fit the leaf encoding.
            LeafNotInTreeError: ``value`` is not a leaf of this tree.
        """
        normalised = self._codec.normalise(value)
        index = self._index_by_hash.get(self._codec.leaf_hash(normalised))
        if index is None:
            raise LeafNotInTreeError(render_value(normalised), "0x" + self.root.hex())
        return index

    def proof(self, index: int) -> tuple[bytes, ...]:
        """Return the proof of the value at ``index``: the sibling hashes from leaf to root.

        Raises:
            LeafIndexError: ``index`` is not in ``0..leaf_count - 1``.
        """
        node = self.tree_indices[self._check_index(index)]
        tree = self.tree
        siblings: list[bytes] = []
        while node > 0:
            siblings.append(tree[node + 1] if node % 2 else tree[node - 1])
            node = (node - 1) // 2
        return tuple(siblings)

    def proof_for(self, value: Sequence[object]) -> tuple[bytes, ...]:
        """Return the proof of ``value`` (see :meth:`index_of` for duplicates and errors)."""
        return self.proof(self.index_of(value))

    def dump(self) -> dict[str, Any]:
        """Return the tree as the JS library's ``dump()`` object (``"standard-v1"``).

        ``json.dumps`` of it loads with ``StandardMerkleTree.load`` in JavaScript. Bytes are
        written ``0x``-hex, integers as decimal strings (JSON numbers lose precision in JS).
        """
        return {
            "format": DUMP_FORMAT,
            "leafEncoding": list(self.leaf_encoding),
            "tree": ["0x" + node.hex() for node in self.tree],
            "values": [
                {"value": to_json(value), "treeIndex": tree_index}
                for value, tree_index in zip(self.values, self.tree_indices, strict=True)
            ],
        }

    def dumps(self) -> str:
        """Return :meth:`dump` as JSON text."""
        return json.dumps(self.dump(), ensure_ascii=False)

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> StandardMerkleTree:
        """Load and fully validate a ``"standard-v1"`` dump, from this library or the JS one.

        Checks everything the JS ``load`` checks (format, every value's leaf hash, every
        internal node) and, more strictly, that the tree has exactly one leaf per value and
        that tree indices are distinct leaf positions.

        Raises:
            MalformedTreeDumpError: anything is missing, mistyped or inconsistent; the message
                names the offending field.
        """
        if not isinstance(data, Mapping):
            raise MalformedTreeDumpError(f"expected a JSON object, got {describe_value(data)}")
        if data.get("format") != DUMP_FORMAT:
            raise MalformedTreeDumpError(
                f"unknown format {render_value(data.get('format'))}, expected {DUMP_FORMAT!r}"
            )
        codec = _dump_codec(data.get("leafEncoding"))
        tree = _dump_tree(data.get("tree"))
        raw_values = data.get("values")
        if not isinstance(raw_values, list):
            raise MalformedTreeDumpError(
                f"'values' must be a list, got {describe_value(raw_values)}"
            )
        count = len(raw_values)
        if count == 0:
            raise MalformedTreeDumpError("'values' is empty; a tree has at least one leaf")
        if len(tree) != 2 * count - 1:
            raise MalformedTreeDumpError(
                f"{count} values need a tree of {2 * count - 1} nodes, got {len(tree)}"
            )
        values: list[LeafValue] = []
        tree_indices: list[int] = []
        taken: set[int] = set()
        for i, entry in enumerate(raw_values):
            value, tree_index = _dump_value(codec, i, entry, count, taken)
            if codec.leaf_hash(value) != tree[tree_index]:
                raise MalformedTreeDumpError(
                    f"values[{i}].value {render_value(value)} does not hash to "
                    f"tree[{tree_index}] 0x{tree[tree_index].hex()}"
                )
            taken.add(tree_index)
            values.append(value)
            tree_indices.append(tree_index)
        for i in range(count - 1):
            if tree[i] != hash_pair(tree[2 * i + 1], tree[2 * i + 2]):
                raise MalformedTreeDumpError(
                    f"tree[{i}] 0x{tree[i].hex()} is not the hash of its children "
                    f"tree[{2 * i + 1}] and tree[{2 * i + 2}]"
                )
        return cls(codec.types, tuple(tree), tuple(values), tuple(tree_indices))

    @classmethod
    def loads(cls, text: str | bytes) -> StandardMerkleTree:
        """Load a tree from :meth:`dump` JSON text (see :meth:`load`)."""
        try:
            data = parse_json(text, what="tree dump", max_bytes=TREE_DUMP_MAX_BYTES)
        except JsonDocumentError as exc:
            raise MalformedTreeDumpError(exc.reason) from None
        return cls.load(data)


def _dump_codec(leaf_encoding: object) -> LeafCodec:
    if not isinstance(leaf_encoding, list) or not all(isinstance(t, str) for t in leaf_encoding):
        raise MalformedTreeDumpError(
            f"'leafEncoding' must be a list of ABI type strings, got {render_value(leaf_encoding)}"
        )
    try:
        return leaf_codec(tuple(leaf_encoding))
    except UnsupportedLeafTypeError as exc:
        raise MalformedTreeDumpError(f"'leafEncoding': {exc}") from exc


def _dump_tree(raw_tree: object) -> list[bytes]:
    if not isinstance(raw_tree, list):
        raise MalformedTreeDumpError(
            f"'tree' must be a list of hex strings, got {describe_value(raw_tree)}"
        )
    tree: list[bytes] = []
    for i, node in enumerate(raw_tree):
        if not isinstance(node, str) or not _HEX_NODE.fullmatch(node):
            raise MalformedTreeDumpError(
                f"tree[{i}] must be a 32-byte hex string, got {render_value(node)}"
            )
        tree.append(bytes.fromhex(node[-64:]))
    return tree


def _dump_value(
    codec: LeafCodec, i: int, entry: object, count: int, taken: set[int]
) -> tuple[LeafValue, int]:
    if not isinstance(entry, Mapping) or "value" not in entry or "treeIndex" not in entry:
        raise MalformedTreeDumpError(
            f"values[{i}] must be an object with 'value' and 'treeIndex', got {render_value(entry)}"
        )
    tree_index = entry["treeIndex"]
    if isinstance(tree_index, bool) or not isinstance(tree_index, int):
        raise MalformedTreeDumpError(
            f"values[{i}].treeIndex must be an integer, got {render_value(tree_index)}"
        )
    if not count - 1 <= tree_index <= 2 * count - 2:
        raise MalformedTreeDumpError(
            f"values[{i}].treeIndex {tree_index} is not a leaf position "
            f"({count - 1}..{2 * count - 2})"
        )
    if tree_index in taken:
        raise MalformedTreeDumpError(
            f"values[{i}].treeIndex {tree_index} is used by an earlier value"
        )
    try:
        value = codec.normalise(entry["value"])
    except InvalidLeafError as exc:
        raise MalformedTreeDumpError(f"values[{i}].value: {exc}") from exc
    return value, tree_index
