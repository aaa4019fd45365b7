"""The ``provledger-proof/1`` and ``/2`` formats: the typed bundle, its parser and its one
serialiser. Version 2 is version 1 with ``checkpoint``: the evidence that the registration's
block was checkpointed on a second chain (:class:`CheckpointClaim`).

:class:`ProofBundle` is the one model of a bundle. The builder fills it from the index and the
node, :func:`bundle_json` turns it into the JSON the gateway serves, and
:func:`parse_proof_bundle` turns JSON back into it for the checks. The format is published as a
JSON Schema beside this module (:data:`SCHEMA_FILE`, ``proof-bundle.schema.json``); every bundle
the builder makes validates against it, and the schema refuses whatever the parser refuses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, Final, TypeAlias

from eth_typing import ChecksumAddress

from provledger.chain.serialize import asset_hex, hex_bytes
from provledger.errors import ProvledgerError
from provledger.services.checkpoints import Checkpoint, CheckpointVenue, Cosignature
from provledger.services.proofs.fields import Fields, MalformedProofBundleError, render

#: The ``version`` of a bundle without checkpoint evidence (no checkpoints configured).
BUNDLE_VERSION: Final = "provledger-proof/1"
#: The ``version`` of a bundle with a ``checkpoint`` field (null while none covers its block).
CHECKPOINTED_VERSION: Final = "provledger-proof/2"
#: Every version the parser accepts.
BUNDLE_VERSIONS: Final = (BUNDLE_VERSION, CHECKPOINTED_VERSION)

#: The JSON Schema of :data:`BUNDLE_VERSION`, shipped with the package.
SCHEMA_FILE: Final[Traversable] = files(__package__ or __name__).joinpath(
    "proof-bundle.schema.json"
)


@cache
def bundle_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the ``provledger-proof/1`` and ``/2`` formats."""
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


# ------------------------------------------------------------------ errors


class ProofUnavailableError(ProvledgerError):
    """A proof cannot be built: the node does not hold what the index says, or a Merkle path
    cannot be recovered."""

    template = "cannot build a proof of asset {asset_id}: {reason}"
    asset_id: str
    reason: str


# ------------------------------------------------------------------ the model

#: A Merkle path: the sibling hashes from a leaf to the root, in OpenZeppelin's sorted-pair
#: form (no left/right flags), as ``MerkleProof.verify`` takes it.
MerklePath: TypeAlias = tuple[bytes, ...]


@dataclass(frozen=True)
class LogClaim:
    """One log as a bundle states it."""

    where: str
    """Its place in the bundle: ``registration``, ``batch.promotion`` or ``batch.anchor``."""
    contract: str
    """The name of the emitting contract: a key of :attr:`ProofBundle.contracts`."""
    event: str
    tx_hash: bytes
    tx_index: int
    block_number: int
    block_hash: bytes
    log_index: int
    topics: tuple[bytes, ...]
    data: bytes
    args: Mapping[str, Any]
    """The decoded fields, in declaration order, as JSON values (a check decodes ``topics``
    and ``data`` again and compares)."""


@dataclass(frozen=True)
class ContractClaim:
    """A contract as a bundle states it."""

    address: ChecksumAddress
    code_hash: bytes
    """keccak256 of its runtime code at the state block."""


@dataclass(frozen=True)
class BatchClaim:
    """The batch a promoted leaf came from, as a bundle states it."""

    root: bytes
    leaf: bytes
    """The Merkle leaf of the content hash, ``keccak(keccak(content_hash))``."""
    proof: MerklePath
    """The path from the leaf to the root, as the promote transaction carried it."""
    promotion: LogClaim
    anchor: LogClaim


@dataclass(frozen=True)
class CheckpointClaim:
    """Version 2: the checkpoint on the target chain that holds the registration's block."""

    venue: CheckpointVenue
    """The target chain and its Checkpoint contract."""
    code_hash: bytes
    """keccak256 of the contract's runtime code."""
    tx_hash: bytes
    block_number: int
    block_hash: bytes
    log_index: int
    checkpoint: Checkpoint
    """What the ``CheckpointSubmitted`` log states; its source chain is the bundle's."""
    block: tuple[int, bytes]
    """The evidenced source block (number, hash): the registration log's."""
    proof: MerklePath
    """The block's leaf's path to ``checkpoint.root``."""
    witnesses: tuple[Cosignature, ...]


