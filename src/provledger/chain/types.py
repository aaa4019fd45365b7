"""Frozen dataclasses for the contracts' structs, with their ABI tuple forms.

Inputs (:class:`Registration`, :class:`ParentLink`) know how to become the tuples web3 encodes;
outputs (:class:`AssetState`, :class:`LicenseState` …) are built from the tuples view functions
return. Hashes are ``bytes`` of length 32 inside the library; addresses are checksummed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from provledger.chain.enums import (
    AssetStatus,
    BidStatus,
    DisputeStatus,
    LicenseKind,
    OfferKind,
    OfferStatus,
    ParticipantStatus,
    RegistrationType,
    Relation,
    Ruling,
    ValuationMethod,
)
from provledger.errors import InputError


@dataclass(frozen=True)
class ParentLink:
    """A parent named by an asset being registered."""

    parent_id: int
    relation: Relation | int = Relation.DERIVED_FROM

    def as_tuple(self) -> tuple[int, int]:
        """The ABI form ``(uint256 parentId, uint8 relation)``."""
        return (self.parent_id, int(self.relation))


@dataclass(frozen=True)
class Registration:
    """What a registrant registers (``IDataAssetRegistry.Registration``)."""

    content_hash: bytes
    metadata_uri: str
    metadata_hash: bytes
    category: int
    grade: int
    parents: tuple[ParentLink, ...] = field(default=())

    def as_tuple(self) -> tuple[bytes, str, bytes, int, int, list[tuple[int, int]]]:
        """The ABI tuple form."""
        return (
            self.content_hash,
            self.metadata_uri,
            self.metadata_hash,
            self.category,
            self.grade,
            [parent.as_tuple() for parent in self.parents],
        )


@dataclass(frozen=True)
class SignedRegistration:
    """A registration signed off-chain by its registrant (EIP-712)."""

    registration: Registration
    registrant: ChecksumAddress
    nonce: int
    deadline: int
    signature: bytes

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple form."""
        return (
            self.registration.as_tuple(),
            self.registrant,
            self.nonce,
            self.deadline,
            self.signature,
        )


@dataclass(frozen=True)
class AssetState:
    """An asset as the registry stores it (``assetOf``), plus its holder and metadata hash."""

    asset_id: int
    registrant: ChecksumAddress
    registered_at: int
    category: int
    grade: int
    status: AssetStatus
    under_objection: bool
    frozen: bool
    metadata_version: int
    holder: ChecksumAddress
    metadata_hash: bytes

    @classmethod
    def from_abi(
        cls, asset_id: int, raw: Sequence[Any], holder: str, metadata_hash: bytes
    ) -> AssetState:
        """Build from the ``assetOf`` tuple."""
        return cls(
            asset_id=asset_id,
            registrant=to_checksum_address(raw[0]),
            registered_at=int(raw[1]),
            category=int(raw[2]),
            grade=int(raw[3]),
            status=AssetStatus(raw[4]),
            under_objection=bool(raw[5]),
            frozen=bool(raw[6]),
            metadata_version=int(raw[7]),
            holder=to_checksum_address(holder),
            metadata_hash=bytes(metadata_hash),
        )


@dataclass(frozen=True)
class ParticipantState:
    """A participant record (``participant``)."""

    account: ChecksumAddress
    jurisdiction: str
    status: ParticipantStatus
    registered_at: int
    name_hash: bytes

    @classmethod
    def from_abi(cls, account: str, raw: Sequence[Any]) -> ParticipantState:
        """Build from the ``participant`` tuple."""
        return cls(
            account=to_checksum_address(account),
            jurisdiction=jurisdiction_text(raw[0]),
            status=ParticipantStatus(raw[1]),
            registered_at=int(raw[2]),
            name_hash=bytes(raw[3]),
        )


