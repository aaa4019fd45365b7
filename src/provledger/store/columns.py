"""The kinds of column the index schema is made of, one definition each: NOT NULL unless a
column says ``nullable=True`` (SQLAlchemy's default is the other way round), with the types the
schema's conventions give hashes, addresses, blocks, times and amounts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, String, Text
from sqlalchemy.types import TypeEngine


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
    """A 32-byte hash, asset id or root: ``0x`` and 64 lowercase hex digits."""
    return column(name, String(66), **options)


def address(name: str, **options: bool) -> Column[str]:
    """An account: ``0x`` and 40 lowercase hex digits."""
    return column(name, String(42), **options)


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
