"""Building a proof bundle: the index says which logs put the asset on the chain; the node
gives their raw form, the contracts' code hashes and the state at its latest block."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import Engine
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import LogReceipt, TxReceipt

from provledger.chain.artifacts import load_artifact
from provledger.chain.deployments import Deployment
from provledger.chain.serialize import asset_hex, event_args
from provledger.merkle import batch_leaf_hash, process_proof
from provledger.services.proofs.evidence import CheckpointSource
from provledger.services.proofs.format import (
    BUNDLE_VERSION,
    CHECKPOINTED_VERSION,
    BatchClaim,
    ContractClaim,
    LogClaim,
    ProofBundle,
    ProofUnavailableError,
    bundle_json,
)
from provledger.services.proofs.node import (
    ProofNode,
    asset_record,
    batch_record,
    decode_log,
    raw_log,
)
from provledger.services.reads import NotFoundError
from provledger.store import proofs as proof_rows
from provledger.store.proofs import EventRow, RegistrationTrail


def _node_log(node: ProofNode, row: EventRow, asset: str) -> tuple[TxReceipt, LogReceipt]:
    """The node's copy of an indexed log; refused if the node's chain moved away from it."""
    stale = ProofUnavailableError(
        asset,
        f"the node does not hold the indexed {row.event} log {row.log_index} of transaction "
        f"{row.tx_hash} in block {row.block_hash}; the index may be behind a reorg "
        "(let `provledger index` catch up)",
    )
    try:
        receipt = node.receipt(bytes(HexBytes(row.tx_hash)))
    except TransactionNotFound:
        raise stale from None
    if HexBytes(receipt["blockHash"]).to_0x_hex() != row.block_hash:
        raise stale
    for log in receipt["logs"]:
        if int(log["logIndex"]) == row.log_index and str(log["address"]).lower() == row.contract:
            return receipt, log
    raise stale


def _log_claim(
    node: ProofNode, row: EventRow, names: Mapping[str, str], asset: str, where: str
) -> LogClaim:
    receipt, log = _node_log(node, row, asset)
    topics, data = raw_log(log)
    return LogClaim(
        where=where,
        contract=names[row.contract],
        event=row.event,
        tx_hash=bytes(HexBytes(row.tx_hash)),
        tx_index=int(receipt["transactionIndex"]),
        block_number=int(receipt["blockNumber"]),
        block_hash=bytes(HexBytes(row.block_hash)),
        log_index=row.log_index,
        topics=topics,
        data=data,
        args=event_args(decode_log(topics, data)),
    )


def _promotion_path(w3: Web3, deployment: Deployment, tx_hash: str, asset: str) -> list[bytes]:
    """The Merkle path the promote transaction carried (``BatchAnchor.promote(root, proof,
    registration)``)."""
    transaction = w3.eth.get_transaction(HexBytes(tx_hash))
    anchor = deployment.address("BatchAnchor")
    if transaction.get("to") != anchor:
        raise ProofUnavailableError(
            asset,
            f"transaction {tx_hash} called {transaction.get('to')}, not BatchAnchor at {anchor} "
            "(a promotion through another contract); its Merkle path cannot be read from it",
        )
    contract = w3.eth.contract(abi=list(load_artifact("BatchAnchor").abi))
    function, params = contract.decode_function_input(HexBytes(transaction["input"]).to_0x_hex())
    if function.fn_name != "promote":
        raise ProofUnavailableError(asset, f"transaction {tx_hash} is not a promote call")
    return [bytes(sibling) for sibling in params["proof"]]


def _batch_claim(
    node: ProofNode, deployment: Deployment, trail: RegistrationTrail, names: Mapping[str, str]
) -> BatchClaim:
    asset = trail.asset_id
    if trail.promotion is None or trail.anchor is None or trail.batch_root is None:
        raise ProofUnavailableError(asset, "the index holds no promotion or anchor of its batch")
    root = bytes(HexBytes(trail.batch_root))
    leaf = batch_leaf_hash(trail.content_hash)
    path = _promotion_path(node.w3, deployment, trail.promotion.tx_hash, asset)
    if process_proof(leaf, path) != root:  # the contract checked it; a mismatch is our bug
        raise ProofUnavailableError(asset, f"the promoted path does not reach root {root.hex()}")
    return BatchClaim(
        root=root,
        leaf=leaf,
        proof=tuple(path),
        promotion=_log_claim(node, trail.promotion, names, asset, "batch.promotion"),
        anchor=_log_claim(node, trail.anchor, names, asset, "batch.anchor"),
    )


def _contract_claims(
    node: ProofNode, deployment: Deployment, names: Sequence[str], block: int, asset: str
) -> dict[str, ContractClaim]:
    contracts = {}
    for name in dict.fromkeys(names):
        address = deployment.address(name)
        code_hash = node.code_hash(address, block)
        if code_hash is None:
            raise ProofUnavailableError(asset, f"{name} at {address} has no code at block {block}")
        contracts[name] = ContractClaim(address, code_hash)
    return contracts


def trail_proof(
    trail: RegistrationTrail,
    w3: Web3,
    deployment: Deployment,
    checkpoints: CheckpointSource | None = None,
) -> ProofBundle:
    """The proof of the asset the indexed ``trail`` registered, read from the node ``w3`` (its
    state at the node's latest block); with ``checkpoints``, a version 2 bundle carrying the
    checkpoint evidence of the registration's block (null while none covers it).

    Raises:
        ProofUnavailableError: the node does not hold the indexed logs (a reorg the index has
            not caught up with), or a promotion's Merkle path cannot be read.
    """
    key = trail.asset_id
    asset_id = int(key, 16)
    node = ProofNode(w3)
    names = {item.address.lower(): name for name, item in deployment.contracts.items()}
    head = w3.eth.get_block("latest")
    block = int(head["number"])
    registration = _log_claim(node, trail.registration, names, key, "registration")
    registry = deployment.address(registration.contract)
    asset = asset_record(w3, registry, asset_id, block)
    used = [registration.contract]
    batch = batch_state = None
    if trail.batch_root is not None:
        batch = _batch_claim(node, deployment, trail, names)
        used.append(batch.anchor.contract)
        anchor = deployment.address(batch.anchor.contract)
        batch_state = batch_record(w3, anchor, batch.root, block)
    chain_id = node.chain_id()
    evidence = None if checkpoints is None else checkpoints.evidence(node, registration, key)
    return ProofBundle(
        chain_id=chain_id,
        asset_id=asset_id,
        content_hash=bytes(HexBytes(trail.content_hash)),
        channel=trail.channel,
        contracts=_contract_claims(node, deployment, used, block, key),
        registration=registration,
        batch=batch,
        state_block=block,
        state_block_hash=bytes(head["hash"]),
        asset_record=asset,
        batch_record=batch_state,
        version=BUNDLE_VERSION if checkpoints is None else CHECKPOINTED_VERSION,
        checkpoint=evidence,
    )


def build_proof_bundle(
    engine: Engine,
    w3: Web3,
    deployment: Deployment,
    asset_id: int,
    *,
    checkpoints: CheckpointSource | None = None,
) -> dict[str, Any]:
    """The proof bundle of ``asset_id`` as JSON (:func:`bundle_json`), checkable with
    :func:`~provledger.services.proofs.checks.verify_proof_bundle`.

    The index says which logs registered the asset; their raw topics and data, the contracts'
    code hashes and the state are read from the node (``w3``), the state at its latest block.
    With ``checkpoints`` the bundle is version 2 and carries the checkpoint evidence.

    Raises:
        NotFoundError: the index does not hold the asset.
        ProofUnavailableError: the node does not hold the indexed logs (a reorg the index has
            not caught up with), or a promotion's Merkle path cannot be read.
    """
    key = asset_hex(asset_id)
    with engine.connect() as conn:
        trail = proof_rows.registration_trail(conn, key)
    if trail is None:
        raise NotFoundError("asset", key)
    return bundle_json(trail_proof(trail, w3, deployment, checkpoints))
