"""The asset routes: assets by filter, by hash and by id, an asset's proof bundle, its history,
holders and lineage."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query

from provledger.api.examples import EXAMPLE_HASH, PROOF_RESPONSES
from provledger.api.gateway import Gateway
from provledger.api.params import AddressQuery, AssetIdPath, Cursor, Digits, Limit
from provledger.api.routes.paged import add_asset_page
from provledger.chain.enums import AssetStatus
from provledger.params import INT64_MAX, parse_address, parse_asset_id
from provledger.services import views
from provledger.services.provenance import MAX_LINEAGE_DEPTH, parse_title
from provledger.store import queries
from provledger.store.documents import MAX_TITLE

#: The statuses an asset filter may name: every :data:`AssetStatus` but ``NONE``.
STATUS_PATTERN: Final = f"^({'|'.join(s.name for s in AssetStatus if s != AssetStatus.NONE)})$"


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The asset routes, on ``router``."""
    service = gateway.provenance

    @router.get("/assets", response_model=views.Page[views.AssetView], tags=["assets"])
    async def list_assets(
        holder: AddressQuery = None,
        registrant: AddressQuery = None,
        category: Annotated[int | None, Digits, Query(ge=0, le=65535, examples=[301])] = None,
        grade: Annotated[int | None, Digits, Query(ge=0, le=255, examples=[1])] = None,
        status: Annotated[str | None, Query(pattern=STATUS_PATTERN, examples=["CERTIFIED"])] = None,
        title: Annotated[
            str | None,
            Query(
                max_length=MAX_TITLE,
                description="Words the title of the asset's current metadata document (or the "
                "title disclosed of its committed metadata) must all hold (any order, any case); "
                "documents come from the blob folder.",
                examples=["air quality"],
            ),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> views.Page[views.AssetView]:
        """Assets by holder, registrant, category and grade, status, or metadata title words,
        in asset id order."""
        where = queries.AssetFilter(
            holder=None if holder is None else parse_address(holder, "holder"),
            registrant=None if registrant is None else parse_address(registrant, "registrant"),
            category=category,
            grade=grade,
            status=status,
            title_words=() if title is None else parse_title(title),
        )
        return service.assets(where, cursor, gateway.limit(limit))

    @router.get("/assets/recent", response_model=list[views.AssetView], tags=["assets"])
    async def recent_assets(
        limit: Annotated[int, Digits, Query(ge=1, le=100, examples=[10])] = 10,
    ) -> list[views.AssetView]:
        """The latest registrations, newest first."""
        return service.recent(limit)

    @router.get("/assets/by-hash/{content_hash}", response_model=views.AssetView, tags=["assets"])
    async def asset_by_hash(
        content_hash: Annotated[str, Path(examples=[EXAMPLE_HASH])],
    ) -> views.AssetView:
        """The asset registered for a content hash (a file's SHA-256 or a folder's root)."""
        return service.asset_by_content(content_hash)

    @router.get("/assets/{asset_id}", response_model=views.AssetView, tags=["assets"])
    async def get_asset(asset_id: AssetIdPath) -> views.AssetView:
        """An asset: registration, current holder, status, grade and category, finality."""
        return service.asset(parse_asset_id(asset_id))

    @router.get(
        "/assets/{asset_id}/proof",
        response_model=dict[str, Any],
        tags=["proofs"],
        responses=PROOF_RESPONSES,
    )
    async def proof(asset_id: AssetIdPath) -> dict[str, Any]:
        """A proof bundle: chain id, contract and code hash, transaction, block number and hash,
        log index, the decoded event with its raw topics and data, the Merkle path of a batch
        leaf, and the on-chain state read at a stated block. Check it against any node with
        ``provledger verify-proof``, without this gateway."""
        number = parse_asset_id(asset_id)
        async with gateway.heavy.slot("proof"):
            return await gateway.heavy.run(gateway.proof, number)

    for segment, read, model in (
        ("history", service.history, views.Page[views.EventView]),
        ("holders", service.holders, views.Page[views.HoldingView]),
    ):
        add_asset_page(router, gateway, segment, read, model, "history", HISTORY_PAGES[segment])

    @router.get("/assets/{asset_id}/holder", response_model=views.HolderAtView, tags=["history"])
    async def holder_at(
        asset_id: AssetIdPath,
        block: Annotated[int | None, Digits, Query(ge=0, le=INT64_MAX, examples=[120])] = None,
        time: Annotated[
            int | None, Digits, Query(ge=0, le=INT64_MAX, examples=[1767225600])
        ] = None,
    ) -> views.HolderAtView:
        """Who held the asset at the end of a block, or at a unix time (give one of them)."""
        return service.holder_at(parse_asset_id(asset_id), block=block, timestamp=time)

    @router.get("/assets/{asset_id}/lineage", response_model=views.LineageView, tags=["lineage"])
    async def lineage(
        asset_id: AssetIdPath,
        depth: Annotated[int, Digits, Query(ge=1, le=MAX_LINEAGE_DEPTH, examples=[3])] = 3,
        direction: Annotated[str, Query(pattern="^(up|down|both)$", examples=["both"])] = "both",
    ) -> views.LineageView:
        """Ancestors and descendants with relation kinds, to a depth, as nodes and edges."""
        return service.lineage(parse_asset_id(asset_id), depth=depth, direction=direction)


#: The descriptions of the pages of an asset's history, by path segment.
HISTORY_PAGES: Final = {
    "history": "Every event concerning the asset in chain order, with block, time and transaction.",
    "holders": "The holders of the asset over time, as block ranges.",
}
