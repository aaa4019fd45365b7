"""Reminders of expiry: each subscription hears once of each live licence and export permit that
expires within its lead time, when the chain's clock reaches it (or at once when it is granted,
or the subscription starts, that close), and never of revoked ones or past expiries.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, text

from helpers.builders import doc
from helpers.receiver import Receiver
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from notifications.conftest import ON_EMBEDDED_CHAIN, index_with, subscribe
from notifications.test_notify_worker import drain, worker_for
from provledger.chain.enums import LicenseKind
from provledger.chain.events import ExportPermitIssued, LicenseGranted
from provledger.chain.serialize import asset_hex
from provledger.chain.transactions import Receipt
from provledger.services.notify.bodies import delivery_id
from provledger.store import notify, outbox, reminders, schema
from provledger.store.notify import NotifyStore
from provledger.store.outbox import ActiveSubscriptions
from provledger.store.subscriptions import DEFAULT_REMIND_BEFORE, Subscription, SubscriptionFilter
from provledger.units import utc_time

DAY = 24 * 3600
Position = tuple[int, int]


def reminded(url: str, subscription: Subscription) -> list[Position]:
    """The grant (or issue) positions a subscription was reminded of, in outbox order."""
    table = schema.outbox
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            select(table)
            .where(table.c.subscription_id == subscription.id, table.c.kind == outbox.REMIND)
            .order_by(table.c.seq)
        ).all()
    return [(row.block_number, row.log_index) for row in rows]


def subscribe_reminded(store: NotifyStore, lead: int, **fields: Any) -> Subscription:
    return store.create(
        owner="cli",
        filter=SubscriptionFilter(**fields),
        finality="pending",
        target="webhook",
        url="https://hooks.example.com/provledger",
        now_ms=0,
        remind_before=lead,
    )


def grant(world: World, asset: int, days: float) -> tuple[int, Position]:
    """Alice licenses ``asset`` to bob until ``days`` from now: the licence id and the grant's
    position."""
    receipt = world.alice.licenses.grant(
        asset,
        world.bob.address,
        LicenseKind.PROCESSING_USE,
        world.now() + int(days * DAY),
        doc("terms"),
    )
    event = receipt.event(LicenseGranted)
    return int(event.license_id), position_of(receipt, LicenseGranted)


def week_and_grant(
    world: World, url: str, store: NotifyStore, days: float
) -> tuple[Subscription, int, Position]:
    """A subscription reminded a week ahead, started, then an asset of alice's licensed to bob
    for ``days``, indexed: the subscription, the asset and the grant's position."""
    week = subscribe_reminded(store, 7 * DAY)
    index_with(world, url, store)
    asset = world.register(world.alice)
    _, granted = grant(world, asset, days)
    index_with(world, url, store)
    return week, asset, granted


def position_of(receipt: Receipt, kind: type[LicenseGranted | ExportPermitIssued]) -> Position:
    (log,) = [item for item in receipt.logs if item.topics[0] == kind.TOPIC0]
    return (int(receipt.block_number), int(log.log_index))


