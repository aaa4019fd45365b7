"""Handlers of the registry's modules: licenses, appraisals, disputes and export permits.

Registered with :func:`~provledger.indexer.handling.handles`, each beside what it reads; the
projector imports this module so that they are registered.
"""

from __future__ import annotations

from provledger.chain.enums import LicenseKind, Ruling, ValuationMethod
from provledger.indexer import rows as ev
from provledger.indexer.handling import Read, asset, handles, require, text
from provledger.store import schema
from provledger.store.records import LogRecord
from provledger.store.workingset import WorkingSet

# ---------------------------------------------------------------- licenses, appraisals


@handles(ev.LicenseGrantedRow)
def _license_granted(ws: WorkingSet, r: LogRecord, e: ev.LicenseGrantedRow) -> None:
    ws.create(
        schema.licenses,
        {
            "license_id": e.license_id,
            "asset_id": e.asset_id,
            "licensor": e.licensor,
            "licensee": e.licensee,
            "kind": LicenseKind(e.kind).name,
            "expires_at": e.expires_at,
            "terms_hash": e.terms_hash,
            "scope": e.scope,
            "granted_block": r.block_number,
            "granted_at": r.block_time,
            "revoked_block": None,
            "revoked_at": None,
            "revocation_reason": None,
            "block_number": r.block_number,
        },
    )


@handles(
    ev.LicenseRevokedRow, reads=lambda e: [(schema.licenses, (e.license_id,)), asset(e.asset_id)]
)
def _license_revoked(ws: WorkingSet, r: LogRecord, e: ev.LicenseRevokedRow) -> None:
    key = (e.license_id,)
    require(ws.get(schema.licenses, key), f"license {e.license_id}", r)
    ws.update(
        schema.licenses,
        key,
        revoked_block=r.block_number,
        revoked_at=r.block_time,
        revocation_reason=e.reason_hash,
    )


def _appraisal_reads(e: ev.AppraisalRecordedRow) -> list[Read]:
    superseded = [(schema.appraisals, (e.supersedes,))] if e.supersedes else []
    return [*superseded, asset(e.asset_id)]


@handles(ev.AppraisalRecordedRow, reads=_appraisal_reads)
def _appraisal(ws: WorkingSet, r: LogRecord, e: ev.AppraisalRecordedRow) -> None:
    ws.create(
        schema.appraisals,
        {
            "appraisal_id": e.appraisal_id,
            "asset_id": e.asset_id,
            "appraiser": e.appraiser,
            "amount": str(e.amount),
            "currency": text(e.currency),
            "method": ValuationMethod(e.method).name,
            "report_hash": e.report_hash,
            "supersedes": e.supersedes or None,
            "superseded_by": None,
            "appraised_at": r.block_time,
            "block_number": r.block_number,
        },
    )
    if e.supersedes:
        previous = (e.supersedes,)
        require(ws.get(schema.appraisals, previous), f"appraisal {e.supersedes}", r)
        ws.update(schema.appraisals, previous, superseded_by=e.appraisal_id)


# ---------------------------------------------------------------- disputes


@handles(ev.DisputeOpenedRow, reads=lambda e: [asset(e.asset_id)])
def _dispute_opened(ws: WorkingSet, r: LogRecord, e: ev.DisputeOpenedRow) -> None:
    ws.create(
        schema.disputes,
        {
            "dispute_id": e.dispute_id,
            "asset_id": e.asset_id,
            "claimant": e.claimant,
            "evidence_hash": e.evidence_hash,
            "status": "OPEN",
            "ruling": None,
            "ruling_hash": None,
            "arbiter": None,
            "opened_block": r.block_number,
            "opened_at": r.block_time,
            "frozen_block": None,
            "ruled_block": None,
            "block_number": r.block_number,
        },
    )


@handles(
    ev.DisputeFrozenRow, reads=lambda e: [(schema.disputes, (e.dispute_id,)), asset(e.asset_id)]
)
def _dispute_frozen(ws: WorkingSet, r: LogRecord, e: ev.DisputeFrozenRow) -> None:
    key = (e.dispute_id,)
    require(ws.get(schema.disputes, key), f"dispute {e.dispute_id}", r)
    ws.update(schema.disputes, key, status="FROZEN", frozen_block=r.block_number, arbiter=e.arbiter)


@handles(
    ev.DisputeRuledRow, reads=lambda e: [(schema.disputes, (e.dispute_id,)), asset(e.asset_id)]
)
def _dispute_ruled(ws: WorkingSet, r: LogRecord, e: ev.DisputeRuledRow) -> None:
    key = (e.dispute_id,)
    require(ws.get(schema.disputes, key), f"dispute {e.dispute_id}", r)
    ws.update(
        schema.disputes,
        key,
        status="RULED",
        ruling=Ruling(e.ruling).name,
        ruling_hash=e.ruling_hash,
        arbiter=e.arbiter,
        ruled_block=r.block_number,
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
    ws.put(
        schema.export_permits,
        {
            "asset_id": e.asset_id,
            "recipient": e.recipient,
            "destination": text(e.destination),
            "expires_at": e.expires_at,
            "approver": e.approver,
            "issued_block": r.block_number,
            "state": "ISSUED",
            "closed_block": None,
            "block_number": r.block_number,
        },
    )


def _close_permit(ws: WorkingSet, r: LogRecord, asset_id: str, recipient: str, state: str) -> None:
    key = (asset_id, recipient)
    require(ws.get(schema.export_permits, key), f"export permit {key}", r)
    ws.update(schema.export_permits, key, state=state, closed_block=r.block_number)


@handles(ev.ExportPermitRevokedRow, reads=_permit_reads)
def _permit_revoked(ws: WorkingSet, r: LogRecord, e: ev.ExportPermitRevokedRow) -> None:
    _close_permit(ws, r, e.asset_id, e.recipient, "REVOKED")


@handles(ev.ExportPermitUsedRow, reads=_permit_reads)
def _permit_used(ws: WorkingSet, r: LogRecord, e: ev.ExportPermitUsedRow) -> None:
    _close_permit(ws, r, e.asset_id, e.recipient, "USED")
