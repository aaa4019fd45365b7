"""Who may receive an asset's data, decided by the chain at the head.

The chain decides, the data room enforces: every fact a decision rests on (the asset's status,
grade and restrictions, its holder, the participants' jurisdictions and standing, the
requester's licences and export permit) is read from the contracts' view functions at one
block, the head when the request arrives, never from the index, which may lag. The rules
mirror the contracts: a licence is valid as ``LicenseRegistry._isValidAt`` says, and data
crosses a border as ``LicenseRegistry._checkSale`` lets a sold licence cross it.

The committed metadata document (:func:`decide_metadata_access`) goes, besides the holder and
licensees (under the data's rules), to the registry's authorities while their duty needs it: a
registrar while the application is under review, an arbiter while a dispute over the asset is
open. Their roles and the disputes are read at the same block.

A decision is a value, not an error: :class:`Decision` names the rule that refused
(:class:`Refusal`) and says in one sentence which facts made it apply. The gateway maps a
refusal to its HTTP status; nothing here knows HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from provledger.chain.client import Provledger
from provledger.chain.enums import AssetStatus, DisputeStatus, Grade, ParticipantStatus
from provledger.chain.events import DisputeOpened
from provledger.chain.ids import asset_id_hex, role_id
from provledger.chain.types import DisputeState, ExportPermitState, LicenseState
from provledger.params import checksum, parse_address
from provledger.units import utc_time

#: The basis of an allowed decision: the requester holds the asset, or holds a valid licence,
#: or (for the committed metadata document) is a registrar reviewing the application or an
#: arbiter of an open dispute over the asset.
HOLDER: Final = "holder"
LICENSEE: Final = "licensee"
REGISTRAR: Final = "registrar"
ARBITER: Final = "arbiter"
#: The registration states in which a registrar reviews the application, as a reason says them.
UNDER_REVIEW: Final = {
    AssetStatus.APPLIED: "awaits review",
    AssetStatus.NOTICED: "is in its public notice",
}
#: The dispute states before a ruling.
UNRULED: Final = (DisputeStatus.OPEN, DisputeStatus.FROZEN)


class Refusal(StrEnum):
    """The rule a refusal names (the gateway's problem type names it the same way)."""

    UNKNOWN_ASSET = "unknown-asset"
    ASSET_CANCELLED = "asset-cancelled"
    ASSET_REJECTED = "asset-rejected"
    ASSET_FROZEN = "asset-frozen"
    ASSET_UNDER_OBJECTION = "asset-under-objection"
    REQUESTER_SUSPENDED = "requester-suspended"
    HOLDER_SUSPENDED = "holder-suspended"
    NO_LICENCE = "no-licence"
    LICENCE_EXPIRED = "licence-expired"
    LICENCE_REVOKED = "licence-revoked"
    CORE_DATA_ABROAD = "core-data-abroad"
    EXPORT_PERMIT_MISSING = "export-permit-missing"
    NOT_HOLDER = "not-holder"
    NOT_REVIEWING = "not-reviewing"
    NO_OPEN_DISPUTE = "no-open-dispute"


#: A rule of who may receive what: the decision on a requester's access to an asset, read at
#: the head (:func:`decide_access`, :func:`decide_metadata_access`).
Decide = Callable[[Provledger, int, str], "Decision"]


@dataclass(frozen=True)
class Facts:
    """What the chain said about an asset and a requester at one block.

    ``holder`` is the ERC-721 owner, checksummed; a jurisdiction is an ISO 3166-1 alpha-2 code,
    ``""`` for an account that is no participant.
    """

    asset_id: int
    block_number: int
    block_time: int
    holder: str
    status: AssetStatus
    grade: int
    frozen: bool
    under_objection: bool
    holder_jurisdiction: str
    requester_jurisdiction: str


@dataclass(frozen=True)
class Decision:
    """Whether ``requester`` may receive (or upload) an asset's data, and why.

    ``facts`` is None only for an asset the chain does not know. An allowed decision has a
    ``basis`` (``"holder"`` or ``"licensee"``, with the ``licence_id`` relied on); a refused
    one names its ``refusal`` and has an empty basis. ``reason`` is one sentence naming the
    rule and the facts, times in ISO 8601 UTC.
    """

    requester: str
    facts: Facts | None
    basis: str
    licence_id: int | None
    refusal: Refusal | None
    reason: str

    @property
    def allowed(self) -> bool:
        """Whether the data may be handed over (or taken in)."""
        return self.refusal is None


def decide_access(ledger: Provledger, asset_id: int, requester: str) -> Decision:
    """Whether ``requester`` may receive the data of ``asset_id``, read at the head.

    The first rule that applies decides: an unknown or cancelled asset is refused to everyone;
    the holder receives its own data (even while frozen or under objection); otherwise the
    requester and the holder must be in good standing, the asset neither rejected, frozen nor
    under objection, the requester must hold a licence valid at the head's time, and data
    leaving the holder's jurisdiction must be free to (grade 1) or licensed under an export
    permit (grade 2); core data (grade 3) never leaves.

    Raises:
        InvalidParameterError: ``requester`` is not an address.
    """
    return _decide(ledger, asset_id, requester, "requester", _licensed)


def decide_upload(ledger: Provledger, asset_id: int, uploader: str) -> Decision:
    """Whether ``uploader`` may put the data of ``asset_id`` in the data room: its holder
    may, while the asset is known and not cancelled.

    Raises:
        InvalidParameterError: ``uploader`` is not an address.
    """
    return _decide(ledger, asset_id, uploader, "uploader", _not_holder)


def decide_metadata_access(ledger: Provledger, asset_id: int, requester: str) -> Decision:
    """Whether ``requester`` may read the committed metadata document of ``asset_id`` (every
    field, withheld ones too), read at the head.

    The holder may, as for the data. A registrar may while the application is under review
    (applied, or in its public notice); an arbiter while a dispute over the asset is open or
    frozen, not yet ruled. An authority acts for the registry: neither its standing, nor the
    asset's restrictions, nor the border stand in its way. Anyone else is decided as
    :func:`decide_access` decides for the data: the withheld fields describe the data, and
    go where it may go. An authority that is not on duty and holds no licence on the asset is
    refused by its duty's rule (``not-reviewing``, ``no-open-dispute``).

    Raises:
        InvalidParameterError: ``requester`` is not an address.
    """
    return _decide(ledger, asset_id, requester, "requester", _on_duty_or_licensed)


def _decide(
    ledger: Provledger,
    asset_id: int,
    requester: str,
    field: str,
    then: Callable[[_Reading, Facts], Decision],
) -> Decision:
    """The decision of the rules every request meets first (:meth:`_Reading.held_or_gone`),
    read at the head, or else ``then``'s; ``field`` names ``requester`` if it does not parse."""
    reading = _Reading.at_head(ledger, asset_id, requester, field)
    facts = reading.held_or_gone()
    return facts if isinstance(facts, Decision) else then(reading, facts)


def _licensed(reading: _Reading, facts: Facts) -> Decision:
    """The decision for someone other than the holder: both in good standing, the asset
    unrestricted, a licence valid at the block, and the border crossed as the grade allows."""
    standing = _standing(reading, facts)
    if standing is not None:
        return reading.refuse(*standing)
    licences = reading.licences()
    valid = sorted(
        (item for item in licences if _valid_at(item, facts.block_time)),
        key=lambda item: (item.expires_at, item.license_id),
        reverse=True,
    )
    if not valid:
        return reading.refuse(*_lapsed(reading.requester, facts, licences))
    return _across_border(reading, facts, valid)


def _on_duty_or_licensed(reading: _Reading, facts: Facts) -> Decision:
    """The decision on the committed metadata document for someone other than the holder: an
    authority on duty is allowed; one off duty without a licence is refused by its duty's rule;
    anyone else is decided as for the data."""
    duties = _duties(reading, facts)
    on_duty = [duty for duty in duties if duty.allowed]
    if on_duty:
        return on_duty[0]
    if duties and not reading.licences():
        return duties[0]
    return _licensed(reading, facts)


def _duties(reading: _Reading, facts: Facts) -> list[Decision]:
    """For each authority role the requester holds at the block (registrar, arbiter), the
    decision its duty gives: allowed while on duty, refused by the duty's rule otherwise."""
    who = reading.requester
    duties = []
    if reading.has_role("REGISTRAR_ROLE"):
        stage = UNDER_REVIEW.get(facts.status)
        if stage is not None:
            reason = f"{who} is a registrar and the application {stage}"
            duties.append(reading.allow(REGISTRAR, None, reason))
        else:
            status = facts.status.name.lower()
            reason = f"{who} is a registrar, but the asset is {status}, not under review"
            duties.append(reading.refuse(Refusal.NOT_REVIEWING, reason))
    if reading.has_role("ARBITER_ROLE"):
        disputes = reading.disputes()
        unruled = [item for item in disputes if item.status in UNRULED]
        if unruled:
            dispute = unruled[-1]
            reason = (
                f"{who} is an arbiter and dispute #{dispute.dispute_id} over the asset is "
                f"{dispute.status.name.lower()}"
            )
            duties.append(reading.allow(ARBITER, None, reason))
        else:
            ruled = f"all {len(disputes)} were ruled" if disputes else "none was opened"
            reason = f"{who} is an arbiter, but no dispute over the asset is open ({ruled})"
            duties.append(reading.refuse(Refusal.NO_OPEN_DISPUTE, reason))
    return duties


def _not_holder(reading: _Reading, facts: Facts) -> Decision:
    """The decision for someone other than the holder, who may not upload."""
    return reading.refuse(
        Refusal.NOT_HOLDER, f"{reading.requester} does not hold the asset; {facts.holder} does"
    )


@dataclass(frozen=True)
class _Reading:
    """The views one decision reads, all at one pinned block."""

    ledger: Provledger
    asset_id: int
    block: int
    requester: str
    facts: Facts | None
    requester_status: ParticipantStatus = ParticipantStatus.NONE
    holder_status: ParticipantStatus = ParticipantStatus.NONE

    @classmethod
    def at_head(cls, ledger: Provledger, asset_id: int, requester: str, field: str) -> _Reading:
        """Pin the head, then read the asset and both participants at it; ``field`` names
        the requester's address if it does not parse."""
        account = checksum(parse_address(requester, field))
        head = ledger.w3.eth.get_block("latest")
        block, block_time = int(head["number"]), int(head["timestamp"])
        asset = ledger.registry.asset(asset_id, block=block)
        if asset is None:
            return cls(ledger, asset_id, block, account, None)
        asking = ledger.registry.participant(account, block=block)
        holding = ledger.registry.participant(asset.holder, block=block)
        facts = Facts(
            asset_id=asset_id,
            block_number=block,
            block_time=block_time,
            holder=asset.holder,
            status=asset.status,
            grade=asset.grade,
            frozen=asset.frozen,
            under_objection=asset.under_objection,
            holder_jurisdiction=holding.jurisdiction,
            requester_jurisdiction=asking.jurisdiction,
        )
        return cls(ledger, asset_id, block, account, facts, asking.status, holding.status)

    def licences(self) -> list[LicenseState]:
        """Every licence ever granted on the asset to the requester, in grant order."""
        licenses = self.ledger.licenses
        ids = licenses.licenses_of(self.asset_id, self.requester, block=self.block)
        return [licenses.license(item, block=self.block) for item in ids]

    def has_role(self, role: str) -> bool:
        """Whether the requester holds ``role`` in the registry at the block."""
        call = self.ledger.registry.contract.functions.hasRole(role_id(role), self.requester)
        return bool(call.call(block_identifier=self.block))

    def disputes(self) -> list[DisputeState]:
        """Every dispute ever opened over the asset, as it stands at the block, in id order."""
        court = self.ledger.court
        logs = self.ledger.w3.eth.get_logs(
            {
                "address": court.address,
                "fromBlock": self.ledger.deployment.block_number,
                "toBlock": self.block,
                "topics": [
                    "0x" + DisputeOpened.TOPIC0.hex(),
                    None,
                    "0x" + self.asset_id.to_bytes(32, "big").hex(),
                ],
            }
        )
        ids = sorted({int.from_bytes(bytes(log["topics"][1]), "big") for log in logs})
        return [
            DisputeState.from_abi(
                item, court.contract.functions.disputeOf(item).call(block_identifier=self.block)
            )
            for item in ids
        ]

    def permit(self) -> ExportPermitState | None:
        """The requester's export permit for the asset, if one was ever issued."""
        return self.ledger.export.permit(self.asset_id, self.requester, block=self.block)

    def allow(self, basis: str, licence_id: int | None, reason: str) -> Decision:
        """An allowed decision on ``basis``."""
        return Decision(self.requester, self.facts, basis, licence_id, None, reason)

    def refuse(self, refusal: Refusal, reason: str) -> Decision:
        """A decision refused by ``refusal``."""
        return Decision(self.requester, self.facts, "", None, refusal, reason)

    def held_or_gone(self) -> Decision | Facts:
        """The decision of the rules every request meets first, or the facts to go on with:
        an asset unknown at the block, or cancelled, is refused to everyone (its data is
        gone); its holder is allowed, whatever restrictions it is under."""
        facts = self.facts
        if facts is None:
            return self.refuse(
                Refusal.UNKNOWN_ASSET,
                f"no asset {asset_id_hex(self.asset_id)} is registered at block {self.block}",
            )
        if facts.status is AssetStatus.CANCELLED:
            return self.refuse(
                Refusal.ASSET_CANCELLED, "the asset is cancelled: its data is gone for everyone"
            )
        if self.requester == facts.holder:
            return self.allow(HOLDER, None, f"{self.requester} holds the asset")
        return facts


def _standing(reading: _Reading, facts: Facts) -> tuple[Refusal, str] | None:
    """The first of the participants' standing and the asset's restrictions that refuses."""
    suspended = ParticipantStatus.SUSPENDED
    checks = (
        (
            reading.requester_status is suspended,
            Refusal.REQUESTER_SUSPENDED,
            f"the requester {reading.requester} is a suspended participant",
        ),
        (
            reading.holder_status is suspended,
            Refusal.HOLDER_SUSPENDED,
            f"the holder {facts.holder} is a suspended participant",
        ),
        (
            facts.status is AssetStatus.REJECTED,
            Refusal.ASSET_REJECTED,
            "the asset's registration was rejected",
        ),
        (facts.frozen, Refusal.ASSET_FROZEN, "a dispute has frozen the asset"),
        (
            facts.under_objection,
            Refusal.ASSET_UNDER_OBJECTION,
            "an objection against the asset's registration is open",
        ),
    )
    return next(((refusal, reason) for failed, refusal, reason in checks if failed), None)


def _valid_at(licence: LicenseState, timestamp: int) -> bool:
    """``LicenseRegistry._isValidAt``: granted at or before ``timestamp``, expiring after it,
    not revoked at or before it. Any kind of licence covers use of the data."""
    granted, revoked = licence.granted_at, licence.revoked_at
    return (
        granted != 0
        and granted <= timestamp < licence.expires_at
        and (revoked == 0 or timestamp < revoked)
    )


def _lapsed(requester: str, facts: Facts, licences: list[LicenseState]) -> tuple[Refusal, str]:
    """Why none of ``licences`` is valid at the block: the latest revoked, else the latest
    expired, else there is none."""
    now = facts.block_time
    revoked = [item for item in licences if 0 < item.revoked_at <= now]
    if revoked:
        latest = max(revoked, key=lambda item: item.revoked_at)
        return (
            Refusal.LICENCE_REVOKED,
            f"licence #{latest.license_id} was revoked at {utc_time(latest.revoked_at)}",
        )
    expired = [item for item in licences if item.expires_at <= now]
    if expired:
        latest = max(expired, key=lambda item: item.expires_at)
        return (
            Refusal.LICENCE_EXPIRED,
            f"licence #{latest.license_id} expired at {utc_time(latest.expires_at)}",
        )
    return Refusal.NO_LICENCE, f"{requester} holds no licence on the asset at {utc_time(now)}"


def _across_border(reading: _Reading, facts: Facts, valid: list[LicenseState]) -> Decision:
    """The decision on a requester holding ``valid`` licences (latest expiry first): free
    within the holder's jurisdiction and for grade 1, never for grade 3, and for grade 2 only
    under a licence granted with an export permit (``LicenseRegistry._checkSale``)."""
    source, destination = facts.holder_jurisdiction, facts.requester_jurisdiction
    if source == destination or facts.grade == Grade.GENERAL:
        chosen = valid[0]
        return reading.allow(LICENSEE, chosen.license_id, _valid_until(chosen))
    if facts.grade == Grade.CORE:
        return reading.refuse(
            Refusal.CORE_DATA_ABROAD,
            f"grade 3 (core) data may not leave {source} for {destination}",
        )
    rule = f"grade 2 data may leave {source} for {destination} only under an export permit"
    permit = reading.permit()
    if permit is None:
        return reading.refuse(
            Refusal.EXPORT_PERMIT_MISSING, f"{rule}: none was issued for {reading.requester}"
        )
    flaws = [_permit_flaw(permit, item, reading.requester, destination) for item in valid]
    for licence, flaw in zip(valid, flaws, strict=True):
        if flaw is None:
            return reading.allow(
                LICENSEE,
                licence.license_id,
                f"{_valid_until(licence)}, granted under the export permit to"
                f" {permit.destination} issued at {utc_time(permit.issued_at)}",
            )
    return reading.refuse(Refusal.EXPORT_PERMIT_MISSING, f"{rule}: {flaws[0]}")


def _permit_flaw(
    permit: ExportPermitState, licence: LicenseState, requester: str, destination: str
) -> str | None:
    """Why ``licence`` was not granted under ``permit`` (None if it was): the permit must have
    been issued at or before the grant, unrevoked, for the requester's jurisdiction now, and
    unexpired when the licence was granted.

    Whether the permit was used does not widen this: a sale consumes a permit only before it
    expires (``ExportControl.consumePermit``), so a licence sold under it was granted before
    its expiry, and a used permit says nothing of a licence granted after that.
    """
    granted = f"licence #{licence.license_id} was granted at {utc_time(licence.granted_at)}"
    if permit.revoked:
        return f"the permit for {requester} was revoked"
    if permit.issued_at > licence.granted_at:
        return f"the permit was issued at {utc_time(permit.issued_at)}, after {granted}"
    if permit.destination != destination:
        return f"the permit names {permit.destination}, but {requester} is in {destination}"
    if permit.expires_at <= licence.granted_at:
        return f"the permit expired at {utc_time(permit.expires_at)}, before {granted}"
    return None


def _valid_until(licence: LicenseState) -> str:
    return f"licence #{licence.license_id} is valid until {utc_time(licence.expires_at)}"