@dataclass(frozen=True)
class LicenseState:
    """A stored license (``licenseOf``)."""

    license_id: int
    asset_id: int
    licensor: ChecksumAddress
    granted_at: int
    expires_at: int
    revoked_at: int
    kind: LicenseKind
    licensee: ChecksumAddress
    terms_hash: bytes

    @classmethod
    def from_abi(cls, license_id: int, raw: Sequence[Any]) -> LicenseState:
        """Build from the ``licenseOf`` tuple."""
        return cls(
            license_id=license_id,
            asset_id=int(raw[0]),
            licensor=to_checksum_address(raw[1]),
            granted_at=int(raw[2]),
            expires_at=int(raw[3]),
            revoked_at=int(raw[4]),
            kind=LicenseKind(raw[5]),
            licensee=to_checksum_address(raw[6]),
            terms_hash=bytes(raw[7]),
        )


@dataclass(frozen=True)
class OfferState:
    """A stored market offer (``offerOf``). ``currency`` is the zero address for native."""

    offer_id: int
    seller: ChecksumAddress
    expires_at: int
    kind: OfferKind
    status: OfferStatus
    license_kind: LicenseKind
    fee_bps: int
    asset_id: int
    currency: ChecksumAddress
    license_duration: int
    price: int
    min_bid: int
    terms_hash: bytes
    scope: str

    @classmethod
    def from_abi(cls, offer_id: int, raw: Sequence[Any]) -> OfferState:
        """Build from the ``offerOf`` tuple."""
        return cls(
            offer_id=offer_id,
            seller=to_checksum_address(raw[0]),
            expires_at=int(raw[1]),
            kind=OfferKind(raw[2]),
            status=OfferStatus(raw[3]),
            license_kind=LicenseKind(raw[4]),
            fee_bps=int(raw[5]),
            asset_id=int(raw[6]),
            currency=to_checksum_address(raw[7]),
            license_duration=int(raw[8]),
            price=int(raw[9]),
            min_bid=int(raw[10]),
            terms_hash=bytes(raw[11]),
            scope=str(raw[12]),
        )


@dataclass(frozen=True)
class BidState:
    """A stored counter-bid (``bidOf``); its currency is its offer's."""

    bid_id: int
    offer_id: int
    bidder: ChecksumAddress
    expires_at: int
    status: BidStatus
    amount: int

    @classmethod
    def from_abi(cls, bid_id: int, raw: Sequence[Any]) -> BidState:
        """Build from the ``bidOf`` tuple."""
        return cls(
            bid_id=bid_id,
            offer_id=int(raw[0]),
            bidder=to_checksum_address(raw[1]),
            expires_at=int(raw[2]),
            status=BidStatus(raw[3]),
            amount=int(raw[4]),
        )


@dataclass(frozen=True)
class ExportPermitState:
    """A stored export permit (``permitOf``)."""

    destination: str
    issued_at: int
    expires_at: int
    used: bool
    revoked: bool
    approver: ChecksumAddress

    @classmethod
    def from_abi(cls, raw: Sequence[Any]) -> ExportPermitState:
        """Build from the ``permitOf`` tuple."""
        return cls(
            destination=jurisdiction_text(raw[0]),
            issued_at=int(raw[1]),
            expires_at=int(raw[2]),
            used=bool(raw[3]),
            revoked=bool(raw[4]),
            approver=to_checksum_address(raw[5]),
        )


@dataclass(frozen=True)
class ObjectionState:
    """A stored objection (``objectionOf``)."""

    objection_id: int
    asset_id: int
    objector: ChecksumAddress
    lodged_at: int
    open: bool
    upheld: bool
    grounds_hash: bytes

    @classmethod
    def from_abi(cls, objection_id: int, raw: Sequence[Any]) -> ObjectionState:
        """Build from the ``objectionOf`` tuple."""
        return cls(
            objection_id=objection_id,
            asset_id=int(raw[0]),
            objector=to_checksum_address(raw[1]),
            lodged_at=int(raw[2]),
            open=bool(raw[3]),
            upheld=bool(raw[4]),
            grounds_hash=bytes(raw[5]),
        )


