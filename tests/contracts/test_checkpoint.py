"""The Checkpoint contract: chained checkpoints of a source chain's block hashes, witnesses'
co-signatures on chain, and every refusal with its custom error and arguments.

The contract is standalone and lives on the target chain; here it is deployed beside the
World's registry (any chain serves as a target) once per test, inside the test's snapshot.
Source chains are named by id and their blocks made up, except where a real block-hash tree over
the test chain's own blocks is the point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pytest
from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from helpers.assertions import failure_of, reverts
from helpers.world import SPARE_INDICES, World
from provledger.chain.accounts import dev_account
from provledger.chain.calls import decode_call
from provledger.chain.client import CHECKPOINTER_ROLE, CheckpointClient, Provledger
from provledger.chain.deploy import deploy_checkpoint
from provledger.chain.events import (
    CheckpointSubmitted,
    CheckpointWitnessed,
    RoleGranted,
    RoleRevoked,
)
from provledger.chain.explain import explain
from provledger.chain.ids import role_id
from provledger.chain.reverts import ContractRevertError
from provledger.chain.transactions import Sender
from provledger.chain.types import CheckpointHead
from provledger.merkle import StandardMerkleTree
from provledger.services.checkpoints import BlockHashTree, block_leaf, checkpoint_commitment

SOURCE: Final = 31_337_001
OTHER_SOURCE: Final = 5
ZERO: Final = b"\x00" * 32
MAX_UINT64: Final = 2**64 - 1
BLOCK_LEAF_TYPES: Final = ("uint256", "bytes32")


def block_hash(number: int, history: str = "a") -> bytes:
    """A made-up hash of source block ``number`` in the source history ``history``."""
    return keccak(f"{history}:{number}".encode())


def tree_of(first: int, last: int, history: str = "a") -> StandardMerkleTree:
    """The block-hash tree of made-up source blocks ``first..last``."""
    leaves = [(n, block_hash(n, history)) for n in range(first, last + 1)]
    return StandardMerkleTree.of(leaves, BLOCK_LEAF_TYPES)


def commitment(from_block: int, to_block: int, to_block_hash: bytes, root: bytes) -> bytes:
    """``keccak256(abi.encode(uint64, uint64, bytes32, bytes32))``, as the contract stores."""
    encoded = abi_encode(
        ["uint64", "uint64", "bytes32", "bytes32"], [from_block, to_block, to_block_hash, root]
    )
    return keccak(encoded)


@dataclass
class Target:
    """A Checkpoint contract and the accounts that use it."""

    world: World
    admin: CheckpointClient
    """The deployer: DEFAULT_ADMIN_ROLE and CHECKPOINTER_ROLE."""
    checkpointer: CheckpointClient
    """Granted CHECKPOINTER_ROLE at deployment."""
    checkpointer_address: ChecksumAddress

    def as_(self, who: Provledger) -> CheckpointClient:
        """The contract seen by ``who`` of the World."""
        return CheckpointClient(self.world.w3, self.admin.address, who.sender)

    def submit(
        self, first: int, last: int, parent: bytes = ZERO, *, source: int = SOURCE
    ) -> CheckpointSubmitted:
        """Checkpoint made-up blocks ``first..last`` of ``source`` as the checkpointer."""
        tree = tree_of(first, last)
        receipt = self.checkpointer.submit(source, first, last, parent, block_hash(last), tree.root)
        return receipt.event(CheckpointSubmitted)


@pytest.fixture
def target(world: World) -> Target:
    """A Checkpoint contract deployed by the World's admin, with one more checkpointer."""
    admin = world.admin.sender
    assert admin is not None
    extra = dev_account(SPARE_INDICES[0])
    address = deploy_checkpoint(world.w3, admin, checkpointers=[extra.address])
    return Target(
        world=world,
        admin=CheckpointClient(world.w3, address, admin),
        checkpointer=CheckpointClient(world.w3, address, Sender(world.w3, extra)),
        checkpointer_address=extra.address,
    )


# ---------------------------------------------------------------- deployment and roles


