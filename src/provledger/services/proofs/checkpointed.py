"""The two checks of a version 2 bundle's evidence: ``checkpoint`` (the registration's block is
in a checkpoint the target chain holds, and the source chain still agrees with it) and
``witnesses`` (enough known witnesses co-signed that checkpoint)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from eth_typing import ChecksumAddress
from web3.exceptions import TransactionNotFound, Web3Exception

from provledger.chain.client import CheckpointClient
from provledger.chain.events import CheckpointSubmitted
from provledger.chain.serialize import hex_bytes
from provledger.errors import InputError, ProvledgerError
from provledger.merkle import process_proof
from provledger.services.checkpoints import block_leaf
from provledger.services.proofs.format import CheckpointClaim, LogClaim, ProofBundle
from provledger.services.proofs.node import ProofNode, decode_log
from provledger.services.proofs.verdict import CheckFailedError

#: The checks of the evidence, as :data:`~provledger.services.proofs.checks.CHECKS` lists them.
EVIDENCE_CHECKS: Final[dict[str, str]] = {
    "checkpoint": "the block is in a checkpoint on the target chain that the source chain "
    "still agrees with",
    "witnesses": "enough known witnesses co-signed the checkpoint",
}


class WitnessPolicyError(InputError):
    """A witness policy that cannot be met by anyone: a threshold without known witnesses, or
    above their number."""

    template = "witness policy: {reason}"
    reason: str


@dataclass(frozen=True)
class WitnessPolicy:
    """Which witnesses a verifier knows, and how many of them must have co-signed."""

    known: frozenset[str] = field(default_factory=frozenset)
    """The witnesses' addresses, EIP-55 checksummed."""
    required: int = 0

    def __post_init__(self) -> None:
        if self.required < 0:
            raise WitnessPolicyError("the number of witnesses required cannot be negative")
        if self.required and not self.known:
            raise WitnessPolicyError(
                f"{self.required} witness(es) required, but no known witness is named "
                "(anyone can make a key: name the witnesses you trust)"
            )
        if self.required > len(self.known):
            raise WitnessPolicyError(
                f"{self.required} witnesses required, but only {len(self.known)} are named"
            )

    @property
    def demanding(self) -> bool:
        """Whether the policy asks for co-signatures at all."""
        return self.required > 0


def _claim(proof: ProofBundle) -> CheckpointClaim:
    if proof.checkpoint is None:
        raise CheckFailedError("the bundle carries no checkpoint evidence")
    return proof.checkpoint


def check_checkpoint(proof: ProofBundle, node: ProofNode, target: ProofNode | None) -> str:
    """Why the ``checkpoint`` check passes (:class:`CheckFailedError`: why not)."""
    claim = _claim(proof)
    checkpoint = claim.checkpoint
    venue = claim.venue
    if target is None:
        raise CheckFailedError(f"no node of target chain {venue.chain_id} was given")
    actual = target.chain_id()
    if actual != venue.chain_id:
        raise CheckFailedError(
            f"the target node serves chain {actual}, the evidence names chain {venue.chain_id}"
        )
    _check_recorded(proof, claim, target)
    code_hash = target.code_hash(venue.contract, target.head())
    if code_hash != claim.code_hash:
        have = "no code" if code_hash is None else f"code hash {hex_bytes(code_hash)}"
        raise CheckFailedError(
            f"the Checkpoint contract at {venue.contract} has {have}, "
            f"the bundle says {hex_bytes(claim.code_hash)}"
        )
    held = CheckpointClient(target.w3, venue.contract, None).checkpoint_of(
        checkpoint.source_chain_id, checkpoint.sequence
    )
    if held != checkpoint.commitment:
        raise CheckFailedError(
            f"the contract holds {hex_bytes(held)} for checkpoint {checkpoint.sequence}, "
            f"not the commitment of the stated one ({hex_bytes(checkpoint.commitment)})"
        )
    number, block_hash = claim.block
    _check_block(proof.registration, claim)
    reached = process_proof(block_leaf(number, block_hash), claim.proof)
    if reached != checkpoint.root:
        raise CheckFailedError(
            f"the path of block {number} leads to {hex_bytes(reached)}, "
            f"not to the checkpoint's root {hex_bytes(checkpoint.root)}"
        )
    _check_source(
        node, checkpoint.sequence, [(checkpoint.to_block, checkpoint.to_block_hash), claim.block]
    )
    return (
        f"block {number} is in {checkpoint.describe()}, recorded on chain {venue.chain_id} in "
        f"transaction {hex_bytes(claim.tx_hash)} (block {claim.block_number}); the source node "
        "still has those blocks"
    )


