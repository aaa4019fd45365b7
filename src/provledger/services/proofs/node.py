"""What the builder and the checks read from a node: receipts, blocks, code, contract state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import LogReceipt, TxReceipt

from provledger.chain.client import AnchorClient, RegistryClient
from provledger.chain.events import DECODERS, Event
from provledger.chain.serialize import json_value
from provledger.chain.types import AssetState, BatchState
from provledger.services.proofs.format import LogClaim


def raw_log(log: LogReceipt) -> tuple[tuple[bytes, ...], bytes]:
    """A receipt log's raw topics and data."""
    return tuple(bytes(topic) for topic in log["topics"]), bytes(log["data"])


def decode_log(topics: Sequence[bytes], data: bytes) -> Event:
    """A raw provledger log as its typed event.

    Raises:
        ValueError: topic0 names no provledger event, or the log does not decode.
    """
    decoder = DECODERS.get(topics[0]) if topics else None
    if decoder is None:
        raise ValueError("topic0 is not a provledger event")
    return decoder(topics, data)


class ProofNode:
    """What proofs ask of a node, each receipt and block hash fetched once."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self._receipts: dict[bytes, TxReceipt] = {}
        self._hashes: dict[int, bytes] = {}
        self._chain_id: int | None = None

    def chain_id(self) -> int:
        """The chain the node serves (asked once)."""
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def head(self) -> int:
        """The node's latest block number. A node that fails to tell it gives no verdict on
        anything: its error is raised (the CLI's exit 3), where one that answers its head and
        then refuses a read has answered that read (a failed check)."""
        return int(self.w3.eth.block_number)

    def receipt(self, tx_hash: bytes) -> TxReceipt:
        """The receipt of a transaction (``TransactionNotFound`` if the node has none)."""
        if tx_hash not in self._receipts:
            self._receipts[tx_hash] = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        return self._receipts[tx_hash]

    def block_hash(self, number: int) -> bytes:
        """The hash of block ``number``."""
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
            if raw_log(log) == (claim.topics, claim.data):
                return to_checksum_address(log["address"])
        return None


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
