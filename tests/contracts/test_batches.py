"""Batch anchors, Merkle proofs of their leaves, promotion of a leaf, and dataset-file proofs.

Trees are built in Python (provledger.merkle, OpenZeppelin StandardMerkleTree conventions) and
their proofs checked on-chain by the BatchAnchor with OpenZeppelin MerkleProof. Proof checks
are eth_calls, so even the 1,000-leaf batch costs one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from eth_utils.address import to_checksum_address

from helpers.assertions import reverts
from helpers.builders import registration, sha256, unique_content
from helpers.world import World
from provledger.chain.enums import AssetStatus, Channel, ParticipantStatus
from provledger.chain.events import AssetRegistered, BatchAnchored, LeafPromoted, Transfer
from provledger.chain.ids import asset_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import BatchState
from provledger.hashing import FolderManifest, file_membership_proof, folder_manifest
from provledger.merkle import StandardMerkleTree

ZERO_ADDRESS = to_checksum_address("0x" + "00" * 20)
MANIFEST_URI = "ipfs://bafybatchmanifest/manifest.json"

Proof = tuple[bytes, ...]


def block_time(world: World, receipt: Receipt) -> int:
    """The timestamp of the block that included ``receipt``."""
    return int(world.w3.eth.get_block(receipt.block_number)["timestamp"])


def batch_of(count: int) -> tuple[StandardMerkleTree, list[bytes]]:
    """A batch tree over ``count`` fresh content hashes, and the hashes in leaf order."""
    hashes = [unique_content() for _ in range(count)]
    return StandardMerkleTree.batch(hashes), hashes


def flip_byte(node: bytes, position: int = 7) -> bytes:
    """``node`` with one byte changed."""
    return node[:position] + bytes([node[position] ^ 0x01]) + node[position + 1 :]


# ---------------------------------------------------------------- anchoring


def test_anchor_batch(world: World) -> None:
    tree, _ = batch_of(3)

    receipt = world.alice.anchor.anchor(tree.root, 3, MANIFEST_URI)

    assert receipt.events == (
        BatchAnchored(
            root=tree.root,
            submitter=world.alice.address,
            leaf_count=3,
            manifest_uri=MANIFEST_URI,
        ),
    )
    assert world.stranger.anchor.batch(tree.root) == BatchState(
        root=tree.root,
        submitter=world.alice.address,
        leaf_count=3,
        anchored_at=block_time(world, receipt),
    )


def test_unanchored_root_has_no_batch(world: World) -> None:
    tree, _ = batch_of(2)

    assert world.stranger.anchor.batch(tree.root) is None


def test_stranger_cannot_anchor(world: World) -> None:
    tree, _ = batch_of(2)

    with reverts(
        "ParticipantNotActive", account=world.stranger.address, status=ParticipantStatus.NONE
    ):
        world.stranger.anchor.anchor(tree.root, 2, MANIFEST_URI)


def test_suspended_participant_cannot_anchor(world: World) -> None:
    tree, _ = batch_of(2)
    world.registrar.registry.suspend_participant(world.alice.address, sha256("suspended"))

    with reverts(
        "ParticipantNotActive", account=world.alice.address, status=ParticipantStatus.SUSPENDED
    ):
        world.alice.anchor.anchor(tree.root, 2, MANIFEST_URI)


def test_zero_root_is_refused(world: World) -> None:
    with reverts("ZeroRoot"):
        world.alice.anchor.anchor(b"\x00" * 32, 1, MANIFEST_URI)


def test_empty_batch_is_refused(world: World) -> None:
    tree, _ = batch_of(1)

    with reverts("EmptyBatch"):
        world.alice.anchor.anchor(tree.root, 0, MANIFEST_URI)


def test_root_is_anchored_once(world: World) -> None:
    tree, _ = batch_of(2)
    first = world.alice.anchor.anchor(tree.root, 2, MANIFEST_URI)
    anchored_at = block_time(world, first)

    with reverts(
        "BatchAlreadyAnchored",
        root=tree.root,
        submitter=world.alice.address,
        anchoredAt=anchored_at,
    ):
        world.bob.anchor.anchor(tree.root, 2, "ipfs://another/manifest.json")
    with reverts(
        "BatchAlreadyAnchored",
        root=tree.root,
        submitter=world.alice.address,
        anchoredAt=anchored_at,
    ):
        world.alice.anchor.anchor(tree.root, 2, MANIFEST_URI)


# ---------------------------------------------------------------- proofs


#: Leaf count -> the sorted proof lengths of its leaves (a complete, not perfect, tree).
PROOF_LENGTHS = {1: [0], 2: [1, 1], 3: [1, 2, 2]}


@pytest.mark.parametrize("count", sorted(PROOF_LENGTHS))
def test_every_leaf_of_a_small_batch_proves(world: World, count: int) -> None:
    tree, hashes = batch_of(count)
    world.alice.anchor.anchor(tree.root, count, MANIFEST_URI)
    assert sorted(len(tree.proof(index)) for index in range(count)) == PROOF_LENGTHS[count]

    for index, content in enumerate(hashes):
        assert world.stranger.anchor.is_anchored_leaf(tree.root, content, tree.proof(index)), index
    # a content hash outside the batch does not prove with any leaf's proof
    outsider = unique_content()
    for index in range(count):
        assert not world.stranger.anchor.is_anchored_leaf(tree.root, outsider, tree.proof(index))


def test_sampled_leaves_of_a_thousand_leaf_batch_prove(world: World) -> None:
    tree, hashes = batch_of(1000)
    world.alice.anchor.anchor(tree.root, 1000, MANIFEST_URI)
    lengths = {index: len(tree.proof(index)) for index in range(1000)}
    # a complete tree of 1,000 leaves holds them on two levels: proofs of 9 and 10 siblings
    assert set(lengths.values()) == {9, 10}
    one_of_each_length = {length: index for index, length in lengths.items()}
    sample = sorted({0, 999, *range(0, 1000, 22), *one_of_each_length.values()})
    assert 45 <= len(sample) <= 55
    assert {lengths[index] for index in sample} == {9, 10}

    for index in sample:
        assert world.stranger.anchor.is_anchored_leaf(
            tree.root, hashes[index], tree.proof(index)
        ), index


def test_valid_proof_of_an_unanchored_root_is_false(world: World) -> None:
    tree, hashes = batch_of(3)

    assert not world.stranger.anchor.is_anchored_leaf(tree.root, hashes[0], tree.proof(0))


def _flipped_element(tree: StandardMerkleTree, index: int) -> Proof:
    proof = tree.proof(index)
    return (proof[0], flip_byte(proof[1]), *proof[2:])


def _another_leafs_proof(tree: StandardMerkleTree, index: int) -> Proof:
    other = next(i for i in range(tree.leaf_count) if tree.proof(i) != tree.proof(index))
    return tree.proof(other)


def _missing_element(tree: StandardMerkleTree, index: int) -> Proof:
    return tree.proof(index)[:-1]


def _extra_element(tree: StandardMerkleTree, index: int) -> Proof:
    return (*tree.proof(index), sha256("extra sibling"))


def _first_element_dropped(tree: StandardMerkleTree, index: int) -> Proof:
    return tree.proof(index)[1:]


TAMPERINGS: dict[str, Callable[[StandardMerkleTree, int], Proof]] = {
    "flipped-byte": _flipped_element,
    "another-leafs-proof": _another_leafs_proof,
    "missing-last-element": _missing_element,
    "missing-first-element": _first_element_dropped,
    "extra-element": _extra_element,
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_tampered_proof_is_refused(world: World, tampering: str) -> None:
    tree, hashes = batch_of(5)
    world.alice.anchor.anchor(tree.root, 5, MANIFEST_URI)
    index = max(range(5), key=lambda i: len(tree.proof(i)))
    content = hashes[index]
    assert len(tree.proof(index)) == 3
    assert world.stranger.anchor.is_anchored_leaf(tree.root, content, tree.proof(index))
    proof = TAMPERINGS[tampering](tree, index)
    assert proof != tree.proof(index)

    assert not world.stranger.anchor.is_anchored_leaf(tree.root, content, proof)
    with reverts("InvalidMerkleProof", root=tree.root, contentHash=content):
        world.alice.anchor.promote(tree.root, proof, registration(content_hash=content))


def test_proof_against_the_wrong_root_is_refused(world: World) -> None:
    tree, hashes = batch_of(4)
    other, _ = batch_of(4)
    world.alice.anchor.anchor(tree.root, 4, MANIFEST_URI)
    world.alice.anchor.anchor(other.root, 4, MANIFEST_URI)
    proof = tree.proof(2)

    assert not world.stranger.anchor.is_anchored_leaf(other.root, hashes[2], proof)
    with reverts("InvalidMerkleProof", root=other.root, contentHash=hashes[2]):
        world.alice.anchor.promote(other.root, proof, registration(content_hash=hashes[2]))


# ---------------------------------------------------------------- promotion


def test_submitter_promotes_a_leaf(world: World) -> None:
    tree, hashes = batch_of(3)
    world.alice.anchor.anchor(tree.root, 3, MANIFEST_URI)
    content = hashes[1]
    item = registration(content_hash=content, grade=2, category=101)
    expected_id = asset_id(content)
    anchor_address = world.deployment.address("BatchAnchor")

    receipt = world.alice.anchor.promote(tree.root, tree.proof(1), item)

    assert receipt.events == (
        AssetRegistered(
            asset_id=expected_id,
            registrant=world.alice.address,
            content_hash=content,
            category=item.category,
            grade=item.grade,
            metadata_hash=item.metadata_hash,
            metadata_uri=item.metadata_uri,
            channel=Channel.BATCH,
            submitter=anchor_address,
        ),
        Transfer(from_=ZERO_ADDRESS, to=world.alice.address, token_id=expected_id),
        LeafPromoted(root=tree.root, asset_id=expected_id, content_hash=content),
    )
    state = world.stranger.registry.asset(expected_id)
    assert state is not None
    assert state.registrant == world.alice.address
    assert state.holder == world.alice.address
    assert state.status is AssetStatus.APPLIED
    assert state.grade == 2
    assert state.category == item.category
    assert state.metadata_hash == item.metadata_hash
    assert state.metadata_version == 1
    assert state.registered_at == block_time(world, receipt)


def test_only_the_submitter_promotes(world: World) -> None:
    tree, hashes = batch_of(2)
    world.alice.anchor.anchor(tree.root, 2, MANIFEST_URI)

    with reverts(
        "NotBatchSubmitter",
        root=tree.root,
        caller=world.bob.address,
        submitter=world.alice.address,
    ):
        world.bob.anchor.promote(tree.root, tree.proof(0), registration(content_hash=hashes[0]))


def test_promoting_from_an_unknown_batch(world: World) -> None:
    tree, hashes = batch_of(2)

    with reverts("UnknownBatch", root=tree.root):
        world.alice.anchor.promote(tree.root, tree.proof(0), registration(content_hash=hashes[0]))


def test_a_leaf_is_promoted_once(world: World) -> None:
    tree, hashes = batch_of(2)
    world.alice.anchor.anchor(tree.root, 2, MANIFEST_URI)
    world.alice.anchor.promote(tree.root, tree.proof(0), registration(content_hash=hashes[0]))

    with reverts(
        "AssetAlreadyRegistered",
        assetId=asset_id(hashes[0]),
        contentHash=hashes[0],
        registrant=world.alice.address,
    ):
        world.alice.anchor.promote(tree.root, tree.proof(0), registration(content_hash=hashes[0]))


def test_a_leaf_registered_directly_by_another_cannot_be_promoted(world: World) -> None:
    tree, hashes = batch_of(2)
    world.alice.anchor.anchor(tree.root, 2, MANIFEST_URI)
    world.register(world.bob, content_hash=hashes[1])  # bob claimed it first

    with reverts(
        "AssetAlreadyRegistered",
        assetId=asset_id(hashes[1]),
        contentHash=hashes[1],
        registrant=world.bob.address,
    ):
        world.alice.anchor.promote(tree.root, tree.proof(1), registration(content_hash=hashes[1]))


# ---------------------------------------------------------------- dataset files


def write_dataset(folder: Path, files: dict[str, bytes]) -> FolderManifest:
    """Write ``files`` (relative path -> bytes) under ``folder`` and return its manifest."""
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return folder_manifest(folder)


DATASET = {
    "README.md": b"# city traffic counts\n",
    "data/2024-01.csv": b"sensor,count\nA,10\nB,12\n",
    "data/2024-02.csv": b"sensor,count\nA,11\nB,9\n",
    "schema/columns.json": b'{"sensor": "string", "count": "integer"}',
    "licence.txt": b"terms of use",
}


def test_one_file_of_a_registered_dataset_proves_alone(world: World, tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path / "dataset", DATASET)
    world.register(world.alice, content_hash=manifest.root)

    for entry in manifest.entries:
        proof = file_membership_proof(manifest, entry.path)
        assert world.stranger.anchor.is_dataset_file(
            manifest.root, entry.path, entry.sha256, proof
        ), entry.path
    assert manifest.entry("data/2024-01.csv").sha256 == sha256(DATASET["data/2024-01.csv"])


def test_wrong_file_hash_or_path_does_not_prove(world: World, tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path / "dataset", DATASET)
    world.register(world.alice, content_hash=manifest.root)
    entry = manifest.entry("data/2024-01.csv")
    proof = file_membership_proof(manifest, entry.path)
    assert world.stranger.anchor.is_dataset_file(manifest.root, entry.path, entry.sha256, proof)

    tampered_bytes = sha256(DATASET["data/2024-01.csv"] + b"C,1\n")
    assert not world.stranger.anchor.is_dataset_file(
        manifest.root, entry.path, tampered_bytes, proof
    )
    assert not world.stranger.anchor.is_dataset_file(
        manifest.root, entry.path, flip_byte(entry.sha256), proof
    )
    assert not world.stranger.anchor.is_dataset_file(
        manifest.root, "data/2024-03.csv", entry.sha256, proof
    )
    # another file's hash at this file's path
    other = manifest.entry("data/2024-02.csv")
    assert not world.stranger.anchor.is_dataset_file(manifest.root, entry.path, other.sha256, proof)


def test_unregistered_dataset_root_does_not_prove(world: World, tmp_path: Path) -> None:
    registered = write_dataset(tmp_path / "registered", DATASET)
    world.register(world.alice, content_hash=registered.root)
    unregistered = write_dataset(tmp_path / "unregistered", {**DATASET, "extra.csv": b"x,y\n"})
    assert unregistered.root != registered.root
    entry = unregistered.entry("README.md")
    proof = file_membership_proof(unregistered, entry.path)

    assert not world.stranger.anchor.is_dataset_file(
        unregistered.root, entry.path, entry.sha256, proof
    )
    # anchoring the root as a batch does not register the dataset
    world.alice.anchor.anchor(unregistered.root, len(unregistered.entries), MANIFEST_URI)
    assert not world.stranger.anchor.is_dataset_file(
        unregistered.root, entry.path, entry.sha256, proof
    )


def test_dataset_tree_built_directly(world: World) -> None:
    files = [("part-0.parquet", sha256(b"part 0")), ("part-1.parquet", sha256(b"part 1"))]
    tree = StandardMerkleTree.folder(files)
    single = StandardMerkleTree.folder(files[:1])
    world.register(world.alice, content_hash=tree.root)
    world.register(world.alice, content_hash=single.root)

    for index, (path, digest) in enumerate(files):
        assert world.stranger.anchor.is_dataset_file(tree.root, path, digest, tree.proof(index))
    # a one-file dataset: the root is the leaf, the proof is empty
    assert single.proof(0) == ()
    assert world.stranger.anchor.is_dataset_file(single.root, files[0][0], files[0][1], ())
    # a batch leaf is not a dataset-file leaf: the encodings differ
    batch = StandardMerkleTree.batch([files[0][1]])
    assert batch.root != single.root
