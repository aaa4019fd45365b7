"""Leaf values of a StandardMerkleTree: their ABI types, normalisation and leaf hashes.

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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import ABITypeError, EncodingError, ParseError
from eth_abi.grammar import ABIType, BasicType, TupleType
from eth_abi.grammar import parse as parse_abi_type
from eth_utils.address import is_hex_address, to_checksum_address

from provledger.errors import InvalidLeafError, ProvledgerError, UnsupportedLeafTypeError
from provledger.merkle.keccak import new_keccak
from provledger.merkle.render import describe_value, render_value

__all__ = [
    "BATCH_LEAF_TYPES",
    "FOLDER_LEAF_TYPES",
    "LeafCodec",
    "LeafValue",
    "batch_leaf_hash",
    "codec_for",
    "folder_leaf_hash",
    "leaf_codec",
    "leaf_hash",
]

LeafValue = tuple[Any, ...]
"""One leaf's values, one per ABI type of the tree's leaf encoding, normalised."""

BATCH_LEAF_TYPES: Final[tuple[str, ...]] = ("bytes32",)
"""Leaf encoding of a batch anchor: one content hash."""

FOLDER_LEAF_TYPES: Final[tuple[str, ...]] = ("string", "bytes32")
"""Leaf encoding of one file of a dataset folder: relative POSIX path, SHA-256 of its bytes."""

_HEX_BYTES = re.compile(r"0[xX](?:[0-9a-fA-F]{2})*")
_DECIMAL = re.compile(r"-?[0-9]+")
_HEX_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+")
_STRING_BYTES32_HEAD: Final = (64).to_bytes(32, "big")


class _LeafValueError(ProvledgerError):
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
            raise _LeafValueError(
                f"{wanted} must be bytes or a 0x-hex string, got {describe_value(value)}"
            )
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
                f"{wanted} must be an int or a decimal or 0x-hex string, got {render_value(value)}"
            )
        if not low <= number <= high:
            raise _LeafValueError(f"{number} is out of range for {wanted}")
        return number

    return normalise


def _string_normaliser(value: object) -> object:
    if not isinstance(value, str):
        raise _LeafValueError(f"string must be str, got {describe_value(value)}")
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
    raise _LeafValueError(
        f"address must be 0x and 40 hex digits or 20 bytes, got {render_value(value)}"
    )


def _bool_normaliser(value: object) -> object:
    if not isinstance(value, bool):
        raise _LeafValueError(f"bool must be True or False, got {render_value(value)}")
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
                raise _LeafValueError(f"{type_str} must be a list, got {describe_value(value)}")
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
            raise _LeafValueError(f"{type_str} must be a list, got {describe_value(value)}")
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
class LeafCodec:
    """How to normalise and ABI-encode the leaves of one leaf encoding."""

    types: tuple[str, ...]
    normalise_one: _Normaliser
    encode: Callable[[LeafValue], bytes]

    def normalise(self, value: object) -> LeafValue:
        """Return ``value`` normalised; :class:`InvalidLeafError` names it if it does not fit."""
        try:
            return cast(LeafValue, self.normalise_one(value))
        except _LeafValueError as problem:
            raise InvalidLeafError(render_value(value), self.types, str(problem)) from None

    def leaf_hash(self, value: LeafValue) -> bytes:
        """Return the leaf hash of the normalised ``value``."""
        try:
            encoded = self.encode(value)
        except EncodingError as exc:
            raise InvalidLeafError(render_value(value), self.types, str(exc)) from exc
        return new_keccak(new_keccak(encoded).digest()).digest()


@functools.lru_cache(maxsize=64)
def leaf_codec(types: tuple[str, ...]) -> LeafCodec:
    """Return the codec of the leaf encoding ``types`` (cached).

    Raises:
        UnsupportedLeafTypeError: ``types`` is empty, or a type is unsupported or not canonical.
    """
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

    return LeafCodec(types, normalise, encode)


def codec_for(types: Sequence[str]) -> LeafCodec:
    """Return :func:`leaf_codec` of ``types`` as a caller gave them, once checked to be text."""
    if isinstance(types, str):
        # A bare "bytes32" would otherwise be read as the types ("b", "y", "t", ...).
        raise UnsupportedLeafTypeError(types, "pass the leaf types as a list, e.g. ['bytes32']")
    for type_str in types:
        if not isinstance(type_str, str):
            raise UnsupportedLeafTypeError(repr(type_str), "a type must be a string")
    return leaf_codec(tuple(types))


def leaf_hash(types: Sequence[str], values: Sequence[object]) -> bytes:
    """Return the StandardMerkleTree leaf hash ``keccak256(keccak256(abi.encode(types, values)))``.

    Raises:
        UnsupportedLeafTypeError: ``types`` is not a list of supported canonical ABI types.
        InvalidLeafError: ``values`` do not fit ``types``.
    """
    codec = codec_for(types)
    return codec.leaf_hash(codec.normalise(values))


def batch_leaf_hash(content_hash: bytes | str) -> bytes:
    """Return the leaf hash of one batch-anchored content hash (leaf types ``["bytes32"]``)."""
    return leaf_hash(BATCH_LEAF_TYPES, (content_hash,))


def folder_leaf_hash(path: str, sha256: bytes | str) -> bytes:
    """Return the leaf hash of one dataset-folder file (leaf types ``["string", "bytes32"]``).

    ``path`` is used exactly as given; :mod:`provledger.hashing` is what normalises folder paths.
    """
    return leaf_hash(FOLDER_LEAF_TYPES, (path, sha256))
