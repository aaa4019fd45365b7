"""A receiver that is down for a minute, or answers too late: the worker keeps each delivery
with the same id, backs off, and once the receiver answers again every notification arrives,
deduplicated by id exactly once, in chain order, with what was indexed meanwhile after it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from helpers.builders import doc
from helpers.receiver import Received, Receiver
from helpers.world import World
from indexer.conftest import NewDatabase
from notifications.conftest import ON_EMBEDDED_CHAIN, index_with, subscribe
from notifications.test_notify_kill import notify_worker
from notifications.test_notify_worker import Clock, drain, positions, worker_for
from notifications.test_outbox import announced
from provledger.store.notify import NotifyStore
from provledger.store.subscriptions import Subscription

pytestmark = ON_EMBEDDED_CHAIN

#: The outage, in seconds of the worker's clock, and how often the worker looks meanwhile.
OUTAGE_SECONDS = 60
PASS_SECONDS = 5


def _activity(world: World) -> None:
    moved = world.register(world.alice)
    world.alice.registry.transfer(moved, world.bob.address)
    world.bob.registry.update_metadata(moved, "ipfs://moved-v2", doc("moved v2"))


def _once_each(received: list[Received]) -> list[Received]:
    """What a receiver that deduplicates by delivery id keeps: the first of each id."""
    kept: dict[str, Received] = {}
    for item in received:
        kept.setdefault(item.headers["provledger-delivery"], item)
    return list(kept.values())


def _subscribed_then_down(world: World, url: str, store: NotifyStore) -> tuple[int, Subscription]:
    """A subscription to every event whose receiver then goes down (its port refuses
    connections), and activity indexed meanwhile: the receiver's port and the subscription."""
    with Receiver() as first:
        everything = subscribe(store, url=first.url)
        index_with(world, url, store)
    _activity(world)
    index_with(world, url, store)
    return first.port, everything


def test_a_receiver_down_for_a_minute_gets_everything_once_in_order_when_back(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    port, everything = _subscribed_then_down(world, url, notify_store)

    clock = Clock()
    worker = worker_for(notify_store, url, clock, jitter=lambda: 1.0)  # the longest backoffs
    started = clock.now
    attempts = []
    while clock.now - started < OUTAGE_SECONDS:
        done = worker.run_once()
        assert done.delivered == 0
        attempts.append(done.failed)
        if clock.now - started == 30:
            _activity(world)  # more is indexed during the outage
            index_with(world, url, notify_store)
        clock.now += PASS_SECONDS
    cursor = notify_store.cursor(everything.id)
    assert cursor.seq == 0  # nothing was skipped or given up
    assert cursor.attempts == sum(attempts) >= 4  # retried, further apart each time
    assert cursor.last_error is not None
    assert "refused" in cursor.last_error
    assert attempts == [1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0]  # after 1, 2, 4, 8, 16, 32 s

    with Receiver(port) as back:
        clock.now += 3600  # past the longest backoff
        drain(worker)
        got = back.received
    expected = announced(url, everything.id)
    assert len(expected) >= 6
    assert positions(_once_each(got)) == expected
    assert len({item.headers["provledger-delivery"] for item in got}) == len(got)


def test_an_answer_that_comes_too_late_is_sent_again_with_the_same_id(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    with Receiver() as receiver:
        everything = subscribe(notify_store, url=receiver.url)
        index_with(world, url, notify_store)
        _activity(world)
        index_with(world, url, notify_store)
        receiver.delay = 3.0  # past the worker's 2 s timeout
        worker = worker_for(notify_store, url)
        first = worker.run_once()
        assert (first.delivered, first.failed) == (0, 1)
        receiver.delay = 0.0
        cursor = notify_store.cursor(everything.id)
        assert cursor.last_error == "timed out after 2 s"
        drain(worker)
        got = receiver.received
    ids = [item.headers["provledger-delivery"] for item in got]
    assert ids[0] == ids[1]  # the late one, then the same delivery again
    assert len(set(ids)) == len(ids) - 1
    assert positions(_once_each(got)) == announced(url, everything.id)


@pytest.mark.skipif(
    os.environ.get("PROVLEDGER_TEST_PROFILE") != "deep",
    reason="a minute's outage in real time runs in make test-deep (about two minutes)",
)
def test_a_notify_run_worker_outlasts_a_real_minute_s_outage(
    world: World, new_database: NewDatabase, notify_store: NotifyStore, tmp_path: Path
) -> None:
    url = new_database("index")
    port, everything = _subscribed_then_down(world, url, notify_store)
    worker = notify_worker(url, notify_store, tmp_path)
    try:
        time.sleep(OUTAGE_SECONDS)
        assert notify_store.cursor(everything.id).attempts >= 4
        _activity(world)
        index_with(world, url, notify_store)
        expected = announced(url, everything.id)
        with Receiver(port) as back:
            got = back.wait_for(len(expected), timeout=2 * OUTAGE_SECONDS + 10)
            time.sleep(1)  # nothing more comes
            got = back.received
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
    assert positions(_once_each(got)) == expected
    assert len(got) == len(expected)
