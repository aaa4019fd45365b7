"""Checkpoints as recorded on the target chain, and witnesses' co-signatures of them.

A witness co-signs a checkpoint it has checked against its own view of the source chain with
an EIP-712 signature: domain ``{name: "provledger checkpoint", version: "1", chainId: the
target chain, verifyingContract: the Checkpoint contract}``, primary type
``Checkpoint(uint256 sourceChainId,uint64 sequence,uint64 fromBlock,uint64 toBlock,
bytes32 toBlockHash,bytes32 root)``. Anyone recovers the signer from the checkpoint and the
signature; which signers count is the verifier's policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from provledger.chain.eip712 import DOMAIN_TYPE, struct
from provledger.chain.events import CheckpointSubmitted
from provledger.chain.serialize import hex_bytes
from provledger.errors import InputError
from provledger.params import MalformedHexError, parse_hex
from provledger.services.checkpoints.tree import checkpoint_commitment

DOMAIN_NAME: Final = "provledger checkpoint"
DOMAIN_VERSION: Final = "1"
CHECKPOINT_TYPES: Final = {
    "Checkpoint": struct(
        sourceChainId="uint256",
        sequence="uint64",
        fromBlock="uint64",
        toBlock="uint64",
        toBlockHash="bytes32",
        root="bytes32",
    )
}


@dataclass(frozen=True)
class CheckpointVenue:
    """Where checkpoints are kept: a Checkpoint contract on a target chain."""

    chain_id: int
    contract: ChecksumAddress


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint of a source chain, as the contract's ``CheckpointSubmitted`` states it."""

    source_chain_id: int
    """The chain whose blocks it covers."""
    sequence: int
    """Its number among that chain's checkpoints, from 1."""
    from_block: int
    to_block: int
    """The first and the last block it covers."""
    to_block_hash: bytes
    root: bytes
    """The root of the tree of its blocks' hashes (:class:`~.tree.BlockHashTree`)."""

    @classmethod
    def of_event(cls, event: CheckpointSubmitted) -> Checkpoint:
        """The checkpoint a ``CheckpointSubmitted`` log states."""
        return cls(
            event.source_chain_id,
            event.sequence,
            event.from_block,
            event.to_block,
            event.to_block_hash,
            event.root,
        )

    def to_json(self) -> dict[str, Any]:
        """Its fields as JSON (hex with ``0x``), in the contract's order."""
        return {
            "source_chain_id": self.source_chain_id,
            "sequence": self.sequence,
            "from_block": self.from_block,
            "to_block": self.to_block,
            "to_block_hash": hex_bytes(self.to_block_hash),
            "root": hex_bytes(self.root),
        }

    @property
    def commitment(self) -> bytes:
        """What ``checkpointOf(source_chain_id, sequence)`` holds for it."""
        return checkpoint_commitment(self.from_block, self.to_block, self.to_block_hash, self.root)

    def typed_data(self, venue: CheckpointVenue) -> dict[str, Any]:
        """The EIP-712 message a witness signs (``eth_signTypedData_v4`` shape)."""
        return {
            "types": {"EIP712Domain": DOMAIN_TYPE, **CHECKPOINT_TYPES},
            "primaryType": "Checkpoint",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": venue.chain_id,
                "verifyingContract": venue.contract,
            },
            "message": {
                "sourceChainId": self.source_chain_id,
                "sequence": self.sequence,
                "fromBlock": self.from_block,
                "toBlock": self.to_block,
                "toBlockHash": self.to_block_hash,
                "root": self.root,
            },
        }

    def describe(self) -> str:
        """One line: which checkpoint this is."""
        return (
            f"checkpoint {self.sequence} of chain {self.source_chain_id} "
            f"(blocks {self.from_block}..{self.to_block})"
        )


class MalformedCosignatureError(InputError):
    """A co-signature that is not a witness address and a 65-byte signature."""

    template = "malformed co-signature: {where} {reason}"
    where: str
    reason: str


@dataclass(frozen=True)
class Cosignature:
    """A witness's signature of a checkpoint."""

    witness: ChecksumAddress
    signature: bytes

    def to_json(self) -> dict[str, str]:
        """As a bundle and the gateway carry it."""
        return {"witness": self.witness, "signature": hex_bytes(self.signature)}

    @classmethod
    def parse(cls, data: object, where: str = "co-signature") -> Cosignature:
        """A co-signature from JSON ``{"witness": "0x...", "signature": "0x..."}``.

        Raises:
            MalformedCosignatureError: a field is missing or malformed (named by ``where``).
        """
        if not isinstance(data, Mapping):
            raise MalformedCosignatureError(where, "must be an object")
        fields = {}
        for name, size in (("witness", 20), ("signature", 65)):
            value = data.get(name)
            if not isinstance(value, str):
                raise MalformedCosignatureError(f"{where}.{name}", "must be a 0x-hex string")
            try:
                fields[name] = parse_hex(value, f"{where}.{name}", size)
            except MalformedHexError:
                raise MalformedCosignatureError(
                    f"{where}.{name}", f"must be 0x and {2 * size} hex digits"
                ) from None
        return cls(to_checksum_address(fields["witness"]), fields["signature"])

    def signer(self, checkpoint: Checkpoint, venue: CheckpointVenue) -> ChecksumAddress | None:
        """The address the signature recovers to over ``checkpoint``; None if it recovers to
        none (a malformed ``v``, ``r`` or ``s``)."""
        message = encode_typed_data(full_message=checkpoint.typed_data(venue))
        try:
            return to_checksum_address(Account.recover_message(message, signature=self.signature))
        except (ValueError, TypeError, BadSignature):
            return None

    def holds(self, checkpoint: Checkpoint, venue: CheckpointVenue) -> bool:
        """Whether the stated witness signed ``checkpoint``."""
        return self.signer(checkpoint, venue) == self.witness


def cosign(checkpoint: Checkpoint, venue: CheckpointVenue, witness: LocalAccount) -> Cosignature:
    """``witness``'s co-signature of ``checkpoint``."""
    message = encode_typed_data(full_message=checkpoint.typed_data(venue))
    signed = Account.sign_message(message, private_key=witness.key)
    return Cosignature(witness.address, bytes(signed.signature))
