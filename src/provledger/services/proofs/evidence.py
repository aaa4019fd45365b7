"""The checkpoint evidence of a version 2 bundle: which checkpoint on the target chain holds the
registration's block, that block's path to the checkpoint's root, and the co-signatures the
witnesses gave the checkpoint."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Final

from web3.exceptions import Web3Exception

from provledger.services.checkpoints import (
    BlockHashTree,
    Checkpoint,
    CheckpointLedger,
    CheckpointRecord,
    Cosignature,
)
from provledger.services.checkpoints.blocks import (
    MissingBlockError,
    UnlinkedBlocksError,
    read_headers,
)
from provledger.services.proofs.format import CheckpointClaim, LogClaim, ProofUnavailableError
from provledger.services.proofs.node import ProofNode

#: The co-signatures kept of a checkpoint: checked to be its witnesses' when they were given
#: (the gateway's store keeps them by the checkpoint's commitment), so not checked again here.
Cosignatures = Callable[[Checkpoint], Sequence[Cosignature]]
#: Block-hash trees kept between bundles (each costs one block read per block it covers).
TREE_CACHE: Final = 64


def _none(_checkpoint: Checkpoint) -> Sequence[Cosignature]:
    return ()


class CheckpointSource:
    """Where the builder finds evidence: the target chain's checkpoints (``ledger``) and the
    co-signatures given for them (``cosignatures``)."""

    def __init__(self, ledger: CheckpointLedger, cosignatures: Cosignatures = _none) -> None:
        self.ledger = ledger
        self.cosignatures = cosignatures
        self._trees: OrderedDict[Checkpoint, BlockHashTree] = OrderedDict()
        self._lock = threading.Lock()  # proofs are built on several threads at once
        self._code_hash: bytes | None = None

    def evidence(
        self, node: ProofNode, registration: LogClaim, asset: str
    ) -> CheckpointClaim | None:
        """The evidence for the block of ``registration`` on the source chain ``node`` serves;
        None while no checkpoint covers it.

        Raises:
            ProofUnavailableError: the node's blocks do not give the checkpoint's root (its
                chain is not the history that was checkpointed).
        """
        source = node.chain_id()
        number = registration.block_number
        recorded = self.ledger.covering(source, number)
        if recorded is None:
            return None
        tree = self._tree(node, recorded, asset)
        return CheckpointClaim(
            venue=self.ledger.venue,
            code_hash=self._contract_code_hash(asset),
            tx_hash=recorded.transaction_hash,
            block_number=recorded.block_number,
            block_hash=recorded.block_hash,
            log_index=recorded.log_index,
            checkpoint=recorded.checkpoint,
            block=(number, tree.hash_of(number)),
            proof=tree.path(number),
            witnesses=tuple(self.cosignatures(recorded.checkpoint)),
        )

    def _contract_code_hash(self, asset: str) -> bytes:
        """keccak256 of the Checkpoint contract's runtime code (read once: it cannot change)."""
        if self._code_hash is None:
            target = ProofNode(self.ledger.w3)
            code_hash = target.code_hash(self.ledger.venue.contract, target.head())
            if code_hash is None:
                contract = self.ledger.venue.contract
                raise ProofUnavailableError(asset, f"no Checkpoint contract at {contract}")
            self._code_hash = code_hash
        return self._code_hash

    def _tree(self, node: ProofNode, recorded: CheckpointRecord, asset: str) -> BlockHashTree:
        checkpoint = recorded.checkpoint
        with self._lock:
            tree = self._trees.get(checkpoint)
        if tree is not None and not _still_has(node, checkpoint):
            tree = None  # the node's chain moved away from the checkpoint: read it again
        if tree is None:
            first, last = checkpoint.from_block, checkpoint.to_block
            try:
                headers = read_headers(node.w3, first, last, checkpoint.source_chain_id)
            except (MissingBlockError, UnlinkedBlocksError) as error:  # not the checkpointed chain
                raise ProofUnavailableError(asset, str(error)) from None
            tree = BlockHashTree.of(first, [header.hash for header in headers])
            if tree.root != checkpoint.root:
                raise ProofUnavailableError(
                    asset,
                    f"the node's blocks {first}..{last} do not give the root of "
                    f"{checkpoint.describe()}: its chain is not the history that was checkpointed",
                )
            with self._lock:
                self._trees[checkpoint] = tree
                while len(self._trees) > TREE_CACHE:
                    self._trees.popitem(last=False)
        return tree


def _still_has(node: ProofNode, checkpoint: Checkpoint) -> bool:
    """Whether the node's block ``to_block`` is still the one the checkpoint recorded."""
    try:
        return node.block_hash(checkpoint.to_block) == checkpoint.to_block_hash
    except Web3Exception:  # no such block any more
        return False
