"""The witness on two anvil chains: it co-signs consistent checkpoints (the signature recovers
to its address), refuses each kind of inconsistent checkpoint with the reason and keeps its
state, waits for blocks its node does not hold as final yet, resumes from its state file,
refuses a state of another chain or contract, and starts from the first checkpoint it sees."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hexbytes import HexBytes

from helpers.checkpointing import (
    CHECKPOINTER,
    FINALITY,
    SOURCE_CHAIN_ID,
    TARGET_CHAIN_ID,
    WITNESS,
    TwoChains,
)
from provledger.chain.client import CheckpointClient
from provledger.chain.connection import DevChain
from provledger.services.checkpoints import (
    Checkpoint,
    Checkpointer,
    CheckpointNotFinalError,
    CheckpointRecord,
    CheckpointRefusedError,
    CheckpointVenue,
    Cosignature,
    Witness,
    WitnessStateMismatchError,
)
from provledger.services.checkpoints.witness import StartingPointError
from provledger.services.checkpoints.witness_state import MalformedWitnessStateError, load_state


@dataclasses.dataclass
class Setup:
    chains: TwoChains
    client: CheckpointClient
    checkpointer: Checkpointer
    state: Path

    @property
    def venue(self) -> CheckpointVenue:
        return CheckpointVenue(TARGET_CHAIN_ID, self.client.address)

    def witness(self, **options: Any) -> Witness:
        """A witness of the setup's contract, read-only on the target chain."""
        defaults: dict[str, Any] = {"state_path": self.state, "finality_depth": FINALITY}
        reader = self.chains.client(self.client.address)
        return Witness(self.chains.source, reader, WITNESS, **{**defaults, **options})

    def checkpoint(self, blocks: int = 8) -> Checkpoint:
        """Mine ``blocks`` source blocks and checkpoint them."""
        self.chains.mine_source(blocks)
        (done,) = self.checkpointer.run_pass().submitted
        return done.checkpoint


@pytest.fixture
def setup(chains: TwoChains, tmp_path: Path) -> Setup:
    client = chains.deploy()
    checkpointer = chains.checkpointer(client)
    chains.mine_source(FINALITY)
    return Setup(chains, client, checkpointer, tmp_path / "witness.json")


def state_json(setup: Setup, last: Checkpoint | None, target_block: int | None) -> dict[str, Any]:
    return {
        "format": "provledger-witness/1",
        "source_chain_id": SOURCE_CHAIN_ID,
        "target_chain_id": TARGET_CHAIN_ID,
        "contract": setup.client.address,
        "last": None
        if last is None
        else {
            "sequence": last.sequence,
            "from_block": last.from_block,
            "to_block": last.to_block,
            "to_block_hash": "0x" + last.to_block_hash.hex(),
            "root": "0x" + last.root.hex(),
        },
        "target_block": target_block,
    }


def test_the_witness_co_signs_consistent_checkpoints(setup: Setup) -> None:
    first, second = setup.checkpoint(), setup.checkpoint()
    witness = setup.witness(from_sequence=1)
    published: list[tuple[CheckpointRecord, Cosignature]] = []
    report = witness.step(lambda record, cosignature: published.append((record, cosignature)))

    assert report.waiting is None
    assert list(report.cosigned) == published
    assert [record.checkpoint for record, _ in published] == [first, second]
    for record, cosignature in published:
        assert cosignature.witness == WITNESS.address
        assert cosignature.holds(record.checkpoint, setup.venue)
        assert cosignature.signer(record.checkpoint, setup.venue) == WITNESS.address
        assert record.submitter == CHECKPOINTER.address
        assert record.block_number == int(
            setup.chains.target.eth.get_transaction_receipt(HexBytes(record.transaction_hash))[
                "blockNumber"
            ]
        )
    last_block = published[-1][0].block_number
    assert json.loads(setup.state.read_text()) == state_json(setup, second, last_block)
    assert [path.name for path in setup.state.parent.iterdir()] == ["witness.json"]
    assert witness.step().cosigned == ()  # nothing new


