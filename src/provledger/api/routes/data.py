"""The data room's routes: holders upload an asset's bytes and its committed metadata document,
the chain's allowed parties download them (whole, by range, or one file of a folder; the
document also to the registry's authorities on duty), holders read the access log, anyone
checks a receipt.

Who may do what is the data room service's to decide
(:class:`~provledger.services.delivery.service.DataRoom`); these routes read the headers, bridge
the request body to the service's thread, and stream.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated, Any, Final

import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import StreamingResponse

from provledger.api import problems
from provledger.api.gateway import Gateway
from provledger.api.params import AssetIdPath, Cursor, Limit
from provledger.chain.ids import asset_id_hex
from provledger.params import decode_cursor, encode_cursor, parse_asset_id, to_hex32
from provledger.services.delivery import metadata
from provledger.services.delivery.accesslog import evidence
from provledger.services.delivery.requests import SIGNATURE_HEADER
from provledger.services.delivery.service import DataRoom, Grant
from provledger.services.delivery.streams import TAR, ByteRange, parse_range
from provledger.services.views import StoredDataView
from provledger.store.access_log import AccessRecord

SignatureHeader = Annotated[
    str | None,
    Header(
        alias=SIGNATURE_HEADER,
        description="The EIP-712 signed request (base64url JSON), as `provledger data` makes it.",
    ),
]

DATA_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: problems.documented("A signature that is bad, expired, replayed or for another chain."),
    403: problems.documented("The chain gives the signer no right to this data."),
    404: problems.documented("No such asset, or no data (or metadata document) of it in the room."),
    409: problems.documented(
        "A folder asked for as a file, or a file for its files; a metadata document the chain "
        "has since revised."
    ),
    410: problems.documented("The asset was cancelled: its data key is destroyed."),
    416: problems.documented("A range outside the data."),
    451: problems.documented("A legal or export rule forbids delivery (frozen, objected, abroad)."),
    503: problems.documented("The data room is off or lacks its node or master key."),
}


def _body(request: Request) -> Iterator[bytes]:
    """The request body's chunks, read from the event loop by the service's thread."""
    stream = request.stream()

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk


RangeHeader = Annotated[
    str | None, Header(alias="Range", description="One byte range: `bytes=a-b`, `a-` or `-n`.")
]
#: How a data route is declared: its tag and its errors.
DATA_ROUTE: Final[dict[str, Any]] = {"tags": ["data"], "responses": DATA_ERRORS}
#: How a download route is declared: its errors, its partial answer, its streamed body.
DOWNLOAD: Final[dict[str, Any]] = {
    "tags": ["data"],
    "responses": {**DATA_ERRORS, 206: {"description": "The range asked for."}},
    "response_class": StreamingResponse,
}


def _record(record: AccessRecord) -> dict[str, Any]:
    """A log entry: the record's evidence (what its receipt states), and its batch if any."""
    return {**evidence(record), "batch_root": record.batch_root}


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The data room's routes, on ``router`` (when the data room is on)."""
    if not gateway.settings.data_room:
        return

    async def run_in_thread(action: Any, *args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(functools.partial(action, *args, **kwargs))

    @router.put("/data/{asset_id}", status_code=201, response_model=StoredDataView, **DATA_ROUTE)
    async def put_data(
        request: Request, asset_id: AssetIdPath, signature: SignatureHeader = None
    ) -> StoredDataView:
        """Upload an asset's bytes as its holder (a signed `DataUpload`): a file's bytes, or a
        dataset folder as an uncompressed tar stream (`Content-Type: application/x-tar`). They
        are encrypted as they arrive and kept only if they hash to the asset's content hash
        (SHA-256, or the folder's Merkle root); a new upload replaces the earlier one."""
        room = await run_in_thread(gateway.data_room)
        asset = parse_asset_id(asset_id)
        ticket = await run_in_thread(room.authorise_upload, signature, asset)
        folder = request.headers.get("content-type", "").split(";")[0].strip() == TAR
        stored = await run_in_thread(room.store_upload, ticket, _body(request), folder=folder)
        return StoredDataView.of(stored)

    @router.get("/data/{asset_id}/status", **DATA_ROUTE)
    async def data_status(asset_id: AssetIdPath) -> dict[str, Any]:
        """Whether the data room holds the asset's data, and what (no signature needed)."""
        room = await run_in_thread(gateway.data_room)
        asset = parse_asset_id(asset_id)
        stored = await run_in_thread(room.store.object_of, asset)
        shown = asset_id_hex(asset)
        if stored is None:
            return {"asset_id": shown, "stored": False}
        return {"asset_id": shown, "stored": True, **asdict(StoredDataView.of(stored))}

    def download(
        room: DataRoom, grant: Grant, part: ByteRange | None, headers: dict[str, str]
    ) -> Any:
        whole = part is None
        chosen = part or ByteRange(0, grant.size)
        headers = {
            **headers,
            "Accept-Ranges": "bytes",
            "Content-Length": str(chosen.length),
            "Provledger-Access-Record": grant.record.record_id,
        }
        if not whole:
            headers["Content-Range"] = f"bytes {chosen.start}-{chosen.end - 1}/{grant.size}"
        return StreamingResponse(
            room.stream(grant, part),
            status_code=200 if whole else 206,
            media_type="application/octet-stream",
            headers=headers,
        )

    @router.get("/data/{asset_id}", **DOWNLOAD)
    async def get_data(
        asset_id: AssetIdPath,
        signature: SignatureHeader = None,
        range_: RangeHeader = None,
    ) -> Any:
        """Download a file asset's bytes (a signed `DataAccess`), whole or one byte range, if
        the chain allows the signer at the head: its holder, or a licensee of a valid licence,
        under the registry's status, grade and cross-border rules. Every request is logged."""
        room = await run_in_thread(gateway.data_room)
        asset = parse_asset_id(asset_id)
        grant = await run_in_thread(room.authorise_access, signature, asset, ranges=range_ or "")
        part = parse_range(range_, grant.size)
        etag = f'"{to_hex32(grant.stored.content_hash)}"'
        return download(room, grant, part, {"ETag": etag})

    @router.get("/data/{asset_id}/files", **DATA_ROUTE)
    async def list_files(asset_id: AssetIdPath, signature: SignatureHeader = None) -> Any:
        """A dataset folder's files (a signed `DataAccess`): path, SHA-256, size, and each
        file's Merkle path to the registered root."""
        room = await run_in_thread(gateway.data_room)
        asset = parse_asset_id(asset_id)
        grant = await run_in_thread(room.authorise_access, signature, asset, listing=True)
        files = await run_in_thread(room.manifest, grant)
        return {
            "asset_id": asset_id_hex(asset),
            "root": to_hex32(grant.stored.content_hash),
            "files": files,
        }

    @router.get("/data/{asset_id}/files/{path:path}", **DOWNLOAD)
    async def get_file(
        asset_id: AssetIdPath,
        path: Annotated[str, Path(max_length=4096, examples=["tables/2026.csv"])],
        signature: SignatureHeader = None,
        range_: RangeHeader = None,
    ) -> Any:
        """Download one file of a dataset folder (a signed `DataAccess`), whole or by range;
        `Provledger-Merkle-Proof` carries its Merkle path to the registered root."""
        room = await run_in_thread(gateway.data_room)
        asset = parse_asset_id(asset_id)
        grant = await run_in_thread(
            room.authorise_access, signature, asset, path=path, ranges=range_ or ""
        )
        assert grant.file is not None
        proof = await run_in_thread(room.file_proof, grant)
        part = parse_range(range_, grant.size)
        headers = {
            "ETag": f'"{to_hex32(grant.file.sha256)}"',
            "Provledger-File-Sha256": to_hex32(grant.file.sha256),
            "Provledger-Merkle-Proof": ",".join(to_hex32(node) for node in proof),
        }
        return download(room, grant, part, headers)

    @router.put("/data/{asset_id}/metadata", status_code=201, **DATA_ROUTE)
    async def put_metadata(
        request: Request, asset_id: AssetIdPath, signature: SignatureHeader = None
    ) -> dict[str, Any]:
        """Upload an asset's committed metadata document (`provledger-committed-metadata/1`,
        JSON up to 1 MiB) as its holder: a signed `DataUpload` whose content hash is the
        document's root. Kept, encrypted under the asset's data key, only if it reads and its
        root is the asset's metadata hash on chain now, the asset's metadata URI declaring the
        commitment (else 422 naming the field); it replaces an earlier one."""
        room = await run_in_thread(gateway.data_room)
        asset = parse_asset_id(asset_id)
        stored = await run_in_thread(
            metadata.store_metadata, room, signature, asset, _body(request)
        )
        return {
            "asset_id": asset_id_hex(asset),
            "root": to_hex32(stored.root),
            "size": stored.size,
            "stored_at": stored.stored_at,
        }

    @router.get("/data/{asset_id}/metadata", **DOWNLOAD)
    async def get_metadata(
        asset_id: AssetIdPath, signature: SignatureHeader = None, range_: RangeHeader = None
    ) -> Any:
        """An asset's committed metadata document, every field with its salt (a signed
        `DataAccess`), if the chain allows the signer at the head: its holder; a registrar
        while the application is under review; an arbiter while a dispute over the asset is
        open; a licensee under the data's rules. Every request is logged (path `/metadata`)."""
        room = await run_in_thread(gateway.data_room)
        asset = parse_asset_id(asset_id)
        grant = await run_in_thread(
            metadata.authorise_metadata, room, signature, asset, range_ or ""
        )
        part = parse_range(range_, grant.size)
        headers = {
            "ETag": f'"{to_hex32(grant.stored.content_hash)}"',
            "Content-Type": metadata.MEDIA_TYPE,
        }
        return download(room, grant, part, headers)

    @router.get("/data/{asset_id}/log", **DATA_ROUTE)
    async def access_log(
        asset_id: AssetIdPath,
        signature: SignatureHeader = None,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> dict[str, Any]:
        """The access log of an asset, newest first, for its holder (a signed
        `AccessLogRead`): every request, granted or refused, with its rule and bytes."""
        room = await run_in_thread(gateway.data_room)
        after = decode_cursor(cursor, (int, str))
        size = gateway.limit(limit)
        records = await run_in_thread(
            room.access_log,
            signature,
            parse_asset_id(asset_id),
            after=None if after is None else (after[0], after[1]),
            limit=size,
        )
        last = records[-1].page_key if len(records) == size else None
        return {
            "items": [_record(record) for record in records],
            "next_cursor": None if last is None else encode_cursor(last),
        }

    @router.get("/data/receipts/{record_id}", **DATA_ROUTE)
    async def receipt(
        record_id: Annotated[str, Path(pattern="^[0-9a-f]{32}$", examples=["3f9a" * 8])],
    ) -> dict[str, Any]:
        """The receipt of an access record once anchored: the record, its Merkle path and the
        anchoring transaction; `provledger verify-receipt` checks it against a node."""
        room = await run_in_thread(gateway.data_room)
        return dict(await run_in_thread(room.receipt, record_id))
