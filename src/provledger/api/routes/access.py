"""The access-log routes of the index: per asset, the anchored batches of a data room's access
records that cover it, and their access manifests (public evidence that the log exists and was
not rewritten, without the records; the records themselves are served by the data room)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from provledger.api.examples import EXAMPLE_HASH
from provledger.api.gateway import Gateway
from provledger.api.params import AssetIdPath, Cursor, Limit
from provledger.params import parse_asset_id, parse_hash
from provledger.services.delivery import accesslog
from provledger.services.views import Page
from provledger.store.blobs import BlobStore


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The access-log routes, on ``router``."""
    blobs = BlobStore(gateway.settings.blob_dir)

    @router.get(
        "/assets/{asset_id}/access-batches",
        response_model=Page[accesslog.AccessBatchView],
        tags=["access log"],
    )
    async def access_batches(
        asset_id: AssetIdPath, cursor: Cursor = None, limit: Limit = None
    ) -> Any:
        """Anchored batches of data-room access records that cover the asset, by anchoring time
        (then root): root, anchoring transaction and block, and how many of the batch's records
        are the asset's. A batch is listed only if its anchored manifest URI names the SHA-256 of an
        access manifest (``GET /access-manifests/{sha256}``) that lists the asset."""
        return accesslog.access_batches(
            gateway.provenance, parse_asset_id(asset_id), cursor, gateway.limit(limit)
        )

    @router.get(
        "/access-manifests/{sha256}",
        response_class=Response,
        responses={200: {"content": {"application/json": {}}}},
        tags=["access log"],
    )
    async def access_manifest(sha256: Annotated[str, Path(examples=[EXAMPLE_HASH])]) -> Response:
        """An access manifest (``provledger-access-batch/1``) as stored, byte for byte: its
        SHA-256 is the one the batch's manifest URI names."""
        document = accesslog.access_manifest(blobs, parse_hash(sha256, "sha256"))
        return Response(document, media_type="application/json")
