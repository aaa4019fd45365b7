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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final, NoReturn, TypeVar

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from sqlalchemy import Engine
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception
from web3.types import LogReceipt, TxReceipt

from provledger.chain.artifacts import load_artifact
from provledger.chain.client import AnchorClient, RegistryClient
from provledger.chain.deployments import Deployment
from provledger.chain.events import DECODERS, AssetRegistered, BatchAnchored, Event, LeafPromoted
from provledger.chain.ids import asset_id as asset_id_of
from provledger.chain.serialize import asset_hex, event_args, hex_bytes, json_value
from provledger.chain.types import AssetState, BatchState
from provledger.errors import InputError, ProvledgerError, ServiceUnavailable
from provledger.merkle import batch_leaf_hash, process_proof
from provledger.services.provenance import NotFoundError
from provledger.store import proofs as proof_rows
from provledger.store.proofs import EventRow

#: The ``version`` field of every bundle this module builds and accepts.
BUNDLE_VERSION: Final = "provledger-proof/1"

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
}
BATCH_CHECKS: Final = frozenset({"merkle", "anchor"})

E = TypeVar("E", bound=Event)


# ------------------------------------------------------------------ errors


class MalformedProofBundleError(InputError):
    """A proof bundle that is not JSON, lacks a field, or holds a value of the wrong form."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        where = f"{field} " if field else ""
        super().__init__(f"malformed proof bundle: {where}{reason}")


class ProofUnavailableError(ProvledgerError):
    """A proof cannot be built: the node does not hold what the index says, or a Merkle path
    cannot be recovered."""

    def __init__(self, asset_id: str, reason: str) -> None:
        self.asset_id = asset_id
        self.reason = reason
        super().__init__(f"cannot build a proof of asset {asset_id}: {reason}")


# ------------------------------------------------------------------ the bundle, parsed


@dataclass(frozen=True)
class LogClaim:
    """One log as a bundle states it."""

    where: str
    """Its place in the bundle: ``registration``, ``batch.promotion`` or ``batch.anchor``."""
    contract: str
    event: str
    tx_hash: bytes
    tx_index: int
    block_number: int
    block_hash: bytes
    log_index: int
    topics: tuple[bytes, ...]
    data: bytes
    args: Mapping[str, Any]


@dataclass(frozen=True)
class ContractClaim:
    """A contract as a bundle states it."""

    address: ChecksumAddress
    code_hash: bytes


@dataclass(frozen=True)
class BatchClaim:
    """The batch a promoted leaf came from, as a bundle states it."""

    root: bytes
    leaf: bytes
    proof: tuple[bytes, ...]
    promotion: LogClaim
    anchor: LogClaim


@dataclass(frozen=True)
class ProofBundle:
    """A parsed, well-formed proof bundle (its claims are not checked yet)."""

    chain_id: int
    asset_id: int
    content_hash: bytes
    channel: str
    contracts: Mapping[str, ContractClaim]
    registration: LogClaim
    batch: BatchClaim | None
    state_block: int
    state_block_hash: bytes
    asset_record: Mapping[str, Any] | None
    """The asset's record at the state block (``state.asset``); None: not registered there."""
    batch_record: Mapping[str, Any] | None
    """``batchOf(root)`` at the state block (``state.batch``), for a batch leaf."""

    @property
    def logs(self) -> tuple[LogClaim, ...]:
        """Every log the bundle states."""
        if self.batch is None:
            return (self.registration,)
        return (self.registration, self.batch.promotion, self.batch.anchor)

    @property
    def is_batch_leaf(self) -> bool:
        """Whether the batch checks apply: a batch section, or a BATCH registration."""
        return self.batch is not None or self.channel == "BATCH"


