"""The projector: events in chain order -> projection rows.

It works on a :class:`~provledger.store.workingset.WorkingSet`: rows are loaded in bulk for the
keys a batch touches, changed in memory by one handler per event type, and written back by the
store in one transaction with the events and the checkpoint. Handlers are plain functions of
(working set, log record, event row in storage form); nothing here issues SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from provledger.chain.enums import (
    AssetStatus,
    Channel,
    LicenseKind,
    OfferKind,
    RegistrationType,
    Relation,
    Ruling,
    ValuationMethod,
)
from provledger.indexer import rows as ev
from provledger.indexer.decoding import ZERO_ADDRESS, LogRecord
from provledger.store import schema
from provledger.store.workingset import Key, WorkingSet

Handler = Callable[[WorkingSet, LogRecord, Any], None]

_HANDLERS: dict[type[Any], Handler] = {}


class ProjectionError(Exception):
    """An event refers to a record the index does not hold: the index is not contiguous."""

    def __init__(self, what: str, record: LogRecord) -> None:
        super().__init__(
            f"{record.event} at block {record.block_number} log {record.log_index} refers to "
            f"unknown {what}"
        )


def handles(kind: type[Any]) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of rows of type ``kind``."""

    def register(function: Handler) -> Handler:
        _HANDLERS[kind] = function
        return function

    return register


def _text(hex_value: str) -> str:
    """ASCII text of a short fixed-bytes value (jurisdiction, currency), NULs stripped."""
    return bytes.fromhex(hex_value[2:]).rstrip(b"\x00").decode("ascii", "replace")


def _require(row: dict[str, Any] | None, what: str, record: LogRecord) -> dict[str, Any]:
    if row is None:
        raise ProjectionError(what, record)
    return row


# ---------------------------------------------------------------- keys to load in bulk


def touched_keys(records: Iterable[LogRecord]) -> dict[str, set[Key]]:
    """The primary keys a batch of events will read, per table name (for bulk loading)."""
    keys: dict[str, set[Key]] = {}

    def add(table: str, key: Key) -> None:
        keys.setdefault(table, set()).add(key)

    assets = keys.setdefault("assets", set())
    created: set[str] = set()  # assets registered in this batch: nothing to load
    for record in records:
        row = record.row
        if isinstance(row, ev.TransferRow):
            if row.token_id not in created:
                assets.add((row.token_id,))
        elif isinstance(row, ev.AssetRegisteredRow):
            created.add(row.asset_id)
        elif isinstance(row, ev.LicenseGrantedRow):
            pass  # creates a row; reads none
        elif isinstance(row, ev.LineageLinkedRow):
            for linked in (row.asset_id, row.parent_id):
                if linked not in created:
                    assets.add((linked,))
        elif isinstance(row, ev.LicenseRevokedRow):
            add("licenses", (row.license_id,))
        elif isinstance(row, ev.AppraisalRecordedRow):
            if row.supersedes:
                add("appraisals", (row.supersedes,))
        elif isinstance(row, ev.ObjectionResolvedRow):
            add("objections", (row.objection_id,))
        elif isinstance(row, ev.DisputeFrozenRow | ev.DisputeRuledRow):
            add("disputes", (row.dispute_id,))
        elif isinstance(
            row, ev.ExportPermitIssuedRow | ev.ExportPermitRevokedRow | ev.ExportPermitUsedRow
        ):
            add("export_permits", (row.asset_id, row.recipient))
        elif isinstance(row, ev.LeafPromotedRow):
            add("batches", (row.root,))
        elif isinstance(row, ev.ParticipantSuspendedRow | ev.ParticipantReinstatedRow):
            add("participants", (row.account,))
        elif isinstance(row, ev.CategoryListingChangedRow):
            add("categories", (row.category,))
        elif isinstance(row, ev.RoleGrantedRow | ev.RoleRevokedRow):
            add("roles", (row.role, row.account))
        elif isinstance(row, ev.OfferCancelledRow):
            add("offers", (row.offer_id,))
        elif isinstance(row, ev.BidCancelledRow):
            add("bids", (row.bid_id,))
        elif isinstance(row, ev.TradeSettledRow):
            add("offers", (row.offer_id,))
            if row.bid_id:
                add("bids", (row.bid_id,))
        elif isinstance(row, ev.CurrencyListingChangedRow):
            add("market_currencies", (row.currency,))
        asset_id = getattr(row, "asset_id", None)
        if (
            isinstance(asset_id, str)
            and asset_id not in created
            and not isinstance(
                row,
                ev.AssetRegisteredRow | ev.LicenseGrantedRow | ev.OfferCreatedRow | ev.BidPlacedRow,
            )
        ):
            assets.add((asset_id,))
    return keys


