"""The relay's tables, in their own database (see :mod:`provledger.store.relay`), and the records
they hold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from provledger.store import schema

#: The index's naming convention, for the relay's constraints and indexes too.
metadata = schema.new_metadata()


def _key_id(**options: Any) -> Column[str]:
    """An API key's id (the public part of the key)."""
    return Column("key_id", String(16), **options)


def _request_id(**options: Any) -> Column[str]:
    """A relayed request's id."""
    return Column("request_id", String(32), **options)


def _sha256(name: str) -> Column[str]:
    """A SHA-256 digest, in hex."""
    return Column(name, String(64), nullable=False)


def _millis(name: str, *, nullable: bool = False) -> Column[int]:
    """A time in milliseconds since 1970 (UTC)."""
    return Column(name, BigInteger, nullable=nullable)


api_keys = Table(
    "relay_api_keys",
    metadata,
    _key_id(primary_key=True),
    Column("name", String(100), nullable=False),
    _sha256("secret_sha256"),
    Column("rate_per_minute", Integer, nullable=False),
    Column("daily_gas", BigInteger, nullable=False),
    _millis("created_at"),
    _millis("revoked_at", nullable=True),
)

requests = Table(
    "relay_requests",
    metadata,
    _request_id(primary_key=True),
    _key_id(nullable=False),
    Column("idempotency_key", String(200), nullable=True),
    _sha256("body_sha256"),
    Column("status", String(16), nullable=False),  # queued|submitted|mined|confirmed|failed
    Column("documents", Text, nullable=False),  # the signed registrations, JSON
    Column("asset_ids", Text, nullable=False),  # JSON list of 0x ids, in document order
    Column("gas_estimate", BigInteger, nullable=False),
    Column("nonce", BigInteger, nullable=True),
    Column("tx_hash", String(66), nullable=True),
    Column("max_fee", BigInteger, nullable=True),
    Column("priority_fee", BigInteger, nullable=True),
    Column("replacements", Integer, nullable=False, default=0),
    Column("block_number", BigInteger, nullable=True),
    Column("gas_used", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    _millis("created_at"),
    _millis("updated_at"),
    UniqueConstraint("key_id", "idempotency_key"),
    Index(None, "status"),
    Index(None, "key_id", "created_at"),
)

claims = Table(
    "relay_claims",
    metadata,
    # "hash:<content hash>" or "nonce:<registrant>:<nonce>", held until the request fails
    Column("claim", String(120), primary_key=True),
    _request_id(nullable=False),
)

relayer_nonces = Table(
    "relay_nonces",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("next_nonce", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored (never its secret)."""

    key_id: str
    name: str
    rate_per_minute: int
    daily_gas: int
    created_at: int
    revoked_at: int | None


@dataclass(frozen=True)
class RelayRequest:
    """One relayed request and where it stands."""

    request_id: str
    key_id: str
    status: str
    documents: list[dict[str, Any]]
    asset_ids: list[str]
    gas_estimate: int
    nonce: int | None
    tx_hash: str | None
    max_fee: int | None
    priority_fee: int | None
    replacements: int
    block_number: int | None
    gas_used: int | None
    error: str | None
    created_at: int
    updated_at: int


def api_key_of(row: Any) -> ApiKey:
    """The API key a ``relay_api_keys`` row holds."""
    return ApiKey(
        row.key_id, row.name, row.rate_per_minute, row.daily_gas, row.created_at, row.revoked_at
    )


def request_of(row: Any) -> RelayRequest:
    """The request a ``relay_requests`` row holds."""
    values = dict(row._mapping)
    values["documents"] = json.loads(values["documents"])
    values["asset_ids"] = json.loads(values["asset_ids"])
    values.pop("idempotency_key")
    values.pop("body_sha256")
    return RelayRequest(**values)
