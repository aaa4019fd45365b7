"""Every access is evidence: access records batched into Merkle roots anchored on chain, and
receipts anyone can check against a node.

A record's *evidence* is the fields that say who asked what, what was decided and sent, and
at which head (:func:`evidence`). Its **record hash** is SHA-256 of the canonical JSON of those
fields (keys sorted, no spaces, UTF-8); that 32-byte value is the record's content hash in a
batch, whose tree follows ``BatchAnchor``'s conventions (OpenZeppelin's StandardMerkleTree, a
leaf ``keccak256(keccak256(abi.encode(bytes32 recordHash)))``). :func:`anchor_pending` anchors
the records not yet in a batch with ``BatchAnchor.anchor(root, count, manifestURI)``;
:func:`receipt_of` gives one record's receipt, and :func:`verify_receipt` checks one, check by
check:

===============  ==============================================================================
``format``       the receipt is well formed (its fields and their types; nothing more)
``chain``        the node serves the receipt's chain id
``contract``     the receipt names the ``BatchAnchor`` the verifier trusts
``record``       the record hashes to the stated leaf
``proof``        the Merkle path leads from the leaf to the root
``batch``        ``batchOf(root)`` exists, was anchored by the stated submitter, and holds
                 enough leaves for a path of that length
``transaction``  the stated transaction succeeded in the stated block and emitted
                 ``BatchAnchored`` of the root from the trusted contract
===============  ==============================================================================

The checks read the trusted contract's address, never the receipt's, so an altered field
fails the check that reads it.

Each batch also gets an **access manifest** (``provledger-access-batch/1``, see
:class:`~provledger.store.documents.AccessBatchManifest`): the root, the leaf count and, per
asset, how many of the batch's records are of it, with no requester and no purpose. It goes to
the blob folder and the batch's manifest URI names its SHA-256
(``provledger:access-log:v1:sha256:<hex>``), so the index links the batch to the assets it
covers and :func:`access_batches` lists, per asset, public evidence that its access log exists
and was not rewritten, without revealing the records. :func:`verify_access_manifest` checks a
manifest against the transaction that anchored it (:data:`MANIFEST_CHECKS`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from hexbytes import HexBytes
from pydantic import Field
from sqlalchemy import Connection, RowMapping
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception

from provledger.chain.client import AnchorClient, Provledger
from provledger.chain.events import BatchAnchored, decode_batch_anchored
from provledger.errors import ProvledgerError, ServiceUnavailableError
from provledger.merkle import StandardMerkleTree, batch_leaf_hash, process_proof
from provledger.params import InvalidParameterError, checksum, parse_address, parse_hex, to_hex32
from provledger.services.proofs.checks import Check, CheckFailedError, Verdict, run_check
from provledger.services.provenance import Provenance
from provledger.services.reads import NotFoundError, require_asset
from provledger.services.views import Address, Finality, Hash, Page
from provledger.store import queries
from provledger.store.access_log import (
    DECISIONS,
    AccessBatch,
    AccessLogStore,
    AccessRecord,
)
from provledger.store.blobs import BlobStore, normalise_hash
from provledger.store.documents import AccessBatchManifest, access_log_uri

__all__ = [
    "CHECKS",
    "DEFAULT_UNFINISHED_AGE_MS",
    "MANIFEST_CHECKS",
    "RECEIPT_FORMAT",
    "AccessBatchView",
    "AccessLogAlteredError",
    "AnchoredBatch",
    "ManifestVerdict",
    "ReceiptNotReadyError",
    "ReceiptVerdict",
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
    "verify_access_manifest",
    "verify_receipt",
]

RECEIPT_FORMAT: Final = "provledger-access-receipt/1"
#: A download unfinished this long after it began is anchored as it stands (cut off).
DEFAULT_UNFINISHED_AGE_MS: Final = 3_600_000

#: Check name -> what passing it proves, in the order checks run.
CHECKS: Final[dict[str, str]] = {
    "format": "the receipt is well formed",
    "chain": "the node serves the receipt's chain",
    "contract": "the receipt names the BatchAnchor the verifier trusts",
    "record": "the record hashes to the stated leaf",
    "proof": "the Merkle path leads from the leaf to the root",
    "batch": "the root is anchored by the stated submitter, with room for the leaf",
    "transaction": "the stated transaction anchored the root in the stated block",
}
#: Check name -> what passing it proves, for an access manifest (:func:`verify_access_manifest`).
MANIFEST_CHECKS: Final[dict[str, str]] = {
    "format": "the document is a provledger-access-batch/1 manifest",
    "transaction": "the stated transaction anchored the manifest's root at the trusted contract",
    "manifest": "the anchored manifest URI names the document's SHA-256",
    "count": "the anchored leaf count is the manifest's",
}

_RECEIPT_KEYS: Final = frozenset({"format", "record", "leaf", "proof", "root", "anchor"})
_ANCHOR_KEYS: Final = frozenset(
    {"chain_id", "contract", "transaction", "block_number", "submitter"}
)
#: Each evidence field and the JSON types it may take.
_EVIDENCE_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "record_id": (str,),
    "requester": (str,),
    "asset_id": (str,),
    "licence_id": (int, type(None)),
    "purpose": (str,),
    "ranges": (str,),
    "path": (str,),
    "bytes": (int,),
    "decision": (str,),
    "rule": (str,),
    "reason": (str,),
    "at": (str,),
    "block_number": (int,),
}
_ISO_MILLIS: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


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


def iso_millis(at_ms: int) -> str:
    """Milliseconds since 1970 as ISO 8601 in UTC, to the millisecond:
    ``2025-05-01T12:00:00.250Z``."""
    moment = _EPOCH + timedelta(milliseconds=at_ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{at_ms % 1000:03d}Z"


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


# ------------------------------------------------------------------ verification


@dataclass(frozen=True)
class ReceiptVerdict(Verdict):
    """Every check of a receipt, in the order of :data:`CHECKS` (``format`` alone when the
    receipt is not well formed)."""

    record_id: str | None
    """The record the receipt is of; None if the receipt does not say."""
    checks: tuple[Check, ...]

    def to_json(self) -> dict[str, Any]:
        """The verdict as JSON."""
        return {"ok": self.ok, "record_id": self.record_id, "checks": self.checks_json()}


@dataclass(frozen=True)
class _Receipt:
    """A well-formed receipt, its hex parsed and its addresses checksummed."""

    record: dict[str, Any]
    leaf: bytes
    proof: tuple[bytes, ...]
    root: bytes
    chain_id: int
    contract: str
    transaction: bytes
    block_number: int
    submitter: str


class _MalformedError(ProvledgerError):
    """The receipt is not well formed; the message names the field."""


def _object(value: object, keys: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _MalformedError(f"{where} must be an object")
    missing, extra = sorted(keys - value.keys()), sorted(value.keys() - keys)
    if missing:
        raise _MalformedError(f"{where} has no {', '.join(missing)}")
    if extra:
        raise _MalformedError(f"{where} has unknown field(s) {', '.join(map(str, extra))}")
    return value


def _hex32(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise _MalformedError(f"{field} must be 0x and 64 hex digits")
    return parse_hex(value, field, 32)


def _address(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _MalformedError(f"{field} must be an address")
    return checksum(parse_address(value, field))


def _whole(value: object, field: str) -> int:
    if type(value) is not int or value < 0:
        raise _MalformedError(f"{field} must be a whole number")
    return value


def _evidence_fields(value: object) -> dict[str, Any]:
    fields = dict(_object(value, frozenset(_EVIDENCE_TYPES), "record"))
    for name, types in _EVIDENCE_TYPES.items():
        item = fields[name]
        if type(item) not in types:
            raise _MalformedError(f"record.{name} must be {' or '.join(t.__name__ for t in types)}")
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise _MalformedError(f"record.{name} is not valid Unicode") from None
    if fields["decision"] not in DECISIONS:
        raise _MalformedError(f"record.decision must be one of {', '.join(sorted(DECISIONS))}")
    if not _ISO_MILLIS.fullmatch(fields["at"]):
        raise _MalformedError("record.at must be a UTC time like 2025-05-01T12:00:00.250Z")
    return fields


def _parse(doc: Mapping[str, Any]) -> _Receipt:
    """``doc`` as a :class:`_Receipt`; :class:`_MalformedError` names the first fault."""
    receipt = _object(doc, _RECEIPT_KEYS, "the receipt")
    if receipt["format"] != RECEIPT_FORMAT:
        raise _MalformedError(f"format must be {RECEIPT_FORMAT!r}")
    anchor = _object(receipt["anchor"], _ANCHOR_KEYS, "anchor")
    proof = receipt["proof"]
    if not isinstance(proof, list):
        raise _MalformedError("proof must be a list")
    try:
        return _Receipt(
            record=_evidence_fields(receipt["record"]),
            leaf=_hex32(receipt["leaf"], "leaf"),
            proof=tuple(_hex32(node, f"proof[{i}]") for i, node in enumerate(proof)),
            root=_hex32(receipt["root"], "root"),
            chain_id=_whole(anchor["chain_id"], "anchor.chain_id"),
            contract=_address(anchor["contract"], "anchor.contract"),
            transaction=_hex32(anchor["transaction"], "anchor.transaction"),
            block_number=_whole(anchor["block_number"], "anchor.block_number"),
            submitter=_address(anchor["submitter"], "anchor.submitter"),
        )
    except InvalidParameterError as error:
        raise _MalformedError(str(error)) from None


def _check_chain(receipt: _Receipt, w3: Web3, trusted: str) -> str:
    actual = int(w3.eth.chain_id)
    if actual != receipt.chain_id:
        raise CheckFailedError(
            f"the node serves chain {actual}, the receipt names {receipt.chain_id}"
        )
    return f"the node serves chain {actual}"


def _check_contract(receipt: _Receipt, w3: Web3, trusted: str) -> str:
    if receipt.contract != trusted:
        raise CheckFailedError(
            f"the receipt names {receipt.contract}, the trusted one is {trusted}"
        )
    return f"BatchAnchor at {trusted}"


def _check_record(receipt: _Receipt, w3: Web3, trusted: str) -> str:
    content = evidence_hash(receipt.record)
    leaf = batch_leaf_hash(content)
    if leaf != receipt.leaf:
        raise CheckFailedError(
            f"the record hashes to {to_hex32(content)}, whose leaf is {to_hex32(leaf)}, "
            f"not the stated {to_hex32(receipt.leaf)}"
        )
    return f"record {receipt.record['record_id']} hashes to {to_hex32(content)}"


def _check_proof(receipt: _Receipt, w3: Web3, trusted: str) -> str:
    reached = process_proof(receipt.leaf, receipt.proof)
    if reached != receipt.root:
        raise CheckFailedError(
            f"the path of {len(receipt.proof)} sibling(s) leads to {to_hex32(reached)}, "
            f"not to root {to_hex32(receipt.root)}"
        )
    return f"{len(receipt.proof)} sibling(s) lead to root {to_hex32(reached)}"


def _check_batch(receipt: _Receipt, w3: Web3, trusted: str) -> str:
    batch = AnchorClient(w3, Web3.to_checksum_address(trusted), None).batch(receipt.root)
    if batch is None:
        raise CheckFailedError(f"root {to_hex32(receipt.root)} is not anchored at {trusted}")
    if checksum(batch.submitter) != receipt.submitter:
        raise CheckFailedError(
            f"the root was anchored by {checksum(batch.submitter)}, "
            f"the receipt says {receipt.submitter}"
        )
    # In a tree of n leaves laid out as OpenZeppelin's, a leaf sits at depth floor(log2 n)
    # or ceil(log2 n): a path of another length names a leaf the batch does not have.
    count, depth = batch.leaf_count, len(receipt.proof)
    if not count.bit_length() - 1 <= depth <= (count - 1).bit_length():
        raise CheckFailedError(
            f"the batch holds {count} leaves; no leaf of it has a path of {depth} sibling(s)"
        )
    return f"anchored by {receipt.submitter}, {count} leaves"


def _check_transaction(receipt: _Receipt, w3: Web3, trusted: str) -> str:
    tx = to_hex32(receipt.transaction)
    try:
        found = w3.eth.get_transaction_receipt(HexBytes(receipt.transaction))
    except TransactionNotFound:
        raise CheckFailedError(f"transaction {tx} is unknown to the node") from None
    if int(found["status"]) != 1:
        raise CheckFailedError(f"transaction {tx} reverted")
    number = int(found["blockNumber"])
    if number != receipt.block_number:
        raise CheckFailedError(
            f"transaction {tx} is in block {number}, the receipt says {receipt.block_number}"
        )
    wanted = [BatchAnchored.TOPIC0, receipt.root]
    for log in found["logs"]:
        topics = [bytes(topic) for topic in log["topics"]]
        if checksum(str(log["address"])) == trusted and topics[:2] == wanted:
            depth = int(w3.eth.block_number) - number + 1
            return f"transaction {tx} anchored the root in block {number} ({depth} confirmation(s))"
    raise CheckFailedError(
        f"transaction {tx} emitted no BatchAnchored of root {to_hex32(receipt.root)} from {trusted}"
    )


_CHECKERS: Final[dict[str, Callable[[_Receipt, Web3, str], str]]] = {
    "chain": _check_chain,
    "contract": _check_contract,
    "record": _check_record,
    "proof": _check_proof,
    "batch": _check_batch,
    "transaction": _check_transaction,
}


def _run(name: str, receipt: _Receipt, w3: Web3, trusted: str) -> Check:
    return run_check(name, CHECKS[name], lambda: _CHECKERS[name](receipt, w3, trusted))


def verify_receipt(doc: Mapping[str, Any], w3: Web3, batch_anchor_address: str) -> ReceiptVerdict:
    """Check the access receipt ``doc`` against the node ``w3`` and the ``BatchAnchor`` at
    ``batch_anchor_address`` (the one the verifier trusts, not the one the receipt names); every
    check of :data:`CHECKS` is run and reported, whatever the others found.

    Raises:
        InvalidParameterError: ``batch_anchor_address`` is not an address.
        Web3Exception: the node answers its latest block with an error (no verdict).
    """
    trusted = checksum(parse_address(batch_anchor_address, "batch_anchor_address"))
    record = doc.get("record") if isinstance(doc, Mapping) else None
    stated_id = record.get("record_id") if isinstance(record, Mapping) else None
    record_id = stated_id if isinstance(stated_id, str) else None
    try:
        receipt = _parse(doc)
    except _MalformedError as error:
        return ReceiptVerdict(record_id, (Check("format", CHECKS["format"], False, str(error)),))
    w3.eth.get_block_number()  # a node failing at its head gives no verdict: raised, not reported
    return ReceiptVerdict(
        record_id,
        (
            Check("format", CHECKS["format"], True, f"a {RECEIPT_FORMAT} receipt"),
            *(_run(name, receipt, w3, trusted) for name in _CHECKERS),
        ),
    )


# ------------------------------------------------------------------ access manifests


@dataclass(frozen=True)
class ManifestVerdict(Verdict):
    """Every check of an access manifest, in the order of :data:`MANIFEST_CHECKS` (``format``
    alone when the document is not a manifest)."""

    root: str | None
    """The batch root the manifest states; None if the document is not a manifest."""
    checks: tuple[Check, ...]

    def to_json(self) -> dict[str, Any]:
        """The verdict as JSON."""
        return {"ok": self.ok, "root": self.root, "checks": self.checks_json()}


def _anchoring_event(
    w3: Web3, transaction: bytes, root: bytes, trusted: str
) -> tuple[BatchAnchored, str]:
    """The ``BatchAnchored`` of ``root`` that ``transaction`` emitted from ``trusted``, and the
    transaction check's reason; :class:`CheckFailedError` says why there is none."""
    tx = to_hex32(transaction)
    try:
        found = w3.eth.get_transaction_receipt(HexBytes(transaction))
    except TransactionNotFound:
        raise CheckFailedError(f"transaction {tx} is unknown to the node") from None
    if int(found["status"]) != 1:
        raise CheckFailedError(f"transaction {tx} reverted")
    for log in found["logs"]:
        topics = [bytes(topic) for topic in log["topics"]]
        if checksum(str(log["address"])) == trusted and topics[:2] == [BatchAnchored.TOPIC0, root]:
            event = decode_batch_anchored(topics, bytes(log["data"]))
            return event, f"transaction {tx} anchored the root in block {found['blockNumber']}"
    raise CheckFailedError(
        f"transaction {tx} emitted no BatchAnchored of root {to_hex32(root)} from {trusted}"
    )


