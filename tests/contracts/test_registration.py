"""Direct registration: ``register`` and ``registerMany`` of the DataAssetRegistry.

A registration mints an ERC-721 token to the registrant, whose id is derived from the content
hash; the record starts Applied at metadata version 1. Bad input and a second claim on the
same content are refused, and a batch is all or nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import pytest
from eth_typing import ChecksumAddress
from web3 import Web3

from helpers.assertions import reverts
from helpers.builders import DEFAULT_CATEGORY, doc, registration, sha256, unique_content
from helpers.world import World
from provledger.chain.enums import AssetStatus, Channel, ParticipantStatus
from provledger.chain.events import AssetRegistered, BaseURIUpdated, Transfer
from provledger.chain.ids import asset_id, role_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import AssetState, Registration

ZERO_ADDRESS: Final = Web3.to_checksum_address("0x" + "00" * 20)
ZERO_HASH: Final = b"\x00" * 32
UNLISTED_CATEGORY: Final = 999
#: Enough gas that a batch is mined (and reverts on-chain) instead of failing the estimate.
BATCH_GAS: Final = 3_000_000


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that mined ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


def registered_event(
    item: Registration, registrant: ChecksumAddress, submitter: ChecksumAddress
) -> AssetRegistered:
    """The AssetRegistered a direct registration of ``item`` emits."""
    return AssetRegistered(
        asset_id=asset_id(item.content_hash),
        registrant=registrant,
        content_hash=item.content_hash,
        category=item.category,
        grade=item.grade,
        metadata_hash=item.metadata_hash,
        metadata_uri=item.metadata_uri,
        channel=Channel.DIRECT,
        submitter=submitter,
    )


def minted(asset: int, to: ChecksumAddress) -> Transfer:
    """The ERC-721 Transfer of a mint."""
    return Transfer(from_=ZERO_ADDRESS, to=to, token_id=asset)


# ---------------------------------------------------------------- register


def test_register_emits_records_and_mints(world: World) -> None:
    alice = world.alice
    item = registration(category=202, grade=2, metadata_uri="ipfs://bafyexample/meta.json")
    expected_id = asset_id(item.content_hash)
    returned = alice.registry.contract.functions.register(item.as_tuple()).call(
        {"from": alice.address}
    )
    assert returned == expected_id

    receipt = alice.registry.register(item)

    assert receipt.events == (
        registered_event(item, alice.address, alice.address),
        minted(expected_id, alice.address),
    )
    assert alice.registry.asset(expected_id) == AssetState(
        asset_id=expected_id,
        registrant=alice.address,
        registered_at=block_time(world, receipt),
        category=202,
        grade=2,
        status=AssetStatus.APPLIED,
        under_objection=False,
        frozen=False,
        metadata_version=1,
        holder=alice.address,
        metadata_hash=item.metadata_hash,
    )
    functions = alice.registry.contract.functions
    assert bytes(functions.metadataHashOf(expected_id).call()) == item.metadata_hash
    assert functions.ownerOf(expected_id).call() == alice.address
    assert alice.registry.balance_of(alice.address) == 1
    assert alice.registry.asset_id_of(item.content_hash) == expected_id
    assert alice.registry.parents_of(expected_id) == ()
    assert alice.registry.asset_by_hash(item.content_hash) == alice.registry.asset(expected_id)


def test_register_each_grade(world: World) -> None:
    for grade in (1, 2, 3):
        item = registration(grade=grade)
        asset = world.register(world.bob, item)
        state = world.bob.registry.asset(asset)
        assert state is not None
        assert state.grade == grade
    assert world.bob.registry.balance_of(world.bob.address) == 3


def test_unregistered_asset_reads_empty(world: World) -> None:
    content = unique_content()
    unknown = asset_id(content)
    registry = world.alice.registry
    assert registry.asset(unknown) is None
    assert bytes(registry.contract.functions.metadataHashOf(unknown).call()) == ZERO_HASH
    raw = registry.contract.functions.assetOf(unknown).call()
    assert tuple(raw) == (ZERO_ADDRESS, 0, 0, 0, AssetStatus.NONE, False, False, 0)
    with reverts("ERC721NonexistentToken", tokenId=unknown):
        registry.holder_of(unknown)


def test_token_uri_follows_the_base_uri(world: World) -> None:
    asset = world.register(world.alice)
    assert world.alice.registry.token_uri(asset) == ""
    base = "https://ledger.example/assets/"

    receipt = world.admin.registry.set_base_uri(base)

    assert receipt.events == (BaseURIUpdated(base_uri=base, admin=world.admin.address),)
    assert world.alice.registry.token_uri(asset) == f"{base}{asset}"
    unknown = asset_id(unique_content())
    with reverts("ERC721NonexistentToken", tokenId=unknown):
        world.alice.registry.token_uri(unknown)


def test_set_base_uri_needs_the_admin_role(world: World) -> None:
    asset = world.register(world.alice)
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=world.alice.address,
        neededRole=role_id("DEFAULT_ADMIN_ROLE"),
    ):
        world.alice.registry.set_base_uri("https://evil.example/")
    assert world.alice.registry.token_uri(asset) == ""


@pytest.mark.parametrize(
    ("overrides", "error", "arguments"),
    [
        pytest.param({"content_hash": ZERO_HASH}, "ZeroContentHash", {}, id="zero-content"),
        pytest.param({"metadata_uri": ""}, "EmptyMetadataURI", {}, id="empty-uri"),
        pytest.param({"metadata_hash": ZERO_HASH}, "ZeroMetadataHash", {}, id="zero-metadata"),
        pytest.param({"grade": 0}, "InvalidGrade", {"grade": 0}, id="grade-0"),
        pytest.param({"grade": 4}, "InvalidGrade", {"grade": 4}, id="grade-4"),
        pytest.param({"grade": 255}, "InvalidGrade", {"grade": 255}, id="grade-255"),
        pytest.param(
            {"category": UNLISTED_CATEGORY},
            "UnknownCategory",
            {"category": UNLISTED_CATEGORY},
            id="unlisted-category",
        ),
        pytest.param({"category": 0}, "UnknownCategory", {"category": 0}, id="category-0"),
    ],
)
def test_register_refuses_bad_input(
    world: World, overrides: dict[str, Any], error: str, arguments: dict[str, Any]
) -> None:
    item = dataclasses.replace(registration(), **overrides)
    with reverts(error, **arguments):
        world.alice.registry.register(item)
    assert world.alice.registry.balance_of(world.alice.address) == 0


def test_register_refuses_a_delisted_category(world: World) -> None:
    world.admin.registry.set_category_listed(DEFAULT_CATEGORY, False)
    item = registration(category=DEFAULT_CATEGORY)
    with reverts("UnknownCategory", category=DEFAULT_CATEGORY):
        world.alice.registry.register(item)
    assert world.alice.registry.asset_by_hash(item.content_hash) is None


def test_register_refuses_content_already_registered(world: World) -> None:
    item = registration()
    asset = world.register(world.alice, item)
    with reverts(
        "AssetAlreadyRegistered",
        assetId=asset,
        contentHash=item.content_hash,
        registrant=world.alice.address,
    ):
        world.alice.registry.register(item)
    # another registrant, other metadata: the first registration keeps the claim
    rival = dataclasses.replace(
        item, metadata_uri="https://rival.example/meta.json", metadata_hash=sha256("rival")
    )
    with reverts(
        "AssetAlreadyRegistered",
        assetId=asset,
        contentHash=item.content_hash,
        registrant=world.alice.address,
    ):
        world.bob.registry.register(rival)
    state = world.alice.registry.asset(asset)
    assert state is not None
    assert state.registrant == world.alice.address
    assert state.holder == world.alice.address
    assert state.metadata_hash == item.metadata_hash


def test_register_names_the_first_registrant_after_a_transfer(world: World) -> None:
    item = registration()
    asset = world.register(world.alice, item)
    world.alice.registry.transfer(asset, world.bob.address)
    with reverts(
        "AssetAlreadyRegistered",
        assetId=asset,
        contentHash=item.content_hash,
        registrant=world.alice.address,
    ):
        world.erin.registry.register(item)


def test_register_refuses_content_of_a_cancelled_asset(world: World) -> None:
    item = registration()
    asset = world.register(world.alice, item)
    world.alice.registry.cancel(asset, doc("withdrawn"))
    with reverts(
        "AssetAlreadyRegistered",
        assetId=asset,
        contentHash=item.content_hash,
        registrant=world.alice.address,
    ):
        world.bob.registry.register(item)


@pytest.mark.parametrize("who", ["stranger", "relayer", "registrar", "admin"])
def test_register_needs_an_active_participant(world: World, who: str) -> None:
    actor = getattr(world, who)
    item = registration()
    with reverts("ParticipantNotActive", account=actor.address, status=ParticipantStatus.NONE):
        actor.registry.register(item)
    assert world.alice.registry.asset_by_hash(item.content_hash) is None


def test_register_stops_while_paused(world: World) -> None:
    world.admin.registry.pause()
    with reverts("EnforcedPause"):
        world.alice.registry.register(registration())
    with reverts("EnforcedPause"):
        world.alice.registry.register_many([registration()])


# ---------------------------------------------------------------- registerMany


def test_register_many_emits_in_order_and_returns_ids(world: World) -> None:
    bob = world.bob
    items = [
        registration(category=101, grade=1),
        registration(category=203, grade=2),
        registration(category=305, grade=3),
    ]
    expected_ids = [asset_id(item.content_hash) for item in items]
    returned = bob.registry.contract.functions.registerMany(
        [item.as_tuple() for item in items]
    ).call({"from": bob.address})
    assert list(returned) == expected_ids

    receipt = bob.registry.register_many(items)

    expected_events: list[object] = []
    for item, asset in zip(items, expected_ids, strict=True):
        expected_events += [
            registered_event(item, bob.address, bob.address),
            minted(asset, bob.address),
        ]
    assert list(receipt.events) == expected_events
    registered_at = block_time(world, receipt)
    for item, asset in zip(items, expected_ids, strict=True):
        assert bob.registry.asset(asset) == AssetState(
            asset_id=asset,
            registrant=bob.address,
            registered_at=registered_at,
            category=item.category,
            grade=item.grade,
            status=AssetStatus.APPLIED,
            under_objection=False,
            frozen=False,
            metadata_version=1,
            holder=bob.address,
            metadata_hash=item.metadata_hash,
        )
    assert bob.registry.balance_of(bob.address) == 3


def test_register_many_is_all_or_nothing_on_a_repeated_content(world: World) -> None:
    first, second = registration(), registration()
    with reverts(
        "AssetAlreadyRegistered",
        assetId=asset_id(first.content_hash),
        contentHash=first.content_hash,
        registrant=world.alice.address,
    ):
        world.alice.registry.register_many([first, second, first], gas=BATCH_GAS)
    assert world.alice.registry.asset_by_hash(first.content_hash) is None
    assert world.alice.registry.asset_by_hash(second.content_hash) is None
    assert world.alice.registry.balance_of(world.alice.address) == 0


def test_register_many_is_all_or_nothing_on_a_bad_item(world: World) -> None:
    good = [registration(), registration()]
    bad = registration(grade=0)
    with reverts("InvalidGrade", grade=0):
        world.alice.registry.register_many([good[0], bad, good[1]], gas=BATCH_GAS)
    for item in good:
        assert world.alice.registry.asset_by_hash(item.content_hash) is None
    assert world.alice.registry.balance_of(world.alice.address) == 0
    # the same good items register once the bad one is left out
    receipt = world.alice.registry.register_many(good)
    assert [event.asset_id for event in receipt.events_of(AssetRegistered)] == [
        asset_id(item.content_hash) for item in good
    ]


def test_register_many_refuses_content_registered_by_another(world: World) -> None:
    taken = registration()
    world.register(world.bob, taken)
    fresh = registration()
    with reverts(
        "AssetAlreadyRegistered",
        assetId=asset_id(taken.content_hash),
        contentHash=taken.content_hash,
        registrant=world.bob.address,
    ):
        world.alice.registry.register_many([fresh, taken], gas=BATCH_GAS)
    assert world.alice.registry.asset_by_hash(fresh.content_hash) is None


def test_register_many_refuses_an_empty_list(world: World) -> None:
    with reverts("EmptyRegistrationList"):
        world.alice.registry.register_many([])


def test_register_many_needs_an_active_participant(world: World) -> None:
    with reverts(
        "ParticipantNotActive", account=world.stranger.address, status=ParticipantStatus.NONE
    ):
        world.stranger.registry.register_many([registration()])