@dataclass(frozen=True)
class CertificateState:
    """A stored certificate (``certificateOf``)."""

    registration_number: int
    asset_id: int
    registration_type: RegistrationType
    issued_at: int
    registrar: ChecksumAddress
    certificate_hash: bytes

    @classmethod
    def from_abi(cls, registration_number: int, raw: Sequence[Any]) -> CertificateState:
        """Build from the ``certificateOf`` tuple."""
        return cls(
            registration_number=registration_number,
            asset_id=int(raw[0]),
            registration_type=RegistrationType(raw[1]),
            issued_at=int(raw[2]),
            registrar=to_checksum_address(raw[3]),
            certificate_hash=bytes(raw[4]),
        )


@dataclass(frozen=True)
class AppraisalState:
    """A stored appraisal (``appraisalOf``)."""

    appraisal_id: int
    asset_id: int
    amount: int
    currency: str
    method: ValuationMethod
    appraised_at: int
    appraiser: ChecksumAddress
    supersedes: int
    report_hash: bytes

    @classmethod
    def from_abi(cls, appraisal_id: int, raw: Sequence[Any]) -> AppraisalState:
        """Build from the ``appraisalOf`` tuple."""
        return cls(
            appraisal_id=appraisal_id,
            asset_id=int(raw[0]),
            amount=int(raw[1]),
            currency=bytes(raw[2]).decode("ascii", errors="replace"),
            method=ValuationMethod(raw[3]),
            appraised_at=int(raw[4]),
            appraiser=to_checksum_address(raw[5]),
            supersedes=int(raw[6]),
            report_hash=bytes(raw[7]),
        )


@dataclass(frozen=True)
class DisputeState:
    """A stored dispute (``disputeOf``)."""

    dispute_id: int
    asset_id: int
    claimant: ChecksumAddress
    opened_at: int
    status: DisputeStatus
    ruling: Ruling
    evidence_hash: bytes
    ruling_hash: bytes

    @classmethod
    def from_abi(cls, dispute_id: int, raw: Sequence[Any]) -> DisputeState:
        """Build from the ``disputeOf`` tuple."""
        return cls(
            dispute_id=dispute_id,
            asset_id=int(raw[0]),
            claimant=to_checksum_address(raw[1]),
            opened_at=int(raw[2]),
            status=DisputeStatus(raw[3]),
            ruling=Ruling(raw[4]),
            evidence_hash=bytes(raw[5]),
            ruling_hash=bytes(raw[6]),
        )


@dataclass(frozen=True)
class BatchState:
    """A stored batch anchor (``batchOf``)."""

    root: bytes
    submitter: ChecksumAddress
    leaf_count: int
    anchored_at: int

    @classmethod
    def from_abi(cls, root: bytes, raw: Sequence[Any]) -> BatchState:
        """Build from the ``batchOf`` tuple."""
        return cls(
            root=root,
            submitter=to_checksum_address(raw[0]),
            leaf_count=int(raw[1]),
            anchored_at=int(raw[2]),
        )


def jurisdiction_bytes(code: str) -> bytes:
    """The ``bytes2`` form of an ISO 3166-1 alpha-2 code such as ``"CN"``."""
    raw = code.encode("ascii")
    if len(raw) != 2:
        raise InputError(f"jurisdiction {code!r} is not a two-letter ISO 3166-1 code")
    return raw


def jurisdiction_text(raw: bytes) -> str:
    """The text form of a ``bytes2`` jurisdiction code."""
    return bytes(raw).rstrip(b"\x00").decode("ascii", errors="replace")


def currency_bytes(code: str) -> bytes:
    """The ``bytes3`` form of an ISO 4217 alphabetic code such as ``"CNY"``."""
    raw = code.encode("ascii")
    if len(raw) != 3:
        raise InputError(f"currency {code!r} is not a three-letter ISO 4217 code")
    return raw
