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
from typing import Final

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
    change,
    create,
    fields,
    handles,
    ignores,
    put,
    require,
    setting,
    stamp,
    text,
    touched_keys,
    unhandled_row_types,
)
from provledger.store import schema
from provledger.store.records import LogRecord
from provledger.store.workingset import TABLES, Key, WorkingSet

__all__ = [
    "EVENTS_ONLY",
    "ProjectionError",
    "apply",
    "holding_keys",
    "project",
    "touched_keys",
    "unhandled_row_types",
]

#: The modules whose import registers the rest of the handlers.
HANDLER_MODULES = (market_handlers, rights_handlers)


def project(ws: WorkingSet, records: Sequence[LogRecord]) -> None:
    """Project ``records`` (in chain order): load the rows they read in bulk, then apply them."""
    for name, wanted in touched_keys(records).items():
        if not (ws.blind and name == "assets"):  # blind: assets are only updated, not read
            ws.prefetch(TABLES[name], wanted)
    if not ws.blind:
        ws.prefetch(schema.holdings, holding_keys(ws, records))
    apply(ws, records)


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
    create(
        ws,
        schema.participants,
        r,
        **fields(e, "account", "name_hash"),
        jurisdiction=text(e.jurisdiction),
        status="ACTIVE",
        **stamp(r, "registered"),
    )


@handles(ev.ParticipantSuspendedRow, reads=lambda e: [(schema.participants, (e.account,))])
def _participant_suspended(ws: WorkingSet, r: LogRecord, e: ev.ParticipantSuspendedRow) -> None:
    suspended = {"status": "SUSPENDED", "suspension_reason": e.reason_hash}
    change(ws, schema.participants, r, (e.account,), "participant", **suspended)


@handles(ev.ParticipantReinstatedRow, reads=lambda e: [(schema.participants, (e.account,))])
def _participant_reinstated(ws: WorkingSet, r: LogRecord, e: ev.ParticipantReinstatedRow) -> None:
    key = (e.account,)
    change(ws, schema.participants, r, key, "participant", status="ACTIVE", suspension_reason=None)


@handles(ev.CategoryListingChangedRow, reads=lambda e: [(schema.categories, (e.category,))])
def _category(ws: WorkingSet, r: LogRecord, e: ev.CategoryListingChangedRow) -> None:
    put(ws, schema.categories, r, code=e.category, listed=e.listed)


def _role(ws: WorkingSet, r: LogRecord, role: str, account: str, by: str, granted: bool) -> None:
    put(ws, schema.roles, r, role=role, account=account, granted=granted, changed_by=by)


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
    create(
        ws,
        schema.assets,
        r,
        **fields(
            e,
            "asset_id",
            "content_hash",
            "registrant",
            "category",
            "grade",
            "metadata_uri",
            "metadata_hash",
            "submitter",
        ),
        holder=e.registrant,
        holder_since_block=r.block_number,
        holder_since_log=r.log_index,
        status="APPLIED",
        under_objection=False,
        frozen=False,
        metadata_version=1,
        channel=Channel(e.channel).name,
        registered_tx=r.tx_hash,
        **stamp(r, "registered"),
    )


def _bound(r: LogRecord, end: str) -> dict[str, int]:
    """``<end>_block``, ``<end>_log`` and ``<end>_time``: where a holding period starts
    (``from``) or ends (``to``), at the event ``r``."""
    return {f"{end}_block": r.block_number, f"{end}_log": r.log_index, f"{end}_time": r.block_time}


