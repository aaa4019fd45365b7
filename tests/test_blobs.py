"""The blob folder (content-addressed off-chain documents) and the title search index."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from provledger.cli import app
from provledger.merkle import StandardMerkleTree
from provledger.store import schema
from provledger.store.blobs import BlobHashError, BlobStore, normalise_hash
from provledger.store.documents import BatchManifest, index_documents, title_of, words_of

DOC = b'{"title": "Shanghai Air Quality, hourly (raw)", "license": "CC-BY-4.0"}'


def sha(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def test_a_blob_is_stored_under_its_sha256(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    assert blobs.get(sha(DOC)) is None
    assert blobs.put(DOC) == sha(DOC)
    assert blobs.put(DOC) == sha(DOC)  # a second put is a no-op
    digits = sha(DOC)[2:]
    assert blobs.path(sha(DOC)) == tmp_path / "blobs" / digits[:2] / digits[2:4] / digits
    assert blobs.get(sha(DOC).upper().replace("0X", "0x")) == DOC
    assert list(blobs.hashes()) == [sha(DOC)]
    assert not list(blobs.path(sha(DOC)).parent.glob(".incoming-*"))
    assert list(BlobStore(tmp_path / "none").hashes()) == []


@pytest.mark.parametrize("value", ["", "0x12", "0x" + "g" * 64, "0x" + "1" * 65, "../" * 22])
def test_a_blob_name_must_be_a_sha256(tmp_path: Path, value: str) -> None:
    with pytest.raises(BlobHashError):
        normalise_hash(value)
    with pytest.raises(BlobHashError):
        BlobStore(tmp_path).get(value)


def test_title_words() -> None:
    assert words_of("Shanghai Air-Quality, hourly (RAW) air") == [
        "shanghai",
        "air",
        "quality",
        "hourly",
        "raw",
    ]
    assert words_of("上海 空气质量 2026") == ["上海", "空气质量", "2026"]
    assert words_of("x" * 100) == ["x" * 64]
    assert words_of("!!! ...") == []
    assert title_of(DOC) == "Shanghai Air Quality, hourly (raw)"
    for document in (b"not json", b"[1, 2]", b'{"title": 7}', b'{"title": "  "}', b"{}"):
        assert title_of(document) is None


def test_batch_manifests() -> None:
    leaves = tuple(sha(bytes([n])) for n in range(3))
    manifest = BatchManifest(leaves)
    assert BatchManifest.parse(manifest.to_json()) == manifest
    assert manifest.tree.root == StandardMerkleTree.batch(leaves).root
    for document in (
        b'{"format": "provledger-batch/1", "leaves": []}',
        b'{"format": "provledger-batch/2", "leaves": ["0x' + b"11" * 32 + b'"]}',
        b'{"format": "provledger-batch/1", "leaves": ["0x1234"]}',
        b'{"format": "provledger-batch/1", "leaves": "0x"}',
        b"[]",
        b"nope",
    ):
        assert BatchManifest.parse(document) is None


def test_documents_are_indexed_once(schema_engine: Engine, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    other = b'{"title": "Huangpu river levels"}'
    leaves = (sha(b"a"), sha(b"b"), sha(b"a"))  # a repeated leaf is indexed at its first place
    manifest = BatchManifest(leaves)
    for document in (DOC, other, b"plain text", b'{"title": ["x"]}', manifest.to_json()):
        blobs.put(document)
    assert index_documents(schema_engine, blobs) == (2, 1)
    root = "0x" + manifest.tree.root.hex()
    with schema_engine.connect() as conn:
        found = {tuple(row) for row in conn.execute(select(schema.batch_leaves))}
        kinds = dict(tuple(row) for row in conn.execute(select(schema.documents)))
    assert found == {(sha(b"a"), root, 0), (sha(b"b"), root, 1)}
    assert sorted(kinds.values()) == ["batch", "metadata", "metadata", "other", "other"]
    assert index_documents(schema_engine, blobs) == (0, 0)
    assert index_documents(schema_engine, blobs, [sha(DOC), sha(DOC)]) == (0, 0)
    with schema_engine.connect() as conn:
        titles = {tuple(row) for row in conn.execute(select(schema.metadata_titles))}
        words = sorted(tuple(row) for row in conn.execute(select(schema.title_words)))
    assert titles == {  # no content hash: a metadata document's title is any asset's anchoring it
        (sha(DOC), "Shanghai Air Quality, hourly (raw)", None),
        (sha(other), "Huangpu river levels", None),
    }
    assert words == sorted(
        [(word, sha(DOC)) for word in ("shanghai", "air", "quality", "hourly", "raw")]
        + [(word, sha(other)) for word in ("huangpu", "river", "levels")]
    )


def test_blobs_command(tmp_path: Path) -> None:
    document = tmp_path / "meta.json"
    document.write_bytes(DOC)
    folder = tmp_path / "blobs"
    url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    runner = CliRunner()
    added = runner.invoke(
        app, ["blobs", "add", str(document), "--blob-dir", str(folder), "--database-url", url]
    )
    assert added.exit_code == 0, added.stderr
    assert f"{sha(DOC)}  {document}" in added.stdout
    assert "1 stored" in added.stdout
    assert "learned 1 metadata titles, 0 batch manifests" in added.stdout
    got = runner.invoke(app, ["blobs", "get", sha(DOC), "--blob-dir", str(folder)])
    assert got.exit_code == 0
    assert got.stdout_bytes == DOC
    missing = runner.invoke(app, ["blobs", "get", "0x" + "0" * 64, "--blob-dir", str(folder)])
    assert missing.exit_code != 0
    assert missing.stderr.strip().count("\n") == 0
    assert "no document" in missing.stderr
    unreadable = runner.invoke(
        app, ["blobs", "add", str(tmp_path / "absent.json"), "--blob-dir", str(folder)]
    )
    assert unreadable.exit_code != 0
    assert "cannot read" in unreadable.stderr
    assert unreadable.stderr.strip().count("\n") == 0
