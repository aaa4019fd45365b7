"""Hex as the code sees it (``0x`` and lowercase digits) and bytes as the index stores them.

Kept apart from :mod:`provledger.store.columns` (whose column types use them) so that the
indexer's fetch process, which builds stored rows, starts without importing SQLAlchemy.
"""

from __future__ import annotations


def to_stored(value: str) -> bytes:
    """``0x`` hex (either case) as the bytes a :class:`~provledger.store.columns.HexBytes`
    column stores."""
    return bytes.fromhex(value[2:])


def from_stored(value: bytes | memoryview) -> str:
    """Stored bytes of a :class:`~provledger.store.columns.HexBytes` column as ``0x`` and
    lowercase hex."""
    return "0x" + value.hex()


def hex_or_none(value: bytes | memoryview | None) -> str | None:
    """:func:`from_stored` of a nullable column's value."""
    return None if value is None else "0x" + value.hex()
