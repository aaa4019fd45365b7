"""Object storage through obstore: the same behaviour on a local folder and in memory."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from provledger.store.objects import PART_SIZE, ObjectMissingError, ObjectStorage, StorageError

CHUNK = 100_003
#: More than one multipart part, in many chunks.
DATA = random.Random(7).randbytes(PART_SIZE + 3 * CHUNK + 11)


def chunks(data: bytes, size: int = CHUNK) -> Iterator[bytes]:
    """``data`` as a stream of ``size``-byte chunks (a generator: never the whole at once)."""
    for at in range(0, len(data), size):
        yield data[at : at + size]


@pytest.fixture(params=["folder", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    """An empty storage: a local folder (not yet created) or memory."""
    if request.param == "folder":
        return ObjectStorage.open(str(tmp_path / "objects" / "room"))
    return ObjectStorage.open("memory://")


def test_an_object_streams_in_and_reads_back_by_range(storage: ObjectStorage) -> None:
    assert storage.put("assets/1/data", chunks(DATA)) == len(DATA)
    assert storage.size("assets/1/data") == len(DATA)
    assert storage.exists("assets/1/data")
    for offset, length in [(0, 40), (PART_SIZE - 5, 10), (len(DATA) - 7, 7), (12345, 2 * CHUNK)]:
        assert storage.read("assets/1/data", offset, length) == DATA[offset : offset + length]
    assert storage.read("assets/1/data", len(DATA) - 3, 10) == DATA[-3:]  # the object ends first
    assert storage.read("assets/1/data", 5, 0) == b""


def test_a_put_replaces_and_an_empty_stream_is_an_empty_object(storage: ObjectStorage) -> None:
    storage.put("a", chunks(DATA))
    assert storage.put("a", iter([b"short", b"", b"er"])) == 7
    assert storage.read("a", 0, 100) == b"shorter"
    assert storage.put("empty", iter([])) == 0
    assert storage.size("empty") == 0


def test_an_exception_from_the_chunks_passes_through_and_stores_nothing(
    storage: ObjectStorage,
) -> None:
    failure = ValueError("the source broke")

    def broken() -> Iterator[bytes]:
        yield from chunks(DATA[: 2 * CHUNK])
        raise failure

    with pytest.raises(ValueError, match="the source broke") as raised:
        storage.put("broken", broken())
    assert raised.value is failure
    assert not storage.exists("broken")
    assert list(storage.names()) == []


def test_rename_delete_and_names(storage: ObjectStorage) -> None:
    for name in ["a/1", "a/2", "ab/3", "b", "a/deep/4"]:
        storage.put(name, [name.encode()])
    assert sorted(storage.names()) == ["a/1", "a/2", "a/deep/4", "ab/3", "b"]
    assert sorted(storage.names("a")) == ["a/1", "a/2", "a/deep/4"]
    assert sorted(storage.names("a/")) == ["a/1", "a/2", "a/deep/4"]
    assert list(storage.names("c")) == []

    storage.rename("a/1", "c/1")
    assert not storage.exists("a/1")
    assert storage.read("c/1", 0, 10) == b"a/1"
    storage.rename("a/2", "b")  # replaces
    assert storage.read("b", 0, 10) == b"a/2"

    storage.delete("b")
    storage.delete("b")  # already gone: nothing happens
    assert not storage.exists("b")
    assert sorted(storage.names()) == ["a/deep/4", "ab/3", "c/1"]


def test_a_missing_object_is_named(storage: ObjectStorage) -> None:
    for attempt in (
        lambda: storage.read("nowhere/x", 0, 10),
        lambda: storage.size("nowhere/x"),
        lambda: storage.rename("nowhere/x", "y"),
    ):
        with pytest.raises(ObjectMissingError) as missing:
            attempt()
        assert missing.value.name == "nowhere/x"
        assert str(missing.value) == "the object storage holds no object named 'nowhere/x'"
    assert not storage.exists("nowhere/x")


def test_a_backend_failure_is_one_line_naming_location_and_operation(
    storage: ObjectStorage,
) -> None:
    storage.put("small", [b"0123456789"])
    with pytest.raises(StorageError) as failure:
        storage.read("small", 50, 5)  # a range starting past the end
    assert (failure.value.location, failure.value.operation) == (storage.location, "read small")
    assert str(failure.value).startswith(
        f"object storage {storage.location} failed to read small: "
    )
    assert "\n" not in str(failure.value)


def test_a_local_folder_is_created_and_holds_the_objects_as_files(tmp_path: Path) -> None:
    root = tmp_path / "new" / "room"
    storage = ObjectStorage.open(str(root))
    assert storage.location == str(root)
    storage.put("assets/1/data", chunks(DATA))
    assert (root / "assets" / "1" / "data").read_bytes() == DATA
    by_url = ObjectStorage.open(f"file://{tmp_path}/other/")
    by_url.put("x", [b"1"])
    assert (tmp_path / "other" / "x").read_bytes() == b"1"


def test_a_local_root_that_cannot_be_a_folder_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the folder should be")
    with pytest.raises(StorageError) as failure:
        ObjectStorage.open(str(tmp_path / "taken"))
    error = failure.value
    assert (error.location, error.operation) == (str(tmp_path / "taken"), "open")
    assert str(error).startswith(f"object storage {tmp_path / 'taken'} failed to open: ")
    assert "\n" not in str(error)
    with pytest.raises(StorageError, match="failed to open"):
        ObjectStorage.open(str(tmp_path / "taken" / "below"))


def test_a_location_shows_no_credentials() -> None:
    storage = ObjectStorage.open("https://reader:s3cret@files.example.org:8443/room/?sig=abc#part")
    assert storage.location == "https://files.example.org:8443/room/"
    assert ObjectStorage.open("memory://").location == "memory://"
    with pytest.raises(StorageError) as failure:
        ObjectStorage.open("nosuch://user:s3cret@host/x?token=t0ken")
    assert failure.value.location == "nosuch://host/x"
    assert str(failure.value) == (
        "object storage nosuch://host/x failed to open: "
        'Generic URL error: Unable to recognise URL "nosuch://host/x"'
    )
