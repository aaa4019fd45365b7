"""The index's outbox: the announcements a batch writes are exactly the chain's matching events.

Each test subscribes before indexing, so the subscriptions start at the first batch, acts on
the chain, indexes with the real indexer and compares the outbox with the chain's own logs
(decoded with the generated event classes, not the indexer's rows).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy import select

from helpers.builders import doc
from helpers.indexing import TEST_CONFIG, source_of
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from notifications.conftest import ON_EMBEDDED_CHAIN, index_with, subscribe
from provledger.chain.events import DECODERS
from provledger.chain.serialize import asset_hex
from provledger.indexer.scanner import Scanner
from provledger.store import outbox, schema
from provledger.store.index import IndexStore
from provledger.store.notify import NotifyStore
from provledger.store.outbox import ActiveSubscriptions

Position = tuple[int, int]

pytestmark = ON_EMBEDDED_CHAIN


def chain_events(world: World) -> list[tuple[Position, Any]]:
    """Every event of the deployment, in chain order, decoded: ((block, log index), event)."""
    logs = world.w3.eth.get_logs(
        {"fromBlock": world.deployment.block_number, "address": list(world.deployment.addresses)}
    )
    found: list[tuple[Position, Any]] = []
    for log in logs:
        topics = [bytes(topic) for topic in log["topics"]]
        event = DECODERS[topics[0]](topics, bytes(log["data"]))
        found.append(((log["blockNumber"], log["logIndex"]), event))
    return found


def concerning(event: Any) -> int | None:
    return getattr(event, "asset_id", None) or getattr(event, "token_id", None)


def announced(url: str, subscription_id: str) -> list[Position]:
    """The positions announced to a subscription and not retracted, in outbox order."""
    table = schema.outbox
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            select(table).where(table.c.subscription_id == subscription_id).order_by(table.c.seq)
        ).all()
    retracted = {row.retracts for row in rows if row.kind == outbox.RETRACT}
    return [
        (row.block_number, row.log_index)
        for row in rows
        if row.kind == outbox.ANNOUNCE and row.seq not in retracted
    ]


def test_each_subscription_gets_exactly_the_events_it_matches(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    alice, bob = world.alice.address.lower(), world.bob.address.lower()
    everything = subscribe(notify_store)
    registrations = subscribe(notify_store, events=frozenset({"AssetRegistered"}))
    alices = subscribe(notify_store, holders=frozenset({alice}))
    bobs = subscribe(notify_store, holders=frozenset({bob}))
    bob_named = subscribe(notify_store, participants=frozenset({bob}))
    index_with(world, url, notify_store)
    started = notify_store.get(everything.id).from_block
    assert started is not None

    moved = world.register(world.alice)
    kept = world.register(world.alice)
    world.alice.registry.transfer(moved, world.bob.address)
    world.bob.registry.update_metadata(moved, "ipfs://moved-v2", doc("moved v2"))
    world.alice.registry.update_metadata(kept, "ipfs://kept-v2", doc("kept v2"))
    index_with(world, url, notify_store)

    events = [(at, event) for at, event in chain_events(world) if at[0] >= started]
    assert {item.from_block for item in notify_store.listed()} == {started}
    assert announced(url, everything.id) == [at for at, _ in events]
    assert announced(url, registrations.id) == [
        at for at, event in events if event.NAME == "AssetRegistered"
    ]
    # Alice held both from their registration; `moved` until its transfer (which names her).
    mine = [at for at, event in events if concerning(event) in (moved, kept)]
    transfer_at = next(
        at for at, event in events if event.NAME == "Transfer" and event.to.lower() == bob
    )
    assert announced(url, alices.id) == [
        at for at in mine if at <= transfer_at or at not in _of(events, moved)
    ]
    assert announced(url, bobs.id) == [at for at in _of(events, moved) if at >= transfer_at]
    assert announced(url, bob_named.id) == [
        at for at, event in events if bob in {v.lower() for v in _accounts(event)}
    ]
    assert len(announced(url, bobs.id)) == 2  # the transfer to bob and bob's revision


def _of(events: list[tuple[Position, Any]], asset: int) -> list[Position]:
    return [at for at, event in events if concerning(event) == asset]


def _accounts(event: Any) -> list[str]:
    return [
        value
        for value in (getattr(event, item.name) for item in dataclasses.fields(event))
        if isinstance(value, str) and len(value) == 42 and value.startswith("0x")
    ]


def test_filters_on_asset_category_and_licensee_combine(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    first = world.register(world.alice)
    second = world.register(world.alice)
    index_with(world, url, notify_store)  # indexed before anyone subscribed
    one_asset = subscribe(notify_store, assets=frozenset({asset_hex(first)}))
    revisions_of_one = subscribe(
        notify_store,
        assets=frozenset({asset_hex(first)}),
        events=frozenset({"MetadataUpdated"}),
    )
    nothing = subscribe(notify_store, grades=frozenset({3}), events=frozenset({"Transfer"}))
    index_with(world, url, notify_store)
    assert announced(url, one_asset.id) == []  # what was indexed before is not announced

    world.alice.registry.update_metadata(first, "ipfs://first-v2", doc("first v2"))
    world.alice.registry.update_metadata(second, "ipfs://second-v2", doc("second v2"))
    world.alice.registry.transfer(first, world.bob.address)
    index_with(world, url, notify_store)

    started = notify_store.get(one_asset.id).from_block
    assert started is not None
    events = [(at, event) for at, event in chain_events(world) if at[0] >= started]
    assert announced(url, one_asset.id) == _of(events, first)
    assert [name for at, name in _names(events) if at in announced(url, one_asset.id)] == [
        "MetadataUpdated",
        "Transfer",
    ]
    assert announced(url, revisions_of_one.id) == [
        at for at, event in events if concerning(event) == first and event.NAME == "MetadataUpdated"
    ]
    assert announced(url, nothing.id) == []  # the test registrations are grade 1


def _names(events: list[tuple[Position, Any]]) -> list[tuple[Position, str]]:
    return [(at, event.NAME) for at, event in events]


def test_without_subscriptions_the_outbox_stays_empty(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    world.register(world.alice)
    index_with(world, url, notify_store)
    with engine_for(url).connect() as conn:
        assert conn.execute(select(schema.outbox)).all() == []


def test_the_indexer_does_not_create_a_notify_database_and_sees_one_made_later(
    world: World, new_database: NewDatabase, tmp_path: Path
) -> None:
    url = new_database("index")
    notify_file = tmp_path / "notify.sqlite"
    watching = ActiveSubscriptions(f"sqlite:///{notify_file}")
    index = IndexStore(engine_for(url), subscriptions=watching)
    scanner = Scanner(source_of(world.w3), index, world.deployment, config=TEST_CONFIG)
    scanner.run(once=True, wait_for_lock=False)
    assert not notify_file.exists()

    with NotifyStore.open(f"sqlite:///{notify_file}") as store:
        made = subscribe(store, events=frozenset({"AssetRegistered"}))
        world.register(world.alice)
        scanner.run(once=True, wait_for_lock=False)  # the same indexer, still running
        registered = [at for at, event in chain_events(world) if event.NAME == "AssetRegistered"]
        assert announced(url, made.id) == registered[-1:]
    watching.close()
