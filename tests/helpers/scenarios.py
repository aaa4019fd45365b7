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
    return assets
