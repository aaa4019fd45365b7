"""Checking an access receipt, or an access batch's manifest, against a node: no gateway and
no access log needed, check by check.

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
fails the check that reads it. :func:`verify_access_manifest` checks a manifest against the
transaction that anchored it (:data:`MANIFEST_CHECKS`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception

from provledger.chain.client import AnchorClient
from provledger.chain.events import BatchAnchored, decode_batch_anchored
from provledger.errors import ProvledgerError, ServiceUnavailableError
from provledger.merkle import batch_leaf_hash
from provledger.params import InvalidParameterError, checksum, parse_address, parse_hex, to_hex32
from provledger.services.delivery.accesslog import RECEIPT_FORMAT, evidence_hash
from provledger.services.proofs.checks import reach_root
from provledger.services.proofs.verdict import Check, CheckFailedError, Verdict, run_check
from provledger.store.access_log import (
    DECISIONS,
)
from provledger.store.documents import AccessBatchManifest, access_log_uri

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
    reached = reach_root(receipt.leaf, receipt.proof, receipt.root)
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
