"""The state every example of the state machine starts from."""

from __future__ import annotations

from collections.abc import Callable

from contracts.machine.driver import Driver
from contracts.model.market import Rules
from contracts.model.records import HOUR, content
from helpers.builders import doc
from helpers.world import NOTICE_PERIOD
from provledger.chain.enums import DisputeStatus, Relation
from provledger.chain.events import Event
from provledger.chain.ids import asset_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import ParentLink, Registration


def seed(driver: Driver) -> None:
    """The state every example starts from, built (and checked) once before the snapshot.

    Seven assets across grades and jurisdictions: certified, under notice with an open
    objection, frozen by a dispute, derived from a held parent and from a licensed one; a
    processing and a product-operation license, an export permit, an open and a frozen
    dispute. On the market, a 2.5% fee to the admin, the certified asset listed and licenses
    to another asset offered (both taking bids), a bid on each, a license and an asset sold
    (their sellers and the admin are owed): every example can trade, accept a bid and withdraw
    at once.
    """
    world, model = driver.world, driver.model

    def register(name: str, grade: int, *parents: int) -> int:
        item = Registration(
            content(f"seed {name} {grade} {parents}"),
            f"ipfs://seed/{name}/{grade}",
            doc(f"seed metadata {name} {grade}"),
            101,
            grade,
            tuple(ParentLink(parent, Relation.DERIVED_FROM) for parent in parents),
        )
        assert driver.register(driver.client(name), item) is not None
        return asset_id(item.content_hash)

    def do(predict: Callable[[Rules, int], list[Event]], send: Callable[[], Receipt]) -> None:
        assert driver.act(predict, send) is not None

    registrar, arbiter, exporter = world.registrar, world.arbiter, world.exporter
    certified = register("alice", 1)
    important_hk = register("carol", 2)
    register("dave", 3)
    noticed = register("bob", 2)
    disputed = register("frank", 1)
    do(lambda m, now: m.accept(certified, now), lambda: registrar.office.accept(certified))
    driver.advance(NOTICE_PERIOD)
    certificate = doc("seed certificate")
    do(
        lambda m, now: m.certify(certified, 1, certificate, now),
        lambda: registrar.office.certify(certified, certificate, 1),
    )
    do(lambda m, now: m.accept(noticed, now), lambda: registrar.office.accept(noticed))
    grounds, erin = doc("seed grounds"), world.erin.address
    do(
        lambda m, now: m.object(erin, noticed, grounds, now),
        lambda: world.erin.office.object(noticed, grounds),
    )
    register("alice", 1, certified)
    bob, terms, expiry = world.bob.address, doc("seed terms"), driver.now() + 72 * HOUR
    alice = world.alice.address
    do(
        lambda m, now: m.grant(alice, certified, bob, 1, expiry, terms, "seed", now),
        lambda: world.alice.licenses.grant(certified, bob, 1, expiry, terms, "seed"),
    )
    erin = world.erin.address
    do(
        lambda m, now: m.grant(alice, certified, erin, 2, expiry, terms, "operation", now),
        lambda: world.alice.licenses.grant(certified, erin, 2, expiry, terms, "operation"),
    )
    derived = register("bob", 1, certified)
    grace, evidence = world.actor(13), doc("seed evidence")
    do(
        lambda m, now: m.open_dispute(grace.address, disputed, evidence, now),
        lambda: grace.court.open(disputed, evidence),
    )
    do(lambda m, now: m.freeze(1, now), lambda: arbiter.court.freeze(1))
    do(
        lambda m, now: m.open_dispute(bob, certified, evidence, now),
        lambda: world.bob.court.open(certified, evidence),
    )
    permit_expiry = driver.now() + 48 * HOUR
    do(
        lambda m, now: m.issue_permit(important_hk, alice, permit_expiry, now),
        lambda: exporter.export.issue_permit(important_hk, alice, permit_expiry),
    )
    admin, market, carol, dave = world.admin, driver.market, world.carol, world.dave
    do(
        lambda m, now: m.set_fee(admin.address, admin.address, 250, now),
        lambda: admin.market.set_fee(admin.address, 250),
    )
    do(
        lambda m, now: m.approve_market(alice, certified, now),
        lambda: world.alice.registry.approve(market, certified),
    )
    until = driver.now() + 72 * HOUR
    do(
        lambda m, now: m.list_asset(alice, certified, 900_001, 300_000, until, now),
        lambda: world.alice.market.list_asset(certified, 900_001, until, min_bid=300_000),
    )
    do(
        lambda m, now: m.offer_license(
            carol.address, important_hk, 1, 24 * HOUR, terms, "sold", 50_003, 10_000, until, now
        ),
        lambda: carol.market.offer_license(
            important_hk, 1, 24 * HOUR, terms, "sold", 50_003, until, min_bid=10_000
        ),
    )
    bid_until = driver.now() + 48 * HOUR
    do(
        lambda m, now: m.bid(bob, 1, 400_000, bid_until, 400_000, now),
        lambda: world.bob.market.bid(1, 400_000, bid_until, value=400_000),
    )
    do(
        lambda m, now: m.bid(dave.address, 2, 20_000, bid_until, 20_000, now),
        lambda: dave.market.bid(2, 20_000, bid_until, value=20_000),
    )
    frank = world.actor(12)  # in HK, as the licensed asset's holder
    do(
        lambda m, now: m.buy(frank.address, 2, 50_003, now),
        lambda: frank.market.buy(2, value=50_003),
    )
    do(
        lambda m, now: m.approve_market(bob, derived, now),
        lambda: world.bob.registry.approve(market, derived),
    )
    do(
        lambda m, now: m.list_asset(bob, derived, 70_001, 0, until, now),
        lambda: world.bob.market.list_asset(derived, 70_001, until),
    )
    do(lambda m, now: m.buy(erin, 3, 70_001, now), lambda: world.erin.market.buy(3, value=70_001))
    assert len(model.assets) == 7
    assert model.owed == {carol.address: 48_753, admin.address: 1_250 + 1_750, bob: 68_251}
    assert [(move.holder, move.via) for move in model.moves] == [(erin, "TRADE")]
    driver.check_state()
    # The aggregator's answers, once, against the library's own view calls.
    for number, record in model.assets.items():
        assert registrar.registry.asset(number) == record.state()
        assert registrar.registry.parents_of(number) == record.parents
    for number, license_ in enumerate(model.licenses, start=1):
        assert registrar.licenses.license(number).granted_at == license_.granted_at
    assert registrar.court.dispute(1).status is DisputeStatus.FROZEN
    for number, offer in enumerate(model.offers, start=1):
        assert registrar.market.offer(number) == offer.state(number)
    assert registrar.market.bid_state(1).amount == 400_000
    assert registrar.market.owed_to(carol.address) == 48_753
    [(balances,)] = driver.aggregator.read([driver.money()])
    assert list(balances) == [
        world.w3.eth.get_balance(account) for account in (*driver.accounts, market)
    ]
