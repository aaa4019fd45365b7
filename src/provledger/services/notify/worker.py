"""The ``provledger notify`` worker: delivers the outbox's notifications to webhooks.

A worker leases due subscriptions (:meth:`provledger.store.notify.NotifyStore.lease`), reads
each one's notifications after its cursor from the index's outbox, and posts them one at a time,
in outbox order, moving the cursor after each delivery. So each subscription hears of events in
chain order, and a worker killed mid-delivery leaves the cursor before the notification, which
the next lease holder sends again with the same delivery id (receivers dedupe by it).

What each row comes to (a body, a skip, a wait for finality) is
:mod:`provledger.services.notify.bodies`'s to decide. A failed delivery (an answer other than
2xx, a timeout, a refused connection) is tried again after an exponential backoff with full
jitter; after :data:`~provledger.services.notify.webhook.GIVE_UP_AFTER_MS` of failures it is
dead-lettered and the cursor moves past it.
"""

from __future__ import annotations

import dataclasses
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import requests
from sqlalchemy import Engine, RowMapping

from provledger.services.notify.bodies import NOT_YET, body_of, delivery_id, read_window
from provledger.services.notify.signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    sign,
    subscription_secret,
)
from provledger.services.notify.webhook import GIVE_UP_AFTER_MS, backoff_ms, post
from provledger.services.provenance import Provenance
from provledger.store.notify import Cursor, NotifyStore
from provledger.store.subscriptions import Subscription

#: Notifications read from the outbox per lease of a subscription.
READ_LIMIT: Final = 200
#: Subscriptions leased at once.
LEASE_LIMIT: Final = 32
#: How long a lease lasts unless given (renewed at each delivery); a worker that dies lets go
#: of its subscriptions after it.
LEASE_MS: Final = 60_000


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
    lease_ms: int = LEASE_MS
    """How long a lease lasts from its last renewal (at least three delivery timeouts)."""
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    clock: Callable[[], float] = time.time
    jitter: Callable[[], float] = random.random
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.name = f"{self.name}:{random.getrandbits(32):08x}"
        self.lease_ms = max(self.lease_ms, int(3 * self.timeout * 1000))
        self._provenance = Provenance(
            self.index, confirmations=self.confirmations, finality_depth=self.finality_depth
        )

    def _held(self) -> int:
        """Until when a lease renewed now lasts."""
        return self.now_ms() + self.lease_ms

    def now_ms(self) -> int:
        """This worker's clock, in unix milliseconds."""
        return int(self.clock() * 1000)

    def run_once(self) -> Delivered:
        """Lease the due subscriptions and deliver what each has waiting."""
        done = Delivered()
        leased = self.store.lease(
            self.name, now_ms=self.now_ms(), lease_ms=self.lease_ms, limit=LEASE_LIMIT
        )
        for cursor in leased:
            self._deliver(self.store.get(cursor.subscription_id), cursor, done)
        return done

    def _deliver(self, subscription: Subscription, cursor: Cursor, done: Delivered) -> None:
        window = read_window(self.index, self._provenance, subscription.id, cursor.seq, READ_LIMIT)
        secret = subscription_secret(self.master_key, subscription.id)
        for row in window.rows:
            seq = int(row["seq"])
            body = body_of(self.store, subscription, row, window)
            if body is None:  # skipped: the cursor moves past it
                done.skipped += 1
                if not self.store.advance(
                    self.name, subscription.id, seq, lease_until=self._held()
                ):
                    return
                continue
            if body == NOT_YET:  # not final enough yet: it and those after it wait
                self.store.release(
                    self.name, subscription.id, next_attempt_at=self.now_ms() + self.poll_ms
                )
                return
            if not self._send(subscription, cursor, row, body, secret, done):
                return
            cursor = dataclasses.replace(
                cursor, seq=seq, attempts=0, first_failed_at=None, last_error=None
            )
        more = len(window.rows) == READ_LIMIT
        wait = 0 if more else self.poll_ms
        self.store.release(self.name, subscription.id, next_attempt_at=self.now_ms() + wait)

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
            return self.store.advance(self.name, subscription.id, seq, lease_until=self._held())
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