def holding_keys(ws: WorkingSet, records: Iterable[LogRecord]) -> set[Key]:
    """Open holding periods that transfers in ``records`` will close (after assets are loaded)."""
    keys: set[Key] = set()
    for record in records:
        row = record.row
        if isinstance(row, ev.TransferRow) and row.from_ != ZERO_ADDRESS:
            asset = ws.get(schema.assets, (row.token_id,))
            if asset is not None:
                keys.add((row.token_id, asset["holder_since_block"], asset["holder_since_log"]))
    return keys


def apply(ws: WorkingSet, records: Sequence[LogRecord]) -> None:
    """Apply ``records`` (in chain order) to the working set."""
    handlers = _HANDLERS
    for record in records:
        handler = handlers.get(type(record.row))
        ws.block = record.block_number
        if handler is not None:
            handler(ws, record, record.row)


# ---------------------------------------------------------------- participants, roles, settings


@handles(ev.ParticipantRegisteredRow)
def _participant_registered(ws: WorkingSet, r: LogRecord, e: ev.ParticipantRegisteredRow) -> None:
    ws.create(
        schema.participants,
        {
            "account": e.account,
            "jurisdiction": _text(e.jurisdiction),
            "name_hash": e.name_hash,
            "status": "ACTIVE",
            "registered_block": r.block_number,
            "registered_at": r.block_time,
            "suspension_reason": None,
            "block_number": r.block_number,
        },
    )


@handles(ev.ParticipantSuspendedRow)
def _participant_suspended(ws: WorkingSet, r: LogRecord, e: ev.ParticipantSuspendedRow) -> None:
    key = (e.account,)
    _require(ws.get(schema.participants, key), "participant", r)
    ws.update(schema.participants, key, status="SUSPENDED", suspension_reason=e.reason_hash)


@handles(ev.ParticipantReinstatedRow)
def _participant_reinstated(ws: WorkingSet, r: LogRecord, e: ev.ParticipantReinstatedRow) -> None:
    key = (e.account,)
    _require(ws.get(schema.participants, key), "participant", r)
    ws.update(schema.participants, key, status="ACTIVE", suspension_reason=None)


@handles(ev.CategoryListingChangedRow)
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


@handles(ev.RoleGrantedRow)
def _role_granted(ws: WorkingSet, r: LogRecord, e: ev.RoleGrantedRow) -> None:
    _role(ws, r, e.role, e.account, e.sender, True)


@handles(ev.RoleRevokedRow)
def _role_revoked(ws: WorkingSet, r: LogRecord, e: ev.RoleRevokedRow) -> None:
    _role(ws, r, e.role, e.account, e.sender, False)


def _setting(ws: WorkingSet, r: LogRecord, key: str, value: str) -> None:
    ws.put(schema.contract_settings, {"key": key, "value": value, "block_number": r.block_number})


@handles(ev.PausedRow)
def _paused(ws: WorkingSet, r: LogRecord, e: ev.PausedRow) -> None:
    _setting(ws, r, "paused", "true")


@handles(ev.UnpausedRow)
def _unpaused(ws: WorkingSet, r: LogRecord, e: ev.UnpausedRow) -> None:
    _setting(ws, r, "paused", "false")


@handles(ev.BaseURIUpdatedRow)
def _base_uri(ws: WorkingSet, r: LogRecord, e: ev.BaseURIUpdatedRow) -> None:
    _setting(ws, r, "base_uri", e.base_uri)


@handles(ev.NoticePeriodChangedRow)
def _notice_period(ws: WorkingSet, r: LogRecord, e: ev.NoticePeriodChangedRow) -> None:
    _setting(ws, r, "notice_period", str(e.new_period))


@handles(ev.ModulesUpdatedRow)
def _modules(ws: WorkingSet, r: LogRecord, e: ev.ModulesUpdatedRow) -> None:
    _setting(ws, r, "license_registry", e.license_registry)
    _setting(ws, r, "export_control", e.export_control)


# ---------------------------------------------------------------- assets


@handles(ev.AssetRegisteredRow)
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


def _asset_key(ws: WorkingSet, r: LogRecord, asset_id: str) -> Key:
    """The key of an asset about to be updated; its existence is checked now, or, in a blind
    working set, when the update is flushed."""
    key = (asset_id,)
    if not ws.blind:
        _require(ws.get(schema.assets, key), f"asset {asset_id}", r)
    return key