def test_the_deployer_administers_and_checkpoints_and_the_listed_accounts_checkpoint(
    target: Target,
) -> None:
    world, contract = target.world, target.admin.contract
    admin = world.admin.address
    assert bytes(contract.functions.CHECKPOINTER_ROLE().call()) == keccak(b"CHECKPOINTER_ROLE")
    assert role_id(CHECKPOINTER_ROLE) == keccak(b"CHECKPOINTER_ROLE")
    assert contract.functions.hasRole(ZERO, admin).call()
    assert target.admin.is_checkpointer(admin)
    assert target.admin.is_checkpointer(target.checkpointer_address)
    assert not contract.functions.hasRole(ZERO, target.checkpointer_address).call()
    assert not target.admin.is_checkpointer(world.stranger.address)
    # The deployment's own receipt is undecoded, so read the grants from the contract's logs.
    logs = contract.events.RoleGranted().get_logs(from_block=0)
    granted = [(bytes(log["args"]["role"]), log["args"]["account"]) for log in logs]
    assert granted == [
        (ZERO, admin),
        (keccak(b"CHECKPOINTER_ROLE"), admin),
        (keccak(b"CHECKPOINTER_ROLE"), target.checkpointer_address),
    ]


def test_a_stranger_may_not_submit(target: Target) -> None:
    stranger = target.world.stranger
    tree = tree_of(1, 4)
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=stranger.address,
        neededRole=keccak(b"CHECKPOINTER_ROLE"),
    ):
        target.as_(stranger).submit(SOURCE, 1, 4, ZERO, block_hash(4), tree.root)
    assert target.admin.head_of(SOURCE) == CheckpointHead(0, 0, ZERO)


def test_a_granted_checkpointer_submits_and_a_revoked_one_may_not(target: Target) -> None:
    carol = target.world.carol
    receipt = target.admin.grant_checkpointer(carol.address)
    assert receipt.events == (
        RoleGranted(
            role=keccak(b"CHECKPOINTER_ROLE"),
            account=carol.address,
            sender=target.world.admin.address,
        ),
    )
    tree = tree_of(1, 2)
    target.as_(carol).submit(SOURCE, 1, 2, ZERO, block_hash(2), tree.root)
    assert target.admin.head_of(SOURCE).sequence == 1
    revoked = target.admin.revoke_checkpointer(carol.address)
    assert revoked.events == (
        RoleRevoked(
            role=keccak(b"CHECKPOINTER_ROLE"),
            account=carol.address,
            sender=target.world.admin.address,
        ),
    )
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=carol.address,
        neededRole=keccak(b"CHECKPOINTER_ROLE"),
    ):
        target.as_(carol).submit(SOURCE, 3, 3, block_hash(2), block_hash(3), tree.root)


def test_only_an_admin_grants_the_role(target: Target) -> None:
    checkpointer = target.checkpointer
    with reverts(
        "AccessControlUnauthorizedAccount", account=target.checkpointer_address, neededRole=ZERO
    ):
        checkpointer.grant_checkpointer(target.world.stranger.address)


# ---------------------------------------------------------------- no checkpoint yet


def test_a_source_chain_without_checkpoints_has_an_empty_head(target: Target) -> None:
    assert target.admin.head_of(SOURCE) == CheckpointHead(
        sequence=0, to_block=0, to_block_hash=ZERO
    )
    assert target.admin.checkpoint_of(SOURCE, 0) == ZERO
    assert target.admin.checkpoint_of(SOURCE, 1) == ZERO


# ---------------------------------------------------------------- submitting


def test_the_first_checkpoint_starts_anywhere_and_its_parent_is_not_checked(
    target: Target,
) -> None:
    tree = tree_of(1_000, 1_255)
    parent = b"\x5a" * 32  # whatever it is: nothing to check it against yet
    sequence = target.checkpointer.contract.functions.submit(
        SOURCE, 1_000, 1_255, parent, block_hash(1_255), tree.root
    ).call({"from": target.checkpointer_address})
    assert sequence == 1

    receipt = target.checkpointer.submit(SOURCE, 1_000, 1_255, parent, block_hash(1_255), tree.root)

    assert receipt.events == (
        CheckpointSubmitted(
            source_chain_id=SOURCE,
            sequence=1,
            from_block=1_000,
            to_block=1_255,
            to_block_hash=block_hash(1_255),
            root=tree.root,
            submitter=target.checkpointer_address,
        ),
    )
    assert target.admin.head_of(SOURCE) == CheckpointHead(1, 1_255, block_hash(1_255))
    assert target.admin.checkpoint_of(SOURCE, 1) == commitment(
        1_000, 1_255, block_hash(1_255), tree.root
    )
    assert target.admin.checkpoint_of(SOURCE, 2) == ZERO