def refused(witness: Witness, checkpoint: Checkpoint) -> CheckpointRefusedError:
    with pytest.raises(CheckpointRefusedError) as refusal:
        witness.review(checkpoint)
    assert refusal.value.sequence == checkpoint.sequence
    return refusal.value


def test_the_witness_refuses_inconsistent_checkpoints_and_says_why(setup: Setup) -> None:
    first = setup.checkpoint()
    witness = setup.witness()
    (done,) = witness.step().cosigned
    assert done[0].checkpoint == first
    setup.chains.mine_source(8)
    start, end = first.to_block + 1, first.to_block + 8
    tree = setup.chains.tree(start, end)
    good = Checkpoint(SOURCE_CHAIN_ID, 2, start, end, tree.hash_of(end), tree.root)
    kept = setup.state.read_text()

    later = refused(witness, dataclasses.replace(good, sequence=3))
    assert later.reason == (
        "it is not the next after checkpoint 1, the last the witness co-signed (the next is 2)"
    )
    again = refused(witness, dataclasses.replace(first, root=b"\x01" * 32))
    assert again.reason == (
        f"the witness co-signed another checkpoint 1 (blocks {first.from_block}..{first.to_block}, "
        f"root 0x{first.root.hex()}): the target chain replaced it"
    )
    gap_tree = setup.chains.tree(start + 1, end)
    gap = Checkpoint(SOURCE_CHAIN_ID, 2, start + 1, end, gap_tree.hash_of(end), gap_tree.root)
    assert refused(witness, gap).reason == (
        f"it starts at block {start + 1}, but checkpoint 1, the last the witness co-signed, ends "
        f"at block {first.to_block}: the next starts at block {start}"
    )
    wrong_root = b"\xab" * 32
    assert refused(witness, dataclasses.replace(good, root=wrong_root)).reason == (
        f"the root of blocks {start}..{end} on the witness's node is 0x{tree.root.hex()}, not "
        f"0x{wrong_root.hex()} as the checkpoint states"
    )
    wrong_hash = tree.hash_of(end - 1)
    assert refused(witness, dataclasses.replace(good, to_block_hash=wrong_hash)).reason == (
        f"block {end}'s hash on the witness's node is 0x{tree.hash_of(end).hex()}, not "
        f"0x{wrong_hash.hex()} as the checkpoint states"
    )
    other = refused(witness, dataclasses.replace(good, source_chain_id=1))
    assert other.reason == f"it is of chain 1; this witness follows chain {SOURCE_CHAIN_ID}"
    assert str(other) == f"refused to co-sign checkpoint 2: {other.reason}"

    with pytest.raises(CheckpointNotFinalError) as waiting:
        witness.review(dataclasses.replace(good, to_block=end + FINALITY))
    assert (waiting.value.sequence, waiting.value.to_block) == (2, end + FINALITY)
    assert waiting.value.final_block == setup.chains.source_head() - FINALITY
    assert setup.state.read_text() == kept  # no refusal moved its view

    assert witness.review(good).holds(good, setup.venue)


def test_the_witness_refuses_a_checkpoint_over_a_rewritten_history(setup: Setup) -> None:
    fork, fork_head = DevChain(setup.chains.source).snapshot(), setup.chains.source_head()
    first = setup.checkpoint()
    witness = setup.witness()
    witness.step()
    start, end = first.to_block + 1, first.to_block + 8
    setup.chains.rewrite_source(fork, end + FINALITY - fork_head)  # blocks after the fork differ
    tree = setup.chains.tree(start, end)
    rewritten = Checkpoint(SOURCE_CHAIN_ID, 2, start, end, tree.hash_of(end), tree.root)
    parent = bytes(setup.chains.source.eth.get_block(first.to_block)["hash"])
    assert parent != first.to_block_hash

    assert refused(witness, rewritten).reason == (
        f"block {start}'s parent on the witness's node is 0x{parent.hex()}, not "
        f"0x{first.to_block_hash.hex()}, the hash of block {first.to_block} in checkpoint 1 it "
        "co-signed: the history it saw was rewritten"
    )
    assert witness.last == first


