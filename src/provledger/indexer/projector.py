"""The projector: events in chain order -> projection rows.

It works on a :class:`~provledger.store.workingset.WorkingSet`: rows are loaded in bulk for the
keys a batch touches, changed in memory by one handler per event type, and written back by the
store in one transaction with the events and the checkpoint. Handlers are plain functions of
(working set, log record, event row in storage form); nothing here issues SQL.

Each handler is registered with :func:`~provledger.indexer.handling.handles` together with the
rows it reads, and :func:`touched_keys` derives a batch's bulk load from those declarations, so
adding an event means writing one handler. This module holds the handlers of the asset registry,
the registration office and batch anchors; :mod:`~provledger.indexer.rights_handlers` and
:mod:`~provledger.indexer.market_handlers` hold the others. Events that change no projection
are declared at the end, each with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from provledger.chain.enums import AssetStatus, Channel, RegistrationType, Relation
from provledger.indexer import market_handlers, rights_handlers
from provledger.indexer import rows as ev
from provledger.indexer.decoding import ZERO_ADDRESS
from provledger.indexer.handling import (
    EVENTS_ONLY,
    HANDLERS,
    ProjectionError,
    asset,
    asset_key,
    handles,
    ignores,
    require,
    setting,
    text,
    touched_keys,
    unhandled_row_types,
)
from provledger.store import schema
from provledger.store.records import LogRecord
from provledger.store.workingset import Key, WorkingSet

__all__ = [
    "EVENTS_ONLY",
    "ProjectionError",
    "apply",
    "holding_keys",
    "touched_keys",
    "unhandled_row_types",
]

#: The modules whose import registers the rest of the handlers.
HANDLER_MODULES = (market_handlers, rights_handlers)


def apply(ws: WorkingSet, records: Sequence[LogRecord]) -> None:
    """Apply ``records`` (in chain order) to the working set."""
    handlers = HANDLERS
    for record in records:
        registration = handlers.get(type(record.row))
        ws.block = record.block_number
        if registration is not None:
            registration.handler(ws, record, record.row)


def holding_keys(ws: WorkingSet, records: Iterable[LogRecord]) -> set[Key]:
    """Open holding periods that transfers in ``records`` will close (after assets are loaded):
    the transfer handler's second read, which depends on the assets' rows."""
    keys: set[Key] = set()
    for record in records:
        row = record.row
        if isinstance(row, ev.TransferRow) and row.from_ != ZERO_ADDRESS:
            current = ws.get(schema.assets, (row.token_id,))
            if current is not None:
                keys.add((row.token_id, current["holder_since_block"], current["holder_since_log"]))
    return keys


# ---------------------------------------------------------------- participants, roles, settings


@handles(ev.ParticipantRegisteredRow)
def _participant_registered(ws: WorkingSet, r: LogRecord, e: ev.ParticipantRegisteredRow) -> None:
    ws.create(
        schema.participants,
        {
            "account": e.account,
            "jurisdiction": text(e.jurisdiction),
            "name_hash": e.name_hash,
            "status": "ACTIVE",
            "registered_block": r.block_number,
            "registered_at": r.block_time,
            "suspension_reason": None,
            "block_number": r.block_number,
        },
    )


@handles(ev.ParticipantSuspendedRow, reads=lambda e: [(schema.participants, (e.account,))])
def _participant_suspended(ws: WorkingSet, r: LogRecord, e: ev.ParticipantSuspendedRow) -> None:
    key = (e.account,)
    require(ws.get(schema.participants, key), "participant", r)
    ws.update(schema.participants, key, status="SUSPENDED", suspension_reason=e.reason_hash)


@handles(ev.ParticipantReinstatedRow, reads=lambda e: [(schema.participants, (e.account,))])
def _participant_reinstated(ws: WorkingSet, r: LogRecord, e: ev.ParticipantReinstatedRow) -> None:
    key = (e.account,)
    require(ws.get(schema.participants, key), "participant", r)
    ws.update(schema.participants, key, status="ACTIVE", suspension_reason=None)


@handles(ev.CategoryListingChangedRow, reads=lambda e: [(schema.categories, (e.category,))])
def _category(ws: WorkingSet, r: LogRecord, e: ev.CategoryListingChangedRow) -> None:
    ws.put(
        schema.categories,
        {"code": e.category, "listed": e.listed, "block_number": r.block_number},
    )


def _role(ws: WorkingSet, r: LogRecord, role: str, account: str, by: str, granted: bool) -> None:
    ws.put(
        schema.roles,
        {
            "role": role,
            "account": account,
            "granted": granted,
            "changed_by": by,
            "block_number": r.block_number,
        },
    )


@handles(ev.RoleGrantedRow, reads=lambda e: [(schema.roles, (e.role, e.account))])
def _role_granted(ws: WorkingSet, r: LogRecord, e: ev.RoleGrantedRow) -> None:
    _role(ws, r, e.role, e.account, e.sender, True)


@handles(ev.RoleRevokedRow, reads=lambda e: [(schema.roles, (e.role, e.account))])
def _role_revoked(ws: WorkingSet, r: LogRecord, e: ev.RoleRevokedRow) -> None:
    _role(ws, r, e.role, e.account, e.sender, False)


@handles(ev.PausedRow)
def _paused(ws: WorkingSet, r: LogRecord, e: ev.PausedRow) -> None:
    setting(ws, r, "paused", "true")


@handles(ev.UnpausedRow)
def _unpaused(ws: WorkingSet, r: LogRecord, e: ev.UnpausedRow) -> None:
    setting(ws, r, "paused", "false")


@handles(ev.BaseURIUpdatedRow)
def _base_uri(ws: WorkingSet, r: LogRecord, e: ev.BaseURIUpdatedRow) -> None:
    setting(ws, r, "base_uri", e.base_uri)


@handles(ev.NoticePeriodChangedRow)
def _notice_period(ws: WorkingSet, r: LogRecord, e: ev.NoticePeriodChangedRow) -> None:
    setting(ws, r, "notice_period", str(e.new_period))


@handles(ev.ModulesUpdatedRow)
def _modules(ws: WorkingSet, r: LogRecord, e: ev.ModulesUpdatedRow) -> None:
    setting(ws, r, "license_registry", e.license_registry)
    setting(ws, r, "export_control", e.export_control)


# ---------------------------------------------------------------- assets


@handles(ev.AssetRegisteredRow, creates=lambda e: [asset(e.asset_id)])
def _asset_registered(ws: WorkingSet, r: LogRecord, e: ev.AssetRegisteredRow) -> None:
    ws.create(
        schema.assets,
        {
            "asset_id": e.asset_id,
            "content_hash": e.content_hash,
            "registrant": e.registrant,
            "holder": e.registrant,
            "holder_since_block": r.block_number,
            "holder_since_log": r.log_index,
            "category": e.category,
            "grade": e.grade,
            "status": "APPLIED",
            "under_objection": False,
            "frozen": False,
            "metadata_uri": e.metadata_uri,
            "metadata_hash": e.metadata_hash,
            "metadata_version": 1,
            "channel": Channel(e.channel).name,
            "submitter": e.submitter,
            "batch_root": None,
            "notice_ends_at": None,
            "registration_number": None,
            "registered_block": r.block_number,
            "registered_at": r.block_time,
            "registered_tx": r.tx_hash,
            "block_number": r.block_number,
        },
    )


@handles(ev.TransferRow, reads=lambda e: [asset(e.token_id)])
def _transfer(ws: WorkingSet, r: LogRecord, e: ev.TransferRow) -> None:
    key = asset_key(ws, r, e.token_id)
    if e.from_ == ZERO_ADDRESS:
        via = "REGISTRATION"
    else:
        via = "RULING" if ws.take_marker(("ruling", r.tx_hash, e.token_id)) else "TRANSFER"
        closing = {"to_block": r.block_number, "to_log": r.log_index, "to_time": r.block_time}
        current = ws.known(schema.assets, key)
        if current is not None and "holder_since_block" in current:
            period = (e.token_id, current["holder_since_block"], current["holder_since_log"])
            if not ws.blind:
                require(ws.get(schema.holdings, period), f"holding of {e.token_id}", r)
            ws.update(schema.holdings, period, **closing)
        else:  # blind, and the open holding is stored by an earlier batch
            ws.update_where(schema.holdings, {"asset_id": e.token_id, "to_block": None}, **closing)
    ws.create(
        schema.holdings,
        {
            "asset_id": e.token_id,
            "from_block": r.block_number,
            "from_log": r.log_index,
            "holder": e.to,
            "from_time": r.block_time,
            "from_tx": r.tx_hash,
            "to_block": None,
            "to_log": None,
            "to_time": None,
            "via": via,
            "block_number": r.block_number,
        },
    )
    ws.update(
        schema.assets,
        key,
        holder=e.to,
        holder_since_block=r.block_number,
        holder_since_log=r.log_index,
    )


@handles(ev.LineageLinkedRow, reads=lambda e: [asset(e.asset_id), asset(e.parent_id)])
def _lineage(ws: WorkingSet, r: LogRecord, e: ev.LineageLinkedRow) -> None:
    asset_key(ws, r, e.asset_id)
    asset_key(ws, r, e.parent_id)
    ws.create(
        schema.lineage,
        {
            "child_id": e.asset_id,
            "parent_id": e.parent_id,
            "position": r.log_index,
            "relation": Relation(e.relation).name,
            "license_id": e.license_id or None,
            "block_number": r.block_number,
        },
    )


@handles(ev.MetadataUpdatedRow, reads=lambda e: [asset(e.asset_id)])
def _metadata(ws: WorkingSet, r: LogRecord, e: ev.MetadataUpdatedRow) -> None:
    key = asset_key(ws, r, e.asset_id)
    ws.update(
        schema.assets,
        key,
        metadata_uri=e.metadata_uri,
        metadata_hash=e.metadata_hash,
        metadata_version=e.version,
    )


@handles(ev.AssetStatusChangedRow, reads=lambda e: [asset(e.asset_id)])
def _status(ws: WorkingSet, r: LogRecord, e: ev.AssetStatusChangedRow) -> None:
    key = asset_key(ws, r, e.asset_id)
    ws.update(schema.assets, key, status=AssetStatus(e.new_status).name)


@handles(ev.AssetRestrictionsChangedRow, reads=lambda e: [asset(e.asset_id)])
def _restrictions(ws: WorkingSet, r: LogRecord, e: ev.AssetRestrictionsChangedRow) -> None:
    key = asset_key(ws, r, e.asset_id)
    ws.update(schema.assets, key, under_objection=e.under_objection, frozen=e.frozen)


# ---------------------------------------------------------------- registration office


@handles(ev.RegistrationAcceptedRow, reads=lambda e: [asset(e.asset_id)])
def _accepted(ws: WorkingSet, r: LogRecord, e: ev.RegistrationAcceptedRow) -> None:
    key = asset_key(ws, r, e.asset_id)
    ws.update(schema.assets, key, notice_ends_at=e.notice_ends_at)


@handles(ev.ObjectionLodgedRow, reads=lambda e: [asset(e.asset_id)])
def _objection_lodged(ws: WorkingSet, r: LogRecord, e: ev.ObjectionLodgedRow) -> None:
    ws.create(
        schema.objections,
        {
            "objection_id": e.objection_id,
            "asset_id": e.asset_id,
            "objector": e.objector,
            "grounds_hash": e.grounds_hash,
            "open": True,
            "upheld": None,
            "resolution_hash": None,
            "resolved_by": None,
            "lodged_block": r.block_number,
            "lodged_at": r.block_time,
            "resolved_block": None,
            "block_number": r.block_number,
        },
    )


@handles(
    ev.ObjectionResolvedRow,
    reads=lambda e: [(schema.objections, (e.objection_id,)), asset(e.asset_id)],
)
def _objection_resolved(ws: WorkingSet, r: LogRecord, e: ev.ObjectionResolvedRow) -> None:
    key = (e.objection_id,)
    require(ws.get(schema.objections, key), f"objection {e.objection_id}", r)
    ws.update(
        schema.objections,
        key,
        open=False,
        upheld=e.upheld,
        resolution_hash=e.reason_hash,
        resolved_by=e.registrar,
        resolved_block=r.block_number,
    )


@handles(ev.CertificateIssuedRow, reads=lambda e: [asset(e.asset_id)])
def _certificate(ws: WorkingSet, r: LogRecord, e: ev.CertificateIssuedRow) -> None:
    ws.create(
        schema.certificates,
        {
            "registration_number": e.registration_number,
            "asset_id": e.asset_id,
            "registration_type": RegistrationType(e.registration_type).name,
            "certificate_hash": e.certificate_hash,
            "registrar": e.registrar,
            "issued_at": r.block_time,
            "block_number": r.block_number,
        },
    )
    if e.registration_type == RegistrationType.INITIAL:
        key = asset_key(ws, r, e.asset_id)
        ws.update(schema.assets, key, registration_number=e.registration_number)


# ---------------------------------------------------------------- batches


@handles(ev.BatchAnchoredRow)
def _batch_anchored(ws: WorkingSet, r: LogRecord, e: ev.BatchAnchoredRow) -> None:
    ws.create(
        schema.batches,
        {
            "root": e.root,
            "submitter": e.submitter,
            "leaf_count": e.leaf_count,
            "manifest_uri": e.manifest_uri,
            "anchored_at": r.block_time,
            "anchored_tx": r.tx_hash,
            "promoted_count": 0,
            "block_number": r.block_number,
        },
    )


@handles(ev.LeafPromotedRow, reads=lambda e: [(schema.batches, (e.root,)), asset(e.asset_id)])
def _leaf_promoted(ws: WorkingSet, r: LogRecord, e: ev.LeafPromotedRow) -> None:
    root = (e.root,)
    batch = require(ws.get(schema.batches, root), f"batch {e.root}", r)
    ws.update(schema.batches, root, promoted_count=batch["promoted_count"] + 1)
    key = asset_key(ws, r, e.asset_id)
    ws.update(schema.assets, key, batch_root=e.root)


# ---------------------------------------------------------------- kept in the events table only

ignores(
    ev.ApprovalRow,
    "an approved address gains no right the ledger records; the projection tracks the holder",
)
ignores(ev.ApprovalForAllRow, "operator approvals, like single approvals, change no record")
ignores(
    ev.RoleAdminChangedRow,
    "which role administers a role is contract configuration; grants and revocations are projected",
)
ignores(ev.EIP712DomainChangedRow, "the signing domain has no fields to project")
ignores(
    ev.RegistrationRejectedRow,
    "the rejection's status change arrives as its own AssetStatusChanged event; the reason "
    "hash stays in the event's arguments",
)
