"""The verification routes: a content hash, an uploaded file, a folder manifest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from provledger.api.examples import EXAMPLE_HASH, MANIFEST_BODY, VERIFY_FILE_BODY
from provledger.api.gateway import Gateway
from provledger.api.streams import read_capped, stream_upload
from provledger.services.verification import ManifestVerdict, Verdict


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The verification routes, on ``router``."""
    verifier = gateway.verifier

    @router.get("/verify", response_model=Verdict, tags=["verify"])
    async def verify_hash(
        hash: Annotated[str, Query(examples=[EXAMPLE_HASH])],
        metadata: Annotated[
            str | None,
            Query(
                max_length=65536,
                description="A metadata document's text, checked against the anchored hash.",
            ),
        ] = None,
    ) -> Verdict:
        """Verify a content hash: registered or not, by whom, since when, holder, status,
        open disputes, valid licenses, and whether a metadata document matches."""
        return verifier.verify_hash(hash, metadata=None if metadata is None else metadata.encode())

    @router.post("/verify", response_model=Verdict, tags=["verify"], openapi_extra=VERIFY_FILE_BODY)
    async def verify_file(request: Request) -> Verdict:
        """Verify an uploaded file: hashed as it streams in (SHA-256), never held whole, up to
        the configured size cap (413 above it)."""
        upload = await stream_upload(request, cap=gateway.settings.upload_max_bytes)
        verdict = verifier.verify_hash(upload.sha256, metadata=upload.metadata)
        return verdict

    @router.post(
        "/verify/manifest",
        response_model=ManifestVerdict,
        tags=["verify"],
        openapi_extra=MANIFEST_BODY,
    )
    async def verify_manifest(request: Request) -> ManifestVerdict:
        """Verify a folder through its manifest: the files must hash to the manifest's root,
        and the root is looked up as a registered dataset."""
        async with gateway.heavy.slot("verify_manifest"):
            body = await read_capped(request, gateway.settings.manifest_max_bytes, "manifest")
            return await gateway.heavy.run(verifier.verify_manifest, body)
