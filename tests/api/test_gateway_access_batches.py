"""``GET /assets/{asset_id}/access-batches`` and ``GET /access-manifests/{sha256}``: the index's
public account of an asset's anchored access log, read from an index the real indexer built
from anvil, and the manifests checked against the transactions that anchored them."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from helpers.indexing import TEST_CONFIG, source_of
from helpers.stores import engine_for
from helpers.world import World
from provledger.api.app import create_app
from provledger.config import Settings
from provledger.indexer.scanner import Scanner
from provledger.services.delivery.accesslog import AnchoredBatch, anchor_pending
from provledger.services.delivery.receipts import MANIFEST_CHECKS, verify_access_manifest
from provledger.store.access_log import AccessLogStore
from provledger.store.blobs import BlobStore
from provledger.store.documents import access_log_uri
from provledger.store.index import IndexStore

pytestmark = pytest.mark.anvil


@dataclass(frozen=True)
class Served:
    """Two assets, two anchored access batches (asset ``a`` in both, ``b`` in the second), the
    index of them and the gateway over it."""

    world: World
    a: int
    b: int
    batches: tuple[AnchoredBatch, AnchoredBatch]
    client: TestClient

    def verify(self, document: bytes, transaction: str) -> dict[str, Any]:
        anchor = self.world.erin.anchor.address
        return verify_access_manifest(document, transaction, self.world.w3, anchor).to_json()


def _log_requests(log: AccessLogStore, world: World, *assets: int) -> None:
    for asset in assets:
        log.record(
            requester=world.bob.address,
            asset_id=asset,
            licence_id=None,
            purpose="evaluation",
            ranges="",
            path="",
            decision="refused",
            rule="NoValidLicence",
            reason="no licence",
            block_number=world.w3.eth.block_number,
        )


def _anchor(log: AccessLogStore, world: World, blobs: BlobStore) -> AnchoredBatch:
    batch = anchor_pending(log, world.erin, blobs=blobs)
    assert batch is not None
    return batch


@pytest.fixture
def served(anvil_world: World, tmp_path: Path) -> Iterator[Served]:
    world, blobs = anvil_world, BlobStore(tmp_path / "blobs")
    a, b = world.register(world.alice), world.register(world.alice)
    with AccessLogStore.open(f"sqlite:///{tmp_path / 'access.sqlite'}") as log:
        _log_requests(log, world, a, a)
        first = _anchor(log, world, blobs)
        _log_requests(log, world, b, a, b)
        second = _anchor(log, world, blobs)
    url = str(tmp_path / "index.sqlite")
    store = IndexStore(engine_for(url))
    Scanner(source_of(world.w3), store, world.deployment, config=TEST_CONFIG, blobs=blobs).run(
        once=True, wait_for_lock=False
    )
    world.deployment.save(tmp_path / "deployments")
    settings = Settings(
        database_url=url,
        deployments_dir=tmp_path / "deployments",
        blob_dir=tmp_path / "blobs",
        confirmations=TEST_CONFIG.confirmations,
        finality_depth=TEST_CONFIG.finality_depth,
    )
    app = create_app(settings, w3=world.w3)
    with TestClient(app) as client:
        yield Served(world, a, b, (first, second), client)
    app.state.gateway.engine.dispose()


def _expected(served: Served, batch: AnchoredBatch, records: int) -> dict[str, Any]:
    anchored = batch.batch
    return {
        "root": anchored.root,
        "records": records,
        "leaf_count": anchored.leaf_count,
        "submitter": served.world.erin.address,
        "manifest": batch.manifest,
        "manifest_uri": access_log_uri(batch.manifest),
        "anchored_at": anchored.anchored_at // 1000,
        "anchored_tx": anchored.tx_hash,
        "block_number": anchored.block_number,
        "finality": _finality(served.world.w3.eth.block_number - anchored.block_number),
    }


def _finality(depth: int) -> str:
    """What a record ``depth`` blocks under the head is, by the test index's thresholds."""
    if depth >= TEST_CONFIG.finality_depth:
        return "final"
    return "safe" if depth >= TEST_CONFIG.confirmations else "pending"


def test_an_asset_lists_the_anchored_access_batches_that_cover_it(served: Served) -> None:
    first, second = served.batches
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        response = served.client.get(f"/assets/{served.a}/access-batches", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    items = [item for page in pages for item in page]
    expected = [_expected(served, first, 2), _expected(served, second, 1)]
    expected.sort(key=lambda item: (item["anchored_at"], item["root"]))  # the list's order
    assert items == expected
    assert len(pages) == 3  # two full pages of one, then an empty last page
    only_b = served.client.get(f"/assets/{served.b}/access-batches").json()
    assert [item["records"] for item in only_b["items"]] == [2]
    assert only_b["next_cursor"] is None


def test_unknown_assets_and_foreign_cursors_are_problems(served: Served) -> None:
    unknown = served.client.get("/assets/12345/access-batches")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    bad = served.client.get(f"/assets/{served.a}/access-batches", params={"cursor": "nonsense"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    absent = served.client.get("/access-manifests/0x" + "00" * 32)
    assert absent.status_code == 404
    assert served.client.get("/access-manifests/0x12").status_code == 400


def test_a_served_manifest_verifies_against_its_anchoring_transaction(served: Served) -> None:
    first, second = served.batches
    response = served.client.get(f"/access-manifests/{first.manifest}")
    assert response.status_code == 200
    document = response.content
    verdict = served.verify(document, first.batch.tx_hash)
    assert verdict["ok"], verdict
    assert verdict["root"] == first.batch.root
    assert [check["name"] for check in verdict["checks"]] == list(MANIFEST_CHECKS)

    failed = served.verify(document, second.batch.tx_hash)  # another batch's transaction
    assert [c["name"] for c in failed["checks"] if not c["passed"]] == [
        "transaction",
        "manifest",
        "count",
    ]

    altered = orjson.loads(document)
    altered["assets"][0]["records"], altered["leaf_count"] = 3, 3  # more records than anchored
    rewritten = served.verify(orjson.dumps(altered), first.batch.tx_hash)
    assert [c["name"] for c in rewritten["checks"] if not c["passed"]] == ["manifest", "count"]

    assert served.verify(b'{"format": "provledger-batch/1"}', first.batch.tx_hash)["checks"] == [
        {
            "name": "format",
            "title": MANIFEST_CHECKS["format"],
            "passed": False,
            "reason": "not a AccessBatchManifest document (provledger-access-batch/1)",
        }
    ]