def test_a_later_checkpoint_continues_from_the_head(target: Target) -> None:
    first = target.submit(10, 20)
    tree = tree_of(21, 30)
    parent = first.to_block_hash

    receipt = target.admin.submit(SOURCE, 21, 30, parent, block_hash(30), tree.root)

    assert receipt.events == (
        CheckpointSubmitted(
            source_chain_id=SOURCE,
            sequence=2,
            from_block=21,
            to_block=30,
            to_block_hash=block_hash(30),
            root=tree.root,
            submitter=target.world.admin.address,
        ),
    )
    assert target.admin.head_of(SOURCE) == CheckpointHead(2, 30, block_hash(30))
    assert target.admin.checkpoint_of(SOURCE, 1) == commitment(
        10, 20, block_hash(20), tree_of(10, 20).root
    )
    assert target.admin.checkpoint_of(SOURCE, 2) == commitment(21, 30, block_hash(30), tree.root)


def test_views_read_at_a_block(target: Target) -> None:
    target.submit(10, 20)
    before = target.world.w3.eth.block_number
    target.submit(21, 21, block_hash(20))

    assert target.admin.head_of(SOURCE, block=before) == CheckpointHead(1, 20, block_hash(20))
    assert target.admin.checkpoint_of(SOURCE, 2, block=before) == ZERO
    assert target.admin.head_of(SOURCE) == CheckpointHead(2, 21, block_hash(21))


def test_one_block_is_a_checkpoint_whose_root_is_its_leaf(target: Target) -> None:
    tree = tree_of(7, 7)
    assert tree.root == keccak(keccak(abi_encode(["uint256", "bytes32"], [7, block_hash(7)])))

    event = target.submit(7, 7)

    assert (event.sequence, event.from_block, event.to_block, event.root) == (1, 7, 7, tree.root)
    assert target.admin.head_of(SOURCE) == CheckpointHead(1, 7, block_hash(7))


def test_source_chains_are_checkpointed_apart(target: Target) -> None:
    target.submit(100, 199)
    target.submit(200, 299, block_hash(199))

    other = target.submit(3, 4, source=OTHER_SOURCE)

    assert (other.source_chain_id, other.sequence) == (OTHER_SOURCE, 1)
    assert target.admin.head_of(OTHER_SOURCE) == CheckpointHead(1, 4, block_hash(4))
    assert target.admin.head_of(SOURCE) == CheckpointHead(2, 299, block_hash(299))
    assert target.admin.checkpoint_of(OTHER_SOURCE, 2) == ZERO


def test_the_last_uint64_block_ends_the_source_chains_checkpoints(target: Target) -> None:
    target.submit(MAX_UINT64 - 1, MAX_UINT64)
    tree = tree_of(1, 1)

    # No block follows: every next checkpoint covers blocks already checkpointed.
    with reverts(
        "BlocksAlreadyCheckpointed",
        sourceChainId=SOURCE,
        fromBlock=MAX_UINT64,
        checkpointedTo=MAX_UINT64,
    ):
        target.admin.submit(SOURCE, MAX_UINT64, MAX_UINT64, block_hash(MAX_UINT64), ZERO, tree.root)


def test_a_checkpoint_of_the_chains_own_blocks(target: Target) -> None:
    """A real tree: the test chain's own blocks, checkpointed as a source chain."""
    w3 = target.world.w3
    last = w3.eth.block_number
    first = max(1, last - 15)
    hashes = {n: bytes(w3.eth.get_block(n)["hash"]) for n in range(first - 1, last + 1)}
    tree = StandardMerkleTree.of([(n, hashes[n]) for n in range(first, last + 1)], BLOCK_LEAF_TYPES)
    chain_id = int(w3.eth.chain_id)

    receipt = target.admin.submit(chain_id, first, last, hashes[first - 1], hashes[last], tree.root)

    event = receipt.event(CheckpointSubmitted)
    assert (event.from_block, event.to_block, event.to_block_hash) == (first, last, hashes[last])
    assert target.admin.checkpoint_of(chain_id, 1) == commitment(
        first, last, hashes[last], tree.root
    )


def test_the_python_mirrors_agree_with_the_contract(target: Target) -> None:
    """provledger.services.checkpoints computes the leaf, the tree and the commitment the
    contract keeps."""
    tree = BlockHashTree.of(40, [block_hash(n) for n in range(40, 45)])
    assert block_leaf(42, block_hash(42)) == keccak(
        keccak(abi_encode(["uint256", "bytes32"], [42, block_hash(42)]))
    )
    assert tree.root == tree_of(40, 44).root

    event = target.submit(40, 44)

    stored = target.admin.checkpoint_of(SOURCE, event.sequence)
    assert stored == checkpoint_commitment(40, 44, block_hash(44), tree.root)
    assert stored == commitment(40, 44, block_hash(44), event.root)


