"""The data room on the pages: on the asset page, whether the gateway's room holds the asset's
data and to whom the chain gives it; on a participant's page, the access requests to the assets
it holds.

Nothing here decides: the room asks the contracts at the head at each request
(:mod:`~provledger.services.delivery.rules`). The rules the asset page lists are those the
index's record of the asset (and of its holder) makes apply now. A gateway whose room is off
shows nothing of it; a room that cannot open (no node, no master key, its database away) is
said to be unavailable, and the rest of the page is drawn as ever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

from provledger.api.gateway import Gateway
from provledger.api.pages.labels import Labels
from provledger.categories import GRADES
from provledger.chain.enums import AssetStatus, ParticipantStatus
from provledger.errors import ProvledgerError
from provledger.services.delivery.service import DataRoom
from provledger.services.views import AssetView
from provledger.store.access_log import AccessRecord
from provledger.store.dataroom import StoredObject

log = logging.getLogger(__name__)

#: The most access records a participant page lists.
MAX_ACCESS_RECORDS: Final = 50

#: An asset's status as the index writes it once cancelled.
CANCELLED: Final = AssetStatus.CANCELLED.name

T = TypeVar("T")

#: Whether the gateway has a data room: off, on, or on but unable to open.
RoomState = Literal["off", "on", "unavailable"]


@dataclass(frozen=True)
class DataSection:
    """The asset page's "Data" section.

    ``stored`` is what the room holds of the asset and can deliver (None: nothing, or the
    room is not ``on``; ``absent`` says why); ``recipients`` says to whom the chain gives it
    and ``rules`` the restrictions that apply now, one sentence each; ``command`` gets it.
    """

    room: RoomState
    stored: StoredObject | None = None
    absent: str = ""
    recipients: str = ""
    rules: tuple[str, ...] = ()
    command: str = ""


@dataclass(frozen=True)
class AccessRequests:
    """The participant page's "Access requests": the newest records of the assets it holds."""

    room: RoomState
    records: tuple[AccessRecord, ...] = ()
    limit: int = MAX_ACCESS_RECORDS


class _RoomAwayError(ProvledgerError):
    """The data room cannot open (no node, no master key) or answer (its database away)."""


def _ask(gateway: Gateway, read: Callable[[DataRoom], T]) -> T:
    """What ``read`` reads from the gateway's data room; :class:`_RoomAwayError` if the room
    cannot open or answer now (the page says so and is drawn anyway)."""
    try:
        return read(gateway.data_room())
    except Exception as error:
        log.warning("the pages cannot read the data room: %s", error)
        raise _RoomAwayError() from error


def data_section(
    gateway: Gateway, asset: AssetView, labels: Labels, gateway_url: str
) -> DataSection:
    """What the asset page says of ``asset``'s data in the room of ``gateway`` (served at
    ``gateway_url``)."""
    if not gateway.settings.data_room:
        return DataSection("off")
    try:
        stored = _ask(gateway, lambda room: room.store.object_of(int(asset.asset_id, 16)))
    except _RoomAwayError:
        return DataSection("unavailable")
    target = "FOLDER" if stored is not None and stored.kind == "folder" else "FILE"
    command = f"provledger data get {asset.asset_id} -o {target} --gateway {gateway_url}"
    if asset.status == CANCELLED:  # its key is destroyed at the room's next upkeep, if not yet
        gone = "the asset is cancelled, so its data is destroyed"
        return DataSection("on", None, gone, "no one", _rules(asset, labels))
    return DataSection(
        "on",
        stored,
        "its holder has not put its data here",
        "the holder, and licensees of a valid licence",
        _rules(asset, labels),
        command,
    )


def _rules(asset: AssetView, labels: Labels) -> tuple[str, ...]:
    """The restrictions on delivering ``asset``'s data that the index's record makes apply
    now, in the order the room checks them."""
    if asset.status == CANCELLED:
        return ("Cancelled: its data key is destroyed and its data deleted; no one gets it.",)
    holder = labels.party(asset.holder)
    home = holder.jurisdiction or "the holder's jurisdiction"
    checks = (
        (
            holder.status == ParticipantStatus.SUSPENDED.name,
            "The holder is a suspended participant: no delivery to licensees.",
        ),
        (
            asset.status == AssetStatus.REJECTED.name,
            "Its registration was rejected: no delivery to licensees.",
        ),
        (asset.frozen, "Frozen by a dispute: no delivery to licensees; the holder still gets it."),
        (
            asset.under_objection,
            "Under objection: no delivery to licensees while the objection is open.",
        ),
    )
    rules = [rule for applies, rule in checks if applies]
    grade = f"Grade {asset.grade} ({GRADES.get(asset.grade, 'unlisted')})"
    match asset.grade:
        case 1:
            rules.append(f"{grade}: licensees in any jurisdiction.")
        case 2:
            rules.append(
                f"{grade}: outside {home} only under a licence granted with an export permit."
            )
        case 3:
            rules.append(f"{grade}: never outside {home}.")
    return tuple(rules)


def access_requests(gateway: Gateway, held: Sequence[AssetView], labels: Labels) -> AccessRequests:
    """The newest :data:`MAX_ACCESS_RECORDS` access records of the assets in ``held`` (the
    assets the index says a participant holds), their requesters looked up in ``labels``."""
    if not gateway.settings.data_room:
        return AccessRequests("off")
    if not held:
        return AccessRequests("on")
    assets = [int(item.asset_id, 16) for item in held]
    try:
        records = _ask(
            gateway, lambda room: room.log.records_of_assets(assets, None, MAX_ACCESS_RECORDS)
        )
    except _RoomAwayError:
        return AccessRequests("unavailable")
    labels.learn(accounts=[record.requester for record in records])
    return AccessRequests("on", tuple(records))
