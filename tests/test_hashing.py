"""provledger.hashing: file hashes, folder roots and manifests, hex helpers."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from helpers.writers import Change, ConcurrentWriter, settled_file
from provledger import hashing
from provledger.errors import (
    ChangedWhileHashingError,
    EmptyFolderError,
    FileNotInManifestError,
    InputError,
    InvalidHashError,
    MalformedManifestError,
    ManifestRootMismatchError,
    PathAccessError,
    SymlinkNotAllowedError,
    UnsupportedPathError,
)
from provledger.hashing import (
    DEFAULT_CHUNK_SIZE,
    SECOND_PASS_MAX_BYTES,
    FolderManifest,
    ManifestEntry,
    content_hash,
    file_membership_proof,
    folder_manifest,
    normalise_manifest_path,
    parse_hash32,
    sha256_file,
    verify_file_membership,
)
from provledger.merkle import FOLDER_LEAF_TYPES, StandardMerkleTree, folder_leaf_hash, verify
from provledger.params import to_hex32

MIB = 1 << 20

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file system behaviour")


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def write(root: Path, relative: str, data: bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# A dataset with nesting, hidden files, an empty file and non-ASCII names (written NFD on
# disk for one of them: the manifest must still say NFC).
DATASET: dict[str, bytes] = {
    "README.md": b"# survey 2024\n",
    ".provenance": b"hidden files are part of the dataset\n",
    "raw/2024-01.csv": b"id,value\n1,10\n2,20\n",
    "raw/2024-02.csv": b"id,value\n1,11\n",
    "raw/empty.csv": b"",
    "raw/.cache/x.bin": bytes(range(256)) * 3,
    "données/été.csv": "température\n21,5\n".encode(),
    "数据/文件.txt": "内容".encode(),
}
ON_DISK_NAME = {"données/été.csv": unicodedata.normalize("NFD", "données/été.csv")}


def make_dataset(root: Path) -> Path:
    folder = root / "dataset"
    for relative, data in DATASET.items():
        write(folder, ON_DISK_NAME.get(relative, relative), data)
    (folder / "empty-subfolder" / "nested").mkdir(parents=True)
    return folder


# --- sha256_file ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "chunk_size"),
    [
        (0, DEFAULT_CHUNK_SIZE),
        (1, DEFAULT_CHUNK_SIZE),
        (DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_SIZE),
        (DEFAULT_CHUNK_SIZE + 1, DEFAULT_CHUNK_SIZE),
        (3 * MIB + 7, DEFAULT_CHUNK_SIZE),
        (4096, 4096),
        (4097, 4096),
        (10_000, 1),
    ],
)
def test_sha256_file_matches_hashlib(tmp_path: Path, size: int, chunk_size: int) -> None:
    data = os.urandom(size)
    path = write(tmp_path, "blob.bin", data)
    chunks: list[int] = []
    assert sha256_file(path, chunk_size=chunk_size, progress=chunks.append) == sha(data)
    # Streaming: reads never exceed one chunk, and together they cover the file once.
    assert sum(chunks) == size
    assert all(0 < chunk <= chunk_size for chunk in chunks)
    assert len(chunks) == -(-size // chunk_size)


def test_sha256_file_accepts_str_paths(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", b"abc")
    assert sha256_file(str(path)) == sha(b"abc")


def test_sha256_file_refuses_missing_files_and_folders(tmp_path: Path) -> None:
    missing = tmp_path / "missing.bin"
    with pytest.raises(PathAccessError, match=r"missing\.bin.*No such file"):
        sha256_file(missing)
    with pytest.raises(UnsupportedPathError, match="it is a folder"):
        sha256_file(tmp_path)


@posix_only
def test_sha256_file_refuses_a_pipe_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UnsupportedPathError, match="not a regular file"):
        sha256_file(fifo)


@pytest.mark.parametrize("chunk_size", [0, -1, True])
def test_sha256_file_needs_a_positive_chunk_size(tmp_path: Path, chunk_size: int) -> None:
    path = write(tmp_path, "a.txt", b"abc")
    with pytest.raises(ValueError, match="chunk_size"):
        sha256_file(path, chunk_size=chunk_size)


# --- files changed while they are hashed ---------------------------------------------------------

CHANGE_REASONS: dict[Change, str] = {
    "rewrite": "it was modified",
    "append": "its size went from 25,165,824 to 25,169,920 bytes",
    "truncate": "its size went from 25,165,824 to 12,582,912 bytes",
    "replace": "it was replaced by another file",
    "remove": "it was removed or renamed",
}


@pytest.mark.parametrize("change", list(CHANGE_REASONS))
def test_a_large_file_changed_while_it_is_hashed_is_refused(tmp_path: Path, change: Change) -> None:
    path = settled_file(tmp_path / "large.bin", 24 * MIB)
    old = sha256_file(path)
    writer = ConcurrentWriter(path, change, after_bytes=3 * MIB)
    with pytest.raises(ChangedWhileHashingError) as caught:
        sha256_file(path, progress=writer)
    assert writer.done
    assert caught.value.path == str(path)
    assert caught.value.reason == CHANGE_REASONS[change]
    assert str(caught.value) == (
        f"{str(path)!r} changed while it was being hashed ({CHANGE_REASONS[change]}); "
        "hash it again once nothing is writing to it"
    )
    assert isinstance(caught.value, InputError)
    if change != "remove":  # the file now holds other bytes; a hash of it is a new hash
        assert sha256_file(path) != old


def test_a_torn_read_would_match_neither_the_old_nor_the_new_content(tmp_path: Path) -> None:
    # What the check prevents: the bytes read are the old file's head and the new file's tail.
    path = settled_file(tmp_path / "large.bin", 24 * MIB)
    old = path.read_bytes()
    writer = ConcurrentWriter(path, "rewrite", after_bytes=3 * MIB)
    with path.open("rb") as handle:
        head = handle.read(3 * MIB)
        writer(len(head))
        torn = head + handle.read()
    new = path.read_bytes()
    assert len({sha(old), sha(new), sha(torn)}) == 3
    with pytest.raises(ChangedWhileHashingError):
        sha256_file(path, progress=ConcurrentWriter(path, "rewrite", after_bytes=3 * MIB))


@pytest.mark.parametrize("change", ["rewrite", "append", "truncate", "replace"])
def test_a_small_file_changed_while_it_is_hashed_is_refused(tmp_path: Path, change: Change) -> None:
    path = settled_file(tmp_path / "small.csv", 64 * 1024)
    writer = ConcurrentWriter(path, change, after_bytes=4096)
    with pytest.raises(ChangedWhileHashingError) as caught:
        sha256_file(path, chunk_size=4096, progress=writer)
    assert caught.value.path == str(path)
    assert str(path) in str(caught.value)


def test_the_second_read_catches_what_coarse_timestamps_hide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file system whose times do not move within a tick (FAT counts in two seconds): the
    # file's status looks the same after the rewrite, and only the second read shows it.
    monkeypatch.setattr(hashing, "_what_changed", lambda before, after: None)
    path = settled_file(tmp_path / "small.csv", SECOND_PASS_MAX_BYTES)
    writer = ConcurrentWriter(path, "rewrite", after_bytes=4096)
    with pytest.raises(ChangedWhileHashingError) as caught:
        sha256_file(path, chunk_size=4096, progress=writer)
    assert (caught.value.path, caught.value.reason) == (
        str(path),
        "two reads of it gave different bytes",
    )


def test_an_unchanged_file_is_hashed_once_for_progress(tmp_path: Path) -> None:
    path = settled_file(tmp_path / "large.bin", 24 * MIB)
    chunks: list[int] = []
    assert sha256_file(path, progress=chunks.append) == sha(path.read_bytes())
    assert chunks == [MIB] * 24


def _settled_folder(root: Path) -> Path:
    folder = root / "dataset"
    settled_file(folder / "a.csv", 1000)
    settled_file(folder / "b" / "big.bin", 8 * MIB)
    settled_file(folder / "c.csv", 2000)
    return folder


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("b/big.bin", "rewrite", "it was modified"),
        ("b/big.bin", "append", "its size went from 8,388,608 to 8,392,704 bytes"),
        # a.csv was read first: it changed after it was read, while b/big.bin was
        ("a.csv", "rewrite", "it was modified"),
        ("a.csv", "replace", "it was replaced by another file"),
        ("a.csv", "remove", "it was removed or renamed"),
    ],
)
def test_a_folder_whose_file_changes_while_it_is_hashed_is_refused(
    tmp_path: Path, name: str, change: Change, reason: str
) -> None:
    folder = _settled_folder(tmp_path)
    writer = ConcurrentWriter(folder / name, change, after_bytes=1000 + 2 * MIB)
    with pytest.raises(ChangedWhileHashingError) as caught:
        folder_manifest(folder, progress=writer)
    assert writer.done
    assert (caught.value.path, caught.value.reason) == (str(folder / name), reason)


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("b/late.csv", "create", "'b/late.csv' was added"),
        ("z.csv", "remove", "'z.csv' was removed"),  # before it was read
    ],
)
def test_a_folder_whose_listing_changes_while_it_is_hashed_is_refused(
    tmp_path: Path, name: str, change: Change, reason: str
) -> None:
    folder = _settled_folder(tmp_path)
    settled_file(folder / "z.csv", 10)
    writer = ConcurrentWriter(folder / name, change, after_bytes=1000 + 2 * MIB)
    with pytest.raises(ChangedWhileHashingError) as caught:
        folder_manifest(folder, progress=writer)
    assert writer.done
    assert (caught.value.path, caught.value.reason) == (str(folder), reason)


# --- folder roots --------------------------------------------------------------------------------


def test_folder_root_is_the_tree_of_path_and_sha256_leaves(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    manifest = folder_manifest(folder)
    expected_leaves = [(path, sha(data)) for path, data in DATASET.items()]
    independent = StandardMerkleTree.of(expected_leaves, ["string", "bytes32"])
    assert manifest.root == independent.root
    assert manifest.entries == tuple(
        ManifestEntry(path, sha(data), len(data)) for path, data in sorted(DATASET.items())
    )
    assert [entry.path for entry in manifest.entries] == sorted(DATASET)
    assert content_hash(folder) == manifest.root
    assert manifest.total_size == sum(len(data) for data in DATASET.values())


def test_folder_progress_reports_every_byte(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    chunks: list[int] = []
    folder_manifest(folder, progress=chunks.append, chunk_size=64)
    assert sum(chunks) == sum(len(data) for data in DATASET.values())
    assert max(chunks) <= 64


def test_content_hash_of_a_file_is_its_sha256(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", b"a,b\n1,2\n")
    assert content_hash(path) == sha(b"a,b\n1,2\n")
    with pytest.raises(PathAccessError):
        content_hash(tmp_path / "nope")


@pytest.mark.parametrize(
    "change",
    ["rename", "move into subfolder", "move out of subfolder", "one byte", "swap contents", "add"],
)
def test_changes_to_names_or_bytes_change_the_root(tmp_path: Path, change: str) -> None:
    folder = make_dataset(tmp_path)
    before = folder_manifest(folder).root
    if change == "rename":
        (folder / "README.md").rename(folder / "README.txt")
    elif change == "move into subfolder":
        (folder / "README.md").rename(folder / "raw" / "README.md")
    elif change == "move out of subfolder":
        (folder / "raw" / "2024-01.csv").rename(folder / "2024-01.csv")
    elif change == "one byte":
        path = folder / "raw" / ".cache" / "x.bin"
        data = bytearray(path.read_bytes())
        data[500] ^= 0x01
        path.write_bytes(bytes(data))
    elif change == "swap contents":
        a, b = folder / "raw" / "2024-01.csv", folder / "raw" / "2024-02.csv"
        data_a, data_b = a.read_bytes(), b.read_bytes()
        a.write_bytes(data_b)
        b.write_bytes(data_a)
    else:
        write(folder, "raw/empty-2.csv", b"")
    assert folder_manifest(folder).root != before


def test_empty_subfolders_and_metadata_do_not_change_the_root(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    before = folder_manifest(folder).root
    (folder / "another" / "empty" / "folder").mkdir(parents=True)
    os.utime(folder / "README.md", (0, 0))
    (folder / "README.md").chmod(0o600)
    assert folder_manifest(folder).root == before


def test_copies_of_a_folder_hash_the_same(tmp_path: Path) -> None:
    one = make_dataset(tmp_path / "one")
    two = tmp_path / "two" / "copy"
    # Written in another order, all names NFC this time.
    for relative, data in reversed(DATASET.items()):
        write(two, relative, data)
    assert folder_manifest(one) == folder_manifest(two)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EmptyFolderError, match="holds no files"):
        folder_manifest(empty)
    (empty / "only" / "folders").mkdir(parents=True)
    with pytest.raises(EmptyFolderError, match=r"empty.*holds no files"):
        content_hash(empty)


def test_folder_manifest_needs_a_folder(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", b"a")
    with pytest.raises(UnsupportedPathError, match="not a folder"):
        folder_manifest(path)
    with pytest.raises(PathAccessError):
        folder_manifest(tmp_path / "missing")


@posix_only
@pytest.mark.parametrize("target", ["file", "folder", "outside"])
def test_symlinks_inside_a_folder_are_refused(tmp_path: Path, target: str) -> None:
    folder = make_dataset(tmp_path)
    outside = write(tmp_path, "outside.txt", b"not part of the dataset")
    link = folder / "raw" / "link"
    pointee = {
        "file": folder / "README.md",
        "folder": folder / "raw" / ".cache",
        "outside": outside,
    }
    link.symlink_to(pointee[target])
    with pytest.raises(SymlinkNotAllowedError, match=r"raw/link.*symbolic link") as caught:
        folder_manifest(folder)
    assert caught.value.target == str(pointee[target])


@posix_only
def test_a_dangling_symlink_is_refused(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    (folder / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(SymlinkNotAllowedError):
        folder_manifest(folder)


@posix_only
def test_the_path_given_may_itself_be_a_link(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    (tmp_path / "latest").symlink_to(folder)
    assert content_hash(tmp_path / "latest") == folder_manifest(folder).root
    (tmp_path / "readme-link").symlink_to(folder / "README.md")
    assert content_hash(tmp_path / "readme-link") == sha(DATASET["README.md"])


@posix_only
def test_a_pipe_inside_a_folder_is_refused(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    os.mkfifo(folder / "raw" / "pipe")
    with pytest.raises(UnsupportedPathError, match=r"raw/pipe.*not a regular file"):
        folder_manifest(folder)


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that keeps byte names")
def test_names_equal_after_nfc_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "clash"
    write(folder, unicodedata.normalize("NFC", "é.csv"), b"one")
    write(folder, unicodedata.normalize("NFD", "é.csv"), b"two")
    if len(os.listdir(folder)) != 2:
        pytest.skip("this file system normalises names itself")
    with pytest.raises(UnsupportedPathError, match="same after Unicode NFC normalisation"):
        folder_manifest(folder)


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that keeps byte names")
def test_names_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "latin1"
    folder.mkdir()
    try:
        (Path(os.fsdecode(bytes(folder) + b"/caf\xe9.csv"))).write_bytes(b"x")
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    with pytest.raises(UnsupportedPathError, match="not valid UTF-8"):
        folder_manifest(folder)


# --- manifests -----------------------------------------------------------------------------------


def test_manifest_json_has_the_documented_shape(tmp_path: Path) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    text = manifest.to_json()
    document = json.loads(text)
    assert list(document) == ["version", "kind", "root", "files"]
    assert document["version"] == 1
    assert document["kind"] == "provledger.folder-manifest"
    assert document["root"] == "0x" + manifest.root.hex()
    assert document["files"] == [
        {"path": path, "sha256": "0x" + sha(data).hex(), "size": len(data)}
        for path, data in sorted(DATASET.items())
    ]
    assert "données/été.csv" in text  # UTF-8, not \u escapes
    assert manifest.to_json() == text  # deterministic


def test_manifest_json_round_trip(tmp_path: Path) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    again = FolderManifest.from_json(manifest.to_json())
    assert again == manifest
    assert FolderManifest.from_json(manifest.to_json().encode()) == manifest


def test_manifest_files_may_come_in_any_order_and_hex_in_any_case(tmp_path: Path) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    document = json.loads(manifest.to_json())
    document["files"].reverse()
    document["root"] = document["root"].upper().replace("0X", "0x")
    assert FolderManifest.from_json(json.dumps(document)) == manifest


def _tampered(manifest: FolderManifest, change: str) -> str:
    document: dict[str, Any] = json.loads(manifest.to_json())
    files: list[dict[str, Any]] = document["files"]
    if change == "sha256":
        files[0]["sha256"] = "0x" + sha(b"other bytes").hex()
    elif change == "path":
        files[0]["path"] = "renamed.md"
    elif change == "root":
        document["root"] = "0x" + sha(b"another root").hex()
    elif change == "drop a file":
        del files[-1]
    elif change == "add a file":
        files.append({"path": "zzz.txt", "sha256": "0x" + sha(b"z").hex(), "size": 1})
    return json.dumps(document)


@pytest.mark.parametrize("change", ["sha256", "path", "root", "drop a file", "add a file"])
def test_a_tampered_manifest_is_refused(tmp_path: Path, change: str) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    with pytest.raises(ManifestRootMismatchError, match="not to the claimed root") as caught:
        FolderManifest.from_json(_tampered(manifest, change))
    assert isinstance(caught.value, MalformedManifestError)


def test_sizes_are_informational_and_not_covered_by_the_root(tmp_path: Path) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    document = json.loads(manifest.to_json())
    document["files"][0]["size"] += 1
    loaded = FolderManifest.from_json(json.dumps(document))
    assert loaded.root == manifest.root
    assert loaded.entries[0].size == manifest.entries[0].size + 1


def _document(**changes: Any) -> str:
    document: dict[str, Any] = {
        "version": 1,
        "kind": "provledger.folder-manifest",
        "root": "0x" + "00" * 32,
        "files": [{"path": "a.txt", "sha256": "0x" + sha(b"a").hex(), "size": 1}],
    }
    document.update(changes)
    return json.dumps(document)


def _file(**changes: Any) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {"path": "a.txt", "sha256": "0x" + sha(b"a").hex(), "size": 1}
    entry.update(changes)
    return [entry]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2", "not JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested deeper than 64 levels"),
        ('{"files": ' + "[" * 70 + "]" * 70 + "}", "nested deeper than 64 levels"),
        ("[]", "expected a JSON object"),
        (_document(version=2), "unsupported version 2"),
        (_document(version=True), "unsupported version True"),
        (_document(kind="other"), "kind is 'other'"),
        (_document(root="0x1234"), "root: '0x1234' is not a 32-byte hash"),
        (_document(files=[]), "'files' must be a non-empty list"),
        (_document(files=["a.txt"]), r"files\[0\] must be an object"),
        (_document(files=_file(path="../a.txt")), r"'\.\./a\.txt' is not a manifest path"),
        (_document(files=_file(path="/a.txt")), "it is absolute"),
        (_document(files=_file(path="a//b.txt")), "empty, '.' or '..' segment"),
        (_document(files=_file(path="e\u0301.txt")), "not in Unicode NFC form"),
        (_document(files=_file(path=7)), r"files\[0\]\.path must be text"),
        (_document(files=_file(sha256="0xzz")), r"files\[0\]\.sha256: '0xzz'"),
        (_document(files=_file(size=-1)), r"files\[0\]\.size of 'a.txt' must be a non-negative"),
        (_document(files=_file(size=False)), "must be a non-negative integer, got False"),
        (_document(files=_file() + _file()), "lists it twice"),
    ],
)
def test_malformed_manifests_are_refused(text: str, message: str) -> None:
    with pytest.raises(MalformedManifestError, match=message):
        FolderManifest.from_json(text)


def test_a_manifest_larger_than_the_limit_is_refused_before_it_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = folder_manifest(make_dataset(tmp_path)).to_json()
    monkeypatch.setattr(hashing, "MANIFEST_MAX_BYTES", len(text.encode()) - 1)
    with pytest.raises(MalformedManifestError) as caught:
        FolderManifest.from_json(text)
    assert str(caught.value) == (
        f"Malformed folder manifest: larger than {len(text.encode()) - 1:,} bytes"
    )
    monkeypatch.setattr(hashing, "MANIFEST_MAX_BYTES", len(text.encode()))
    assert FolderManifest.from_json(text).root == folder_manifest(tmp_path / "dataset").root


# --- proving one file ---------------------------------------------------------------------------


def test_every_file_can_be_proven_alone(tmp_path: Path) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    for path, data in DATASET.items():
        proof = file_membership_proof(manifest, path)
        assert verify_file_membership(manifest.root, path, sha(data), proof)
        # What a contract would check: MerkleProof.verify(proof, root, leaf).
        assert verify(manifest.root, folder_leaf_hash(path, sha(data)), proof)
        assert not verify_file_membership(manifest.root, path, sha(data + b"!"), proof)
        assert not verify_file_membership(manifest.root, path + ".bak", sha(data), proof)


def test_a_proof_survives_the_json_round_trip(tmp_path: Path) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    loaded = FolderManifest.from_json(manifest.to_json())
    assert file_membership_proof(loaded, "raw/2024-01.csv") == file_membership_proof(
        manifest, "raw/2024-01.csv"
    )


def test_proof_paths_are_normalised(tmp_path: Path) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    nfd = unicodedata.normalize("NFD", "données/été.csv")
    assert file_membership_proof(manifest, nfd) == file_membership_proof(
        manifest, PurePosixPath("données") / "été.csv"
    )
    assert verify_file_membership(
        manifest.root, nfd, sha(DATASET["données/été.csv"]), file_membership_proof(manifest, nfd)
    )


def test_a_file_not_in_the_manifest_is_named(tmp_path: Path) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    with pytest.raises(FileNotInManifestError, match=r"'raw/2024-03\.csv' is not in the folder"):
        file_membership_proof(manifest, "raw/2024-03.csv")
    with pytest.raises(UnsupportedPathError, match="absolute"):
        file_membership_proof(manifest, "/raw/2024-01.csv")


def test_a_manifest_built_with_a_wrong_root_gives_no_proof(tmp_path: Path) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    forged = FolderManifest(sha(b"forged"), manifest.entries)
    with pytest.raises(ManifestRootMismatchError):
        file_membership_proof(forged, "README.md")


def test_manifest_tree_is_the_folder_tree(tmp_path: Path) -> None:
    manifest = folder_manifest(make_dataset(tmp_path))
    assert manifest.tree.leaf_encoding == FOLDER_LEAF_TYPES
    assert manifest.tree.root == manifest.root


def test_manifest_entries_must_be_sorted_and_valid() -> None:
    a = ManifestEntry("a.txt", sha(b"a"), 1)
    b = ManifestEntry("b.txt", sha(b"b"), 1)
    with pytest.raises(ValueError, match="sorted by path"):
        FolderManifest(sha(b"root"), (b, a))
    with pytest.raises(UnsupportedPathError):
        ManifestEntry("./a.txt", sha(b"a"), 1)
    with pytest.raises(InvalidHashError):
        ManifestEntry("a.txt", b"short", 1)
    assert FolderManifest.from_entries([b, a]).entries == (a, b)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("a/b.txt", "a/b.txt"),
        (unicodedata.normalize("NFD", "é/ü.txt"), "é/ü.txt"),
        (PurePosixPath("x") / "y.csv", "x/y.csv"),
        (".hidden/.file", ".hidden/.file"),
    ],
)
def test_normalise_manifest_path(given: str | PurePosixPath, expected: str) -> None:
    assert normalise_manifest_path(given) == expected


@pytest.mark.parametrize("bad", ["", "/abs", "a/", "a/./b", "a/../b", "a\x00b"])
def test_normalise_manifest_path_refuses(bad: str) -> None:
    with pytest.raises(UnsupportedPathError):
        normalise_manifest_path(bad)


# --- hex helpers -------------------------------------------------------------------------------


VALUE = bytes(range(32))
HEX = VALUE.hex()


@pytest.mark.parametrize(
    "text", [HEX, "0x" + HEX, "0X" + HEX, HEX.upper(), "0x" + HEX.upper(), f"  0x{HEX}\n"]
)
def test_parse_hash32_accepts(text: str) -> None:
    assert parse_hash32(text) == VALUE


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "expected 64 hex digits, got 0"),
        ("0x", "expected 64 hex digits, got 0"),
        (HEX[:-1], "expected 64 hex digits, got 63"),
        ("0x" + HEX + "00", "expected 64 hex digits, got 66"),
        ("0x" + HEX[:-1] + "g", "'g' is not a hex digit"),
        (HEX[:10] + " " + HEX[11:], "' ' is not a hex digit"),
        ("0x" + "\u0660" * 64, "'\u0660' is not a hex digit"),  # Arabic-Indic zero
        ("0x0x" + HEX[4:], "'x' is not a hex digit"),
    ],
)
def test_parse_hash32_refuses_and_quotes_the_input(text: str, reason: str) -> None:
    with pytest.raises(InvalidHashError) as caught:
        parse_hash32(text)
    assert repr(text) in str(caught.value)
    assert reason in str(caught.value)
    assert caught.value.text == text
    assert isinstance(caught.value, InputError)


def test_parse_hash32_refuses_bytes() -> None:
    with pytest.raises(InvalidHashError, match="expected text, got bytes"):
        parse_hash32(VALUE)  # type: ignore[arg-type]


def test_to_hex32() -> None:
    assert to_hex32(VALUE) == "0x" + HEX
    assert parse_hash32(to_hex32(VALUE)) == VALUE
    with pytest.raises(InvalidHashError, match="expected 32 bytes, got 31"):
        to_hex32(VALUE[:31])
