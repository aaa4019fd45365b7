"""Checking a proof bundle against a node, check by check (the table is in the package's
docstring: :mod:`provledger.services.proofs`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception
from web3.types import TxReceipt

from provledger.chain.events import AssetRegistered, BatchAnchored, Event, LeafPromoted
from provledger.chain.ids import asset_id as asset_id_of
from provledger.chain.serialize import asset_hex, event_args
from provledger.errors import ProvledgerError
from provledger.merkle import batch_leaf_hash, process_proof
from provledger.services.proofs.checkpointed import (
    EVIDENCE_CHECKS,
    WitnessPolicy,
    check_checkpoint,
    check_witnesses,
)
from provledger.services.proofs.format import BatchClaim, LogClaim, ProofBundle, parse_proof_bundle
from provledger.services.proofs.node import (
    ProofNode,
    asset_record,
    batch_record,
    decode_log,
    raw_log,
)
from provledger.services.proofs.verdict import Check, CheckFailedError, Verdict, run_check

#: Check name -> what passing it proves, in the order checks run.
CHECKS: Final[dict[str, str]] = {
    "chain": "the node serves the bundle's chain",
    "receipt": "the receipt contains the log",
    "block": "the block hash matches",
    "event": "the log decodes to the claimed values",
    "contract": "the contract has the expected code hash",
    "merkle": "the Merkle path reaches the root",
    "anchor": "the root is anchored on chain",
    "state": "the on-chain state is as stated",
    **EVIDENCE_CHECKS,
}
BATCH_CHECKS: Final = frozenset({"merkle", "anchor"})

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class ProofReport(Verdict):
    """Every check of a bundle, in the order of :data:`CHECKS`."""

    asset_id: str
    chain_id: int
    checks: tuple[Check, ...]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "ok": self.ok,
            "asset_id": self.asset_id,
            "chain_id": self.chain_id,
            "checks": self.checks_json(),
        }


def _hexs(raw: bytes) -> str:
    return "0x" + raw.hex()


def _tx(claim: LogClaim) -> str:
    return f"transaction {_hexs(claim.tx_hash)}"


def _check_chain(proof: ProofBundle, node: ProofNode) -> str:
    actual = node.chain_id()
    if actual != proof.chain_id:
        raise CheckFailedError(
            f"the node serves chain {actual}, the bundle names chain {proof.chain_id}"
        )
    return f"the node serves chain {actual}"


def _receipt_of(node: ProofNode, claim: LogClaim) -> TxReceipt:
    try:
        return node.receipt(claim.tx_hash)
    except TransactionNotFound:
        raise CheckFailedError(f"{claim.where}: {_tx(claim)} is unknown to the node") from None


def _check_receipt(proof: ProofBundle, node: ProofNode) -> str:
    found = []
    for claim in proof.logs:
        receipt = _receipt_of(node, claim)
        if int(receipt["status"]) != 1:
            raise CheckFailedError(f"{claim.where}: {_tx(claim)} reverted")
        if int(receipt["transactionIndex"]) != claim.tx_index:
            raise CheckFailedError(
                f"{claim.where}: {_tx(claim)} has index {receipt['transactionIndex']} in its "
                f"block, the bundle says {claim.tx_index}"
            )
        indices = [int(log["logIndex"]) for log in receipt["logs"]]
        if claim.log_index not in indices:
            raise CheckFailedError(
                f"{claim.where}: {_tx(claim)} has no log {claim.log_index} "
                f"(its logs: {', '.join(map(str, indices)) or 'none'})"
            )
        log = receipt["logs"][indices.index(claim.log_index)]
        if raw_log(log) != (claim.topics, claim.data):
            raise CheckFailedError(
                f"{claim.where}: log {claim.log_index} of {_tx(claim)} has other topics or data "
                "than the bundle states"
            )
        found.append(f"{claim.event} is log {claim.log_index} of {_tx(claim)}")
    return "; ".join(found)


def _check_block(proof: ProofBundle, node: ProofNode) -> str:
    found = []
    for claim in proof.logs:
        receipt = _receipt_of(node, claim)
        number = int(receipt["blockNumber"])
        if number != claim.block_number:
            raise CheckFailedError(
                f"{claim.where}: {_tx(claim)} is in block {number}, "
                f"the bundle says {claim.block_number}"
            )
        actual = node.block_hash(number)
        if actual != claim.block_hash or bytes(receipt["blockHash"]) != claim.block_hash:
            raise CheckFailedError(
                f"{claim.where}: block {number} is {_hexs(actual)} on the node, "
                f"the bundle says {_hexs(claim.block_hash)}"
            )
        found.append(f"block {number} is {_hexs(actual)}")
    return "; ".join(dict.fromkeys(found))


def _same(a: object, b: object) -> bool:
    # JSON equality with types: 1, 1.0 and true are different claims
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _args_difference(claimed: Mapping[str, Any], decoded: Mapping[str, Any]) -> str | None:
    for key, value in decoded.items():
        if key not in claimed:
            return f"args.{key} is missing (the log says {json.dumps(value)})"
        if not _same(claimed[key], value):
            return (
                f"args.{key} is {json.dumps(value)} in the log, "
                f"the bundle says {json.dumps(claimed[key])}"
            )
    for key in claimed:
        if key not in decoded:
            return f"args.{key} is not a field of the event"
    return None


def _decoded(claim: LogClaim, kind: type[E]) -> E:
    """The claim's raw log decoded as ``kind``; its stated event name and args must agree."""
    try:
        event = decode_log(claim.topics, claim.data)
    except (ValueError, ProvledgerError) as error:
        raise CheckFailedError(f"{claim.where}: the log does not decode: {error}") from None
    if not isinstance(event, kind) or claim.event != kind.NAME:
        raise CheckFailedError(
            f"{claim.where}: the log is {type(event).NAME}, the bundle says {claim.event} "
            f"(expected {kind.NAME})"
        )
    difference = _args_difference(claim.args, event_args(event))
    if difference is not None:
        raise CheckFailedError(f"{claim.where}: {difference}")
    return event


