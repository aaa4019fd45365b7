"""The checkpoints a target chain holds for a source chain, as its canonical logs tell them,
with the target block's time and the JSON the gateway and ``provledger checkpoint list`` show.
Logs are read backwards from the head, so reads cost what the contract's age and the question
ask, not the target chain's length.

A checkpoint removed by a reorganisation of the target chain is not in its canonical logs, and
the contract numbers a source chain's checkpoints without gaps, so each sequence number appears
at most once here: the one the target chain holds now.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3

from provledger.chain.client import CheckpointClient
from provledger.chain.logs import MAX_LOG_RANGE
from provledger.chain.serialize import hex_bytes
from provledger.services.checkpoints.cosign import CheckpointVenue
from provledger.services.checkpoints.target import (
    CheckpointRecord,
    find_submitted,
    submitted_backwards,
)
from provledger.units import utc_time


class CheckpointLedger:
    """The checkpoints kept by the Checkpoint contract at ``contract`` on the chain ``w3``
    serves; logs are read ``max_range`` blocks per request."""

    def __init__(
        self, w3: Web3, contract: ChecksumAddress, *, max_range: int = MAX_LOG_RANGE
    ) -> None:
        self.w3 = w3
        self.client = CheckpointClient(w3, Web3.to_checksum_address(contract), None)
        self.venue = CheckpointVenue(int(w3.eth.chain_id), self.client.address)
        self.max_range = max_range
        self._times: dict[bytes, int] = {}

    def recorded(self, source_chain_id: int) -> list[CheckpointRecord]:
        """Every checkpoint of ``source_chain_id`` the target chain holds, by sequence."""
        found = []
        for item in self.newest(source_chain_id):
            found.append(item)
            if item.checkpoint.sequence == 1:
                break
        return sorted(found, key=lambda item: item.checkpoint.sequence)

    def get(self, source_chain_id: int, sequence: int) -> CheckpointRecord | None:
        """Checkpoint ``sequence`` of ``source_chain_id``; None if the target holds none."""
        head = int(self.w3.eth.block_number)
        return find_submitted(
            self.client, source_chain_id, sequence, head=head, max_range=self.max_range
        )

    def covering(self, source_chain_id: int, block_number: int) -> CheckpointRecord | None:
        """The checkpoint of ``source_chain_id`` whose blocks include ``block_number``; None
        while none does."""
        for item in self.newest(source_chain_id):
            if item.checkpoint.to_block < block_number:
                return None  # the older ones end earlier still
            if item.checkpoint.from_block <= block_number:
                return item
        return None

    def newest(self, source_chain_id: int) -> Iterator[CheckpointRecord]:
        """The checkpoints of ``source_chain_id``, newest first, read backwards from the head
        as they are taken: the reads stop where the caller stops, or at the contract's creation
        (not at the target chain's genesis)."""
        head = int(self.w3.eth.block_number)
        return submitted_backwards(self.client, source_chain_id, head, self.max_range)

    def time_of(self, record: CheckpointRecord) -> int:
        """The time (Unix seconds) of the target block that holds ``record``."""
        if record.block_hash not in self._times:
            block = self.w3.eth.get_block(HexBytes(record.block_hash))
            self._times[record.block_hash] = int(block["timestamp"])
        return self._times[record.block_hash]

    def record_json(self, record: CheckpointRecord) -> dict[str, Any]:
        """``record`` as the gateway and ``provledger checkpoint list`` show it."""
        return {
            **record.checkpoint.to_json(),
            "target_chain_id": self.venue.chain_id,
            "contract": self.venue.contract,
            "transaction_hash": hex_bytes(record.transaction_hash),
            "block_number": record.block_number,
            "block_hash": hex_bytes(record.block_hash),
            "log_index": record.log_index,
            "submitter": record.submitter,
            "time": utc_time(self.time_of(record)),
        }
