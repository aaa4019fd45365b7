"""The answers of the read side: each a frozen dataclass in output form (checksummed addresses,
``0x`` hex, decimal text for amounts) that the gateway returns as it is and the command line
prints, with the finality of the record it shows.

Where a view has ``block_number``, it is the block of the record's latest change, and
``finality`` says how settled that block is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import Field

from provledger.chain.ids import asset_id_hex
from provledger.params import to_hex32
from provledger.store.dataroom import ObjectKind, StoredObject

T = TypeVar("T")


class Finality(StrEnum):
    """How settled a record is, from its block's depth below the head."""

    PENDING = "pending"
    SAFE = "safe"
    FINAL = "final"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: Annotated[
        str | None, Field(description="Cursor of the next page; null on the last page.")
    ]


Hash = Annotated[str, Field(examples=["0x" + "ab" * 32])]
Address = Annotated[str, Field(examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"])]


@dataclass(frozen=True)
class AssetView:
    """An asset as indexed: identity, registration, current holder and status."""

    asset_id: Hash
    content_hash: Hash
    registrant: Address
    holder: Address
    holder_since_block: int
    category: int
    grade: int
    status: Annotated[str, Field(examples=["CERTIFIED"])]
    under_objection: bool
    frozen: bool
    metadata_uri: str
    metadata_hash: Hash
    metadata_version: int
    channel: Annotated[str, Field(examples=["DIRECT"])]
    submitter: Address
    batch_root: Hash | None
    notice_ends_at: int | None
    registration_number: int | None
    registered_block: int
    registered_at: int
    registered_tx: Hash
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class EventView:
    """One event in chain order, with its position and decoded arguments."""

    block_number: int
    log_index: int
    block_hash: Hash
    block_time: int
    tx_hash: Hash
    contract: Address
    event: Annotated[str, Field(examples=["AssetRegistered"])]
    args: dict[str, Any]
    finality: Finality


@dataclass(frozen=True)
class HoldingView:
    """A period during which one account held an asset."""

    holder: Address
    from_block: int
    from_log: int
    from_time: int
    from_tx: Hash
    to_block: int | None
    to_time: int | None
    via: Annotated[str, Field(examples=["TRANSFER"])]
    finality: Finality


@dataclass(frozen=True)
class LineageNode:
    """An asset in a lineage graph; ``depth`` is negative for ancestors, positive below."""

    asset_id: Hash
    depth: int
    indexed: bool
    registrant: Address | None
    holder: Address | None
    status: str | None
    category: int | None
    grade: int | None


@dataclass(frozen=True)
class LineageEdge:
    """``child`` was derived from ``parent`` by ``relation``."""

    child_id: Hash
    parent_id: Hash
    relation: Annotated[str, Field(examples=["DERIVED_FROM"])]
    position: int
    license_id: int | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class LineageView:
    """Ancestors and descendants of an asset up to a depth, as nodes and edges."""

    root: Hash
    depth: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: Annotated[
        bool, Field(description="True when the graph goes on beyond the requested depth.")
    ]


@dataclass(frozen=True)
class LicenseView:
    """A license on an asset."""

    license_id: int
    asset_id: Hash
    licensor: Address
    licensee: Address
    kind: Annotated[str, Field(examples=["PROCESSING_USE"])]
    expires_at: int
    terms_hash: Hash
    scope: str
    granted_block: int
    granted_at: int
    revoked_block: int | None
    revoked_at: int | None
    revocation_reason: Hash | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class AppraisalView:
    """A valuation of an asset; ``superseded_by`` names the appraisal that replaced it."""

    appraisal_id: int
    asset_id: Hash
    appraiser: Address
    amount: Annotated[str, Field(description="Decimal, minor units", examples=["1250000"])]
    currency: Annotated[str, Field(examples=["CNY"])]
    method: str
    report_hash: Hash
    supersedes: int | None
    superseded_by: int | None
    current: bool
    appraised_at: int
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class ObjectionView:
    """An objection lodged during public notice."""

    objection_id: int
    asset_id: Hash
    objector: Address
    grounds_hash: Hash
    open: bool
    upheld: bool | None
    resolution_hash: Hash | None
    resolved_by: Address | None
    lodged_block: int
    lodged_at: int
    resolved_block: int | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class DisputeView:
    """A dispute over an asset and its ruling, if any."""

    dispute_id: int
    asset_id: Hash
    claimant: Address
    evidence_hash: Hash
    status: Annotated[str, Field(examples=["FROZEN"])]
    """``OPEN``, then ``FROZEN`` once an arbiter froze the asset, then ``RULED``."""
    ruling: str | None
    """``DISMISS``, ``TRANSFER_TO_CLAIMANT`` or ``CANCEL_ASSET``; None until ruled."""
    ruling_hash: Hash | None
    arbiter: Address | None
    """The arbiter who froze the asset, then the one who ruled; None while open."""
    opened_block: int
    opened_at: int
    frozen_block: int | None
    ruled_block: int | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class CertificateView:
    """A registration certificate with its sequential number."""

    registration_number: int
    asset_id: Hash
    registration_type: Annotated[str, Field(examples=["INITIAL"])]
    """What was registered: ``INITIAL``, ``LICENSE``, ``TRANSFER``, ``CHANGE``,
    ``CANCELLATION`` or ``OBJECTION``."""
    certificate_hash: Hash
    registrar: Address
    issued_at: int
    """The unix time of the block that issued it."""
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class ExportPermitView:
    """A single-use permit to transfer a grade 2 asset across a border."""

    asset_id: Hash
    recipient: Address
    destination: Annotated[str, Field(examples=["HK"])]
    """The recipient's jurisdiction when the permit was issued, two letters."""
    expires_at: int
    approver: Address
    issued_block: int
    state: Annotated[str, Field(examples=["ISSUED"])]
    """``ISSUED``, then ``USED`` by the transfer it allowed or ``REVOKED``."""
    closed_block: int | None
    """The block that used or revoked it; None while issued."""
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class ParticipantView:
    """A registered participant and its jurisdiction."""

    account: Address
    jurisdiction: Annotated[str, Field(examples=["CN"])]
    name_hash: Hash
    name: Annotated[
        str | None,
        Field(
            description="The name whose SHA-256 is name_hash, when the gateway's blob folder "
            "holds its text; null otherwise.",
            examples=["Pudong Sensor Networks Co."],
        ),
    ]
    status: Annotated[str, Field(examples=["ACTIVE"])]
    registered_block: int
    registered_at: int
    suspension_reason: Hash | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class PartyView:
    """How to name an account: its participant name and jurisdiction, when it has them, and
    its authority roles. ``status`` is None for an account that is not a registered
    participant."""

    account: Address
    name: str | None
    jurisdiction: str | None
    status: str | None
    roles: tuple[str, ...] = ()
    """The authority roles it holds now, in words (``registrar``, ``export approver``)."""


@dataclass(frozen=True)
class BatchView:
    """A Merkle batch anchor."""

    root: Hash
    submitter: Address
    leaf_count: int
    manifest_uri: str
    anchored_at: int
    anchored_tx: Hash
    promoted_count: int
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class Standing:
    """An asset (None if unregistered) and what a verifier weighs, as of ``checked_at``."""

    asset: AssetView | None
    open_disputes: int
    valid_licenses: list[LicenseView]
    checked_at: int


@dataclass(frozen=True)
class StatusView:
    """The chain and the index: head, indexed block, lag, finality settings."""

    chain_id: int | None
    head_block: int | None
    indexed_block: int | None
    indexed_block_hash: Hash | None
    lag_blocks: int | None
    confirmations: int
    finality_depth: int
    events: int
    updated_at: int | None


@dataclass(frozen=True)
class HolderAtView:
    """Who held an asset at a block or a time, and the period that covers it."""

    asset_id: Hash
    block_number: int | None
    timestamp: int | None
    holder: Address
    period: HoldingView


@dataclass(frozen=True)
class StoredDataView:
    """What the data room holds of an asset: a file, or a folder of files, encrypted."""

    asset_id: Hash
    kind: ObjectKind
    content_hash: Hash
    size: int
    """Plaintext bytes: of the file, or summed over the folder's files."""
    file_count: int
    stored_at: int
    """When it was stored, unix time in ms."""

    @classmethod
    def of(cls, stored: StoredObject) -> StoredDataView:
        """``stored`` in output form."""
        return cls(
            asset_id_hex(stored.asset_id),
            stored.kind,
            to_hex32(stored.content_hash),
            stored.size,
            stored.file_count,
            stored.stored_at,
        )