def verify_access_manifest(
    document: bytes, transaction: str, w3: Web3, batch_anchor_address: str
) -> ManifestVerdict:
    """Check the access manifest ``document`` against the ``transaction`` that anchored its
    batch (as :func:`access_batches` lists it) at the ``BatchAnchor`` the verifier trusts: the
    transaction emitted ``BatchAnchored`` of the manifest's root, whose manifest URI names the
    document's SHA-256 and whose leaf count is the manifest's (:data:`MANIFEST_CHECKS`).

    Raises:
        InvalidParameterError: ``transaction`` is not a 32-byte hash, ``batch_anchor_address``
            not an address.
    """
    trusted = checksum(parse_address(batch_anchor_address, "batch_anchor_address"))
    tx = parse_hex(transaction, "transaction", 32)
    manifest = AccessBatchManifest.parse(document)
    if manifest is None:
        reason = f"not a {AccessBatchManifest.__name__} document (provledger-access-batch/1)"
        return ManifestVerdict(None, (Check("format", MANIFEST_CHECKS["format"], False, reason),))
    sha256 = "0x" + hashlib.sha256(document).hexdigest()
    checks = [Check("format", MANIFEST_CHECKS["format"], True, f"manifest {sha256}")]
    title = MANIFEST_CHECKS["transaction"]
    event: BatchAnchored | None = None
    try:
        event, reason = _anchoring_event(w3, tx, bytes.fromhex(manifest.root[2:]), trusted)
        checks.append(Check("transaction", title, True, reason))
    except ServiceUnavailableError:
        raise  # a node that cannot be reached gives no verdict
    except CheckFailedError as failure:
        checks.append(Check("transaction", title, False, str(failure)))
    except (Web3Exception, ProvledgerError) as error:
        checks.append(Check("transaction", title, False, f"the node answered: {error}"))
    uri = access_log_uri(sha256)
    if event is None:
        checks += [
            Check(name, MANIFEST_CHECKS[name], False, "no anchoring event to compare")
            for name in ("manifest", "count")
        ]
    else:
        anchored_uri, anchored_count = event.manifest_uri, event.leaf_count
        checks += [
            Check(
                "manifest",
                MANIFEST_CHECKS["manifest"],
                anchored_uri == uri,
                f"the anchored manifest URI is {anchored_uri!r}; the document's is {uri!r}",
            ),
            Check(
                "count",
                MANIFEST_CHECKS["count"],
                anchored_count == manifest.leaf_count,
                f"the batch anchored {anchored_count} leaves; the manifest states "
                f"{manifest.leaf_count}",
            ),
        ]
    return ManifestVerdict(manifest.root, tuple(checks))


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
