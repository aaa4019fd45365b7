"""The notify worker against a local receiver: every matching event once, in chain order,
signed; failures retried with the same delivery id; finality waited for; dead letters after
a day of failures."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from helpers.builders import doc
from helpers.receiver import Received, Receiver
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from notifications.conftest import ON_EMBEDDED_CHAIN, index_with, subscribe
from notifications.test_outbox import announced
from provledger.services.notify.signing import subscription_secret, verify
from provledger.services.notify.worker import LEASE_LIMIT, NotifyWorker
from provledger.store.notify import NotifyStore
from provledger.store.subscriptions import Subscription

MASTER_KEY = bytes(range(32))

pytestmark = ON_EMBEDDED_CHAIN


class Clock:
    """A settable clock (unix seconds)."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started


def worker_for(
    store: NotifyStore,
    url: str,
    clock: Clock | None = None,
    *,
    finality_depth: int = 8,
    jitter: Callable[[], float] = lambda: 0.0,
) -> NotifyWorker:
    """A worker on the test window (confirmations 2, finality depth 8 unless given), backing
    off by none of the time it could (``jitter``: the part of each backoff it waits)."""
    return NotifyWorker(
        store,
        engine_for(url),
        MASTER_KEY,
        confirmations=2,
        finality_depth=finality_depth,
        allow_private=True,  # the receiver listens on the loopback address
        timeout=2.0,
        poll_ms=0,
        clock=clock or Clock(),
        jitter=jitter,
    )


def drain(worker: NotifyWorker, passes: int = 20) -> None:
    """Run the worker until a pass finds nothing to deliver, skip or retry (its clock, when a
    :class:`Clock`, moves a second each pass: past the retries' backoff of 1 ms)."""
    for _ in range(passes):
        if isinstance(worker.clock, Clock):
            worker.clock.now += 1
        done = worker.run_once()
        if not (done.delivered or done.failed or done.skipped):
            return
    raise AssertionError(f"the worker still had work after {passes} passes")


def bodies(received: list[Received]) -> list[dict[str, Any]]:
    return [json.loads(item.body) for item in received]


def positions(received: list[Received]) -> list[tuple[int, int]]:
    return [
        (body["event"]["block_number"], body["event"]["log_index"]) for body in bodies(received)
    ]


def _subscribed_to_activity(
    world: World, url: str, store: NotifyStore, receiver: Receiver
) -> Subscription:
    """A subscription to every event, then a registration, a transfer and a revision, indexed
    into ``url``."""
    everything = subscribe(store, url=receiver.url)
    index_with(world, url, store)
    moved = world.register(world.alice)
    world.alice.registry.transfer(moved, world.bob.address)
    world.bob.registry.update_metadata(moved, "ipfs://moved-v2", doc("moved v2"))
    index_with(world, url, store)
    return everything


def test_every_matching_event_arrives_once_in_chain_order_and_signed(
    world: World, new_database: NewDatabase, notify_store: NotifyStore, receiver: Receiver
) -> None:
    url = new_database("index")
    everything = _subscribed_to_activity(world, url, notify_store, receiver)
    worker = worker_for(notify_store, url)
    drain(worker)

    expected = announced(url, everything.id)
    got = receiver.received
    assert positions(got) == expected
    assert len({item.headers["provledger-delivery"] for item in got}) == len(expected)
    secret = subscription_secret(MASTER_KEY, everything.id)
    for item in got:
        body = bodies([item])[0]
        assert body["type"] == "announce"
        assert body["subscription"] == everything.id
        assert body["id"] == item.headers["provledger-delivery"]
        verify(secret, item.headers["provledger-signature"], item.body, now=1_900_000_000)
    names = [body["event"]["event"] for body in bodies(got)]
    assert names[-4:] == ["AssetRegistered", "Transfer", "Transfer", "MetadataUpdated"]
    drain(worker)
    assert len(receiver.received) == len(expected)  # nothing is sent twice


