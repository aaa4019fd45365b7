"""JSON from outside the process, read with a size limit and a nesting limit before parsing.

Python's ``json`` module descends into nested arrays on the C stack, bounded only by the
recursion limit; a dependency (py_ecc) raises that limit to 100,000 on import, and a body of
100,000 ``[`` then overflows the stack and kills the process. Every JSON document that comes
from a request, a file or another service is therefore read here: its size is checked first,
then orjson parses it (its parser is not recursive and refuses more than 1,024 levels), then
its depth is measured without recursion against :data:`MAX_DEPTH`. orjson reads integers past
64 bits as floats, so a document holding any float is parsed again by ``json``, which keeps
big integers exact and is safe at that depth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import orjson

from provledger.errors import InputError

#: The deepest nesting accepted; provledger's own documents nest five levels at most.
MAX_DEPTH: Final = 64
#: The default size limit of a document read from a file (16 MiB).
DOCUMENT_MAX_BYTES: Final = 16 << 20
#: The longest part of a bad value an error message repeats.
ECHO_MAX: Final = 40


class JsonDocumentError(InputError):
    """A JSON document that is too large, too deep or not JSON; names the document."""

    template = "{what} is {reason}"
    what: str
    reason: str


def _depth_and_floats(value: Any, max_depth: int, what: str) -> bool:
    """Whether ``value`` holds a float; :class:`JsonDocumentError` past ``max_depth``."""
    floats = type(value) is float
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise JsonDocumentError(what, f"nested deeper than {max_depth} levels")
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif type(child) is float:
                floats = True
    return floats


def parse_json(
    data: str | bytes, *, what: str, max_bytes: int = DOCUMENT_MAX_BYTES, max_depth: int = MAX_DEPTH
) -> Any:
    """The value of the JSON text ``data`` (UTF-8 if bytes), refused with
    :class:`JsonDocumentError` naming ``what`` if it is longer than ``max_bytes``, nests deeper
    than ``max_depth`` or is not JSON. Integers stay exact at any size."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise JsonDocumentError(what, f"larger than {max_bytes:,} bytes")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if str(error).startswith("depth limit exceeded"):
            raise JsonDocumentError(what, f"nested deeper than {max_depth} levels") from None
        raise JsonDocumentError(what, f"not JSON: {error}") from None
    if _depth_and_floats(value, max_depth, what):
        try:  # exact integers past 64 bits; the depth is known to be small now
            value = json.loads(data)
        except ValueError as error:
            raise JsonDocumentError(what, f"not JSON: {error}") from None
    return value


def read_json_file(
    path: Path, *, what: str | None = None, max_bytes: int = DOCUMENT_MAX_BYTES
) -> Any:
    """The JSON document in the file ``path``, its size checked before it is read.

    :class:`JsonDocumentError` for a file too large, too deep or not JSON; ``OSError`` as
    raised for a file that cannot be read.
    """
    name = what or str(path)
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        if size > max_bytes:
            raise JsonDocumentError(name, f"larger than {max_bytes:,} bytes")
        handle.seek(0)
        data = handle.read(max_bytes + 1)
    return parse_json(data, what=name, max_bytes=max_bytes)


def echo(text: str, limit: int = ECHO_MAX) -> str:
    """``repr`` of a bad value for an error message, cut to ``limit`` characters."""
    if len(text) > limit:
        return f"{text[:limit]!r}... ({len(text):,} characters)"
    return repr(text)
