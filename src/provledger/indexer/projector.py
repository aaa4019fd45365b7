"""The projector: events in chain order -> projection rows.

It works on a :class:`~provledger.store.workingset.WorkingSet`: rows are loaded in bulk for the
keys a batch touches, changed in memory by one handler per event type, and written back by the
store in one transaction with the events and the checkpoint. Handlers are plain functions of
(working set, event record, typed event); nothing here issues SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from provledger.chain import events as ev
from provledger.chain.enums import RegistrationType, Ruling
from provledger.chain.serialize import asset_hex, hex_bytes
from provledger.indexer.decoding import ZERO_ADDRESS, IndexedEvent
from provledger.store import schema
from provledger.store.workingset import Key, WorkingSet

Handler = Callable[[WorkingSet, IndexedEvent, Any], None]

_HANDLERS: dict[type[Any], Handler] = {}


def handles(kind: type[Any]) -> Callable[[Handler], Handler]:
    """Register ``function`` as the handler of events of type ``kind``."""

    def register(function: Handler) -> Handler:
        _HANDLERS[kind] = function
        return function

    return register


def _addr(value: str) -> str:
    return value.lower()


def _asset_key(asset_id: int) -> Key:
    return (asset_hex(asset_id),)


# ---------------------------------------------------------------- key discovery for prefetch


def touched_keys(records: Iterable[IndexedEvent]) -> dict[str, set[Key]]:
    """The primary keys a batch of events will read, per table name (for bulk loading)."""
    keys: dict[str, set[Key]] = {}

    def add(table: str, key: Key) -> None:
        keys.setdefault(table, set()).add(key)

    for record in records:
        event = record.event
        asset_id = getattr(event, "asset_id", None)
        if asset_id is None:
            asset_id = getattr(event, "token_id", None)
        if asset_id is not None:
            add("assets", _asset_key(asset_id))
        if isinstance(event, ev.LineageLinked):
            add("assets", _asset_key(event.parent_id))
        elif isinstance(event, ev.LicenseRevoked):
            add("licenses", (event.license_id,))
        elif isinstance(event, ev.AppraisalRecorded) and event.supersedes:
            add("appraisals", (event.supersedes,))
        elif isinstance(event, ev.ObjectionResolved):
            add("objections", (event.objection_id,))
        elif isinstance(event, ev.DisputeFrozen | ev.DisputeRuled):
            add("disputes", (event.dispute_id,))
        elif isinstance(
            event, (ev.ExportPermitIssued | ev.ExportPermitRevoked, ev.ExportPermitUsed)
        ):
            add("export_permits", (asset_hex(event.asset_id), _addr(event.recipient)))
        elif isinstance(event, ev.LeafPromoted):
            add("batches", (hex_bytes(event.root),))
        elif isinstance(
            event, ev.ParticipantSuspended | ev.ParticipantReinstated | ev.ParticipantRegistered
        ):
            add("participants", (_addr(event.account),))
        elif isinstance(event, ev.CategoryListingChanged):
            add("categories", (event.category,))
        elif isinstance(event, ev.RoleGranted | ev.RoleRevoked):
            add("roles", (hex_bytes(event.role), _addr(event.account)))
    return keys


def holding_keys(ws: WorkingSet, records: Iterable[IndexedEvent]) -> set[Key]:
    """Open holding periods that transfers in ``records`` will close (after assets are loaded)."""
    keys: set[Key] = set()
    for record in records:
        event = record.event
        if isinstance(event, ev.Transfer) and event.from_ != ZERO_ADDRESS:
            asset = ws.get(schema.assets, _asset_key(event.token_id))
            if asset is not None:
                keys.add(
                    (asset["asset_id"], asset["holder_since_block"], asset["holder_since_log"])
                )
    return keys


def apply(ws: WorkingSet, records: Sequence[IndexedEvent]) -> None:
    """Apply ``records`` (in chain order) to the working set."""
    for record in records:
        handler = _HANDLERS.get(type(record.event))
        ws.at_block(record.block_number)
        if handler is not None:
            handler(ws, record, record.event)


def _require(row: dict[str, Any] | None, what: str, record: IndexedEvent) -> dict[str, Any]:
    if row is None:
        raise ProjectionError(what, record)
    return row


class ProjectionError(Exception):
    """An event refers to a record the index does not hold: the index is not contiguous."""

    def __init__(self, what: str, record: IndexedEvent) -> None:
        super().__init__(
            f"{type(record.event).__name__} at block {record.block_number} log "
            f"{record.log_index} refers to unknown {what}"
        )


# ---------------------------------------------------------------- participants, roles, settings


@handles(ev.ParticipantRegistered)
def _participant_registered(ws: WorkingSet, r: IndexedEvent, e: ev.ParticipantRegistered) -> None:
    ws.create(
        schema.participants,
        {
            "account": _addr(e.account),
            "jurisdiction": e.jurisdiction.rstrip(b"\x00").decode("ascii", "replace"),
            "name_hash": hex_bytes(e.name_hash),
            "status": "ACTIVE",
            "registered_block": r.block_number,
            "registered_at": r.block_time,
            "suspension_reason": None,
            "block_number": r.block_number,
        },
    )


@handles(ev.ParticipantSuspended)
def _participant_suspended(ws: WorkingSet, r: IndexedEvent, e: ev.ParticipantSuspended) -> None:
    key = (_addr(e.account),)
    _require(ws.get(schema.participants, key), "participant", r)
    ws.update(
        schema.participants, key, status="SUSPENDED", suspension_reason=hex_bytes(e.reason_hash)
    )


@handles(ev.ParticipantReinstated)
def _participant_reinstated(ws: WorkingSet, r: IndexedEvent, e: ev.ParticipantReinstated) -> None:
    key = (_addr(e.account),)
    _require(ws.get(schema.participants, key), "participant", r)
    ws.update(schema.participants, key, status="ACTIVE", suspension_reason=None)


@handles(ev.CategoryListingChanged)
def _category(ws: WorkingSet, r: IndexedEvent, e: ev.CategoryListingChanged) -> None:
    ws.put(
        schema.categories, {"code": e.category, "listed": e.listed, "block_number": r.block_number}
    )


def _role(
    ws: WorkingSet, r: IndexedEvent, role: bytes, account: str, by: str, granted: bool
) -> None:
    ws.put(
        schema.roles,
        {
            "role": hex_bytes(role),
            "account": _addr(account),
            "granted": granted,
            "changed_by": _addr(by),
            "block_number": r.block_number,
        },
    )


@handles(ev.RoleGranted)
def _role_granted(ws: WorkingSet, r: IndexedEvent, e: ev.RoleGranted) -> None:
    _role(ws, r, e.role, e.account, e.sender, True)


@handles(ev.RoleRevoked)
def _role_revoked(ws: WorkingSet, r: IndexedEvent, e: ev.RoleRevoked) -> None:
    _role(ws, r, e.role, e.account, e.sender, False)


def _setting(ws: WorkingSet, r: IndexedEvent, key: str, value: str) -> None:
    ws.put(schema.contract_settings, {"key": key, "value": value, "block_number": r.block_number})


@handles(ev.Paused)
def _paused(ws: WorkingSet, r: IndexedEvent, e: ev.Paused) -> None:
    _setting(ws, r, "paused", "true")


@handles(ev.Unpaused)
def _unpaused(ws: WorkingSet, r: IndexedEvent, e: ev.Unpaused) -> None:
    _setting(ws, r, "paused", "false")


@handles(ev.BaseURIUpdated)
def _base_uri(ws: WorkingSet, r: IndexedEvent, e: ev.BaseURIUpdated) -> None:
    _setting(ws, r, "base_uri", e.base_uri)


@handles(ev.NoticePeriodChanged)
def _notice_period(ws: WorkingSet, r: IndexedEvent, e: ev.NoticePeriodChanged) -> None:
    _setting(ws, r, "notice_period", str(e.new_period))


@handles(ev.ModulesUpdated)
def _modules(ws: WorkingSet, r: IndexedEvent, e: ev.ModulesUpdated) -> None:
    _setting(ws, r, "license_registry", _addr(e.license_registry))
    _setting(ws, r, "export_control", _addr(e.export_control))


# ---------------------------------------------------------------- assets


@handles(ev.AssetRegistered)
def _asset_registered(ws: WorkingSet, r: IndexedEvent, e: ev.AssetRegistered) -> None:
    registrant = _addr(e.registrant)
    ws.create(
        schema.assets,
        {
            "asset_id": asset_hex(e.asset_id),
            "content_hash": hex_bytes(e.content_hash),
            "registrant": registrant,
            "holder": registrant,
            "holder_since_block": r.block_number,
            "holder_since_log": r.log_index,
            "category": e.category,
            "grade": e.grade,
            "status": "APPLIED",
            "under_objection": False,
            "frozen": False,
            "metadata_uri": e.metadata_uri,
            "metadata_hash": hex_bytes(e.metadata_hash),
            "metadata_version": 1,
            "channel": e.channel.name,
            "submitter": _addr(e.submitter),
            "batch_root": None,
            "notice_ends_at": None,
            "registration_number": None,
            "registered_block": r.block_number,
            "registered_at": r.block_time,
            "registered_tx": r.tx_hash,
            "block_number": r.block_number,
        },
    )


def _asset(ws: WorkingSet, r: IndexedEvent, asset_id: int) -> tuple[Key, dict[str, Any]]:
    key = _asset_key(asset_id)
    return key, _require(ws.get(schema.assets, key), f"asset {key[0]}", r)


@handles(ev.Transfer)
def _transfer(ws: WorkingSet, r: IndexedEvent, e: ev.Transfer) -> None:
    key, asset = _asset(ws, r, e.token_id)
    holder = _addr(e.to)
    if e.from_ == ZERO_ADDRESS:
        via = "REGISTRATION"
    else:
        via = "RULING" if ws.take_marker(("ruling", r.tx_hash, key[0])) else "TRANSFER"
        period = (key[0], asset["holder_since_block"], asset["holder_since_log"])
        _require(ws.get(schema.holdings, period), f"holding of {key[0]}", r)
        ws.update(
            schema.holdings,
            period,
            to_block=r.block_number,
            to_log=r.log_index,
            to_time=r.block_time,
        )
    ws.create(
        schema.holdings,
        {
            "asset_id": key[0],
            "from_block": r.block_number,
            "from_log": r.log_index,
            "holder": holder,
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
        holder=holder,
        holder_since_block=r.block_number,
        holder_since_log=r.log_index,
    )


@handles(ev.LineageLinked)
def _lineage(ws: WorkingSet, r: IndexedEvent, e: ev.LineageLinked) -> None:
    child, _ = _asset(ws, r, e.asset_id)
    parent, _ = _asset(ws, r, e.parent_id)
    ws.create(
        schema.lineage,
        {
            "child_id": child[0],
            "parent_id": parent[0],
            "position": r.log_index,
            "relation": e.relation.name,
            "license_id": e.license_id or None,
            "block_number": r.block_number,
        },
    )


@handles(ev.MetadataUpdated)
def _metadata(ws: WorkingSet, r: IndexedEvent, e: ev.MetadataUpdated) -> None:
    key, _ = _asset(ws, r, e.asset_id)
    ws.update(
        schema.assets,
        key,
        metadata_uri=e.metadata_uri,
        metadata_hash=hex_bytes(e.metadata_hash),
        metadata_version=e.version,
    )


@handles(ev.AssetStatusChanged)
def _status(ws: WorkingSet, r: IndexedEvent, e: ev.AssetStatusChanged) -> None:
    key, _ = _asset(ws, r, e.asset_id)
    ws.update(schema.assets, key, status=e.new_status.name)


@handles(ev.AssetRestrictionsChanged)
def _restrictions(ws: WorkingSet, r: IndexedEvent, e: ev.AssetRestrictionsChanged) -> None:
    key, _ = _asset(ws, r, e.asset_id)
    ws.update(schema.assets, key, under_objection=e.under_objection, frozen=e.frozen)


# ---------------------------------------------------------------- registration office


@handles(ev.RegistrationAccepted)
def _accepted(ws: WorkingSet, r: IndexedEvent, e: ev.RegistrationAccepted) -> None:
    key, _ = _asset(ws, r, e.asset_id)
    ws.update(schema.assets, key, notice_ends_at=e.notice_ends_at)


@handles(ev.ObjectionLodged)
def _objection_lodged(ws: WorkingSet, r: IndexedEvent, e: ev.ObjectionLodged) -> None:
    ws.create(
        schema.objections,
        {
            "objection_id": e.objection_id,
            "asset_id": asset_hex(e.asset_id),
            "objector": _addr(e.objector),
            "grounds_hash": hex_bytes(e.grounds_hash),
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


@handles(ev.ObjectionResolved)
def _objection_resolved(ws: WorkingSet, r: IndexedEvent, e: ev.ObjectionResolved) -> None:
    key = (e.objection_id,)
    _require(ws.get(schema.objections, key), f"objection {e.objection_id}", r)
    ws.update(
        schema.objections,
        key,
        open=False,
        upheld=e.upheld,
        resolution_hash=hex_bytes(e.reason_hash),
        resolved_by=_addr(e.registrar),
        resolved_block=r.block_number,
    )


@handles(ev.CertificateIssued)
def _certificate(ws: WorkingSet, r: IndexedEvent, e: ev.CertificateIssued) -> None:
    ws.create(
        schema.certificates,
        {
            "registration_number": e.registration_number,
            "asset_id": asset_hex(e.asset_id),
            "registration_type": e.registration_type.name,
            "certificate_hash": hex_bytes(e.certificate_hash),
            "registrar": _addr(e.registrar),
            "issued_at": r.block_time,
            "block_number": r.block_number,
        },
    )
    if e.registration_type is RegistrationType.INITIAL:
        key, _ = _asset(ws, r, e.asset_id)
        ws.update(schema.assets, key, registration_number=e.registration_number)


# ---------------------------------------------------------------- licenses, appraisals


@handles(ev.LicenseGranted)
def _license_granted(ws: WorkingSet, r: IndexedEvent, e: ev.LicenseGranted) -> None:
    ws.create(
        schema.licenses,
        {
            "license_id": e.license_id,
            "asset_id": asset_hex(e.asset_id),
            "licensor": _addr(e.licensor),
            "licensee": _addr(e.licensee),
            "kind": e.kind.name,
            "expires_at": e.expires_at,
            "terms_hash": hex_bytes(e.terms_hash),
            "scope": e.scope,
            "granted_block": r.block_number,
            "granted_at": r.block_time,
            "revoked_block": None,
            "revoked_at": None,
            "revocation_reason": None,
            "block_number": r.block_number,
        },
    )


@handles(ev.LicenseRevoked)
def _license_revoked(ws: WorkingSet, r: IndexedEvent, e: ev.LicenseRevoked) -> None:
    key = (e.license_id,)
    _require(ws.get(schema.licenses, key), f"license {e.license_id}", r)
    ws.update(
        schema.licenses,
        key,
        revoked_block=r.block_number,
        revoked_at=r.block_time,
        revocation_reason=hex_bytes(e.reason_hash),
    )


@handles(ev.AppraisalRecorded)
def _appraisal(ws: WorkingSet, r: IndexedEvent, e: ev.AppraisalRecorded) -> None:
    ws.create(
        schema.appraisals,
        {
            "appraisal_id": e.appraisal_id,
            "asset_id": asset_hex(e.asset_id),
            "appraiser": _addr(e.appraiser),
            "amount": str(e.amount),
            "currency": e.currency.decode("ascii", "replace"),
            "method": e.method.name,
            "report_hash": hex_bytes(e.report_hash),
            "supersedes": e.supersedes or None,
            "superseded_by": None,
            "appraised_at": r.block_time,
            "block_number": r.block_number,
        },
    )
    if e.supersedes:
        previous = (e.supersedes,)
        _require(ws.get(schema.appraisals, previous), f"appraisal {e.supersedes}", r)
        ws.update(schema.appraisals, previous, superseded_by=e.appraisal_id)


# ---------------------------------------------------------------- disputes


@handles(ev.DisputeOpened)
def _dispute_opened(ws: WorkingSet, r: IndexedEvent, e: ev.DisputeOpened) -> None:
    ws.create(
        schema.disputes,
        {
            "dispute_id": e.dispute_id,
            "asset_id": asset_hex(e.asset_id),
            "claimant": _addr(e.claimant),
            "evidence_hash": hex_bytes(e.evidence_hash),
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


@handles(ev.DisputeFrozen)
def _dispute_frozen(ws: WorkingSet, r: IndexedEvent, e: ev.DisputeFrozen) -> None:
    key = (e.dispute_id,)
    _require(ws.get(schema.disputes, key), f"dispute {e.dispute_id}", r)
    ws.update(
        schema.disputes, key, status="FROZEN", frozen_block=r.block_number, arbiter=_addr(e.arbiter)
    )


@handles(ev.DisputeRuled)
def _dispute_ruled(ws: WorkingSet, r: IndexedEvent, e: ev.DisputeRuled) -> None:
    key = (e.dispute_id,)
    _require(ws.get(schema.disputes, key), f"dispute {e.dispute_id}", r)
    ws.update(
        schema.disputes,
        key,
        status="RULED",
        ruling=e.ruling.name,
        ruling_hash=hex_bytes(e.ruling_hash),
        arbiter=_addr(e.arbiter),
        ruled_block=r.block_number,
    )
    if e.ruling is Ruling.TRANSFER_TO_CLAIMANT:
        ws.set_marker(("ruling", r.tx_hash, asset_hex(e.asset_id)))


# ---------------------------------------------------------------- export permits


@handles(ev.ExportPermitIssued)
def _permit_issued(ws: WorkingSet, r: IndexedEvent, e: ev.ExportPermitIssued) -> None:
    ws.put(
        schema.export_permits,
        {
            "asset_id": asset_hex(e.asset_id),
            "recipient": _addr(e.recipient),
            "destination": e.destination.rstrip(b"\x00").decode("ascii", "replace"),
            "expires_at": e.expires_at,
            "approver": _addr(e.approver),
            "issued_block": r.block_number,
            "state": "ISSUED",
            "closed_block": None,
            "block_number": r.block_number,
        },
    )


def _close_permit(
    ws: WorkingSet, r: IndexedEvent, asset_id: int, recipient: str, state: str
) -> None:
    key = (asset_hex(asset_id), _addr(recipient))
    _require(ws.get(schema.export_permits, key), f"export permit {key}", r)
    ws.update(schema.export_permits, key, state=state, closed_block=r.block_number)


@handles(ev.ExportPermitRevoked)
def _permit_revoked(ws: WorkingSet, r: IndexedEvent, e: ev.ExportPermitRevoked) -> None:
    _close_permit(ws, r, e.asset_id, e.recipient, "REVOKED")


@handles(ev.ExportPermitUsed)
def _permit_used(ws: WorkingSet, r: IndexedEvent, e: ev.ExportPermitUsed) -> None:
    _close_permit(ws, r, e.asset_id, e.recipient, "USED")


# ---------------------------------------------------------------- batches


@handles(ev.BatchAnchored)
def _batch_anchored(ws: WorkingSet, r: IndexedEvent, e: ev.BatchAnchored) -> None:
    ws.create(
        schema.batches,
        {
            "root": hex_bytes(e.root),
            "submitter": _addr(e.submitter),
            "leaf_count": e.leaf_count,
            "manifest_uri": e.manifest_uri,
            "anchored_at": r.block_time,
            "anchored_tx": r.tx_hash,
            "promoted_count": 0,
            "block_number": r.block_number,
        },
    )


@handles(ev.LeafPromoted)
def _leaf_promoted(ws: WorkingSet, r: IndexedEvent, e: ev.LeafPromoted) -> None:
    root = (hex_bytes(e.root),)
    batch = _require(ws.get(schema.batches, root), f"batch {root[0]}", r)
    ws.update(schema.batches, root, promoted_count=batch["promoted_count"] + 1)
    key, _ = _asset(ws, r, e.asset_id)
    ws.update(schema.assets, key, batch_root=root[0])


#: Event types that change no projection (they are kept in the events table only).
EVENTS_ONLY: Final = frozenset(
    {
        ev.Approval,
        ev.ApprovalForAll,
        ev.RoleAdminChanged,
        ev.EIP712DomainChanged,
        ev.RegistrationRejected,
    }
)


def unhandled_event_types() -> set[type[Any]]:
    """Event types with neither a handler nor a place in :data:`EVENTS_ONLY` (should be none)."""
    return set(ev.EVENT_TYPES.values()) - set(_HANDLERS) - set(EVENTS_ONLY)
