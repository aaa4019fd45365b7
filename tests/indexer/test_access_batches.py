"""The index links anchored access-log batches to the assets they cover, through the access
manifest the batch's URI names (:class:`provledger.store.documents.AccessBatchManifest`): when
the indexer writes the batch and the blob folder holds the manifest, or when the manifest is
learned later; never through a document the chain does not name."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import orjson
import pytest
from sqlalchemy import RowMapping

from helpers.indexing import TEST_CONFIG, source_of
from helpers.stores import engine_for
from helpers.world import World
from provledger.chain.ids import asset_id_hex
from provledger.indexer.scanner import Scanner
from provledger.services.delivery.accesslog import AnchoredBatch, anchor_pending, manifest_of
from provledger.store import queries
from provledger.store.access_log import AccessLogStore
from provledger.store.blobs import BlobStore
from provledger.store.documents import (
    AccessBatchManifest,
    access_log_uri,
    index_documents,
    named_manifest,
)
from provledger.store.index import IndexStore

pytestmark = pytest.mark.anvil

ASSET_A: Final = 0xA
ASSET_B: Final = 0xB
ROOT: Final = "0x" + "ab" * 32


_key = asset_id_hex


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AccessLogStore]:
    with AccessLogStore.open(f"sqlite:///{tmp_path / 'access.sqlite'}") as opened:
        yield opened


def _log_requests(log: AccessLogStore, world: World, *assets: int) -> None:
    for asset in assets:
        log.record(
            requester=world.bob.address,
            asset_id=asset,
            licence_id=None,
            purpose="a purpose the index never sees",
            ranges="",
            path="",
            decision="refused",
            rule="NoValidLicence",
            reason="no licence",
            block_number=world.w3.eth.block_number,
        )


def _anchor(log: AccessLogStore, world: World, blobs: BlobStore | None) -> AnchoredBatch:
    batch = anchor_pending(log, world.erin, blobs=blobs)
    assert batch is not None
    return batch


def _index(world: World, url: str, blobs: BlobStore | None) -> None:
    scanner = Scanner(
        source_of(world.w3),
        IndexStore(engine_for(url)),
        world.deployment,
        config=TEST_CONFIG,
        blobs=blobs,
    )
    scanner.run(once=True, wait_for_lock=False)


def _covering(url: str, asset: int) -> list[RowMapping]:
    with engine_for(url).connect() as conn:
        return queries.access_batches_of(conn, _key(asset), None, 100)


def _shown(rows: list[RowMapping]) -> list[tuple[Any, ...]]:
    return [(row["root"], row["records"], row["leaf_count"], row["manifest"]) for row in rows]


# ------------------------------------------------------------------ the manifest document


def test_an_access_manifest_is_canonical_and_names_no_requester() -> None:
    manifest = AccessBatchManifest.of(ROOT, [_key(ASSET_B), _key(ASSET_A), _key(ASSET_B)])
    assert manifest == AccessBatchManifest(ROOT, 3, ((_key(ASSET_A), 1), (_key(ASSET_B), 2)))
    assert manifest.to_json() == (
        b'{"assets":[{"asset_id":"' + _key(ASSET_A).encode() + b'","records":1},'
        b'{"asset_id":"' + _key(ASSET_B).encode() + b'","records":2}],'
        b'"format":"provledger-access-batch/1","leaf_count":3,"root":"' + ROOT.encode() + b'"}'
    )
    assert AccessBatchManifest.parse(manifest.to_json()) == manifest


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"format": "provledger-batch/1"}, "another format"),
        ({"leaf_count": 4}, "records that do not add up to the leaf count"),
        ({"leaf_count": True}, "a leaf count that is not a number"),
        ({"root": "0x12"}, "a root that is not 32 bytes"),
        ({"assets": []}, "no asset"),
        (
            {"assets": [{"asset_id": _key(2), "records": 2}, {"asset_id": _key(1), "records": 1}]},
            "assets out of order",
        ),
        (
            {"assets": [{"asset_id": _key(1), "records": 3}, {"asset_id": _key(2), "records": 0}]},
            "an asset with no record",
        ),
        ({"assets": [{"asset_id": _key(1), "records": 3, "purpose": "x"}]}, "an extra field"),
    ],
)
def test_a_malformed_access_manifest_is_not_one(change: dict[str, Any], why: str) -> None:
    document = {
        "format": "provledger-access-batch/1",
        "root": ROOT,
        "leaf_count": 3,
        "assets": [{"asset_id": _key(1), "records": 3}],
    }
    assert AccessBatchManifest.parse(orjson.dumps(document)) is not None
    assert AccessBatchManifest.parse(orjson.dumps(document | change)) is None, why


def test_a_manifest_uri_names_its_manifest() -> None:
    sha256 = "0x" + "cd" * 32
    assert access_log_uri(sha256) == "provledger:access-log:v1:sha256:" + "cd" * 32
    assert named_manifest(access_log_uri(sha256)) == sha256
    assert named_manifest("sha256:" + "CD" * 32) == sha256  # a registration batch's
    assert named_manifest("provledger:access-log:v1") is None
    assert named_manifest("sha256:nothex") is None
    assert named_manifest("ipfs://bafy") is None


# ------------------------------------------------------------------ the index


def test_the_indexer_links_an_anchored_access_batch_to_its_assets(
    anvil_world: World, log: AccessLogStore, new_database: Any, tmp_path: Path
) -> None:
    world, blobs, url = anvil_world, BlobStore(tmp_path / "blobs"), new_database()
    _log_requests(log, world, ASSET_A, ASSET_B, ASSET_A)
    anchored = _anchor(log, world, blobs)
    stored = blobs.get(anchored.manifest)
    assert stored is not None
    assert "0x" + hashlib.sha256(stored).hexdigest() == anchored.manifest
    assert b"purpose" not in stored
    assert b"requester" not in stored
    rebuilt = manifest_of(log, anchored.batch.root)
    assert rebuilt is not None
    assert rebuilt.to_json() == stored
    _index(world, url, blobs)
    root, manifest = anchored.batch.root, anchored.manifest
    assert _shown(_covering(url, ASSET_A)) == [(root, 2, 3, manifest)]
    assert _shown(_covering(url, ASSET_B)) == [(root, 1, 3, manifest)]
    (row,) = _covering(url, ASSET_A)
    assert row["anchored_tx"] == anchored.batch.tx_hash
    assert row["submitter"] == world.erin.address.lower()
    assert row["manifest_uri"] == access_log_uri(manifest)
    assert _covering(url, 0xC) == []


def test_a_manifest_stored_after_its_batch_is_linked_once_learned(
    anvil_world: World, log: AccessLogStore, new_database: Any, tmp_path: Path
) -> None:
    world, blobs, url = anvil_world, BlobStore(tmp_path / "blobs"), new_database()
    _log_requests(log, world, ASSET_A)
    anchored = _anchor(log, world, None)  # the URI names the manifest; nobody stored it
    _index(world, url, blobs)
    assert _covering(url, ASSET_A) == []
    manifest = manifest_of(log, anchored.batch.root)
    assert manifest is not None
    sha256 = blobs.put(manifest.to_json())  # as `provledger blobs add` does
    assert sha256 == anchored.manifest
    assert index_documents(engine_for(url), blobs, [sha256]) == (0, 1)
    assert _shown(_covering(url, ASSET_A)) == [(anchored.batch.root, 1, 1, sha256)]


def test_a_document_the_chain_does_not_name_links_nothing(
    anvil_world: World, log: AccessLogStore, new_database: Any, tmp_path: Path
) -> None:
    world, blobs, url = anvil_world, BlobStore(tmp_path / "blobs"), new_database()
    _log_requests(log, world, ASSET_A)
    anchored = _anchor(log, world, blobs)
    # A planted manifest of the same batch that claims another asset: its hash is on no chain.
    planted = AccessBatchManifest.of(anchored.batch.root, [_key(ASSET_B)]).to_json()
    # A batch whose URI names a manifest that states another leaf count than it anchored.
    liar = AccessBatchManifest.of(ROOT, [_key(ASSET_B)] * 2).to_json()
    world.erin.anchor.anchor(bytes.fromhex(ROOT[2:]), 5, access_log_uri(blobs.put(liar)))
    blobs.put(planted)
    _index(world, url, blobs)
    index_documents(engine_for(url), blobs)
    assert _covering(url, ASSET_B) == []
    assert _shown(_covering(url, ASSET_A)) == [(anchored.batch.root, 1, 1, anchored.manifest)]
