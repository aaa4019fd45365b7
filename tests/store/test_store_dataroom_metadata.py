"""The data room's records of committed metadata documents and of each asset's one data key
(:mod:`provledger.store.dataroom`), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from indexer.conftest import NewDatabase
from provledger.store.dataroom import DataRoomStore, StoredMetadata, StoredObject

ASSET = 2**255 + 7
OTHER = 12
HOLDER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DOCUMENT = StoredMetadata(
    asset_id=ASSET,
    root=bytes.fromhex("ef" * 32),
    size=2048,
    object_name="assets/x/1/metadata",
    holder=HOLDER,
    stored_at=1_700_000_000_000,
)
DATA = StoredObject(
    asset_id=ASSET,
    kind="file",
    content_hash=bytes.fromhex("cd" * 32),
    size=10,
    file_count=1,
    object_name="assets/x/2/data",
    holder=HOLDER,
    stored_at=1_700_000_000_000,
)


@pytest.fixture
def store(new_database: NewDatabase) -> Iterator[DataRoomStore]:
    """A data room store on a fresh database of this test's backend."""
    with DataRoomStore.open(new_database("dataroom")) as opened:
        yield opened


def test_a_claim_keeps_the_first_key_and_hands_it_to_every_claimant(store: DataRoomStore) -> None:
    first = store.claim_key(ASSET, "master-1", b"first")
    assert first is not None
    assert (first.key_id, first.wrapped, first.destroyed_at) == ("master-1", b"first", None)
    assert store.claim_key(ASSET, "master-1", b"second") == first
    assert store.key_of(ASSET) == first
    assert store.live_key_assets() == [ASSET]


def test_concurrent_claims_get_one_key(store: DataRoomStore) -> None:
    with ThreadPoolExecutor(8) as pool:
        claimed = list(pool.map(lambda n: store.claim_key(OTHER, "m", bytes([n])), range(16)))
    assert len({row.wrapped for row in claimed if row is not None}) == 1
    assert None not in claimed


def test_a_destroyed_key_is_never_claimed_again(store: DataRoomStore) -> None:
    assert store.claim_key(ASSET, "master-1", b"wrapped") is not None
    assert store.destroy_key(ASSET)
    assert store.claim_key(ASSET, "master-1", b"again") is None
    assert store.live_key_assets() == []
    assert not store.save_metadata(DOCUMENT, key=("master-1", b"again"))
    assert store.metadata_of(ASSET) is None


def test_a_document_is_kept_replaced_and_forgotten_with_the_data(store: DataRoomStore) -> None:
    assert store.metadata_of(ASSET) is None
    assert store.save_metadata(DOCUMENT, key=("master-1", b"wrapped"))
    assert store.metadata_of(ASSET) == DOCUMENT
    key = store.key_of(ASSET)
    assert key is not None
    assert (key.key_id, key.wrapped) == ("master-1", b"wrapped")
    revised = replace(DOCUMENT, root=bytes.fromhex("01" * 32), object_name="assets/x/3/metadata")
    assert store.save_metadata(revised, key=("master-2", b"rewrapped"))
    assert store.metadata_of(ASSET) == revised
    assert store.save_object(DATA, [])
    assert store.objects() == [DATA]  # the data and the document are kept apart
    assert store.metadata_of(ASSET) == revised
    assert store.delete_object(ASSET)
    assert (store.object_of(ASSET), store.metadata_of(ASSET)) == (None, None)
    assert not store.delete_object(ASSET)


def test_a_document_alone_is_forgotten(store: DataRoomStore) -> None:
    assert store.save_metadata(DOCUMENT, key=("master-1", b"wrapped"))
    assert store.delete_object(ASSET)
    assert store.metadata_of(ASSET) is None
