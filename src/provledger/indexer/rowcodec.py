"""Text-level helpers of the generated row decoders (:mod:`provledger.indexer.rows`).

A JSON-RPC log's topics and data are ``0x``-prefixed hex strings; a 32-byte word is 64 hex
digits. Decoding a field is slicing that text.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from provledger.errors import LogDecodeError


def check_shape(event: str, topics: Sequence[str], data: str, count: int, size: int) -> None:
    """Raise :class:`LogDecodeError` unless there are ``count`` topics and ``size`` data chars."""
    if len(topics) != count:
        raise LogDecodeError(event, f"expected {count} topics, got {len(topics)}")
    if len(data) < size:
        raise LogDecodeError(
            event,
            f"expected at least {(size - 2) // 2} data bytes, got {max(0, len(data) - 2) // 2}",
        )


def topic_address(topic: str) -> str:
    """The address in an indexed topic, lowercase."""
    return "0x" + topic[26:66].lower()


def hex_text(value: str) -> str:
    """A hex string in the stored form (lowercase)."""
    return value.lower()


def enum_value(kind: type[IntEnum], value: int, event: str) -> int:
    """``value`` if it is a member of ``kind``; :class:`LogDecodeError` otherwise."""
    if value >= len(kind):
        raise LogDecodeError(event, f"{value} is not a {kind.__name__}")
    return value


def _dynamic(data: str, head: int, event: str) -> str:
    offset = int(data[head : head + 64], 16)
    start = 2 + 2 * offset
    length = int(data[start : start + 64] or "0", 16)
    end = start + 64 + 2 * length
    if start + 64 > len(data) or end > len(data):
        raise LogDecodeError(event, f"dynamic field at {(head - 2) // 2} runs past the data")
    return data[start + 64 : end]


def text(data: str, head: int, event: str) -> str:
    """The ``string`` whose offset word starts at character ``head`` of ``data``."""
    try:
        return bytes.fromhex(_dynamic(data, head, event)).decode("utf-8")
    except (UnicodeDecodeError, ValueError) as error:
        raise LogDecodeError(event, f"string at {(head - 2) // 2} is not UTF-8 hex") from error


def dynamic_hex(data: str, head: int, event: str) -> str:
    """The ``bytes`` value whose offset word starts at ``head``, as 0x hex."""
    return "0x" + _dynamic(data, head, event).lower()
