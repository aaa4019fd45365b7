"""Signed registration (EIP-712): the registrant signs off-chain, anyone relays.

The Python digest mirrors the contract's; the signer becomes registrant and holder, the relayer
gains nothing; deadline, nonce and signer are checked, and a batch of signatures is all or
nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3

from helpers.assertions import reverts
from helpers.builders import doc, registration, sha256
from helpers.world import World
from provledger.chain.client import Provledger
from provledger.chain.eip712 import registration_digest, sign_registration
from provledger.chain.enums import AssetStatus, Channel, ParticipantStatus, Relation
from provledger.chain.events import AssetRegistered, Transfer
from provledger.chain.ids import asset_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import AssetState, ParentLink, Registration, SignedRegistration

ZERO_ADDRESS: Final = Web3.to_checksum_address("0x" + "00" * 20)
#: Enough gas that a batch is mined (and reverts on-chain) instead of failing the estimate.
BATCH_GAS: Final = 3_000_000
#: Order of the secp256k1 group; ``n - s`` is the malleated twin of a signature's ``s``.
SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HOUR: Final = 3600


def key(actor: Provledger) -> LocalAccount:
    """The signing key of ``actor``."""
    assert actor.account is not None
    return actor.account


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that mined ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


def signed_by(
    world: World, who: Provledger, item: Registration | None = None
) -> SignedRegistration:
    """``item`` (or a fresh registration) signed by ``who``, valid for an hour."""
    entry = item if item is not None else registration()
    return world.alice.registry.sign(entry, key(who), deadline=world.now() + HOUR)


def resigned(world: World, signed: SignedRegistration, signer: Provledger) -> SignedRegistration:
    """``signed`` with its digest signed by ``signer``'s key instead of the registrant's."""
    digest = world.alice.registry.local_digest(signed)
    signature = Account.unsafe_sign_hash(digest, private_key=key(signer).key).signature
    return dataclasses.replace(signed, signature=bytes(signature))


def recovered_from(world: World, signed: SignedRegistration) -> ChecksumAddress:
    """The address ``signed.signature`` recovers to over the digest of ``signed``."""
    digest = world.alice.registry.local_digest(signed)
    return Web3.to_checksum_address(Account._recover_hash(digest, signature=signed.signature))


def signed_event(signed: SignedRegistration, relayer: ChecksumAddress) -> AssetRegistered:
    """The AssetRegistered a relayed signed registration emits."""
    item = signed.registration
    return AssetRegistered(
        asset_id=asset_id(item.content_hash),
        registrant=signed.registrant,
        content_hash=item.content_hash,
        category=item.category,
        grade=item.grade,
        metadata_hash=item.metadata_hash,
        metadata_uri=item.metadata_uri,
        channel=Channel.SIGNED,
        submitter=relayer,
    )


def minted(signed: SignedRegistration) -> Transfer:
    """The ERC-721 Transfer minting ``signed``'s asset to its registrant."""
    return Transfer(
        from_=ZERO_ADDRESS,
        to=signed.registrant,
        token_id=asset_id(signed.registration.content_hash),
    )


# ---------------------------------------------------------------- digest


@pytest.mark.parametrize(
    "parents",
    [
        pytest.param((), id="no-parents"),
        pytest.param((ParentLink(7, Relation.DERIVED_FROM),), id="one-parent"),
        pytest.param(
            (
                ParentLink(asset_id(sha256("p1")), Relation.DERIVED_FROM),
                ParentLink(asset_id(sha256("p2")), Relation.VERSION_OF),
                ParentLink(2**256 - 1, Relation.AGGREGATE_OF),
            ),
            id="three-parents",
        ),
    ],
)
def test_python_digest_matches_the_contract(world: World, parents: tuple[ParentLink, ...]) -> None:
    registry = world.alice.registry
    item = registration(
        parents=parents,
        category=65535,
        grade=3,
        metadata_uri="https://数据.example/元数据.json?v=1",
    )
    signed = registry.sign(item, key(world.alice), deadline=2**40, nonce=12345)

    python_digest = registry.local_digest(signed)

    assert len(python_digest) == 32
    assert python_digest == registry.registration_digest(signed)
    assert python_digest == registration_digest(
        item,
        registrant=world.alice.address,
        nonce=12345,
        deadline=2**40,
        chain_id=int(world.w3.eth.chain_id),
        registry=registry.address,
    )
    # the signature is not part of the digest
    assert registry.registration_digest(dataclasses.replace(signed, signature=b"")) == python_digest


