"""The ``provledger notify`` worker: delivers the outbox's notifications to webhooks.

A worker leases due subscriptions (:meth:`provledger.store.notify.NotifyStore.lease`), reads
each one's notifications after its cursor from the index's outbox, and posts them one at a time,
in outbox order, moving the cursor after each delivery. So each subscription hears of events in
chain order, and a worker killed mid-delivery leaves the cursor before the notification, which
the next lease holder sends again with the same delivery id (receivers dedupe by it); the
cursor is written every :data:`ADVANCE_EVERY` deliveries, so at most that many go out again.

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
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Engine, RowMapping

from provledger.services.notify.bodies import NOT_YET, body_of, delivery_id, read_window
from provledger.services.notify.posting import Connections, post
from provledger.services.notify.signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    sign,
    subscription_secret,
)
from provledger.services.notify.webhook import GIVE_UP_AFTER_MS, backoff_ms
from provledger.services.provenance import Provenance
from provledger.store import outbox
from provledger.store.notify import Cursor, NotifyStore
from provledger.store.subscriptions import Subscription

#: Notifications read from the outbox per lease of a subscription.
READ_LIMIT: Final = 200
#: Subscriptions leased at once.
LEASE_LIMIT: Final = 32
#: Notifications handled between two moves of a subscription's cursor in the store.
ADVANCE_EVERY: Final = 20
#: How long a lease lasts unless given (renewed at each delivery); a worker that dies lets go
#: of its subscriptions after it.
LEASE_MS: Final = 60_000


@dataclass
class Delivered:
    """What one pass of a worker did (counted from its threads)."""

    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    dead: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, what: str) -> None:
        """One more ``what`` (delivered, failed, skipped or dead)."""
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)


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
    threads: int = 8
    """Subscriptions delivered at once."""

    def __post_init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._seen = 0
        """The last outbox position this worker has looked at."""
        self._last: dict[str, int] = {}
        """Subscriptions with notifications not yet seen delivered: their last one's seq."""
        self.name = f"{self.name}:{random.getrandbits(32):08x}"
        self.lease_ms = max(self.lease_ms, int(3 * self.timeout * 1000))
        self._provenance = Provenance(
            self.index, confirmations=self.confirmations, finality_depth=self.finality_depth
        )

    def now_ms(self) -> int:
        """This worker's clock, in unix milliseconds."""
        return int(self.clock() * 1000)

    def run_once(self) -> Delivered:
        """Lease the due subscriptions and deliver what each has waiting, several at once
        (``threads``; each subscription's own deliveries one after the other)."""
        done = Delivered()
        leased = self.store.lease(
            self.name,
            now_ms=self.now_ms(),
            lease_ms=self.lease_ms,
            limit=LEASE_LIMIT,
            among=self._waiting(),
        )
        if len(leased) <= 1 or self.threads <= 1:
            for subscription, cursor in leased:
                self._deliver(subscription, cursor, done)
            return done
        with ThreadPoolExecutor(min(self.threads, len(leased))) as pool:
            submitted = [pool.submit(self._deliver, *item, done) for item in leased]
            for finished in submitted:
                finished.result()
        return done

    def _waiting(self) -> list[str]:
        """The subscriptions the outbox holds notifications for that this worker has not seen
        handled: the new ones since its last look (read from its position in the outbox on),
        and those not delivered through their last one yet."""
        with self.index.connect() as conn:
            found = outbox.waiting_since(conn, self._seen)
        with self._lock:
            for subscription, last in found.items():
                self._last[subscription] = max(last, self._last.get(subscription, 0))
                self._seen = max(self._seen, last)
            return list(self._last)

    def _handled(self, subscription_id: str, seq: int) -> None:
        """The subscription is delivered through ``seq``: no longer waiting if that is its last
        notification seen."""
        with self._lock:
            if self._last.get(subscription_id, 0) <= seq:
                self._last.pop(subscription_id, None)

    def _deliver(self, subscription: Subscription, cursor: Cursor, done: Delivered) -> None:
        window = read_window(self.index, self._provenance, subscription.id, cursor.seq, READ_LIMIT)
        secret = subscription_secret(self.master_key, subscription.id)
        moved = _Advance(self, subscription.id)
        for row in window.rows:
            seq = int(row["seq"])
            body = body_of(self.store, subscription, row, window)
            if body is None:  # skipped: the cursor moves past it
                done.count("skipped")
                if not moved.to(seq):
                    return
                continue
            if body == NOT_YET:  # not final enough yet: it and those after it wait
                if moved.flush():
                    self.store.release(
                        self.name, subscription.id, next_attempt_at=self.now_ms() + self.poll_ms
                    )
                return
            if not self._send(subscription, cursor, row, body, secret, done, moved):
                return
            cursor = dataclasses.replace(
                cursor, seq=seq, attempts=0, first_failed_at=None, last_error=None
            )
        if moved.flush():
            full = len(window.rows) == READ_LIMIT
            if not full:
                self._handled(
                    subscription.id, window.rows[-1]["seq"] if window.rows else cursor.seq
                )
            wait = 0 if full else self.poll_ms
            self.store.release(self.name, subscription.id, next_attempt_at=self.now_ms() + wait)

    def _send(
        self,
        subscription: Subscription,
        cursor: Cursor,
        row: RowMapping,
        body: bytes,
        secret: bytes,
        done: Delivered,
        moved: _Advance,
    ) -> bool:
        """Post one notification; True (delivered, the cursor to move past it) to go on with
        the next."""
        assert subscription.url is not None
        identity = delivery_id(subscription.id, row)
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: identity,
            SIGNATURE_HEADER: sign(secret, int(self.clock()), body),
        }
        outcome = post(
            self._connections(),
            subscription.url,
            body,
            headers,
            timeout=self.timeout,
            allow_private=self.allow_private,
        )
        seq = int(row["seq"])
        if outcome.delivered:
            done.count("delivered")
            return moved.to(seq)
        done.count("failed")
        if not moved.flush():  # what went out before it stays delivered
            return False
        now = self.now_ms()
        error = outcome.error or "not delivered"
        cursor = dataclasses.replace(cursor, last_error=error)
        if cursor.first_failed_at is not None and now - cursor.first_failed_at >= GIVE_UP_AFTER_MS:
            done.count("dead")
            cursor = dataclasses.replace(cursor, attempts=cursor.attempts + 1)
            return self.store.dead_letter(
                self.name, cursor, seq=seq, delivery_id=identity, body=body, now_ms=now
            )
        retry_at = now + backoff_ms(cursor.attempts + 1, self.jitter)
        self.store.failed(self.name, cursor, error=error, now_ms=now, next_attempt_at=retry_at)
        return False

    def _connections(self) -> Connections:
        """This thread's connections to the webhooks (kept open between deliveries)."""
        connections: Connections | None = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = Connections()
        return connections


class _Advance:
    """A subscription's cursor, moved in the store every :data:`ADVANCE_EVERY` handled
    notifications and before a wait, a failure or a release: fewer writes, and after a crash
    at most that many notifications go out again (with their ids)."""

    def __init__(self, worker: NotifyWorker, subscription_id: str) -> None:
        self.worker = worker
        self.subscription_id = subscription_id
        self.seq: int | None = None
        self.since = 0

    def to(self, seq: int) -> bool:
        """Mark ``seq`` handled; False if the lease was lost (stop delivering)."""
        self.seq = seq
        self.since += 1
        return self.since < ADVANCE_EVERY or self.flush()

    def flush(self) -> bool:
        """Move the cursor in the store; False if the lease was lost."""
        if self.seq is None:
            return True
        worker = self.worker
        held = worker.store.advance(
            worker.name,
            self.subscription_id,
            self.seq,
            lease_until=worker.now_ms() + worker.lease_ms,
        )
        self.seq, self.since = None, 0
        return held