def _check_recorded(proof: ProofBundle, claim: CheckpointClaim, target: ProofNode) -> None:
    checkpoint = claim.checkpoint
    where = f"checkpoint transaction {hex_bytes(claim.tx_hash)}"
    try:
        receipt = target.receipt(claim.tx_hash)
    except TransactionNotFound:
        raise CheckFailedError(
            f"{where} is unknown to the target node (reorganised away, or never there)"
        ) from None
    if int(receipt["status"]) != 1:
        raise CheckFailedError(f"{where} reverted")
    if (
        int(receipt["blockNumber"]) != claim.block_number
        or bytes(receipt["blockHash"]) != claim.block_hash
    ):
        raise CheckFailedError(
            f"{where} is in target block {receipt['blockNumber']} "
            f"({hex_bytes(bytes(receipt['blockHash']))}), the bundle says {claim.block_number} "
            f"({hex_bytes(claim.block_hash)})"
        )
    logs = [log for log in receipt["logs"] if int(log["logIndex"]) == claim.log_index]
    if not logs or logs[0]["address"].lower() != claim.venue.contract.lower():
        raise CheckFailedError(
            f"{where} has no log {claim.log_index} emitted by the Checkpoint contract "
            f"at {claim.venue.contract}"
        )
    topics = [bytes(topic) for topic in logs[0]["topics"]]
    try:
        event = decode_log(topics, bytes(logs[0]["data"]))
    except (ValueError, ProvledgerError):  # no provledger event, or one that does not decode
        event = None
    if not isinstance(event, CheckpointSubmitted):
        raise CheckFailedError(f"log {claim.log_index} of {where} is not CheckpointSubmitted")
    if event.source_chain_id != proof.chain_id:
        raise CheckFailedError(
            f"the checkpoint is of chain {event.source_chain_id}, the bundle is of chain "
            f"{proof.chain_id}"
        )
    stated = (checkpoint.sequence, checkpoint.from_block, checkpoint.to_block)
    logged = (event.sequence, event.from_block, event.to_block)
    for name, was, said in zip(("sequence", "from_block", "to_block"), logged, stated, strict=True):
        if was != said:
            raise CheckFailedError(f"checkpoint.{name} is {was} in the log, the bundle says {said}")
    for name, raw, claimed in (
        ("to_block_hash", event.to_block_hash, checkpoint.to_block_hash),
        ("root", event.root, checkpoint.root),
    ):
        if raw != claimed:
            raise CheckFailedError(
                f"checkpoint.{name} is {hex_bytes(raw)} in the log, "
                f"the bundle says {hex_bytes(claimed)}"
            )


def _check_block(registration: LogClaim, claim: CheckpointClaim) -> None:
    number, block_hash = claim.block
    checkpoint = claim.checkpoint
    if (number, block_hash) != (registration.block_number, registration.block_hash):
        raise CheckFailedError(
            f"the evidenced block is {number} ({hex_bytes(block_hash)}), the registration's is "
            f"{registration.block_number} ({hex_bytes(registration.block_hash)})"
        )
    if not checkpoint.from_block <= number <= checkpoint.to_block:
        raise CheckFailedError(f"block {number} is not in {checkpoint.describe()}")


def _check_source(node: ProofNode, sequence: int, blocks: Iterable[tuple[int, bytes]]) -> None:
    for number, recorded in blocks:
        try:
            actual = node.block_hash(number)
        except Web3Exception:
            raise CheckFailedError(
                f"the source node has no block {number}: its chain is shorter than checkpoint "
                f"{sequence} covers (history rewritten, or the node is behind)"
            ) from None
        if actual != recorded:
            raise CheckFailedError(
                f"the source chain's history was rewritten after checkpoint {sequence}: block "
                f"{number} is {hex_bytes(actual)} on the source node, the checkpoint recorded "
                f"{hex_bytes(recorded)}"
            )


def check_witnesses(proof: ProofBundle, policy: WitnessPolicy) -> str:
    """Why the ``witnesses`` check passes (:class:`CheckFailedError`: why not)."""
    claim = _claim(proof)
    signers: list[ChecksumAddress] = []
    for i, cosignature in enumerate(claim.witnesses):
        if not cosignature.holds(claim.checkpoint, claim.venue):
            raise CheckFailedError(
                f"co-signature {i} is not {cosignature.witness}'s signature of "
                f"{claim.checkpoint.describe()}"
            )
        signers.append(cosignature.witness)
    distinct = list(dict.fromkeys(signers))
    if not policy.known:
        return f"{len(distinct)} valid co-signature(s); no witness policy given"
    known = [signer for signer in distinct if signer in policy.known]
    unknown = [signer for signer in distinct if signer not in policy.known]
    said = f"{len(known)} of {len(policy.known)} known witnesses co-signed"
    if known:
        said += f" ({', '.join(known)})"
    if unknown:
        said += "; " + ", ".join(f"unknown witness {signer}" for signer in unknown) + " not counted"
    if len(known) < policy.required:
        raise CheckFailedError(f"{said}; {policy.required} required")
    return f"{said}; {policy.required} required"
