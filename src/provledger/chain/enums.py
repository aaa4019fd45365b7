"""Python mirrors of the contracts' enums (same names, same order, same values).

A test reads the Solidity interfaces and fails if these drift from them.
"""

from __future__ import annotations

from enum import IntEnum


class AssetStatus(IntEnum):
    """Where an asset stands in the registration process."""

    NONE = 0
    APPLIED = 1
    NOTICED = 2
    CERTIFIED = 3
    REJECTED = 4
    CANCELLED = 5


class Relation(IntEnum):
    """How a derived asset relates to one of its parents."""

    NONE = 0
    DERIVED_FROM = 1
    VERSION_OF = 2
    AGGREGATE_OF = 3


class Channel(IntEnum):
    """How an asset reached the registry."""

    DIRECT = 0
    SIGNED = 1
    BATCH = 2


class ParticipantStatus(IntEnum):
    """Whether a participant may act in the registry."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2


class LicenseKind(IntEnum):
    """The kinds of usage license."""

    NONE = 0
    PROCESSING_USE = 1
    PRODUCT_OPERATION = 2


class RegistrationType(IntEnum):
    """The registration types of the registration-centre rules."""

    NONE = 0
    INITIAL = 1
    LICENSE = 2
    TRANSFER = 3
    CHANGE = 4
    CANCELLATION = 5
    OBJECTION = 6


class ValuationMethod(IntEnum):
    """The valuation methods of asset appraisal practice."""

    NONE = 0
    COST = 1
    INCOME = 2
    MARKET = 3


class DisputeStatus(IntEnum):
    """Where a dispute stands."""

    NONE = 0
    OPEN = 1
    FROZEN = 2
    RULED = 3


class Ruling(IntEnum):
    """The rulings an arbiter can give."""

    NONE = 0
    DISMISS = 1
    TRANSFER_TO_CLAIMANT = 2
    CANCEL_ASSET = 3


class OfferKind(IntEnum):
    """What a market offer sells."""

    NONE = 0
    ASSET = 1
    LICENSE = 2


class OfferStatus(IntEnum):
    """Where a market offer stands (expiry is read from its time, not stored)."""

    NONE = 0
    OPEN = 1
    CANCELLED = 2
    FILLED = 3


class BidStatus(IntEnum):
    """Where a counter-bid stands."""

    NONE = 0
    OPEN = 1
    CANCELLED = 2
    ACCEPTED = 3


class Grade(IntEnum):
    """Data-security classification of an asset."""

    GENERAL = 1
    IMPORTANT = 2
    CORE = 3


#: Solidity enum name -> Python mirror, used by the event code generator and the drift test.
SOLIDITY_ENUMS: dict[str, type[IntEnum]] = {
    "AssetStatus": AssetStatus,
    "Relation": Relation,
    "Channel": Channel,
    "ParticipantStatus": ParticipantStatus,
    "LicenseKind": LicenseKind,
    "RegistrationType": RegistrationType,
    "ValuationMethod": ValuationMethod,
    "DisputeStatus": DisputeStatus,
    "Ruling": Ruling,
    "OfferKind": OfferKind,
    "OfferStatus": OfferStatus,
    "BidStatus": BidStatus,
}
