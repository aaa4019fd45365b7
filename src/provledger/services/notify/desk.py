"""The gateway's subscriptions desk: an API key's own subscriptions, made, read and removed.

A caller is known by its relay API key (``Authorization: Bearer plk_…``, made by
``provledger apikey create``); a key sees and removes only the subscriptions it made (another
key's are answered as unknown, the two are not told apart).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import Engine

from provledger.config import Settings
from provledger.errors import InputError, ProvledgerError
from provledger.params import InvalidParameterError
from provledger.services.notify.bodies import NOT_YET, body_of, body_type, read_window
from provledger.services.notify.subscriptions import (
    Subscriptions,
    parse_filter,
    parse_lead,
    subscription_json,
)
from provledger.services.provenance import Provenance
from provledger.services.relay import UnauthorizedError
from provledger.store import outbox, upkeep
from provledger.store.notify import NotifyStore
from provledger.store.relay import RelayStore
from provledger.store.subscriptions import DEFAULT_REMIND_BEFORE, Subscription
from provledger.units import utc_time

#: The fields of a subscription's JSON body.
BODY_FIELDS: Final = frozenset({"url", "finality", "filter", "remind_before"})


class UnknownBodyFieldError(InputError):
    """A subscription's body names a field there is none of."""

    template = (
        "a subscription has no field {name!r}; its fields are url, finality, filter and "
        "remind_before"
    )
    name: str


def _text_list(name: str, values: Any) -> list[str]:
    """A filter field's values as text: a list of strings or integers."""
    if not isinstance(values, list) or not all(
        isinstance(value, str | int) and not isinstance(value, bool) for value in values
    ):
        raise InvalidParameterError(f"filter.{name}", "a list of strings or numbers")
    return [str(value) for value in values]


class StreamPrunedError(InputError):
    """A stream resumed from before the oldest notification it still keeps."""

    template = (
        "the events of this stream after {last} up to {pruned} are no longer kept; connect "
        "without Last-Event-ID to go on from what is indexed next"
    )
    last: int
    pruned: int


class TooManyStreamsError(ProvledgerError):
    """The API key has as many streams open (in this gateway worker) as one may."""

    template = "this API key has {count} streams open, the most one may; close one first"
    count: int


