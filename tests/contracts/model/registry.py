"""The registry's rules: participants, registration, holders, the office, licenses, disputes,
export permits and ERC-721 approvals, written from the interfaces' NatSpec."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_typing import ChecksumAddress

from contracts.model.records import (
    MAX_PARENTS,
    NOBODY,
    ZERO_ADDRESS,
    ZERO_HASH,
    Around,
    AssetRecord,
    DisputeRecord,
    ExpectedRevertError,
    LicenseRecord,
    MoveRecord,
    ObjectionRecord,
    ParticipantRecord,
    PermitRecord,
    numbered,
)
from provledger.chain.enums import (
    AssetStatus,
    Channel,
    DisputeStatus,
    LicenseKind,
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
    CertificateIssued,
    DisputeFrozen,
    DisputeOpened,
    DisputeRuled,
    Event,
    ExportPermitIssued,
    ExportPermitRevoked,
    ExportPermitUsed,
    LicenseGranted,
    LicenseRevoked,
    LineageLinked,
    MetadataUpdated,
    ObjectionLodged,
    ObjectionResolved,
    ParticipantRegistered,
    ParticipantReinstated,
    ParticipantSuspended,
    RegistrationAccepted,
    RegistrationRejected,
    Transfer,
)
from provledger.chain.ids import asset_id
from provledger.chain.types import ParentLink, Registration


@dataclass
class RegistryRules:
    """The registry's rules in plain Python, written from the interfaces' NatSpec.

    Every action takes the current time ``now`` and either raises :class:`ExpectedRevertError`
    or updates the state and returns the events the chain must emit, in log order. Where several
    requirements fail, the first checked by the contracts wins, so the checks keep their order.
    """

    registrar: ChecksumAddress
    arbiter: ChecksumAddress
    exporter: ChecksumAddress
    #: The market: the only operator an asset is ever approved to.
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
            raise ExpectedRevertError("ParticipantNotActive", account=account, status=status)

    def _known(self, asset: int) -> AssetRecord:
        record = self.assets.get(asset)
        if record is None:
            raise ExpectedRevertError("UnknownAsset", assetId=asset)
        return record

    def _held_by(self, caller: ChecksumAddress, asset: int) -> AssetRecord:
        record = self._known(asset)
        if record.holder != caller:
            raise ExpectedRevertError(
                "NotAssetHolder", assetId=asset, caller=caller, holder=record.holder
            )
        return record

    @staticmethod
    def _require_modifiable(record: AssetRecord) -> None:
        if record.status in (AssetStatus.REJECTED, AssetStatus.CANCELLED):
            raise ExpectedRevertError(
                "AssetNotModifiable", assetId=record.asset_id, status=record.status
            )
        if record.freezes:
            raise ExpectedRevertError("AssetFrozen", assetId=record.asset_id)

    def _require_status(self, asset: int, expected: AssetStatus) -> AssetRecord:
        record = self._known(asset)
        if record.status is not expected:
            raise ExpectedRevertError(
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
            raise ExpectedRevertError("ParticipantAlreadyRegistered", account=account)
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
            raise ExpectedRevertError("ParticipantNotSuspended", account=account, status=status)
        self.participants[account].status = ParticipantStatus.ACTIVE
        return [ParticipantReinstated(account, self.registrar)]

    # -- registration

    def register(self, caller: ChecksumAddress, item: Registration, now: int) -> list[Event]:
        self._require_active(caller)
        if item.content_hash == ZERO_HASH:
            raise ExpectedRevertError("ZeroContentHash")
        if not item.metadata_uri:
            raise ExpectedRevertError("EmptyMetadataURI")
        if item.metadata_hash == ZERO_HASH:
            raise ExpectedRevertError("ZeroMetadataHash")
        if not 1 <= item.grade <= 3:
            raise ExpectedRevertError("InvalidGrade", grade=item.grade)
        if item.category not in self.categories:
            raise ExpectedRevertError("UnknownCategory", category=item.category)
        new = asset_id(item.content_hash)
        if new in self.assets:
            raise ExpectedRevertError(
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
                raise ExpectedRevertError(
                    "TooManyParents", count=len(item.parents), max=MAX_PARENTS
                )
            seen: list[int] = []
            for link in item.parents:
                parent, relation = link.parent_id, int(link.relation)
                if not 1 <= relation <= 3:
                    raise ExpectedRevertError("InvalidRelation", parentId=parent, relation=relation)
                if parent in seen:
                    raise ExpectedRevertError("DuplicateParent", parentId=parent)
                seen.append(parent)
                source = self.assets.get(parent)
                if source is None or parent == new:
                    raise ExpectedRevertError("UnknownParent", parentId=parent)
                if source.status in (AssetStatus.REJECTED, AssetStatus.CANCELLED):
                    raise ExpectedRevertError(
                        "ParentNotUsable", parentId=parent, status=source.status
                    )
                license_number = 0
                if source.holder != caller:
                    license_number = self.valid_license(
                        parent, caller, LicenseKind.PROCESSING_USE, now
                    )
                    if license_number == 0:
                        raise ExpectedRevertError(
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
            raise ExpectedRevertError("EmptyRegistrationList")
        return [event for item in items for event in self.register(caller, item, now)]

    # -- holder actions

    def update_metadata(
        self, caller: ChecksumAddress, asset: int, uri: str, metadata_hash: bytes, now: int
    ) -> list[Event]:
        record = self._held_by(caller, asset)
        self._require_modifiable(record)
        if not uri:
            raise ExpectedRevertError("EmptyMetadataURI")
        if metadata_hash == ZERO_HASH:
            raise ExpectedRevertError("ZeroMetadataHash")
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
            raise ExpectedRevertError("ERC721InvalidReceiver", receiver=ZERO_ADDRESS)
        record = self.assets.get(asset)
        if record is None:
            # ERC-721: an id that is not a valid token cannot move; OpenZeppelin says so with
            # ERC721NonexistentToken from the authorisation check, whatever `source` is.
            raise ExpectedRevertError("ERC721NonexistentToken", tokenId=asset)
        if caller != record.holder:
            raise ExpectedRevertError("ERC721InsufficientApproval", operator=caller, tokenId=asset)
        holder = record.holder
        events = self._move(record, to, via="TRANSFER", now=now)
        if source != holder:
            raise ExpectedRevertError(
                "ERC721IncorrectOwner", sender=source, tokenId=asset, owner=holder
            )
        return events

    def _move(self, record: AssetRecord, to: ChecksumAddress, *, via: str, now: int) -> list[Event]:
        """The transfer rules: status, restrictions, participants, the cross-border grade rule.

        The only place an asset changes holder (a transfer, a ruling or a trade, as ``via``
        says); like OpenZeppelin's ``_update``, it clears the token's approval, without an event.
        """
        asset, holder = record.asset_id, record.holder
        by_ruling = via == "RULING"
        if record.status in (AssetStatus.REJECTED, AssetStatus.CANCELLED):
            raise ExpectedRevertError("AssetNotTransferable", assetId=asset, status=record.status)
        sender = self.participant(holder)
        if not by_ruling:
            if record.freezes:
                raise ExpectedRevertError("AssetFrozen", assetId=asset)
            if record.open_objections:
                raise ExpectedRevertError("AssetUnderObjection", assetId=asset)
            if sender.status is not ParticipantStatus.ACTIVE:
                raise ExpectedRevertError(
                    "ParticipantNotActive", account=holder, status=sender.status
                )
        recipient = self.participant(to)
        if recipient.status is not ParticipantStatus.ACTIVE:
            raise ExpectedRevertError("ParticipantNotActive", account=to, status=recipient.status)
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
            raise ExpectedRevertError(
                "CrossBorderTransferProhibited",
                assetId=asset,
                grade=3,
                fromJurisdiction=here,
                toJurisdiction=there,
            )
        if record.grade == 2:
            permit = self.permits.get((asset, to))
            if permit is None or permit.used or permit.revoked:
                raise ExpectedRevertError("ExportPermitMissing", assetId=asset, recipient=to)
            if permit.expires_at <= now:
                raise ExpectedRevertError(
                    "ExportPermitExpired", assetId=asset, recipient=to, expiresAt=permit.expires_at
                )
            if permit.destination != there:
                raise ExpectedRevertError(
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
            raise ExpectedRevertError("ZeroDocumentHash")
        record = self._require_status(asset, AssetStatus.APPLIED)
        return [
            RegistrationRejected(asset, reason, self.registrar),
            self._set_status(record, AssetStatus.REJECTED, reason, self.registrar),
        ]

    def object(self, caller: ChecksumAddress, asset: int, grounds: bytes, now: int) -> list[Event]:
        if grounds == ZERO_HASH:
            raise ExpectedRevertError("ZeroDocumentHash")
        record = self._require_status(asset, AssetStatus.NOTICED)
        if now >= record.notice_ends_at:
            raise ExpectedRevertError(
                "NoticePeriodOver", assetId=asset, noticeEndsAt=record.notice_ends_at
            )
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
            raise ExpectedRevertError("ZeroDocumentHash")
        lodged = numbered(self.objections, objection, "UnknownObjection", "objectionId")
        if not lodged.open:
            raise ExpectedRevertError("ObjectionAlreadyResolved", objectionId=objection)
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
            raise ExpectedRevertError("ZeroDocumentHash")
        if not 1 <= kind <= 6:
            raise ExpectedRevertError("InvalidRegistrationType", registrationType=kind)
        record = self._known(asset)
        if kind == RegistrationType.INITIAL:
            if record.initial_certificate:
                raise ExpectedRevertError(
                    "AlreadyCertified", assetId=asset, registrationNumber=record.initial_certificate
                )
            if record.status is not AssetStatus.NOTICED:
                raise ExpectedRevertError(
                    "UnexpectedStatus",
                    assetId=asset,
                    status=record.status,
                    expected=AssetStatus.NOTICED,
                )
            if now < record.notice_ends_at:
                raise ExpectedRevertError(
                    "NoticePeriodNotOver", assetId=asset, noticeEndsAt=record.notice_ends_at
                )
            if record.open_objections:
                raise ExpectedRevertError(
                    "OpenObjections", assetId=asset, count=record.open_objections
                )
        else:
            if not record.initial_certificate:
                raise ExpectedRevertError("NotInitiallyCertified", assetId=asset)
            expected = (
                AssetStatus.CANCELLED
                if kind == RegistrationType.CANCELLATION
                else AssetStatus.CERTIFIED
            )
            if record.status is not expected:
                raise ExpectedRevertError(
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
            raise ExpectedRevertError("InvalidLicensee", licensee=licensee)
        self._require_active(licensee)
        if not 1 <= kind <= 2:
            raise ExpectedRevertError("InvalidLicenseKind", kind=kind)
        if expires_at <= now:
            raise ExpectedRevertError(
                "LicenseExpiryInPast", expiresAt=expires_at, timestamp=Around(now)
            )
        if terms == ZERO_HASH:
            raise ExpectedRevertError("ZeroTermsHash")
        events: list[Event] = []
        if sale:
            if record.open_objections:
                raise ExpectedRevertError("AssetUnderObjection", assetId=asset)
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
        license_ = numbered(self.licenses, license_id, "UnknownLicense", "licenseId")
        holder = self.assets[license_.asset_id].holder
        if holder != caller:
            raise ExpectedRevertError(
                "NotAssetHolder", assetId=license_.asset_id, caller=caller, holder=holder
            )
        if license_.sold:
            raise ExpectedRevertError("SoldLicenseNotRevocable", licenseId=license_id)
        if license_.revoked_at:
            raise ExpectedRevertError(
                "LicenseAlreadyRevoked", licenseId=license_id, revokedAt=license_.revoked_at
            )
        if license_.expires_at <= now:
            raise ExpectedRevertError(
                "LicenseAlreadyExpired", licenseId=license_id, expiresAt=license_.expires_at
            )
        license_.revoked_at = now
        return [LicenseRevoked(license_id, license_.asset_id, holder, reason)]

    # -- disputes

    def open_dispute(
        self, caller: ChecksumAddress, asset: int, evidence: bytes, now: int
    ) -> list[Event]:
        if evidence == ZERO_HASH:
            raise ExpectedRevertError("ZeroDocumentHash")
        record = self._known(asset)
        if record.status is AssetStatus.CANCELLED:
            raise ExpectedRevertError("AssetNotModifiable", assetId=asset, status=record.status)
        self.disputes.append(DisputeRecord(asset, caller, now, evidence))
        return [DisputeOpened(len(self.disputes), asset, caller, evidence)]

    def _dispute(self, dispute: int) -> DisputeRecord:
        record = numbered(self.disputes, dispute, "UnknownDispute", "disputeId")
        if record.status is DisputeStatus.RULED:
            raise ExpectedRevertError("DisputeClosed", disputeId=dispute)
        return record

    def freeze(self, dispute: int, now: int) -> list[Event]:
        record = self._dispute(dispute)
        if record.status is DisputeStatus.FROZEN:
            raise ExpectedRevertError("DisputeAlreadyFrozen", disputeId=dispute)
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
            raise ExpectedRevertError("DisputeNotFrozen", disputeId=dispute)
        if not 1 <= ruling <= 3:
            raise ExpectedRevertError("InvalidRuling", ruling=ruling)
        if ruling_hash == ZERO_HASH:
            raise ExpectedRevertError("ZeroDocumentHash")
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
                raise ExpectedRevertError(
                    "AssetNotModifiable", assetId=asset.asset_id, status=asset.status
                )
            events.append(self._set_status(asset, AssetStatus.CANCELLED, ruling_hash, self.arbiter))
        return events

    # -- export permits

    def issue_permit(
        self, asset: int, recipient: ChecksumAddress, expires_at: int, now: int
    ) -> list[Event]:
        record = self._known(asset)
        if record.grade != 2:
            raise ExpectedRevertError(
                "ExportPermitNotApplicable", assetId=asset, grade=record.grade
            )
        destination = self.participant(recipient)
        if destination.status is not ParticipantStatus.ACTIVE:
            raise ExpectedRevertError(
                "ParticipantNotActive", account=recipient, status=destination.status
            )
        if expires_at <= now:
            raise ExpectedRevertError(
                "PermitExpiryInPast", expiresAt=expires_at, timestamp=Around(now)
            )
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
            raise ExpectedRevertError("ExportPermitMissing", assetId=asset, recipient=recipient)
        permit.revoked = True
        return [ExportPermitRevoked(asset, recipient, self.exporter)]

    # -- ERC-721 approval

    def approve_market(self, caller: ChecksumAddress, asset: int, now: int) -> list[Event]:
        """ERC-721 ``approve(market, asset)`` sent by ``caller`` (OpenZeppelin 5)."""
        record = self.assets.get(asset)
        if record is None:
            raise ExpectedRevertError("ERC721NonexistentToken", tokenId=asset)
        if caller != record.holder:  # the machine names no operators
            raise ExpectedRevertError("ERC721InvalidApprover", approver=caller)
        self.approved.add(asset)
        self.ever_approved.add(asset)
        return [Approval(record.holder, self.market, asset)]
