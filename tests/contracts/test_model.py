"""Model-based test: random sequences of actions, a Python model of the rules, the real chain.

Hypothesis drives registrations (single and batched, valid or not), transfers (within and
across jurisdictions, with and without export permits), the review procedure (accept, reject,
object, resolve, certify), licenses (granted, revoked, expired), disputes (opened, frozen,
ruled all three ways), cancellations, metadata revisions, participant suspensions, the
market (approvals, asset listings and license offers, purchases, counter-bids placed, cancelled
and accepted, withdrawals, the platform fee) and the clock. For every action the model
:class:`Rules` predicts either the exact events or the exact custom error with all its
arguments; the chain must do exactly that. After every step an invariant reads every asset,
participant, license, dispute, objection, permit, offer, bid and balance owed back through the
contracts' view functions and compares them with the model, and holds the chain to two
conservation laws: the market holds exactly what it owes plus the open bids, and the machine's
accounts, the market and the gas they paid add up to what the accounts held when the example
started (no money appears or vanishes). An asset changes holder only in :meth:`Rules._move`:
a transfer, a ruling or a trade.

Time: the model decides time-dependent rules with the latest block's timestamp, while a
transaction runs up to a few seconds later. Every duration here (notice period, license and
permit expiries, clock advances, which are made exact on both backends) is a whole number of
hours, so no deadline can fall in those few seconds and both give the same answer; errors that
carry the current time accept a value up to :data:`CLOCK_SLACK` seconds after the latest block.

Hypothesis' statistics (``--hypothesis-show-statistics``) list how often each outcome occurred.

Reading ~100 views one by one after every step would dominate the run (web3 and eth-tester
spend milliseconds per call), so the invariant reads them in one ``eth_call`` through a tiny
aggregator contract assembled below from EVM opcodes.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Final, TypeVar

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils.abi import collapse_if_tuple
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from web3 import Web3
from web3.types import BlockData

from helpers.builders import doc
from helpers.world import NOTICE_PERIOD, World
from provledger.chain.artifacts import load_artifact
from provledger.chain.client import Provledger
from provledger.chain.connection import is_embedded
from provledger.chain.deployments import Deployment
from provledger.chain.enums import (
    AssetStatus,
    BidStatus,
    Channel,
    DisputeStatus,
    LicenseKind,
    OfferKind,
    OfferStatus,
    ParticipantStatus,
    RegistrationType,
    Relation,
    Ruling,
)
from provledger.chain.events import (
    Approval,
    AssetRegistered,
    AssetRestrictionsChanged,
    AssetStatusChanged,
    BidCancelled,
    BidPlaced,
    CertificateIssued,
    DisputeFrozen,
    DisputeOpened,
    DisputeRuled,
    Event,
    ExportPermitIssued,
    ExportPermitRevoked,
    ExportPermitUsed,
    FeeUpdated,
    LicenseGranted,
    LicenseRevoked,
    LineageLinked,
    MetadataUpdated,
    ObjectionLodged,
    ObjectionResolved,
    OfferCancelled,
    OfferCreated,
    ParticipantRegistered,
    ParticipantReinstated,
    ParticipantSuspended,
    ProceedsWithdrawn,
    RegistrationAccepted,
    RegistrationRejected,
    TradeSettled,
    Transfer,
)
from provledger.chain.ids import asset_id, role_id
from provledger.chain.reverts import ContractRevert, decode_revert_data
from provledger.chain.transactions import Receipt
from provledger.chain.types import (
    AssetState,
    BidState,
    DisputeState,
    ExportPermitState,
    LicenseState,
    ObjectionState,
    OfferState,
    ParentLink,
    ParticipantState,
    Registration,
    jurisdiction_text,
)

T = TypeVar("T")

HOUR: Final = 3600
#: How far after the latest block a node may date the next transaction (eth-tester adds a
#: second per block, anvil follows the wall clock, also after a snapshot is reverted).
CLOCK_SLACK: Final = 900
ZERO_HASH: Final = b"\x00" * 32
ZERO_ADDRESS: Final = Web3.to_checksum_address("0x" + "00" * 20)
MAX_PARENTS: Final = 16
UNLISTED_CATEGORY: Final = 999
NOWHERE: Final = b"\x00\x00"
#: The market's fee cap (``MAX_FEE_BPS``), its denominator, and its longest license.
MAX_FEE_BPS: Final = 1000
BPS: Final = 10_000
MAX_LICENSE_DURATION: Final = 100 * 365 * 24 * HOUR
#: The native currency, in offers, bids, events and ``owedTo``.
NATIVE: Final = ZERO_ADDRESS


def content(label: str) -> bytes:
    """A content hash for ``label``."""
    return hashlib.sha256(f"model content {label}".encode()).digest()


UNKNOWN_ASSET: Final = asset_id(content("never registered"))

# ---------------------------------------------------------------- expectations


class Expected(Exception):
    """The model's prediction that an action reverts with custom error ``name(**args)``."""

    def __init__(self, name: str, **args: Any) -> None:
        self.name = name
        self.args_by_name = args
        super().__init__(f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})")