def _tie(condition: bool, reason: str) -> None:
    if not condition:
        raise CheckFailedError(reason)


def _check_event(proof: ProofBundle, node: ProofNode) -> str:
    registered = _decoded(proof.registration, AssetRegistered)
    asset = asset_hex(proof.asset_id)
    _tie(registered.asset_id == proof.asset_id, f"the log registers another asset than {asset}")
    _tie(registered.content_hash == proof.content_hash, "the log names another content hash")
    _tie(
        asset_id_of(proof.content_hash) == proof.asset_id,
        f"content hash {_hexs(proof.content_hash)} does not derive asset id {asset}",
    )
    _tie(
        registered.channel.name == proof.channel,
        f"the asset was registered through channel {registered.channel.name}, "
        f"the bundle says {proof.channel}",
    )
    if proof.batch is not None:
        promoted = _decoded(proof.batch.promotion, LeafPromoted)
        anchored = _decoded(proof.batch.anchor, BatchAnchored)
        _tie(
            (promoted.asset_id, promoted.content_hash) == (proof.asset_id, proof.content_hash),
            "batch.promotion: the log promotes another leaf",
        )
        _tie(promoted.root == anchored.root == proof.batch.root, "the logs name another root")
    return f"{len(proof.logs)} log(s) decode to the stated values of asset {asset}"


def _check_contract(proof: ProofBundle, node: ProofNode) -> str:
    for claim in proof.logs:
        stated = proof.contracts[claim.contract].address
        _receipt_of(node, claim)  # an unknown transaction, said as such
        emitter = node.emitter(claim)
        if emitter is None:
            raise CheckFailedError(
                f"{claim.where}: {_tx(claim)} holds no log with the stated contents"
            )
        if emitter != stated:
            raise CheckFailedError(
                f"{claim.where}: the log was emitted by {emitter}, "
                f"not by {claim.contract} at {stated}"
            )
    found = []
    for name, contract in proof.contracts.items():
        actual = node.code_hash(contract.address, proof.state_block)
        if actual != contract.code_hash:
            have = "no code" if actual is None else f"code hash {_hexs(actual)}"
            raise CheckFailedError(
                f"{name} at {contract.address} has {have} at block {proof.state_block}, "
                f"the bundle says {_hexs(contract.code_hash)}"
            )
        found.append(f"{name} at {contract.address}")
    return "the logs' emitters have the stated code: " + ", ".join(found)


def _subject(proof: ProofBundle) -> tuple[int, bytes]:
    """The asset id and content hash the registration log's raw topics name (the log `receipt`
    holds against the node), or the stated ones if it does not decode. Checks other than
    `event` use these, so an altered ``asset_id`` or ``content_hash`` fails `event` alone."""
    try:
        event = decode_log(proof.registration.topics, proof.registration.data)
    except (ValueError, ProvledgerError):
        return proof.asset_id, proof.content_hash
    if not isinstance(event, AssetRegistered):
        return proof.asset_id, proof.content_hash
    return event.asset_id, event.content_hash


def _batch(proof: ProofBundle) -> BatchClaim:
    if proof.batch is None:
        raise CheckFailedError(
            "the asset was registered from a batch, but the bundle has no batch section"
        )
    return proof.batch


def _check_merkle(proof: ProofBundle, node: ProofNode) -> str:
    batch = _batch(proof)
    _, content_hash = _subject(proof)
    leaf = batch_leaf_hash(content_hash)
    if leaf != batch.leaf:
        raise CheckFailedError(
            f"the leaf of content hash {_hexs(content_hash)} is {_hexs(leaf)}, "
            f"the bundle says {_hexs(batch.leaf)}"
        )
    reached = reach_root(leaf, batch.proof, batch.root)
    return f"{len(batch.proof)} sibling(s) lead from leaf {_hexs(leaf)} to root {_hexs(reached)}"


