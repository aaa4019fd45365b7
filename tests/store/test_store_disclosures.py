"""Presentations of committed metadata in the index: the fields they disclose and the names they
withhold (never a withheld value) by root and the content hash the header binds it to, never the
header itself; the disclosed title searched like a metadata document's, for the asset of that
content hash only."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from helpers.builders import registration, sha256
from helpers.indexing import TEST_CONFIG, index
from helpers.world import World
from provledger.chain.ids import asset_id_hex
from provledger.commitments import (
    CommittedDocument,
    CommittedField,
    Presentation,
    canonical_json,
    commitment_uri,
)
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
DOCUMENT = CommittedDocument.of(METADATA, sha256("jing'an noise levels.csv"))
ROOT = "0x" + DOCUMENT.root.hex()
BOUND = "0x" + DOCUMENT.content_hash.hex()
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def present(*names: str, document: CommittedDocument = DOCUMENT) -> Presentation:
    return document.present(list(names), chain_id=31337, registry=REGISTRY, asset_id=7)


def rows(engine: Engine, table: Any) -> set[tuple[Any, ...]]:
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(select(table))}


def said(presentation: Presentation, sha256: str, *withheld: str) -> set[tuple[Any, ...]]:
    """The rows of ``presentation`` (kept as ``sha256``): its disclosed fields (not its header),
    and the names of ``withheld`` without values."""
    return {
        *(
            (ROOT, BOUND, f.name, canonical_json(f.value).decode(), sha256)
            for f in presentation.own_fields
        ),
        *((ROOT, BOUND, name, None, sha256) for name in withheld),
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
    assert rows(schema_engine, schema.metadata_titles) == {(ROOT, METADATA["title"], BOUND)}
    assert rows(schema_engine, schema.title_words) == {
        (word, ROOT) for word in ("jing", "an", "noise", "levels", "2026")
    }
    with schema_engine.connect() as conn:
        read = [
            (row["name"], None if row["value"] is None else orjson.loads(row["value"]))
            for row in queries.committed_fields(conn, ROOT, BOUND)
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
        (ROOT, BOUND, "title", title, first_sha),
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
    fields = list(honest.fields)
    at = fields.index(honest.own_fields[0])  # a field of the document's own, not the header
    fields[at] = CommittedField(fields[at].name, fields[at].salt, "Other")
    altered = dataclasses.replace(honest, fields=tuple(fields))
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
    numbered = CommittedDocument.of({"title": 42, "note": "x"}, sha256("numbered.csv"))
    blobs = BlobStore(tmp_path / "blobs")
    blobs.put(present("title", "note", document=numbered).to_json())
    assert index_documents(schema_engine, blobs) == (0, 0)
    assert rows(schema_engine, schema.metadata_titles) == set()
    assert {row[2] for row in rows(schema_engine, schema.committed_fields)} == {"title", "note"}


def test_a_presentation_of_no_field_names_the_withheld_ones(
    schema_engine: Engine, tmp_path: Path
) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    sha256 = blobs.put(present().to_json())
    index_documents(schema_engine, blobs)
    assert rows(schema_engine, schema.committed_fields) == said(present(), sha256, *METADATA)


def test_a_disclosure_counts_only_for_the_asset_its_header_names(
    world: World, schema_engine: Engine, tmp_path: Path
) -> None:
    """A copycat registers other content under a copy of the holder's root: the index keeps the
    presentation's fields and title for the holder's content hash, and the copycat gets none."""
    holder = world.register(
        world.alice,
        registration(
            content_hash=DOCUMENT.content_hash,
            metadata_uri=commitment_uri(False),
            metadata_hash=DOCUMENT.root,
        ),
    )
    copycat = world.register(
        world.bob, registration(metadata_uri=commitment_uri(False), metadata_hash=DOCUMENT.root)
    )
    world.chain.mine(TEST_CONFIG.confirmations + 1)
    index(world.w3, world.deployment, schema_engine.url.render_as_string(hide_password=False))
    blobs = BlobStore(tmp_path / "blobs")
    blobs.put(present("title", "category").to_json())
    assert index_documents(schema_engine, blobs) == (1, 0)
    ids = [asset_id_hex(holder), asset_id_hex(copycat)]
    with schema_engine.connect() as conn:
        assets = queries.get_assets(conn, ids)
        other = str(assets[ids[1]]["content_hash"])
        assert assets[ids[0]]["content_hash"] == BOUND != other
        assert assets[ids[0]]["metadata_hash"] == assets[ids[1]]["metadata_hash"] == ROOT
        assert [row["name"] for row in queries.committed_fields(conn, ROOT, BOUND)] == [
            "category",
            "contact",
            "scale",
            "source",
            "stations",
            "title",
        ]
        assert queries.committed_fields(conn, ROOT, other) == []
        assert queries.asset_titles(conn, ids) == {ids[0]: METADATA["title"]}
        titled = queries.list_assets(conn, AssetFilter(title_words=("noise",)), None, 10)
        assert [row["asset_id"] for row in titled] == [ids[0]]