@handles(ev.TransferRow, reads=lambda e: [asset(e.token_id)])
def _transfer(ws: WorkingSet, r: LogRecord, e: ev.TransferRow) -> None:
    key = asset_key(ws, r, e.token_id)
    if e.from_ == ZERO_ADDRESS:
        via = "REGISTRATION"
    else:
        via = "RULING" if ws.take_marker(("ruling", r.tx_hash, e.token_id)) else "TRANSFER"
        closing = _bound(r, "to")
        current = ws.known(schema.assets, key)
        if current is not None and "holder_since_block" in current:
            period = (e.token_id, current["holder_since_block"], current["holder_since_log"])
            if not ws.blind:
                require(ws.get(schema.holdings, period), f"holding of {e.token_id}", r)
            ws.update(schema.holdings, period, **closing)
        else:  # blind, and the open holding is stored by an earlier batch
            ws.update_where(schema.holdings, {"asset_id": e.token_id, "to_block": None}, **closing)
    start = {**_bound(r, "from"), "from_tx": r.tx_hash}
    create(ws, schema.holdings, r, asset_id=e.token_id, holder=e.to, via=via, **start)
    since = {"holder_since_block": r.block_number, "holder_since_log": r.log_index}
    ws.update(schema.assets, key, holder=e.to, **since)


@handles(ev.LineageLinkedRow, reads=lambda e: [asset(e.asset_id), asset(e.parent_id)])
def _lineage(ws: WorkingSet, r: LogRecord, e: ev.LineageLinkedRow) -> None:
    asset_key(ws, r, e.asset_id)
    asset_key(ws, r, e.parent_id)
    link = {"child_id": e.asset_id, "parent_id": e.parent_id, "position": r.log_index}
    relation = Relation(e.relation).name
    create(ws, schema.lineage, r, **link, relation=relation, license_id=e.license_id or None)


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
    create(
        ws,
        schema.objections,
        r,
        **fields(e, "objection_id", "asset_id", "objector", "grounds_hash"),
        open=True,
        **stamp(r, "lodged"),
    )


@handles(
    ev.ObjectionResolvedRow,
    reads=lambda e: [(schema.objections, (e.objection_id,)), asset(e.asset_id)],
)
def _objection_resolved(ws: WorkingSet, r: LogRecord, e: ev.ObjectionResolvedRow) -> None:
    change(
        ws,
        schema.objections,
        r,
        (e.objection_id,),
        f"objection {e.objection_id}",
        open=False,
        upheld=e.upheld,
        resolution_hash=e.reason_hash,
        resolved_by=e.registrar,
        resolved_block=r.block_number,
    )


@handles(ev.CertificateIssuedRow, reads=lambda e: [asset(e.asset_id)])
def _certificate(ws: WorkingSet, r: LogRecord, e: ev.CertificateIssuedRow) -> None:
    create(
        ws,
        schema.certificates,
        r,
        **fields(e, "registration_number", "asset_id", "certificate_hash", "registrar"),
        registration_type=RegistrationType(e.registration_type).name,
        issued_at=r.block_time,
    )
    if e.registration_type == RegistrationType.INITIAL:
        key = asset_key(ws, r, e.asset_id)
        ws.update(schema.assets, key, registration_number=e.registration_number)


# ---------------------------------------------------------------- batches


@handles(ev.BatchAnchoredRow)
def _batch_anchored(ws: WorkingSet, r: LogRecord, e: ev.BatchAnchoredRow) -> None:
    batch = fields(e, "root", "submitter", "leaf_count", "manifest_uri")
    batch.update(anchored_at=r.block_time, anchored_tx=r.tx_hash, promoted_count=0)
    create(ws, schema.batches, r, **batch)


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

# ---------------------------------------------------------------- not the registry's events

#: The Checkpoint contract's events: it is deployed on another (target) chain, apart from the
#: registry's deployment, and the indexer fetches only the deployment's addresses, so it never
#: reads them. They are decoded where they are read: the checkpoint and witness processes and
#: the proof-bundle checks.
_ON_THE_TARGET_CHAIN: Final = (
    "emitted by the Checkpoint contract on the target chain, which is no part of the "
    "registry's deployment: the indexer never fetches its logs"
)
ignores(ev.CheckpointSubmittedRow, _ON_THE_TARGET_CHAIN)
ignores(ev.CheckpointWitnessedRow, _ON_THE_TARGET_CHAIN)
