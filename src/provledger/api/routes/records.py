"""The record routes: licenses, appraisals, objections, disputes, certificates and export
permits of an asset, licenses held by an account, participants and batch anchors."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query

from provledger.api.examples import EXAMPLE_HASH
from provledger.api.gateway import Gateway
from provledger.api.params import AddressPath, AddressQuery, AssetIdPath, Cursor, Digits, Limit
from provledger.api.routes.paged import add_asset_page
from provledger.params import INT64_MAX, parse_address, parse_asset_id, parse_hash
from provledger.services import views

#: A page of licenses: an asset's, or an account's.
LicensePage = views.Page[views.LicenseView]


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The record routes, on ``router``."""
    service = gateway.provenance

    @router.get("/assets/{asset_id}/licenses", response_model=LicensePage, tags=["records"])
    async def licenses(
        asset_id: AssetIdPath,
        valid_at: Annotated[
            int | None,
            Digits,
            Query(ge=0, le=INT64_MAX, description="Only licenses valid at this unix time."),
        ] = None,
        valid_now: Annotated[
            bool, Query(description="Only licenses valid at the latest indexed block's time.")
        ] = False,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Any:
        """Licenses on the asset: all, valid at a time, or valid now."""
        when = gateway.verifier.chain_time() if valid_now and valid_at is None else valid_at
        return service.licenses(
            parse_asset_id(asset_id), valid_at=when, cursor=cursor, limit=gateway.limit(limit)
        )

    for segment, read, model in (
        ("appraisals", service.appraisals, views.Page[views.AppraisalView]),
        ("objections", service.objections, views.Page[views.ObjectionView]),
        ("disputes", service.disputes, views.Page[views.DisputeView]),
        ("certificates", service.certificates, views.Page[views.CertificateView]),
    ):
        add_asset_page(router, gateway, segment, read, model, "records", RECORD_PAGES[segment])

    @router.get(
        "/assets/{asset_id}/export-permits",
        response_model=list[views.ExportPermitView],
        tags=["records"],
    )
    async def export_permits(asset_id: AssetIdPath) -> Any:
        """Export permits for the asset: issued, used or revoked."""
        return service.export_permits(parse_asset_id(asset_id))

    @router.get("/accounts/{address}/licenses", response_model=LicensePage, tags=["records"])
    async def licenses_held(
        address: AddressPath,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Any:
        """Licenses granted to an account."""
        return service.licenses_held(
            parse_address(address, "address"), cursor, gateway.limit(limit)
        )

    @router.get(
        "/participants", response_model=views.Page[views.ParticipantView], tags=["participants"]
    )
    async def participants(cursor: Cursor = None, limit: Limit = None) -> Any:
        """Registered participants with their jurisdictions, by address."""
        return service.participants(cursor, gateway.limit(limit))

    @router.get(
        "/participants/{address}", response_model=views.ParticipantView, tags=["participants"]
    )
    async def participant(address: AddressPath) -> Any:
        """One participant."""
        return service.participant(parse_address(address, "address"))

    @router.get("/batches", response_model=views.Page[views.BatchView], tags=["batches"])
    async def batches(
        submitter: AddressQuery = None,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Any:
        """Merkle batch anchors by root, optionally of one submitter."""
        who = None if submitter is None else parse_address(submitter, "submitter")
        return service.batches(who, cursor, gateway.limit(limit))

    @router.get("/batches/{root}", response_model=views.BatchView, tags=["batches"])
    async def batch(root: Annotated[str, Path(examples=[EXAMPLE_HASH])]) -> Any:
        """One batch anchor."""
        return service.batch(parse_hash(root, "root"))


#: The descriptions of the pages of an asset's records, by path segment.
RECORD_PAGES: Final = {
    "appraisals": "Appraisals of the asset; ``current`` marks the one not superseded.",
    "objections": "Objections lodged against the registration during public notice.",
    "disputes": "Disputes over the asset, with freeze and ruling.",
    "certificates": "Certificates issued for the asset, with their registration numbers.",
}