class SubscriptionDesk:
    """Subscriptions through the API: the notify store, the relay's API keys, and the index
    whose outbox the streams read."""

    def __init__(self, settings: Settings, index: Engine, provenance: Provenance) -> None:
        self.settings = settings
        self.store = NotifyStore.open(settings.notify_database_url)
        self.keys = RelayStore.open(settings.relay_database_url)
        self.subscriptions = Subscriptions(self.store, settings)
        self.index = index
        self.provenance = provenance
        self._open_streams: Counter[str] = Counter()
        self._streams_lock = threading.Lock()

    def close(self) -> None:
        """Close both stores' connections."""
        self.store.close()
        self.keys.close()

    def owner(self, token: str | None) -> str:
        """The id of the live API key ``token`` is; :class:`UnauthorizedError` otherwise."""
        key = None if token is None else self.keys.authenticate(token)
        if key is None:
            raise UnauthorizedError()
        return key.key_id

    def create(self, token: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new subscription of the key from a JSON body ``{url, finality?, filter?,
        remind_before?}``; its view with the secret (shown this once)."""
        owner = self.owner(token)
        for name in body:
            if name not in BODY_FIELDS:
                raise UnknownBodyFieldError(name)
        url = body.get("url")
        if not isinstance(url, str):
            raise InvalidParameterError("url", "the webhook's http(s) URL, as text")
        finality = body.get("finality", "pending")
        if not isinstance(finality, str):
            raise InvalidParameterError("finality", "pending, safe or final")
        given = body.get("filter", {})
        if not isinstance(given, dict):
            raise InvalidParameterError("filter", "an object of field: [values]")
        wanted = parse_filter({name: _text_list(name, values) for name, values in given.items()})
        lead = body.get("remind_before", DEFAULT_REMIND_BEFORE)
        if not isinstance(lead, str | int) or isinstance(lead, bool):
            raise InvalidParameterError("remind_before", "a lead time such as 7d, or seconds")
        made, secret = self.subscriptions.create(
            owner=owner, wanted=wanted, finality=finality, url=url, remind_before=parse_lead(lead)
        )
        return {**subscription_json(made), "secret": secret}

    def listed(self, token: str | None) -> list[dict[str, Any]]:
        """The key's subscriptions, in id order."""
        return [subscription_json(item) for item in self.store.listed(owner=self.owner(token))]

    def status(self, token: str | None, subscription_id: str) -> dict[str, Any]:
        """One of the key's subscriptions with where its delivery stands and its dead
        letters."""
        return self._status(self.store.get(subscription_id, owner=self.owner(token)))

    def statuses(self, token: str | None) -> list[dict[str, Any]]:
        """Every subscription of the key with where its delivery stands, in id order."""
        return [self._status(made) for made in self.store.listed(owner=self.owner(token))]

    def _status(self, made: Subscription) -> dict[str, Any]:
        cursor = self.store.cursor(made.id)
        dead = [
            {
                "delivery_id": row["delivery_id"],
                "error": row["error"],
                "attempts": row["attempts"],
                "dead_at": utc_time(int(row["dead_at"]) // 1000),
            }
            for row in self.store.dead(made.id)
        ]
        return {
            **subscription_json(made),
            "delivery": {
                "failed_attempts": cursor.attempts,
                "last_error": cursor.last_error,
                "dead_letters": dead,
            },
        }

    def remove(self, token: str | None, subscription_id: str) -> None:
        """Remove one of the key's subscriptions."""
        self.store.remove(subscription_id, owner=self.owner(token))

    # ------------------------------------------------------------ streams
    def open_stream(
        self,
        token: str | None,
        fields: Mapping[str, Sequence[str]],
        finality: str,
        remind_before: str | None = None,
    ) -> Subscription:
        """The key's stream subscription for ``fields`` at ``finality``, reminded
        ``remind_before`` expiries (:meth:`Subscriptions.stream`)."""
        owner = self.owner(token)
        lead = DEFAULT_REMIND_BEFORE if remind_before is None else parse_lead(remind_before)
        return self.subscriptions.stream(
            owner=owner, wanted=parse_filter(fields), finality=finality, remind_before=lead
        )

    @contextmanager
    def streaming(self, owner: str) -> Iterator[None]:
        """Count an open stream of ``owner`` while the block runs;
        :class:`TooManyStreamsError` past ``notify_streams_per_key``."""
        with self._streams_lock:
            count = self._open_streams[owner]
            if count >= self.settings.notify_streams_per_key:
                raise TooManyStreamsError(count)
            self._open_streams[owner] = count + 1
        try:
            yield
        finally:
            with self._streams_lock:
                self._open_streams[owner] -= 1

    def start_of(self, subscription: Subscription, last_event_id: str | None) -> int:
        """Where a connection starts: after ``Last-Event-ID`` (an outbox position the stream
        sent), or without one after the stream's last notification (what comes next)."""
        if last_event_id is None:
            with self.index.connect() as conn:
                return outbox.last_seq(conn, subscription.id)
        text = last_event_id.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise InvalidParameterError("Last-Event-ID", "the id of an event this stream sent")
        with self.index.connect() as conn:
            pruned = upkeep.horizon(conn, subscription.id)
        if int(text) < pruned:
            raise StreamPrunedError(int(text), pruned)
        return int(text)

    def seen(self, subscription: Subscription) -> None:
        """Note that a client is connected to the stream (it is kept while one comes back)."""
        self.store.seen(subscription.id, int(time.time() * 1000))

    def stream_after(
        self, subscription: Subscription, seq: int, limit: int
    ) -> tuple[list[tuple[int, str, bytes]], int]:
        """The stream's events after ``seq`` that are ready, as (id, type, body), and the
        position read up to (past skipped rows; before one waiting for its finality)."""
        window = read_window(self.index, self.provenance, subscription.id, seq, limit)
        ready: list[tuple[int, str, bytes]] = []
        for row in window.rows:
            body = body_of(self.store, subscription, row, window)
            if body == NOT_YET:
                break
            seq = int(row["seq"])
            if body is not None:
                ready.append((seq, body_type(str(row["kind"])), body))
        return ready, seq