@dataclass(frozen=True)
class ProofBundle:
    """A well-formed proof bundle: built, or parsed (its claims are not checked yet)."""

    chain_id: int
    asset_id: int
    content_hash: bytes
    channel: str
    """How the asset was registered: ``DIRECT``, ``SIGNED`` (a relayed signature) or ``BATCH``
    (promoted from a batch leaf)."""
    contracts: Mapping[str, ContractClaim]
    """The contracts that emitted the logs, by name."""
    registration: LogClaim
    batch: BatchClaim | None
    state_block: int
    """The block the state records were read at (the head when the bundle was built)."""
    state_block_hash: bytes
    asset_record: Mapping[str, Any] | None
    """The asset's record at the state block (``state.asset``); None: not registered there."""
    batch_record: Mapping[str, Any] | None
    """``batchOf(root)`` at the state block (``state.batch``), for a batch leaf."""
    version: str = BUNDLE_VERSION
    checkpoint: CheckpointClaim | None = None
    """Version 2's evidence; None in version 1, and in version 2 while no checkpoint covers
    the registration's block."""

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


# ------------------------------------------------------------------ serialising


def _log_json(claim: LogClaim) -> dict[str, Any]:
    return {
        "contract": claim.contract,
        "event": claim.event,
        "transaction_hash": hex_bytes(claim.tx_hash),
        "transaction_index": claim.tx_index,
        "block_number": claim.block_number,
        "block_hash": hex_bytes(claim.block_hash),
        "log_index": claim.log_index,
        "topics": [hex_bytes(topic) for topic in claim.topics],
        "data": hex_bytes(claim.data),
        "args": dict(claim.args),
    }


def _nullable(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if record is None else dict(record)


def bundle_json(bundle: ProofBundle) -> dict[str, Any]:
    """The bundle as JSON, fields in the published order (the one serialiser of the format:
    the gateway's ``/assets/{id}/proof`` and ``provledger proof`` write what this returns).

    ``batch`` and ``state.batch`` appear for a batch leaf only; hex is lowercase with ``0x``.
    """
    state: dict[str, Any] = {
        "block_number": bundle.state_block,
        "block_hash": hex_bytes(bundle.state_block_hash),
        "asset": _nullable(bundle.asset_record),
    }
    data: dict[str, Any] = {
        "version": bundle.version,
        "chain_id": bundle.chain_id,
        "asset_id": asset_hex(bundle.asset_id),
        "content_hash": hex_bytes(bundle.content_hash),
        "channel": bundle.channel,
        "contracts": {
            name: {"address": contract.address, "code_hash": hex_bytes(contract.code_hash)}
            for name, contract in bundle.contracts.items()
        },
        "registration": _log_json(bundle.registration),
    }
    if bundle.batch is not None:
        batch = bundle.batch
        data["batch"] = {
            "root": hex_bytes(batch.root),
            "leaf": hex_bytes(batch.leaf),
            "proof": [hex_bytes(sibling) for sibling in batch.proof],
            "promotion": _log_json(batch.promotion),
            "anchor": _log_json(batch.anchor),
        }
        state["batch"] = _nullable(bundle.batch_record)
    data["state"] = state
    if bundle.version == CHECKPOINTED_VERSION:
        data["checkpoint"] = (
            None if bundle.checkpoint is None else _checkpoint_json(bundle.checkpoint)
        )
    return data


def _checkpoint_json(claim: CheckpointClaim) -> dict[str, Any]:
    checkpoint = claim.checkpoint
    number, block_hash = claim.block
    return {
        "chain_id": claim.venue.chain_id,
        "contract": {"address": claim.venue.contract, "code_hash": hex_bytes(claim.code_hash)},
        "transaction_hash": hex_bytes(claim.tx_hash),
        "block_number": claim.block_number,
        "block_hash": hex_bytes(claim.block_hash),
        "log_index": claim.log_index,
        "sequence": checkpoint.sequence,
        "from_block": checkpoint.from_block,
        "to_block": checkpoint.to_block,
        "to_block_hash": hex_bytes(checkpoint.to_block_hash),
        "root": hex_bytes(checkpoint.root),
        "block": {"number": number, "hash": hex_bytes(block_hash)},
        "proof": [hex_bytes(sibling) for sibling in claim.proof],
        "witnesses": [cosignature.to_json() for cosignature in claim.witnesses],
    }


# ------------------------------------------------------------------ parsing

#: The fields of a bundle, of a log and of checkpoint evidence, in the order they are written.
BUNDLE_FIELDS: Final = (
    "version",
    "chain_id",
    "asset_id",
    "content_hash",
    "channel",
    "contracts",
    "registration",
    "batch",
    "state",
    "checkpoint",
)
LOG_FIELDS: Final = (
    "contract",
    "event",
    "transaction_hash",
    "transaction_index",
    "block_number",
    "block_hash",
    "log_index",
    "topics",
    "data",
    "args",
)
CHECKPOINT_FIELDS: Final = (
    "chain_id",
    "contract",
    "transaction_hash",
    "block_number",
    "block_hash",
    "log_index",
    "sequence",
    "from_block",
    "to_block",
    "to_block_hash",
    "root",
    "block",
    "proof",
    "witnesses",
)


def _log_claim(data: Fields, contracts: Mapping[str, ContractClaim]) -> LogClaim:
    contract = data.text("contract")
    if contract not in contracts:
        raise MalformedProofBundleError(
            data.where("contract"), f"names {contract!r}, which is not in 'contracts'"
        )
    data.only(*LOG_FIELDS)
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


def _nullable_record(data: Fields, key: str) -> Mapping[str, Any] | None:
    """An object that must be present and may be null (the record of nothing registered)."""
    return None if data.get(key) is None else data.obj(key).data


def _batch_claim(bundle: Fields, contracts: Mapping[str, ContractClaim]) -> BatchClaim | None:
    if not bundle.has("batch"):
        return None
    batch = bundle.obj("batch")
    batch.only("root", "leaf", "proof", "promotion", "anchor")
    return BatchClaim(
        root=batch.hex("root", 32),
        leaf=batch.hex("leaf", 32),
        proof=batch.hashes("proof"),
        promotion=_log_claim(batch.obj("promotion"), contracts),
        anchor=_log_claim(batch.obj("anchor"), contracts),
    )


def _contracts(data: Fields) -> dict[str, ContractClaim]:
    contracts = {}
    for name in data.data:
        contract = data.obj(name)
        contract.only("address", "code_hash")
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
    bundle = Fields(data, "")
    bundle.only(*BUNDLE_FIELDS)
    version = bundle.text("version")
    if version not in BUNDLE_VERSIONS:
        expected = " or ".join(map(repr, BUNDLE_VERSIONS))
        raise MalformedProofBundleError("version", f"is {version!r}, expected {expected}")
    chain_id = bundle.integer("chain_id")
    asset_id = int.from_bytes(bundle.hex("asset_id", 32), "big")
    content_hash = bundle.hex("content_hash", 32)
    channel = bundle.text("channel")
    contracts = _contracts(bundle.obj("contracts"))
    registration = _log_claim(bundle.obj("registration"), contracts)
    batch = _batch_claim(bundle, contracts)
    state = bundle.obj("state")
    state.only("block_number", "block_hash", "asset", "batch")
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
        version=version,
        checkpoint=_checkpoint_claim(bundle, version, chain_id),
    )


