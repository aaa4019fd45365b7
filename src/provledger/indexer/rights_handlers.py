"""Handlers of the registry's modules: licenses, appraisals, disputes and export permits,
declared as :mod:`~provledger.indexer.projector` describes (which imports this module)."""

from __future__ import annotations

from typing import Any

from provledger.chain.enums import LicenseKind, Ruling, ValuationMethod
from provledger.indexer import rows as ev
from provledger.indexer.handling import (
    Read,
    asset,
    change,
    create,
    fields,
    handles,
    put,
    stamp,
    text,
)
from provledger.store import schema
from provledger.store.records import LogRecord
from provledger.store.workingset import WorkingSet

# ---------------------------------------------------------------- licenses, appraisals


@handles(ev.LicenseGrantedRow)
def _license_granted(ws: WorkingSet, r: LogRecord, e: ev.LicenseGrantedRow) -> None:
    terms = fields(e, "license_id", "asset_id", "licensor", "licensee", "expires_at", "terms_hash")
    kind = LicenseKind(e.kind).name
    create(ws, schema.licenses, r, **terms, kind=kind, scope=e.scope, **stamp(r, "granted"))


@handles(
    ev.LicenseRevokedRow, reads=lambda e: [(schema.licenses, (e.license_id,)), asset(e.asset_id)]
)
def _license_revoked(ws: WorkingSet, r: LogRecord, e: ev.LicenseRevokedRow) -> None:
    key, what = (e.license_id,), f"license {e.license_id}"
    change(
        ws, schema.licenses, r, key, what, **stamp(r, "revoked"), revocation_reason=e.reason_hash
    )


def _appraisal_reads(e: ev.AppraisalRecordedRow) -> list[Read]:
    superseded = [(schema.appraisals, (e.supersedes,))] if e.supersedes else []
    return [*superseded, asset(e.asset_id)]


@handles(ev.AppraisalRecordedRow, reads=_appraisal_reads)
def _appraisal(ws: WorkingSet, r: LogRecord, e: ev.AppraisalRecordedRow) -> None:
    create(
        ws,
        schema.appraisals,
        r,
        **fields(e, "appraisal_id", "asset_id", "appraiser", "report_hash"),
        amount=str(e.amount),
        currency=text(e.currency),
        method=ValuationMethod(e.method).name,
        supersedes=e.supersedes or None,
        appraised_at=r.block_time,
    )
    if e.supersedes:
        previous, what = (e.supersedes,), f"appraisal {e.supersedes}"
        change(ws, schema.appraisals, r, previous, what, superseded_by=e.appraisal_id)


# ---------------------------------------------------------------- disputes


@handles(ev.DisputeOpenedRow, reads=lambda e: [asset(e.asset_id)])
def _dispute_opened(ws: WorkingSet, r: LogRecord, e: ev.DisputeOpenedRow) -> None:
    claim = fields(e, "dispute_id", "asset_id", "claimant", "evidence_hash")
    create(ws, schema.disputes, r, **claim, status="OPEN", **stamp(r, "opened"))


def _dispute_reads(e: ev.DisputeFrozenRow | ev.DisputeRuledRow) -> list[Read]:
    return [(schema.disputes, (e.dispute_id,)), asset(e.asset_id)]


def _dispute(ws: WorkingSet, r: LogRecord, dispute_id: int, **changes: Any) -> None:
    """Change the dispute ``dispute_id``, which the index must hold."""
    change(ws, schema.disputes, r, (dispute_id,), f"dispute {dispute_id}", **changes)


@handles(ev.DisputeFrozenRow, reads=_dispute_reads)
def _dispute_frozen(ws: WorkingSet, r: LogRecord, e: ev.DisputeFrozenRow) -> None:
    _dispute(ws, r, e.dispute_id, status="FROZEN", frozen_block=r.block_number, arbiter=e.arbiter)


@handles(ev.DisputeRuledRow, reads=_dispute_reads)
def _dispute_ruled(ws: WorkingSet, r: LogRecord, e: ev.DisputeRuledRow) -> None:
    ruling = Ruling(e.ruling).name
    ruled = fields(e, "ruling_hash", "arbiter")
    _dispute(
        ws, r, e.dispute_id, status="RULED", ruling=ruling, **ruled, ruled_block=r.block_number
    )
    if e.ruling == Ruling.TRANSFER_TO_CLAIMANT:
        ws.set_marker(("ruling", r.tx_hash, e.asset_id))


# ---------------------------------------------------------------- export permits


def _permit_reads(
    e: ev.ExportPermitIssuedRow | ev.ExportPermitRevokedRow | ev.ExportPermitUsedRow,
) -> list[Read]:
    return [(schema.export_permits, (e.asset_id, e.recipient)), asset(e.asset_id)]


@handles(ev.ExportPermitIssuedRow, reads=_permit_reads)
def _permit_issued(ws: WorkingSet, r: LogRecord, e: ev.ExportPermitIssuedRow) -> None:
    permit = fields(e, "asset_id", "recipient", "expires_at", "approver")
    permit.update(destination=text(e.destination), issued_block=r.block_number, state="ISSUED")
    put(ws, schema.export_permits, r, **permit)


def _close_permit(ws: WorkingSet, r: LogRecord, asset_id: str, recipient: str, state: str) -> None:
    key = (asset_id, recipient)
    what = f"export permit {key}"
    change(ws, schema.export_permits, r, key, what, state=state, closed_block=r.block_number)


@handles(ev.ExportPermitRevokedRow, reads=_permit_reads)
def _permit_revoked(ws: WorkingSet, r: LogRecord, e: ev.ExportPermitRevokedRow) -> None:
    _close_permit(ws, r, e.asset_id, e.recipient, "REVOKED")


@handles(ev.ExportPermitUsedRow, reads=_permit_reads)
def _permit_used(ws: WorkingSet, r: LogRecord, e: ev.ExportPermitUsedRow) -> None:
    _close_permit(ws, r, e.asset_id, e.recipient, "USED")
