"""What a subscription is: its filter, finality and target (stored by
:mod:`provledger.store.notify`, matched by :mod:`provledger.store.outbox`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from provledger.errors import InputError

#: What a subscription may wait for before it hears of an event.
FINALITIES: Final = ("pending", "safe", "final")
#: The reminders a subscription hears of, as the event names a filter may give: a licence, or
#: an export permit, that expires within the subscription's ``remind_before``
#: (:mod:`provledger.store.reminders`).
LICENSE_EXPIRING: Final = "LicenseExpiring"
EXPORT_PERMIT_EXPIRING: Final = "ExportPermitExpiring"
REMINDERS: Final = (LICENSE_EXPIRING, EXPORT_PERMIT_EXPIRING)
#: The event that makes the record each reminder is of.
MADE_BY: Final = {LICENSE_EXPIRING: "LicenseGranted", EXPORT_PERMIT_EXPIRING: "ExportPermitIssued"}
#: How long before an expiry a subscription is reminded of it, unless it says otherwise: a week.
DEFAULT_REMIND_BEFORE: Final = 7 * 24 * 3600
#: The filter fields: each a list; an event matches when it matches every field given.
FILTER_FIELDS: Final = (
    "assets",
    "holders",
    "registrants",
    "licensees",
    "participants",
    "events",
    "categories",
    "grades",
)


class UnknownFilterFieldError(InputError):
    """A subscription's filter names a field there is none of."""

    template = "there is no filter field {name!r}; the fields are {known}"
    name: str
    known: str


@dataclass(frozen=True)
class SubscriptionFilter:
    """Which events a subscription hears of. Addresses lowercase, asset ids ``0x`` + 64 hex;
    an empty field is no condition."""

    assets: frozenset[str] = frozenset()
    holders: frozenset[str] = frozenset()
    registrants: frozenset[str] = frozenset()
    licensees: frozenset[str] = frozenset()
    participants: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()
    categories: frozenset[int] = frozenset()
    grades: frozenset[int] = frozenset()

    @property
    def needs_asset(self) -> bool:
        """Whether matching reads the asset's row (its holder, registrant, category, grade)."""
        return bool(self.holders or self.registrants or self.categories or self.grades)

    def to_json(self) -> str:
        """The filter as stored: the fields given, each a sorted list."""
        given = {name: sorted(getattr(self, name)) for name in FILTER_FIELDS}
        return orjson.dumps({name: values for name, values in given.items() if values}).decode()

    @classmethod
    def from_mapping(cls, fields: Mapping[str, Iterable[Any]]) -> SubscriptionFilter:
        """A filter from its fields (already parsed); :class:`UnknownFilterFieldError` for a
        name that is not a field."""
        for name in fields:
            if name not in FILTER_FIELDS:
                raise UnknownFilterFieldError(name, ", ".join(FILTER_FIELDS))
        return cls(**{name: frozenset(values) for name, values in fields.items()})


@dataclass(frozen=True)
class Subscription:
    """A subscription as stored."""

    id: str
    owner: str
    filter: SubscriptionFilter
    finality: str
    target: str
    url: str | None
    from_block: int | None
    created_at: int
    active: bool = True
    remind_before: int = DEFAULT_REMIND_BEFORE
    """Seconds before a licence or export permit expires that the subscription hears of it."""
