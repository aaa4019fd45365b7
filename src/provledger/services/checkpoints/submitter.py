"""The checkpointer: submits checkpoints of the source chain's final blocks to the Checkpoint
contract on the target chain, on a schedule.

Each pass reads the contract's ``headOf(source chain)`` at the target's latest block: the next
checkpoint starts at ``head.to_block + 1`` (the first one at the start block: the registry's
deployment block when the source chain's deployment record is known, else 0) and ends at the
source chain's *final* head at most, ``checkpoint_max_blocks`` blocks per checkpoint. A pass
submits when it is due: ``checkpoint_blocks`` final blocks are new, or ``checkpoint_minutes``
have passed since the checkpointer's last submission (since it started, before its first) and
at least one final block is new; a due pass checkpoints every block final when it began, a
long backlog in several checkpoints.

**Final** is the head less ``finality_depth``, the project's reorg window, and not the node's
``finalized`` tag. That setting is what the indexer, proofs and witnesses call final, so a
checkpoint never covers a block the rest of provledger still treats as reversible, and a
witness running another node client reaches the same decision on the same blocks; consortium
chains (QBFT, IBFT, Clique) often have no ``finalized`` tag or report their head as final, and
dev nodes invent one (anvil: head - 64). On a chain whose ``finalized`` tag lags further than
the setting, raise ``finality_depth`` to match.

Before a checkpoint is submitted, its first block's parent hash must be the hash the last
checkpoint recorded: if it is not, the source chain's history was rewritten under a
checkpoint, and :class:`SourceHistoryRewrittenError` says so and nothing is submitted (the
contract would refuse anyway, with ``HistoryMismatch``). A target-chain reorganisation that
removes a checkpoint shows as an older head on the next pass: the same blocks are then
checkpointed again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from provledger.chain.client import CheckpointClient
from provledger.chain.deployments import DeploymentNotFoundError, load_deployment
from provledger.chain.events import CheckpointSubmitted
from provledger.chain.serialize import hex_bytes
from provledger.chain.transactions import Receipt
from provledger.chain.types import CheckpointHead
from provledger.config import Settings
from provledger.errors import ProvledgerError
from provledger.services.checkpoints.blocks import final_head, read_headers
from provledger.services.checkpoints.cosign import Checkpoint
from provledger.services.checkpoints.target import SameChainError
from provledger.services.checkpoints.tree import BlockHashTree


class SourceHistoryRewrittenError(ProvledgerError):
    """The source chain no longer holds the block its last checkpoint recorded: the parent of
    the next block to checkpoint is not the hash checkpoint ``sequence`` ends with."""

    source_chain_id: int
    sequence: int
    checkpointed_block: int
    checkpointed_hash: bytes
    block: int
    parent_hash: bytes

    def _message(self) -> str:
        return (
            f"the history of chain {self.source_chain_id} was rewritten under checkpoint "
            f"{self.sequence}: it recorded block {self.checkpointed_block} with hash "
            f"0x{self.checkpointed_hash.hex()}, but the node's block {self.block} has parent "
            f"0x{self.parent_hash.hex()}; nothing was submitted (a checkpoint only extends the "
            "history recorded before it)"
        )


@dataclass(frozen=True)
class Schedule:
    """When checkpoints are due, and how many blocks one covers at most."""

    blocks: int = 256
    """Due once this many final blocks are new."""
    minutes: float = 60.0
    """... or once this many minutes have passed since the last submission and one is new."""
    max_blocks: int = 1024
    """Most blocks one checkpoint covers."""

    @classmethod
    def of(cls, settings: Settings) -> Schedule:
        """The schedule the settings give (``checkpoint_blocks``, ``_minutes``, ``_max_blocks``)."""
        return cls(
            settings.checkpoint_blocks, settings.checkpoint_minutes, settings.checkpoint_max_blocks
        )


@dataclass(frozen=True)
class Outlook:
    """Where checkpoints stand: the contract's head, and the source chain's final blocks."""

    head: CheckpointHead
    next_block: int
    """The first block the next checkpoint covers."""
    final_block: int
    """The source chain's final head."""

    @property
    def new_blocks(self) -> int:
        """Final blocks no checkpoint covers yet."""
        return max(self.final_block - self.next_block + 1, 0)


@dataclass(frozen=True)
class Submitted:
    """A checkpoint submitted and mined."""

    checkpoint: Checkpoint
    parent_hash: bytes
    """The hash of block ``from_block - 1`` (zero before block 0)."""
    target_chain_id: int
    receipt: Receipt
    remaining: int
    """Blocks of the pass still to checkpoint after this one (a backlog's progress)."""

    def to_json(self) -> dict[str, Any]:
        """As ``provledger checkpoint run --json`` prints it."""
        point, receipt = self.checkpoint, self.receipt
        return {
            **point.to_json(),
            "parent_hash": hex_bytes(self.parent_hash),
            "target_chain_id": self.target_chain_id,
            "block_number": receipt.block_number,
            "transaction_hash": hex_bytes(receipt.tx_hash),
            "gas_used": receipt.gas_used,
            "remaining": self.remaining,
        }


