"""The block-hash tree and the witnesses' co-signatures: every block's path leads to the root
under OpenZeppelin's processProof, the tree is the one @openzeppelin/merkle-tree builds, the
commitment is the contract's, and a co-signature holds for exactly the checkpoint and venue it
was given for (the signature is the one a node's eth_signTypedData_v4 gives)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from helpers.checkpointing import SOURCE_CHAIN_ID, TARGET_CHAIN_ID, WITNESS, TwoChains
from helpers.ozoracle import oz_jobs
from provledger.chain.accounts import dev_account
from provledger.merkle import process_proof
from provledger.services.checkpoints import (
    BLOCK_LEAF_TYPES,
    BlockHashTree,
    Checkpoint,
    CheckpointVenue,
    Cosignature,
    MalformedCosignatureError,
    block_leaf,
    checkpoint_commitment,
    cosign,
)

SIZES = (1, 2, 3, 256)


def hashes(count: int, seed: int = 0) -> list[bytes]:
    """``count`` made-up block hashes."""
    return [keccak(f"block {seed} {number}".encode()) for number in range(count)]


@pytest.mark.parametrize("size", SIZES)
def test_every_block_path_leads_to_the_root(size: int) -> None:
    first = 1000
    tree = BlockHashTree.of(first, hashes(size))
    assert tree.last == first + size - 1
    for number in range(first, first + size):
        leaf = block_leaf(number, tree.hash_of(number))
        assert process_proof(leaf, tree.path(number)) == tree.root
        # the path of one block does not prove another block, nor another hash
        if size > 1:
            other = first if number != first else first + 1
            assert process_proof(block_leaf(other, tree.hash_of(number)), tree.path(number)) != (
                tree.root
            )
    if size == 1:
        assert tree.root == block_leaf(first, tree.hashes[0])
        assert tree.path(first) == ()


def test_the_tree_is_the_one_openzeppelin_builds() -> None:
    jobs = []
    trees = []
    for size in SIZES:
        tree = BlockHashTree.of(7, hashes(size, seed=size))
        trees.append(tree)
        values = [[str(7 + i), "0x" + item.hex()] for i, item in enumerate(tree.hashes)]
        jobs.append({"op": "build", "types": list(BLOCK_LEAF_TYPES), "values": values})
    for tree, result in zip(trees, oz_jobs(jobs), strict=True):
        assert result["root"] == "0x" + tree.root.hex()
        paths = [["0x" + node.hex() for node in tree.path(n)] for n in range(7, tree.last + 1)]
        assert result["proofsByValue"] == paths


def test_a_leaf_is_the_double_hash_of_the_abi_encoded_number_and_hash() -> None:
    block_hash = keccak(b"a block")
    encoded = abi_encode(["uint256", "bytes32"], [42, block_hash])
    assert block_leaf(42, block_hash) == keccak(keccak(encoded))


def test_the_commitment_is_the_hash_of_the_abi_encoded_fields() -> None:
    to_hash, root = keccak(b"to"), keccak(b"root")
    encoded = abi_encode(["uint64", "uint64", "bytes32", "bytes32"], [5, 9, to_hash, root])
    assert checkpoint_commitment(5, 9, to_hash, root) == keccak(encoded)
    checkpoint = Checkpoint(SOURCE_CHAIN_ID, 2, 5, 9, to_hash, root)
    assert checkpoint.commitment == keccak(encoded)


def test_blocks_outside_the_tree_and_an_empty_tree_are_refused() -> None:
    tree = BlockHashTree.of(10, hashes(3))
    for number in (9, 13):
        with pytest.raises(ValueError, match=f"block {number} is not in 10..12"):
            tree.path(number)
    with pytest.raises(ValueError, match="at least one block"):
        BlockHashTree.of(10, [])


CHECKPOINT = Checkpoint(SOURCE_CHAIN_ID, 3, 17, 32, keccak(b"block 32"), keccak(b"root"))
VENUE = CheckpointVenue(TARGET_CHAIN_ID, dev_account(3).address)


def test_a_co_signature_round_trips_and_recovers_to_its_witness() -> None:
    cosignature = cosign(CHECKPOINT, VENUE, WITNESS)
    assert cosignature.witness == WITNESS.address
    assert len(cosignature.signature) == 65
    assert cosignature.signature[64] in (27, 28)
    assert cosignature.holds(CHECKPOINT, VENUE)
    assert cosignature.signer(CHECKPOINT, VENUE) == WITNESS.address
    data = cosignature.to_json()
    assert data == {"witness": WITNESS.address, "signature": "0x" + cosignature.signature.hex()}
    assert Cosignature.parse(data) == cosignature


OTHER_FIELDS: list[dict[str, Any]] = [
    {"source_chain_id": 1},
    {"sequence": 4},
    {"from_block": 16},
    {"to_block": 33},
    {"to_block_hash": keccak(b"block 33")},
    {"root": keccak(b"another root")},
]


@pytest.mark.parametrize("change", OTHER_FIELDS, ids=lambda change: next(iter(change)))
def test_a_signature_over_another_checkpoint_does_not_hold(change: dict[str, Any]) -> None:
    cosignature = cosign(CHECKPOINT, VENUE, WITNESS)
    other = dataclasses.replace(CHECKPOINT, **change)
    assert not cosignature.holds(other, VENUE)
    assert cosignature.holds(CHECKPOINT, VENUE)


def test_a_signature_for_another_venue_or_witness_does_not_hold() -> None:
    cosignature = cosign(CHECKPOINT, VENUE, WITNESS)
    assert not cosignature.holds(CHECKPOINT, dataclasses.replace(VENUE, chain_id=1))
    assert not cosignature.holds(CHECKPOINT, dataclasses.replace(VENUE, contract=WITNESS.address))
    claimed = Cosignature(dev_account(8).address, cosignature.signature)
    assert not claimed.holds(CHECKPOINT, VENUE)
    broken = Cosignature(WITNESS.address, cosignature.signature[:64] + b"\x05")
    assert broken.signer(CHECKPOINT, VENUE) is None
    assert not broken.holds(CHECKPOINT, VENUE)


@pytest.mark.parametrize(
    ("data", "where", "reason"),
    [
        ([], "co-signature", "must be an object"),
        ({"signature": "0x" + "00" * 65}, "co-signature.witness", "must be a 0x-hex string"),
        (
            {"witness": WITNESS.address, "signature": "0x1234"},
            "co-signature.signature",
            "must be 0x and 130 hex digits",
        ),
    ],
)
def test_a_malformed_co_signature_is_refused(data: object, where: str, reason: str) -> None:
    with pytest.raises(MalformedCosignatureError) as malformed:
        Cosignature.parse(data)
    assert (malformed.value.where, malformed.value.reason) == (where, reason)


def test_the_signature_is_the_one_a_node_gives_for_the_typed_data(chains: TwoChains) -> None:
    # anvil signs EIP-712 typed data with its unlocked dev accounts: an implementation other
    # than eth-account's, over the same message.
    typed = CHECKPOINT.typed_data(VENUE)
    message = {
        **typed,
        "message": {
            **typed["message"],
            "toBlockHash": "0x" + CHECKPOINT.to_block_hash.hex(),
            "root": "0x" + CHECKPOINT.root.hex(),
        },
    }
    answer = chains.target.provider.make_request(
        "eth_signTypedData_v4",  # type: ignore[arg-type]
        [WITNESS.address, message],
    )
    assert "result" in answer, answer
    assert bytes(HexBytes(answer["result"])) == cosign(CHECKPOINT, VENUE, WITNESS).signature