def reach_root(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bytes:
    """The root the Merkle path ``proof`` leads to from ``leaf``, which must be ``root``;
    :class:`CheckFailedError` says where it leads instead."""
    reached = process_proof(leaf, proof)
    if reached != root:
        raise CheckFailedError(
            f"the path of {len(proof)} sibling(s) leads to {_hexs(reached)}, "
            f"not to root {_hexs(root)}"
        )
    return reached


def _difference(what: str, stated: Mapping[str, Any], actual: Mapping[str, Any]) -> str | None:
    for key in sorted(set(stated) | set(actual)):
        if key not in stated or key not in actual or not _same(stated[key], actual[key]):
            return (
                f"{what}.{key} is {json.dumps(actual.get(key))} on chain, "
                f"the bundle says {json.dumps(stated.get(key))}"
            )
    return None


def _check_anchor(proof: ProofBundle, node: ProofNode) -> str:
    batch = _batch(proof)
    # Read from the contract that emitted the logs, so a wrong address fails `contract` only.
    anchor = (
        node.emitter(batch.anchor)
        or node.emitter(batch.promotion)
        or proof.contracts[batch.anchor.contract].address
    )
    actual = batch_record(node.w3, anchor, batch.root, proof.state_block)
    if actual is None:
        raise CheckFailedError(
            f"root {_hexs(batch.root)} is not anchored at block {proof.state_block}"
        )
    difference = _difference("state.batch", proof.batch_record or {}, actual)
    if difference is not None:
        raise CheckFailedError(difference)
    return (
        f"root {_hexs(batch.root)} anchored by {actual['submitter']} "
        f"({actual['leaf_count']} leaves), read at block {proof.state_block}"
    )


def _check_state(proof: ProofBundle, node: ProofNode) -> str:
    block = proof.state_block
    try:
        actual_hash = node.block_hash(block)
    except Web3Exception:
        raise CheckFailedError(f"the node has no block {block}") from None
    if actual_hash != proof.state_block_hash:
        raise CheckFailedError(
            f"block {block} is {_hexs(actual_hash)} on the node, "
            f"the bundle says {_hexs(proof.state_block_hash)}"
        )
    registry = (
        node.emitter(proof.registration) or proof.contracts[proof.registration.contract].address
    )
    asset_id, _ = _subject(proof)
    actual = asset_record(node.w3, registry, asset_id, block)
    if actual is None and proof.asset_record is None:
        return f"the asset is not registered at block {block}, as stated"
    if actual is None:
        raise CheckFailedError(
            f"the asset is not registered at block {block}; the bundle states a record"
        )
    if proof.asset_record is None:
        raise CheckFailedError(
            f"the asset is registered at block {block}; the bundle states no record"
        )
    difference = _difference("state.asset", proof.asset_record, actual)
    if difference is not None:
        raise CheckFailedError(difference)
    return f"at block {block}: held by {actual['holder']}, status {actual['status']}"


def verify_proof_bundle(
    bundle: Mapping[str, Any],
    w3: Web3,
    *,
    target: Web3 | None = None,
    policy: WitnessPolicy | None = None,
) -> ProofReport:
    """Re-check ``bundle`` against the node ``w3``; each check of :data:`CHECKS` that applies
    is run and reported, whatever the others found.

    ``checkpoint`` and ``witnesses`` apply to a bundle carrying checkpoint evidence, and to any
    bundle when ``policy`` requires co-signatures; ``checkpoint`` reads the target chain's node
    ``target`` (without one it fails), ``witnesses`` counts the co-signers ``policy`` knows.

    Raises:
        MalformedProofBundleError: the bundle is not well formed (see :func:`parse_proof_bundle`).
        ChainUnavailableError: a node cannot be reached.
        Web3Exception: a node answers its latest block with an error.
    """
    proof = parse_proof_bundle(bundle)
    policy = policy or WitnessPolicy()
    node = ProofNode(w3)
    node.head()  # a node failing at its head gives no verdict: that is raised, not reported
    evidence = proof.checkpoint is not None or policy.demanding
    far = None
    if evidence and target is not None:
        far = ProofNode(target)
        far.head()
    checkers: dict[str, Callable[[], str]] = {
        "chain": lambda: _check_chain(proof, node),
        "receipt": lambda: _check_receipt(proof, node),
        "block": lambda: _check_block(proof, node),
        "event": lambda: _check_event(proof, node),
        "contract": lambda: _check_contract(proof, node),
        "merkle": lambda: _check_merkle(proof, node),
        "anchor": lambda: _check_anchor(proof, node),
        "state": lambda: _check_state(proof, node),
        "checkpoint": lambda: check_checkpoint(proof, node, far),
        "witnesses": lambda: check_witnesses(proof, policy),
    }
    names = [
        name
        for name in CHECKS
        if (proof.is_batch_leaf or name not in BATCH_CHECKS)
        and (evidence or name not in EVIDENCE_CHECKS)
    ]
    return ProofReport(
        asset_id=asset_hex(proof.asset_id),
        chain_id=proof.chain_id,
        checks=tuple(run_check(name, CHECKS[name], checkers[name]) for name in names),
    )