def _render(value: object) -> str:
    """A value as it would read in JSON, shortened for a one-line message."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value) if isinstance(value, str | int | float | bool | None) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Fields:
    """Typed access to one JSON object of a bundle; errors name the field's path."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            self._fail(path, f"must be an object, got {_render(data)}")
        self.data: Mapping[str, Any] = data
        self.path = path

    @staticmethod
    def _fail(path: str, reason: str) -> NoReturn:
        raise MalformedProofBundleError(path, reason)

    def where(self, key: str | int) -> str:
        """The path of ``key`` in this object."""
        return f"{self.path}.{key}" if self.path else str(key)

    def get(self, key: str) -> Any:
        """The value of ``key``; it must be present."""
        if key not in self.data:
            self._fail(self.where(key), "is missing")
        return self.data[key]

    def has(self, key: str) -> bool:
        """Whether ``key`` is present and not null."""
        return self.data.get(key) is not None

    def integer(self, key: str) -> int:
        """A non-negative integer."""
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self._fail(self.where(key), f"must be a non-negative integer, got {_render(value)}")
        return value

    def text(self, key: str) -> str:
        """A string."""
        value = self.get(key)
        if not isinstance(value, str):
            self._fail(self.where(key), f"must be a string, got {_render(value)}")
        return value

    def hex(self, key: str, size: int | None = None) -> bytes:
        """``0x`` hex; exactly ``size`` bytes when given."""
        return _hex(self.get(key), self.where(key), size)

    def address(self, key: str) -> ChecksumAddress:
        """An address: ``0x`` and 40 hex digits."""
        raw = self.hex(key, 20)
        return to_checksum_address(raw)

    def obj(self, key: str) -> _Fields:
        """A nested object."""
        return _Fields(self.get(key), self.where(key))

    def hashes(self, key: str) -> tuple[bytes, ...]:
        """A list of 32-byte hex values."""
        value = self.get(key)
        if not isinstance(value, list):
            self._fail(self.where(key), f"must be a list, got {_render(value)}")
        return tuple(_hex(item, f"{self.where(key)}[{i}]", 32) for i, item in enumerate(value))


def _hex(value: object, where: str, size: int | None) -> bytes:
    if not isinstance(value, str) or value[:2] not in ("0x", "0X"):
        raise MalformedProofBundleError(where, f"must be 0x-prefixed hex, got {_render(value)}")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise MalformedProofBundleError(where, f"is not hexadecimal: {_render(value)}") from None
    if size is not None and len(raw) != size:
        raise MalformedProofBundleError(where, f"must be {size} bytes, got {len(raw)}")
    return raw


def _log_claim(data: _Fields, contracts: Mapping[str, ContractClaim]) -> LogClaim:
    contract = data.text("contract")
    if contract not in contracts:
        raise MalformedProofBundleError(
            data.where("contract"), f"names {contract!r}, which is not in 'contracts'"
        )
    return LogClaim(
        where=data.path,
        contract=contract,
        event=data.text("event"),
        tx_hash=data.hex("transaction_hash", 32),
        tx_index=data.integer("transaction_index"),
        block_number=data.integer("block_number"),
        block_hash=data.hex("block_hash", 32),
        log_index=data.integer("log_index"),
        topics=data.hashes("topics"),
        data=data.hex("data"),
        args=data.obj("args").data,
    )


def _nullable_record(data: _Fields, key: str) -> Mapping[str, Any] | None:
    """An object that must be present and may be null (the record of nothing registered)."""
    return None if data.get(key) is None else data.obj(key).data


def _batch_claim(bundle: _Fields, contracts: Mapping[str, ContractClaim]) -> BatchClaim | None:
    if not bundle.has("batch"):
        return None
    batch = bundle.obj("batch")
    return BatchClaim(
        root=batch.hex("root", 32),
        leaf=batch.hex("leaf", 32),
        proof=batch.hashes("proof"),
        promotion=_log_claim(batch.obj("promotion"), contracts),
        anchor=_log_claim(batch.obj("anchor"), contracts),
    )


def _contracts(data: _Fields) -> dict[str, ContractClaim]:
    contracts = {}
    for name in data.data:
        contract = data.obj(name)
        contracts[str(name)] = ContractClaim(
            contract.address("address"), contract.hex("code_hash", 32)
        )
    return contracts


def parse_proof_bundle(data: object) -> ProofBundle:
    """Check a bundle's form (fields present, hex well formed) and return it typed.

    Raises:
        MalformedProofBundleError: the first field that is missing or malformed (in the order
            the bundle lists them), by its path.
    """
    bundle = _Fields(data, "")
    version = bundle.text("version")
    if version != BUNDLE_VERSION:
        raise MalformedProofBundleError("version", f"is {version!r}, expected {BUNDLE_VERSION!r}")
    chain_id = bundle.integer("chain_id")
    asset_id = int.from_bytes(bundle.hex("asset_id", 32), "big")
    content_hash = bundle.hex("content_hash", 32)
    channel = bundle.text("channel")
    contracts = _contracts(bundle.obj("contracts"))
    registration = _log_claim(bundle.obj("registration"), contracts)
    batch = _batch_claim(bundle, contracts)
    state = bundle.obj("state")
    return ProofBundle(
        chain_id=chain_id,
        asset_id=asset_id,
        content_hash=content_hash,
        channel=channel,
        contracts=contracts,
        registration=registration,
        batch=batch,
        state_block=state.integer("block_number"),
        state_block_hash=state.hex("block_hash", 32),
        asset_record=_nullable_record(state, "asset"),
        batch_record=_nullable_record(state, "batch") if batch is not None else None,
    )


