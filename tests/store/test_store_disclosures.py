"""Presentations of committed metadata in the index: the fields they disclose and the names they
withhold (never a withheld value) by root, the disclosed title searched like a metadata
document's."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from provledger.commitments import CommittedDocument, CommittedField, Presentation, canonical_json
from provledger.store import queries, schema
from provledger.store.blobs import BlobStore
from provledger.store.documents import index_documents, presentation_of
from provledger.store.queries import AssetFilter

METADATA: dict[str, Any] = {
    "title": "Jing'an noise levels 2026",
    "category": "environment",
    "stations": ["JA-01", "JA-02"],
    "scale": {"rows": 125000, "unit": "dB"},
    "source": "WITHHELD-MARKER-source",
    "contact": "WITHHELD-MARKER-contact",
}
DOCUMENT = CommittedDocument.of(METADATA)
ROOT = "0x" + DOCUMENT.root.hex()
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def present(*names: str, document: CommittedDocument = DOCUMENT) -> Presentation:
    return document.present(list(names), chain_id=31337, registry=REGISTRY, asset_id=7)


def rows(engine: Engine, table: Any) -> set[tuple[Any, ...]]:
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(select(table))}


def said(presentation: Presentation, sha256: str, *withheld: str) -> set[tuple[Any, ...]]:
    """The rows of ``presentation`` (kept as ``sha256``): its disclosed fields, and the names of
    ``withheld`` without values."""
    return {
        *((ROOT, f.name, canonical_json(f.value).decode(), sha256) for f in presentation.fields),
        *((ROOT, name, None, sha256) for name in withheld),
    }


def test_the_index_holds_what_a_presentation_says(schema_engine: Engine, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    presentation = present("title", "stations", "scale")
    assert sorted(presentation.withheld) == ["category", "contact", "source"]
    sha256 = blobs.put(presentation.to_json())
    assert index_documents(schema_engine, blobs) == (1, 0)  # one title
    assert rows(schema_engine, schema.documents) == {(sha256, "disclosure")}
    assert rows(schema_engine, schema.committed_fields) == said(
        presentation, sha256, "category", "contact", "source"
    )
    assert rows(schema_engine, schema.metadata_titles) == {(ROOT, METADATA["title"])}
    assert rows(schema_engine, schema.title_words) == {
        (word, ROOT) for word in ("jing", "an", "noise", "levels", "2026")
    }
    with schema_engine.connect() as conn:
        read = [
            (row["name"], None if row["value"] is None else orjson.loads(row["value"]))
            for row in queries.committed_fields(conn, ROOT)
        ]
        titled = queries.list_assets(conn, AssetFilter(title_words=("noise",)), None, 10)
    assert read == [
        ("category", None),
        ("contact", None),
        ("scale", METADATA["scale"]),
        ("source", None),
        ("stations", METADATA["stations"]),
        ("title", METADATA["title"]),
    ]
    assert titled == []  # no asset anchors the root in this index: nothing is listed


def test_a_later_presentation_of_the_root_adds_fields(
    schema_engine: Engine, tmp_path: Path
) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    first, second = present("title", "category"), present("category", "source")
    first_sha = blobs.put(first.to_json())
    index_documents(schema_engine, blobs, [first_sha])
    second_sha = blobs.put(second.to_json())
    assert index_documents(schema_engine, blobs, [second_sha]) == (0, 0)  # the title is known
    title = canonical_json(METADATA["title"]).decode()
    assert rows(schema_engine, schema.committed_fields) == {
        (ROOT, "title", title, first_sha),
        *said(second, second_sha),  # category again, and source: from the second now
        *said(present(), first_sha, "contact", "scale", "stations"),  # withheld by both
    }
    assert rows(schema_engine, schema.documents) == {
        (first_sha, "disclosure"),
        (second_sha, "disclosure"),
    }


def test_a_presentation_that_does_not_give_its_root_is_not_indexed(
    schema_engine: Engine, tmp_path: Path
) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    honest = present("title", "category")
    first = honest.fields[0]
    altered = dataclasses.replace(
        honest, fields=(CommittedField(first.name, first.salt, "Other"), *honest.fields[1:])
    )
    forged = blobs.put(altered.to_json())
    assert presentation_of(honest.to_json()) == Presentation.parse(honest.to_json())
    assert presentation_of(altered.to_json()) is None
    assert presentation_of(b'{"format": "provledger-disclosure/1"}') is None
    assert presentation_of(b"not json") is None
    assert index_documents(schema_engine, blobs) == (0, 0)
    assert rows(schema_engine, schema.documents) == {(forged, "other")}
    for table in (schema.committed_fields, schema.metadata_titles, schema.title_words):
        assert rows(schema_engine, table) == set()


def test_only_a_text_title_is_searched(schema_engine: Engine, tmp_path: Path) -> None:
    numbered = CommittedDocument.of({"title": 42, "note": "x"})
    blobs = BlobStore(tmp_path / "blobs")
    blobs.put(present("title", "note", document=numbered).to_json())
    assert index_documents(schema_engine, blobs) == (0, 0)
    assert rows(schema_engine, schema.metadata_titles) == set()
    assert {row[1] for row in rows(schema_engine, schema.committed_fields)} == {"title", "note"}


def test_a_presentation_of_no_field_names_the_withheld_ones(
    schema_engine: Engine, tmp_path: Path
) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    sha256 = blobs.put(present().to_json())
    index_documents(schema_engine, blobs)
    assert rows(schema_engine, schema.committed_fields) == said(present(), sha256, *METADATA)
