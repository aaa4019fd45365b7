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

The two leaf kinds the project uses have helpers: a batch anchor leaf is one ``bytes32``
content hash (:data:`BATCH_LEAF_TYPES`, :func:`batch_leaf_hash`), a dataset-folder leaf is a
``(string relativePath, bytes32 sha256)`` pair (:data:`FOLDER_LEAF_TYPES`,
:func:`folder_leaf_hash`). Both are encoded without eth-abi (the encoding is a few byte
concatenations), every other leaf encoding goes through ``eth_abi.encode``.

Leaf values are normalised on the way in: ``bytesN``/``bytes`` take :class:`bytes` or a
``"0x"`` hex string and are stored as :class:`bytes` (``bytesN`` must be exactly N bytes; the
JS library would right-pad a shorter value), ``uintN``/``intN`` take an :class:`int` or a
decimal or ``"0x"`` hex string and are stored as :class:`int`, ``address`` is stored
checksummed, ``string`` and ``bool`` as given, arrays and tuples as tuples.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import ABITypeError, EncodingError, ParseError
from eth_abi.grammar import ABIType, BasicType, TupleType
from eth_abi.grammar import parse as parse_abi_type
from eth_utils.address import is_hex_address, to_checksum_address

from provledger.errors import (
    EmptyMerkleTreeError,
    InvalidLeafError,
    LeafIndexError,
    LeafNotInTreeError,
    MalformedProofError,
    MalformedTreeDumpError,
    UnsupportedLeafTypeError,
)
from provledger.jsondoc import JsonDocumentError, parse_json

__all__ = [
    "BATCH_LEAF_TYPES",
    "DUMP_FORMAT",
    "FOLDER_LEAF_TYPES",
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

LeafValue = tuple[Any, ...]
"""One leaf's values, one per ABI type of the tree's leaf encoding, normalised."""

BATCH_LEAF_TYPES: Final[tuple[str, ...]] = ("bytes32",)
"""Leaf encoding of a batch anchor: one content hash."""

FOLDER_LEAF_TYPES: Final[tuple[str, ...]] = ("string", "bytes32")
"""Leaf encoding of one file of a dataset folder: relative POSIX path, SHA-256 of its bytes."""

DUMP_FORMAT: Final = "standard-v1"
#: The largest tree dump :meth:`StandardMerkleTree.loads` reads.
TREE_DUMP_MAX_BYTES: Final = 1 << 30
"""The ``format`` field of the JS library's ``StandardMerkleTree.dump()``."""

_NODE_SIZE: Final = 32
_KECCAK_EMPTY: Final = bytes.fromhex(
    "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
)
_HEX_BYTES = re.compile(r"0[xX](?:[0-9a-fA-F]{2})*")
_HEX_NODE = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64}")
_DECIMAL = re.compile(r"-?[0-9]+")
_HEX_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+")
_STRING_BYTES32_HEAD: Final = (64).to_bytes(32, "big")


# --- keccak256 ---------------------------------------------------------------------------


class _KeccakState(Protocol):
    def digest(self) -> bytes: ...


def _select_keccak() -> Callable[[bytes], _KeccakState]:
    # safe-pysha3 (pinned, pulled in by eth-tester[py-evm]) hashes 32-64 byte inputs about
    # seven times faster than pycryptodome, which eth_hash.auto prefers when both are
    # installed; a 100k-leaf tree is ~300k hashes, so this is most of the build time.
    # A known answer keeps a NIST SHA3-256 impostor named `sha3` from being used.
    try:
        new = cast(Callable[[bytes], _KeccakState], importlib.import_module("sha3").keccak_256)
        if new(b"").digest() == _KECCAK_EMPTY:
            return new
    except (ImportError, AttributeError):
        pass
    from Crypto.Hash import keccak

    def pycryptodome_keccak(data: bytes) -> _KeccakState:
        return keccak.new(data=data, digest_bits=256)

    return pycryptodome_keccak


_new_keccak: Final = _select_keccak()


def _keccak(data: bytes) -> bytes:
    return _new_keccak(data).digest()


