"""Making, listing and removing subscriptions, with their input checked: what the CLI and the
gateway share.

A subscription names a filter (:data:`provledger.store.notify.FILTER_FIELDS`: asset ids,
accounts, event names, category codes, grades), a finality (``pending``, ``safe`` or ``final``)
and a webhook URL. Its secret is derived from the notifications' master key
(:func:`provledger.services.notify.signing.subscription_secret`): it is shown when the
subscription is made, and again on request, never stored.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from provledger.chain.events import EVENT_TYPES
from provledger.chain.ids import asset_id_hex
from provledger.config import Settings
from provledger.errors import InputError
from provledger.params import InvalidParameterError, parse_address, parse_asset_id
from provledger.services.notify.signing import (
    NotifyKeyError,
    master_key_from_text,
    secret_text,
    subscription_secret,
)
from provledger.services.notify.webhook import check_target
from provledger.store.notify import NotifyStore, SubscriptionNotFoundError
from provledger.store.subscriptions import (
    DEFAULT_REMIND_BEFORE,
    FILTER_FIELDS,
    FINALITIES,
    REMINDERS,
    Subscription,
    SubscriptionFilter,
    UnknownFilterFieldError,
)
from provledger.units import utc_time

#: The names of the events a subscription may ask for, and of the reminders.
EVENT_NAMES: Final = frozenset(EVENT_TYPES) | frozenset(REMINDERS)
#: The id prefix of stream subscriptions.
STREAM_PREFIX: Final = "str_"
#: Subscriptions one owner may hold (webhooks and streams).
MAX_SUBSCRIPTIONS: Final = 1_000
#: Values one filter field may list.
MAX_VALUES: Final = 1_000
_ACCOUNT_FIELDS: Final = frozenset({"holders", "registrants", "licensees", "participants"})


class UnknownEventError(InputError):
    """A filter names an event the contracts do not emit."""

    template = "there is no event {name!r}{hint}"
    name: str
    hint: str


class TooManySubscriptionsError(InputError):
    """The owner holds as many subscriptions as one may."""

    template = "{owner} holds {count} subscriptions, the most one may; remove one first"
    owner: str
    count: int


def master_key(settings: Settings) -> bytes:
    """The notifications' master key, from its file or the environment."""
    path: Path | None = settings.notify_master_key_file
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise NotifyKeyError(f"cannot read {path}: {error.strerror or error}") from None
        return master_key_from_text(text)
    if settings.notify_master_key is not None:
        return master_key_from_text(settings.notify_master_key.get_secret_value())
    raise NotifyKeyError(
        "none is set: set PROVLEDGER_NOTIFY_MASTER_KEY_FILE (`provledger notify keygen` "
        "writes one) or PROVLEDGER_NOTIFY_MASTER_KEY"
    )


def _event(name: str) -> str:
    if name in EVENT_NAMES:
        return name
    close = difflib.get_close_matches(name, sorted(EVENT_NAMES), n=1)
    raise UnknownEventError(name, f"; did you mean {close[0]!r}?" if close else "")


def _grade(text: str) -> int:
    if text not in ("1", "2", "3"):
        raise InvalidParameterError("grades", f"a grade is 1, 2 or 3, not {text!r}")
    return int(text)


def _category(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 5) or int(text) >= 2**16:
        raise InvalidParameterError("categories", f"a category is a code 0-65535, not {text!r}")
    return int(text)


#: The filter's fields by the name of the option (CLI) or query parameter (``GET /stream``)
#: that gives one value of them.
OPTION_FIELDS: Final = {
    "asset": "assets",
    "holder": "holders",
    "registrant": "registrants",
    "licensee": "licensees",
    "participant": "participants",
    "event": "events",
    "category": "categories",
    "grade": "grades",
}


def fields_of_options(given: Mapping[str, Sequence[str] | None]) -> dict[str, Sequence[str]]:
    """The filter fields the options in ``given`` (singular names, :data:`OPTION_FIELDS`)
    give values for; the other entries of ``given`` are left out."""
    return {
        field: values for option, field in OPTION_FIELDS.items() if (values := given.get(option))
    }


#: Seconds in each unit a lead time may be given in, the largest first.
_UNITS: Final = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
#: The shortest and longest lead time of reminders.
LEAD_BOUNDS: Final = (60, 366 * 86_400)


def parse_lead(given: str | int) -> int:
    """A reminder lead time in seconds, from seconds or text such as ``7d``, ``36h``, ``90m``
    (one number, one unit), between a minute and 366 days."""
    text = str(given).strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "s")
    if not (number.isascii() and number.isdigit() and len(number) <= 9):
        raise InvalidParameterError(
            "remind_before", f"a lead time such as 7d, 36h or 90m, not {str(given)!r}"
        )
    seconds = int(number) * _UNITS[unit]
    if not LEAD_BOUNDS[0] <= seconds <= LEAD_BOUNDS[1]:
        raise InvalidParameterError("remind_before", "between 1m and 366d")
    return seconds


