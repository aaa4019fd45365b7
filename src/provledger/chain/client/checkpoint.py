"""The client of ``Checkpoint``: checkpoints of a source chain's block hashes, kept on a target
chain, and witnesses' co-signatures of them on chain.

The contract is no part of a registry deployment: it lives on another chain, so its client is
built from its address alone (:func:`provledger.chain.deploy.deploy_checkpoint` deploys one),
and its receipts carry its own events whichever addresses the sender decodes.
"""

from __future__ import annotations

from typing import Final

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import BlockIdentifier

from provledger.chain.client.base import ContractClient
from provledger.chain.ids import role_id
from provledger.chain.transactions import Receipt, Sender
from provledger.chain.types import CheckpointHead

#: The role that may submit checkpoints.
CHECKPOINTER_ROLE: Final = "CHECKPOINTER_ROLE"


class CheckpointClient(ContractClient):
    """``Checkpoint``: submit a source chain's next checkpoint, witness one, read them back."""

    NAME = "Checkpoint"

    def __init__(self, w3: Web3, address: ChecksumAddress, sender: Sender | None) -> None:
        super().__init__(w3, Web3.to_checksum_address(address), sender)

    def submit(
        self,
        source_chain_id: int,
        from_block: int,
        to_block: int,
        parent_hash: bytes,
        to_block_hash: bytes,
        root: bytes,
    ) -> Receipt:
        """Record the next checkpoint of source chain ``source_chain_id``: its blocks
        ``from_block..to_block`` under ``root``; ``parent_hash`` is block ``from_block - 1``'s
        hash (CHECKPOINTER_ROLE). The receipt holds its ``CheckpointSubmitted`` event."""
        return self._send(
            "submit", source_chain_id, from_block, to_block, parent_hash, to_block_hash, root
        )

    def witness(self, source_chain_id: int, sequence: int, commitment: bytes) -> Receipt:
        """Co-sign checkpoint ``sequence`` of ``source_chain_id`` on chain as the sender, naming
        its ``commitment`` (anyone). The receipt holds its ``CheckpointWitnessed`` event."""
        return self._send("witness", source_chain_id, sequence, commitment)

    def head_of(self, source_chain_id: int, *, block: BlockIdentifier = "latest") -> CheckpointHead:
        """The latest checkpoint of ``source_chain_id`` at ``block`` (sequence 0: none yet)."""
        return CheckpointHead.from_abi(self._call("headOf", source_chain_id, block=block))

    def checkpoint_of(
        self, source_chain_id: int, sequence: int, *, block: BlockIdentifier = "latest"
    ) -> bytes:
        """The commitment of checkpoint ``sequence`` of ``source_chain_id`` at ``block``; 32 zero
        bytes if there is no such checkpoint."""
        return bytes(self._call("checkpointOf", source_chain_id, sequence, block=block))

    def is_checkpointer(self, account: str, *, block: BlockIdentifier = "latest") -> bool:
        """Whether ``account`` holds CHECKPOINTER_ROLE at ``block``."""
        checksummed = Web3.to_checksum_address(account)
        return bool(self._call("hasRole", role_id(CHECKPOINTER_ROLE), checksummed, block=block))

    def grant_checkpointer(self, account: str) -> Receipt:
        """Give ``account`` CHECKPOINTER_ROLE (DEFAULT_ADMIN_ROLE)."""
        checksummed = Web3.to_checksum_address(account)
        return self._send("grantRole", role_id(CHECKPOINTER_ROLE), checksummed)

    def revoke_checkpointer(self, account: str) -> Receipt:
        """Take CHECKPOINTER_ROLE from ``account`` (DEFAULT_ADMIN_ROLE)."""
        checksummed = Web3.to_checksum_address(account)
        return self._send("revokeRole", role_id(CHECKPOINTER_ROLE), checksummed)
