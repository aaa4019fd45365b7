"""Lineage: the parents an asset names at registration.

Every parent must exist, be usable (neither rejected nor cancelled), appear once with a valid
relation, and be held by the registrant or licensed to it for processing (a valid
ProcessingUse license at the time of registration).
"""

from __future__ import annotations

from typing import Final

import pytest
from web3 import Web3

from helpers.assertions import reverts
from helpers.builders import doc, registration, unique_content
from helpers.world import World
from provledger.chain.client import Provledger
from provledger.chain.enums import AssetStatus, Channel, LicenseKind, Relation
from provledger.chain.events import AssetRegistered, LicenseGranted, LineageLinked, Transfer
from provledger.chain.ids import asset_id
from provledger.chain.types import ParentLink

ZERO_ADDRESS: Final = Web3.to_checksum_address("0x" + "00" * 20)
DAY: Final = 24 * 3600
MAX_PARENTS: Final = 16
#: Enough gas that a registration is mined (and reverts on-chain) instead of failing the estimate.
EXPLICIT_GAS: Final = 3_000_000


def license_to(
    world: World, holder: Provledger, asset: int, licensee: Provledger, **kw: int
) -> int:
    """Grant ``licensee`` a license on ``asset`` (ProcessingUse for a day unless told)."""
    kind = LicenseKind(kw.get("kind", LicenseKind.PROCESSING_USE))
    expires = kw.get("expires", world.now() + DAY)
    receipt = holder.licenses.grant(asset, licensee.address, kind, expires, doc("terms"))
    return receipt.event(LicenseGranted).license_id


# ---------------------------------------------------------------- linking


def test_several_parents_with_each_relation(world: World) -> None:
    alice = world.alice
    parents_receipt = alice.registry.register_many([registration() for _ in range(3)])
    p1, p2, p3 = (event.asset_id for event in parents_receipt.events_of(AssetRegistered))
    links = (
        ParentLink(p1, Relation.DERIVED_FROM),
        ParentLink(p2, Relation.VERSION_OF),
        ParentLink(p3, Relation.AGGREGATE_OF),
    )
    item = registration(parents=links)
    child = asset_id(item.content_hash)

    receipt = alice.registry.register(item)

    assert receipt.events == (
        AssetRegistered(
            asset_id=child,
            registrant=alice.address,
            content_hash=item.content_hash,
            category=item.category,
            grade=item.grade,
            metadata_hash=item.metadata_hash,
            metadata_uri=item.metadata_uri,
            channel=Channel.DIRECT,
            submitter=alice.address,
        ),
        Transfer(from_=ZERO_ADDRESS, to=alice.address, token_id=child),
        LineageLinked(asset_id=child, parent_id=p1, relation=Relation.DERIVED_FROM, license_id=0),
        LineageLinked(asset_id=child, parent_id=p2, relation=Relation.VERSION_OF, license_id=0),
        LineageLinked(asset_id=child, parent_id=p3, relation=Relation.AGGREGATE_OF, license_id=0),
    )
    assert alice.registry.parents_of(child) == links
    assert alice.registry.parents_of(p1) == ()


def test_parents_keep_registration_order(world: World) -> None:
    a = world.register(world.alice)
    b = world.register(world.alice)
    links = (ParentLink(b, Relation.AGGREGATE_OF), ParentLink(a, Relation.AGGREGATE_OF))
    item = registration(parents=links)
    world.register(world.alice, item)
    assert world.alice.registry.parents_of(asset_id(item.content_hash)) == links


def test_a_parent_may_be_registered_earlier_in_the_same_batch(world: World) -> None:
    parent = registration()
    parent_id = asset_id(parent.content_hash)
    child = registration(parents=(ParentLink(parent_id, Relation.VERSION_OF),))
    receipt = world.alice.registry.register_many([parent, child])
    assert receipt.events_of(LineageLinked) == (
        LineageLinked(
            asset_id=asset_id(child.content_hash),
            parent_id=parent_id,
            relation=Relation.VERSION_OF,
            license_id=0,
        ),
    )


def test_the_full_sixteen_parents_are_accepted(world: World) -> None:
    receipt = world.alice.registry.register_many([registration() for _ in range(MAX_PARENTS)])
    parents = [event.asset_id for event in receipt.events_of(AssetRegistered)]
    links = tuple(ParentLink(parent, Relation.AGGREGATE_OF) for parent in parents)
    item = registration(parents=links)
    child = world.alice.registry.register(item)
    assert len(child.events_of(LineageLinked)) == MAX_PARENTS
    assert world.alice.registry.parents_of(asset_id(item.content_hash)) == links