def keccak256(data: bytes) -> bytes:
    """Return the Ethereum keccak256 digest (32 bytes) of ``data``."""
    return _keccak(data)


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Hash two nodes as ``Hashes.commutativeKeccak256``: keccak256 of the smaller one first."""
    return _keccak(a + b if a < b else b + a)


# --- leaf values and their ABI encoding ----------------------------------------------------


class _LeafValueError(Exception):
    """Raised by a normaliser; the caller names the whole leaf in the public error."""


_Normaliser = Callable[[object], object]


def _is_list_like(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(
        value, str | bytes | bytearray | memoryview
    )


def _bytes_normaliser(size: int | None) -> _Normaliser:
    wanted = "bytes" if size is None else f"bytes{size}"

    def normalise(value: object) -> object:
        if type(value) is bytes and (size is None or len(value) == size):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
        elif isinstance(value, str):
            if not _HEX_BYTES.fullmatch(value):
                raise _LeafValueError(
                    f"{wanted} text must be '0x' followed by an even number of hex digits, "
                    f"got {value!r}"
                )
            raw = bytes.fromhex(value[2:])
        else:
            raise _LeafValueError(f"{wanted} must be bytes or a 0x-hex string, got {_kind(value)}")
        if size is not None and len(raw) != size:
            raise _LeafValueError(f"{wanted} must be exactly {size} bytes, got {len(raw)}")
        return raw

    return normalise


def _int_normaliser(signed: bool, bits: int) -> _Normaliser:
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    wanted = f"{'int' if signed else 'uint'}{bits}"

    def normalise(value: object) -> object:
        if isinstance(value, bool):
            raise _LeafValueError(f"{wanted} must be an integer, got a bool")
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and _DECIMAL.fullmatch(value):
            number = int(value, 10)
        elif isinstance(value, str) and _HEX_NUMBER.fullmatch(value):
            number = int(value, 16)
        else:
            raise _LeafValueError(
                f"{wanted} must be an int or a decimal or 0x-hex string, got {_render(value)}"
            )
        if not low <= number <= high:
            raise _LeafValueError(f"{number} is out of range for {wanted}")
        return number

    return normalise


def _string_normaliser(value: object) -> object:
    if not isinstance(value, str):
        raise _LeafValueError(f"string must be str, got {_kind(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _LeafValueError(f"string is not encodable as UTF-8 ({exc.reason})") from None
    return value


def _address_normaliser(value: object) -> object:
    if isinstance(value, bytes | bytearray) and len(value) == 20:
        return to_checksum_address(bytes(value))
    if isinstance(value, str) and value[:2] in ("0x", "0X") and is_hex_address(value[2:]):
        return to_checksum_address("0x" + value[2:])
    raise _LeafValueError(f"address must be 0x and 40 hex digits or 20 bytes, got {_render(value)}")


def _bool_normaliser(value: object) -> object:
    if not isinstance(value, bool):
        raise _LeafValueError(f"bool must be True or False, got {_render(value)}")
    return value


def _type_str(abi_type: ABIType) -> str:
    return str(abi_type.to_type_str())  # type: ignore[no-untyped-call]  # eth-abi's grammar


def _make_normaliser(abi_type: ABIType) -> _Normaliser:
    type_str = _type_str(abi_type)
    if abi_type.is_array:
        item = _make_normaliser(abi_type.item_type)
        dimension = abi_type.arrlist[-1]
        length = dimension[0] if dimension else None

        def normalise_array(value: object) -> object:
            if not _is_list_like(value):
                raise _LeafValueError(f"{type_str} must be a list, got {_kind(value)}")
            items = cast(Sequence[object], value)
            if length is not None and len(items) != length:
                raise _LeafValueError(f"{type_str} needs {length} items, got {len(items)}")
            return tuple(item(element) for element in items)

        return normalise_array
    if isinstance(abi_type, TupleType):
        components = tuple(_make_normaliser(component) for component in abi_type.components)
        return _tuple_normaliser(type_str, components)
    assert isinstance(abi_type, BasicType)
    base, sub = abi_type.base, abi_type.sub
    if base == "bytes":
        return _bytes_normaliser(sub if isinstance(sub, int) else None)
    if base in ("uint", "int") and isinstance(sub, int):
        return _int_normaliser(base == "int", sub)
    if base == "string":
        return _string_normaliser
    if base == "address":
        return _address_normaliser
    if base == "bool":
        return _bool_normaliser
    raise UnsupportedLeafTypeError(
        type_str,
        "supported types are bytes, bytesN, string, address, uintN, intN, bool "
        "and arrays and tuples of them",
    )


def _tuple_normaliser(type_str: str, components: tuple[_Normaliser, ...]) -> _Normaliser:
    size = len(components)
    first = components[0] if components else None

    def normalise_tuple(value: object) -> object:
        # The exact-type checks are a fast path: most leaves arrive as tuples or JSON lists.
        if type(value) is not tuple and type(value) is not list and not _is_list_like(value):
            raise _LeafValueError(f"{type_str} must be a list, got {_kind(value)}")
        items = cast(Sequence[object], value)
        if len(items) != size:
            raise _LeafValueError(f"{type_str} needs {size} items, got {len(items)}")
        if size == 1 and first is not None:
            return (first(items[0]),)
        return tuple(component(item) for component, item in zip(components, items, strict=True))

    return normalise_tuple


def _encode_string_bytes32(value: LeafValue) -> bytes:
    # abi.encode(string, bytes32): head = (offset 0x40, the bytes32), tail = (length, the
    # UTF-8 bytes right-padded to a multiple of 32).
    text = cast(str, value[0]).encode("utf-8")
    return b"".join(
        (
            _STRING_BYTES32_HEAD,
            cast(bytes, value[1]),
            len(text).to_bytes(32, "big"),
            text,
            bytes(-len(text) % 32),
        )
    )


def _encode_bytes32(value: LeafValue) -> bytes:
    # abi.encode(bytes32) is the 32 bytes themselves.
    return cast(bytes, value[0])


@dataclass(frozen=True)
class _LeafCodec:
    """How to normalise and ABI-encode the leaves of one leaf encoding."""

    types: tuple[str, ...]
    normalise_one: _Normaliser
    encode: Callable[[LeafValue], bytes]

    def normalise(self, value: object) -> LeafValue:
        try:
            return cast(LeafValue, self.normalise_one(value))
        except _LeafValueError as problem:
            raise InvalidLeafError(_render(value), self.types, str(problem)) from None

    def leaf_hash(self, value: LeafValue) -> bytes:
        try:
            encoded = self.encode(value)
        except EncodingError as exc:
            raise InvalidLeafError(_render(value), self.types, str(exc)) from exc
        return _new_keccak(_new_keccak(encoded).digest()).digest()


@functools.lru_cache(maxsize=64)
def _leaf_codec(types: tuple[str, ...]) -> _LeafCodec:
    if not types:
        raise UnsupportedLeafTypeError("()", "a leaf encoding needs at least one type")
    parsed: list[ABIType] = []
    for type_str in types:
        try:
            abi_type = parse_abi_type(type_str)
            abi_type.validate()
        except (ParseError, ABITypeError) as exc:
            raise UnsupportedLeafTypeError(type_str, str(exc)) from exc
        if _type_str(abi_type) != type_str:
            raise UnsupportedLeafTypeError(
                type_str, f"write it canonically, as {_type_str(abi_type)!r}"
            )
        parsed.append(abi_type)
    normalise = _tuple_normaliser(
        f"({','.join(types)})", tuple(_make_normaliser(t) for t in parsed)
    )
    encode: Callable[[LeafValue], bytes]
    if types == BATCH_LEAF_TYPES:
        encode = _encode_bytes32
    elif types == FOLDER_LEAF_TYPES:
        encode = _encode_string_bytes32
    else:

        def encode(value: LeafValue) -> bytes:
            return abi_encode(types, value)

    return _LeafCodec(types, normalise, encode)


def _codec_for(types: Sequence[str]) -> _LeafCodec:
    if isinstance(types, str):
        # A bare "bytes32" would otherwise be read as the types ("b", "y", "t", ...).
        raise UnsupportedLeafTypeError(types, "pass the leaf types as a list, e.g. ['bytes32']")
    for type_str in types:
        if not isinstance(type_str, str):
            raise UnsupportedLeafTypeError(repr(type_str), "a type must be a string")
    return _leaf_codec(tuple(types))


def leaf_hash(types: Sequence[str], values: Sequence[object]) -> bytes:
    """Return the StandardMerkleTree leaf hash ``keccak256(keccak256(abi.encode(types, values)))``.

    Raises:
        UnsupportedLeafTypeError: ``types`` is not a list of supported canonical ABI types.
        InvalidLeafError: ``values`` do not fit ``types``.
    """
    codec = _codec_for(types)
    return codec.leaf_hash(codec.normalise(values))


def batch_leaf_hash(content_hash: bytes | str) -> bytes:
    """Return the leaf hash of one batch-anchored content hash (leaf types ``["bytes32"]``)."""
    return leaf_hash(BATCH_LEAF_TYPES, (content_hash,))


def folder_leaf_hash(path: str, sha256: bytes | str) -> bytes:
    """Return the leaf hash of one dataset-folder file (leaf types ``["string", "bytes32"]``).

    ``path`` is used exactly as given; :mod:`provledger.hashing` is what normalises folder paths.
    """
    return leaf_hash(FOLDER_LEAF_TYPES, (path, sha256))


# --- proofs --------------------------------------------------------------------------------


def _check_node(what: str, node: object) -> bytes:
    if isinstance(node, bytes | bytearray | memoryview):
        raw = bytes(node)
        if len(raw) == _NODE_SIZE:
            return raw
        raise MalformedProofError(what, f"{len(raw)} bytes (0x{raw.hex()})")
    raise MalformedProofError(what, _kind(node))


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Return the root that ``proof`` leads to from the leaf hash ``leaf``.

    The same computation as OpenZeppelin ``MerkleProof.processProof``: fold the proof with
    :func:`hash_pair`, starting from ``leaf``. ``leaf`` is a leaf *hash* (see
    :func:`leaf_hash`), not a value.

    Raises:
        MalformedProofError: the leaf or a proof element is not exactly 32 bytes.
    """
    computed = _check_node("Merkle leaf", leaf)
    for position, sibling in enumerate(proof):
        node = _check_node(f"Merkle proof element {position}", sibling)
        computed = _keccak(computed + node if computed < node else node + computed)
    return computed