@dataclass(frozen=True)
class PassReport:
    """What a pass saw and did."""

    outlook: Outlook
    """Where checkpoints stood when the pass began."""
    due: str | None
    """Why it submitted ("300 final blocks are new"); None if nothing was due."""
    submitted: tuple[Submitted, ...]


def default_start_block(deployments_dir: Path, chain_id: int) -> int:
    """Where the first checkpoint of ``chain_id`` starts: the registry's deployment block when
    its deployment record is in ``deployments_dir``, else block 0."""
    try:
        return load_deployment(deployments_dir, chain_id).block_number
    except DeploymentNotFoundError:
        return 0


class Checkpointer:
    """Submits the checkpoints of ``source``'s chain through ``client`` (signing as its sender,
    who holds CHECKPOINTER_ROLE), per :class:`Schedule`.

    ``clock`` gives seconds (monotonic) for the minutes rule; ``on_submitted`` is told of each
    checkpoint once mined.
    """

    def __init__(
        self,
        source: Web3,
        client: CheckpointClient,
        *,
        schedule: Schedule,
        finality_depth: int,
        start_block: int = 0,
        clock: Callable[[], float] = time.monotonic,
        on_submitted: Callable[[Submitted], None] | None = None,
    ) -> None:
        self.source = source
        self.client = client
        self.schedule = schedule
        self.finality_depth = finality_depth
        self.start_block = start_block
        self.source_chain_id = int(source.eth.chain_id)
        self.target_chain_id = int(client.w3.eth.chain_id)
        if self.source_chain_id == self.target_chain_id:
            raise SameChainError(self.source_chain_id)
        self._clock = clock
        self._on_submitted = on_submitted
        self._last_submission = clock()

    def outlook(self) -> Outlook:
        """Where checkpoints stand now (the contract's head at the target's latest block)."""
        head = self.client.head_of(self.source_chain_id)
        next_block = head.to_block + 1 if head.sequence else self.start_block
        return Outlook(head, next_block, final_head(self.source, self.finality_depth))

    def due(self, outlook: Outlook) -> str | None:
        """Why a checkpoint is due at ``outlook``; None if none is."""
        new = outlook.new_blocks
        if new == 0:
            return None
        if new >= self.schedule.blocks:
            return f"{new} final block{'s are' if new > 1 else ' is'} new"
        minutes = (self._clock() - self._last_submission) / 60
        if minutes >= self.schedule.minutes:
            return (
                f"{minutes:.1f} minutes passed since the last checkpoint and {new} final "
                f"block{'s are' if new > 1 else ' is'} new"
            )
        return None

    def run_pass(self) -> PassReport:
        """One pass: when a checkpoint is due, checkpoint every block final now, in parts of
        at most ``max_blocks``.

        Raises:
            SourceHistoryRewrittenError: the source chain's history under the last checkpoint
                changed; nothing was submitted.
        """
        outlook = self.outlook()
        reason = self.due(outlook)
        if reason is None:
            return PassReport(outlook, None, ())
        until = outlook.final_block
        submitted: list[Submitted] = []
        current = outlook
        while current.next_block <= until:
            last = min(current.next_block + self.schedule.max_blocks - 1, until)
            submitted.append(self.submit(current.head, current.next_block, last, until))
            current = self.outlook()
        return PassReport(outlook, reason, tuple(submitted))

    def submit(
        self, head: CheckpointHead, first: int, last: int, until: int | None = None
    ) -> Submitted:
        """Checkpoint blocks ``first..last`` after ``head`` (the contract's head now) and wait
        for the transaction; ``until`` is the last block of the pass (for progress).

        Raises:
            SourceHistoryRewrittenError: block ``first``'s parent is not the block ``head``
                recorded; nothing was submitted.
        """
        headers = read_headers(self.source, first, last, self.source_chain_id)
        parent = headers[0].parent_hash
        if head.sequence and parent != head.to_block_hash:
            raise SourceHistoryRewrittenError(
                self.source_chain_id,
                head.sequence,
                head.to_block,
                head.to_block_hash,
                first,
                parent,
            )
        tree = BlockHashTree.of(first, [header.hash for header in headers])
        receipt = self.client.submit(
            self.source_chain_id, first, last, parent, headers[-1].hash, tree.root
        )
        self._last_submission = self._clock()
        checkpoint = Checkpoint.of_event(receipt.event(CheckpointSubmitted))
        remaining = max((until or last) - last, 0)
        done = Submitted(checkpoint, parent, self.target_chain_id, receipt, remaining)
        if self._on_submitted is not None:
            self._on_submitted(done)
        return done
