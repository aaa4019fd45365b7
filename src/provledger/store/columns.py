"""The kinds of column the index schema is made of, one definition each: NOT NULL unless a
column says ``nullable=True`` (SQLAlchemy's default is the other way round), with the types the
schema's conventions give hashes, addresses, blocks, times and amounts."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import BigInteger, Column, Dialect, LargeBinary, String, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

from provledger.store.stored_hex import hex_or_none, to_stored


def column(
    name: str,
    kind: TypeEngine[Any] | type[TypeEngine[Any]],
    /,
    *,
    nullable: bool = False,
    primary_key: bool = False,
) -> Column[Any]:
    """A column, NOT NULL unless it says ``nullable=True`` (SQLAlchemy's default is the other
    way round)."""
    return Column(name, kind, nullable=nullable, primary_key=primary_key)


def hex_hash(name: str, **options: bool) -> Column[str]:
    """A 32-byte hash, asset id or root as text: ``0x`` and 64 lowercase hex digits (the
    operator's own stores; the index stores them as bytes, :func:`hash32`)."""
    return column(name, String(66), **options)


def address(name: str, **options: bool) -> Column[str]:
    """An account as text: ``0x`` and 40 lowercase hex digits (the operator's own stores; the
    index stores accounts as bytes, :func:`address20`)."""
    return column(name, String(42), **options)


class HexBytes(TypeDecorator[str]):
    """Bytes of a fixed ``size`` stored as a BLOB (SQLite) or ``bytea`` (PostgreSQL), and seen
    by Python as ``0x`` and lowercase hex: hex is the form of the code above the store, binary
    the form on disk (half the bytes, and compared as the same order: fixed-width lowercase hex
    sorts as its bytes do).

    Statements that SQLAlchemy executes convert on their own; the driver-level paths (the
    indexer's inserts, :class:`~provledger.store.queries.statements.DriverStatement`) convert
    with :func:`to_stored` and :func:`from_stored`.
    """

    impl = LargeBinary
    cache_ok = True

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        stored = to_stored(value)
        if len(stored) != self.size:
            raise ValueError(f"expected {self.size} bytes, got {len(stored)}: {value!r}")
        return stored

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return hex_or_none(value)


#: Bytes of a hash, asset id or root, and of an account.
HASH_BYTES: Final = 32
ADDRESS_BYTES: Final = 20


def hash32(name: str, **options: bool) -> Column[str]:
    """A 32-byte hash, asset id or root, stored as 32 bytes; ``0x`` and 64 lowercase hex digits
    in Python."""
    return column(name, HexBytes(HASH_BYTES), **options)


def address20(name: str, **options: bool) -> Column[str]:
    """An account, stored as 20 bytes; ``0x`` and 40 lowercase hex digits in Python."""
    return column(name, HexBytes(ADDRESS_BYTES), **options)


def block(name: str = "block_number", **options: bool) -> Column[int]:
    """A block number."""
    return column(name, BigInteger, **options)


def unix_time(name: str, **options: bool) -> Column[int]:
    """A unix time, in seconds."""
    return column(name, BigInteger, **options)


def amount(name: str, **options: bool) -> Column[str]:
    """An amount of a currency, in its minor units, as decimal text (no SQL integer type holds
    a uint128 or uint256)."""
    return column(name, Text, **options)


def when(prefix: str, *, nullable: bool = False) -> tuple[Column[int], Column[int]]:
    """``<prefix>_block`` and ``<prefix>_at``: the block and unix time of the event that made
    a record (registered, granted, lodged…) or changed it (revoked)."""
    return block(f"{prefix}_block", nullable=nullable), unix_time(f"{prefix}_at", nullable=nullable)