# ------------------------------------------------------------------ the node


class _Node:
    """What the checks ask of a node, each receipt, block and code fetched once."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self._receipts: dict[bytes, TxReceipt] = {}
        self._hashes: dict[int, bytes] = {}

    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def receipt(self, tx_hash: bytes) -> TxReceipt:
        if tx_hash not in self._receipts:
            self._receipts[tx_hash] = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        return self._receipts[tx_hash]

    def block_hash(self, number: int) -> bytes:
        if number not in self._hashes:
            self._hashes[number] = bytes(self.w3.eth.get_block(number)["hash"])
        return self._hashes[number]

    def code_hash(self, address: ChecksumAddress, block: int) -> bytes | None:
        """keccak256 of the runtime code at ``address`` in ``block``; None if there is none."""
        code = bytes(self.w3.eth.get_code(address, block_identifier=block))
        return keccak(code) if code else None

    def emitter(self, claim: LogClaim) -> ChecksumAddress | None:
        """The address that emitted a log with the claim's topics and data in its transaction;
        None if the transaction is unknown or holds no such log."""
        try:
            logs = self.receipt(claim.tx_hash)["logs"]
        except TransactionNotFound:
            return None
        for log in logs:
            if _raw(log) == (claim.topics, claim.data):
                return to_checksum_address(log["address"])
        return None


def _raw(log: LogReceipt) -> tuple[tuple[bytes, ...], bytes]:
    return tuple(bytes(topic) for topic in log["topics"]), bytes(log["data"])


def _record_json(record: AssetState | BatchState, skip: str) -> dict[str, Any]:
    """A chain record as JSON, without its key field ``skip`` (the bundle names it once)."""
    return {
        item.name: json_value(item.name, getattr(record, item.name))
        for item in fields(record)
        if item.name != skip
    }


def asset_record(
    w3: Web3, registry: ChecksumAddress, asset_id: int, block: int
) -> dict[str, Any] | None:
    """The registry's record of an asset at ``block`` (``assetOf``, ``ownerOf``,
    ``metadataHashOf``) as JSON; None if it is not registered there."""
    state = RegistryClient(w3, registry, None).asset(asset_id, block=block)
    return None if state is None else _record_json(state, "asset_id")


def batch_record(
    w3: Web3, anchor: ChecksumAddress, root: bytes, block: int
) -> dict[str, Any] | None:
    """``batchOf(root)`` at ``block`` as JSON; None if the root is not anchored there."""
    client = AnchorClient(w3, anchor, None)
    raw = client.contract.functions.batchOf(root).call(block_identifier=block)
    if int(raw[2]) == 0:  # anchoredAt: zero for a root never anchored
        return None
    return _record_json(BatchState.from_abi(root, raw), "root")


# ------------------------------------------------------------------ building a bundle


def _decode(topics: Sequence[bytes], data: bytes) -> Event:
    decoder = DECODERS.get(topics[0]) if topics else None
    if decoder is None:
        raise ValueError("topic0 is not a provledger event")
    return decoder(topics, data)


def _node_log(node: _Node, row: EventRow, asset: str) -> tuple[TxReceipt, LogReceipt]:
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


def _log_json(node: _Node, row: EventRow, names: Mapping[str, str], asset: str) -> dict[str, Any]:
    receipt, log = _node_log(node, row, asset)
    topics, data = _raw(log)
    return {
        "contract": names[row.contract],
        "event": row.event,
        "transaction_hash": row.tx_hash,
        "transaction_index": int(receipt["transactionIndex"]),
        "block_number": int(receipt["blockNumber"]),
        "block_hash": row.block_hash,
        "log_index": row.log_index,
        "topics": [hex_bytes(topic) for topic in topics],
        "data": hex_bytes(data),
        "args": event_args(_decode(topics, data)),
    }


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


def _batch_json(
    node: _Node,
    deployment: Deployment,
    trail: proof_rows.RegistrationTrail,
    names: Mapping[str, str],
) -> dict[str, Any]:
    asset = trail.asset_id
    if trail.promotion is None or trail.anchor is None or trail.batch_root is None:
        raise ProofUnavailableError(asset, "the index holds no promotion or anchor of its batch")
    root = bytes(HexBytes(trail.batch_root))
    leaf = batch_leaf_hash(trail.content_hash)
    path = _promotion_path(node.w3, deployment, trail.promotion.tx_hash, asset)
    if process_proof(leaf, path) != root:  # the contract checked it; a mismatch is our bug
        raise ProofUnavailableError(asset, f"the promoted path does not reach root {root.hex()}")
    return {
        "root": trail.batch_root,
        "leaf": hex_bytes(leaf),
        "proof": [hex_bytes(sibling) for sibling in path],
        "promotion": _log_json(node, trail.promotion, names, asset),
        "anchor": _log_json(node, trail.anchor, names, asset),
    }


def _contracts_json(
    node: _Node, deployment: Deployment, names: Sequence[str], block: int, asset: str
) -> dict[str, Any]:
    contracts = {}
    for name in dict.fromkeys(names):
        address = deployment.address(name)
        code_hash = node.code_hash(address, block)
        if code_hash is None:
            raise ProofUnavailableError(asset, f"{name} at {address} has no code at block {block}")
        contracts[name] = {"address": address, "code_hash": hex_bytes(code_hash)}
    return contracts


def build_proof_bundle(
    engine: Engine, w3: Web3, deployment: Deployment, asset_id: int
) -> dict[str, Any]:
    """The proof bundle of ``asset_id``: JSON-ready, checkable with :func:`verify_proof_bundle`.

    The index says which logs registered the asset; their raw topics and data, the contracts'
    code hashes and the state are read from the node (``w3``), the state at its latest block.

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
    node = _Node(w3)
    names = {item.address.lower(): name for name, item in deployment.contracts.items()}
    head = w3.eth.get_block("latest")
    block = int(head["number"])
    registration = _log_json(node, trail.registration, names, key)
    registry = deployment.address(registration["contract"])
    state: dict[str, Any] = {
        "block_number": block,
        "block_hash": HexBytes(head["hash"]).to_0x_hex(),
        "asset": asset_record(w3, registry, asset_id, block),
    }
    used = [registration["contract"]]
    batch = None
    if trail.batch_root is not None:
        batch = _batch_json(node, deployment, trail, names)
        used.append(batch["anchor"]["contract"])
        anchor = deployment.address(batch["anchor"]["contract"])
        state["batch"] = batch_record(w3, anchor, bytes(HexBytes(trail.batch_root)), block)
    bundle: dict[str, Any] = {
        "version": BUNDLE_VERSION,
        "chain_id": node.chain_id(),
        "asset_id": key,
        "content_hash": trail.content_hash,
        "channel": trail.channel,
        "contracts": _contracts_json(node, deployment, used, block, key),
        "registration": registration,
    }
    if batch is not None:
        bundle["batch"] = batch
    bundle["state"] = state
    return bundle


