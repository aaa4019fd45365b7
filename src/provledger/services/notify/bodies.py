"""What one outbox row comes to for its subscription: a body to send, nothing (skipped), or a
wait for its block's finality. The webhook worker and the event stream decide alike.

* An announcement waits until its block reaches the subscription's finality (pending, safe or
  final, as the read side judges it) and holds the ones after it back meanwhile.
* An announcement that a reorg retracted before it went out is skipped (and remembered as
  skipped in the notify store), and so is its retraction; a retraction of one that went out is
  sent.

A body is JSON: ``id`` (the delivery id), ``type`` (``announce``, ``remind`` or
``retract``), ``subscription``, and for an announcement ``event`` (the event as
``GET /asset/{id}/history`` shows it); for a reminder (:mod:`provledger.store.reminders`)
``reminder`` (``LicenseExpiring`` or ``ExportPermitExpiring``), ``expires_at`` and ``event``,
the grant or issue of what expires; for a retraction ``retracts`` (the id of the announcement
or reminder it takes back) and the retracted event's position. A reminder waits for its event's
finality as an announcement does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import Engine, RowMapping

from provledger.services.provenance import Provenance
from provledger.services.reads import event_args, view
from provledger.services.views import EventView, Finality
from provledger.store import outbox
from provledger.store.notify import NotifyStore
from provledger.store.subscriptions import MADE_BY, Subscription
from provledger.units import utc_time

_EVENT_FIELDS: Final = tuple(item.name for item in dataclasses.fields(EventView))
_RANK: Final = {Finality.PENDING: 0, Finality.SAFE: 1, Finality.FINAL: 2}
#: The ``type`` of each kind of outbox row's body.
_TYPES: Final = {
    outbox.ANNOUNCE: "announce",
    outbox.RETRACT: "retract",
    outbox.REMIND: "remind",
    outbox.UNREMIND: "retract",
}
_SUFFIXES: Final = {
    outbox.ANNOUNCE: "",
    outbox.RETRACT: "-r",
    outbox.REMIND: "-x",
    outbox.UNREMIND: "-x-r",
}
#: The reminder each event that makes an expiring record gives.
_REMINDERS: Final = {event: reminder for reminder, event in MADE_BY.items()}
#: What :func:`body_of` gives for an announcement not yet at its subscription's finality.
NOT_YET: Final = b""


@dataclass(frozen=True)
class _Rendered:
    """An event as a body shows it: its JSON, its name, and (a grant's or permit's) expiry."""

    json: orjson.Fragment
    name: str
    expires_at: int


#: Events as bodies show them, by position, block hash and finality: what is there is never
#: different, and a broad event goes to many subscriptions. Emptied when it holds
#: :data:`_RENDERED_MAX`.
_RENDERED: dict[tuple[int, int, str, Finality], _Rendered] = {}
_RENDERED_MAX: Final = 20_000


def _rendered(event: RowMapping, reached: Finality) -> _Rendered:
    """``event`` at finality ``reached`` as a body's ``event`` field (the event as
    ``GET /asset/{id}/history`` shows it), rendered once."""
    key = (int(event["block_number"]), int(event["log_index"]), str(event["block_hash"]), reached)
    found = _RENDERED.get(key)
    if found is None:
        args = event_args(event)
        shown = view(EventView, event, reached, args=args)
        fields = {name: getattr(shown, name) for name in _EVENT_FIELDS}
        found = _Rendered(
            orjson.Fragment(orjson.dumps(fields)), shown.event, int(args.get("expires_at", 0))
        )
        if len(_RENDERED) >= _RENDERED_MAX:
            _RENDERED.clear()
        _RENDERED[key] = found
    return found


def body_type(kind: str) -> str:
    """The ``type`` of the body of an outbox row of ``kind`` (an event stream's event name)."""
    return _TYPES[kind]


def delivery_id(subscription_id: str, row: Mapping[Any, Any]) -> str:
    """The stable id of an outbox notification: the subscription, the event's position and its
    block's hash (a reorg's new event at the same position has another), and ``r`` for a
    retraction."""
    suffix = _SUFFIXES[row["kind"]]
    block_hash = str(row["block_hash"])[2:14]
    return f"{subscription_id}-{row['block_number']}-{row['log_index']}-{block_hash}{suffix}"


@dataclass(frozen=True)
class Window:
    """Outbox rows of one subscription after a position, with what deciding them reads."""

    rows: list[RowMapping]
    events: dict[tuple[int, int], RowMapping]
    """The indexed events ``rows`` name, by (block, log index)."""
    finality: Callable[[int], Finality]
    """A block's finality, as of the index's head when the rows were read."""


def read_window(
    index: Engine, provenance: Provenance, subscription_id: str, seq: int, limit: int
) -> Window:
    """Up to ``limit`` outbox rows of ``subscription_id`` after ``seq``, in order."""
    with index.connect() as conn:
        rows = outbox.after(conn, subscription_id, seq, limit)
        named = outbox.window_events(conn, subscription_id, seq, rows[-1]["seq"]) if rows else {}
        return Window(rows, named, provenance.finality_now(conn))


def body_of(
    store: NotifyStore, subscription: Subscription, row: RowMapping, window: Window
) -> bytes | None:
    """The body to send for ``row``; None to skip it; :data:`NOT_YET` to wait until its block
    reaches the subscription's finality."""
    identity = delivery_id(subscription.id, row)
    if row["kind"] in (outbox.RETRACT, outbox.UNREMIND):
        if store.was_skipped(subscription.id, int(row["retracts"])):
            return None
        return orjson.dumps(
            {
                "id": identity,
                "type": body_type(row["kind"]),
                "subscription": subscription.id,
                "retracts": identity.removesuffix("-r"),
                "block_number": row["block_number"],
                "log_index": row["log_index"],
                "block_hash": row["block_hash"],
            }
        )
    event = window.events.get((row["block_number"], row["log_index"]))
    if row["retracted_by"] is not None or event is None:
        store.skip(subscription.id, int(row["seq"]))
        return None
    reached = window.finality(int(row["block_number"]))
    if _RANK[reached] < _RANK[Finality(subscription.finality)]:
        return NOT_YET
    rendered = _rendered(event, reached)
    body: dict[str, Any] = {
        "id": identity,
        "type": body_type(row["kind"]),
        "subscription": subscription.id,
    }
    if row["kind"] == outbox.REMIND:
        body["reminder"] = _REMINDERS[rendered.name]
        body["expires_at"] = utc_time(rendered.expires_at)
    body["event"] = rendered.json
    return orjson.dumps(body)
