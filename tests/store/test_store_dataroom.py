"""The data room's records (:mod:`provledger.store.dataroom`) on SQLite and PostgreSQL: data keys
and their destruction and rotation, uploaded files and folders, and the nonces of signed
requests, claimed once even by concurrent claimants."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from indexer.conftest import NewDatabase
from provledger.store.dataroom import (
    REWRAP_BATCH,
    DataKeyRow,
    DataRoomStore,
    StoredFile,
    StoredObject,
    data_keys,
    used_nonces,
)

ASSET = 2**255 + 7
OTHER = 12
HOLDER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SIGNER = "0x" + "ab" * 20
FOLDER = StoredObject(
    asset_id=ASSET,
    kind="folder",
    content_hash=bytes.fromhex("cd" * 32),
    size=10 + 20 + 30,
    file_count=3,
    object_name=None,
    holder=HOLDER.lower(),
    stored_at=1_700_000_000_000,
)
FILES = [
    StoredFile(ASSET, "b/z.txt", bytes.fromhex("01" * 32), 10, "objects/b-z"),
    StoredFile(ASSET, "a.txt", bytes.fromhex("02" * 32), 20, "objects/a"),
    StoredFile(ASSET, "B.txt", bytes.fromhex("03" * 32), 30, "objects/B"),
]


@pytest.fixture
def store(new_database: NewDatabase) -> Iterator[DataRoomStore]:
    """A data room store on a fresh database of this test's backend."""
    with DataRoomStore.open(new_database("dataroom")) as opened:
        yield opened


# ------------------------------------------------------------------ data keys


def test_a_live_key_is_replaced_by_the_next_upload(store: DataRoomStore) -> None:
    assert store.key_of(ASSET) is None
    assert store.save_key(ASSET, "master-1", b"\x00wrapped\xff")
    key = store.key_of(ASSET)
    assert key is not None
    assert (key.asset_id, key.key_id, key.wrapped, key.destroyed_at) == (
        ASSET,
        "master-1",
        b"\x00wrapped\xff",
        None,
    )
    assert key.created_at > 1_700_000_000_000
    assert store.save_key(ASSET, "master-2", b"another")
    replaced = store.key_of(ASSET)
    assert replaced is not None
    assert (replaced.key_id, replaced.wrapped, replaced.destroyed_at) == (
        "master-2",
        b"another",
        None,
    )
    assert replaced.created_at >= key.created_at
    with store.engine.connect() as conn:
        assert conn.execute(select(data_keys.c.asset_id)).scalars().all() == [f"0x{ASSET:064x}"]


def test_a_destroyed_key_stays_as_evidence(store: DataRoomStore) -> None:
    store.save_key(ASSET, "master-1", b"wrapped")
    store.save_key(OTHER, "master-1", b"kept")
    assert store.destroy_key(ASSET)
    destroyed = store.key_of(ASSET)
    assert destroyed is not None
    assert (destroyed.key_id, destroyed.wrapped) == ("master-1", b"")
    assert destroyed.destroyed_at is not None
    assert destroyed.destroyed_at >= destroyed.created_at
    assert not store.destroy_key(ASSET)
    assert store.key_of(ASSET) == destroyed
    assert not store.destroy_key(99)
    assert not store.save_key(ASSET, "master-2", b"again")  # never revived
    assert store.key_of(ASSET) == destroyed
    assert store.key_of(OTHER) == DataKeyRow(
        OTHER, "master-1", b"kept", _created(store, OTHER), None
    )


def _created(store: DataRoomStore, asset_id: int) -> int:
    key = store.key_of(asset_id)
    assert key is not None
    return key.created_at


def test_rewrapping_changes_every_live_key_in_batches(store: DataRoomStore) -> None:
    count = REWRAP_BATCH + 5
    for asset_id in range(1, count + 1):
        store.save_key(asset_id, "old", asset_id.to_bytes(4, "big"))
    store.destroy_key(3)
    seen: list[int] = []

    def rewrap(asset_id: int, key: DataKeyRow) -> tuple[str, bytes]:
        assert key.asset_id == asset_id
        seen.append(asset_id)
        return "new", b"new" + key.wrapped

    assert store.rewrap_keys(rewrap) == count - 1
    assert seen == [asset_id for asset_id in range(1, count + 1) if asset_id != 3]
    rotated = store.key_of(count)
    assert rotated is not None
    assert (rotated.key_id, rotated.wrapped) == ("new", b"new" + count.to_bytes(4, "big"))
    destroyed = store.key_of(3)
    assert destroyed is not None
    assert (destroyed.key_id, destroyed.wrapped) == ("old", b"")
    # a second pass over keys already rotated changes none
    assert store.rewrap_keys(lambda _, key: (key.key_id, key.wrapped)) == 0


def test_a_failed_rewrap_rolls_its_batch_back(store: DataRoomStore) -> None:
    for asset_id in (1, 2):
        store.save_key(asset_id, "old", b"w")

    def failing(asset_id: int, key: DataKeyRow) -> tuple[str, bytes]:
        if asset_id == 2:
            raise RuntimeError("the key service is down")
        return "new", b"n"

    with pytest.raises(RuntimeError, match="the key service is down"):
        store.rewrap_keys(failing)
    assert [store.key_of(asset_id) for asset_id in (1, 2)] == [
        DataKeyRow(asset_id, "old", b"w", _created(store, asset_id), None) for asset_id in (1, 2)
    ]


# ------------------------------------------------------------------ uploaded objects