@handles(ev.TransferRow)
def _transfer(ws: WorkingSet, r: LogRecord, e: ev.TransferRow) -> None:
    key = _asset_key(ws, r, e.token_id)
    if e.from_ == ZERO_ADDRESS:
        via = "REGISTRATION"
    else:
        via = "RULING" if ws.take_marker(("ruling", r.tx_hash, e.token_id)) else "TRANSFER"
        closing = {"to_block": r.block_number, "to_log": r.log_index, "to_time": r.block_time}
        asset = ws.known(schema.assets, key)
        if asset is not None and "holder_since_block" in asset:
            period = (e.token_id, asset["holder_since_block"], asset["holder_since_log"])
            if not ws.blind:
                _require(ws.get(schema.holdings, period), f"holding of {e.token_id}", r)
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


@handles(ev.LineageLinkedRow)
def _lineage(ws: WorkingSet, r: LogRecord, e: ev.LineageLinkedRow) -> None:
    _asset_key(ws, r, e.asset_id)
    _asset_key(ws, r, e.parent_id)
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


@handles(ev.MetadataUpdatedRow)
def _metadata(ws: WorkingSet, r: LogRecord, e: ev.MetadataUpdatedRow) -> None:
    key = _asset_key(ws, r, e.asset_id)
    ws.update(
        schema.assets,
        key,
        metadata_uri=e.metadata_uri,
        metadata_hash=e.metadata_hash,
        metadata_version=e.version,
    )


@handles(ev.AssetStatusChangedRow)
def _status(ws: WorkingSet, r: LogRecord, e: ev.AssetStatusChangedRow) -> None:
    key = _asset_key(ws, r, e.asset_id)
    ws.update(schema.assets, key, status=AssetStatus(e.new_status).name)


@handles(ev.AssetRestrictionsChangedRow)
def _restrictions(ws: WorkingSet, r: LogRecord, e: ev.AssetRestrictionsChangedRow) -> None:
    key = _asset_key(ws, r, e.asset_id)
    ws.update(schema.assets, key, under_objection=e.under_objection, frozen=e.frozen)


# ---------------------------------------------------------------- registration office


@handles(ev.RegistrationAcceptedRow)
def _accepted(ws: WorkingSet, r: LogRecord, e: ev.RegistrationAcceptedRow) -> None:
    key = _asset_key(ws, r, e.asset_id)
    ws.update(schema.assets, key, notice_ends_at=e.notice_ends_at)


@handles(ev.ObjectionLodgedRow)
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


@handles(ev.ObjectionResolvedRow)
def _objection_resolved(ws: WorkingSet, r: LogRecord, e: ev.ObjectionResolvedRow) -> None:
    key = (e.objection_id,)
    _require(ws.get(schema.objections, key), f"objection {e.objection_id}", r)
    ws.update(
        schema.objections,
        key,
        open=False,
        upheld=e.upheld,
        resolution_hash=e.reason_hash,
        resolved_by=e.registrar,
        resolved_block=r.block_number,
    )


@handles(ev.CertificateIssuedRow)
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
        key = _asset_key(ws, r, e.asset_id)
        ws.update(schema.assets, key, registration_number=e.registration_number)


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


@handles(ev.LicenseRevokedRow)
def _license_revoked(ws: WorkingSet, r: LogRecord, e: ev.LicenseRevokedRow) -> None:
    key = (e.license_id,)
    _require(ws.get(schema.licenses, key), f"license {e.license_id}", r)
    ws.update(
        schema.licenses,
        key,
        revoked_block=r.block_number,
        revoked_at=r.block_time,
        revocation_reason=e.reason_hash,
    )