def test_digest_binds_every_field(world: World) -> None:
    registry = world.alice.registry
    signed = registry.sign(
        registration(parents=(ParentLink(9, Relation.VERSION_OF),)),
        key(world.alice),
        deadline=2**32,
        nonce=0,
    )
    item = signed.registration
    variants = [
        dataclasses.replace(signed, registrant=world.bob.address),
        dataclasses.replace(signed, nonce=1),
        dataclasses.replace(signed, deadline=2**32 + 1),
        dataclasses.replace(
            signed, registration=dataclasses.replace(item, content_hash=sha256("x"))
        ),
        dataclasses.replace(
            signed, registration=dataclasses.replace(item, metadata_uri="ipfs://y")
        ),
        dataclasses.replace(
            signed, registration=dataclasses.replace(item, metadata_hash=sha256("z"))
        ),
        dataclasses.replace(signed, registration=dataclasses.replace(item, category=102)),
        dataclasses.replace(signed, registration=dataclasses.replace(item, grade=2)),
        dataclasses.replace(signed, registration=dataclasses.replace(item, parents=())),
        dataclasses.replace(
            signed,
            registration=dataclasses.replace(item, parents=(ParentLink(9, Relation.DERIVED_FROM),)),
        ),
    ]
    digests = {registry.local_digest(signed)}
    for variant in variants:
        digest = registry.registration_digest(variant)
        assert digest == registry.local_digest(variant)
        digests.add(digest)
    assert len(digests) == len(variants) + 1


# ---------------------------------------------------------------- relaying


def test_relayed_registration_belongs_to_the_signer(world: World) -> None:
    alice, relayer = world.alice, world.relayer
    assert alice.registry.nonce(alice.address) == 0
    signed = signed_by(world, alice, registration(category=203, grade=2))
    asset = asset_id(signed.registration.content_hash)

    receipt = relayer.registry.register_with_signature(signed)

    assert receipt.sender == relayer.address
    assert receipt.events == (signed_event(signed, relayer.address), minted(signed))
    assert alice.registry.asset(asset) == AssetState(
        asset_id=asset,
        registrant=alice.address,
        registered_at=block_time(world, receipt),
        category=203,
        grade=2,
        status=AssetStatus.APPLIED,
        under_objection=False,
        frozen=False,
        metadata_version=1,
        holder=alice.address,
        metadata_hash=signed.registration.metadata_hash,
    )
    assert alice.registry.nonce(alice.address) == 1
    assert alice.registry.nonce(relayer.address) == 0
    assert alice.registry.balance_of(relayer.address) == 0
    assert alice.registry.balance_of(alice.address) == 1


def test_relay_returns_the_asset_id(world: World) -> None:
    signed = signed_by(world, world.alice)
    returned = world.relayer.registry.contract.functions.registerWithSignature(
        signed.as_tuple()
    ).call({"from": world.relayer.address})
    assert returned == asset_id(signed.registration.content_hash)


def test_a_participant_may_relay_for_another(world: World) -> None:
    signed = signed_by(world, world.alice)
    receipt = world.bob.registry.register_with_signature(signed)
    assert receipt.events == (signed_event(signed, world.bob.address), minted(signed))
    assert world.bob.registry.balance_of(world.bob.address) == 0
    assert world.bob.registry.nonce(world.bob.address) == 0


def test_nonce_counts_signed_registrations(world: World) -> None:
    registry = world.alice.registry
    for expected in range(3):
        signed = signed_by(world, world.alice)
        assert signed.nonce == expected
        world.relayer.registry.register_with_signature(signed)
        assert registry.nonce(world.alice.address) == expected + 1
    # a direct registration does not use a nonce
    world.register(world.alice)
    assert registry.nonce(world.alice.address) == 3


# ---------------------------------------------------------------- refusals


def test_expired_signature_is_refused(world: World) -> None:
    deadline = world.now() + 60
    signed = world.alice.registry.sign(registration(), key(world.alice), deadline=deadline)
    late = deadline + 1
    world.chain.set_time(late)
    with reverts("SignatureExpired", deadline=deadline, timestamp=late):
        world.relayer.registry.register_with_signature(signed)
    assert world.alice.registry.nonce(world.alice.address) == 0
    assert world.alice.registry.asset_by_hash(signed.registration.content_hash) is None


def test_long_expired_signature_is_refused(world: World) -> None:
    item = registration()
    signed = world.alice.registry.sign(item, key(world.alice), deadline=1)
    now = world.now() + 10
    world.chain.set_time(now)
    with reverts("SignatureExpired", deadline=1, timestamp=now):
        world.relayer.registry.register_with_signature(signed)


def test_replayed_signature_is_refused(world: World) -> None:
    signed = signed_by(world, world.alice)
    world.relayer.registry.register_with_signature(signed)
    with reverts("InvalidAccountNonce", account=world.alice.address, currentNonce=1):
        world.relayer.registry.register_with_signature(signed)
    with reverts("InvalidAccountNonce", account=world.alice.address, currentNonce=1):
        world.bob.registry.register_with_signature(signed)
    assert world.alice.registry.nonce(world.alice.address) == 1