def test_a_folder_is_stored_with_its_files_in_path_order(store: DataRoomStore) -> None:
    store.save_object(FOLDER, FILES)
    found = store.object_of(ASSET)
    assert found == replace(FOLDER, holder=HOLDER)
    # code point order: "B.txt" < "a.txt" < "b/z.txt", on both backends
    in_order = [FILES[2], FILES[1], FILES[0]]
    assert [item.path for item in in_order] == ["B.txt", "a.txt", "b/z.txt"]
    assert store.files_of(ASSET, None, 10) == in_order
    assert store.files_of(ASSET, None, None) == store.all_files_of(ASSET) == in_order
    assert store.files_of(ASSET, None, 2) == [FILES[2], FILES[1]]
    assert store.files_of(ASSET, "a.txt", 2) == [FILES[0]]
    assert store.files_of(ASSET, "b/z.txt", 2) == []
    assert store.files_of(OTHER, None, 10) == []
    assert store.file_of(ASSET, "a.txt") == FILES[1]
    assert store.file_of(ASSET, "A.txt") is None
    assert store.object_of(OTHER) is None
    assert store.objects() == [found]


def test_a_new_upload_replaces_the_earlier_one(store: DataRoomStore) -> None:
    store.save_object(FOLDER, FILES)
    single = StoredObject(
        asset_id=ASSET,
        kind="file",
        content_hash=bytes.fromhex("ef" * 32),
        size=4096,
        file_count=1,
        object_name="objects/whole",
        holder=HOLDER,
        stored_at=1_700_000_001_000,
    )
    store.save_object(single, [])
    assert store.object_of(ASSET) == single
    assert store.files_of(ASSET, None, 10) == []
    store.save_object(FOLDER, FILES[:1] + FILES[2:] + [replace(FILES[1], size=21)])
    assert store.file_of(ASSET, "a.txt") == replace(FILES[1], size=21)


def test_an_upload_that_fails_keeps_the_earlier_one(store: DataRoomStore) -> None:
    store.save_object(FOLDER, FILES)
    twice = [FILES[0], FILES[0], FILES[1]]
    with pytest.raises(IntegrityError):
        store.save_object(FOLDER, twice)
    assert store.object_of(ASSET) == replace(FOLDER, holder=HOLDER)
    assert len(store.files_of(ASSET, None, 10)) == 3


def test_an_inconsistent_object_is_refused(store: DataRoomStore) -> None:
    with pytest.raises(ValueError, match="a folder is its files"):
        store.save_object(FOLDER, FILES[:2])
    with pytest.raises(ValueError, match="a file is one stored object"):
        store.save_object(replace(FOLDER, kind="file"), [])
    with pytest.raises(ValueError, match="a file of another asset"):
        store.save_object(FOLDER, [*FILES[:2], replace(FILES[2], asset_id=OTHER)])
    assert store.object_of(ASSET) is None


def test_deleting_an_upload_forgets_its_files(store: DataRoomStore) -> None:
    other = replace(FOLDER, asset_id=OTHER, file_count=1, holder=HOLDER)
    store.save_object(FOLDER, FILES)
    store.save_object(other, [replace(FILES[0], asset_id=OTHER)])
    assert [stored.asset_id for stored in store.objects()] == [OTHER, ASSET]
    assert store.delete_object(ASSET)
    assert store.object_of(ASSET) is None
    assert store.files_of(ASSET, None, 10) == []
    assert not store.delete_object(ASSET)
    assert store.objects() == [other]
    assert store.all_files_of(OTHER) == [replace(FILES[0], asset_id=OTHER)]


# ------------------------------------------------------------------ nonces


def test_a_nonce_is_claimed_once_per_signer(store: DataRoomStore) -> None:
    big = 2**256 - 1
    assert store.claim_nonce(SIGNER, big, 1_000)
    assert not store.claim_nonce(SIGNER.upper().replace("0X", "0x"), big, 2_000)
    assert store.claim_nonce(HOLDER, big, 1_000)
    assert store.claim_nonce(SIGNER, 7, 1_000)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(used_nonces).order_by(used_nonces.c.signer, used_nonces.c.nonce)
        ).all()
    assert [tuple(row) for row in rows] == [
        (HOLDER.lower(), str(big), 1_000),
        (SIGNER, str(big), 1_000),
        (SIGNER, "7", 1_000),
    ]
    with pytest.raises(ValueError, match="a deadline is 0 to"):
        store.claim_nonce(SIGNER, 8, 2**63)


def test_pruning_forgets_nonces_whose_deadline_passed(store: DataRoomStore) -> None:
    store.claim_nonce(SIGNER, 1, 100)
    store.claim_nonce(SIGNER, 2, 101)
    store.claim_nonce(SIGNER, 3, 102)
    assert store.prune_nonces(101) == 2
    assert store.prune_nonces(101) == 0
    assert not store.claim_nonce(SIGNER, 3, 102)
    assert store.claim_nonce(SIGNER, 1, 200)


def test_concurrent_claims_of_one_nonce_have_one_winner(store: DataRoomStore) -> None:
    claimants = 8
    start = threading.Barrier(claimants)

    def claim(nonce: int) -> bool:
        start.wait()
        return store.claim_nonce(SIGNER, nonce, 1_000)

    with ThreadPoolExecutor(claimants) as pool:
        for nonce in range(5):
            results = list(pool.map(claim, [nonce] * claimants))
            assert results.count(True) == 1, results
