"""Scenarios that touch every kind of record, shared by indexer and gateway tests."""

from __future__ import annotations

from collections.abc import Callable

from helpers.builders import doc, registration
from helpers.world import NOTICE_PERIOD, World
from provledger.chain.enums import LicenseKind, RegistrationType, Relation, Ruling, ValuationMethod
from provledger.chain.events import AssetRegistered, DisputeOpened, LicenseGranted, ObjectionLodged
from provledger.chain.types import ParentLink
from provledger.merkle import StandardMerkleTree

#: The content hashes of the batch carol anchors; leaf 0 is promoted, the others are not.
BATCH_LEAVES = tuple(doc(f"leaf {index}") for index in range(5))


def provenance_scenario(world: World, step: Callable[[], None] = lambda: None) -> dict[str, int]:
    """A run through every kind of record; ``step()`` is called between operations.

    Returns the assets it made by label: raw (grade 2, objected, certified, licensed,
    appraised twice, exported to dave), derived (from raw under bob's license, disputed,
    frozen, ruled to erin), revised (metadata v2), promoted (a batch leaf, then cancelled),
    objected (an upheld objection)."""
    assets: dict[str, int] = {}
    alice, bob, carol = world.alice, world.bob, world.carol
    assets["raw"] = world.register(alice, grade=2)
    step()
    world.notice(assets["raw"])
    world.bob.office.object(assets["raw"], doc("grounds"))
    step()
    world.registrar.office.resolve_objection(1, False, doc("dismissed"))
    world.chain.advance(NOTICE_PERIOD)
    world.registrar.office.certify(assets["raw"], doc("certificate"), RegistrationType.INITIAL)
    step()
    expires = world.now() + 30 * 24 * 3600
    grant = alice.licenses.grant(
        assets["raw"], bob.address, LicenseKind.PROCESSING_USE, expires, doc("terms"), "all"
    )
    license_id = grant.event(LicenseGranted).license_id
    assets["derived"] = world.register(
        bob, registration(parents=(ParentLink(assets["raw"], Relation.DERIVED_FROM),))
    )
    step()
    alice.licenses.revoke(license_id, doc("revoked"))
    world.appraiser.appraisals.appraise(
        assets["raw"], 10_000, "CNY", ValuationMethod.COST, doc("report 1")
    )
    world.appraiser.appraisals.appraise(
        assets["raw"], 12_500, "CNY", ValuationMethod.MARKET, doc("report 2")
    )
    step()
    world.exporter.export.issue_permit(assets["raw"], world.dave.address, expires)
    alice.registry.transfer(assets["raw"], world.dave.address)
    assets["revised"] = world.register(alice)
    alice.registry.update_metadata(assets["revised"], "ipfs://v2", doc("v2"))
    step()
    tree = StandardMerkleTree.batch(BATCH_LEAVES)
    carol.anchor.anchor(tree.root, len(BATCH_LEAVES), "ipfs://manifest")
    promoted = carol.anchor.promote(
        tree.root, tree.proof(0), registration(content_hash=tree.at(0)[0])
    )
    assets["promoted"] = promoted.event(AssetRegistered).asset_id
    step()
    opened = world.erin.court.open(assets["derived"], doc("claim"))
    dispute = opened.event(DisputeOpened).dispute_id
    world.arbiter.court.freeze(dispute)
    step()
    world.arbiter.court.rule(dispute, Ruling.TRANSFER_TO_CLAIMANT, doc("ruling"))
    objection_target = world.register(carol)
    assets["objected"] = objection_target
    world.notice(objection_target)
    lodged = world.erin.office.object(objection_target, doc("prior claim"))
    world.registrar.office.resolve_objection(
        lodged.event(ObjectionLodged).objection_id, True, doc("upheld")
    )
    world.registrar.registry.suspend_participant(world.erin.address, doc("suspended"))
    carol.registry.cancel(assets["promoted"], doc("withdrawn"))
    step()
    assets.update(market_scenario(world, assets["revised"], step))
    return assets


def market_scenario(
    world: World, revised: int, step: Callable[[], None] = lambda: None
) -> dict[str, int]:
    """Trading in the native currency with a 2.5% fee to the admin.

        Offer 1: alice's ``revised`` (min bid 600); bob bids 700 (bid 1) and takes it back, carol
        bids 800 (bid 2) and alice accepts: trade 1. Offer 2: ``sold`` for 5,000, bought by bob:
        trade 2. Offer 3: processing-use licenses on ``licensed`` (category 201) for 300, bought by
        bob and dave: trades 3 and 4. Offer 4: ``listed`` (grade 2) for 2,000, min bid 1,500, left
        open. Offer 5: ``sold`` again by bob, cancelled. Alice withdraws her proceeds. Offer 6:
    ``revised`` listed by carol, who then gives it to bob: open on chain, but it cannot fill.
        Returns the new assets by label."""
    alice, bob, carol, dave = world.alice, world.bob, world.carol, world.dave
    market = world.deployment.address("DataMarket")
    world.admin.market.set_fee(world.admin.address, 250)
    expires = world.now() + 7 * 24 * 3600
    assets = {"sold": world.register(alice), "licensed": world.register(alice, category=201)}
    assets["listed"] = world.register(alice, grade=2)
    for asset in (revised, assets["sold"], assets["listed"]):
        alice.registry.approve(market, asset)
    step()
    alice.market.list_asset(revised, 1_000, expires, min_bid=600)
    bob.market.bid(1, 700, expires, value=700)
    carol.market.bid(1, 800, expires, value=800)
    bob.market.cancel_bid(1)
    step()
    alice.market.accept_bid(2)
    alice.market.list_asset(assets["sold"], 5_000, expires)
    bob.market.buy(2, value=5_000)
    step()
    alice.market.offer_license(
        assets["licensed"],
        LicenseKind.PROCESSING_USE,
        90 * 24 * 3600,
        doc("offer terms"),
        "research",
        300,
        expires,
    )
    bob.market.buy(3, value=300)
    dave.market.buy(3, value=300)
    step()
    alice.market.list_asset(assets["listed"], 2_000, expires, min_bid=1_500)
    bob.registry.approve(market, assets["sold"])
    bob.market.list_asset(assets["sold"], 9_000, expires)
    bob.market.cancel_offer(5)
    alice.market.withdraw()
    step()
    carol.registry.approve(market, revised)
    carol.market.list_asset(revised, 3_000, expires)
    carol.registry.transfer(revised, bob.address)
    step()
    return assets