def test_future_nonce_is_refused(world: World) -> None:
    item = registration()
    signed = world.alice.registry.sign(item, key(world.alice), deadline=world.now() + HOUR, nonce=1)
    with reverts("InvalidAccountNonce", account=world.alice.address, currentNonce=0):
        world.relayer.registry.register_with_signature(signed)


def test_signature_by_another_key_is_refused(world: World) -> None:
    forged = resigned(world, signed_by(world, world.alice), world.bob)
    with reverts(
        "InvalidRegistrationSignature",
        registrant=world.alice.address,
        recovered=world.bob.address,
    ):
        world.relayer.registry.register_with_signature(forged)
    assert world.alice.registry.nonce(world.alice.address) == 0
    assert world.alice.registry.nonce(world.bob.address) == 0


def _malformed(signature: bytes) -> dict[str, bytes]:
    r, s, v = signature[:32], signature[32:64], signature[64]
    high_s = (SECP256K1_N - int.from_bytes(s, "big")).to_bytes(32, "big")
    return {
        "empty": b"",
        "64-bytes": signature[:64],
        "66-bytes": signature + b"\x00",
        "garbage-65": b"\xff" * 65,
        "zero-65": b"\x00" * 65,
        "v-zero": r + s + b"\x00",
        "high-s-twin": r + high_s + bytes([55 - v]),
    }


@pytest.mark.parametrize(
    "kind", ["empty", "64-bytes", "66-bytes", "garbage-65", "zero-65", "v-zero", "high-s-twin"]
)
def test_malformed_signature_recovers_nobody(world: World, kind: str) -> None:
    signed = signed_by(world, world.alice)
    bad = dataclasses.replace(signed, signature=_malformed(signed.signature)[kind])
    with reverts(
        "InvalidRegistrationSignature", registrant=world.alice.address, recovered=ZERO_ADDRESS
    ):
        world.relayer.registry.register_with_signature(bad)
    # the intact signature still works
    world.relayer.registry.register_with_signature(signed)


def _tamper() -> dict[str, Callable[[SignedRegistration], SignedRegistration]]:
    def field(**changes: object) -> Callable[[SignedRegistration], SignedRegistration]:
        def apply(signed: SignedRegistration) -> SignedRegistration:
            changed = dataclasses.replace(signed.registration, **changes)  # type: ignore[arg-type]
            return dataclasses.replace(signed, registration=changed)

        return apply

    return {
        "content": field(content_hash=sha256("substituted content")),
        "uri": field(metadata_uri="https://attacker.example/meta.json"),
        "metadata-hash": field(metadata_hash=sha256("substituted metadata")),
        "category": field(category=305),
        "grade": field(grade=3),
        "parents": field(parents=(ParentLink(1, Relation.DERIVED_FROM),)),
        "deadline": lambda signed: dataclasses.replace(signed, deadline=signed.deadline + 1),
        "nonce": lambda signed: dataclasses.replace(signed, nonce=signed.nonce + 1),
    }


@pytest.mark.parametrize(
    "what", ["content", "uri", "metadata-hash", "category", "grade", "parents", "deadline", "nonce"]
)
def test_tampered_registration_is_refused(world: World, what: str) -> None:
    signed = signed_by(world, world.alice)
    tampered = _tamper()[what](signed)
    recovered = recovered_from(world, tampered)
    assert recovered != world.alice.address
    with reverts(
        "InvalidRegistrationSignature", registrant=world.alice.address, recovered=recovered
    ):
        world.relayer.registry.register_with_signature(tampered)
    assert world.alice.registry.nonce(world.alice.address) == 0


def test_claiming_another_registrant_is_refused(world: World) -> None:
    signed = signed_by(world, world.alice)
    claimed = dataclasses.replace(signed, registrant=world.bob.address)
    recovered = recovered_from(world, claimed)
    assert recovered not in (world.alice.address, world.bob.address)
    with reverts("InvalidRegistrationSignature", registrant=world.bob.address, recovered=recovered):
        world.relayer.registry.register_with_signature(claimed)


def test_signature_for_another_registry_is_refused(world: World) -> None:
    item = registration()
    deadline = world.now() + HOUR
    elsewhere = sign_registration(
        item,
        signer=key(world.alice),
        nonce=0,
        deadline=deadline,
        chain_id=int(world.w3.eth.chain_id),
        registry=world.deployment.address("LicenseRegistry"),
    )
    recovered = recovered_from(world, elsewhere)
    assert recovered != world.alice.address
    with reverts(
        "InvalidRegistrationSignature", registrant=world.alice.address, recovered=recovered
    ):
        world.relayer.registry.register_with_signature(elsewhere)


