"""The ``provledger notify`` worker: delivers the outbox's notifications to webhooks.

A worker leases due subscriptions (:meth:`provledger.store.notify.NotifyStore.lease`), reads
each one's notifications after its cursor from the index's outbox, and posts them one at a time,
in outbox order, moving the cursor after each delivery. So each subscription hears of events in
chain order, and a worker killed mid-delivery leaves the cursor before the notification, which
the next lease holder sends again with the same delivery id (receivers dedupe by it).

* An announcement waits until its block reaches the subscription's finality (pending, safe or
  final, as the read side judges it) and holds the ones after it back meanwhile.
* An announcement that a reorg retracted before it went out is skipped, and so is its
  retraction; a retraction of one that went out is delivered.
* A failed delivery (an answer other than 2xx, a timeout, a refused connection) is tried again
  after an exponential backoff with full jitter; after
  :data:`~provledger.services.notify.webhook.GIVE_UP_AFTER_MS` of failures it is dead-lettered
  and the cursor moves past it.

A body is JSON: ``id`` (the delivery id), ``type`` (``announce`` or ``retract``),
``subscription``, and for an announcement ``event`` (the event as ``GET /asset/{id}/history``
shows it), for a retraction ``retracts`` (the id of the announcement it takes back) and the
retracted event's position.
"""

from __future__ import annotations

import dataclasses
import os
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import requests
from sqlalchemy import Engine, RowMapping

from provledger.services.notify.signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    sign,
    subscription_secret,
)
from provledger.services.notify.webhook import GIVE_UP_AFTER_MS, backoff_ms, post
from provledger.services.provenance import Provenance
from provledger.services.reads import event_args, view
from provledger.services.views import EventView, Finality
from provledger.store import outbox
from provledger.store.notify import Cursor, NotifyStore
from provledger.store.subscriptions import Subscription

#: Notifications read from the outbox per lease of a subscription.
READ_LIMIT: Final = 200
#: Subscriptions leased at once.
LEASE_LIMIT: Final = 32
#: How long a lease lasts; a worker that dies lets go of its subscriptions after it.
LEASE_MS: Final = 60_000
_RANK: Final = {Finality.PENDING: 0, Finality.SAFE: 1, Finality.FINAL: 2}
#: What :meth:`NotifyWorker._body` gives for an announcement not yet at its finality.
_NOT_YET: Final = b""


def delivery_id(subscription_id: str, row: Mapping[Any, Any]) -> str:
    """The stable id of an outbox notification: the subscription, the event's position and its
    block's hash (a reorg's new event at the same position has another), and ``r`` for a
    retraction."""
    suffix = "-r" if row["kind"] == outbox.RETRACT else ""
    block_hash = str(row["block_hash"])[2:14]
    return f"{subscription_id}-{row['block_number']}-{row['log_index']}-{block_hash}{suffix}"


@dataclass
class Delivered:
    """What one pass of a worker did."""

    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    dead: int = 0


