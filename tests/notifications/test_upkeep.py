"""The outbox stays bounded: delivered and final rows of webhooks go, a removed subscription's
rows go, a stream's go after its retention with the horizon kept (a resume from before it is a
410), and a stream nobody connects to is removed; nothing a subscription still needs goes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from helpers.receiver import Receiver
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from notifications.conftest import ON_EMBEDDED_CHAIN, index_with, subscribe
from notifications.test_notify_worker import worker_for
from notifications.test_stream import _open, stream_setup
from provledger.store import schema, upkeep
from provledger.store.notify import NotifyStore

pytestmark = ON_EMBEDDED_CHAIN

__all__ = ["stream_setup"]

DAY_MS = 24 * 3600 * 1000


def rows_of(url: str, subscription_id: str) -> list[int]:
    """The outbox positions ``subscription_id`` still has."""
    table = schema.outbox
    with engine_for(url).connect() as conn:
        return list(
            conn.execute(
                select(table.c.seq)
                .where(table.c.subscription_id == subscription_id)
                .order_by(table.c.seq)
            ).scalars()
        )


def test_delivered_final_rows_go_and_the_rest_stay(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    with Receiver() as receiver:
        receiver.respond = lambda received: 500 if received.path.endswith("never") else 200
        delivered = subscribe(notify_store, url=receiver.url)
        waiting = subscribe(notify_store, url=receiver.url + "/never")  # its deliveries fail
        removed = subscribe(notify_store, url="https://93.184.215.14/gone")
        index_with(world, url, notify_store)
        for _ in range(3):
            world.register(world.alice)
        index_with(world, url, notify_store)
        notify_store.remove(removed.id)
        worker = worker_for(notify_store, url)
        for _ in range(3):
            worker.run_once()
    before = rows_of(url, delivered.id)
    assert before[-1] == notify_store.cursor(delivered.id).seq  # all delivered
    assert notify_store.cursor(waiting.id).seq == 0
    before_waiting = rows_of(url, waiting.id)
    assert before_waiting
    assert rows_of(url, removed.id)

    pruner = upkeep.Pruner(notify_store)
    with engine_for(url).begin() as conn:  # nothing is final yet: only the removed one's go
        pruner.prune(conn, below_block=world.deployment.block_number, now_ms=1)
    assert rows_of(url, delivered.id) == before
    assert rows_of(url, removed.id) == []

    world.chain.mine(10)
    world.register(world.alice)  # a row after the cursor: it stays
    index_with(world, url, notify_store)  # the indexer prunes at its first batch
    kept = rows_of(url, delivered.id)
    assert kept
    assert min(kept) > notify_store.cursor(delivered.id).seq
    assert (
        rows_of(url, waiting.id)[: len(before_waiting)] == before_waiting
    )  # never delivered: kept


def test_a_stream_keeps_its_rows_for_its_retention_then_says_what_was_pruned(
    world: World,
    new_database: NewDatabase,
    notify_store: NotifyStore,
    stream_setup: tuple[str, str, str],
    tmp_path: Path,
) -> None:
    url, base, token = stream_setup
    opened = _open(base, token, event="AssetRegistered")
    assert opened.status_code == 200
    opened.close()
    (stream,) = notify_store.listed()
    index_with(world, url, notify_store)
    for _ in range(3):
        world.register(world.alice)
    world.chain.mine(10)
    index_with(world, url, notify_store)
    kept = rows_of(url, stream.id)
    assert len(kept) == 3

    pruner = upkeep.Pruner(notify_store, keep_ms=DAY_MS)
    head = world.w3.eth.block_number
    with engine_for(url).begin() as conn:  # final, but not a day old: they stay
        assert pruner.prune(conn, below_block=head, now_ms=stream.created_at + DAY_MS // 2) == 0
    later = max(stream.created_at, *_written(url)) + DAY_MS + 1
    notify_store.seen(stream.id, later)  # a client was connected just now
    with engine_for(url).begin() as conn:
        assert pruner.prune(conn, below_block=head, now_ms=later) == 3
        assert upkeep.horizon(conn, stream.id) == kept[-1]
    assert rows_of(url, stream.id) == []

    stale = _open(base, token, last=str(kept[0]), event="AssetRegistered")
    assert stale.status_code == 410
    problem = stale.json()
    assert problem["type"] == "urn:provledger:problem:stream-pruned"
    assert problem["detail"] == (
        f"the events of this stream after {kept[0]} up to {kept[-1]} are no longer kept; "
        "connect without Last-Event-ID to go on from what is indexed next"
    )
    fresh = _open(base, token, last=str(kept[-1]), event="AssetRegistered")
    assert fresh.status_code == 200
    fresh.close()

    with engine_for(url).begin() as conn:  # nobody connected for a retention: it goes
        pruner.prune(conn, below_block=head, now_ms=later + 2 * DAY_MS)
    assert notify_store.listed() == []
    # Its client comes back from where it was: the stream is made again, and says what is gone.
    back = _open(base, token, last=str(kept[-1]), event="AssetRegistered")
    assert back.status_code == 410
    assert back.json()["type"] == "urn:provledger:problem:stream-pruned"


def _written(url: str) -> list[int]:
    with engine_for(url).connect() as conn:
        return list(conn.execute(select(schema.outbox.c.written_at)).scalars())