class Around:
    """A block timestamp known to within :data:`CLOCK_SLACK` seconds after ``value``."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and self.value <= other <= self.value + CLOCK_SLACK

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Around({self.value})"


# ---------------------------------------------------------------- the model


@dataclass
class ParticipantRecord:
    jurisdiction: bytes
    status: ParticipantStatus
    registered_at: int
    name_hash: bytes


NOBODY: Final = ParticipantRecord(NOWHERE, ParticipantStatus.NONE, 0, ZERO_HASH)


@dataclass
class AssetRecord:
    asset_id: int
    content_hash: bytes
    registrant: ChecksumAddress
    registered_at: int
    category: int
    grade: int
    status: AssetStatus
    holder: ChecksumAddress
    metadata_hash: bytes
    metadata_version: int = 1
    parents: tuple[ParentLink, ...] = ()
    notice_ends_at: int = 0
    open_objections: int = 0
    freezes: int = 0
    initial_certificate: int = 0

    def state(self) -> AssetState:
        """What ``assetOf`` + ``ownerOf`` + ``metadataHashOf`` must return."""
        return AssetState(
            asset_id=self.asset_id,
            registrant=self.registrant,
            registered_at=self.registered_at,
            category=self.category,
            grade=self.grade,
            status=self.status,
            under_objection=self.open_objections > 0,
            frozen=self.freezes > 0,
            metadata_version=self.metadata_version,
            holder=self.holder,
            metadata_hash=self.metadata_hash,
        )


@dataclass
class LicenseRecord:
    asset_id: int
    licensor: ChecksumAddress
    granted_at: int
    expires_at: int
    kind: LicenseKind
    licensee: ChecksumAddress
    terms_hash: bytes
    revoked_at: int = 0
    sold: bool = False  # through the market: the holder cannot revoke it

    def valid_at(self, timestamp: int) -> bool:
        """Granted at or before, expiring after, not revoked at or before ``timestamp``."""
        return self.granted_at <= timestamp < self.expires_at and (
            self.revoked_at == 0 or timestamp < self.revoked_at
        )


@dataclass
class DisputeRecord:
    asset_id: int
    claimant: ChecksumAddress
    opened_at: int
    evidence_hash: bytes
    status: DisputeStatus = DisputeStatus.OPEN
    ruling: Ruling = Ruling.NONE
    ruling_hash: bytes = ZERO_HASH


@dataclass
class ObjectionRecord:
    asset_id: int
    objector: ChecksumAddress
    lodged_at: int
    grounds_hash: bytes
    open: bool = True
    upheld: bool = False


@dataclass
class PermitRecord:
    destination: bytes
    issued_at: int
    expires_at: int
    approver: ChecksumAddress
    used: bool = False
    revoked: bool = False


@dataclass
class OfferRecord:
    seller: ChecksumAddress
    expires_at: int
    kind: OfferKind
    fee_bps: int
    asset_id: int
    price: int
    min_bid: int
    license_kind: int = 0
    license_duration: int = 0
    terms_hash: bytes = ZERO_HASH
    scope: str = ""
    status: OfferStatus = OfferStatus.OPEN

    def state(self, number: int) -> OfferState:
        """What ``offerOf`` must return (native currency only)."""
        return OfferState(
            offer_id=number,
            seller=self.seller,
            expires_at=self.expires_at,
            kind=self.kind,
            status=self.status,
            license_kind=LicenseKind(self.license_kind),
            fee_bps=self.fee_bps,
            asset_id=self.asset_id,
            currency=NATIVE,
            license_duration=self.license_duration,
            price=self.price,
            min_bid=self.min_bid,
            terms_hash=self.terms_hash,
            scope=self.scope,
        )


@dataclass
class BidRecord:
    offer_id: int
    bidder: ChecksumAddress
    expires_at: int
    amount: int
    status: BidStatus = BidStatus.OPEN


@dataclass
class MoveRecord:
    """A change of holder the model made: to whom, why, and in which block (the driver stamps
    the block once the chain mined it)."""

    asset_id: int
    holder: ChecksumAddress
    via: str  # TRANSFER | TRADE | RULING, as the index calls them
    block: int = 0


@dataclass
class Rules:
    """The registry's rules in plain Python, written from the interfaces' NatSpec.

    Every action takes the current time ``now`` and either raises :class:`Expected` or updates
    the state and returns the events the chain must emit, in log order. Where several
    requirements fail, the first checked by the contracts wins, so the checks keep their order.
    """

    registrar: ChecksumAddress
    arbiter: ChecksumAddress
    exporter: ChecksumAddress
    market: ChecksumAddress
    notice_period: int
    categories: frozenset[int]
    participants: dict[ChecksumAddress, ParticipantRecord] = field(default_factory=dict)
    assets: dict[int, AssetRecord] = field(default_factory=dict)
    licenses: list[LicenseRecord] = field(default_factory=list)
    disputes: list[DisputeRecord] = field(default_factory=list)
    objections: list[ObjectionRecord] = field(default_factory=list)
    permits: dict[tuple[int, ChecksumAddress], PermitRecord] = field(default_factory=dict)
    certificates: int = 0
    #: Every change of holder since the model began, in chain order (registrations aside).
    moves: list[MoveRecord] = field(default_factory=list)
    # the market, in the native currency only
    offers: list[OfferRecord] = field(default_factory=list)
    bids: list[BidRecord] = field(default_factory=list)
    owed: dict[ChecksumAddress, int] = field(default_factory=dict)
    trades: int = 0
    fee_recipient: ChecksumAddress = ZERO_ADDRESS
    fee_bps: int = 0
    #: Assets whose ERC-721 approved address is the market (every move clears it).
    approved: set[int] = field(default_factory=set)
    #: Assets ever approved: the others' approval cannot change without an Approval event.
    ever_approved: set[int] = field(default_factory=set)

    # -- guards shared by several actions

    def participant(self, account: ChecksumAddress) -> ParticipantRecord:
        return self.participants.get(account, NOBODY)

    def _require_active(self, account: ChecksumAddress) -> None:
        status = self.participant(account).status
        if status is not ParticipantStatus.ACTIVE:
            raise Expected("ParticipantNotActive", account=account, status=status)

    def _known(self, asset: int) -> AssetRecord:
        record = self.assets.get(asset)
        if record is None:
            raise Expected("UnknownAsset", assetId=asset)
        return record

    def _held_by(self, caller: ChecksumAddress, asset: int) -> AssetRecord:
        record = self._known(asset)
        if record.holder != caller:
            raise Expected("NotAssetHolder", assetId=asset, caller=caller, holder=record.holder)
        return record

    @staticmethod
    def _require_modifiable(record: AssetRecord) -> None:
        if record.status in (AssetStatus.REJECTED, AssetStatus.CANCELLED):
            raise Expected("AssetNotModifiable", assetId=record.asset_id, status=record.status)
        if record.freezes:
            raise Expected("AssetFrozen", assetId=record.asset_id)

    def _require_status(self, asset: int, expected: AssetStatus) -> AssetRecord:
        record = self._known(asset)
        if record.status is not expected:
            raise Expected(
                "UnexpectedStatus", assetId=asset, status=record.status, expected=expected
            )
        return record

    def _set_status(
        self, record: AssetRecord, status: AssetStatus, reason: bytes, actor: ChecksumAddress
    ) -> AssetStatusChanged:
        previous, record.status = record.status, status
        return AssetStatusChanged(record.asset_id, previous, status, reason, actor)

    @staticmethod
    def _restrictions(record: AssetRecord) -> AssetRestrictionsChanged:
        return AssetRestrictionsChanged(
            record.asset_id, record.open_objections > 0, record.freezes > 0
        )

    def valid_license(
        self, asset: int, licensee: ChecksumAddress, kind: LicenseKind, timestamp: int
    ) -> int:
        """The earliest license of ``kind`` on ``asset`` to ``licensee`` valid at ``timestamp``."""
        for number, license_ in enumerate(self.licenses, start=1):
            if (
                license_.asset_id == asset
                and license_.licensee == licensee
                and license_.kind is kind
                and license_.valid_at(timestamp)
            ):
                return number
        return 0

    # -- participants

    def register_participant(
        self, account: ChecksumAddress, jurisdiction: str, name_hash: bytes, now: int
    ) -> list[Event]:
        if self.participant(account).status is not ParticipantStatus.NONE:
            raise Expected("ParticipantAlreadyRegistered", account=account)
        code = jurisdiction.encode()
        self.participants[account] = ParticipantRecord(
            code, ParticipantStatus.ACTIVE, now, name_hash
        )
        return [ParticipantRegistered(account, code, name_hash, self.registrar)]

    def suspend(self, account: ChecksumAddress, reason: bytes, now: int) -> list[Event]:
        self._require_active(account)
        self.participants[account].status = ParticipantStatus.SUSPENDED
        return [ParticipantSuspended(account, reason, self.registrar)]

    def reinstate(self, account: ChecksumAddress, now: int) -> list[Event]:
        status = self.participant(account).status
        if status is not ParticipantStatus.SUSPENDED:
            raise Expected("ParticipantNotSuspended", account=account, status=status)
        self.participants[account].status = ParticipantStatus.ACTIVE
        return [ParticipantReinstated(account, self.registrar)]

    # -- registration

    def register(self, caller: ChecksumAddress, item: Registration, now: int) -> list[Event]:
        self._require_active(caller)
        if item.content_hash == ZERO_HASH:
            raise Expected("ZeroContentHash")
        if not item.metadata_uri:
            raise Expected("EmptyMetadataURI")
        if item.metadata_hash == ZERO_HASH:
            raise Expected("ZeroMetadataHash")
        if not 1 <= item.grade <= 3:
            raise Expected("InvalidGrade", grade=item.grade)
        if item.category not in self.categories:
            raise Expected("UnknownCategory", category=item.category)
        new = asset_id(item.content_hash)
        if new in self.assets:
            raise Expected(
                "AssetAlreadyRegistered",
                assetId=new,
                contentHash=item.content_hash,
                registrant=self.assets[new].registrant,
            )
        record = AssetRecord(
            asset_id=new,
            content_hash=item.content_hash,
            registrant=caller,
            registered_at=now,
            category=item.category,
            grade=item.grade,
            status=AssetStatus.APPLIED,
            holder=caller,
            metadata_hash=item.metadata_hash,
        )
        self.assets[new] = record
        events: list[Event] = [
            AssetRegistered(
                new,
                caller,
                item.content_hash,
                item.category,
                item.grade,
                item.metadata_hash,
                item.metadata_uri,
                Channel.DIRECT,
                caller,
            ),
            Transfer(ZERO_ADDRESS, caller, new),
        ]
        if item.parents:
            if len(item.parents) > MAX_PARENTS:
                raise Expected("TooManyParents", count=len(item.parents), max=MAX_PARENTS)
            seen: list[int] = []
            for link in item.parents:
                parent, relation = link.parent_id, int(link.relation)
                if not 1 <= relation <= 3:
                    raise Expected("InvalidRelation", parentId=parent, relation=relation)
                if parent in seen:
                    raise Expected("DuplicateParent", parentId=parent)
                seen.append(parent)
                source = self.assets.get(parent)
                if source is None or parent == new:
                    raise Expected("UnknownParent", parentId=parent)
                if source.status in (AssetStatus.REJECTED, AssetStatus.CANCELLED):
                    raise Expected("ParentNotUsable", parentId=parent, status=source.status)
                license_number = 0
                if source.holder != caller:
                    license_number = self.valid_license(
                        parent, caller, LicenseKind.PROCESSING_USE, now
                    )
                    if license_number == 0:
                        raise Expected(
                            "ParentNeitherHeldNorLicensed",
                            parentId=parent,
                            registrant=caller,
                            holder=source.holder,
                        )
                events.append(LineageLinked(new, parent, Relation(relation), license_number))
            record.parents = tuple(ParentLink(p.parent_id, int(p.relation)) for p in item.parents)
        return events

    def register_many(
        self, caller: ChecksumAddress, items: Sequence[Registration], now: int
    ) -> list[Event]:
        if not items:
            raise Expected("EmptyRegistrationList")
        return [event for item in items for event in self.register(caller, item, now)]

    # -- holder actions

    def update_metadata(
        self, caller: ChecksumAddress, asset: int, uri: str, metadata_hash: bytes, now: int
    ) -> list[Event]:
        record = self._held_by(caller, asset)
        self._require_modifiable(record)
        if not uri:
            raise Expected("EmptyMetadataURI")
        if metadata_hash == ZERO_HASH:
            raise Expected("ZeroMetadataHash")
        record.metadata_version += 1
        record.metadata_hash = metadata_hash
        return [MetadataUpdated(asset, record.metadata_version, metadata_hash, uri, caller)]

    def cancel(self, caller: ChecksumAddress, asset: int, reason: bytes, now: int) -> list[Event]:
        record = self._held_by(caller, asset)
        self._require_modifiable(record)
        return [self._set_status(record, AssetStatus.CANCELLED, reason, caller)]

    def transfer(
        self,
        caller: ChecksumAddress,
        asset: int,
        source: ChecksumAddress,
        to: ChecksumAddress,
        now: int,
    ) -> list[Event]:
        """ERC-721 ``transferFrom(source, to, asset)`` sent by ``caller`` (never approved)."""
        if to == ZERO_ADDRESS:
            raise Expected("ERC721InvalidReceiver", receiver=ZERO_ADDRESS)
        record = self.assets.get(asset)
        if record is None:
            # ERC-721: an id that is not a valid token cannot move; OpenZeppelin says so with
            # ERC721NonexistentToken from the authorisation check, whatever `source` is.
            raise Expected("ERC721NonexistentToken", tokenId=asset)
        if caller != record.holder:
            raise Expected("ERC721InsufficientApproval", operator=caller, tokenId=asset)
        holder = record.holder
        events = self._move(record, to, via="TRANSFER", now=now)
        if source != holder:
            raise Expected("ERC721IncorrectOwner", sender=source, tokenId=asset, owner=holder)
        return events

    def _move(self, record: AssetRecord, to: ChecksumAddress, *, via: str, now: int) -> list[Event]:
        """The transfer rules: status, restrictions, participants, the cross-border grade rule.

        The only place an asset changes holder (a transfer, a ruling or a trade, as ``via``
        says); like OpenZeppelin's ``_update``, it clears the token's approval, without an event.
        """
        asset, holder = record.asset_id, record.holder
        by_ruling = via == "RULING"
        if record.status in (AssetStatus.REJECTED, AssetStatus.CANCELLED):
            raise Expected("AssetNotTransferable", assetId=asset, status=record.status)
        sender = self.participant(holder)
        if not by_ruling:
            if record.freezes:
                raise Expected("AssetFrozen", assetId=asset)
            if record.open_objections:
                raise Expected("AssetUnderObjection", assetId=asset)
            if sender.status is not ParticipantStatus.ACTIVE:
                raise Expected("ParticipantNotActive", account=holder, status=sender.status)
        recipient = self.participant(to)
        if recipient.status is not ParticipantStatus.ACTIVE:
            raise Expected("ParticipantNotActive", account=to, status=recipient.status)
        events = self._cross_border(record, holder, to, now)
        record.holder = to
        self.approved.discard(asset)
        self.moves.append(MoveRecord(asset, to, via))
        events.append(Transfer(holder, to, asset))
        return events

    def _cross_border(
        self, record: AssetRecord, holder: ChecksumAddress, to: ChecksumAddress, now: int
    ) -> list[Event]:
        """The cross-border grade rule of a transfer or a license sale from ``holder`` to ``to``:
        grade 1 moves freely, grade 2 needs an export permit (used up here), grade 3 stays."""
        asset = record.asset_id
        here, there = self.participant(holder).jurisdiction, self.participant(to).jurisdiction
        if here == there:
            return []
        if record.grade == 3:
            raise Expected(
                "CrossBorderTransferProhibited",
                assetId=asset,
                grade=3,
                fromJurisdiction=here,
                toJurisdiction=there,
            )
        if record.grade == 2:
            permit = self.permits.get((asset, to))
            if permit is None or permit.used or permit.revoked:
                raise Expected("ExportPermitMissing", assetId=asset, recipient=to)
            if permit.expires_at <= now:
                raise Expected(
                    "ExportPermitExpired", assetId=asset, recipient=to, expiresAt=permit.expires_at
                )
            if permit.destination != there:
                raise Expected(
                    "ExportPermitDestinationMismatch",
                    assetId=asset,
                    recipient=to,
                    permitted=permit.destination,
                    actual=there,
                )
            permit.used = True
            return [ExportPermitUsed(asset, to, holder)]
        return []

    # -- registration office

    def accept(self, asset: int, now: int) -> list[Event]:
        record = self._require_status(asset, AssetStatus.APPLIED)
        record.notice_ends_at = now + self.notice_period
        return [
            RegistrationAccepted(asset, record.notice_ends_at, self.registrar),
            self._set_status(record, AssetStatus.NOTICED, ZERO_HASH, self.registrar),
        ]

    def reject(self, asset: int, reason: bytes, now: int) -> list[Event]:
        if reason == ZERO_HASH:
            raise Expected("ZeroDocumentHash")
        record = self._require_status(asset, AssetStatus.APPLIED)
        return [
            RegistrationRejected(asset, reason, self.registrar),
            self._set_status(record, AssetStatus.REJECTED, reason, self.registrar),
        ]

    def object(self, caller: ChecksumAddress, asset: int, grounds: bytes, now: int) -> list[Event]:
        if grounds == ZERO_HASH:
            raise Expected("ZeroDocumentHash")
        record = self._require_status(asset, AssetStatus.NOTICED)
        if now >= record.notice_ends_at:
            raise Expected("NoticePeriodOver", assetId=asset, noticeEndsAt=record.notice_ends_at)
        self.objections.append(ObjectionRecord(asset, caller, now, grounds))
        events: list[Event] = [ObjectionLodged(len(self.objections), asset, caller, grounds)]
        record.open_objections += 1
        if record.open_objections == 1:
            events.append(self._restrictions(record))
        return events

    def resolve_objection(
        self, objection: int, upheld: bool, reason: bytes, now: int
    ) -> list[Event]:
        if reason == ZERO_HASH:
            raise Expected("ZeroDocumentHash")
        if not 1 <= objection <= len(self.objections):
            raise Expected("UnknownObjection", objectionId=objection)
        lodged = self.objections[objection - 1]
        if not lodged.open:
            raise Expected("ObjectionAlreadyResolved", objectionId=objection)
        lodged.open, lodged.upheld = False, upheld
        record = self.assets[lodged.asset_id]
        events: list[Event] = [
            ObjectionResolved(objection, lodged.asset_id, upheld, reason, self.registrar)
        ]
        record.open_objections -= 1
        if record.open_objections == 0:
            events.append(self._restrictions(record))
        if upheld and record.status is AssetStatus.NOTICED:
            events.append(self._set_status(record, AssetStatus.REJECTED, reason, self.registrar))
        return events

    def certify(self, asset: int, kind: int, certificate: bytes, now: int) -> list[Event]:
        if certificate == ZERO_HASH:
            raise Expected("ZeroDocumentHash")
        if not 1 <= kind <= 6:
            raise Expected("InvalidRegistrationType", registrationType=kind)
        record = self._known(asset)
        if kind == RegistrationType.INITIAL:
            if record.initial_certificate:
                raise Expected(
                    "AlreadyCertified", assetId=asset, registrationNumber=record.initial_certificate
                )
            if record.status is not AssetStatus.NOTICED:
                raise Expected(
                    "UnexpectedStatus",
                    assetId=asset,
                    status=record.status,
                    expected=AssetStatus.NOTICED,
                )
            if now < record.notice_ends_at:
                raise Expected(
                    "NoticePeriodNotOver", assetId=asset, noticeEndsAt=record.notice_ends_at
                )
            if record.open_objections:
                raise Expected("OpenObjections", assetId=asset, count=record.open_objections)
        else:
            if not record.initial_certificate:
                raise Expected("NotInitiallyCertified", assetId=asset)
            expected = (
                AssetStatus.CANCELLED
                if kind == RegistrationType.CANCELLATION
                else AssetStatus.CERTIFIED
            )
            if record.status is not expected:
                raise Expected(
                    "UnexpectedStatus", assetId=asset, status=record.status, expected=expected
                )
        self.certificates += 1
        events: list[Event] = [
            CertificateIssued(
                self.certificates, asset, RegistrationType(kind), certificate, self.registrar
            )
        ]
        if kind == RegistrationType.INITIAL:
            record.initial_certificate = self.certificates
            events.append(
                self._set_status(record, AssetStatus.CERTIFIED, certificate, self.registrar)
            )
        return events

    # -- licenses

    def grant(
        self,
        caller: ChecksumAddress,
        asset: int,
        licensee: ChecksumAddress,
        kind: int,
        expires_at: int,
        terms: bytes,
        scope: str,
        now: int,
        *,
        sale: bool = False,
    ) -> list[Event]:
        """``grant`` by ``caller``; or, as a ``sale``, ``grantFor`` of the market, with
        ``caller`` the licensor, which also meets the objection and cross-border rules."""
        record = self._held_by(caller, asset)
        self._require_modifiable(record)
        self._require_active(record.holder)
        if licensee in (ZERO_ADDRESS, record.holder):
            raise Expected("InvalidLicensee", licensee=licensee)
        self._require_active(licensee)
        if not 1 <= kind <= 2:
            raise Expected("InvalidLicenseKind", kind=kind)
        if expires_at <= now:
            raise Expected("LicenseExpiryInPast", expiresAt=expires_at, timestamp=Around(now))
        if terms == ZERO_HASH:
            raise Expected("ZeroTermsHash")
        events: list[Event] = []
        if sale:
            if record.open_objections:
                raise Expected("AssetUnderObjection", assetId=asset)
            events = self._cross_border(record, record.holder, licensee, now)
        self.licenses.append(
            LicenseRecord(
                asset, caller, now, expires_at, LicenseKind(kind), licensee, terms, sold=sale
            )
        )
        return [
            *events,
            LicenseGranted(
                len(self.licenses),
                asset,
                licensee,
                caller,
                LicenseKind(kind),
                expires_at,
                terms,
                scope,
            ),
        ]

    def revoke_license(
        self, caller: ChecksumAddress, license_id: int, reason: bytes, now: int
    ) -> list[Event]:
        if not 1 <= license_id <= len(self.licenses):
            raise Expected("UnknownLicense", licenseId=license_id)
        license_ = self.licenses[license_id - 1]
        holder = self.assets[license_.asset_id].holder
        if holder != caller:
            raise Expected(
                "NotAssetHolder", assetId=license_.asset_id, caller=caller, holder=holder
            )
        if license_.sold:
            raise Expected("SoldLicenseNotRevocable", licenseId=license_id)
        if license_.revoked_at:
            raise Expected(
                "LicenseAlreadyRevoked", licenseId=license_id, revokedAt=license_.revoked_at
            )
        if license_.expires_at <= now:
            raise Expected(
                "LicenseAlreadyExpired", licenseId=license_id, expiresAt=license_.expires_at
            )
        license_.revoked_at = now
        return [LicenseRevoked(license_id, license_.asset_id, holder, reason)]

    # -- disputes

    def open_dispute(
        self, caller: ChecksumAddress, asset: int, evidence: bytes, now: int
    ) -> list[Event]:
        if evidence == ZERO_HASH:
            raise Expected("ZeroDocumentHash")
        record = self._known(asset)
        if record.status is AssetStatus.CANCELLED:
            raise Expected("AssetNotModifiable", assetId=asset, status=record.status)
        self.disputes.append(DisputeRecord(asset, caller, now, evidence))
        return [DisputeOpened(len(self.disputes), asset, caller, evidence)]

    def _dispute(self, dispute: int) -> DisputeRecord:
        if not 1 <= dispute <= len(self.disputes):
            raise Expected("UnknownDispute", disputeId=dispute)
        record = self.disputes[dispute - 1]
        if record.status is DisputeStatus.RULED:
            raise Expected("DisputeClosed", disputeId=dispute)
        return record

    def freeze(self, dispute: int, now: int) -> list[Event]:
        record = self._dispute(dispute)
        if record.status is DisputeStatus.FROZEN:
            raise Expected("DisputeAlreadyFrozen", disputeId=dispute)
        record.status = DisputeStatus.FROZEN
        asset = self.assets[record.asset_id]
        events: list[Event] = [DisputeFrozen(dispute, record.asset_id, self.arbiter)]
        asset.freezes += 1
        if asset.freezes == 1:
            events.append(self._restrictions(asset))
        return events

    def rule(self, dispute: int, ruling: int, ruling_hash: bytes, now: int) -> list[Event]:
        record = self._dispute(dispute)
        if record.status is not DisputeStatus.FROZEN:
            raise Expected("DisputeNotFrozen", disputeId=dispute)
        if not 1 <= ruling <= 3:
            raise Expected("InvalidRuling", ruling=ruling)
        if ruling_hash == ZERO_HASH:
            raise Expected("ZeroDocumentHash")
        record.status, record.ruling, record.ruling_hash = (
            DisputeStatus.RULED,
            Ruling(ruling),
            ruling_hash,
        )
        asset = self.assets[record.asset_id]
        events: list[Event] = [
            DisputeRuled(dispute, record.asset_id, Ruling(ruling), ruling_hash, self.arbiter)
        ]
        asset.freezes -= 1
        if asset.freezes == 0:
            events.append(self._restrictions(asset))
        if ruling == Ruling.TRANSFER_TO_CLAIMANT:
            events += self._move(asset, record.claimant, via="RULING", now=now)
        elif ruling == Ruling.CANCEL_ASSET:
            if asset.status is AssetStatus.CANCELLED:
                raise Expected("AssetNotModifiable", assetId=asset.asset_id, status=asset.status)
            events.append(self._set_status(asset, AssetStatus.CANCELLED, ruling_hash, self.arbiter))
        return events

    # -- export permits

    def issue_permit(
        self, asset: int, recipient: ChecksumAddress, expires_at: int, now: int
    ) -> list[Event]:
        record = self._known(asset)
        if record.grade != 2:
            raise Expected("ExportPermitNotApplicable", assetId=asset, grade=record.grade)
        destination = self.participant(recipient)
        if destination.status is not ParticipantStatus.ACTIVE:
            raise Expected("ParticipantNotActive", account=recipient, status=destination.status)
        if expires_at <= now:
            raise Expected("PermitExpiryInPast", expiresAt=expires_at, timestamp=Around(now))
        self.permits[(asset, recipient)] = PermitRecord(
            destination.jurisdiction, now, expires_at, self.exporter
        )
        return [
            ExportPermitIssued(
                asset, recipient, destination.jurisdiction, expires_at, self.exporter
            )
        ]

    def revoke_permit(self, asset: int, recipient: ChecksumAddress, now: int) -> list[Event]:
        permit = self.permits.get((asset, recipient))
        if permit is None or permit.used or permit.revoked:
            raise Expected("ExportPermitMissing", assetId=asset, recipient=recipient)
        permit.revoked = True
        return [ExportPermitRevoked(asset, recipient, self.exporter)]

    # -- the market (DataMarket, native currency only)

    def approve_market(self, caller: ChecksumAddress, asset: int, now: int) -> list[Event]:
        """ERC-721 ``approve(market, asset)`` sent by ``caller`` (OpenZeppelin 5)."""
        record = self.assets.get(asset)
        if record is None:
            raise Expected("ERC721NonexistentToken", tokenId=asset)
        if caller != record.holder:  # the machine names no operators
            raise Expected("ERC721InvalidApprover", approver=caller)
        self.approved.add(asset)
        self.ever_approved.add(asset)
        return [Approval(record.holder, self.market, asset)]

    def _check_seller(self, caller: ChecksumAddress, asset: int) -> AssetRecord:
        record = self._held_by(caller, asset)
        self._require_modifiable(record)
        self._require_active(caller)
        return record

    def _create_offer(self, offer: OfferRecord, now: int) -> list[Event]:
        """The terms every offer shares; stores ``offer`` (made at the current fee rate)."""
        if offer.price == 0:
            raise Expected("ZeroPrice")
        if offer.min_bid > offer.price:
            raise Expected("MinBidAbovePrice", minBid=offer.min_bid, price=offer.price)
        if offer.expires_at <= now:
            raise Expected("ExpiryInPast", expiresAt=offer.expires_at, timestamp=Around(now))
        offer.fee_bps = self.fee_bps
        self.offers.append(offer)
        return [
            OfferCreated(
                len(self.offers),
                offer.asset_id,
                offer.seller,
                offer.kind,
                NATIVE,
                offer.price,
                offer.min_bid,
                offer.expires_at,
                offer.fee_bps,
                LicenseKind(offer.license_kind),
                offer.license_duration,
                offer.terms_hash,
                offer.scope,
            )
        ]

    def list_asset(
        self,
        caller: ChecksumAddress,
        asset: int,
        price: int,
        min_bid: int,
        expires_at: int,
        now: int,
    ) -> list[Event]:
        self._check_seller(caller, asset)
        if asset not in self.approved:
            raise Expected("MarketNotApproved", assetId=asset, holder=caller)
        offer = OfferRecord(caller, expires_at, OfferKind.ASSET, 0, asset, price, min_bid)
        return self._create_offer(offer, now)

    def offer_license(
        self,
        caller: ChecksumAddress,
        asset: int,
        kind: int,
        duration: int,
        terms: bytes,
        scope: str,
        price: int,
        min_bid: int,
        expires_at: int,
        now: int,
    ) -> list[Event]:
        self._check_seller(caller, asset)
        if not 1 <= kind <= 2:
            raise Expected("InvalidLicenseKind", kind=kind)
        if duration == 0:
            raise Expected("ZeroLicenseDuration")
        if duration > MAX_LICENSE_DURATION:
            raise Expected(
                "LicenseDurationTooLong", licenseDuration=duration, maximum=MAX_LICENSE_DURATION
            )
        if terms == ZERO_HASH:
            raise Expected("ZeroTermsHash")
        offer = OfferRecord(
            caller,
            expires_at,
            OfferKind.LICENSE,
            0,
            asset,
            price,
            min_bid,
            license_kind=kind,
            license_duration=duration,
            terms_hash=terms,
            scope=scope,
        )
        return self._create_offer(offer, now)

    def _offer(self, offer_id: int) -> OfferRecord:
        if not 1 <= offer_id <= len(self.offers):
            raise Expected("UnknownOffer", offerId=offer_id)
        return self.offers[offer_id - 1]

    def cancel_offer(self, caller: ChecksumAddress, offer_id: int, now: int) -> list[Event]:
        offer = self._offer(offer_id)
        if caller != offer.seller:
            raise Expected("NotOfferSeller", offerId=offer_id, caller=caller, seller=offer.seller)
        if offer.status is not OfferStatus.OPEN:
            raise Expected("OfferNotOpen", offerId=offer_id, status=offer.status)
        offer.status = OfferStatus.CANCELLED
        return [OfferCancelled(offer_id, offer.asset_id, offer.seller)]

    def _live_offer(self, offer_id: int, now: int) -> OfferRecord:
        """An open, unexpired offer whose seller still holds the asset."""
        offer = self._offer(offer_id)
        if offer.status is not OfferStatus.OPEN:
            raise Expected("OfferNotOpen", offerId=offer_id, status=offer.status)
        if offer.expires_at <= now:
            raise Expected("OfferExpired", offerId=offer_id, expiresAt=offer.expires_at)
        holder = self.assets[offer.asset_id].holder
        if holder != offer.seller:
            raise Expected(
                "AssetMovedSinceListing", offerId=offer_id, seller=offer.seller, holder=holder
            )
        return offer

    def buy(self, caller: ChecksumAddress, offer_id: int, value: int, now: int) -> list[Event]:
        offer = self._live_offer(offer_id, now)
        if caller == offer.seller:
            raise Expected("BuyerIsSeller", offerId=offer_id, buyer=caller)
        if value != offer.price:
            raise Expected("WrongPayment", expected=offer.price, sent=value)
        return self._settle(offer_id, offer, 0, caller, offer.price, now)

    def bid(
        self,
        caller: ChecksumAddress,
        offer_id: int,
        amount: int,
        expires_at: int,
        value: int,
        now: int,
    ) -> list[Event]:
        offer = self._live_offer(offer_id, now)
        if caller == offer.seller:
            raise Expected("BuyerIsSeller", offerId=offer_id, buyer=caller)
        if offer.min_bid == 0:
            raise Expected("BidsNotAccepted", offerId=offer_id)
        if amount < offer.min_bid:
            raise Expected(
                "BidBelowMinimum", offerId=offer_id, amount=amount, minimum=offer.min_bid
            )
        if expires_at <= now:
            raise Expected("ExpiryInPast", expiresAt=expires_at, timestamp=Around(now))
        if value != amount:
            raise Expected("WrongPayment", expected=amount, sent=value)
        self.bids.append(BidRecord(offer_id, caller, expires_at, amount))
        return [
            BidPlaced(len(self.bids), offer_id, caller, offer.asset_id, NATIVE, amount, expires_at)
        ]

    def _bid(self, bid_id: int) -> BidRecord:
        if not 1 <= bid_id <= len(self.bids):
            raise Expected("UnknownBid", bidId=bid_id)
        return self.bids[bid_id - 1]

    def cancel_bid(self, caller: ChecksumAddress, bid_id: int, now: int) -> list[Event]:
        placed = self._bid(bid_id)
        if caller != placed.bidder:
            raise Expected("NotBidder", bidId=bid_id, caller=caller, bidder=placed.bidder)
        if placed.status is not BidStatus.OPEN:
            raise Expected("BidNotOpen", bidId=bid_id, status=placed.status)
        placed.status = BidStatus.CANCELLED
        self._credit(placed.bidder, placed.amount)
        return [BidCancelled(bid_id, placed.offer_id, placed.bidder, NATIVE, placed.amount)]

    def accept_bid(self, caller: ChecksumAddress, bid_id: int, now: int) -> list[Event]:
        placed = self._bid(bid_id)
        offer = self._live_offer(placed.offer_id, now)
        if caller != offer.seller:
            raise Expected(
                "NotOfferSeller", offerId=placed.offer_id, caller=caller, seller=offer.seller
            )
        if placed.status is not BidStatus.OPEN:
            raise Expected("BidNotOpen", bidId=bid_id, status=placed.status)
        if placed.expires_at <= now:
            raise Expected("BidExpired", bidId=bid_id, expiresAt=placed.expires_at)
        placed.status = BidStatus.ACCEPTED
        return self._settle(placed.offer_id, offer, bid_id, placed.bidder, placed.amount, now)

    def _credit(self, account: ChecksumAddress, amount: int) -> None:
        self.owed[account] = self.owed.get(account, 0) + amount

    def _settle(
        self,
        offer_id: int,
        offer: OfferRecord,
        bid_id: int,
        buyer: ChecksumAddress,
        price: int,
        now: int,
    ) -> list[Event]:
        """The trade: credit the seller and the fee recipient, deliver, record the trade."""
        self.trades += 1
        # the offer's rate; with no recipient set now (fees switched off), nothing is taken
        recipient = self.fee_recipient
        fee = price * offer.fee_bps // BPS if recipient != ZERO_ADDRESS else 0
        if fee == 0:
            recipient = ZERO_ADDRESS
        else:
            self._credit(recipient, fee)
        self._credit(offer.seller, price - fee)
        license_id = 0
        if offer.kind is OfferKind.ASSET:
            offer.status = OfferStatus.FILLED
            # the registry's transferFrom, sent by the market: its approval, then every rule
            if offer.asset_id not in self.approved:
                raise Expected(
                    "ERC721InsufficientApproval", operator=self.market, tokenId=offer.asset_id
                )
            events = self._move(self.assets[offer.asset_id], buyer, via="TRADE", now=now)
        else:
            events = self.grant(
                offer.seller,
                offer.asset_id,
                buyer,
                offer.license_kind,
                now + offer.license_duration,
                offer.terms_hash,
                offer.scope,
                now,
                sale=True,
            )
            license_id = len(self.licenses)
        events.append(
            TradeSettled(
                self.trades,
                offer.asset_id,
                buyer,
                offer_id,
                bid_id,
                offer.seller,
                offer.kind,
                NATIVE,
                price,
                fee,
                recipient,
                license_id,
            )
        )
        return events

    def withdraw(self, caller: ChecksumAddress, now: int) -> list[Event]:
        amount = self.owed.get(caller, 0)
        if amount == 0:
            raise Expected("NothingToWithdraw", account=caller, currency=NATIVE)
        self.owed[caller] = 0
        return [ProceedsWithdrawn(caller, NATIVE, amount)]

    def set_fee(
        self, caller: ChecksumAddress, recipient: ChecksumAddress, bps: int, now: int
    ) -> list[Event]:
        """``setFee`` sent by an admin (the role check is the rule ``without_the_role``'s)."""
        if bps > MAX_FEE_BPS:
            raise Expected("FeeAboveCap", feeBps=bps, cap=MAX_FEE_BPS)
        if bps != 0 and recipient == ZERO_ADDRESS:
            raise Expected("InvalidFeeRecipient", feeRecipient=recipient)
        self.fee_recipient, self.fee_bps = recipient, bps
        return [FeeUpdated(recipient, bps, caller)]

    def escrowed(self) -> int:
        """The amounts of the open bids, which the market holds."""
        return sum(placed.amount for placed in self.bids if placed.status is BidStatus.OPEN)


# ---------------------------------------------------------------- reading many views at once

_OPCODES: Final = {
    "ADD": 0x01,
    "LT": 0x10,
    "BALANCE": 0x31,
    "CALLDATALOAD": 0x35,
    "CALLDATASIZE": 0x36,
    "CALLDATACOPY": 0x37,
    "RETURNDATASIZE": 0x3D,
    "RETURNDATACOPY": 0x3E,
    "POP": 0x50,
    "MSTORE": 0x52,
    "JUMP": 0x56,
    "JUMPI": 0x57,
    "GAS": 0x5A,
    "SWAP1": 0x90,
    "RETURN": 0xF3,
    "STATICCALL": 0xFA,
    **{f"DUP{n}": 0x7F + n for n in range(1, 17)},
}


def assemble(source: str) -> bytes:
    """EVM code for assembly ``source``.

    Mnemonics, ``PUSH1 <byte>``, ``PUSH2 @label`` and ``label:`` (a JUMPDEST); ``;`` starts
    a comment.
    """
    words = [word for line in source.splitlines() for word in line.split(";")[0].split()]
    labels: dict[str, int] = {}
    code = bytearray()
    for _ in range(2):  # the first pass places the labels, the second fills them in
        code = bytearray()
        tokens = iter(words)
        for word in tokens:
            if word.endswith(":"):
                labels[word[:-1]] = len(code)
                code.append(0x5B)  # JUMPDEST
            elif word == "PUSH1":
                code += bytes([0x60, int(next(tokens))])
            elif word == "PUSH2":
                code += bytes([0x61]) + labels.get(next(tokens)[1:], 0).to_bytes(2, "big")
            else:
                code.append(_OPCODES[word])
    return bytes(code)


#: Runtime of the aggregator. Calldata: records of (target: 32-byte word, length n: word,
#: n bytes of calldata); for each it STATICCALLs the target and appends (success: word,
#: length: word, returndata) to the output, which it returns. Stacks list the top last.
AGGREGATOR_RUNTIME: Final = assemble(
    """
        PUSH1 0 PUSH1 0                        ; [o i]  output and input cursors
    loop:
        CALLDATASIZE DUP2 LT PUSH2 @call JUMPI ; more input? call
        POP PUSH1 0 RETURN                     ; return memory[0:o]
    call:
        DUP1 CALLDATALOAD                      ; [o i t]      target
        DUP2 PUSH1 32 ADD CALLDATALOAD         ; [o i t n]    length
        DUP1 DUP4 PUSH1 64 ADD                 ; memory[o+64:] = calldata[i+64:i+64+n]
        DUP6 PUSH1 64 ADD CALLDATACOPY
        PUSH1 0 PUSH1 0 DUP3                   ; STATICCALL(gas, t, o+64, n, 0, 0)
        DUP7 PUSH1 64 ADD DUP6 GAS STATICCALL  ; [o i t n ok]
        DUP5 MSTORE                            ; memory[o] = ok
        RETURNDATASIZE DUP5 PUSH1 32 ADD MSTORE            ; memory[o+32] = size
        RETURNDATASIZE PUSH1 0 DUP6 PUSH1 64 ADD RETURNDATACOPY ; memory[o+64:] = returndata
        PUSH1 64 ADD SWAP1 POP ADD SWAP1       ; [i+64+n o]
        RETURNDATASIZE PUSH1 64 ADD ADD SWAP1  ; [o+64+size i+64+n]
        PUSH2 @loop JUMP
    """
)

#: Runtime of the balance reader. Calldata: addresses, one 32-byte word each; it returns their
#: native balances, one word each (what ``eth_getBalance`` says, for many at once).
BALANCES_RUNTIME: Final = assemble(
    """
        PUSH1 0                                ; [i]
    loop:
        CALLDATASIZE DUP2 LT PUSH2 @read JUMPI ; more input? read
        CALLDATASIZE PUSH1 0 RETURN            ; return memory[0:size]
    read:
        DUP1 CALLDATALOAD BALANCE DUP2 MSTORE  ; memory[i] = balance(calldata[i])
        PUSH1 32 ADD PUSH2 @loop JUMP
    """
)


def creation_code(runtime: bytes) -> bytes:
    """Creation code: CODECOPY the runtime that follows these 12 bytes, RETURN it."""
    assert len(runtime) < 256
    return (
        bytes([0x60, len(runtime), 0x60, 12, 0x60, 0, 0x39])
        + bytes([0x60, len(runtime), 0x60, 0, 0xF3])
        + runtime
    )


AGGREGATOR_CREATION: Final = creation_code(AGGREGATOR_RUNTIME)


@dataclass(frozen=True)
class ViewCall:
    """One view function call: where, what, and how to decode the answer."""

    label: str
    target: ChecksumAddress
    calldata: bytes
    outputs: tuple[str, ...]


class Views:
    """Encoders for the deployment's view functions (selector + eth-abi, no web3 round trip)."""

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment
        self._cache: dict[tuple[str, str], tuple[bytes, list[str], tuple[str, ...]]] = {}

    def __call__(self, contract: str, function: str, *args: Any) -> ViewCall:
        key = (contract, function)
        if key not in self._cache:
            item: dict[str, Any]
            (item,) = [
                dict[str, Any](entry)
                for entry in load_artifact(contract).abi
                if entry.get("type") == "function" and entry.get("name") == function
            ]
            inputs = [collapse_if_tuple(dict(arg)) for arg in item["inputs"]]
            outputs = tuple(collapse_if_tuple(dict(arg)) for arg in item["outputs"])
            selector = keccak(text=f"{function}({','.join(inputs)})")[:4]
            self._cache[key] = (selector, inputs, outputs)
        selector, inputs, outputs = self._cache[key]
        return ViewCall(
            label=f"{contract}.{function}{args}",
            target=self._deployment.address(contract),
            calldata=selector + abi_encode(inputs, list(args)),
            outputs=outputs,
        )


def deploy_code(world: World, creation: bytes) -> ChecksumAddress:
    """Deploy ``creation`` from the admin; return the new contract's address."""
    sender = world.admin.sender
    assert sender is not None
    receipt = sender.send(None, creation)
    raw = world.w3.eth.get_transaction_receipt(HexBytes(receipt.tx_hash))
    assert raw["contractAddress"] is not None
    return Web3.to_checksum_address(raw["contractAddress"])


class Aggregator:
    """The deployed aggregator: many view calls in one ``eth_call``; and a balance reader whose
    answers the aggregator reads along with the views."""

    def __init__(self, world: World) -> None:
        self.address = deploy_code(world, AGGREGATOR_CREATION)
        self.balance_reader = deploy_code(world, creation_code(BALANCES_RUNTIME))
        self.w3 = world.w3
        # eth-tester guesses a missing `from` by listing every account: give one, which never
        # sends a transaction in the machine (its balance is not counted).
        self.caller = world.relayer.address

    def balances(self, label: str, accounts: Sequence[ChecksumAddress]) -> ViewCall:
        """The native balances of ``accounts``, as one call the aggregator can make."""
        return ViewCall(
            label=f"{label} {len(accounts)} balances",
            target=self.balance_reader,
            calldata=b"".join(bytes(12) + bytes.fromhex(account[2:]) for account in accounts),
            outputs=("uint256",) * len(accounts),
        )

    def read(self, calls: Sequence[ViewCall]) -> list[tuple[Any, ...]]:
        """The decoded answers of ``calls``, in order; a reverting view fails the test."""
        payload = b"".join(
            bytes(12)
            + bytes.fromhex(call.target[2:])
            + len(call.calldata).to_bytes(32, "big")
            + call.calldata
            for call in calls
        )
        output = bytes(
            self.w3.eth.call({"from": self.caller, "to": self.address, "data": HexBytes(payload)})
        )
        answers: list[tuple[Any, ...]] = []
        cursor = 0
        for call in calls:
            ok = int.from_bytes(output[cursor : cursor + 32], "big")
            size = int.from_bytes(output[cursor + 32 : cursor + 64], "big")
            returned = output[cursor + 64 : cursor + 64 + size]
            cursor += 64 + size
            assert ok == 1, f"{call.label} reverted: {decode_revert_data(returned)}"
            answers.append(tuple(abi_decode(list(call.outputs), returned)))
        assert cursor == len(output)
        return answers


# ---------------------------------------------------------------- driving the chain

#: Actor name -> dev account index and jurisdiction of the participants the machine uses on top
#: of the World's five.
EXTRA_PARTICIPANTS: Final = {"frank": (12, "HK"), "grace": (13, "US")}
PARTICIPANT_NAMES: Final = ("alice", "bob", "carol", "dave", "erin", "frank", "grace")
ACTORS: Final = (*PARTICIPANT_NAMES, "stranger")
RECIPIENTS: Final = (*ACTORS, "zero")


Answers = Sequence[tuple[Any, ...]]


def asset_answer(number: int, answers: Answers) -> AssetState:
    """``assetOf``, ``ownerOf`` and ``metadataHashOf`` of asset ``number``."""
    return AssetState.from_abi(number, answers[0][0], answers[1][0], answers[2][0])


def parents_answer(answers: Answers) -> tuple[ParentLink, ...]:
    """``parentsOf``."""
    return tuple(ParentLink(int(parent), int(relation)) for parent, relation in answers[0][0])


def integers_answer(answers: Answers) -> tuple[int, ...]:
    """Several views that each return one integer."""
    return tuple(int(answer[0]) for answer in answers)


def participant_answer(account: ChecksumAddress, answers: Answers) -> tuple[ParticipantState, int]:
    """``participant`` and ``balanceOf`` of ``account``."""
    return ParticipantState.from_abi(account, answers[0][0]), int(answers[1][0])


def license_answer(number: int, answers: Answers) -> tuple[LicenseState, bool, bool]:
    """``licenseOf``, ``isValidAt`` and ``isSold`` of license ``number``."""
    return LicenseState.from_abi(number, answers[0][0]), bool(answers[1][0]), bool(answers[2][0])


def dispute_answer(number: int, answers: Answers) -> DisputeState:
    """``disputeOf``."""
    return DisputeState.from_abi(number, answers[0][0])


def objection_answer(number: int, answers: Answers) -> ObjectionState:
    """``objectionOf``."""
    return ObjectionState.from_abi(number, answers[0][0])


def permit_answer(answers: Answers) -> ExportPermitState:
    """``permitOf``."""
    return ExportPermitState.from_abi(answers[0][0])


def approved_answer(answers: Answers) -> ChecksumAddress:
    """``getApproved``."""
    return Web3.to_checksum_address(answers[0][0])


def offer_answer(number: int, answers: Answers) -> OfferState:
    """``offerOf``."""
    return OfferState.from_abi(number, answers[0][0])


def bid_answer(number: int, answers: Answers) -> BidState:
    """``bidOf``."""
    return BidState.from_abi(number, answers[0][0])


def market_answer(answers: Answers) -> tuple[tuple[int, int, int], tuple[ChecksumAddress, int]]:
    """``counts`` and ``fee``."""
    (offers, bids, trades), (recipient, bps) = answers
    return (int(offers), int(bids), int(trades)), (Web3.to_checksum_address(recipient), int(bps))


def total_answer(answers: Answers) -> int:
    """The sum of every number the calls returned (balances)."""
    return sum(int(value) for answer in answers for value in answer)


@dataclass(frozen=True)
class Check:
    """Some view calls, how to build a value from their answers, and the value expected."""

    calls: tuple[ViewCall, ...]
    build: Callable[[Answers], Any]
    expected: Any


class GasLedger:
    """What the machine's accounts paid for gas since a base block, from each block's receipts.

    Kept per block hash and summed along the parent hashes from the latest block back to the
    base, so that blocks a reorganisation replaced (the end-to-end test makes some) are not
    counted, and every block is read once.
    """

    def __init__(self, w3: Web3, accounts: frozenset[ChecksumAddress]) -> None:
        self.w3 = w3
        self.accounts = accounts
        self.base = 0
        #: Block hash -> the gas paid from the base up to that block.
        self.paid: dict[bytes, int] = {}
        #: The addresses the transactions read since :meth:`take_recipients` were sent to.
        self.recipients: set[ChecksumAddress] = set()

    def reset(self, block: BlockData) -> None:
        """Count from ``block`` on."""
        self.base = int(block["number"])
        self.paid = {bytes(block["hash"]): 0}
        self.recipients = set()

    def paid_up_to(self, block: BlockData) -> int:
        """The gas paid after the base up to ``block`` (read with full transactions)."""
        unread: list[BlockData] = []
        known = bytes(block["hash"])
        while known not in self.paid:
            assert int(block["number"]) > self.base, "the base block was reorganised away"
            unread.append(block)
            known = bytes(block["parentHash"])
            if known not in self.paid:
                block = self.w3.eth.get_block(HexBytes(known), full_transactions=True)
        paid = self.paid[known]
        for later in reversed(unread):
            paid += self.fees(later)
            self.paid[bytes(later["hash"])] = paid
        return paid

    def fees(self, block: BlockData) -> int:
        """``gasUsed * effectiveGasPrice`` of each transaction of ``block``.

        The priority fee goes to the block's coinbase (the zero address on eth-tester and
        anvil, which pay no block reward): it must not be an account the machine sums.
        """
        assert Web3.to_checksum_address(block["miner"]) not in self.accounts
        paid = 0
        for transaction in block["transactions"]:
            assert not isinstance(transaction, bytes), "read the block with full transactions"
            sender = Web3.to_checksum_address(transaction["from"])
            assert sender in self.accounts, f"{sender} sent a transaction but is not counted"
            if transaction["to"] is not None:
                self.recipients.add(Web3.to_checksum_address(transaction["to"]))
            receipt = self.w3.eth.get_transaction_receipt(transaction["hash"])
            paid += int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
        return paid

    def take_recipients(self) -> set[ChecksumAddress]:
        """The addresses transactions were sent to since the last call."""
        recipients, self.recipients = self.recipients, set()
        return recipients


def attempt(send: Callable[[], Receipt]) -> Receipt | ContractRevert:
    """The receipt of ``send()``, or the revert it raised."""
    try:
        return send()
    except ContractRevert as error:
        return error


class Driver:
    """Sends each action to the chain and holds the chain to the model's prediction."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clients: dict[str, Provledger] = {
            "alice": world.alice,
            "bob": world.bob,
            "carol": world.carol,
            "dave": world.dave,
            "erin": world.erin,
            "stranger": world.stranger,
        }
        self.clients |= {name: world.actor(i) for name, (i, _) in EXTRA_PARTICIPANTS.items()}
        self.clients["admin"] = world.admin  # sets the fee, and may be paid it
        self.addresses: dict[str, ChecksumAddress] = {
            name: client.address for name, client in self.clients.items()
        }
        self.addresses["zero"] = ZERO_ADDRESS
        self.market = world.deployment.address("DataMarket")
        #: Every account that sends transactions in the machine: the actors, the admin, the
        #: authorities. Their balances, the market's and the gas they paid add up to a constant.
        self.accounts: tuple[ChecksumAddress, ...] = tuple(
            dict.fromkeys(
                [
                    *(client.address for client in self.clients.values()),
                    world.registrar.address,
                    world.arbiter.address,
                    world.exporter.address,
                ]
            )
        )
        #: Whether a Hypothesis example is running (to record outcome statistics).
        self.recording = False
        #: The latest block hash and the model at the last successful check.
        self.last_checked: tuple[bytes, Rules] | None = None
        self.views = Views(world.deployment)
        self.aggregator = Aggregator(world)
        self.gas = GasLedger(world.w3, frozenset(self.accounts))
        #: The accounts' and the market's balances when the ledger started.
        self.money_at_start = 0
        #: Whether a transaction went to the market since its views were last read.
        self.market_due = True
        self.start_ledger()
        self.model = Rules(
            registrar=world.registrar.address,
            arbiter=world.arbiter.address,
            exporter=world.exporter.address,
            market=self.market,
            notice_period=NOTICE_PERIOD,
            categories=frozenset(world.deployment.categories),
        )
        # The World registered five participants before the model existed: take them as given.
        for name in ("alice", "bob", "carol", "dave", "erin"):
            state = world.registrar.registry.participant(self.addresses[name])
            self.model.participants[state.account] = ParticipantRecord(
                state.jurisdiction.encode(), state.status, state.registered_at, state.name_hash
            )
        for name, (_, jurisdiction) in EXTRA_PARTICIPANTS.items():
            self.register_participant(self.addresses[name], jurisdiction, doc(f"name of {name}"))

    def register(self, who: Provledger, item: Registration) -> Receipt | None:
        """Register ``item`` as ``who``, as the model predicts."""
        return self.act(
            lambda m, now: m.register(who.address, item, now),
            lambda: who.registry.register(item),
        )

    def register_participant(
        self, account: ChecksumAddress, jurisdiction: str, name_hash: bytes
    ) -> None:
        """Register a participant, as the model predicts."""
        self.act(
            lambda m, now: m.register_participant(account, jurisdiction, name_hash, now),
            lambda: self.world.registrar.registry.register_participant(
                account, jurisdiction, name_hash
            ),
        )

    def now(self) -> int:
        return self.world.chain.timestamp()

    def money(self) -> ViewCall:
        """The balances of the machine's accounts and of the market."""
        return self.aggregator.balances(
            "the accounts' and the market's", [*self.accounts, self.market]
        )

    def start_ledger(self) -> None:
        """Count money and gas from the latest block on (at the start of each example)."""
        self.gas.reset(self.world.w3.eth.get_block("latest"))
        self.money_at_start = total_answer(self.aggregator.read([self.money()]))
        self.market_due = True

    def advance(self, seconds: int) -> None:
        """Move the latest block's time forward by exactly ``seconds``.

        eth-tester's time travel mines its block a second before the time asked for, so
        ``DevChain.advance`` lands one second short there; one more block makes it exact, which
        keeps every deadline on the whole-hour grid the model relies on.
        """
        target = self.now() + seconds
        self.world.chain.advance(seconds)
        if self.now() < target:
            self.world.chain.mine()
        assert self.now() == target

    def act(
        self,
        predict: Callable[[Rules, int], list[Event]],
        send: Callable[[], Receipt],
    ) -> Receipt | None:
        """Predict on a copy of the model, send, and compare; on success update the model."""
        prediction: Expected | None = None
        try:
            predict(copy.deepcopy(self.model), self.now())
        except Expected as expected:
            prediction = expected
        outcome = attempt(send)
        if prediction is not None:
            assert isinstance(outcome, ContractRevert), (
                f"the model expected {prediction}, the chain succeeded with {outcome.events}"
            )
            assert (outcome.name, outcome.args_by_name) == (
                prediction.name,
                prediction.args_by_name,
            ), f"the model expected {prediction}, the chain {outcome}"
            self.record(f"reverted with {prediction.name}")
            return None
        assert not isinstance(outcome, ContractRevert), (
            f"the model expected success, the chain {outcome}"
        )
        receipt = outcome
        mined_at = int(self.world.w3.eth.get_block(receipt.block_number)["timestamp"])
        moves = len(self.model.moves)
        assert list(receipt.events) == predict(self.model, mined_at)
        for move in self.model.moves[moves:]:
            move.block = receipt.block_number
        self.record(f"emitted {type(receipt.events[0]).__name__}")
        for settled in receipt.events_of(TradeSettled):
            how = "an accepted bid" if settled.bid_id else "a purchase"
            self.record(f"settled a trade of {settled.kind.name.lower()} by {how}")
        return receipt

    def record(self, outcome: str) -> None:
        """Count ``outcome`` in Hypothesis' statistics (``--hypothesis-show-statistics``)."""
        if self.recording:
            event(outcome)

    # -- the invariant

    def checks(self, now: int, gas_paid: int, market: bool = True) -> list[Check]:
        """Everything the model knows, as view calls and expected answers; and the money.

        The market's own views only if ``market``: only a transaction sent to the market can
        change its storage (no contract of the deployment calls it).
        """
        m, view = self.model, self.views
        checks: list[Check] = []
        for number, record in m.assets.items():
            checks += [
                Check(
                    (
                        view("DataAssetRegistry", "assetOf", number),
                        view("DataAssetRegistry", "ownerOf", number),
                        view("DataAssetRegistry", "metadataHashOf", number),
                    ),
                    partial(asset_answer, number),
                    record.state(),
                ),
                Check(
                    (view("DataAssetRegistry", "parentsOf", number),),
                    parents_answer,
                    record.parents,
                ),
                Check(
                    (
                        view("RegistrationOffice", "noticeEndsAt", number),
                        view("RegistrationOffice", "openObjectionCount", number),
                        view("RegistrationOffice", "initialRegistrationNumberOf", number),
                        view("DisputeCourt", "freezeCount", number),
                    ),
                    integers_answer,
                    (
                        record.notice_ends_at,
                        record.open_objections,
                        record.initial_certificate,
                        record.freezes,
                    ),
                ),
            ]
            if number in m.ever_approved:
                checks.append(
                    Check(
                        (view("DataAssetRegistry", "getApproved", number),),
                        approved_answer,
                        self.market if number in m.approved else ZERO_ADDRESS,
                    )
                )
        for account, person in m.participants.items():
            held = sum(1 for record in m.assets.values() if record.holder == account)
            expected_participant = ParticipantState(
                account,
                jurisdiction_text(person.jurisdiction),
                person.status,
                person.registered_at,
                person.name_hash,
            )
            checks.append(
                Check(
                    (
                        view("DataAssetRegistry", "participant", account),
                        view("DataAssetRegistry", "balanceOf", account),
                    ),
                    partial(participant_answer, account),
                    (expected_participant, held),
                )
            )
        for number, license_ in enumerate(m.licenses, start=1):
            expected_license = LicenseState(
                number,
                license_.asset_id,
                license_.licensor,
                license_.granted_at,
                license_.expires_at,
                license_.revoked_at,
                license_.kind,
                license_.licensee,
                license_.terms_hash,
            )
            checks.append(
                Check(
                    (
                        view("LicenseRegistry", "licenseOf", number),
                        view("LicenseRegistry", "isValidAt", number, now),
                        view("LicenseRegistry", "isSold", number),
                    ),
                    partial(license_answer, number),
                    (expected_license, license_.valid_at(now), license_.sold),
                )
            )
        for number, dispute in enumerate(m.disputes, start=1):
            checks.append(
                Check(
                    (view("DisputeCourt", "disputeOf", number),),
                    partial(dispute_answer, number),
                    DisputeState(
                        number,
                        dispute.asset_id,
                        dispute.claimant,
                        dispute.opened_at,
                        dispute.status,
                        dispute.ruling,
                        dispute.evidence_hash,
                        dispute.ruling_hash,
                    ),
                )
            )
        for number, objection in enumerate(m.objections, start=1):
            checks.append(
                Check(
                    (view("RegistrationOffice", "objectionOf", number),),
                    partial(objection_answer, number),
                    ObjectionState(
                        number,
                        objection.asset_id,
                        objection.objector,
                        objection.lodged_at,
                        objection.open,
                        objection.upheld,
                        objection.grounds_hash,
                    ),
                )
            )
        for (number, recipient), permit in m.permits.items():
            checks.append(
                Check(
                    (view("ExportControl", "permitOf", number, recipient),),
                    permit_answer,
                    ExportPermitState(
                        jurisdiction_text(permit.destination),
                        permit.issued_at,
                        permit.expires_at,
                        permit.used,
                        permit.revoked,
                        permit.approver,
                    ),
                )
            )
        checks.append(
            Check(
                (
                    view("LicenseRegistry", "licenseCount"),
                    view("DisputeCourt", "disputeCount"),
                    view("RegistrationOffice", "objectionCount"),
                    view("RegistrationOffice", "certificateCount"),
                ),
                integers_answer,
                (len(m.licenses), len(m.disputes), len(m.objections), m.certificates),
            )
        )
        checks += self.market_checks() if market else []
        owed = sum(m.owed.values())
        return [
            *checks,
            # The market holds what it owes and the open bids: no more, no less.
            Check(
                (self.aggregator.balances("the market's", [self.market]),),
                total_answer,
                owed + m.escrowed(),
            ),
            # Money moves between the accounts and the market, and leaves only as gas.
            Check((self.money(),), total_answer, self.money_at_start - gas_paid),
        ]

    def market_checks(self) -> list[Check]:
        """Offers, bids, what each account is owed, the counts and the fee."""
        m, view = self.model, self.views
        checks = [
            Check(
                (view("DataMarket", "offerOf", number),),
                partial(offer_answer, number),
                offer.state(number),
            )
            for number, offer in enumerate(m.offers, start=1)
        ]
        checks += [
            Check(
                (view("DataMarket", "bidOf", number),),
                partial(bid_answer, number),
                BidState(
                    number,
                    placed.offer_id,
                    placed.bidder,
                    placed.expires_at,
                    placed.status,
                    placed.amount,
                ),
            )
            for number, placed in enumerate(m.bids, start=1)
        ]
        owed_to = dict.fromkeys([*self.accounts, m.fee_recipient, *m.owed])
        owed_to.pop(ZERO_ADDRESS, None)
        checks += [
            Check(
                (view("DataMarket", "owedTo", account, NATIVE),),
                integers_answer,
                (m.owed.get(account, 0),),
            )
            for account in owed_to
        ]
        checks.append(
            Check(
                (view("DataMarket", "counts"), view("DataMarket", "fee")),
                market_answer,
                ((len(m.offers), len(m.bids), m.trades), (m.fee_recipient, m.fee_bps)),
            )
        )
        return checks

    def check_state(self) -> None:
        """Every view the model can predict answers as the model says.

        A reverted action changes neither the chain (it was only estimated, no block was mined)
        nor the model, so when the latest block and the model are those of the last check the
        answer is known and the views are not read again.
        """
        latest = self.world.w3.eth.get_block("latest", full_transactions=True)
        if self.last_checked == (bytes(latest["hash"]), self.model):
            return
        gas_paid = self.gas.paid_up_to(latest)
        self.market_due |= self.market in self.gas.take_recipients()
        checks = self.checks(int(latest["timestamp"]), gas_paid, market=self.market_due)
        answers = self.aggregator.read([call for check in checks for call in check.calls])
        cursor = 0
        disagreements: list[str] = []
        for check in checks:
            actual = check.build(answers[cursor : cursor + len(check.calls)])
            cursor += len(check.calls)
            if actual != check.expected:
                disagreements.append(
                    f"{check.calls[0].label}: chain {actual!r} != model {check.expected!r}"
                )
        assert not disagreements, "\n".join(disagreements)
        self.last_checked = (bytes(latest["hash"]), copy.deepcopy(self.model))
        self.market_due = False

    # -- picking things

    def choose(
        self, items: Sequence[T], pick: int, aim: bool, good: Callable[[T], bool]
    ) -> T | None:
        """Item ``pick`` (modulo) among those ``good`` says an action may succeed on when
        ``aim``, among the others when not (to test the refusals), among all if that is none."""
        pool = [item for item in items if good(item) is aim] or list(items)
        return pool[pick % len(pool)] if pool else None

    def asset(
        self, pick: int, aim: bool = False, good: Callable[[AssetRecord], bool] = lambda r: True
    ) -> int:
        """An asset of the model, or an unregistered id when there is none."""
        record = self.choose(list(self.model.assets.values()), pick, aim, good)
        return record.asset_id if record is not None else UNKNOWN_ASSET

    def number(self, items: Sequence[T], pick: int, aim: bool, good: Callable[[T], bool]) -> int:
        """A 1-based id among ``items`` (an unused one, 0 < id, when ``pick`` is negative)."""
        if pick < 0 or not items:
            return len(items) + 1
        chosen = self.choose(range(1, len(items) + 1), pick, aim, lambda i: good(items[i - 1]))
        assert chosen is not None
        return chosen

    def holder_client(self, asset: int, by_holder: bool, other: str) -> Provledger:
        """The holder of ``asset`` if ``by_holder`` (and there is one), else ``other``."""
        record = self.model.assets.get(asset)
        if by_holder and record is not None:
            for name, address in self.addresses.items():
                if address == record.holder:
                    return self.clients[name]
        return self.clients[other]

    def client(self, name: str) -> Provledger:
        return self.clients[name]

    def active(self, name: str, aim: bool, but: ChecksumAddress = ZERO_ADDRESS) -> str:
        """``name``, or when aiming an active participant other than ``but`` (if any)."""
        pool = [
            other
            for other in PARTICIPANT_NAMES
            if self.is_active(self.addresses[other]) and self.addresses[other] != but
        ]
        if not aim or not pool or name in pool:
            return name
        return pool[sum(map(ord, name)) % len(pool)]

    def is_active(self, account: ChecksumAddress) -> bool:
        return self.model.participant(account).status is ParticipantStatus.ACTIVE

    def movable(self, record: AssetRecord) -> bool:
        """Whether the model lets the holder move the asset at all (recipients aside)."""
        return (
            record.status not in (AssetStatus.REJECTED, AssetStatus.CANCELLED)
            and not record.freezes
            and not record.open_objections
            and self.is_active(record.holder)
        )

    def may_receive(self, record: AssetRecord, name: str) -> bool:
        """Whether ``name`` could receive the asset under the jurisdiction rules."""
        to = self.addresses[name]
        if not self.is_active(to):
            return False
        here = self.model.participant(record.holder).jurisdiction
        if self.model.participant(to).jurisdiction == here or record.grade == 1:
            return True
        permit = self.model.permits.get((record.asset_id, to))
        return record.grade == 2 and permit is not None and not (permit.used or permit.revoked)

    def name_of(self, account: ChecksumAddress | None, other: str = "stranger") -> str:
        """The name of ``account`` if it has one, else ``other``."""
        for name, address in self.addresses.items():
            if address == account:
                return name
        return other

    def client_at(self, account: ChecksumAddress | None, other: str) -> Provledger:
        """The client of ``account`` if there is one, else ``other``."""
        return self.clients[self.name_of(account, other)]

    def sellable(self, now: int, offer: OfferRecord) -> bool:
        """Whether the model lets someone buy from ``offer`` at ``now`` (buyers aside)."""
        record = self.model.assets[offer.asset_id]
        if (
            offer.status is not OfferStatus.OPEN
            or offer.expires_at <= now
            or record.holder != offer.seller
        ):
            return False
        if offer.kind is OfferKind.ASSET:
            return offer.asset_id in self.model.approved and self.movable(record)
        return self.licensable(record) and not record.open_objections

    def licensable(self, record: AssetRecord) -> bool:
        """Whether the model lets the holder license the asset (licensees aside)."""
        return (
            record.status not in (AssetStatus.REJECTED, AssetStatus.CANCELLED)
            and not record.freezes
            and self.is_active(record.holder)
        )

    def may_buy(self, offer: OfferRecord, name: str) -> bool:
        """Whether ``name`` could take delivery of what ``offer`` sells (a license sale follows
        the jurisdiction rules of a transfer)."""
        if self.addresses[name] == offer.seller:
            return False
        return self.may_receive(self.model.assets[offer.asset_id], name)

    def offer_of(self, number: int) -> OfferRecord | None:
        offers = self.model.offers
        return offers[number - 1] if number <= len(offers) else None

    def bid_of(self, number: int) -> BidRecord | None:
        bids = self.model.bids
        return bids[number - 1] if number <= len(bids) else None

    def buyer(self, offer: OfferRecord | None, name: str, pick: int, aim: bool) -> str:
        """``name``, or when aiming someone who could take delivery from ``offer``."""
        if not aim or offer is None:
            return name
        chosen = self.choose(PARTICIPANT_NAMES, pick, True, partial(self.may_buy, offer))
        assert chosen is not None
        return chosen


# ---------------------------------------------------------------- strategies

names = st.sampled_from(ACTORS)
recipients = st.sampled_from(RECIPIENTS)
picks = st.integers(min_value=0, max_value=255)
#: Usually aim at a target the action can succeed on, sometimes take any.
aims = st.sampled_from([True, True, True, False])
#: A known id most of the time, an unused one (negative pick) sometimes.
known_picks = st.one_of(picks, picks, picks, st.just(-1))
#: The same, for the market's offers and bids, at the odds ``known_picks`` means: ``one_of``
#: draws each *distinct* strategy equally often, so ``known_picks`` gives -1 half the time.
id_picks = st.builds(
    lambda known, pick: pick if known else -1, st.sampled_from([True] * 7 + [False]), picks
)
hours = st.sampled_from([1, 6, 24, 48])
zero_sometimes = st.sampled_from([False, False, False, False, False, True])
#: True one time in ten.
rarely = st.sampled_from([False] * 9 + [True])
#: Market prices, in wei: small (the dev accounts are rich) and odd enough to round fees down.
prices = st.integers(min_value=1, max_value=10**6)
#: Lifetimes of offers and bids, in hours.
lifetimes = st.sampled_from([6, 24, 48, 72, 168])
#: Ways an offer can be wrong; an attempt carries at most one (most carry none).
OFFER_FLAWS: Final = ("zero price", "min bid above price", "expired")
LICENSE_FLAWS: Final = (
    *OFFER_FLAWS,
    "kind 0",
    "kind 3",
    "zero duration",
    "duration too long",
    "zero terms",
)
offer_flaws = st.sampled_from([None] * 3 * len(OFFER_FLAWS) + list(OFFER_FLAWS))
license_flaws = st.sampled_from([None] * 3 * len(LICENSE_FLAWS) + list(LICENSE_FLAWS))


@dataclass(frozen=True)
class Terms:
    """An offer's price, minimum bid (none: no bids) and expiry, as drawn, with its flaw."""

    price: int
    min_bid: str  # half | price | none
    hours: int
    flaw: str | None

    def resolve(self, now: int) -> tuple[int, int, int]:
        """Price, minimum bid and expiry (``now`` being the latest block's time)."""
        price = 0 if self.flaw == "zero price" else self.price
        minimum = {"half": (price + 1) // 2, "price": price, "none": 0}[self.min_bid]
        if self.flaw == "min bid above price":
            minimum = price + 1
        return price, minimum, now + (0 if self.flaw == "expired" else self.hours * HOUR)


offer_terms = st.builds(
    Terms, prices, st.sampled_from(["half", "half", "price", "none"]), lifetimes, offer_flaws
)
license_terms = st.builds(
    Terms, prices, st.sampled_from(["half", "half", "price", "none"]), lifetimes, license_flaws
)
license_durations = st.sampled_from(
    [HOUR, 24 * HOUR, 24 * HOUR, 30 * 24 * HOUR, MAX_LICENSE_DURATION]
)
#: A bid's amount, from its offer's minimum and price ("below": refused), and its lifetime
#: (0: already past).
bid_amounts = st.sampled_from(["minimum", "between", "between", "between", "price", "below"])
bid_hours = st.sampled_from([6, 24, 24, 48, 72, 168, 0])
#: What a buyer or bidder sends, against what is due.
payments = st.sampled_from(["due"] * 9 + ["less", "more", "nothing"])


def bid_amount_of(offer: OfferRecord | None, how: str) -> int:
    if offer is None:
        return 1000
    low, high = offer.min_bid, offer.price
    below = max(0, low - 1)  # an offer taking no bids has a minimum of 0
    return {"minimum": low, "between": (low + high) // 2, "price": high, "below": below}[how]


def payment_of(due: int, how: str) -> int:
    return {"due": due, "less": max(0, due - 1), "more": due + 1, "nothing": 0}[how]


#: Ways a registration can be wrong; a spec carries none, one or two of them.
FLAWS: Final = (
    "zero content",
    "empty uri",
    "zero metadata",
    "grade 0",
    "grade 4",
    "unlisted category",
    "duplicate",
)


@dataclass(frozen=True)
class Spec:
    """A registration as drawn, before it is resolved against the model's assets."""

    n: int
    grade: int
    category: int
    uri: str
    #: (where the parent comes from, pick, relation)
    parents: tuple[tuple[str, int, int], ...]
    flaws: tuple[str, ...]


specs = st.builds(
    Spec,
    n=st.integers(min_value=0, max_value=2**16),
    grade=st.sampled_from([1, 2, 3]),
    category=st.sampled_from([101, 305, 202]),
    uri=st.sampled_from(["ipfs://bafy/meta.json", "https://data.example/数据/元数据.json"]),
    parents=st.lists(
        st.tuples(
            st.sampled_from(["held", "held", "licensed", "any", "unknown", "self"]),
            picks,
            st.sampled_from([1, 2, 3, 1, 2, 3, 0, 4]),
        ),
        max_size=3,
    ).map(tuple),
    flaws=st.one_of(
        st.just(()),
        st.lists(st.sampled_from(FLAWS), min_size=1, max_size=2, unique=True).map(tuple),
    ),
)
FRESH: Final = Spec(0, 1, 101, "ipfs://bafy/meta.json", (), ())


def build_registration(driver: Driver, caller: ChecksumAddress, spec: Spec) -> Registration:
    """The registration ``spec`` describes, resolved against the model's current assets."""
    model = driver.model
    known = list(model.assets.values())
    chosen = content(f"fresh {spec.n}")
    if "duplicate" in spec.flaws and known:
        chosen = known[spec.n % len(known)].content_hash
    if "zero content" in spec.flaws:
        chosen = ZERO_HASH
    sources: dict[str, Callable[[AssetRecord], bool]] = {
        "held": lambda r: r.holder == caller,
        "licensed": lambda r: any(
            lic.asset_id == r.asset_id and lic.licensee == caller for lic in model.licenses
        ),
        "any": lambda r: True,
    }
    parents = []
    for source, pick, relation in spec.parents:
        if source in sources:
            parent = driver.asset(pick, aim=True, good=sources[source])
        elif source == "self":
            parent = asset_id(chosen)
        else:
            parent = UNKNOWN_ASSET
        parents.append(ParentLink(parent, relation))
    grade = 0 if "grade 0" in spec.flaws else 4 if "grade 4" in spec.flaws else spec.grade
    return Registration(
        content_hash=chosen,
        metadata_uri="" if "empty uri" in spec.flaws else spec.uri,
        metadata_hash=ZERO_HASH
        if "zero metadata" in spec.flaws
        else hashlib.sha256(chosen + b"meta").digest(),
        category=UNLISTED_CATEGORY if "unlisted category" in spec.flaws else spec.category,
        grade=grade,
        parents=tuple(parents),
    )


# ---------------------------------------------------------------- the starting state


def seed(driver: Driver) -> None:
    """The state every example starts from, built (and checked) once before the snapshot.

    Seven assets across grades and jurisdictions: certified, under notice with an open
    objection, frozen by a dispute, derived from a held parent and from a licensed one; a
    processing and a product-operation license, an export permit, an open and a frozen
    dispute. On the market, a 2.5% fee to the admin, the certified asset listed and licenses
    to another asset offered (both taking bids), a bid on each, a license and an asset sold
    (their sellers and the admin are owed): every example can trade, accept a bid and withdraw
    at once.
    """
    world, model = driver.world, driver.model

    def register(name: str, grade: int, *parents: int) -> int:
        item = Registration(
            content(f"seed {name} {grade} {parents}"),
            f"ipfs://seed/{name}/{grade}",
            doc(f"seed metadata {name} {grade}"),
            101,
            grade,
            tuple(ParentLink(parent, Relation.DERIVED_FROM) for parent in parents),
        )
        assert driver.register(driver.client(name), item) is not None
        return asset_id(item.content_hash)

    def do(predict: Callable[[Rules, int], list[Event]], send: Callable[[], Receipt]) -> None:
        assert driver.act(predict, send) is not None

    registrar, arbiter, exporter = world.registrar, world.arbiter, world.exporter
    certified = register("alice", 1)
    important_hk = register("carol", 2)
    register("dave", 3)
    noticed = register("bob", 2)
    disputed = register("frank", 1)
    do(lambda m, now: m.accept(certified, now), lambda: registrar.office.accept(certified))
    driver.advance(NOTICE_PERIOD)
    certificate = doc("seed certificate")
    do(
        lambda m, now: m.certify(certified, 1, certificate, now),
        lambda: registrar.office.certify(certified, certificate, 1),
    )
    do(lambda m, now: m.accept(noticed, now), lambda: registrar.office.accept(noticed))
    grounds, erin = doc("seed grounds"), world.erin.address
    do(
        lambda m, now: m.object(erin, noticed, grounds, now),
        lambda: world.erin.office.object(noticed, grounds),
    )
    register("alice", 1, certified)
    bob, terms, expiry = world.bob.address, doc("seed terms"), driver.now() + 72 * HOUR
    alice = world.alice.address
    do(
        lambda m, now: m.grant(alice, certified, bob, 1, expiry, terms, "seed", now),
        lambda: world.alice.licenses.grant(certified, bob, 1, expiry, terms, "seed"),
    )
    erin = world.erin.address
    do(
        lambda m, now: m.grant(alice, certified, erin, 2, expiry, terms, "operation", now),
        lambda: world.alice.licenses.grant(certified, erin, 2, expiry, terms, "operation"),
    )
    derived = register("bob", 1, certified)
    grace, evidence = world.actor(13), doc("seed evidence")
    do(
        lambda m, now: m.open_dispute(grace.address, disputed, evidence, now),
        lambda: grace.court.open(disputed, evidence),
    )
    do(lambda m, now: m.freeze(1, now), lambda: arbiter.court.freeze(1))
    do(
        lambda m, now: m.open_dispute(bob, certified, evidence, now),
        lambda: world.bob.court.open(certified, evidence),
    )
    permit_expiry = driver.now() + 48 * HOUR
    do(
        lambda m, now: m.issue_permit(important_hk, alice, permit_expiry, now),
        lambda: exporter.export.issue_permit(important_hk, alice, permit_expiry),
    )
    admin, market, carol, dave = world.admin, driver.market, world.carol, world.dave
    do(
        lambda m, now: m.set_fee(admin.address, admin.address, 250, now),
        lambda: admin.market.set_fee(admin.address, 250),
    )
    do(
        lambda m, now: m.approve_market(alice, certified, now),
        lambda: world.alice.registry.approve(market, certified),
    )
    until = driver.now() + 72 * HOUR
    do(
        lambda m, now: m.list_asset(alice, certified, 900_001, 300_000, until, now),
        lambda: world.alice.market.list_asset(certified, 900_001, until, min_bid=300_000),
    )
    do(
        lambda m, now: m.offer_license(
            carol.address, important_hk, 1, 24 * HOUR, terms, "sold", 50_003, 10_000, until, now
        ),
        lambda: carol.market.offer_license(
            important_hk, 1, 24 * HOUR, terms, "sold", 50_003, until, min_bid=10_000
        ),
    )
    bid_until = driver.now() + 48 * HOUR
    do(
        lambda m, now: m.bid(bob, 1, 400_000, bid_until, 400_000, now),
        lambda: world.bob.market.bid(1, 400_000, bid_until, value=400_000),
    )
    do(
        lambda m, now: m.bid(dave.address, 2, 20_000, bid_until, 20_000, now),
        lambda: dave.market.bid(2, 20_000, bid_until, value=20_000),
    )
    frank = world.actor(12)  # in HK, as the licensed asset's holder
    do(
        lambda m, now: m.buy(frank.address, 2, 50_003, now),
        lambda: frank.market.buy(2, value=50_003),
    )
    do(
        lambda m, now: m.approve_market(bob, derived, now),
        lambda: world.bob.registry.approve(market, derived),
    )
    do(
        lambda m, now: m.list_asset(bob, derived, 70_001, 0, until, now),
        lambda: world.bob.market.list_asset(derived, 70_001, until),
    )
    do(lambda m, now: m.buy(erin, 3, 70_001, now), lambda: world.erin.market.buy(3, value=70_001))
    assert len(model.assets) == 7
    assert model.owed == {carol.address: 48_753, admin.address: 1_250 + 1_750, bob: 68_251}
    assert [(move.holder, move.via) for move in model.moves] == [(erin, "TRADE")]
    driver.check_state()
    # The aggregator's answers, once, against the library's own view calls.
    for number, record in model.assets.items():
        assert registrar.registry.asset(number) == record.state()
        assert registrar.registry.parents_of(number) == record.parents
    for number, license_ in enumerate(model.licenses, start=1):
        assert registrar.licenses.license(number).granted_at == license_.granted_at
    assert registrar.court.dispute(1).status is DisputeStatus.FROZEN
    for number, offer in enumerate(model.offers, start=1):
        assert registrar.market.offer(number) == offer.state(number)
    assert registrar.market.bid_state(1).amount == 400_000
    assert registrar.market.owed_to(carol.address) == 48_753
    (balances,) = driver.aggregator.read([driver.money()])
    assert list(balances) == [
        world.w3.eth.get_balance(account) for account in (*driver.accounts, market)
    ]


# ---------------------------------------------------------------- the test


def registry_machine(world: World, driver: Driver, base: Rules) -> type[RuleBasedStateMachine]:
    """The state machine of random actions of every role, each checked against the model, and
    the whole state after each step; every example starts from ``base`` on a chain snapshot."""

    class RegistryMachine(RuleBasedStateMachine):
        """Random actions, each checked against the model; the whole state after each."""

        def __init__(self) -> None:
            super().__init__()
            self.snapshot = world.chain.snapshot()
            driver.model = copy.deepcopy(base)
            # anvil dates a block by the wall clock, which ran on since the snapshot was taken:
            # one exact step restarts the clock from the snapshot's time in every example.
            driver.advance(1)
            driver.start_ledger()
            driver.recording = True

        def teardown(self) -> None:
            driver.recording = False
            world.chain.revert(self.snapshot)

        # -- registration

        @rule(caller=names, aim=aims, spec=specs)
        def register(self, caller: str, aim: bool, spec: Spec) -> None:
            who = driver.client(driver.active(caller, aim))
            driver.register(who, build_registration(driver, who.address, spec))

        @rule(caller=names, aim=aims, many=st.lists(specs, max_size=3))
        def register_many(self, caller: str, aim: bool, many: list[Spec]) -> None:
            who = driver.client(driver.active(caller, aim))
            items = [build_registration(driver, who.address, spec) for spec in many]
            driver.act(
                lambda m, now: m.register_many(who.address, items, now),
                lambda: who.registry.register_many(items),
            )

        @rule(caller=names, extra=st.integers(min_value=1, max_value=3))
        def register_too_many_parents(self, caller: str, extra: int) -> None:
            who = driver.client(caller)
            links = tuple(ParentLink(UNKNOWN_ASSET + i, 1) for i in range(MAX_PARENTS + extra))
            item = replace(build_registration(driver, who.address, FRESH), parents=links)
            driver.register(who, item)

        # -- holder actions

        @rule(
            pick=picks,
            aim=aims,
            by_holder=aims,
            other=names,
            empty=zero_sometimes,
            zero=zero_sometimes,
        )
        def update_metadata(
            self, pick: int, aim: bool, by_holder: bool, other: str, empty: bool, zero: bool
        ) -> None:
            asset = driver.asset(pick, aim, lambda r: not r.freezes)
            who = driver.holder_client(asset, by_holder, other)
            uri = "" if empty else f"ipfs://bafy/revision/{driver.now()}.json"
            new_hash = ZERO_HASH if zero else doc(f"metadata {asset} {driver.now()}")
            driver.act(
                lambda m, now: m.update_metadata(who.address, asset, uri, new_hash, now),
                lambda: who.registry.update_metadata(asset, uri, new_hash),
            )

        @rule(pick=picks, by_holder=aims, other=names)
        def cancel(self, pick: int, by_holder: bool, other: str) -> None:
            asset = driver.asset(pick)
            who = driver.holder_client(asset, by_holder, other)
            reason = doc(f"cancel {asset}")
            driver.act(
                lambda m, now: m.cancel(who.address, asset, reason, now),
                lambda: who.registry.cancel(asset, reason),
            )

        @rule(
            pick=picks,
            aim=aims,
            to_pick=picks,
            aim_to=aims,
            by_holder=aims,
            other=names,
            source=st.sampled_from(["holder", "holder", "holder", "caller", "zero"]),
        )
        def transfer(
            self,
            pick: int,
            aim: bool,
            to_pick: int,
            aim_to: bool,
            by_holder: bool,
            other: str,
            source: str,
        ) -> None:
            asset = driver.asset(pick, aim, driver.movable)
            record = driver.model.assets[asset]
            to = driver.choose(RECIPIENTS, to_pick, aim_to, partial(driver.may_receive, record))
            assert to is not None
            who = driver.holder_client(asset, by_holder, other)
            holder = record.holder
            origin = {"holder": holder, "caller": who.address, "zero": ZERO_ADDRESS}[source]
            recipient = driver.addresses[to]
            driver.act(
                lambda m, now: m.transfer(who.address, asset, origin, recipient, now),
                lambda: who.registry.transfer(asset, recipient, holder=origin),
            )

        @rule(pick=picks, to_pick=picks)
        def transfer_abroad(self, pick: int, to_pick: int) -> None:
            # The jurisdiction rule: grade 1 moves freely, 2 needs a permit, 3 stays home.
            asset = driver.asset(pick, True, driver.movable)
            record = driver.model.assets[asset]
            home = driver.model.participant(record.holder).jurisdiction
            abroad = [
                name
                for name in PARTICIPANT_NAMES
                if driver.model.participant(driver.addresses[name]).jurisdiction != home
            ]
            # a recipient the asset may reach (with a permit, for grade 2) if there is one
            to = driver.choose(abroad, to_pick, True, partial(driver.may_receive, record))
            assert to is not None
            who, recipient = driver.holder_client(asset, True, "alice"), driver.addresses[to]
            driver.act(
                lambda m, now: m.transfer(who.address, asset, record.holder, recipient, now),
                lambda: who.registry.transfer(asset, recipient, holder=record.holder),
            )

        @rule(caller=names, to=recipients, from_zero=st.booleans(), n=picks)
        def transfer_unregistered(self, caller: str, to: str, from_zero: bool, n: int) -> None:
            # An id no content was registered for is not a token: it cannot move, or appear.
            asset = asset_id(content(f"unregistered {n}"))
            who = driver.client(caller)
            origin = ZERO_ADDRESS if from_zero else who.address
            recipient = driver.addresses[to]
            driver.act(
                lambda m, now: m.transfer(who.address, asset, origin, recipient, now),
                lambda: who.registry.transfer(asset, recipient, holder=origin),
            )

        # -- export permits

        @rule(pick=picks, aim=aims, to=names, expires=st.integers(min_value=-1, max_value=48))
        def issue_permit(self, pick: int, aim: bool, to: str, expires: int) -> None:
            asset = driver.asset(pick, aim, lambda r: r.grade == 2)
            record = driver.model.assets.get(asset)
            if aim and record is not None:
                here = driver.model.participant(record.holder).jurisdiction
                to = (
                    driver.choose(
                        PARTICIPANT_NAMES,
                        pick,
                        aim,
                        lambda n: (
                            driver.model.participant(driver.addresses[n]).jurisdiction != here
                        ),
                    )
                    or to
                )
            recipient, expires_at = driver.addresses[to], driver.now() + expires * HOUR
            driver.act(
                lambda m, now: m.issue_permit(asset, recipient, expires_at, now),
                lambda: world.exporter.export.issue_permit(asset, recipient, expires_at),
            )

        @rule(pick=picks, aim=aims, other=names, other_asset=picks)
        def revoke_permit(self, pick: int, aim: bool, other: str, other_asset: int) -> None:
            permits = list(driver.model.permits)
            chosen = driver.choose(
                permits, pick, aim, lambda key: not driver.model.permits[key].used
            )
            if chosen is None or not aim:
                chosen = (driver.asset(other_asset), driver.addresses[other])
            asset, recipient = chosen
            driver.act(
                lambda m, now: m.revoke_permit(asset, recipient, now),
                lambda: world.exporter.export.revoke_permit(asset, recipient),
            )

        # -- review and certificates

        @rule(pick=picks, aim=aims)
        def accept(self, pick: int, aim: bool) -> None:
            asset = driver.asset(pick, aim, lambda r: r.status is AssetStatus.APPLIED)
            driver.act(
                lambda m, now: m.accept(asset, now),
                lambda: world.registrar.office.accept(asset),
            )

        @rule(pick=picks, aim=aims, zero=zero_sometimes)
        def reject(self, pick: int, aim: bool, zero: bool) -> None:
            asset = driver.asset(pick, aim, lambda r: r.status is AssetStatus.APPLIED)
            reason = ZERO_HASH if zero else doc(f"reject {asset}")
            driver.act(
                lambda m, now: m.reject(asset, reason, now),
                lambda: world.registrar.office.reject(asset, reason),
            )

        @rule(caller=names, pick=picks, aim=aims, zero=zero_sometimes)
        def object(self, caller: str, pick: int, aim: bool, zero: bool) -> None:
            asset = driver.asset(pick, aim, lambda r: r.status is AssetStatus.NOTICED)
            who = driver.client(caller)
            grounds = ZERO_HASH if zero else doc(f"grounds {asset} {caller}")
            driver.act(
                lambda m, now: m.object(who.address, asset, grounds, now),
                lambda: who.office.object(asset, grounds),
            )

        @rule(pick=known_picks, aim=aims, upheld=st.booleans(), zero=zero_sometimes)
        def resolve_objection(self, pick: int, aim: bool, upheld: bool, zero: bool) -> None:
            number = driver.number(driver.model.objections, pick, aim, lambda o: o.open)
            reason = ZERO_HASH if zero else doc(f"resolution {number}")
            driver.act(
                lambda m, now: m.resolve_objection(number, upheld, reason, now),
                lambda: world.registrar.office.resolve_objection(number, upheld, reason),
            )

        @rule(
            pick=picks,
            aim=aims,
            kind=st.sampled_from([1, 1, 1, 2, 3, 4, 5, 6, 0, 7]),
            zero=zero_sometimes,
        )
        def certify(self, pick: int, aim: bool, kind: int, zero: bool) -> None:
            wanted = {1: AssetStatus.NOTICED, 5: AssetStatus.CANCELLED}.get(
                kind, AssetStatus.CERTIFIED
            )
            asset = driver.asset(pick, aim, lambda r: r.status is wanted)
            certificate = ZERO_HASH if zero else doc(f"certificate {asset} {kind}")
            driver.act(
                lambda m, now: m.certify(asset, kind, certificate, now),
                lambda: world.registrar.office.certify(asset, certificate, kind),
            )

        # -- licenses

        @rule(
            pick=picks,
            aim=aims,
            by_holder=aims,
            other=names,
            licensee=recipients,
            kind=st.sampled_from([1, 2, 1, 2, 0, 3]),
            expires=st.integers(min_value=-2, max_value=72),
            zero=zero_sometimes,
        )
        def grant(
            self,
            pick: int,
            aim: bool,
            by_holder: bool,
            other: str,
            licensee: str,
            kind: int,
            expires: int,
            zero: bool,
        ) -> None:
            asset = driver.asset(pick, aim, lambda r: not r.freezes and driver.is_active(r.holder))
            who = driver.holder_client(asset, by_holder, other)
            if aim:
                licensee = driver.active(licensee, aim, but=who.address)
            to = driver.addresses[licensee]
            expires_at = driver.now() + expires * HOUR
            terms = ZERO_HASH if zero else doc(f"terms {asset} {licensee}")
            scope = f"research use by {licensee}, 研究"
            driver.act(
                lambda m, now: m.grant(who.address, asset, to, kind, expires_at, terms, scope, now),
                lambda: who.licenses.grant(asset, to, kind, expires_at, terms, scope),
            )

        @rule(pick=known_picks, aim=aims, by_holder=aims, other=names)
        def revoke_license(self, pick: int, aim: bool, by_holder: bool, other: str) -> None:
            licenses = driver.model.licenses
            number = driver.number(
                licenses, pick, aim, lambda lic: not (lic.revoked_at or lic.sold)
            )
            asset = licenses[number - 1].asset_id if number <= len(licenses) else UNKNOWN_ASSET
            who = driver.holder_client(asset, by_holder, other)
            reason = doc(f"revocation {number}")
            driver.act(
                lambda m, now: m.revoke_license(who.address, number, reason, now),
                lambda: who.licenses.revoke(number, reason),
            )

        # -- disputes

        @rule(caller=names, pick=picks, zero=zero_sometimes)
        def open_dispute(self, caller: str, pick: int, zero: bool) -> None:
            asset, who = driver.asset(pick), driver.client(caller)
            evidence = ZERO_HASH if zero else doc(f"evidence {asset} {caller}")
            driver.act(
                lambda m, now: m.open_dispute(who.address, asset, evidence, now),
                lambda: who.court.open(asset, evidence),
            )

        @rule(pick=known_picks, aim=aims)
        def freeze(self, pick: int, aim: bool) -> None:
            number = driver.number(
                driver.model.disputes, pick, aim, lambda d: d.status is DisputeStatus.OPEN
            )
            driver.act(
                lambda m, now: m.freeze(number, now),
                lambda: world.arbiter.court.freeze(number),
            )

        @rule(
            pick=known_picks,
            aim=aims,
            ruling=st.sampled_from([1, 2, 3, 1, 2, 3, 0, 4]),
            zero=zero_sometimes,
        )
        def rule_on_dispute(self, pick: int, aim: bool, ruling: int, zero: bool) -> None:
            number = driver.number(
                driver.model.disputes, pick, aim, lambda d: d.status is DisputeStatus.FROZEN
            )
            ruling_hash = ZERO_HASH if zero else doc(f"ruling {number} {ruling}")
            driver.act(
                lambda m, now: m.rule(number, ruling, ruling_hash, now),
                lambda: world.arbiter.court.rule(number, ruling, ruling_hash),
            )

        # -- the market

        @rule(pick=picks, aim=aims, by_holder=aims, other=names, unknown=rarely)
        def approve_market(
            self, pick: int, aim: bool, by_holder: bool, other: str, unknown: bool
        ) -> None:
            model = driver.model
            asset = driver.asset(
                pick, aim, lambda r: r.asset_id not in model.approved and driver.movable(r)
            )
            asset = UNKNOWN_ASSET if unknown else asset
            who = driver.holder_client(asset, by_holder, other)
            driver.act(
                lambda m, now: m.approve_market(who.address, asset, now),
                lambda: who.registry.approve(driver.market, asset),
            )

        @rule(
            pick=picks,
            aim=aims,
            by_holder=aims,
            other=names,
            approve_first=aims,
            terms=offer_terms,
        )
        def list_asset(
            self,
            pick: int,
            aim: bool,
            by_holder: bool,
            other: str,
            approve_first: bool,
            terms: Terms,
        ) -> None:
            model = driver.model
            asset = driver.asset(pick, aim, driver.movable)
            who = driver.holder_client(asset, by_holder, other)
            record = model.assets.get(asset)
            if (
                approve_first
                and record is not None
                and record.holder == who.address
                and driver.movable(record)
                and asset not in model.approved
            ):
                # as a seller would: approve the market, then list
                driver.act(
                    lambda m, now: m.approve_market(who.address, asset, now),
                    lambda: who.registry.approve(driver.market, asset),
                )
            price, minimum, expires_at = terms.resolve(driver.now())
            driver.act(
                lambda m, now: m.list_asset(who.address, asset, price, minimum, expires_at, now),
                lambda: who.market.list_asset(asset, price, expires_at, min_bid=minimum),
            )

        @rule(
            pick=picks,
            aim=aims,
            by_holder=aims,
            other=names,
            kind=st.sampled_from([1, 2]),
            duration=license_durations,
            terms=license_terms,
        )
        def offer_license(
            self,
            pick: int,
            aim: bool,
            by_holder: bool,
            other: str,
            kind: int,
            duration: int,
            terms: Terms,
        ) -> None:
            asset = driver.asset(pick, aim, driver.licensable)
            who = driver.holder_client(asset, by_holder, other)
            kind = {"kind 0": 0, "kind 3": 3}.get(terms.flaw or "", kind)
            duration = {"zero duration": 0, "duration too long": MAX_LICENSE_DURATION + 1}.get(
                terms.flaw or "", duration
            )
            terms_hash = ZERO_HASH if terms.flaw == "zero terms" else doc(f"terms {asset} {kind}")
            scope = f"offered use {kind}, 市场"
            price, minimum, expires_at = terms.resolve(driver.now())
            driver.act(
                lambda m, now: m.offer_license(
                    who.address,
                    asset,
                    kind,
                    duration,
                    terms_hash,
                    scope,
                    price,
                    minimum,
                    expires_at,
                    now,
                ),
                lambda: who.market.offer_license(
                    asset, kind, duration, terms_hash, scope, price, expires_at, min_bid=minimum
                ),
            )

        @rule(pick=id_picks, aim=aims, by_seller=aims, other=names)
        def cancel_offer(self, pick: int, aim: bool, by_seller: bool, other: str) -> None:
            number = driver.number(
                driver.model.offers, pick, aim, lambda o: o.status is OfferStatus.OPEN
            )
            offer = driver.offer_of(number)
            seller = offer.seller if offer is not None and by_seller else None
            who = driver.client_at(seller, other)
            driver.act(
                lambda m, now: m.cancel_offer(who.address, number, now),
                lambda: who.market.cancel_offer(number),
            )

        @rule(pick=id_picks, aim=aims, buyer=names, buyer_pick=picks, pay=payments)
        def buy(self, pick: int, aim: bool, buyer: str, buyer_pick: int, pay: str) -> None:
            number = driver.number(
                driver.model.offers, pick, aim, partial(driver.sellable, driver.now())
            )
            offer = driver.offer_of(number)
            who = driver.client(driver.buyer(offer, buyer, buyer_pick, aim))
            value = payment_of(offer.price if offer is not None else 1000, pay)
            driver.act(
                lambda m, now: m.buy(who.address, number, value, now),
                lambda: who.market.buy(number, value=value),
            )

        @rule(
            pick=id_picks,
            aim=aims,
            bidder=names,
            bidder_pick=picks,
            amount=bid_amounts,
            pay=payments,
            expires=bid_hours,
        )
        def bid(
            self,
            pick: int,
            aim: bool,
            bidder: str,
            bidder_pick: int,
            amount: str,
            pay: str,
            expires: int,
        ) -> None:
            now = driver.now()
            number = driver.number(
                driver.model.offers,
                pick,
                aim,
                lambda o: o.min_bid > 0 and driver.sellable(now, o),
            )
            offer = driver.offer_of(number)
            who = driver.client(driver.buyer(offer, bidder, bidder_pick, aim))
            bid_amount = bid_amount_of(offer, amount)
            value, expires_at = payment_of(bid_amount, pay), now + expires * HOUR
            driver.act(
                lambda m, now: m.bid(who.address, number, bid_amount, expires_at, value, now),
                lambda: who.market.bid(number, bid_amount, expires_at, value=value),
            )

        @rule(pick=id_picks, aim=aims, by_bidder=aims, other=names)
        def cancel_bid(self, pick: int, aim: bool, by_bidder: bool, other: str) -> None:
            number = driver.number(
                driver.model.bids, pick, aim, lambda b: b.status is BidStatus.OPEN
            )
            placed = driver.bid_of(number)
            bidder = placed.bidder if placed is not None and by_bidder else None
            who = driver.client_at(bidder, other)
            driver.act(
                lambda m, now: m.cancel_bid(who.address, number, now),
                lambda: who.market.cancel_bid(number),
            )

        @rule(pick=id_picks, aim=aims, by_seller=aims, other=names)
        def accept_bid(self, pick: int, aim: bool, by_seller: bool, other: str) -> None:
            now, model = driver.now(), driver.model

            def acceptable(placed: BidRecord) -> bool:
                offer = model.offers[placed.offer_id - 1]
                return (
                    placed.status is BidStatus.OPEN
                    and placed.expires_at > now
                    and driver.sellable(now, offer)
                    and driver.may_buy(offer, driver.name_of(placed.bidder))
                )

            number = driver.number(model.bids, pick, aim, acceptable)
            placed = driver.bid_of(number)
            offer = model.offers[placed.offer_id - 1] if placed is not None else None
            seller = offer.seller if offer is not None and by_seller else None
            who = driver.client_at(seller, other)
            driver.act(
                lambda m, now: m.accept_bid(who.address, number, now),
                lambda: who.market.accept_bid(number),
            )

        @rule(caller=st.sampled_from((*ACTORS, "admin")), pick=picks, aim=aims)
        def withdraw(self, caller: str, pick: int, aim: bool) -> None:
            owed = driver.model.owed
            chosen = driver.choose(
                (*ACTORS, "admin"), pick, aim, lambda n: owed.get(driver.addresses[n], 0) > 0
            )
            who = driver.client(chosen if aim and chosen is not None else caller)
            driver.act(
                lambda m, now: m.withdraw(who.address, now),
                lambda: who.market.withdraw(),
            )

        @rule(
            recipient=st.sampled_from(["admin", "admin", "erin", "zero"]),
            bps=st.sampled_from([0, 1, 250, 250, MAX_FEE_BPS, MAX_FEE_BPS + 1]),
        )
        def set_fee(self, recipient: str, bps: int) -> None:
            admin, to = world.admin, driver.addresses[recipient]
            driver.act(
                lambda m, now: m.set_fee(admin.address, to, bps, now),
                lambda: admin.market.set_fee(to, bps),
            )

        # -- participants, roles, time

        @rule(who=names)
        def suspend(self, who: str) -> None:
            account, reason = driver.addresses[who], doc(f"suspension of {who}")
            driver.act(
                lambda m, now: m.suspend(account, reason, now),
                lambda: world.registrar.registry.suspend_participant(account, reason),
            )

        @rule(who=names, aim=aims)
        def reinstate(self, who: str, aim: bool) -> None:
            suspended = [
                name
                for name in ACTORS
                if driver.model.participant(driver.addresses[name]).status
                is ParticipantStatus.SUSPENDED
            ]
            if aim and suspended:
                who = suspended[0]
            account = driver.addresses[who]
            driver.act(
                lambda m, now: m.reinstate(account, now),
                lambda: world.registrar.registry.reinstate_participant(account),
            )

        @rule(
            caller=names,
            pick=picks,
            action=st.sampled_from(
                ["accept", "certify", "suspend", "freeze", "rule", "permit", "fee"]
            ),
        )
        def without_the_role(self, caller: str, pick: int, action: str) -> None:
            who, asset = driver.client(caller), driver.asset(pick)
            attempts: dict[str, tuple[str, Callable[[], Receipt]]] = {
                "accept": ("REGISTRAR_ROLE", lambda: who.office.accept(asset)),
                "certify": ("REGISTRAR_ROLE", lambda: who.office.certify(asset, doc("c"))),
                "suspend": (
                    "REGISTRAR_ROLE",
                    lambda: who.registry.suspend_participant(who.address),
                ),
                "freeze": ("ARBITER_ROLE", lambda: who.court.freeze(1)),
                "rule": ("ARBITER_ROLE", lambda: who.court.rule(1, 1, doc("r"))),
                "permit": (
                    "EXPORT_APPROVER_ROLE",
                    lambda: who.export.issue_permit(asset, who.address, driver.now() + HOUR),
                ),
                "fee": ("DEFAULT_ADMIN_ROLE", lambda: who.market.set_fee(who.address, 1)),
            }
            role, send = attempts[action]

            def refused(m: Rules, now: int) -> list[Event]:
                raise Expected(
                    "AccessControlUnauthorizedAccount",
                    account=who.address,
                    neededRole=role_id(role),
                )

            driver.act(refused, send)

        @rule(by=hours)
        def advance(self, by: int) -> None:
            driver.advance(by * HOUR)

        @invariant()
        def chain_agrees_with_model(self) -> None:
            driver.check_state()

    return RegistryMachine


def test_chain_agrees_with_the_model(world: World) -> None:
    driver = Driver(world)
    seed(driver)
    machine = registry_machine(world, driver, copy.deepcopy(driver.model))
    examples = settings().max_examples
    if is_embedded(world.w3):
        # eth-tester runs a transaction in ~70 ms and the invariant's views in ~1 ms each of
        # py-evm: a quarter of the profile's examples keeps it near half a minute on two cores
        # (a third did before the market's rules, which succeed more often than most).
        examples = max(1, examples // 4)
    run_state_machine_as_test(machine, settings=settings(max_examples=examples))


def test_an_unregistered_id_cannot_be_transferred_into_existence(world: World) -> None:
    """The rule the model holds every transfer of an unregistered id to, shown on its own.

    ERC-721: an id that is not a token cannot move. OpenZeppelin's ``transferFrom`` relies on
    the authorisation check in ``_update`` to refuse it (ERC721NonexistentToken); if that check
    is skipped, ``transferFrom(0x0, to, id)`` mints ``id`` to ``to`` with no asset record, and
    the content hash behind ``id`` can never be registered.
    """
    item = Registration(content("squatted"), "ipfs://bafy/meta.json", doc("meta"), 101, 1)
    squatted = asset_id(item.content_hash)
    moved = attempt(
        lambda: world.stranger.registry.transfer(squatted, world.bob.address, holder=ZERO_ADDRESS)
    )
    registered = attempt(lambda: world.alice.registry.register(item))
    assert isinstance(moved, ContractRevert), (
        f"transferFrom(0x0, bob, {squatted}) succeeded with {moved.events}; "
        f"registering the content afterwards: {registered}"
    )
    assert (moved.name, moved.args_by_name) == ("ERC721NonexistentToken", {"tokenId": squatted})
    assert isinstance(registered, Receipt), registered
    assert registered.event(AssetRegistered).asset_id == squatted
