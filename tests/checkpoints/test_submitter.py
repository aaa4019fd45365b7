"""The checkpointer on two anvil chains: checkpoints on schedule (N final blocks, T minutes), a
backlog in parts, a target-chain reorg answered by submitting again, a rewritten source history
refused with nothing submitted, and every root the tree of the node's block hashes."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hexbytes import HexBytes

from helpers.checkpointing import (
    CHECKPOINTER,
    FINALITY,
    SOURCE_CHAIN_ID,
    STRANGER,
    TwoChains,
)
from provledger.chain.client import CheckpointClient
from provledger.chain.connection import DevChain
from provledger.chain.deploy import deploy_checkpoint
from provledger.chain.deployments import Deployment
from provledger.chain.events import CheckpointSubmitted
from provledger.chain.ids import role_id
from provledger.chain.reverts import ContractRevertError
from provledger.chain.transactions import Sender
from provledger.chain.types import CheckpointHead
from provledger.services.checkpoints import (
    Checkpoint,
    Checkpointer,
    SameChainError,
    Schedule,
    SourceHistoryRewrittenError,
    Submitted,
    default_start_block,
)
from provledger.services.checkpoints.blocks import MissingBlockError, read_headers
from provledger.services.checkpoints.target import NotCheckpointContractError, open_checkpoint


class Clock:
    """A clock the test moves (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def assert_submitted(chains: TwoChains, client: CheckpointClient, done: Submitted) -> None:
    """``done`` is on the target chain as its event says, over the source node's blocks."""
    point = done.checkpoint
    tree = chains.tree(point.from_block, point.to_block)
    parent = bytes(chains.source.eth.get_block(point.from_block - 1)["hash"])
    assert point.root == tree.root
    assert point.to_block_hash == tree.hash_of(point.to_block)
    assert done.parent_hash == parent
    assert done.receipt.event(CheckpointSubmitted) == CheckpointSubmitted(
        source_chain_id=SOURCE_CHAIN_ID,
        sequence=point.sequence,
        from_block=point.from_block,
        to_block=point.to_block,
        to_block_hash=point.to_block_hash,
        root=point.root,
        submitter=CHECKPOINTER.address,
    )
    assert client.checkpoint_of(SOURCE_CHAIN_ID, point.sequence) == point.commitment


def test_a_checkpoint_is_due_once_n_final_blocks_are_new(chains: TwoChains) -> None:
    client = chains.deploy()
    start = chains.source_head() + 1
    checkpointer = chains.checkpointer(client, start_block=start)
    chains.mine_source(FINALITY + 7)  # 7 final blocks: one short

    waiting = checkpointer.run_pass()
    assert waiting.due is None
    assert waiting.submitted == ()
    assert waiting.outlook.head == CheckpointHead(0, 0, b"\0" * 32)
    assert (waiting.outlook.next_block, waiting.outlook.final_block) == (start, start + 6)
    assert waiting.outlook.new_blocks == 7

    chains.mine_source(1)
    first = checkpointer.run_pass()
    assert first.due == "8 final blocks are new"
    (done,) = first.submitted
    assert done.checkpoint == Checkpoint(
        SOURCE_CHAIN_ID,
        1,
        start,
        start + 7,
        chains.tree(start, start + 7).hash_of(start + 7),
        chains.tree(start, start + 7).root,
    )
    assert done.remaining == 0
    assert_submitted(chains, client, done)
    assert client.head_of(SOURCE_CHAIN_ID) == CheckpointHead(
        1, start + 7, done.checkpoint.to_block_hash
    )

    chains.mine_source(8)
    (second,) = checkpointer.run_pass().submitted
    assert (second.checkpoint.sequence, second.checkpoint.from_block) == (2, start + 8)
    assert second.checkpoint.to_block == start + 15
    assert second.parent_hash == done.checkpoint.to_block_hash
    assert_submitted(chains, client, second)
    assert checkpointer.run_pass().due is None  # nothing new


def test_after_t_minutes_one_new_final_block_is_enough(chains: TwoChains) -> None:
    client = chains.deploy()
    clock = Clock()
    checkpointer = chains.checkpointer(
        client, schedule=Schedule(blocks=100, minutes=2, max_blocks=64), clock=clock
    )
    start = checkpointer.start_block
    chains.mine_source(FINALITY + 3)
    clock.now += 119.9
    assert checkpointer.run_pass().due is None  # 3 blocks, 2 minutes not yet over

    clock.now += 0.1
    report = checkpointer.run_pass()
    assert report.due == "2.0 minutes passed since the last checkpoint and 3 final blocks are new"
    (done,) = report.submitted
    assert (done.checkpoint.from_block, done.checkpoint.to_block) == (start, start + 2)
    assert_submitted(chains, client, done)

    chains.mine_source(1)
    clock.now += 119
    assert checkpointer.run_pass().due is None  # a new block, 2 minutes not over since then
    clock.now += 1
    (one,) = checkpointer.run_pass().submitted
    assert (one.checkpoint.sequence, one.checkpoint.from_block, one.checkpoint.to_block) == (
        2,
        start + 3,
        start + 3,
    )
    assert one.checkpoint.root == chains.tree(start + 3, start + 3).root
    clock.now += 600
    assert checkpointer.run_pass().due is None  # time enough, but no new final block


def test_a_backlog_is_checkpointed_in_parts_of_at_most_max_blocks(chains: TwoChains) -> None:
    client = chains.deploy()
    told: list[Submitted] = []
    checkpointer = chains.checkpointer(
        client, schedule=Schedule(blocks=8, minutes=60, max_blocks=10), on_submitted=told.append
    )
    start = checkpointer.start_block
    chains.mine_source(FINALITY + 27)

    report = checkpointer.run_pass()
    assert report.due == "27 final blocks are new"
    assert told == list(report.submitted)
    ranges = [(s.checkpoint.sequence, s.checkpoint.from_block, s.checkpoint.to_block) for s in told]
    assert ranges == [
        (1, start, start + 9),
        (2, start + 10, start + 19),
        (3, start + 20, start + 26),
    ]
    assert [item.remaining for item in told] == [17, 7, 0]
    for before, after in itertools.pairwise(told):
        assert after.parent_hash == before.checkpoint.to_block_hash
    for item in told:
        assert_submitted(chains, client, item)


def test_a_checkpoint_the_target_chain_dropped_is_submitted_again(chains: TwoChains) -> None:
    client = chains.deploy()
    checkpointer = chains.checkpointer(client)
    start = checkpointer.start_block
    chains.mine_source(FINALITY + 8)
    (first,) = checkpointer.run_pass().submitted
    target = DevChain(chains.target)
    before = target.snapshot()
    chains.mine_source(8)
    (dropped,) = checkpointer.run_pass().submitted
    assert dropped.checkpoint.sequence == 2

    target.revert(before)  # the target chain reorganises checkpoint 2 away
    chains.mine_target(3)
    assert client.head_of(SOURCE_CHAIN_ID).sequence == 1
    assert client.checkpoint_of(SOURCE_CHAIN_ID, 2) == b"\0" * 32

    report = checkpointer.run_pass()
    (again,) = report.submitted
    assert again.checkpoint == dropped.checkpoint  # the same blocks, the same checkpoint 2
    assert (again.checkpoint.from_block, again.checkpoint.to_block) == (start + 8, start + 15)
    assert again.parent_hash == first.checkpoint.to_block_hash
    assert again.receipt.tx_hash != dropped.receipt.tx_hash
    assert_submitted(chains, client, again)
    assert client.head_of(SOURCE_CHAIN_ID).sequence == 2


def test_a_rewritten_source_history_is_refused_and_nothing_submitted(chains: TwoChains) -> None:
    client = chains.deploy()
    checkpointer = chains.checkpointer(client)
    start = checkpointer.start_block
    fork = DevChain(chains.source).snapshot()
    chains.mine_source(FINALITY + 8)
    (done,) = checkpointer.run_pass().submitted
    assert done.checkpoint.to_block == start + 7

    chains.rewrite_source(fork, FINALITY + 16)  # other blocks from `start` on
    rewritten = bytes(chains.source.eth.get_block(start + 7)["hash"])
    assert rewritten != done.checkpoint.to_block_hash
    target_head = int(chains.target.eth.block_number)

    with pytest.raises(SourceHistoryRewrittenError) as refused:
        checkpointer.run_pass()
    error = refused.value
    assert (error.source_chain_id, error.sequence) == (SOURCE_CHAIN_ID, 1)
    assert (error.checkpointed_block, error.block) == (start + 7, start + 8)
    assert (error.checkpointed_hash, error.parent_hash) == (
        done.checkpoint.to_block_hash,
        rewritten,
    )
    assert str(error) == (
        f"the history of chain {SOURCE_CHAIN_ID} was rewritten under checkpoint 1: it recorded "
        f"block {start + 7} with hash 0x{done.checkpoint.to_block_hash.hex()}, but the node's "
        f"block {start + 8} has parent 0x{rewritten.hex()}; nothing was submitted (a checkpoint "
        "only extends the history recorded before it)"
    )
    assert int(chains.target.eth.block_number) == target_head
    assert client.head_of(SOURCE_CHAIN_ID) == CheckpointHead(
        1, start + 7, done.checkpoint.to_block_hash
    )


def test_an_account_without_checkpointer_role_is_refused_by_the_contract(
    chains: TwoChains,
) -> None:
    client = chains.deploy(STRANGER)
    checkpointer = chains.checkpointer(client)
    chains.mine_source(FINALITY + 8)
    with pytest.raises(ContractRevertError) as refused:
        checkpointer.run_pass()
    assert refused.value.name == "AccessControlUnauthorizedAccount"
    assert refused.value.args_by_name == {
        "account": STRANGER.address,
        "neededRole": role_id("CHECKPOINTER_ROLE"),
    }
    assert client.head_of(SOURCE_CHAIN_ID).sequence == 0


def test_the_target_must_be_another_chain_and_hold_a_checkpoint_contract(
    chains: TwoChains,
) -> None:
    on_source = deploy_checkpoint(chains.source, Sender(chains.source, CHECKPOINTER))
    with pytest.raises(SameChainError) as same:
        Checkpointer(
            chains.source,
            open_checkpoint(chains.source, on_source),
            schedule=Schedule(),
            finality_depth=FINALITY,
        )
    assert same.value.chain_id == SOURCE_CHAIN_ID
    nobody = STRANGER.address
    with pytest.raises(NotCheckpointContractError) as empty:
        open_checkpoint(chains.target, nobody)
    assert (empty.value.address, empty.value.chain_id) == (nobody, 31338)
    assert empty.value.reason == "no contract there (check the address and the target node)"
    token = Sender(chains.target, CHECKPOINTER).send(
        None, bytes.fromhex("600a600c600039600a6000f3602a60005260206000f3")
    )
    created = chains.target.eth.get_transaction_receipt(HexBytes(token.tx_hash))["contractAddress"]
    assert created is not None
    with pytest.raises(NotCheckpointContractError) as other:
        open_checkpoint(chains.target, created)
    assert other.value.reason == "its code does not answer CHECKPOINTER_ROLE() as one does"


def test_the_first_checkpoint_starts_at_the_deployment_block_or_zero(tmp_path: Path) -> None:
    assert default_start_block(tmp_path, SOURCE_CHAIN_ID) == 0
    admin = CHECKPOINTER.address
    Deployment(SOURCE_CHAIN_ID, admin, admin, 42, {}).save(tmp_path)
    assert default_start_block(tmp_path, SOURCE_CHAIN_ID) == 42
    assert default_start_block(tmp_path, 1) == 0


def test_headers_are_read_in_batches_and_checked_to_exist(chains: TwoChains) -> None:
    chains.mine_source(300)
    head = chains.source_head()
    headers = read_headers(chains.source, head - 299, head, SOURCE_CHAIN_ID)
    assert [item.number for item in headers] == list(range(head - 299, head + 1))
    assert [item.hash for item in headers] == chains.hashes(head - 299, head)
    assert headers[0].parent_hash == bytes(chains.source.eth.get_block(head - 300)["hash"])
    with pytest.raises(MissingBlockError) as missing:
        read_headers(chains.source, head - 1, head + 1, SOURCE_CHAIN_ID)
    assert (missing.value.chain_id, missing.value.number) == (SOURCE_CHAIN_ID, head + 1)
    assert str(missing.value) == f"the node of chain {SOURCE_CHAIN_ID} has no block {head + 1}"
