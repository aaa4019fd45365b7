"""Proof bundles: what the gateway hands out so anyone can re-check a registration against any
node, and the checks that do it.

A bundle (version :data:`BUNDLE_VERSION`) is JSON. It names the chain, the contracts (address
and the keccak256 of their runtime code), and for each log that put the asset on the chain
(its ``AssetRegistered`` log; for a promoted batch leaf also the ``LeafPromoted`` and
``BatchAnchored`` logs) the transaction, block number and hash, log index, the raw topics and
data as the node returned them, and the decoded values. A promoted leaf carries its Merkle path
(the one its promote transaction proved). The on-chain state read at a stated block closes it:
the asset record and holder, and for a batch the anchored batch record.

:func:`verify_proof_bundle` re-checks a bundle against a node with no gateway involved. Each
check covers its own fields, so one altered field fails exactly one check:

========  ==================================  ============================================
check     what it proves                      fields it covers
========  ==================================  ============================================
chain     the node serves the bundle's chain  ``chain_id``
receipt   the receipt contains the log        transaction hash and index, log index, raw
                                              topics and data
block     the block hash matches              block number and hash of each log
event     the log decodes to the claimed      ``args``, ``event``, ``asset_id``,
          values                              ``content_hash``, ``channel``
contract  the contract has the expected       ``contracts``: the address that emitted each
          code hash                           log and its code hash
merkle    the Merkle path reaches the root    ``batch.leaf``, ``batch.proof``
anchor    the root is anchored on chain       ``state.batch`` (``batchOf(root)``)
state     the on-chain state is as stated     ``state.block_number``, ``block_hash``,
                                              ``asset``
========  ==================================  ============================================

``merkle`` and ``anchor`` run for batch leaves only; ``batch.root`` is named by the logs, the
path and the anchor, so ``event``, ``merkle`` and ``anchor`` all refuse another root. Reads of
contract state go to the contract the node says emitted the bundle's log (found by its topics
and data, not by the claimed address or log index), and to the asset its raw topics name, so a
wrong address fails ``contract`` alone and a wrong ``asset_id`` fails ``event`` alone.

The package holds the format (:mod:`.format`: the typed :class:`ProofBundle`, its parser, its
one serialiser :func:`bundle_json` and the published JSON Schema ``proof-bundle.schema.json``),
the node reads both sides share (:mod:`.node`), the builder (:mod:`.builder`) and the checks
(:mod:`.checks`, with the evidence checks in :mod:`.checkpointed` and what they share with other
verdicts in :mod:`.verdict`); :mod:`.evidence` finds a version 2 bundle's checkpoint evidence.
"""

from provledger.services.proofs.builder import build_proof_bundle, trail_proof
from provledger.services.proofs.checkpointed import WitnessPolicy, WitnessPolicyError
from provledger.services.proofs.checks import (
    BATCH_CHECKS,
    CHECKS,
    ProofReport,
    verify_proof_bundle,
)
from provledger.services.proofs.evidence import CheckpointSource
from provledger.services.proofs.fields import MalformedProofBundleError
from provledger.services.proofs.format import (
    BUNDLE_VERSION,
    CHECKPOINTED_VERSION,
    SCHEMA_FILE,
    BatchClaim,
    CheckpointClaim,
    ContractClaim,
    LogClaim,
    ProofBundle,
    ProofUnavailableError,
    bundle_json,
    bundle_schema,
    parse_proof_bundle,
)
from provledger.services.proofs.node import asset_record, batch_record
from provledger.services.proofs.verdict import Check

__all__ = [
    "BATCH_CHECKS",
    "BUNDLE_VERSION",
    "CHECKPOINTED_VERSION",
    "CHECKS",
    "SCHEMA_FILE",
    "BatchClaim",
    "Check",
    "CheckpointClaim",
    "CheckpointSource",
    "ContractClaim",
    "LogClaim",
    "MalformedProofBundleError",
    "ProofBundle",
    "ProofReport",
    "ProofUnavailableError",
    "WitnessPolicy",
    "WitnessPolicyError",
    "asset_record",
    "batch_record",
    "build_proof_bundle",
    "bundle_json",
    "bundle_schema",
    "parse_proof_bundle",
    "trail_proof",
    "verify_proof_bundle",
]