def verify(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """Return whether ``proof`` proves the leaf hash ``leaf`` under ``root``.

    The same answer as OpenZeppelin ``MerkleProof.verify(proof, root, leaf)`` on-chain.

    Raises:
        MalformedProofError: the root, the leaf or a proof element is not exactly 32 bytes.
    """
    return process_proof(leaf, proof) == _check_node("Merkle root", root)


# --- the tree ------------------------------------------------------------------------------


def _build_tree(leaves: Sequence[bytes]) -> list[bytes]:
    count = len(leaves)
    tree: list[bytes] = [b""] * (count - 1)
    tree.extend(reversed(leaves))
    new = _new_keccak
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
        codec = _codec_for(types)
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
    def _codec(self) -> _LeafCodec:
        return _leaf_codec(self.leaf_encoding)

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
            raise LeafNotInTreeError(_render(normalised), "0x" + self.root.hex())
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
                {"value": _to_json(value), "treeIndex": tree_index}
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
            raise MalformedTreeDumpError(f"expected a JSON object, got {_kind(data)}")
        if data.get("format") != DUMP_FORMAT:
            raise MalformedTreeDumpError(
                f"unknown format {_render(data.get('format'))}, expected {DUMP_FORMAT!r}"
            )
        codec = _dump_codec(data.get("leafEncoding"))
        tree = _dump_tree(data.get("tree"))
        raw_values = data.get("values")
        if not isinstance(raw_values, list):
            raise MalformedTreeDumpError(f"'values' must be a list, got {_kind(raw_values)}")
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
                    f"values[{i}].value {_render(value)} does not hash to "
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


def _dump_codec(leaf_encoding: object) -> _LeafCodec:
    if not isinstance(leaf_encoding, list) or not all(isinstance(t, str) for t in leaf_encoding):
        raise MalformedTreeDumpError(
            f"'leafEncoding' must be a list of ABI type strings, got {_render(leaf_encoding)}"
        )
    try:
        return _leaf_codec(tuple(leaf_encoding))
    except UnsupportedLeafTypeError as exc:
        raise MalformedTreeDumpError(f"'leafEncoding': {exc}") from exc


def _dump_tree(raw_tree: object) -> list[bytes]:
    if not isinstance(raw_tree, list):
        raise MalformedTreeDumpError(f"'tree' must be a list of hex strings, got {_kind(raw_tree)}")
    tree: list[bytes] = []
    for i, node in enumerate(raw_tree):
        if not isinstance(node, str) or not _HEX_NODE.fullmatch(node):
            raise MalformedTreeDumpError(
                f"tree[{i}] must be a 32-byte hex string, got {_render(node)}"
            )
        tree.append(bytes.fromhex(node[-64:]))
    return tree


def _dump_value(
    codec: _LeafCodec, i: int, entry: object, count: int, taken: set[int]
) -> tuple[LeafValue, int]:
    if not isinstance(entry, Mapping) or "value" not in entry or "treeIndex" not in entry:
        raise MalformedTreeDumpError(
            f"values[{i}] must be an object with 'value' and 'treeIndex', got {_render(entry)}"
        )
    tree_index = entry["treeIndex"]
    if isinstance(tree_index, bool) or not isinstance(tree_index, int):
        raise MalformedTreeDumpError(
            f"values[{i}].treeIndex must be an integer, got {_render(tree_index)}"
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


# --- rendering values for JSON and messages ------------------------------------------------


def _to_json(value: object) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _render(value: object, limit: int = 300) -> str:
    """Show a value the way it would appear in JSON, shortened for an error message."""

    def jsonish(item: object) -> object:
        if isinstance(item, bytes | bytearray | memoryview):
            return "0x" + bytes(item).hex()
        if isinstance(item, tuple | list):
            return [jsonish(element) for element in item]
        if isinstance(item, Mapping):
            return {str(key): jsonish(element) for key, element in item.items()}
        if item is None or isinstance(item, str | int | float | bool):
            return item
        return repr(item)

    try:
        text = json.dumps(jsonish(value), ensure_ascii=False)
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: show them escaped
        text = json.dumps(jsonish(value))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: object) -> str:
    return f"{type(value).__name__} {_render(value, 80)}"
