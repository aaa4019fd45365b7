"""The witness: an independent party that co-signs each checkpoint of a source chain it has
checked against its own node, and refuses one inconsistent with the history it saw before.

It follows the ``CheckpointSubmitted`` logs of one source chain on the target chain (by the
indexed ``sourceChainId`` topic, ranges of at most ``max_block_range`` blocks, logs at least
``target_depth`` blocks deep so that a shallow target reorganisation does not reach them), in
sequence order. For each checkpoint, :meth:`Witness.review` decides with the witness's own
source node: it co-signs (EIP-712, :func:`~provledger.services.checkpoints.cosign.cosign`) only if

* the sequence is the next after the last one it co-signed,
* the checkpoint starts right after the last one it co-signed ends,
* the first block's parent on its node is the last co-signed checkpoint's last block hash
  (the history it co-signed before still stands),
* the last block's hash and the root of every block's hash, recomputed from its node, are the
  checkpoint's;

else it refuses with :class:`CheckpointRefusedError` and the reason. A range not yet final on
its node (head less ``finality_depth``) is not refused: :class:`CheckpointNotFinalError` says
to wait.

**Trust on first use.** A witness without a state has no history to compare the first
checkpoint with: it takes the latest checkpoint recorded when it starts (or checkpoint
``from_sequence`` when given), checks that checkpoint's own blocks against its node, and
extends its view from there. Co-signatures of a witness vouch for the history from its
starting point on; which witnesses a verifier counts is the verifier's policy.

The witness's state (:mod:`.witness_state`) is written after each co-signature is published,
so a checkpoint whose co-signature could not be delivered is reviewed again on the next pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from provledger.chain.client import CheckpointClient
from provledger.chain.logs import MAX_LOG_RANGE
from provledger.errors import InputError, ProvledgerError
from provledger.services.checkpoints.blocks import final_head, read_headers
from provledger.services.checkpoints.cosign import Checkpoint, Cosignature, cosign
from provledger.services.checkpoints.target import (
    CheckpointRecord,
    SameChainError,
    find_submitted,
    has_code,
    submitted_logs,
    venue_of,
)
from provledger.services.checkpoints.tree import BlockHashTree
from provledger.services.checkpoints.witness_state import WitnessState, load_state, save_state


class CheckpointRefusedError(ProvledgerError):
    """The witness refuses to co-sign a checkpoint: it is inconsistent with the witness's node
    or with the history it co-signed before."""

    template = "refused to co-sign checkpoint {sequence}: {reason}"
    sequence: int
    reason: str


class CheckpointNotFinalError(ProvledgerError):
    """A checkpoint's blocks are not final on the witness's node yet: not a refusal, a wait."""

    template = (
        "checkpoint {sequence} reaches block {to_block}, but the witness's node is final only "
        "up to block {final_block}: waiting"
    )
    sequence: int
    to_block: int
    final_block: int


class StartingPointError(InputError):
    """``from_sequence`` was given to a witness that has a history already."""

    template = (
        "the witness state {path} continues from checkpoint {last} already: --from-sequence "
        "{sequence} is for a witness without a state (move the state aside to start anew)"
    )
    path: str
    last: int
    sequence: int


#: What a witness does with a co-signature before it counts as given (print it, post it to a
#: gateway, record it on chain); it raises to have the checkpoint reviewed again later.
Publish = Callable[[CheckpointRecord, Cosignature], None]


@dataclass(frozen=True)
class StepReport:
    """What one pass of a witness did."""

    cosigned: tuple[tuple[CheckpointRecord, Cosignature], ...]
    waiting: CheckpointNotFinalError | None
    """Why it stopped before the newest checkpoint: its blocks are not final on its node."""


class Witness:
    """A witness of ``source``'s chain, co-signing as ``account`` the checkpoints recorded by
    ``client``'s contract; its state lives in ``state_path`` (None: in memory only)."""

    def __init__(
        self,
        source: Web3,
        client: CheckpointClient,
        account: LocalAccount,
        *,
        state_path: Path | None,
        finality_depth: int,
        target_depth: int = 0,
        max_range: int = MAX_LOG_RANGE,
        from_sequence: int | None = None,
    ) -> None:
        self.source = source
        self.client = client
        self.account = account
        self.finality_depth = finality_depth
        self.target_depth = target_depth
        self.max_range = max_range
        self.from_sequence = from_sequence
        self.state_path = state_path
        self.source_chain_id = int(source.eth.chain_id)
        self.venue = venue_of(client)
        if self.source_chain_id == self.venue.chain_id:
            raise SameChainError(self.source_chain_id)
        shown = Path("(memory)") if state_path is None else state_path
        loaded = None if state_path is None else load_state(state_path)
        if loaded is not None:
            loaded.check(shown, self.source_chain_id, self.venue)
            if from_sequence is not None and loaded.last is not None:
                raise StartingPointError(str(shown), loaded.last.sequence, from_sequence)
        self.state = loaded or WitnessState(
            self.source_chain_id, self.venue.chain_id, self.venue.contract
        )
        if state_path is not None and loaded is None:  # the file is bound to these chains now
            save_state(state_path, self.state)
        #: The first target block not yet searched for checkpoints.
        self._cursor: int | None = self.state.target_block
        #: Without a history: the sequence of the first checkpoint to co-sign.
        self._first_wanted = from_sequence or 1

    @property
    def last(self) -> Checkpoint | None:
        """The last checkpoint co-signed."""
        return self.state.last

    def review(self, checkpoint: Checkpoint) -> Cosignature:
        """The witness's co-signature of ``checkpoint``, if its own node and the history it
        co-signed before agree with it.

        Raises:
            CheckpointRefusedError: they do not; the reason says how.
            CheckpointNotFinalError: the checkpoint's blocks are not final on its node yet.
        """

        def refuse(reason: str) -> CheckpointRefusedError:
            return CheckpointRefusedError(checkpoint.sequence, reason)

        if checkpoint.source_chain_id != self.source_chain_id:
            raise refuse(
                f"it is of chain {checkpoint.source_chain_id}; this witness follows chain "
                f"{self.source_chain_id}"
            )
        last = self.state.last
        if last is not None:
            self._check_order(checkpoint, last, refuse)
        elif self.from_sequence is not None and checkpoint.sequence != self.from_sequence:
            raise refuse(f"this witness starts from checkpoint {self.from_sequence}")
        final = final_head(self.source, self.finality_depth)
        if checkpoint.to_block > final:
            raise CheckpointNotFinalError(checkpoint.sequence, checkpoint.to_block, final)
        headers = read_headers(
            self.source, checkpoint.from_block, checkpoint.to_block, self.source_chain_id
        )
        parent = headers[0].parent_hash
        if last is not None and parent != last.to_block_hash:
            raise refuse(
                f"block {checkpoint.from_block}'s parent on the witness's node is "
                f"0x{parent.hex()}, not 0x{last.to_block_hash.hex()}, the hash of block "
                f"{last.to_block} in checkpoint {last.sequence} it co-signed: the history it saw "
                "was rewritten"
            )
        own_hash = headers[-1].hash
        if own_hash != checkpoint.to_block_hash:
            raise refuse(
                f"block {checkpoint.to_block}'s hash on the witness's node is 0x{own_hash.hex()}, "
                f"not 0x{checkpoint.to_block_hash.hex()} as the checkpoint states"
            )
        root = BlockHashTree.of(checkpoint.from_block, [item.hash for item in headers]).root
        if root != checkpoint.root:
            raise refuse(
                f"the root of blocks {checkpoint.from_block}..{checkpoint.to_block} on the "
                f"witness's node is 0x{root.hex()}, not 0x{checkpoint.root.hex()} as the "
                "checkpoint states"
            )
        return cosign(checkpoint, self.venue, self.account)

    @staticmethod
    def _check_order(
        checkpoint: Checkpoint, last: Checkpoint, refuse: Callable[[str], CheckpointRefusedError]
    ) -> None:
        if checkpoint.sequence == last.sequence and checkpoint != last:
            raise refuse(
                f"the witness co-signed another checkpoint {last.sequence} (blocks "
                f"{last.from_block}..{last.to_block}, root 0x{last.root.hex()}): the target "
                "chain replaced it"
            )
        if checkpoint.sequence != last.sequence + 1:
            raise refuse(
                f"it is not the next after checkpoint {last.sequence}, the last the witness "
                f"co-signed (the next is {last.sequence + 1})"
            )
        if checkpoint.from_block != last.to_block + 1:
            raise refuse(
                f"it starts at block {checkpoint.from_block}, but checkpoint {last.sequence}, "
                f"the last the witness co-signed, ends at block {last.to_block}: the next "
                f"starts at block {last.to_block + 1}"
            )

    def record(self, record: CheckpointRecord) -> None:
        """Take ``record``'s checkpoint as the last co-signed, and save the state."""
        self.state = self.state.after(record.checkpoint, record.block_number)
        self._cursor = max(self._cursor or 0, record.block_number)
        if self.state_path is not None:
            save_state(self.state_path, self.state)

    def pending(self) -> list[CheckpointRecord]:
        """The checkpoints to review next, in sequence order: those logged after the last one
        co-signed (with none yet: the starting point and those after it), at least
        ``target_depth`` blocks deep on the target chain."""
        confirmed = int(self.client.w3.eth.block_number) - self.target_depth
        if confirmed < 0:
            return []
        last = self.state.last
        if last is None and self._cursor is None:
            return self._start(confirmed)
        first = self._cursor if self._cursor is not None else confirmed + 1
        found = submitted_logs(
            self.client, self.source_chain_id, first, confirmed, max_range=self.max_range
        )
        if last is None:  # waiting for the starting point to be recorded
            found = [item for item in found if item.checkpoint.sequence >= self._first_wanted]
        else:  # the next ones, and any checkpoint that replaced the last one co-signed
            found = [
                item
                for item in found
                if item.checkpoint.sequence > last.sequence
                or (item.checkpoint.sequence == last.sequence and item.checkpoint != last)
            ]
        if not found:
            self._cursor = max(first, confirmed + 1)
        return sorted(found, key=lambda item: item.checkpoint.sequence)

    def _start(self, confirmed: int) -> list[CheckpointRecord]:
        """The starting point (trust on first use) and the checkpoints after it: the latest
        checkpoint at block ``confirmed`` or ``from_sequence``; none if it is not recorded yet
        (the search then continues forward from ``confirmed + 1``)."""
        if not has_code(self.client, confirmed):
            self._cursor = confirmed + 1  # the contract is younger than that block
            return []
        head = self.client.head_of(self.source_chain_id, block=confirmed)
        wanted = self.from_sequence or head.sequence
        if wanted == 0 or head.sequence < wanted:
            self._first_wanted = wanted or 1
            self._cursor = confirmed + 1
            return []
        start = find_submitted(
            self.client, self.source_chain_id, wanted, head=confirmed, max_range=self.max_range
        )
        self._first_wanted = wanted
        if start is None:
            self._cursor = confirmed + 1
            return []
        self._cursor = start.block_number
        later = submitted_logs(
            self.client,
            self.source_chain_id,
            start.block_number,
            confirmed,
            max_range=self.max_range,
        )
        after = [item for item in later if item.checkpoint.sequence > wanted]
        return [start, *sorted(after, key=lambda item: item.checkpoint.sequence)]

    def step(self, publish: Publish | None = None) -> StepReport:
        """One pass: review the pending checkpoints in order; each co-signature is given to
        ``publish`` and then recorded. Stops at the first checkpoint not final on its node.

        Raises:
            CheckpointRefusedError: a checkpoint is inconsistent (nothing after it is reviewed).
            Whatever ``publish`` raises: that checkpoint is reviewed again on the next pass.
        """
        done: list[tuple[CheckpointRecord, Cosignature]] = []
        for record in self.pending():
            try:
                cosignature = self.review(record.checkpoint)
            except CheckpointNotFinalError as waiting:
                return StepReport(tuple(done), waiting)
            if publish is not None:
                publish(record, cosignature)
            self.record(record)
            done.append((record, cosignature))
        return StepReport(tuple(done), None)
