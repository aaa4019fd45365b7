"""The provenance timeline of the asset page: each event in words, with links to the accounts
and the assets it names."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

from markupsafe import Markup

from provledger.api.pages.labels import Clock, Labels, words
from provledger.categories import GRADES, category_name
from provledger.chain.serialize import fixed_text
from provledger.services.views import EventView
from provledger.units import fiat, format_amount

#: The arguments of an event that name an account.
_ACCOUNT_ARGS: Final = (
    "registrant",
    "registrar",
    "from",
    "to",
    "licensee",
    "appraiser",
    "objector",
    "claimant",
    "arbiter",
    "recipient",
    "approver",
    "seller",
    "buyer",
    "bidder",
)


def describe(event: str, args: dict[str, Any], labels: Labels, when: Clock) -> Markup | None:
    """A timeline entry in words, or None for events another entry already tells."""
    who, say = labels.who, Markup
    match event:
        case "AssetRegistered":
            return say("Registered by {} ({}, grade {} {})").format(
                who(args["registrant"]),
                category_name(args["category"]),
                args["grade"],
                GRADES.get(args["grade"], ""),
            )
        case "RegistrationAccepted":
            return say("Accepted for review by {}; public notice until {}").format(
                who(args["registrar"]), when(args["notice_ends_at"])
            )
        case "RegistrationRejected":
            return say("Registration rejected by {}").format(who(args["registrar"]))
        case "CertificateIssued":
            return say("Certificate issued: registration no. {} ({}), by {}").format(
                args["registration_number"],
                words(args["registration_type"]),
                who(args["registrar"]),
            )
        case "MetadataUpdated":
            return say("Metadata revised (version {})").format(args.get("version", "?"))
        case "Transfer":
            if int(args["from"], 16) == 0:
                return None  # the registration's mint
            return say("Transferred from {} to {}").format(who(args["from"]), who(args["to"]))
        case "LicenseGranted":
            return say("License #{} ({}) granted to {} until {}").format(
                args["license_id"],
                words(args["kind"]),
                who(args["licensee"]),
                when(args["expires_at"]),
            )
        case "LicenseRevoked":
            return say("License #{} revoked").format(args["license_id"])
        case "AppraisalRecorded":
            return say("Appraised at {} ({} method) by {}").format(
                format_amount(args["amount"], fiat(fixed_text(args["currency"]))),
                words(args["method"]),
                who(args["appraiser"]),
            )
        case "ObjectionLodged":
            return say("Objection #{} lodged by {}").format(
                args["objection_id"], who(args["objector"])
            )
        case "ObjectionResolved":
            verdict = "upheld" if args.get("upheld") else "dismissed"
            return say("Objection #{} {} by {}").format(
                args["objection_id"], verdict, who(args["registrar"])
            )
        case "DisputeOpened":
            return say("Dispute #{} opened by {}").format(args["dispute_id"], who(args["claimant"]))
        case "DisputeFrozen":
            return say("Frozen during dispute #{} by {}").format(
                args["dispute_id"], who(args["arbiter"])
            )
        case "DisputeRuled":
            return say("Dispute #{} ruled: {} (by {})").format(
                args["dispute_id"], words(args["ruling"]), who(args["arbiter"])
            )
        case "ExportPermitIssued":
            return say("Export permit to {} ({}) until {}, by {}").format(
                who(args["recipient"]),
                fixed_text(args["destination"]),
                when(args["expires_at"]),
                who(args["approver"]),
            )
        case "ExportPermitUsed":
            return say("Export permit used: transferred abroad to {}").format(
                who(args["recipient"])
            )
        case "ExportPermitRevoked":
            return say("Export permit to {} revoked").format(who(args["recipient"]))
        case "LineageLinked":
            return say("{} {}").format(
                words(args["relation"]).capitalize(), labels.asset(args["parent_id"])
            )
        case "LeafPromoted":
            return say("Promoted from a batch anchor")
        case "OfferCreated":
            price = labels.money(args["price"], args["currency"])
            if args["kind"] == "LICENSE":
                days = int(args["license_duration"]) // 86_400
                return say("Offer #{}: {} licenses for {} days at {} each, until {}").format(
                    args["offer_id"],
                    words(args["license_kind"]),
                    days,
                    price,
                    when(args["expires_at"]),
                )
            return say("Offer #{}: for sale at {}, until {}").format(
                args["offer_id"], price, when(args["expires_at"])
            )
        case "OfferCancelled":
            return say("Offer #{} cancelled").format(args["offer_id"])
        case "BidPlaced":
            return say("Bid #{} of {} on offer #{} by {}").format(
                args["bid_id"],
                labels.money(args["amount"], args["currency"]),
                args["offer_id"],
                who(args["bidder"]),
            )
        case "TradeSettled":
            price = labels.money(args["price"], args["currency"])
            if args["kind"] == "LICENSE":
                return say("License #{} sold to {} for {} (trade #{})").format(
                    args["license_id"], who(args["buyer"]), price, args["trade_id"]
                )
            return say("Sold to {} for {} (trade #{})").format(
                who(args["buyer"]), price, args["trade_id"]
            )
        case _:
            return None


def named_accounts(history: Iterable[EventView]) -> Iterator[str]:
    """The accounts the entries of ``history`` name (to look up at once)."""
    for event in history:
        for name in _ACCOUNT_ARGS:
            if isinstance(event.args.get(name), str):
                yield str(event.args[name])


def named_assets(history: Iterable[EventView]) -> Iterator[str]:
    """The assets the entries of ``history`` name besides their own: the lineage's parents."""
    return (str(event.args["parent_id"]) for event in history if "parent_id" in event.args)


def timeline(
    history: Iterable[EventView], labels: Labels, when: Clock
) -> list[tuple[EventView, Markup]]:
    """The events of ``history`` that have an entry of their own, each with it in words."""
    told = ((event, describe(event.event, event.args, labels, when)) for event in history)
    return [(event, text) for event, text in told if text is not None]
