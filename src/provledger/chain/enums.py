"""Python mirrors of the contracts' enums (same names, same order, same values).

Each is declared as Solidity declares it, by its members in order: the first is 0, the next 1,
and so on (only :class:`Grade`, which is no Solidity enum, starts at 1). A test reads the
Solidity interfaces and fails if these drift from them.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

#: Where an asset stands in the registration process.
AssetStatus = IntEnum("AssetStatus", "NONE APPLIED NOTICED CERTIFIED REJECTED CANCELLED", start=0)
#: How a derived asset relates to one of its parents.
Relation = IntEnum("Relation", "NONE DERIVED_FROM VERSION_OF AGGREGATE_OF", start=0)
#: How an asset reached the registry.
Channel = IntEnum("Channel", "DIRECT SIGNED BATCH", start=0)
#: Whether a participant may act in the registry.
ParticipantStatus = IntEnum("ParticipantStatus", "NONE ACTIVE SUSPENDED", start=0)
#: The kinds of usage license.
LicenseKind = IntEnum("LicenseKind", "NONE PROCESSING_USE PRODUCT_OPERATION", start=0)
#: The registration types of the registration-centre rules.
RegistrationType = IntEnum(
    "RegistrationType", "NONE INITIAL LICENSE TRANSFER CHANGE CANCELLATION OBJECTION", start=0
)
#: The valuation methods of asset appraisal practice.
ValuationMethod = IntEnum("ValuationMethod", "NONE COST INCOME MARKET", start=0)
#: Where a dispute stands.
DisputeStatus = IntEnum("DisputeStatus", "NONE OPEN FROZEN RULED", start=0)
#: The rulings an arbiter can give.
Ruling = IntEnum("Ruling", "NONE DISMISS TRANSFER_TO_CLAIMANT CANCEL_ASSET", start=0)
#: What a market offer sells.
OfferKind = IntEnum("OfferKind", "NONE ASSET LICENSE", start=0)
#: Where a market offer stands (expiry is read from its time, not stored).
OfferStatus = IntEnum("OfferStatus", "NONE OPEN CANCELLED FILLED", start=0)
#: Where a counter-bid stands.
BidStatus = IntEnum("BidStatus", "NONE OPEN CANCELLED ACCEPTED", start=0)
#: Data-security classification of an asset (not a Solidity enum: grades are 1 to 3).
Grade = IntEnum("Grade", "GENERAL IMPORTANT CORE", start=1)

#: Solidity enum name -> Python mirror, used by the event code generator and the drift test.
SOLIDITY_ENUMS: Final[dict[str, type[IntEnum]]] = {
    mirror.__name__: mirror
    for mirror in (
        AssetStatus,
        Relation,
        Channel,
        ParticipantStatus,
        LicenseKind,
        RegistrationType,
        ValuationMethod,
        DisputeStatus,
        Ruling,
        OfferKind,
        OfferStatus,
        BidStatus,
    )
}