def test_signer_must_be_an_active_participant(world: World) -> None:
    signed = signed_by(world, world.stranger)
    with reverts(
        "ParticipantNotActive", account=world.stranger.address, status=ParticipantStatus.NONE
    ):
        world.relayer.registry.register_with_signature(signed)
    assert world.alice.registry.nonce(world.stranger.address) == 0

    world.registrar.registry.suspend_participant(world.alice.address, doc("audit"))
    suspended = signed_by(world, world.alice)
    with reverts(
        "ParticipantNotActive", account=world.alice.address, status=ParticipantStatus.SUSPENDED
    ):
        world.relayer.registry.register_with_signature(suspended)


def test_signed_registration_checks_the_registration(world: World) -> None:
    bad = signed_by(world, world.alice, registration(grade=0))
    with reverts("InvalidGrade", grade=0):
        world.relayer.registry.register_with_signature(bad)
    taken = registration()
    world.register(world.bob, taken)
    duplicate = signed_by(world, world.alice, taken)
    with reverts(
        "AssetAlreadyRegistered",
        assetId=asset_id(taken.content_hash),
        contentHash=taken.content_hash,
        registrant=world.bob.address,
    ):
        world.relayer.registry.register_with_signature(duplicate)


def test_signed_registration_stops_while_paused(world: World) -> None:
    signed = signed_by(world, world.alice)
    world.admin.registry.pause()
    with reverts("EnforcedPause"):
        world.relayer.registry.register_with_signature(signed)
    with reverts("EnforcedPause"):
        world.relayer.registry.register_many_with_signatures([signed])


# ---------------------------------------------------------------- registerManyWithSignatures


def test_register_many_with_signatures_for_two_signers(world: World) -> None:
    relayer = world.relayer
    batch = [signed_by(world, world.alice), signed_by(world, world.bob)]
    returned = relayer.registry.contract.functions.registerManyWithSignatures(
        [item.as_tuple() for item in batch]
    ).call({"from": relayer.address})
    assert list(returned) == [asset_id(item.registration.content_hash) for item in batch]

    receipt = relayer.registry.register_many_with_signatures(batch)

    assert receipt.events == (
        signed_event(batch[0], relayer.address),
        minted(batch[0]),
        signed_event(batch[1], relayer.address),
        minted(batch[1]),
    )
    for signed in batch:
        state = relayer.registry.asset(asset_id(signed.registration.content_hash))
        assert state is not None
        assert state.registrant == signed.registrant
        assert state.holder == signed.registrant
        assert relayer.registry.nonce(signed.registrant) == 1
    assert relayer.registry.balance_of(relayer.address) == 0


def test_register_many_with_signatures_uses_consecutive_nonces(world: World) -> None:
    registry = world.alice.registry
    deadline = world.now() + HOUR
    batch = [
        registry.sign(registration(), key(world.alice), deadline=deadline, nonce=0),
        registry.sign(registration(), key(world.alice), deadline=deadline, nonce=1),
    ]
    receipt = world.relayer.registry.register_many_with_signatures(batch)
    assert [event.registrant for event in receipt.events_of(AssetRegistered)] == [
        world.alice.address,
        world.alice.address,
    ]
    assert registry.nonce(world.alice.address) == 2


def test_register_many_with_signatures_is_all_or_nothing(world: World) -> None:
    good = signed_by(world, world.alice)
    forged = resigned(world, signed_by(world, world.bob), world.erin)
    with reverts(
        "InvalidRegistrationSignature", registrant=world.bob.address, recovered=world.erin.address
    ):
        world.relayer.registry.register_many_with_signatures([good, forged], gas=BATCH_GAS)
    registry = world.alice.registry
    assert registry.asset_by_hash(good.registration.content_hash) is None
    assert registry.asset_by_hash(forged.registration.content_hash) is None
    assert registry.nonce(world.alice.address) == 0
    assert registry.nonce(world.bob.address) == 0


def test_register_many_with_signatures_refuses_a_nonce_used_in_the_batch(world: World) -> None:
    first = signed_by(world, world.alice)
    second = signed_by(world, world.alice)  # same nonce 0, other content
    with reverts("InvalidAccountNonce", account=world.alice.address, currentNonce=1):
        world.relayer.registry.register_many_with_signatures([first, second], gas=BATCH_GAS)
    assert world.alice.registry.nonce(world.alice.address) == 0
    assert world.alice.registry.asset_by_hash(first.registration.content_hash) is None


def test_register_many_with_signatures_refuses_an_empty_list(world: World) -> None:
    with reverts("EmptyRegistrationList"):
        world.relayer.registry.register_many_with_signatures([])
