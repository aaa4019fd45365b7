"""Every access is evidence: access records batched into Merkle roots anchored on chain, and
their receipts.

A record's *evidence* is the fields that say who asked what, what was decided and sent, and
at which head (:func:`evidence`). Its **record hash** is SHA-256 of the canonical JSON of those
fields (keys sorted, no spaces, UTF-8); that 32-byte value is the record's content hash in a
batch, whose tree follows ``BatchAnchor``'s conventions (OpenZeppelin's StandardMerkleTree, a
leaf ``keccak256(keccak256(abi.encode(bytes32 recordHash)))``). :func:`anchor_pending` anchors
the records not yet in a batch with ``BatchAnchor.anchor(root, count, manifestURI)``;
:func:`receipt_of` gives one record's receipt, which
:func:`~provledger.services.delivery.receipts.verify_receipt` checks against a node.

Each batch also gets an **access manifest** (``provledger-access-batch/1``, see
:class:`~provledger.store.documents.AccessBatchManifest`): the root, the leaf count and, per
asset, how many of the batch's records are of it, with no requester and no purpose. It goes to
the blob folder and the batch's manifest URI names its SHA-256
(``provledger:access-log:v1:sha256:<hex>``), so the index links the batch to the assets it
covers and :func:`access_batches` lists, per asset, public evidence that its access log exists
and was not rewritten, without revealing the records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import Field
from sqlalchemy import Connection, RowMapping

from provledger.chain.client import Provledger
from provledger.chain.events import BatchAnchored
from provledger.errors import ProvledgerError
from provledger.merkle import StandardMerkleTree
from provledger.params import checksum, to_hex32
from provledger.services.provenance import Provenance
from provledger.services.reads import NotFoundError, require_asset
from provledger.services.views import Address, Finality, Hash, Page
from provledger.store import queries
from provledger.store.access_log import (
    AccessBatch,
    AccessLogStore,
    AccessRecord,
)
from provledger.store.blobs import BlobStore, normalise_hash
from provledger.store.documents import AccessBatchManifest, access_log_uri
from provledger.units import iso_millis

__all__ = [
    "DEFAULT_UNFINISHED_AGE_MS",
    "RECEIPT_FORMAT",
    "AccessBatchView",
    "AccessLogAlteredError",
    "AnchoredBatch",
    "ReceiptNotReadyError",
    "UnknownAccessRecordError",
    "access_batches",
    "access_manifest",
    "anchor_pending",
    "evidence",
    "evidence_hash",
    "iso_millis",
    "manifest_of",
    "receipt_of",
    "record_hash",
]

RECEIPT_FORMAT: Final = "provledger-access-receipt/1"
#: A download unfinished this long after it began is anchored as it stands (cut off).
DEFAULT_UNFINISHED_AGE_MS: Final = 3_600_000


class UnknownAccessRecordError(ProvledgerError):
    """No access record has this id."""

    template = "no access record {record_id}"
    record_id: str


class ReceiptNotReadyError(ProvledgerError):
    """The record is in no anchored batch yet: its receipt exists once the next batch is."""

    template = "access record {record_id} is not anchored yet; its receipt follows the next batch"
    record_id: str


class AccessLogAlteredError(ProvledgerError):
    """The stored records of a batch no longer hash to the root anchored for them."""

    template = "the stored records of access batch {root} no longer hash to its anchored root"
    root: str


# ------------------------------------------------------------------ record hashes


def evidence(record: AccessRecord) -> dict[str, Any]:
    """The fields of ``record`` that its hash covers, as a receipt states them."""
    return {
        "record_id": record.record_id,
        "requester": record.requester,
        "asset_id": record.asset_id,
        "licence_id": record.licence_id,
        "purpose": record.purpose,
        "ranges": record.ranges,
        "path": record.path,
        "bytes": record.bytes,
        "decision": record.decision,
        "rule": record.rule,
        "reason": record.reason,
        "at": iso_millis(record.at_ms),
        "block_number": record.block_number,
    }


def evidence_hash(fields: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical JSON of evidence ``fields``: keys sorted, no spaces, UTF-8."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).digest()


def record_hash(record: AccessRecord) -> bytes:
    """The record hash of ``record``: its content hash as a leaf of a batch."""
    return evidence_hash(evidence(record))


# ------------------------------------------------------------------ anchoring


@dataclass(frozen=True)
class AnchoredBatch:
    """A batch just anchored and stored."""

    batch: AccessBatch
    record_ids: tuple[str, ...]
    """The batch's records, in leaf order."""
    manifest: str = ""
    """SHA-256 of the batch's access manifest (``0x`` hex), which its manifest URI names."""