@ON_EMBEDDED_CHAIN
def test_reminders_come_once_at_the_lead_time_and_never_for_revoked_licences(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    week = subscribe_reminded(notify_store, 7 * DAY)
    day = subscribe_reminded(notify_store, DAY, events=frozenset({"LicenseExpiring"}))
    grants_only = subscribe(notify_store, events=frozenset({"LicenseGranted"}))
    bobs = subscribe_reminded(
        notify_store, 7 * DAY, licensees=frozenset({world.bob.address.lower()})
    )
    index_with(world, url, notify_store)  # the subscriptions start

    asset = world.register(world.alice, grade=2)  # important data: exports need a permit
    _, soon = grant(world, asset, 3)  # within a week already: reminded at once
    _, later = grant(world, asset, 30)
    revoked, _ = grant(world, asset, 10)
    world.alice.licenses.revoke(revoked, doc("revoked"))
    permit = world.exporter.export.issue_permit(asset, world.dave.address, world.now() + 20 * DAY)
    issued = position_of(permit, ExportPermitIssued)
    index_with(world, url, notify_store)
    assert reminded(url, week) == [soon]
    assert reminded(url, bobs) == [soon]
    assert reminded(url, day) == []
    assert reminded(url, grants_only) == []

    world.chain.advance(int(2.5 * DAY))  # `soon` expires in half a day: the day's lead
    world.register(world.alice)
    index_with(world, url, notify_store)
    assert reminded(url, week) == [soon]  # once
    assert reminded(url, day) == [soon]

    world.chain.advance(14 * DAY)  # the permit expires in 3.5 days, `later` in 13.5
    world.register(world.alice)
    index_with(world, url, notify_store)
    assert reminded(url, week) == [soon, issued]
    assert reminded(url, bobs) == [soon]  # dave's permit names no licensee
    assert reminded(url, day) == [soon]

    world.chain.advance(7 * DAY)  # the permit has expired, `later` expires in 6.5 days
    world.register(world.alice)
    index_with(world, url, notify_store)
    assert reminded(url, week) == [soon, issued, later]
    assert reminded(url, bobs) == [soon, later]
    assert reminded(url, grants_only) == []


@ON_EMBEDDED_CHAIN
def test_a_new_subscription_hears_of_what_expires_within_its_lead_already(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    first, asset, near = week_and_grant(world, url, notify_store, 5)
    grant(world, asset, 60)
    index_with(world, url, notify_store)
    assert reminded(url, first) == [near]

    late = subscribe_reminded(notify_store, 7 * DAY)
    world.register(world.alice)
    index_with(world, url, notify_store)
    assert reminded(url, late) == [near]
    assert reminded(url, first) == [near]  # not again for the one that was there


@ON_EMBEDDED_CHAIN
def test_a_reminder_is_delivered_with_its_grant_and_expiry(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    with Receiver() as receiver:
        watching = notify_store.create(
            owner="cli",
            filter=SubscriptionFilter(events=frozenset({"LicenseExpiring"})),
            finality="pending",
            target="webhook",
            url=receiver.url,
            now_ms=0,
            remind_before=7 * DAY,
        )
        index_with(world, url, notify_store)
        asset = world.register(world.alice)
        expires = world.now() + 4 * DAY
        receipt = world.alice.licenses.grant(
            asset, world.bob.address, LicenseKind.PROCESSING_USE, expires, doc("terms")
        )
        license_id = int(receipt.event(LicenseGranted).license_id)
        index_with(world, url, notify_store)
        drain(worker_for(notify_store, url))

    (got,) = receiver.received
    body = json.loads(got.body)
    at = position_of(receipt, LicenseGranted)
    assert body["type"] == "remind"
    assert body["reminder"] == "LicenseExpiring"
    assert body["expires_at"] == utc_time(expires)
    assert body["subscription"] == watching.id
    assert body["id"] == got.headers["provledger-delivery"]
    assert body["id"].endswith("-x")
    assert (body["event"]["block_number"], body["event"]["log_index"]) == at
    assert body["event"]["event"] == "LicenseGranted"
    assert body["event"]["args"]["license_id"] == license_id
    assert body["event"]["args"]["asset_id"] == asset_hex(asset)


@ON_EMBEDDED_CHAIN
def test_a_rollback_retracts_the_reminders_of_the_grants_it_removes(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    week = subscribe_reminded(notify_store, 7 * DAY)
    index_with(world, url, notify_store)
    asset = world.register(world.alice)
    _, kept = grant(world, asset, 2)
    world.register(world.alice)
    _, gone = grant(world, asset, 3)
    index_with(world, url, notify_store)
    assert reminded(url, week) == [kept, gone]

    with engine_for(url).begin() as conn:
        assert outbox.retract(conn, gone[0] - 1) == 1 + announcements_after(conn, gone[0] - 1)
        rows = (
            conn.execute(
                select(schema.outbox)
                .where(schema.outbox.c.kind == outbox.UNREMIND)
                .order_by(schema.outbox.c.seq)
            )
            .mappings()
            .all()
        )
    (unremind,) = rows
    assert (unremind["block_number"], unremind["log_index"]) == gone
    assert delivery_id(week.id, unremind).endswith("-x-r")


def announcements_after(conn: Any, block: int) -> int:
    table = schema.outbox
    return len(
        conn.execute(
            select(table).where(table.c.kind == outbox.ANNOUNCE, table.c.block_number > block)
        ).all()
    )


def test_a_notify_store_made_before_reminders_gets_its_lead_times(
    new_database: NewDatabase,
) -> None:
    url = new_database("notify")
    engine = engine_for(url)
    notify.metadata.create_all(engine)
    with engine.begin() as conn:  # the table as it was before reminders
        conn.execute(text("ALTER TABLE subscriptions DROP COLUMN remind_before"))
        conn.execute(
            text(
                "INSERT INTO subscriptions (id, owner, filters, finality, target, url, "
                "created_at, active) VALUES ('sub_old', 'cli', '{}', 'pending', 'webhook', "
                "'https://hooks.example.com/x', 0, true)"
            )
        )
    with NotifyStore.open(url) as store:
        assert store.get("sub_old").remind_before == DEFAULT_REMIND_BEFORE
        made = subscribe_reminded(store, DAY)
        assert store.get(made.id).remind_before == DAY
    with NotifyStore.open(url) as store:  # opened again: the column is there already
        leads = {item.id: item.remind_before for item in store.listed()}
        assert leads == {"sub_old": DEFAULT_REMIND_BEFORE, made.id: DAY}


@ON_EMBEDDED_CHAIN
def test_a_reminder_due_again_after_the_clock_went_back_is_not_written_twice(
    world: World, new_database: NewDatabase, notify_store: NotifyStore
) -> None:
    url = new_database("index")
    week, _, soon = week_and_grant(world, url, notify_store, 3)
    assert reminded(url, week) == [soon]
    subscriptions = ActiveSubscriptions(notify_store.engine.url.render_as_string(False))
    head = world.w3.eth.block_number
    with engine_for(url).begin() as conn:  # as after a rollback: the clock back before it
        matcher = subscriptions.before_batch(head)
        clock = reminders.Clock(world.now(), None, soon[0], head)
        assert reminders.remind(conn, matcher, clock, frozenset({week.id})) == 0
    assert reminded(url, week) == [soon]
