"""Checkpoints of the source chain on a second chain, and witnesses' co-signatures of them.

:mod:`.tree` is the block-hash tree a checkpoint commits to; :mod:`.cosign` the checkpoint as
the target chain records it and the EIP-712 co-signature a witness gives it; :mod:`.ledger` the
checkpoints a target chain holds, read from its logs. :mod:`.submitter` is the checkpointer
(``provledger checkpoint run``), :mod:`.witness` the witness (``provledger witness run``, its
state in :mod:`.witness_state`); :mod:`.blocks` reads the source chain's headers, :mod:`.target`
checks the Checkpoint contract and finds its logs near the head. :mod:`.desk` is the gateway's
side (its routes' reads and the co-signatures it keeps); it is not imported here.
"""

from provledger.services.checkpoints.cosign import (
    Checkpoint,
    CheckpointVenue,
    Cosignature,
    MalformedCosignatureError,
    cosign,
)
from provledger.services.checkpoints.ledger import CheckpointLedger
from provledger.services.checkpoints.submitter import (
    Checkpointer,
    PassReport,
    Schedule,
    SourceHistoryRewrittenError,
    Submitted,
    default_start_block,
)
from provledger.services.checkpoints.target import (
    CheckpointRecord,
    NotCheckpointContractError,
    NotCheckpointerError,
    SameChainError,
    open_checkpoint,
)
from provledger.services.checkpoints.tree import (
    BLOCK_LEAF_TYPES,
    BlockHashTree,
    block_leaf,
    checkpoint_commitment,
)
from provledger.services.checkpoints.witness import (
    CheckpointNotFinalError,
    CheckpointRefusedError,
    Witness,
)
from provledger.services.checkpoints.witness_state import WitnessState, WitnessStateMismatchError

__all__ = [
    "BLOCK_LEAF_TYPES",
    "BlockHashTree",
    "Checkpoint",
    "CheckpointLedger",
    "CheckpointNotFinalError",
    "CheckpointRecord",
    "CheckpointRefusedError",
    "CheckpointVenue",
    "Checkpointer",
    "Cosignature",
    "MalformedCosignatureError",
    "NotCheckpointContractError",
    "NotCheckpointerError",
    "PassReport",
    "SameChainError",
    "Schedule",
    "SourceHistoryRewrittenError",
    "Submitted",
    "Witness",
    "WitnessState",
    "WitnessStateMismatchError",
    "block_leaf",
    "checkpoint_commitment",
    "cosign",
    "default_start_block",
    "open_checkpoint",
]
