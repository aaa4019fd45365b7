"""The ``provledger-proof/1`` format: the typed bundle, its parser and its one serialiser.

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
from typing import Any, Final, NoReturn, TypeAlias

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from provledger.chain.serialize import asset_hex, hex_bytes
from provledger.errors import InputError, ProvledgerError
from provledger.params import MalformedHexError, parse_hex

#: The ``version`` field of every bundle this package builds and accepts.
BUNDLE_VERSION: Final = "provledger-proof/1"

#: The JSON Schema of :data:`BUNDLE_VERSION`, shipped with the package.
SCHEMA_FILE: Final[Traversable] = files(__package__ or __name__).joinpath(
    "proof-bundle.schema.json"
)


@cache
def bundle_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the ``provledger-proof/1`` format."""
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


# ------------------------------------------------------------------ errors


class MalformedProofBundleError(InputError):
    """A proof bundle that is not JSON, lacks a field, or holds a value of the wrong form."""

    field: str
    reason: str

    def _message(self) -> str:
        where = f"{self.field} " if self.field else ""
        return f"malformed proof bundle: {where}{self.reason}"


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
        "version": BUNDLE_VERSION,
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
    return data


# ------------------------------------------------------------------ parsing


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
    """Hex as the format writes it (:func:`provledger.params.parse_hex`: ``0x`` and hex digits,
    nothing around them), refused in the bundle's words."""
    try:
        if not isinstance(value, str):
            raise MalformedHexError(where, "prefix")
        return parse_hex(value, where, size)
    except MalformedHexError as error:
        if error.flaw == "prefix":
            reason = f"must be 0x-prefixed hex, got {_render(value)}"
        elif error.flaw == "length" and error.size is not None and error.digits % 2 == 0:
            reason = f"must be {error.size} bytes, got {error.digits // 2}"
        else:
            reason = f"is not hexadecimal: {_render(value)}"
        raise MalformedProofBundleError(where, reason) from None


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
