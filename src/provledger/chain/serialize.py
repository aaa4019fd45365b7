"""JSON forms of typed events and identifiers, shared by the store and the gateway.

Asset ids (``asset_id``, ``token_id``, ``parent_id``) become ``0x`` + 64 hex digits; other
integers stay integers below 2**53 and become decimal strings above (JSON numbers lose
precision there); bytes become ``0x`` hex; enums their member name; addresses stay checksummed.
"""

from __future__ import annotations

import dataclasses
from enum import IntEnum
from typing import Any, Final

from provledger.chain.events import Event

ASSET_ID_FIELDS: Final = frozenset({"asset_id", "token_id", "parent_id"})
_SAFE_INTEGER: Final = 2**53


def asset_hex(value: int) -> str:
    """An asset id as ``0x`` + 64 lowercase hex digits."""
    return f"0x{value:064x}"


def hex_bytes(value: bytes) -> str:
    """``0x`` + lowercase hex."""
    return "0x" + value.hex()


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _field_names(kind: type[Any]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(field.name for field in dataclasses.fields(kind))
    return names


def json_value(name: str, value: Any) -> Any:
    """The JSON form of one event field."""
    if isinstance(value, IntEnum):
        return value.name
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if name in ASSET_ID_FIELDS:
            return asset_hex(value)
        return value if value < _SAFE_INTEGER else str(value)
    if isinstance(value, bytes):
        return hex_bytes(value)
    return value


def event_args(event: Event) -> dict[str, Any]:
    """The event's fields as a JSON-ready dict, in declaration order."""
    return {
        name.rstrip("_"): json_value(name, getattr(event, name))
        for name in _field_names(type(event))
    }


def fixed_text(value: object) -> str:
    """A short fixed-bytes field in its JSON form (``0x434e59``: a currency code, a
    jurisdiction) as the ASCII text it holds (``CNY``); anything else as it is."""
    text = str(value)
    if text.startswith("0x"):
        try:
            return bytes.fromhex(text[2:]).rstrip(b"\0").decode("ascii")
        except ValueError:  # not hex, or not ASCII
            pass
    return text