# ---------------------------------------------------------------- refused checkpoints


@pytest.mark.parametrize("existing", [False, True], ids=["first", "later"])
def test_an_empty_range_is_refused(target: Target, existing: bool) -> None:
    if existing:
        target.submit(1, 9)
    with reverts("EmptyCheckpoint", fromBlock=12, toBlock=11):
        target.admin.submit(SOURCE, 12, 11, block_hash(9), block_hash(11), tree_of(1, 1).root)


@pytest.mark.parametrize("existing", [False, True], ids=["first", "later"])
def test_a_zero_root_is_refused(target: Target, existing: bool) -> None:
    if existing:
        target.submit(1, 9)
    with reverts("ZeroRoot"):
        target.admin.submit(SOURCE, 10, 11, block_hash(9), block_hash(11), ZERO)


@pytest.mark.parametrize(
    ("from_block", "to_block"),
    [(20, 25), (15, 30), (10, 20), (1, 5)],
    ids=["starts-at-the-head", "overlaps", "again", "before"],
)
def test_blocks_already_checkpointed_are_refused(
    target: Target, from_block: int, to_block: int
) -> None:
    target.submit(10, 20)
    tree = tree_of(from_block, to_block)
    with reverts(
        "BlocksAlreadyCheckpointed", sourceChainId=SOURCE, fromBlock=from_block, checkpointedTo=20
    ):
        target.admin.submit(
            SOURCE, from_block, to_block, block_hash(20), block_hash(to_block), tree.root
        )
    assert target.admin.head_of(SOURCE) == CheckpointHead(1, 20, block_hash(20))
    assert target.admin.checkpoint_of(SOURCE, 2) == ZERO


def test_a_gap_is_refused_as_out_of_order(target: Target) -> None:
    target.submit(10, 20)
    tree = tree_of(22, 30)
    with reverts("CheckpointOutOfOrder", sourceChainId=SOURCE, expectedFrom=21, fromBlock=22):
        target.admin.submit(SOURCE, 22, 30, block_hash(20), block_hash(30), tree.root)
    assert target.admin.head_of(SOURCE).sequence == 1


def test_a_rewritten_history_is_refused(target: Target) -> None:
    target.submit(10, 20)
    rewritten = tree_of(21, 30, history="b")
    with reverts(
        "HistoryMismatch",
        sourceChainId=SOURCE,
        expectedParent=block_hash(20),
        parentHash=block_hash(20, history="b"),
    ):
        target.admin.submit(
            SOURCE, 21, 30, block_hash(20, "b"), block_hash(30, "b"), rewritten.root
        )
    assert target.admin.head_of(SOURCE) == CheckpointHead(1, 20, block_hash(20))


def test_a_refused_transaction_is_decoded_from_its_mined_receipt(target: Target) -> None:
    """Sent with a gas limit, so not estimated: it is mined, fails, and is replayed."""
    target.submit(10, 20)
    data = target.admin.encode(
        "submit", SOURCE, 22, 30, block_hash(20), block_hash(30), tree_of(22, 30).root
    )
    sender = target.admin.sender
    assert sender is not None
    with reverts("CheckpointOutOfOrder", sourceChainId=SOURCE, expectedFrom=21, fromBlock=22):
        sender.send(target.admin.address, data, gas=200_000)


# ---------------------------------------------------------------- witnesses


def test_anyone_witnesses_a_checkpoint_by_its_commitment(target: Target) -> None:
    event = target.submit(10, 20)
    stored = commitment(10, 20, block_hash(20), event.root)
    bob, stranger = target.world.bob, target.world.stranger

    first = target.as_(bob).witness(SOURCE, 1, stored)
    second = target.as_(stranger).witness(SOURCE, 1, stored)
    again = target.as_(bob).witness(SOURCE, 1, stored)

    assert first.events == (CheckpointWitnessed(SOURCE, 1, bob.address),)
    assert second.events == (CheckpointWitnessed(SOURCE, 1, stranger.address),)
    # Co-signing again is harmless: one more event, nothing stored.
    assert again.events == (CheckpointWitnessed(SOURCE, 1, bob.address),)
    assert target.admin.checkpoint_of(SOURCE, 1) == stored


