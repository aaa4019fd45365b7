"""The indexed events that put an asset on the chain, for proof bundles.

A directly registered asset (channel DIRECT or SIGNED) has one: its ``AssetRegistered`` log. An
asset promoted from a batch leaf has three: the ``AssetRegistered`` and ``LeafPromoted`` logs of
the promoting transaction and the ``BatchAnchored`` log that anchored the batch's root.

Rows come back in the form the indexer decodes (lowercase hex text, ints; ``args`` the decoded
fields in declaration order). The node's copy of each log is the proof; these rows say where to
find it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, RowMapping, and_, select

from provledger.store import schema
from provledger.store.eventargs import unpack_args
from provledger.store.records import LogPosition

#: Position of ``root`` in ``BatchAnchored(bytes32 indexed root, address indexed submitter,
#: uint32 leafCount, string manifestURI)``'s stored args.
_ANCHORED_ROOT: Final = 0


@dataclass(frozen=True)
class EventRow(LogPosition):
    """One row of the ``events`` table."""

    asset_id: str | None
    args: tuple[Any, ...]
    """The decoded fields in declaration order (``provledger.indexer.rows`` names them)."""


@dataclass(frozen=True)
class RegistrationTrail:
    """An asset and the indexed events that registered it."""

    asset_id: str
    content_hash: str
    channel: str
    """DIRECT, SIGNED or BATCH."""
    batch_root: str | None
    registration: EventRow
    """The ``AssetRegistered`` row."""
    promotion: EventRow | None
    """The ``LeafPromoted`` row, for an asset promoted from a batch leaf."""
    anchor: EventRow | None
    """The ``BatchAnchored`` row of the batch the asset was promoted from."""


def _event_row(row: RowMapping) -> EventRow:
    return EventRow(
        block_number=int(row["block_number"]),
        log_index=int(row["log_index"]),
        block_hash=str(row["block_hash"]),
        block_time=int(row["block_time"]),
        tx_hash=str(row["tx_hash"]),
        tx_index=int(row["tx_index"]),
        contract=str(row["contract"]),
        event=str(row["event"]),
        asset_id=None if row["asset_id"] is None else str(row["asset_id"]),
        args=tuple(unpack_args(row["args"], row["asset_id"])),
    )


def _asset_event(conn: Connection, asset: RowMapping, event: str) -> EventRow | None:
    """The ``event`` row of the asset's registering transaction (on the asset id index)."""
    events = schema.events
    row = (
        conn.execute(
            schema.positioned_events()
            .where(
                and_(
                    events.c.asset_id == asset["asset_id"],
                    events.c.block_number == asset["registered_block"],
                    schema.transactions.c.tx_hash == asset["registered_tx"],
                    events.c.event == event,
                )
            )
            .order_by(events.c.log_index)
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else _event_row(row)


def batch_anchor_event(conn: Connection, root: str, before_block: int) -> EventRow | None:
    """The ``BatchAnchored`` row of ``root`` (anchored at or before ``before_block``)."""
    batches, events = schema.batches, schema.events
    anchored_tx = conn.execute(
        select(batches.c.anchored_tx).where(batches.c.root == root)
    ).scalar_one_or_none()
    if anchored_tx is None:
        return None
    # BatchAnchored concerns no asset: its rows have a NULL asset_id, which the asset id index
    # still serves, so this reads the asset-less events rather than the whole table.
    rows = conn.execute(
        schema.positioned_events().where(
            and_(
                events.c.asset_id.is_(None),
                events.c.block_number <= before_block,
                schema.transactions.c.tx_hash == anchored_tx,
                events.c.event == "BatchAnchored",
            )
        )
    ).mappings()
    for row in rows:
        found = _event_row(row)
        if found.args[_ANCHORED_ROOT] == root:  # one transaction may anchor several roots
            return found
    return None


def registration_trail(conn: Connection, asset_id: str) -> RegistrationTrail | None:
    """The asset ``asset_id`` (0x + 64 hex digits) and the events that registered it; None if
    the index does not hold the asset."""
    assets = schema.assets
    asset = conn.execute(select(assets).where(assets.c.asset_id == asset_id)).mappings().first()
    if asset is None:
        return None
    registration = _asset_event(conn, asset, "AssetRegistered")
    if registration is None:  # rows and projections commit together; kept for type safety
        return None
    root = None if asset["batch_root"] is None else str(asset["batch_root"])
    promotion = anchor = None
    if root is not None:
        promotion = _asset_event(conn, asset, "LeafPromoted")
        anchor = batch_anchor_event(conn, root, registration.block_number)
    return RegistrationTrail(
        asset_id=str(asset["asset_id"]),
        content_hash=str(asset["content_hash"]),
        channel=str(asset["channel"]),
        batch_root=root,
        registration=registration,
        promotion=promotion,
        anchor=anchor,
    )