def test_a_checkpoint_not_final_on_its_node_waits(setup: Setup) -> None:
    first = setup.checkpoint()
    witness = setup.witness(finality_depth=FINALITY + 5)
    report = witness.step()
    assert report.cosigned == ()
    assert report.waiting is not None
    assert (report.waiting.sequence, report.waiting.to_block) == (1, first.to_block)
    assert witness.last is None
    setup.chains.mine_source(5)
    (done,) = witness.step().cosigned
    assert done[0].checkpoint == first


def test_the_witness_resumes_from_its_state_file(setup: Setup) -> None:
    first = setup.checkpoint()
    setup.witness().step()
    second, third = setup.checkpoint(), setup.checkpoint()

    resumed = setup.witness()
    assert resumed.last == first
    done = resumed.step().cosigned
    assert [record.checkpoint for record, _ in done] == [second, third]
    state = load_state(setup.state)
    assert state is not None
    assert state.last == third
    assert state.target_block == done[-1][0].block_number
    with pytest.raises(StartingPointError) as restart:
        setup.witness(from_sequence=1)
    assert (restart.value.last, restart.value.sequence) == (3, 1)


def test_a_publication_that_fails_is_reviewed_again(setup: Setup) -> None:
    first = setup.checkpoint()
    witness = setup.witness()

    def unavailable(record: CheckpointRecord, cosignature: Cosignature) -> None:
        raise OSError("the gateway is down")

    with pytest.raises(OSError, match="the gateway is down"):
        witness.step(unavailable)
    assert witness.last is None
    assert json.loads(setup.state.read_text()) == state_json(setup, None, None)
    (done,) = witness.step().cosigned
    assert done[0].checkpoint == first


def test_a_state_of_another_chain_or_contract_is_refused(setup: Setup) -> None:
    for field, value, what, recorded, given in (
        ("source_chain_id", 1, "source chain", "1", str(SOURCE_CHAIN_ID)),
        ("target_chain_id", 5, "target chain", "5", str(TARGET_CHAIN_ID)),
        ("contract", WITNESS.address, "Checkpoint contract", WITNESS.address, setup.client.address),
    ):
        setup.state.write_text(json.dumps({**state_json(setup, None, None), field: value}))
        with pytest.raises(WitnessStateMismatchError) as mismatch:
            setup.witness()
        error = mismatch.value
        assert (error.path, error.what, error.recorded, error.given) == (
            str(setup.state),
            what,
            recorded,
            given,
        )
    setup.state.write_text('{"format": "something else"}')
    with pytest.raises(MalformedWitnessStateError) as malformed:
        setup.witness()
    assert malformed.value.reason == 'it is not a JSON object with "format": "provledger-witness/1"'
    setup.state.write_text("{not json")
    with pytest.raises(MalformedWitnessStateError):
        setup.witness()


def test_without_a_state_the_latest_checkpoint_is_the_starting_point(setup: Setup) -> None:
    setup.checkpoint()
    setup.checkpoint()
    third = setup.checkpoint()
    witness = setup.witness()
    (done,) = witness.step().cosigned
    assert done[0].checkpoint == third  # trust on first use
    fourth = setup.checkpoint()
    (later,) = witness.step().cosigned
    assert later[0].checkpoint == fourth


def test_from_sequence_chooses_the_starting_point(setup: Setup) -> None:
    setup.checkpoint()
    second, third = setup.checkpoint(), setup.checkpoint()
    done = setup.witness(from_sequence=2).step().cosigned
    assert [record.checkpoint for record, _ in done] == [second, third]


def test_a_witness_started_before_any_checkpoint_takes_the_first(setup: Setup) -> None:
    witness = setup.witness(state_path=None)
    assert witness.step().cosigned == ()
    first = setup.checkpoint()
    (done,) = witness.step().cosigned
    assert done[0].checkpoint == first
    assert not setup.state.exists()  # no state file given


def test_a_checkpoint_is_reviewed_once_its_log_is_deep_enough(setup: Setup) -> None:
    witness = setup.witness(target_depth=3)
    assert witness.step().cosigned == ()
    first = setup.checkpoint()
    setup.chains.mine_target(2)
    assert witness.step().cosigned == ()
    setup.chains.mine_target(1)
    (done,) = witness.step().cosigned
    assert done[0].checkpoint == first
