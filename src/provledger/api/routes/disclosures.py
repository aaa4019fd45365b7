"""The disclosure routes: what a holder disclosed of an asset's committed metadata, the holder's
signed presentations, and each presentation as kept.

Whether a presentation is kept is the disclosure service's to decide
(:class:`~provledger.services.disclosed.DisclosureDesk`); these routes read the body and the
signature header.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Query, Request, Response

from provledger.api import problems
from provledger.api.examples import DISCLOSURE_BODY, EXAMPLE_HASH
from provledger.api.gateway import Gateway
from provledger.api.params import AssetIdPath
from provledger.api.streams import read_capped
from provledger.commitments import PRESENTATION_MAX_BYTES
from provledger.params import InvalidParameterError, parse_asset_id, parse_hash
from provledger.services.delivery.requests import SIGNATURE_HEADER
from provledger.services.disclosed import (
    DisclosureDesk,
    DisclosureView,
    disclosure_of,
    parse_disclosure_request,
)
from provledger.services.reads import NotFoundError
from provledger.store.blobs import BlobStore

#: The errors of ``POST /assets/{asset_id}/disclosures``.
DISCLOSURE_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: problems.documented("A signature header or content type that does not parse."),
    401: problems.documented(
        "A signature that is bad, expired, replayed, for another chain, asset or body."
    ),
    403: problems.documented("The signer does not hold the asset at the chain's head."),
    404: problems.documented("The chain knows no such asset."),
    413: problems.documented("A presentation over 1 MiB."),
    422: problems.documented(
        "A presentation that does not read (`invalid_params` names the part) or fails a check "
        "against the chain (it names the check); nothing is kept."
    ),
    503: problems.documented("The gateway has no node to check presentations against."),
}


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The disclosure routes, on ``router``."""
    settings = gateway.settings
    blobs = BlobStore(settings.blob_dir)

    @router.get(
        "/assets/{asset_id}/disclosure",
        response_model=DisclosureView,
        tags=["disclosure"],
        responses={404: problems.documented("No such asset, or no disclosure of its metadata.")},
    )
    async def disclosure(asset_id: AssetIdPath) -> DisclosureView:
        """What the holder disclosed of the asset's committed metadata (its metadata hash now):
        each disclosed field with its value, proved against the on-chain commitment by a
        presentation, and the names of the fields withheld. Only disclosed values are ever
        kept; check a presentation without this gateway with `provledger verify-disclosure`."""
        return disclosure_of(gateway.provenance, parse_asset_id(asset_id))

    @router.post(
        "/assets/{asset_id}/disclosures",
        status_code=201,
        response_model=DisclosureView,
        tags=["disclosure"],
        responses=DISCLOSURE_ERRORS,
        openapi_extra=DISCLOSURE_BODY,
    )
    async def disclose(
        request: Request,
        asset_id: AssetIdPath,
        signature: Annotated[
            str | None,
            Header(
                alias=SIGNATURE_HEADER,
                description="The holder's EIP-712 signed `Disclosure` request (base64url JSON) "
                "naming the asset and the SHA-256 of the body.",
            ),
        ] = None,
    ) -> DisclosureView:
        """Publish a presentation (`provledger disclose` writes it) as the asset's holder at
        the chain's head: it is checked against the chain as `provledger verify-disclosure`
        checks it, then kept in the blob folder and indexed at once, so its disclosed fields
        show on the asset and its title is searched. Nothing is kept of a refused one."""
        asset = parse_asset_id(asset_id)
        signed = parse_disclosure_request(signature)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise InvalidParameterError("content-type", "send the presentation as application/json")
        body = await read_capped(request, PRESENTATION_MAX_BYTES, "body")
        w3 = gateway.w3
        desk = DisclosureDesk(
            w3,
            None if w3 is None else await gateway.node_work.run(gateway.deployment, w3),
            settings.data_room_database_url,
            blobs,
            settings.database_url,
        )
        return await gateway.node_work.run(desk.accept, signed, asset, body)

    @router.get(
        "/assets/{asset_id}/presentation",
        response_class=Response,
        responses={
            200: {"content": {"application/json": {}}},
            404: problems.documented("No such asset, disclosure or presentation of it."),
        },
        tags=["disclosure"],
    )
    async def presentation(
        asset_id: AssetIdPath,
        sha256: Annotated[str | None, Query(max_length=66, examples=[EXAMPLE_HASH])] = None,
    ) -> Response:
        """A presentation (`provledger-disclosure/1`) of the asset's committed metadata (its
        metadata hash now) as it was kept, byte for byte: the one of SHA-256 `sha256`, or the
        first of the disclosure's `presentations`. Save it and check it against any node with
        `provledger verify-disclosure FILE`."""
        shown = disclosure_of(gateway.provenance, parse_asset_id(asset_id))
        wanted = shown.presentations[0] if sha256 is None else parse_hash(sha256, "sha256")
        document = blobs.get(wanted) if wanted in shown.presentations else None
        if document is None:
            raise NotFoundError("presentation", wanted)
        return Response(document, media_type="application/json")
