"""Frozen dataclasses for the contracts' structs, with their ABI tuple forms.

Inputs (:class:`Registration`, :class:`ParentLink`) know how to become the tuples web3 encodes;
outputs (:class:`AssetState`, :class:`LicenseState` …) are records (:class:`ViewRecord`), built
from the tuples view functions return by one ``from_abi`` that reads each value as its field's type
says. Hashes are ``bytes`` of length 32 inside the library; addresses are checksummed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Annotated, Any, Self, TypeAlias, get_origin, get_type_hints

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
from provledger.errors import InputError, RecordShapeError


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


def jurisdiction_bytes(code: str) -> bytes:
    """The ``bytes2`` form of an ISO 3166-1 alpha-2 code such as ``"CN"``."""
    return _code_bytes(code, 2, "jurisdiction", "two-letter ISO 3166-1")


def jurisdiction_text(raw: bytes) -> str:
    """The text form of a ``bytes2`` jurisdiction code."""
    return bytes(raw).rstrip(b"\x00").decode("ascii", errors="replace")


def currency_bytes(code: str) -> bytes:
    """The ``bytes3`` form of an ISO 4217 alphabetic code such as ``"CNY"``."""
    return _code_bytes(code, 3, "currency", "three-letter ISO 4217")


def currency_text(raw: bytes) -> str:
    """The text form of a ``bytes3`` currency code."""
    return bytes(raw).decode("ascii", errors="replace")


def _code_bytes(code: str, size: int, what: str, standard: str) -> bytes:
    if not (code.isascii() and len(code) == size):
        raise InputError(f"{what} {code!r} is not a {standard} code")
    return code.encode("ascii")


#: An address field: the value read is checksummed.
Address: TypeAlias = Annotated[ChecksumAddress, to_checksum_address]
#: A ``bytes2`` jurisdiction code field, read as text (``"CN"``).
Jurisdiction: TypeAlias = Annotated[str, jurisdiction_text]
#: A ``bytes3`` currency code field, read as text (``"CNY"``).
Currency: TypeAlias = Annotated[str, currency_text]


@dataclass(frozen=True)
class ViewRecord:
    """A record read from the chain: a subclass's fields are, in order, the keys the view
    function was called with, the members of the struct it returns, and any values read
    alongside (:class:`AssetState` adds the holder and the metadata hash)."""

    @classmethod
    def from_abi(cls, *values: Any) -> Self:
        """Build from the values of the fields in order, the struct a view returns given as
        one tuple among them: ``LicenseState.from_abi(license_id, raw)``.

        Each value is read as its field's type says: ``int``, ``bool``, ``bytes``, ``str`` and
        enums by calling the type, :data:`Address`, :data:`Jurisdiction` and :data:`Currency`
        by their reader.

        Raises:
            RecordShapeError: the values are more or fewer than the fields.
        """
        flat = [
            item
            for value in values
            for item in (value if isinstance(value, tuple | list) else (value,))
        ]
        readers = _readers(cls)
        if len(flat) != len(readers):
            raise RecordShapeError(cls.__name__, len(readers), len(flat))
        build: Callable[..., Self] = cls
        pairs = zip(readers, flat, strict=True)
        return build(**{name: read(item) for (name, read), item in pairs})


_Readers: TypeAlias = tuple[tuple[str, Callable[[Any], Any]], ...]
_READERS: dict[type[ViewRecord], _Readers] = {}


def _readers(record: type[ViewRecord]) -> _Readers:
    """Each field of ``record`` and the function that reads its value from the ABI."""
    known = _READERS.get(record)
    if known is None:
        hints = get_type_hints(record, include_extras=True)
        known = tuple((item.name, _reader(hints[item.name])) for item in fields(record))
        _READERS[record] = known
    return known


def _reader(hint: Any) -> Callable[[Any], Any]:
    """How a field typed ``hint`` reads its ABI value: an ``Annotated`` type by its reader, any
    other (``int``, ``bool``, ``bytes``, ``str``, an enum) by calling the type."""
    reader: Callable[[Any], Any] = hint.__metadata__[0] if get_origin(hint) is Annotated else hint
    return reader


@dataclass(frozen=True)
class AssetState(ViewRecord):
    """An asset as the registry stores it (``assetOf``), plus its holder and metadata hash."""

    asset_id: int
    registrant: Address
    registered_at: int
    category: int
    grade: int
    status: AssetStatus
    under_objection: bool
    frozen: bool
    metadata_version: int
    holder: Address
    metadata_hash: bytes


@dataclass(frozen=True)
class ParticipantState(ViewRecord):
    """A participant record (``participant``)."""

    account: Address
    jurisdiction: Jurisdiction
    status: ParticipantStatus
    registered_at: int
    name_hash: bytes


@dataclass(frozen=True)
class LicenseState(ViewRecord):
    """A stored license (``licenseOf``)."""

    license_id: int
    asset_id: int
    licensor: Address
    granted_at: int
    expires_at: int
    revoked_at: int
    kind: LicenseKind
    licensee: Address
    terms_hash: bytes


@dataclass(frozen=True)
class OfferState(ViewRecord):
    """A stored market offer (``offerOf``). ``currency`` is the zero address for native."""

    offer_id: int
    seller: Address
    expires_at: int
    kind: OfferKind
    status: OfferStatus
    license_kind: LicenseKind
    fee_bps: int
    asset_id: int
    currency: Address
    license_duration: int
    price: int
    min_bid: int
    terms_hash: bytes
    scope: str


@dataclass(frozen=True)
class BidState(ViewRecord):
    """A stored counter-bid (``bidOf``); its currency is its offer's."""

    bid_id: int
    offer_id: int
    bidder: Address
    expires_at: int
    status: BidStatus
    amount: int


@dataclass(frozen=True)
class ExportPermitState(ViewRecord):
    """A stored export permit (``permitOf``)."""

    destination: Jurisdiction
    issued_at: int
    expires_at: int
    used: bool
    revoked: bool
    approver: Address


@dataclass(frozen=True)
class ObjectionState(ViewRecord):
    """A stored objection (``objectionOf``)."""

    objection_id: int
    asset_id: int
    objector: Address
    lodged_at: int
    open: bool
    upheld: bool
    grounds_hash: bytes


@dataclass(frozen=True)
class CertificateState(ViewRecord):
    """A stored certificate (``certificateOf``)."""

    registration_number: int
    asset_id: int
    registration_type: RegistrationType
    issued_at: int
    registrar: Address
    certificate_hash: bytes


@dataclass(frozen=True)
class AppraisalState(ViewRecord):
    """A stored appraisal (``appraisalOf``)."""

    appraisal_id: int
    asset_id: int
    amount: int
    currency: Currency
    method: ValuationMethod
    appraised_at: int
    appraiser: Address
    supersedes: int
    report_hash: bytes


@dataclass(frozen=True)
class DisputeState(ViewRecord):
    """A stored dispute (``disputeOf``)."""

    dispute_id: int
    asset_id: int
    claimant: Address
    opened_at: int
    status: DisputeStatus
    ruling: Ruling
    evidence_hash: bytes
    ruling_hash: bytes


@dataclass(frozen=True)
class BatchState(ViewRecord):
    """A stored batch anchor (``batchOf``)."""

    root: bytes
    submitter: Address
    leaf_count: int
    anchored_at: int


@dataclass(frozen=True)
class CheckpointHead(ViewRecord):
    """The latest checkpoint of a source chain on a Checkpoint contract (``headOf``); all zero
    while the source chain has none (checkpoints are numbered from 1)."""

    sequence: int
    to_block: int
    to_block_hash: bytes
