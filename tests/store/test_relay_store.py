"""The relay's own records (:mod:`provledger.store.relay`) on SQLite and PostgreSQL: API keys,
admission and its refusals, claims, request states and the relayer's nonce."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.stores import database
from provledger.errors import InputError
from provledger.store.relay import (
    AlreadyRelayingError,
    GasBudgetExceededError,
    IdempotencyConflictError,
    RateLimitedError,
    RelayStore,
    UnknownApiKeyError,
    open_relay_store,
)
from provledger.store.relay_schema import ApiKey

DOCUMENT = {"registrant": "0x" + "11" * 20, "nonce": 0}
ASSET = "0x" + "ab" * 32


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RelayStore]:
    """A relay store on a fresh database."""
    with database(request.param, tmp_path, "relay") as url, open_relay_store(url) as opened:
        yield opened


def _key(store: RelayStore, rate: int = 100, gas: int = 10_000_000) -> ApiKey:
    key_id, token = store.create_key("tests", rate_per_minute=rate, daily_gas=gas)
    found = store.authenticate(token)
    assert found is not None
    assert found.key_id == key_id
    return found


def _admit(
    store: RelayStore,
    key: ApiKey,
    claims: tuple[str, ...] = ("hash:0x01",),
    *,
    idempotency: str | None = None,
    gas: int = 100_000,
) -> str:
    return store.admit(
        key,
        idempotency_key=idempotency,
        body=b"{}",
        documents=[DOCUMENT],
        asset_ids=[ASSET],
        claimed=list(claims),
        gas_estimate=gas,
    )


def test_api_keys_authenticate_until_revoked(store: RelayStore) -> None:
    key_id, token = store.create_key("lab", rate_per_minute=7, daily_gas=9_000)
    assert re.fullmatch(rf"plk_{key_id}_[A-Za-z0-9_-]+", token)
    (listed,) = store.keys()
    assert (listed.key_id, listed.name, listed.rate_per_minute, listed.daily_gas) == (
        key_id,
        "lab",
        7,
        9_000,
    )
    assert listed.revoked_at is None
    assert store.authenticate(token) == listed
    assert store.authenticate(token + "x") is None  # a wrong secret
    assert store.authenticate(f"plk_{key_id}") is None  # malformed
    assert store.authenticate(token.removeprefix("plk_")) is None
    store.revoke_key(key_id)
    assert store.authenticate(token) is None
    (revoked,) = store.keys()
    assert revoked.revoked_at is not None
    store.revoke_key(key_id)  # revoking twice is no error
    with pytest.raises(UnknownApiKeyError, match="no API key nope"):
        store.revoke_key("nope")
    with pytest.raises(InputError):
        store.create_key("", rate_per_minute=1, daily_gas=1)
    with pytest.raises(InputError):
        store.create_key("zero", rate_per_minute=0, daily_gas=1)


def test_an_admitted_request_is_queued_as_sent(store: RelayStore) -> None:
    key = _key(store)
    request_id = _admit(store, key, gas=123_456)
    request = store.get(request_id)
    assert request is not None
    assert (request.request_id, request.key_id, request.status) == (
        request_id,
        key.key_id,
        "queued",
    )
    assert (request.documents, request.asset_ids, request.gas_estimate) == (
        [DOCUMENT],
        [ASSET],
        123_456,
    )
    assert (request.nonce, request.tx_hash, request.replacements, request.error) == (
        None,
        None,
        0,
        None,
    )
    assert request.created_at == request.updated_at
    assert store.get("0" * 32) is None
    assert [item.request_id for item in store.unsettled()] == [request_id]


def test_refusals_idempotency_claims_rate_and_gas(store: RelayStore) -> None:
    key = _key(store, rate=3, gas=250_000)
    first = _admit(store, key, ("hash:0xaa",), idempotency="one")
    with pytest.raises(IdempotencyConflictError) as reused:
        _admit(store, key, ("hash:0xbb",), idempotency="one")
    assert reused.value.request_id == first
    with pytest.raises(IdempotencyConflictError):
        store.precheck(key, "one")
    store.precheck(key, "two")
    with pytest.raises(AlreadyRelayingError) as taken:
        _admit(store, key, ("hash:0xbb", "hash:0xaa"))
    assert taken.value.request_id == first
    # a failed request gives its claims back, and its gas no longer counts
    assert store.update(first, expect="queued", status="failed", error="reverted")
    assert not store.update(first, expect="queued", status="submitted")
    second = _admit(store, key, ("hash:0xaa",), gas=200_000)
    with pytest.raises(GasBudgetExceededError) as over:
        _admit(store, key, ("hash:0xcc",), gas=50_001)
    assert 1 <= (over.value.retry_after or 0) <= 86_401
    assert "250,000" in str(over.value)
    assert "200,000 used today" in str(over.value)
    third = _admit(store, key, ("hash:0xcc",), gas=50_000)
    # three requests this minute (the failed one included): the fourth waits
    with pytest.raises(RateLimitedError) as limited:
        _admit(store, key, ("hash:0xdd",), gas=1)
    assert 1 <= (limited.value.retry_after or 0) <= 61
    with pytest.raises(RateLimitedError):
        store.precheck(key, None)
    assert [item.request_id for item in store.unsettled()] == [second, third]
    failed = store.get(first)
    assert failed is not None
    assert (failed.status, failed.error) == ("failed", "reverted")


def test_the_relayers_nonce_is_taken_once(store: RelayStore) -> None:
    key = _key(store)
    request_id = _admit(store, key)
    relayer = "0x" + "22" * 20
    with store.next_nonce(relayer, 5) as (nonce, conn):
        assert nonce == 5
        store.record_sent(
            conn, request_id, nonce=nonce, tx_hash="0x" + "01" * 32, max_fee=9, priority_fee=2
        )
    sent = store.get(request_id)
    assert sent is not None
    assert (sent.status, sent.nonce, sent.tx_hash, sent.max_fee, sent.priority_fee) == (
        "submitted",
        5,
        "0x" + "01" * 32,
        9,
        2,
    )
    with store.next_nonce(relayer, 3) as (nonce, _):  # the chain lags: the stored one wins
        assert nonce == 6
    taken: list[int] = []

    def fail_to_send() -> None:
        with store.next_nonce(relayer, 0) as (nonce, _):
            taken.append(nonce)
            raise RuntimeError("not sent")

    with pytest.raises(RuntimeError, match="not sent"):
        fail_to_send()
    assert taken == [7]  # offered, not used: the next one is 7 again
    with store.next_nonce(relayer, 0) as (nonce, _):
        assert nonce == 7
    with store.next_nonce(relayer, 10) as (nonce, _):  # sent by other means: the chain wins
        assert nonce == 10
    with store.next_nonce(relayer, 0) as (nonce, _):
        assert nonce == 11
    with store.next_nonce("0x" + "33" * 20, 0) as (nonce, _):  # one count per relayer
        assert nonce == 0
    # replacing: only the transaction still on record, and only while submitted
    with store.replacing(request_id, "0x" + "02" * 32) as stale:
        assert stale is None
    with store.replacing(request_id, "0x" + "01" * 32) as current:
        assert current is not None
        store.record_sent(
            current,
            request_id,
            nonce=5,
            tx_hash="0x" + "03" * 32,
            max_fee=20,
            priority_fee=4,
            replacements=1,
        )
    replaced = store.get(request_id)
    assert replaced is not None
    assert (replaced.tx_hash, replaced.max_fee, replaced.replacements) == ("0x" + "03" * 32, 20, 1)
    assert store.update(request_id, status="confirmed", block_number=12, gas_used=99)
    with store.replacing(request_id, "0x" + "03" * 32) as settled:
        assert settled is None
    assert store.unsettled() == []


def test_only_the_secrets_hash_is_stored(store: RelayStore) -> None:
    key_id, token = store.create_key("hashed", rate_per_minute=1, daily_gas=1)
    secret = token.split("_", 2)[2]
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT secret_sha256 FROM relay_api_keys WHERE key_id = '" + key_id + "'"
        ).scalar_one()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
