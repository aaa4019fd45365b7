"""Word-level ABI decoding used by the generated event decoders.

Decoding a log field is slicing a 32-byte word; these helpers do that without web3's per-log
machinery. Only what the contracts' events use is here: unsigned integers, addresses, booleans,
fixed bytes, and dynamic ``string`` / ``bytes`` in the data section.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from enum import IntEnum
from typing import TypeVar

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from provledger.errors import LogDecodeError

E = TypeVar("E", bound=IntEnum)

__all__ = [
    "LogDecodeError",
    "address",
    "boolean",
    "check_shape",
    "dynamic",
    "member",
    "text",
    "uint",
]


def check_shape(
    event: str, topics: Sequence[bytes], data: bytes, topic_count: int, head_size: int
) -> None:
    """Raise :class:`LogDecodeError` unless the log has ``topic_count`` topics and a full head."""
    if len(topics) != topic_count:
        raise LogDecodeError(event, f"expected {topic_count} topics, got {len(topics)}")
    if len(data) < head_size:
        raise LogDecodeError(event, f"expected at least {head_size} data bytes, got {len(data)}")


def member(kind: type[E], word: bytes, event: str) -> E:
    """The ``kind`` enum member of an integer word; :class:`LogDecodeError` if out of range."""
    value = int.from_bytes(word, "big")
    try:
        return kind(value)
    except ValueError:
        raise LogDecodeError(event, f"{value} is not a {kind.__name__}") from None


def uint(word: bytes) -> int:
    """An unsigned integer word."""
    return int.from_bytes(word, "big")


@functools.lru_cache(maxsize=65536)
def _checksum(raw: bytes) -> ChecksumAddress:
    return to_checksum_address(raw)


def address(word: bytes) -> ChecksumAddress:
    """An address word, checksummed (cached: addresses repeat across logs)."""
    return _checksum(bytes(word[12:32]))


def boolean(word: bytes) -> bool:
    """A boolean word."""
    return word[31] != 0


def dynamic(event: str, data: bytes, head_offset: int) -> bytes:
    """The ``bytes`` value whose offset is stored at ``head_offset`` in ``data``."""
    start = int.from_bytes(data[head_offset : head_offset + 32], "big")
    length = int.from_bytes(data[start : start + 32], "big")
    end = start + 32 + length
    if end > len(data):
        raise LogDecodeError(event, f"dynamic field at {head_offset} runs past the data")
    return data[start + 32 : end]


def text(event: str, data: bytes, head_offset: int) -> str:
    """The ``string`` value whose offset is stored at ``head_offset`` in ``data``."""
    try:
        return dynamic(event, data, head_offset).decode("utf-8")
    except UnicodeDecodeError as error:
        raise LogDecodeError(event, f"string at {head_offset} is not UTF-8") from error
