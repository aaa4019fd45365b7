"""The links between the record kinds' GraphQL types: a field of one kind's records naming
records of another (an asset's licences, a licence's asset), each read by a loader that
gathers the parents of a page into one statement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Link:
    """A field of one kind's records that names records of another: those whose ``column``
    equals the parent's ``through`` field."""

    name: str
    child: str
    through: str
    column: str
    many: bool = True
    order: str | None = None
    descending: bool = False
    description: str = ""


def _asset(name: str = "asset", through: str = "asset_id") -> Link:
    return Link(name, "Asset", through, "asset_id", many=False, description="The asset.")


def _party(name: str, through: str) -> Link:
    return Link(
        name,
        "Participant",
        through,
        "account",
        many=False,
        description=f"The participant that is the {through.replace('_', ' ')} (null if none).",
    )


def _records_of_asset(name: str, child: str) -> Link:
    return Link(name, child, "asset_id", "asset_id", description=f"The asset's {child} records.")


#: The links of each kind's records.
LINKS: Final[dict[str, tuple[Link, ...]]] = {
    "Asset": (
        _party("holder_participant", "holder"),
        _party("registrant_participant", "registrant"),
        _records_of_asset("licenses", "License"),
        _records_of_asset("appraisals", "Appraisal"),
        _records_of_asset("objections", "Objection"),
        _records_of_asset("disputes", "Dispute"),
        _records_of_asset("certificates", "Certificate"),
        _records_of_asset("export_permits", "ExportPermit"),
        _records_of_asset("offers", "Offer"),
        _records_of_asset("trades", "Trade"),
        _records_of_asset("holdings", "Holding"),
        _records_of_asset("history", "Event"),
        Link(
            "last_trade",
            "Trade",
            "asset_id",
            "asset_id",
            many=False,
            order="trade_id",
            descending=True,
            description="The asset's latest trade (null if it never traded).",
        ),
    ),
    "Holding": (_party("holder_participant", "holder"),),
    "License": (
        _asset(),
        _party("licensor_participant", "licensor"),
        _party("licensee_participant", "licensee"),
    ),
    "Appraisal": (_asset(), _party("appraiser_participant", "appraiser")),
    "Objection": (_asset(), _party("objector_participant", "objector")),
    "Dispute": (_asset(), _party("claimant_participant", "claimant")),
    "Certificate": (_asset(),),
    "ExportPermit": (_asset(), _party("recipient_participant", "recipient")),
    "Participant": (
        Link("assets_held", "Asset", "account", "holder", description="The assets it holds."),
        Link(
            "assets_registered",
            "Asset",
            "account",
            "registrant",
            description="The assets it registered.",
        ),
        Link("licenses_held", "License", "account", "licensee", description="Its licences."),
    ),
    "Batch": (
        Link("assets", "Asset", "root", "batch_root", description="The assets it registered."),
    ),
    "Offer": (
        _asset(),
        _party("seller_participant", "seller"),
        Link("bids", "Bid", "offer_id", "offer_id", description="The bids on the offer."),
    ),
    "Bid": (
        _asset(),
        Link("offer", "Offer", "offer_id", "offer_id", many=False, description="The offer."),
    ),
    "Trade": (
        _asset(),
        Link("offer", "Offer", "offer_id", "offer_id", many=False, description="The offer."),
    ),
}