@handles(ev.AppraisalRecordedRow)
def _appraisal(ws: WorkingSet, r: LogRecord, e: ev.AppraisalRecordedRow) -> None:
    ws.create(
        schema.appraisals,
        {
            "appraisal_id": e.appraisal_id,
            "asset_id": e.asset_id,
            "appraiser": e.appraiser,
            "amount": str(e.amount),
            "currency": _text(e.currency),
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
        _require(ws.get(schema.appraisals, previous), f"appraisal {e.supersedes}", r)
        ws.update(schema.appraisals, previous, superseded_by=e.appraisal_id)


# ---------------------------------------------------------------- disputes


@handles(ev.DisputeOpenedRow)
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


@handles(ev.DisputeFrozenRow)
def _dispute_frozen(ws: WorkingSet, r: LogRecord, e: ev.DisputeFrozenRow) -> None:
    key = (e.dispute_id,)
    _require(ws.get(schema.disputes, key), f"dispute {e.dispute_id}", r)
    ws.update(schema.disputes, key, status="FROZEN", frozen_block=r.block_number, arbiter=e.arbiter)


@handles(ev.DisputeRuledRow)
def _dispute_ruled(ws: WorkingSet, r: LogRecord, e: ev.DisputeRuledRow) -> None:
    key = (e.dispute_id,)
    _require(ws.get(schema.disputes, key), f"dispute {e.dispute_id}", r)
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


@handles(ev.ExportPermitIssuedRow)
def _permit_issued(ws: WorkingSet, r: LogRecord, e: ev.ExportPermitIssuedRow) -> None:
    ws.put(
        schema.export_permits,
        {
            "asset_id": e.asset_id,
            "recipient": e.recipient,
            "destination": _text(e.destination),
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
    _require(ws.get(schema.export_permits, key), f"export permit {key}", r)
    ws.update(schema.export_permits, key, state=state, closed_block=r.block_number)


@handles(ev.ExportPermitRevokedRow)
def _permit_revoked(ws: WorkingSet, r: LogRecord, e: ev.ExportPermitRevokedRow) -> None:
    _close_permit(ws, r, e.asset_id, e.recipient, "REVOKED")


@handles(ev.ExportPermitUsedRow)
def _permit_used(ws: WorkingSet, r: LogRecord, e: ev.ExportPermitUsedRow) -> None:
    _close_permit(ws, r, e.asset_id, e.recipient, "USED")


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


@handles(ev.LeafPromotedRow)
def _leaf_promoted(ws: WorkingSet, r: LogRecord, e: ev.LeafPromotedRow) -> None:
    root = (e.root,)
    batch = _require(ws.get(schema.batches, root), f"batch {e.root}", r)
    ws.update(schema.batches, root, promoted_count=batch["promoted_count"] + 1)
    key = _asset_key(ws, r, e.asset_id)
    ws.update(schema.assets, key, batch_root=e.root)


# ---------------------------------------------------------------- market


@handles(ev.OfferCreatedRow)
def _offer_created(ws: WorkingSet, r: LogRecord, e: ev.OfferCreatedRow) -> None:
    license_offer = e.kind == OfferKind.LICENSE
    ws.create(
        schema.offers,
        {
            "offer_id": e.offer_id,
            "asset_id": e.asset_id,
            "seller": e.seller,
            "kind": OfferKind(e.kind).name,
            "currency": e.currency,
            "price": str(e.price),
            "price_key": schema.price_key(e.price),
            "min_bid": str(e.min_bid),
            "expires_at": e.expires_at,
            "fee_bps": e.fee_bps,
            "license_kind": LicenseKind(e.license_kind).name if license_offer else None,
            "license_duration": e.license_duration if license_offer else None,
            "terms_hash": e.terms_hash if license_offer else None,
            "scope": e.scope if license_offer else None,
            "status": "OPEN",
            "created_block": r.block_number,
            "created_at": r.block_time,
            "closed_block": None,
            "block_number": r.block_number,
        },
    )


@handles(ev.OfferCancelledRow)
def _offer_cancelled(ws: WorkingSet, r: LogRecord, e: ev.OfferCancelledRow) -> None:
    key = (e.offer_id,)
    if not ws.blind:
        _require(ws.get(schema.offers, key), f"offer {e.offer_id}", r)
    ws.update(schema.offers, key, status="CANCELLED", closed_block=r.block_number)


@handles(ev.BidPlacedRow)
def _bid_placed(ws: WorkingSet, r: LogRecord, e: ev.BidPlacedRow) -> None:
    ws.create(
        schema.bids,
        {
            "bid_id": e.bid_id,
            "offer_id": e.offer_id,
            "asset_id": e.asset_id,
            "bidder": e.bidder,
            "currency": e.currency,
            "amount": str(e.amount),
            "expires_at": e.expires_at,
            "status": "OPEN",
            "placed_block": r.block_number,
            "placed_at": r.block_time,
            "closed_block": None,
            "block_number": r.block_number,
        },
    )


@handles(ev.BidCancelledRow)
def _bid_cancelled(ws: WorkingSet, r: LogRecord, e: ev.BidCancelledRow) -> None:
    key = (e.bid_id,)
    if not ws.blind:
        _require(ws.get(schema.bids, key), f"bid {e.bid_id}", r)
    ws.update(schema.bids, key, status="CANCELLED", closed_block=r.block_number)


@handles(ev.TradeSettledRow)
def _trade_settled(ws: WorkingSet, r: LogRecord, e: ev.TradeSettledRow) -> None:
    kind = OfferKind(e.kind)
    ws.create(
        schema.trades,
        {
            "trade_id": e.trade_id,
            "offer_id": e.offer_id,
            "bid_id": e.bid_id or None,
            "asset_id": e.asset_id,
            "kind": kind.name,
            "seller": e.seller,
            "buyer": e.buyer,
            "currency": e.currency,
            "price": str(e.price),
            "fee": str(e.fee),
            "fee_recipient": e.fee_recipient if e.fee else None,
            "seller_proceeds": str(e.price - e.fee),
            "license_id": e.license_id or None,
            "tx_hash": r.tx_hash,
            "log_index": r.log_index,
            "settled_at": r.block_time,
            "block_number": r.block_number,
        },
    )
    if e.bid_id:
        ws.update(schema.bids, (e.bid_id,), status="ACCEPTED", closed_block=r.block_number)
    _count_trade(ws, r, e)
    if kind != OfferKind.ASSET:
        return
    ws.update(schema.offers, (e.offer_id,), status="FILLED", closed_block=r.block_number)
    # The registry's Transfer of this trade came just before, in the same transaction (so in
    # this batch): its holding period was acquired by trade.
    asset = ws.known(schema.assets, (e.asset_id,))
    if asset is None or "holder_since_block" not in asset:
        raise ProjectionError(f"the transfer of trade {e.trade_id}", r)
    period = (e.asset_id, asset["holder_since_block"], asset["holder_since_log"])
    ws.update(schema.holdings, period, via="TRADE")


def _count_trade(ws: WorkingSet, r: LogRecord, e: ev.TradeSettledRow) -> None:
    """Add the trade to its asset's category, grade and currency in ``market_stats``."""
    asset = _require(ws.get(schema.assets, (e.asset_id,)), f"asset {e.asset_id}", r)
    key = (asset["category"], asset["grade"], e.currency)
    before = ws.get(schema.market_stats, key)
    ws.put(
        schema.market_stats,
        {
            "category": asset["category"],
            "grade": asset["grade"],
            "currency": e.currency,
            "trades": (before["trades"] if before else 0) + 1,
            "volume": str((int(before["volume"]) if before else 0) + e.price),
            "last_price": str(e.price),
            "last_trade_id": e.trade_id,
            "block_number": r.block_number,
        },
    )


@handles(ev.ProceedsWithdrawnRow)
def _withdrawn(ws: WorkingSet, r: LogRecord, e: ev.ProceedsWithdrawnRow) -> None:
    ws.create(
        schema.withdrawals,
        {
            "withdrawn_block": r.block_number,
            "log_index": r.log_index,
            "account": e.account,
            "currency": e.currency,
            "amount": str(e.amount),
            "withdrawn_at": r.block_time,
            "block_number": r.block_number,
        },
    )


@handles(ev.FeeUpdatedRow)
def _fee(ws: WorkingSet, r: LogRecord, e: ev.FeeUpdatedRow) -> None:
    _setting(ws, r, "market_fee_recipient", e.fee_recipient)
    _setting(ws, r, "market_fee_bps", str(e.fee_bps))


@handles(ev.CurrencyListingChangedRow)
def _currency(ws: WorkingSet, r: LogRecord, e: ev.CurrencyListingChangedRow) -> None:
    ws.put(
        schema.market_currencies,
        {"currency": e.currency, "listed": e.listed, "block_number": r.block_number},
    )


#: Event rows that change no projection (they are kept in the events table only).
EVENTS_ONLY: Final = frozenset(
    {
        ev.ApprovalRow,
        ev.ApprovalForAllRow,
        ev.RoleAdminChangedRow,
        ev.EIP712DomainChangedRow,
        ev.RegistrationRejectedRow,
    }
)


def unhandled_row_types() -> set[str]:
    """Names of row types with neither a handler nor a place in :data:`EVENTS_ONLY`."""
    every = {decoder.__annotations__["return"] for _, decoder in ev.ROW_DECODERS.values()}
    handled = {kind.__name__ for kind in (*_HANDLERS, *EVENTS_ONLY)}
    return {kind for kind in every if kind not in handled}
