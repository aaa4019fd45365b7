"""An index built step by step equals a fresh index of the same chain, and equals the chain.

Runs on both chain backends and both store backends. The small test window (finality depth 8)
puts the later steps in the unfinalized window, so undo images are written there too.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from helpers.builders import doc, registration
from helpers.indexing import differences, index
from helpers.stores import engine_for
from helpers.world import NOTICE_PERIOD, World
from indexer.conftest import NewDatabase
from provledger.chain.enums import LicenseKind, RegistrationType, Relation, Ruling, ValuationMethod
from provledger.chain.events import AssetRegistered, DisputeOpened, LicenseGranted, ObjectionLodged
from provledger.chain.serialize import asset_hex
from provledger.chain.types import ParentLink
from provledger.merkle import StandardMerkleTree
from provledger.store import schema
from provledger.store.index import IndexStore


def _scenario(world: World, step: Callable[[], None]) -> dict[str, int]:
    """A run through every kind of record; ``step()`` is called between operations."""
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
    batch = [doc(f"leaf {index}") for index in range(5)]
    tree = StandardMerkleTree.batch(batch)
    carol.anchor.anchor(tree.root, len(batch), "ipfs://manifest")
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
    world.notice(objection_target)
    lodged = world.erin.office.object(objection_target, doc("prior claim"))
    world.registrar.office.resolve_objection(
        lodged.event(ObjectionLodged).objection_id, True, doc("upheld")
    )
    world.registrar.registry.suspend_participant(world.erin.address, doc("suspended"))
    carol.registry.cancel(assets["promoted"], doc("withdrawn"))
    step()
    return assets


def test_incremental_index_equals_fresh_index_and_the_chain(
    world: World, new_database: NewDatabase
) -> None:
    incremental = new_database("incremental")
    steps = 0

    def step() -> None:
        nonlocal steps
        index(world.w3, world.deployment, incremental)
        steps += 1

    assets = _scenario(world, step)
    fresh = new_database("fresh")
    summary = index(world.w3, world.deployment, fresh)
    chain_logs = world.w3.eth.get_logs(
        {"fromBlock": world.deployment.block_number, "address": list(world.deployment.addresses)}
    )
    assert summary.events == len(chain_logs)
    assert differences(incremental, fresh) == {}
    assert steps == 9

    with engine_for(incremental).connect() as conn:
        rows = {row.asset_id: row for row in conn.execute(select(schema.assets))}
        for label, asset in assets.items():
            state = world.admin.registry.asset(asset)
            assert state is not None, label
            row = rows[asset_hex(asset)]
            assert row.holder == state.holder.lower(), label
            assert row.registrant == state.registrant.lower(), label
            assert row.status == state.status.name, label
            assert row.frozen == state.frozen, label
            assert row.under_objection == state.under_objection, label
            assert row.metadata_version == state.metadata_version, label
            assert row.metadata_hash == "0x" + state.metadata_hash.hex(), label
            assert row.registered_at == state.registered_at, label
        assert len(rows) == len(set(rows))
    counts = IndexStore(engine_for(incremental)).counts()
    assert counts["events"] == summary.events
    assert counts["licenses"] == 1
    assert counts["appraisals"] == 2
    assert counts["disputes"] == 1
    assert counts["batches"] == 1