def _checkpoint_claim(bundle: Fields, version: str, chain_id: int) -> CheckpointClaim | None:
    if version != CHECKPOINTED_VERSION:
        if "checkpoint" in bundle.data:
            raise MalformedProofBundleError("checkpoint", f"is not a field of {version}")
        return None
    if bundle.get("checkpoint") is None:
        return None
    data = bundle.obj("checkpoint")
    data.only(*CHECKPOINT_FIELDS)
    contract = data.obj("contract")
    contract.only("address", "code_hash")
    block = data.obj("block")
    block.only("number", "hash")
    sequence = data.integer("sequence")
    if sequence == 0:
        raise MalformedProofBundleError(data.where("sequence"), "must be 1 or more, got 0")
    witnesses = data.get("witnesses")
    if not isinstance(witnesses, list):
        raise MalformedProofBundleError(
            data.where("witnesses"), f"must be a list, got {render(witnesses)}"
        )
    cosignatures = []
    for i, item in enumerate(witnesses):
        fields = Fields(item, f"{data.where('witnesses')}[{i}]")
        fields.only("witness", "signature")
        cosignatures.append(Cosignature(fields.address("witness"), fields.hex("signature", 65)))
    return CheckpointClaim(
        venue=CheckpointVenue(data.integer("chain_id"), contract.address("address")),
        code_hash=contract.hex("code_hash", 32),
        tx_hash=data.hex("transaction_hash", 32),
        block_number=data.integer("block_number"),
        block_hash=data.hex("block_hash", 32),
        log_index=data.integer("log_index"),
        checkpoint=Checkpoint(
            source_chain_id=chain_id,
            sequence=sequence,
            from_block=data.integer("from_block"),
            to_block=data.integer("to_block"),
            to_block_hash=data.hex("to_block_hash", 32),
            root=data.hex("root", 32),
        ),
        block=(block.integer("number"), block.hex("hash", 32)),
        proof=data.hashes("proof"),
        witnesses=tuple(cosignatures),
    )