def test_a_failing_receiver_gets_the_same_delivery_again_until_it_answers(
    world: World, new_database: NewDatabase, notify_store: NotifyStore, receiver: Receiver
) -> None:
    url = new_database("index")
    everything = _subscribed_to_activity(world, url, notify_store, receiver)
    answers = iter([500, 503])
    receiver.respond = lambda _: next(answers, 200)
    clock = Clock()
    worker = worker_for(notify_store, url, clock)
    first = worker.run_once()
    assert (first.delivered, first.failed) == (0, 1)
    cursor = notify_store.cursor(everything.id)
    assert (cursor.attempts, cursor.last_error) == (1, "HTTP 500")
    drain(worker)

    got = receiver.received
    ids = [item.headers["provledger-delivery"] for item in got]
    assert ids[0] == ids[1] == ids[2]  # 500, 503, then 200: the same delivery each time
    unique = list(dict.fromkeys(ids))
    assert len(unique) == len(announced(url, everything.id))
    assert positions([got[0], *got[3:]]) == announced(url, everything.id)


def test_a_final_subscription_hears_of_an_event_once_its_block_is_final(
    world: World, new_database: NewDatabase, notify_store: NotifyStore, receiver: Receiver
) -> None:
    url = new_database("index")
    final = subscribe(
        notify_store, url=receiver.url, finality="final", events=frozenset({"AssetRegistered"})
    )
    index_with(world, url, notify_store)
    world.register(world.alice)
    index_with(world, url, notify_store)
    worker = worker_for(notify_store, url)
    drain(worker)
    assert receiver.received == []
    world.chain.mine(8)
    index_with(world, url, notify_store)
    drain(worker)
    got = bodies(receiver.received)
    assert [body["event"]["event"] for body in got] == ["AssetRegistered"]
    assert got[0]["event"]["finality"] == "final"
    assert positions(receiver.received) == announced(url, final.id)


def test_a_delivery_failing_for_a_day_is_dead_lettered_and_the_next_goes_out(
    world: World, new_database: NewDatabase, notify_store: NotifyStore, receiver: Receiver
) -> None:
    url = new_database("index")
    registrations = subscribe(notify_store, url=receiver.url, events=frozenset({"AssetRegistered"}))
    index_with(world, url, notify_store)
    world.register(world.alice)
    world.register(world.alice)
    index_with(world, url, notify_store)
    receiver.respond = lambda _: 500
    clock = Clock()
    worker = worker_for(notify_store, url, clock)
    worker.run_once()
    clock.now += 24 * 3600 - 1
    worker.run_once()
    assert notify_store.dead(registrations.id) == []
    clock.now += 1
    receiver.respond = lambda received: 500 if len(receiver.received) <= 3 else 200
    worker.run_once()
    dead = notify_store.dead(registrations.id)
    assert [row["error"] for row in dead] == ["HTTP 500"]
    assert dead[0]["attempts"] == 3
    drain(worker)
    ids = [item.headers["provledger-delivery"] for item in receiver.received]
    assert ids[:3] == [dead[0]["delivery_id"]] * 3
    assert ids[3] != ids[0]
    assert len(announced(url, registrations.id)) == 2


def test_quiet_subscriptions_do_not_hold_back_those_with_something_waiting(
    world: World, new_database: NewDatabase, notify_store: NotifyStore, receiver: Receiver
) -> None:
    url = new_database("index")
    for number in range(2 * LEASE_LIMIT):  # more than one pass leases: none ever matches
        subscribe(notify_store, url=receiver.url, holders=frozenset({f"0x{number + 1:040x}"}))
    registrations = subscribe(notify_store, url=receiver.url, events=frozenset({"AssetRegistered"}))
    index_with(world, url, notify_store)
    world.register(world.alice)
    index_with(world, url, notify_store)
    done = worker_for(notify_store, url).run_once()  # one pass
    assert done.delivered == len(announced(url, registrations.id))
    assert positions(receiver.received) == announced(url, registrations.id)