def test_a_later_checkpoint_is_witnessed_by_its_own_commitment(target: Target) -> None:
    one = target.submit(10, 20)
    two = target.submit(21, 30, one.to_block_hash)
    bob = target.as_(target.world.bob)
    first = commitment(10, 20, block_hash(20), one.root)
    with reverts(
        "CommitmentMismatch",
        sourceChainId=SOURCE,
        sequence=2,
        expected=commitment(21, 30, block_hash(30), two.root),
        commitment=first,
    ):
        bob.witness(SOURCE, 2, first)
    receipt = bob.witness(SOURCE, 2, commitment(21, 30, block_hash(30), two.root))
    assert receipt.events == (CheckpointWitnessed(SOURCE, 2, target.world.bob.address),)


def test_a_wrong_commitment_is_refused(target: Target) -> None:
    event = target.submit(10, 20)
    stored = commitment(10, 20, block_hash(20), event.root)
    # What a witness that saw another block 20 would name.
    seen = commitment(10, 20, block_hash(20, "b"), event.root)
    with reverts(
        "CommitmentMismatch", sourceChainId=SOURCE, sequence=1, expected=stored, commitment=seen
    ):
        target.as_(target.world.bob).witness(SOURCE, 1, seen)


@pytest.mark.parametrize(
    ("source", "sequence"),
    [(SOURCE, 0), (SOURCE, 2), (OTHER_SOURCE, 1)],
    ids=["sequence-0", "beyond-the-head", "other-source-chain"],
)
def test_an_unknown_checkpoint_is_refused(target: Target, source: int, sequence: int) -> None:
    event = target.submit(10, 20)
    stored = commitment(10, 20, block_hash(20), event.root)
    with reverts("UnknownCheckpoint", sourceChainId=source, sequence=sequence):
        target.as_(target.world.bob).witness(source, sequence, stored)


# ---------------------------------------------------------------- reverts in words


def _words(target: Target, who: Provledger, function: str, *args: object) -> str:
    """The refusal of ``function(*args)`` sent by ``who``, as :func:`explain` words it."""
    client = target.as_(who)
    error = failure_of(lambda: getattr(client, function)(*args))
    assert isinstance(error, ContractRevertError)
    data = HexBytes(client.encode(function, *args))
    call = decode_call(who.address, client.address, bytes(data), {})
    return explain(error, call)


def test_the_refusals_are_explained_in_words(target: Target) -> None:
    world, admin = target.world, target.world.admin
    event = target.submit(10, 20)
    root = event.root
    stored = commitment(10, 20, block_hash(20), root)
    zero = f"0x{'00' * 32}"

    assert _words(target, admin, "submit", SOURCE, 5, 4, ZERO, ZERO, root) == (
        "a checkpoint covers at least one block: block 4 is before block 5 [EmptyCheckpoint]"
    )
    assert _words(target, admin, "submit", SOURCE, 21, 22, ZERO, ZERO, ZERO) == (
        "the checkpoint root is zero [ZeroRoot]"
    )
    assert _words(target, admin, "submit", SOURCE, 15, 22, ZERO, ZERO, root) == (
        f"block 15 of chain {SOURCE} is in a checkpoint already (they reach block 20): the next "
        "checkpoint starts at block 21 [BlocksAlreadyCheckpointed]"
    )
    assert _words(target, admin, "submit", SOURCE, 23, 24, ZERO, ZERO, root) == (
        f"the next checkpoint of chain {SOURCE} starts at block 21, not at block 23 "
        "[CheckpointOutOfOrder]"
    )
    assert _words(target, admin, "submit", SOURCE, 21, 24, ZERO, ZERO, root) == (
        f"the parent hash {zero} is not 0x{block_hash(20).hex()}, the hash of the last "
        f"checkpointed block of chain {SOURCE}: the source chain's history is not the one "
        "checkpointed [HistoryMismatch]"
    )
    assert _words(target, world.bob, "witness", SOURCE, 2, stored) == (
        f"chain {SOURCE} has no checkpoint #2 [UnknownCheckpoint]"
    )
    assert _words(target, world.bob, "witness", SOURCE, 1, ZERO) == (
        f"checkpoint #1 of chain {SOURCE} commits to 0x{stored.hex()}, not {zero}: the blocks "
        "witnessed are not the blocks checkpointed [CommitmentMismatch]"
    )
    assert _words(target, world.stranger, "submit", SOURCE, 21, 22, ZERO, ZERO, root) == (
        f"you ({world.stranger.address}) lack CHECKPOINTER_ROLE: the Checkpoint contract's "
        "admin (DEFAULT_ADMIN_ROLE there) grants it [AccessControlUnauthorizedAccount]"
    )