def test_noticed_and_certified_parents_are_usable(world: World) -> None:
    noticed = world.register(world.alice)
    world.notice(noticed)
    certified = world.register(world.alice)
    world.certify(certified)
    child = world.register_derived(world.alice, noticed, certified)
    assert world.alice.registry.parents_of(child) == (
        ParentLink(noticed, Relation.DERIVED_FROM),
        ParentLink(certified, Relation.DERIVED_FROM),
    )


# ---------------------------------------------------------------- hold or license


def test_parent_held_by_another_is_refused(world: World) -> None:
    parent = world.register(world.bob)
    item = registration(parents=(ParentLink(parent, Relation.DERIVED_FROM),))
    with reverts(
        "ParentNeitherHeldNorLicensed",
        parentId=parent,
        registrant=world.alice.address,
        holder=world.bob.address,
    ):
        # mined and reverted on-chain: the mint before the lineage check is undone too
        world.alice.registry.register(item, gas=EXPLICIT_GAS)
    assert world.alice.registry.asset_by_hash(item.content_hash) is None
    assert world.alice.registry.balance_of(world.alice.address) == 0


def test_the_current_holder_counts_not_the_registrant(world: World) -> None:
    parent = world.register(world.alice)
    world.alice.registry.transfer(parent, world.bob.address)
    item = registration(parents=(ParentLink(parent, Relation.DERIVED_FROM),))
    with reverts(
        "ParentNeitherHeldNorLicensed",
        parentId=parent,
        registrant=world.alice.address,
        holder=world.bob.address,
    ):
        world.alice.registry.register(item)
    receipt = world.bob.registry.register(item)
    assert receipt.events_of(LineageLinked) == (
        LineageLinked(
            asset_id=asset_id(item.content_hash),
            parent_id=parent,
            relation=Relation.DERIVED_FROM,
            license_id=0,
        ),
    )


def test_processing_license_makes_a_parent_usable(world: World) -> None:
    parent = world.register(world.bob)
    own = world.register(world.alice)
    license_id = license_to(world, world.bob, parent, world.alice)
    links = (ParentLink(own, Relation.AGGREGATE_OF), ParentLink(parent, Relation.DERIVED_FROM))
    item = registration(parents=links)
    child = asset_id(item.content_hash)

    receipt = world.alice.registry.register(item)

    assert receipt.events_of(LineageLinked) == (
        LineageLinked(asset_id=child, parent_id=own, relation=Relation.AGGREGATE_OF, license_id=0),
        LineageLinked(
            asset_id=child,
            parent_id=parent,
            relation=Relation.DERIVED_FROM,
            license_id=license_id,
        ),
    )
    assert world.alice.registry.parents_of(child) == links
    # the licensed parent stays with its holder
    assert world.alice.registry.holder_of(parent) == world.bob.address


def test_product_operation_license_does_not_count(world: World) -> None:
    parent = world.register(world.bob)
    license_to(world, world.bob, parent, world.alice, kind=LicenseKind.PRODUCT_OPERATION)
    with reverts(
        "ParentNeitherHeldNorLicensed",
        parentId=parent,
        registrant=world.alice.address,
        holder=world.bob.address,
    ):
        world.register_derived(world.alice, parent)


def test_license_to_someone_else_does_not_count(world: World) -> None:
    parent = world.register(world.bob)
    license_to(world, world.bob, parent, world.erin)
    with reverts(
        "ParentNeitherHeldNorLicensed",
        parentId=parent,
        registrant=world.alice.address,
        holder=world.bob.address,
    ):
        world.register_derived(world.alice, parent)


def test_license_on_another_asset_does_not_count(world: World) -> None:
    parent = world.register(world.bob)
    other = world.register(world.bob)
    license_to(world, world.bob, other, world.alice)
    with reverts(
        "ParentNeitherHeldNorLicensed",
        parentId=parent,
        registrant=world.alice.address,
        holder=world.bob.address,
    ):
        world.register_derived(world.alice, parent)


def test_expired_processing_license_does_not_count(world: World) -> None:
    parent = world.register(world.bob)
    license_to(world, world.bob, parent, world.alice, expires=world.now() + 100)
    world.chain.advance(200)
    with reverts(
        "ParentNeitherHeldNorLicensed",
        parentId=parent,
        registrant=world.alice.address,
        holder=world.bob.address,
    ):
        world.register_derived(world.alice, parent)


def test_revoked_processing_license_does_not_count(world: World) -> None:
    parent = world.register(world.bob)
    license_id = license_to(world, world.bob, parent, world.alice)
    world.bob.licenses.revoke(license_id, doc("breach"))
    with reverts(
        "ParentNeitherHeldNorLicensed",
        parentId=parent,
        registrant=world.alice.address,
        holder=world.bob.address,
    ):
        world.register_derived(world.alice, parent)


