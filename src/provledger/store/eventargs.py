"""The stored form of an event's decoded fields (``events.args``): MessagePack, compact.

The fields are the row type's (:mod:`provledger.indexer.rows`), in declaration order, as
:func:`provledger.indexer.decoding.row_values` renders them. Two rules make them small, and
both are undone exactly by :func:`unpack_args`:

* a text value of ``0x`` and an even number of lowercase hex digits (a hash, an address, a
  bytes value) is stored as its bytes, which read back as the same text;
* the field holding the asset the event concerns is stored as nil: the row's ``asset_id``
  column holds it already. No decoded field is ever nil otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

import msgpack

_LOWER_HEX: Final = re.compile(r"0x(?:[0-9a-f]{2})*")


def pack_args(values: Sequence[Any], asset: int | None) -> bytes:
    """``values`` in stored form; ``asset`` is the position of the asset field, if any."""
    stored: list[Any] = []
    for position, value in enumerate(values):
        if position == asset:
            stored.append(None)
        elif type(value) is str and _LOWER_HEX.fullmatch(value):
            stored.append(bytes.fromhex(value[2:]))
        else:
            stored.append(value)
    return bytes(msgpack.packb(stored, use_bin_type=True))


def unpack_args(stored: bytes, asset_id: str | None) -> list[Any]:
    """The values :func:`pack_args` stored, given the row's ``asset_id``."""
    values: list[Any] = msgpack.unpackb(stored, raw=False)
    for position, value in enumerate(values):
        if value is None:
            values[position] = asset_id
        elif type(value) is bytes:
            values[position] = "0x" + value.hex()
    return values