@dataclass
class NotifyWorker:
    """Delivers notifications from one index's outbox to the webhooks of one notify store."""

    store: NotifyStore
    index: Engine
    master_key: bytes
    confirmations: int
    finality_depth: int
    allow_private: bool = False
    timeout: float = 10.0
    poll_ms: int = 200
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    clock: Callable[[], float] = time.time
    jitter: Callable[[], float] = random.random
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.name = f"{self.name}:{random.getrandbits(32):08x}"
        self._provenance = Provenance(
            self.index, confirmations=self.confirmations, finality_depth=self.finality_depth
        )

    def now_ms(self) -> int:
        """This worker's clock, in unix milliseconds."""
        return int(self.clock() * 1000)

    def run_once(self) -> Delivered:
        """Lease the due subscriptions and deliver what each has waiting."""
        done = Delivered()
        leased = self.store.lease(
            self.name, now_ms=self.now_ms(), lease_ms=LEASE_MS, limit=LEASE_LIMIT
        )
        for cursor in leased:
            self._deliver(self.store.get(cursor.subscription_id), cursor, done)
        return done

    def _deliver(self, subscription: Subscription, cursor: Cursor, done: Delivered) -> None:
        with self.index.connect() as conn:
            rows = outbox.after(conn, subscription.id, cursor.seq, READ_LIMIT)
            wanted = [
                (row["block_number"], row["log_index"])
                for row in rows
                if row["kind"] == outbox.ANNOUNCE and row["retracted_by"] is None
            ]
            events = outbox.events_at(conn, wanted)
            finality = self._provenance.finality_now(conn)
        secret = subscription_secret(self.master_key, subscription.id)
        for row in rows:
            seq = int(row["seq"])
            body = self._body(subscription, row, events, finality, done)
            if body is None:  # skipped: the cursor moves past it
                if not self.store.advance(self.name, subscription.id, seq):
                    return
                continue
            if body == _NOT_YET:  # not final enough yet: it and those after it wait
                self.store.release(
                    self.name, subscription.id, next_attempt_at=self.now_ms() + self.poll_ms
                )
                return
            if not self._send(subscription, cursor, row, body, secret, done):
                return
            cursor = dataclasses.replace(
                cursor, seq=seq, attempts=0, first_failed_at=None, last_error=None
            )
        more = len(rows) == READ_LIMIT
        wait = 0 if more else self.poll_ms
        self.store.release(self.name, subscription.id, next_attempt_at=self.now_ms() + wait)

    def _body(
        self,
        subscription: Subscription,
        row: RowMapping,
        events: Mapping[tuple[int, int], RowMapping],
        finality: Callable[[int], Finality],
        done: Delivered,
    ) -> bytes | None:
        """The body to send for ``row``; None to skip it; :data:`_NOT_YET` to wait until its
        block reaches the subscription's finality."""
        identity = delivery_id(subscription.id, row)
        if row["kind"] == outbox.RETRACT:
            if self.store.was_skipped(subscription.id, int(row["retracts"])):
                done.skipped += 1
                return None
            return orjson.dumps(
                {
                    "id": identity,
                    "type": "retract",
                    "subscription": subscription.id,
                    "retracts": identity.removesuffix("-r"),
                    "block_number": row["block_number"],
                    "log_index": row["log_index"],
                    "block_hash": row["block_hash"],
                }
            )
        position = (row["block_number"], row["log_index"])
        event = events.get(position)
        if row["retracted_by"] is not None or event is None:
            self.store.skip(subscription.id, int(row["seq"]))
            done.skipped += 1
            return None
        reached = finality(int(row["block_number"]))
        if _RANK[reached] < _RANK[Finality(subscription.finality)]:
            return _NOT_YET
        shown = view(EventView, event, reached, args=event_args(event))
        return orjson.dumps(
            {
                "id": identity,
                "type": "announce",
                "subscription": subscription.id,
                "event": dataclasses.asdict(shown),
            }
        )

    def _send(
        self,
        subscription: Subscription,
        cursor: Cursor,
        row: RowMapping,
        body: bytes,
        secret: bytes,
        done: Delivered,
    ) -> bool:
        """Post one notification; True (delivered, the cursor moved past it) to go on with the
        next."""
        assert subscription.url is not None
        identity = delivery_id(subscription.id, row)
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: identity,
            SIGNATURE_HEADER: sign(secret, int(self.clock()), body),
        }
        outcome = post(
            self.session,
            subscription.url,
            body,
            headers,
            timeout=self.timeout,
            allow_private=self.allow_private,
        )
        seq = int(row["seq"])
        if outcome.delivered:
            done.delivered += 1
            return self.store.advance(self.name, subscription.id, seq)
        done.failed += 1
        now = self.now_ms()
        error = outcome.error or "not delivered"
        cursor = dataclasses.replace(cursor, last_error=error)
        if cursor.first_failed_at is not None and now - cursor.first_failed_at >= GIVE_UP_AFTER_MS:
            done.dead += 1
            cursor = dataclasses.replace(cursor, attempts=cursor.attempts + 1)
            return self.store.dead_letter(
                self.name, cursor, seq=seq, delivery_id=identity, body=body, now_ms=now
            )
        retry_at = now + backoff_ms(cursor.attempts + 1, self.jitter)
        self.store.failed(self.name, cursor, error=error, now_ms=now, next_attempt_at=retry_at)
        return False