def lead_text(seconds: int) -> str:
    """A lead time as :func:`parse_lead` reads it, in the largest unit that divides it."""
    unit, size = next((unit, size) for unit, size in _UNITS.items() if seconds % size == 0)
    return f"{seconds // size}{unit}"


def _check_finality(finality: str) -> None:
    if finality not in FINALITIES:
        raise InvalidParameterError("finality", f"one of {', '.join(FINALITIES)}")


def parse_filter(fields: Mapping[str, Sequence[str]]) -> SubscriptionFilter:
    """A filter from its fields as given (text): asset ids (hex or decimal), accounts (``0x``
    and 40 hex digits, checksummed if mixed case), event names, category codes, grades."""
    parsed: dict[str, list[Any]] = {}
    for name, values in fields.items():
        if name not in FILTER_FIELDS:
            raise UnknownFilterFieldError(name, ", ".join(FILTER_FIELDS))
        if len(values) > MAX_VALUES:
            raise InvalidParameterError(name, f"at most {MAX_VALUES:,} values")
        if name == "assets":
            parsed[name] = [asset_id_hex(parse_asset_id(value, name)) for value in values]
        elif name in _ACCOUNT_FIELDS:
            parsed[name] = [parse_address(value, name) for value in values]
        elif name == "events":
            parsed[name] = [_event(value) for value in values]
        elif name == "categories":
            parsed[name] = [_category(value) for value in values]
        else:
            parsed[name] = [_grade(value) for value in values]
    return SubscriptionFilter.from_mapping(parsed)


class Subscriptions:
    """The subscriptions of one notify store, made with the settings' guard and master key."""

    def __init__(self, store: NotifyStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def create(
        self,
        *,
        owner: str,
        wanted: SubscriptionFilter,
        finality: str,
        url: str,
        remind_before: int = DEFAULT_REMIND_BEFORE,
    ) -> tuple[Subscription, str]:
        """A new webhook subscription and its secret (``whsec_…``)."""
        _check_finality(finality)
        key = master_key(self.settings)  # before anything is written: no secretless subscription
        target = check_target(url, allow_private=self.settings.notify_allow_private)
        self._check_room(owner)
        made = self._make(owner, wanted, finality, remind_before, url=target)
        return made, secret_text(subscription_secret(key, made.id))

    def stream(
        self,
        *,
        owner: str,
        wanted: SubscriptionFilter,
        finality: str,
        remind_before: int = DEFAULT_REMIND_BEFORE,
    ) -> Subscription:
        """The stream subscription of ``owner`` for ``wanted`` at ``finality`` (and
        ``remind_before``): one per owner, filter, finality and lead time, made on its first
        connection (and counted with the owner's webhooks), kept so that a client that comes
        back with ``Last-Event-ID`` misses nothing."""
        _check_finality(finality)
        named = f"{owner}\n{finality}\n{wanted.to_json()}".encode()
        if remind_before != DEFAULT_REMIND_BEFORE:  # the ids of streams made before reminders
            named += f"\n{remind_before}".encode()
        subscription_id = STREAM_PREFIX + hashlib.sha256(named).hexdigest()[:24]
        with contextlib.suppress(SubscriptionNotFoundError):
            return self.store.get(subscription_id)
        self._check_room(owner)
        return self._make(owner, wanted, finality, remind_before, stream_id=subscription_id)

    def _make(
        self,
        owner: str,
        wanted: SubscriptionFilter,
        finality: str,
        remind_before: int,
        *,
        url: str | None = None,
        stream_id: str | None = None,
    ) -> Subscription:
        """Store a subscription: a webhook to ``url``, or the stream ``stream_id``."""
        return self.store.create(
            owner=owner,
            filter=wanted,
            finality=finality,
            target="webhook" if stream_id is None else "stream",
            url=url,
            now_ms=int(time.time() * 1000),
            subscription_id=stream_id,
            remind_before=remind_before,
        )

    def _check_room(self, owner: str) -> None:
        held = len(self.store.listed(owner=owner))
        if held >= MAX_SUBSCRIPTIONS:
            raise TooManySubscriptionsError(owner, held)

    def secret(self, subscription_id: str, *, owner: str | None = None) -> str:
        """The secret of a subscription, derived again."""
        made = self.store.get(subscription_id, owner=owner)
        return secret_text(subscription_secret(master_key(self.settings), made.id))


def subscription_json(item: Subscription) -> dict[str, Any]:
    """A subscription as the CLI and the API show it (never its secret)."""
    return {
        "id": item.id,
        "owner": item.owner,
        "filter": {
            name: sorted(values) for name in FILTER_FIELDS if (values := getattr(item.filter, name))
        },
        "finality": item.finality,
        "target": item.target,
        "url": item.url,
        "remind_before": lead_text(item.remind_before),
        "from_block": item.from_block,
        "created_at": utc_time(item.created_at // 1000),
    }