def test_a_valid_license_is_found_behind_an_expired_one(world: World) -> None:
    parent = world.register(world.bob)
    license_to(world, world.bob, parent, world.alice, expires=world.now() + 100)
    valid = license_to(world, world.bob, parent, world.alice, expires=world.now() + DAY)
    world.chain.advance(200)
    item = registration(parents=(ParentLink(parent, Relation.VERSION_OF),))
    receipt = world.alice.registry.register(item)
    assert receipt.event(LineageLinked) == LineageLinked(
        asset_id=asset_id(item.content_hash),
        parent_id=parent,
        relation=Relation.VERSION_OF,
        license_id=valid,
    )


def test_signed_registration_checks_the_signer_not_the_relayer(world: World) -> None:
    parent = world.register(world.bob)
    alice_key = world.alice.account
    assert alice_key is not None
    unlicensed = world.alice.registry.sign(
        registration(parents=(ParentLink(parent, Relation.DERIVED_FROM),)),
        alice_key,
        deadline=world.now() + DAY,
    )
    with reverts(
        "ParentNeitherHeldNorLicensed",
        parentId=parent,
        registrant=world.alice.address,
        holder=world.bob.address,
    ):
        world.relayer.registry.register_with_signature(unlicensed)

    license_id = license_to(world, world.bob, parent, world.alice)
    signed = world.alice.registry.sign(
        registration(parents=(ParentLink(parent, Relation.DERIVED_FROM),)),
        alice_key,
        deadline=world.now() + DAY,
    )
    receipt = world.relayer.registry.register_with_signature(signed)
    assert receipt.events_of(LineageLinked) == (
        LineageLinked(
            asset_id=asset_id(signed.registration.content_hash),
            parent_id=parent,
            relation=Relation.DERIVED_FROM,
            license_id=license_id,
        ),
    )


# ---------------------------------------------------------------- bad parents


def test_unregistered_parent_is_refused(world: World) -> None:
    unknown = asset_id(unique_content())
    with reverts("UnknownParent", parentId=unknown):
        world.register_derived(world.alice, unknown)
    with reverts("UnknownParent", parentId=0):
        world.register_derived(world.alice, 0)


def test_an_asset_cannot_be_its_own_parent(world: World) -> None:
    content = unique_content()
    own_id = asset_id(content)
    item = registration(content_hash=content, parents=(ParentLink(own_id, Relation.VERSION_OF),))
    with reverts("UnknownParent", parentId=own_id):
        world.alice.registry.register(item)


@pytest.mark.parametrize("relation", [0, 4, 255])
def test_invalid_relation_is_refused(world: World, relation: int) -> None:
    parent = world.register(world.alice)
    with reverts("InvalidRelation", parentId=parent, relation=relation):
        world.register_derived(world.alice, parent, relation=relation)


def test_duplicate_parent_is_refused(world: World) -> None:
    parent = world.register(world.alice)
    other = world.register(world.alice)
    for links in (
        (ParentLink(parent, Relation.DERIVED_FROM), ParentLink(parent, Relation.DERIVED_FROM)),
        (
            ParentLink(parent, Relation.DERIVED_FROM),
            ParentLink(other, Relation.AGGREGATE_OF),
            ParentLink(parent, Relation.VERSION_OF),
        ),
    ):
        with reverts("DuplicateParent", parentId=parent):
            world.alice.registry.register(registration(parents=links))


def test_too_many_parents_are_refused(world: World) -> None:
    links = [ParentLink(index + 1, Relation.DERIVED_FROM) for index in range(MAX_PARENTS + 1)]
    with reverts("TooManyParents", count=MAX_PARENTS + 1, max=MAX_PARENTS):
        world.alice.registry.register(registration(parents=links))


def test_rejected_parent_is_not_usable(world: World) -> None:
    parent = world.register(world.alice)
    world.registrar.office.reject(parent, doc("x"))
    with reverts("ParentNotUsable", parentId=parent, status=AssetStatus.REJECTED):
        world.register_derived(world.alice, parent)


def test_cancelled_parent_is_not_usable(world: World) -> None:
    parent = world.register(world.alice)
    world.alice.registry.cancel(parent, doc("withdrawn"))
    with reverts("ParentNotUsable", parentId=parent, status=AssetStatus.CANCELLED):
        world.register_derived(world.alice, parent)


def test_cancelled_licensed_parent_is_not_usable(world: World) -> None:
    parent = world.register(world.bob)
    license_to(world, world.bob, parent, world.alice)
    world.bob.registry.cancel(parent, doc("withdrawn"))
    with reverts("ParentNotUsable", parentId=parent, status=AssetStatus.CANCELLED):
        world.register_derived(world.alice, parent)
