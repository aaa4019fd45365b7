"""The witnesses' co-signatures the gateway keeps (:mod:`provledger.store.checkpoints`) on
SQLite and PostgreSQL: kept once, the same again is no change, another signature by the same
witness is refused, one of a replaced checkpoint is replaced, lists and counts by checkpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select

from helpers.stores import database
from provledger.services.checkpoints import Checkpoint, CheckpointVenue, cosign
from provledger.store.checkpoints import (
    CheckpointStore,
    ConflictingCosignatureError,
    StoredCosignature,
    cosignatures,
)

SOURCE = 31337
VENUE = CheckpointVenue(31338, Account.create().address)
WITNESS_A = Account.from_key(b"\x0a" * 32)
WITNESS_B = Account.from_key(b"\x0b" * 32)
FIRST = Checkpoint(SOURCE, 1, 10, 20, b"\x01" * 32, b"\x02" * 32)
SECOND = Checkpoint(SOURCE, 2, 21, 30, b"\x03" * 32, b"\x04" * 32)
#: What took sequence 2's place after a reorganisation of the target chain.
SECOND_AGAIN = Checkpoint(SOURCE, 2, 21, 31, b"\x05" * 32, b"\x06" * 32)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CheckpointStore]:
    """A co-signature store on a fresh database."""
    with (
        database(request.param, tmp_path, "checkpoints") as url,
        CheckpointStore.open(url) as opened,
    ):
        yield opened


def _add(store: CheckpointStore, checkpoint: Checkpoint, witness: LocalAccount) -> bool:
    signed = cosign(checkpoint, VENUE, witness)
    return store.add(
        checkpoint.source_chain_id,
        checkpoint.sequence,
        signed.witness,
        signed.signature,
        checkpoint.commitment,
    )


def _rows(store: CheckpointStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(cosignatures)).scalar_one())


def test_a_cosignature_is_kept_once_and_listed_with_its_checkpoint(store: CheckpointStore) -> None:
    before = int(time.time() * 1000)
    assert _add(store, FIRST, WITNESS_A) is True
    assert _add(store, FIRST, WITNESS_A) is False  # the same again: already kept
    assert _rows(store) == 1
    (kept,) = store.of(SOURCE, 1, FIRST.commitment)
    signed = cosign(FIRST, VENUE, WITNESS_A)
    assert kept == StoredCosignature(  # the witness checksummed on the way out
        SOURCE, 1, WITNESS_A.address, signed.signature, FIRST.commitment, kept.received_at
    )
    assert before <= kept.received_at <= int(time.time() * 1000)
    assert store.of(SOURCE, 2, SECOND.commitment) == []
    assert store.of(SOURCE + 1, 1, FIRST.commitment) == []


def test_another_signature_by_the_same_witness_is_refused(store: CheckpointStore) -> None:
    _add(store, FIRST, WITNESS_A)
    other = b"\x11" * 65  # not checked here: the gateway checks before it keeps
    with pytest.raises(ConflictingCosignatureError) as refused:
        store.add(SOURCE, 1, WITNESS_A.address.lower(), other, FIRST.commitment)
    assert (refused.value.witness, refused.value.source_chain_id, refused.value.sequence) == (
        WITNESS_A.address,
        SOURCE,
        1,
    )
    assert str(refused.value) == (
        f"witness {WITNESS_A.address} already co-signed checkpoint 1 of chain {SOURCE} with "
        "another signature; the gateway keeps one per witness"
    )
    (kept,) = store.of(SOURCE, 1, FIRST.commitment)
    assert kept.signature == cosign(FIRST, VENUE, WITNESS_A).signature
    assert _rows(store) == 1


def test_witnesses_are_listed_oldest_first_and_counted_per_checkpoint(
    store: CheckpointStore,
) -> None:
    _add(store, FIRST, WITNESS_B)
    _add(store, FIRST, WITNESS_A)
    _add(store, SECOND, WITNESS_A)
    listed = store.of(SOURCE, 1, FIRST.commitment)
    assert [item.witness for item in listed] == [WITNESS_B.address, WITNESS_A.address]
    assert listed[0].received_at <= listed[1].received_at
    wanted = {1: FIRST.commitment, 2: SECOND.commitment, 3: b"\x07" * 32}
    assert store.counts(SOURCE, wanted) == {1: 2, 2: 1}
    assert store.counts(SOURCE, {}) == {}
    assert store.counts(SOURCE + 1, wanted) == {}


def test_a_cosignature_of_a_replaced_checkpoint_is_replaced_and_never_listed_for_the_new_one(
    store: CheckpointStore,
) -> None:
    _add(store, SECOND, WITNESS_A)
    _add(store, SECOND, WITNESS_B)
    # The target chain reorganised sequence 2 away; another checkpoint took its place.
    assert store.of(SOURCE, 2, SECOND_AGAIN.commitment) == []
    assert store.counts(SOURCE, {2: SECOND_AGAIN.commitment}) == {}
    assert _add(store, SECOND_AGAIN, WITNESS_A) is True
    (kept,) = store.of(SOURCE, 2, SECOND_AGAIN.commitment)
    assert (kept.witness, kept.signature) == (
        WITNESS_A.address,
        cosign(SECOND_AGAIN, VENUE, WITNESS_A).signature,
    )
    assert [item.witness for item in store.of(SOURCE, 2, SECOND.commitment)] == [WITNESS_B.address]
    assert _rows(store) == 2


def test_concurrent_adds_of_one_cosignature_keep_it_once(store: CheckpointStore) -> None:
    signed = cosign(FIRST, VENUE, WITNESS_A)

    def add(_: int) -> bool:
        return store.add(SOURCE, 1, signed.witness, signed.signature, FIRST.commitment)

    with ThreadPoolExecutor(8) as pool:
        added = list(pool.map(add, range(16)))
    assert added.count(True) == 1
    assert _rows(store) == 1
