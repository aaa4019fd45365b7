"""Showing leaf values: as the JS library's dump JSON writes them, and in error messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["describe_value", "render_value", "to_json"]


def to_json(value: object) -> Any:
    """``value`` as the JS dump writes it: bytes as ``0x``-hex, integers as decimal strings."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def render_value(value: object, limit: int = 300) -> str:
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


def describe_value(value: object) -> str:
    """The type name and a short rendering of ``value``: ``"int 5"``, ``"str 'x'"``."""
    return f"{type(value).__name__} {render_value(value, 80)}"
