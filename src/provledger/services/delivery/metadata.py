"""The committed metadata document in the data room: the holder keeps it there, and those the
chain allows read it, every field, withheld ones too.

A committed registration anchors only the root of its salted field leaves
(:mod:`provledger.commitments`); the whole document (format ``provledger-committed-metadata/1``)
is the holder's. Uploaded with a ``DataUpload`` signed for its root, it is kept only if it reads
as such a document and its root is the asset's metadata hash on chain at the head, the asset's
metadata URI declaring that kind of commitment. It is encrypted under the asset's data key, as
the data is, so cancelling the asset shreds both; a revision of the metadata (a new root) needs
a new upload.

A read is a ``DataAccess`` decided by :func:`~provledger.services.delivery.rules.
decide_metadata_access` at the head: the holder, a registrar reviewing the application, an
arbiter of an open dispute, or a licensee under the data's rules. Every read, granted or
refused, is in the access log under the path :data:`METADATA_PATH`, so it is in the anchored
batches and has a receipt, as every download does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Final

from provledger.chain.ids import asset_id_hex
from provledger.commitments import METADATA_KIND, CommittedDocument
from provledger.errors import ProvledgerError
from provledger.jsondoc import JsonDocumentError
from provledger.params import InvalidParameterError, to_hex32
from provledger.services.delivery.envelope import (
    WrappedKey,
    encrypt_chunks,
    unwrap_data_key,
    wrap_data_key,
)
from provledger.services.delivery.errors import (
    DeliveryRefusedError,
    MetadataDocumentError,
    MetadataRevisedError,
    NoStoredMetadataError,
    SignedForOtherDataError,
)
from provledger.services.delivery.keys import claim_data_key
from provledger.services.delivery.rules import (
    Decision,
    Refusal,
    decide_metadata_access,
    decide_upload,
)
from provledger.services.delivery.service import DataRoom, Grant, refused
from provledger.services.delivery.streams import capped, now_ms
from provledger.services.disclosure import registered_commitment
from provledger.store.dataroom import DataKeyRow, StoredMetadata, StoredObject

#: The access log's path of a read of the committed metadata document: no folder file's path
#: starts with a slash, so it is never a file's.
METADATA_PATH: Final = "/metadata"
#: The largest committed metadata document the room takes.
MAX_DOCUMENT_BYTES: Final = 1 << 20
#: The media type the document is sent as.
MEDIA_TYPE: Final = "application/json"


def store_metadata(
    room: DataRoom, header: str | None, asset: int, chunks: Iterable[bytes]
) -> StoredMetadata:
    """Keep the committed metadata document ``chunks`` of ``asset`` for its holder (a signed
    ``DataUpload`` whose content hash is the document's root), in place of an earlier one.

    Raises:
        DeliveryRefusedError: the signer does not hold the asset at the head (or it is unknown
            or cancelled).
        UploadTooLargeError: the document passes :data:`MAX_DOCUMENT_BYTES`.
        MetadataDocumentError: the document does not read, or is not the asset's committed
            metadata at the head; nothing is stored.
        SignedForOtherDataError: the signed content hash is not the document's root.
    """
    signed = room.verified(header, "DataUpload", asset)
    decision = decide_upload(room.ledger, asset, signed.signer)
    if not decision.allowed:
        raise refused(asset, decision)
    body = b"".join(capped(chunks, MAX_DOCUMENT_BYTES))
    document = _committed(room, asset, body)
    assert signed.content_hash is not None  # a DataUpload always names one
    if signed.content_hash != document.root:
        raise SignedForOtherDataError(
            f"it signs content {to_hex32(signed.content_hash)}, not the document's root "
            f"{to_hex32(document.root)}"
        )
    data_key = claim_data_key(room.store, room.keys(), asset)
    name = f"assets/{asset_id_hex(asset)}/{uuid.uuid4().hex}/metadata"
    room.storage.put(name, encrypt_chunks(data_key, name, [body]))
    stored = StoredMetadata(asset, document.root, len(body), name, signed.signer, now_ms())
    earlier = room.store.metadata_of(asset)
    wrapped = wrap_data_key(room.keys(), data_key, asset)
    if not room.store.save_metadata(stored, key=(wrapped.key_id, wrapped.blob)):
        room.storage.delete(name)  # cancelled meanwhile: its key is gone for good
        gone = "the asset was cancelled while its metadata document arrived"
        raise DeliveryRefusedError(asset, Refusal.ASSET_CANCELLED, gone, "")
    if earlier is not None:
        room.storage.delete(earlier.object_name)
    return stored


def _committed(room: DataRoom, asset: int, body: bytes) -> CommittedDocument:
    """``body`` as a committed metadata document whose root is ``asset``'s metadata hash at the
    head, the asset's metadata URI declaring its kind of commitment."""
    try:
        document = CommittedDocument.parse(body)
    except InvalidParameterError as error:
        raise MetadataDocumentError(error.field, error.reason) from None
    except JsonDocumentError as error:
        raise MetadataDocumentError("body", error.reason) from None
    ledger = room.ledger
    registered = registered_commitment(
        ledger.w3, ledger.registry.address, ledger.deployment.block_number, asset
    )
    kinds = None if registered is None else registered.kinds
    if registered is None or kinds is None or kinds[0] != METADATA_KIND:
        uri = "" if registered is None else registered.metadata_uri
        raise MetadataDocumentError(
            "kind", f"the asset's metadata URI {uri!r} declares no {METADATA_KIND} commitment"
        )
    if document.root != registered.metadata_hash:
        raise MetadataDocumentError(
            "root",
            f"{to_hex32(document.root)} is not the asset's metadata hash on chain "
            f"({to_hex32(registered.metadata_hash)})",
        )
    return document


def authorise_metadata(room: DataRoom, header: str | None, asset: int, ranges: str = "") -> Grant:
    """Check a read of ``asset``'s committed metadata document (a signed ``DataAccess``) by
    :func:`~provledger.services.delivery.rules.decide_metadata_access` at the head; log it
    whatever the decision. The grant streams as a download does
    (:meth:`~provledger.services.delivery.service.DataRoom.stream`).

    Raises:
        DeliveryRefusedError: the chain does not allow the signer (its rule named).
        NoStoredMetadataError: the room holds no document of the asset.
        MetadataRevisedError: the document held is of an earlier root than the chain's now.
    """
    decision, record = room.checked_access(
        header, asset, decide_metadata_access, METADATA_PATH, ranges
    )
    try:  # granted, yet nothing to send: the record ends with no byte sent
        stored, key = _current(room, asset, decision)
    except ProvledgerError:
        room.log.finish(record.record_id, 0)
        raise
    data_key = unwrap_data_key(room.keys(), WrappedKey(key.key_id, key.wrapped), asset)
    document = StoredObject(
        asset_id=asset,
        kind="file",
        content_hash=stored.root,
        size=stored.size,
        file_count=1,
        object_name=stored.object_name,
        holder=stored.holder,
        stored_at=stored.stored_at,
    )
    return Grant(decision, record, document, None, data_key)


def _current(room: DataRoom, asset: int, decision: Decision) -> tuple[StoredMetadata, DataKeyRow]:
    """The stored document of ``asset`` and its live data key, if the document's root is the
    asset's metadata hash at the decision's block."""
    stored = room.store.metadata_of(asset)
    key = room.store.key_of(asset)
    if stored is None or key is None or key.destroyed_at is not None:
        raise NoStoredMetadataError(asset_id_hex(asset))
    assert decision.facts is not None  # an allowed decision has read the asset
    state = room.ledger.registry.asset(asset, block=decision.facts.block_number)
    current = b"" if state is None else state.metadata_hash
    if current != stored.root:
        raise MetadataRevisedError(
            asset_id_hex(asset), to_hex32(stored.root), to_hex32(current) if current else "none"
        )
    return stored, key