def anchor_pending(
    store: AccessLogStore,
    ledger: Provledger,
    *,
    limit: int = 10_000,
    older_than_ms: int = DEFAULT_UNFINISHED_AGE_MS,
    blobs: BlobStore | None = None,
) -> AnchoredBatch | None:
    """Anchor up to ``limit`` pending records (see :meth:`AccessLogStore.pending`) as one batch,
    sent by ``ledger``'s account (an active participant), and store it; None if none is pending.

    The batch's access manifest is stored in ``blobs`` (the blob folder the indexer reads)
    before the batch is anchored; without ``blobs`` the URI still names it, and
    :func:`manifest_of` rebuilds it later, to store.

    Raises:
        ContractRevertError: ``BatchAnchor`` refused the batch (the account is not an active
            participant, the contracts are paused); the records stay pending.
        AccessBatchConflictError: another worker batched a record, or a download finished,
            while this batch was anchored; the batch is on chain but not stored, and its
            records stay pending for the next one.
    """
    records = store.pending(limit, older_than_ms)
    if not records:
        return None
    tree = StandardMerkleTree.batch([record_hash(record) for record in records])
    document = _manifest_of(to_hex32(tree.root), records).to_json()
    manifest = "0x" + hashlib.sha256(document).hexdigest() if blobs is None else blobs.put(document)
    receipt = ledger.anchor.anchor(tree.root, tree.leaf_count, access_log_uri(manifest))
    anchored = receipt.event(BatchAnchored)
    block = ledger.w3.eth.get_block(receipt.block_number)
    batch = AccessBatch(
        root=to_hex32(tree.root),
        leaf_count=tree.leaf_count,
        tx_hash=to_hex32(receipt.tx_hash),
        block_number=receipt.block_number,
        anchored_at=int(block["timestamp"]) * 1000,
        submitter=checksum(anchored.submitter),
        chain_id=int(ledger.w3.eth.chain_id),
        contract=checksum(ledger.anchor.address),
    )
    store.assign_batch(batch, records)
    return AnchoredBatch(batch, tuple(record.record_id for record in records), manifest)


def _manifest_of(root: str, records: Sequence[AccessRecord]) -> AccessBatchManifest:
    return AccessBatchManifest.of(root, (record.asset_id for record in records))


def manifest_of(store: AccessLogStore, root: str) -> AccessBatchManifest | None:
    """The access manifest of the stored batch ``root`` (``0x`` and 64 hex digits), rebuilt
    from its records (the same document, byte for byte, as when it was anchored), or None if no
    batch has this root."""
    key = normalise_hash(root)
    if store.batch_of(key) is None:
        return None
    return _manifest_of(key, store.records_of_batch(key))


# ------------------------------------------------------------------ receipts


def receipt_of(store: AccessLogStore, record_id: str) -> dict[str, Any]:
    """The receipt of one access record: its evidence, its leaf and Merkle path, the root and
    where the root was anchored (format :data:`RECEIPT_FORMAT`).

    Raises:
        UnknownAccessRecordError: no record has this id.
        ReceiptNotReadyError: the record is in no anchored batch yet.
        AccessLogAlteredError: the batch's stored records no longer hash to its root.
    """
    record = store.record_of(record_id)
    if record is None:
        raise UnknownAccessRecordError(record_id)
    batch = None if record.batch_root is None else store.batch_of(record.batch_root)
    if batch is None or record.leaf_index is None:
        raise ReceiptNotReadyError(record_id)
    members = store.records_of_batch(batch.root)
    tree = StandardMerkleTree.batch([record_hash(member) for member in members])
    if to_hex32(tree.root) != batch.root:
        raise AccessLogAlteredError(batch.root)
    return {
        "format": RECEIPT_FORMAT,
        "record": evidence(record),
        "leaf": to_hex32(tree.leaf_hash_at(record.leaf_index)),
        "proof": [to_hex32(node) for node in tree.proof(record.leaf_index)],
        "root": batch.root,
        "anchor": {
            "chain_id": batch.chain_id,
            "contract": batch.contract,
            "transaction": batch.tx_hash,
            "block_number": batch.block_number,
            "submitter": batch.submitter,
        },
    }


# ------------------------------------------------------------------ the index's account


@dataclass(frozen=True)
class AccessBatchView:
    """An anchored batch of a data room's access records that covers an asset: public evidence
    that the asset's access log exists and was not rewritten, without its records."""

    root: Hash
    records: Annotated[int, Field(description="How many of the batch's records are the asset's.")]
    leaf_count: Annotated[int, Field(description="How many records the batch holds in all.")]
    submitter: Address
    manifest: Annotated[Hash, Field(description="SHA-256 of the batch's access manifest.")]
    manifest_uri: str
    anchored_at: int
    anchored_tx: Hash
    block_number: int
    finality: Finality


#: The order of :func:`access_batches`: its key columns and their types.
_ACCESS_BATCH_ORDER: Final = (("anchored_at", int), ("root", str))


def access_batches(
    provenance: Provenance, asset_id: int, cursor: str | None, limit: int
) -> Page[AccessBatchView]:
    """The anchored access-log batches that cover the asset, by anchoring time (then root),
    from the index.

    Raises:
        NotFoundError: the index holds no such asset.
        InvalidParameterError: ``cursor`` is not one of this list's.
    """

    def read(conn: Connection, after: list[Any] | None) -> list[RowMapping]:
        return queries.access_batches_of(conn, require_asset(conn, asset_id), after, limit)

    return provenance.page(AccessBatchView, _ACCESS_BATCH_ORDER, cursor, limit, read)


def access_manifest(blobs: BlobStore, sha256: str) -> bytes:
    """The access manifest document stored under ``sha256`` in the blob folder.

    Raises:
        BlobHashError: ``sha256`` is not a SHA-256.
        NotFoundError: the folder holds no access manifest under it.
    """
    key = normalise_hash(sha256)
    document = blobs.get(key)
    intact = document is not None and "0x" + hashlib.sha256(document).hexdigest() == key
    if document is None or not intact or AccessBatchManifest.parse(document) is None:
        raise NotFoundError("access manifest", key)
    return document