# ------------------------------------------------------------------ checking a bundle


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    name: str
    """One of :data:`CHECKS`."""
    title: str
    """What passing it proves."""
    passed: bool
    reason: str
    """One line: what was found."""


@dataclass(frozen=True)
class ProofReport:
    """Every check of a bundle, in the order of :data:`CHECKS`."""

    asset_id: str
    chain_id: int
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the failed checks."""
        return tuple(check.name for check in self.checks if not check.passed)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "ok": self.ok,
            "asset_id": self.asset_id,
            "chain_id": self.chain_id,
            "checks": [
                {"name": c.name, "title": c.title, "passed": c.passed, "reason": c.reason}
                for c in self.checks
            ],
        }


class _Failed(Exception):
    """A check found a claim the node (or arithmetic) contradicts; the message says which."""


def _hexs(raw: bytes) -> str:
    return "0x" + raw.hex()


def _tx(claim: LogClaim) -> str:
    return f"transaction {_hexs(claim.tx_hash)}"


def _check_chain(proof: ProofBundle, node: _Node) -> str:
    actual = node.chain_id()
    if actual != proof.chain_id:
        raise _Failed(f"the node serves chain {actual}, the bundle names chain {proof.chain_id}")
    return f"the node serves chain {actual}"


def _receipt_of(node: _Node, claim: LogClaim) -> TxReceipt:
    try:
        return node.receipt(claim.tx_hash)
    except TransactionNotFound:
        raise _Failed(f"{claim.where}: {_tx(claim)} is unknown to the node") from None


def _check_receipt(proof: ProofBundle, node: _Node) -> str:
    found = []
    for claim in proof.logs:
        receipt = _receipt_of(node, claim)
        if int(receipt["status"]) != 1:
            raise _Failed(f"{claim.where}: {_tx(claim)} reverted")
        if int(receipt["transactionIndex"]) != claim.tx_index:
            raise _Failed(
                f"{claim.where}: {_tx(claim)} has index {receipt['transactionIndex']} in its "
                f"block, the bundle says {claim.tx_index}"
            )
        indices = [int(log["logIndex"]) for log in receipt["logs"]]
        if claim.log_index not in indices:
            raise _Failed(
                f"{claim.where}: {_tx(claim)} has no log {claim.log_index} "
                f"(its logs: {', '.join(map(str, indices)) or 'none'})"
            )
        log = receipt["logs"][indices.index(claim.log_index)]
        if _raw(log) != (claim.topics, claim.data):
            raise _Failed(
                f"{claim.where}: log {claim.log_index} of {_tx(claim)} has other topics or data "
                "than the bundle states"
            )
        found.append(f"{claim.event} is log {claim.log_index} of {_tx(claim)}")
    return "; ".join(found)


def _check_block(proof: ProofBundle, node: _Node) -> str:
    found = []
    for claim in proof.logs:
        receipt = _receipt_of(node, claim)
        number = int(receipt["blockNumber"])
        if number != claim.block_number:
            raise _Failed(
                f"{claim.where}: {_tx(claim)} is in block {number}, "
                f"the bundle says {claim.block_number}"
            )
        actual = node.block_hash(number)
        if actual != claim.block_hash or bytes(receipt["blockHash"]) != claim.block_hash:
            raise _Failed(
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
        event = _decode(claim.topics, claim.data)
    except (ValueError, ProvledgerError) as error:
        raise _Failed(f"{claim.where}: the log does not decode: {error}") from None
    if not isinstance(event, kind) or claim.event != kind.NAME:
        raise _Failed(
            f"{claim.where}: the log is {type(event).NAME}, the bundle says {claim.event} "
            f"(expected {kind.NAME})"
        )
    difference = _args_difference(claim.args, event_args(event))
    if difference is not None:
        raise _Failed(f"{claim.where}: {difference}")
    return event


def _tie(condition: bool, reason: str) -> None:
    if not condition:
        raise _Failed(reason)


def _check_event(proof: ProofBundle, node: _Node) -> str:
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


def _check_contract(proof: ProofBundle, node: _Node) -> str:
    for claim in proof.logs:
        stated = proof.contracts[claim.contract].address
        _receipt_of(node, claim)  # an unknown transaction, said as such
        emitter = node.emitter(claim)
        if emitter is None:
            raise _Failed(f"{claim.where}: {_tx(claim)} holds no log with the stated contents")
        if emitter != stated:
            raise _Failed(
                f"{claim.where}: the log was emitted by {emitter}, "
                f"not by {claim.contract} at {stated}"
            )
    found = []
    for name, contract in proof.contracts.items():
        actual = node.code_hash(contract.address, proof.state_block)
        if actual != contract.code_hash:
            have = "no code" if actual is None else f"code hash {_hexs(actual)}"
            raise _Failed(
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
        event = _decode(proof.registration.topics, proof.registration.data)
    except (ValueError, ProvledgerError):
        return proof.asset_id, proof.content_hash
    if not isinstance(event, AssetRegistered):
        return proof.asset_id, proof.content_hash
    return event.asset_id, event.content_hash


def _batch(proof: ProofBundle) -> BatchClaim:
    if proof.batch is None:
        raise _Failed("the asset was registered from a batch, but the bundle has no batch section")
    return proof.batch


def _check_merkle(proof: ProofBundle, node: _Node) -> str:
    batch = _batch(proof)
    _, content_hash = _subject(proof)
    leaf = batch_leaf_hash(content_hash)
    if leaf != batch.leaf:
        raise _Failed(
            f"the leaf of content hash {_hexs(content_hash)} is {_hexs(leaf)}, "
            f"the bundle says {_hexs(batch.leaf)}"
        )
    reached = process_proof(leaf, batch.proof)
    if reached != batch.root:
        raise _Failed(
            f"the path of {len(batch.proof)} sibling(s) leads to {_hexs(reached)}, "
            f"not to root {_hexs(batch.root)}"
        )
    return f"{len(batch.proof)} sibling(s) lead from leaf {_hexs(leaf)} to root {_hexs(reached)}"


def _difference(what: str, stated: Mapping[str, Any], actual: Mapping[str, Any]) -> str | None:
    for key in sorted(set(stated) | set(actual)):
        if key not in stated or key not in actual or not _same(stated[key], actual[key]):
            return (
                f"{what}.{key} is {json.dumps(actual.get(key))} on chain, "
                f"the bundle says {json.dumps(stated.get(key))}"
            )
    return None


def _check_anchor(proof: ProofBundle, node: _Node) -> str:
    batch = _batch(proof)
    # Read from the contract that emitted the logs, so a wrong address fails `contract` only.
    anchor = (
        node.emitter(batch.anchor)
        or node.emitter(batch.promotion)
        or proof.contracts[batch.anchor.contract].address
    )
    actual = batch_record(node.w3, anchor, batch.root, proof.state_block)
    if actual is None:
        raise _Failed(f"root {_hexs(batch.root)} is not anchored at block {proof.state_block}")
    difference = _difference("state.batch", proof.batch_record or {}, actual)
    if difference is not None:
        raise _Failed(difference)
    return (
        f"root {_hexs(batch.root)} anchored by {actual['submitter']} "
        f"({actual['leaf_count']} leaves), read at block {proof.state_block}"
    )


def _check_state(proof: ProofBundle, node: _Node) -> str:
    block = proof.state_block
    try:
        actual_hash = node.block_hash(block)
    except Web3Exception:
        raise _Failed(f"the node has no block {block}") from None
    if actual_hash != proof.state_block_hash:
        raise _Failed(
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
        raise _Failed(f"the asset is not registered at block {block}; the bundle states a record")
    if proof.asset_record is None:
        raise _Failed(f"the asset is registered at block {block}; the bundle states no record")
    difference = _difference("state.asset", proof.asset_record, actual)
    if difference is not None:
        raise _Failed(difference)
    return f"at block {block}: held by {actual['holder']}, status {actual['status']}"


_CHECKERS: Final[dict[str, Callable[[ProofBundle, _Node], str]]] = {
    "chain": _check_chain,
    "receipt": _check_receipt,
    "block": _check_block,
    "event": _check_event,
    "contract": _check_contract,
    "merkle": _check_merkle,
    "anchor": _check_anchor,
    "state": _check_state,
}


def _run(name: str, proof: ProofBundle, node: _Node) -> Check:
    try:
        return Check(name, CHECKS[name], True, _CHECKERS[name](proof, node))
    except _Failed as failure:
        return Check(name, CHECKS[name], False, str(failure))
    except ServiceUnavailable:
        raise  # a node that cannot be reached gives no verdict
    except (Web3Exception, ProvledgerError) as error:
        # The node refused a read (unknown block, a call that reverted): the claim that needed
        # it is not confirmed. Transport failures are not caught: they are no verdict.
        return Check(name, CHECKS[name], False, f"the node answered: {error}")


def verify_proof_bundle(bundle: Mapping[str, Any], w3: Web3) -> ProofReport:
    """Re-check ``bundle`` against the node ``w3``; each check of :data:`CHECKS` that applies
    is run and reported, whatever the others found.

    Raises:
        MalformedProofBundleError: the bundle is not well formed (see :func:`parse_proof_bundle`).
        ChainUnavailable: the node cannot be reached.
    """
    proof = parse_proof_bundle(bundle)
    node = _Node(w3)
    names = [name for name in CHECKS if proof.is_batch_leaf or name not in BATCH_CHECKS]
    return ProofReport(
        asset_id=asset_hex(proof.asset_id),
        chain_id=proof.chain_id,
        checks=tuple(_run(name, proof, node) for name in names),
    )
