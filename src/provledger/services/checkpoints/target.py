"""The target chain as checkpoints use it: its Checkpoint contract, checked to be one, and the
``CheckpointSubmitted`` logs of one source chain, read in ranges of at most ``max_range``
blocks.

The contract's deployment block is not known (it is no part of a registry deployment), so a
checkpoint's log is looked for backwards from the head (:func:`find_submitted`): checkpoints
are recent, and the search ends at the one wanted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.types import LogReceipt

from provledger.chain.client import CHECKPOINTER_ROLE, CheckpointClient
from provledger.chain.events import CheckpointSubmitted, decode_checkpoint_submitted
from provledger.chain.ids import role_id
from provledger.chain.logs import logs_in, paged_logs, topic, windows_back
from provledger.chain.transactions import Sender
from provledger.errors import InputError
from provledger.services.checkpoints.cosign import Checkpoint, CheckpointVenue


class NotCheckpointContractError(InputError):
    """The address given for the Checkpoint contract holds no Checkpoint contract."""

    template = "{address} on chain {chain_id} is not a Checkpoint contract: {reason}"
    address: str
    chain_id: int
    reason: str


class SameChainError(InputError):
    """The target chain given is the source chain itself."""

    template = (
        "the target chain is the source chain (both are chain {chain_id}): checkpoints of a "
        "chain belong on another chain"
    )
    chain_id: int


class NotCheckpointerError(InputError):
    """The account that would submit checkpoints lacks CHECKPOINTER_ROLE."""

    template = (
        "{account} lacks CHECKPOINTER_ROLE on the Checkpoint contract {contract}: its "
        "checkpoints would be refused with AccessControlUnauthorizedAccount; the contract's "
        "admin grants the role (the deployer holds it)"
    )
    account: str
    contract: str


@dataclass(frozen=True)
class CheckpointRecord:
    """A checkpoint as its ``CheckpointSubmitted`` log on the target chain shows it."""

    checkpoint: Checkpoint
    submitter: ChecksumAddress
    block_number: int
    """The target chain's block that holds the log."""
    block_hash: bytes
    transaction_hash: bytes
    log_index: int


def open_checkpoint(w3: Web3, address: str, sender: Sender | None = None) -> CheckpointClient:
    """The client of the Checkpoint contract at ``address`` on ``w3``'s chain, checked to be
    one: code is there, and it answers ``CHECKPOINTER_ROLE()`` as a Checkpoint does.

    Raises:
        NotCheckpointContractError: no code at ``address``, or code that is not a Checkpoint.
    """
    checksummed = Web3.to_checksum_address(address)
    chain_id = int(w3.eth.chain_id)
    if not bytes(w3.eth.get_code(checksummed)):
        raise NotCheckpointContractError(
            checksummed, chain_id, "no contract there (check the address and the target node)"
        )
    client = CheckpointClient(w3, checksummed, sender)
    try:
        role = bytes(client.contract.functions.CHECKPOINTER_ROLE().call())
    except Exception:  # no such function: a revert, or an answer that does not decode
        role = b""
    if role != role_id(CHECKPOINTER_ROLE):
        raise NotCheckpointContractError(
            checksummed, chain_id, "its code does not answer CHECKPOINTER_ROLE() as one does"
        )
    return client


def require_checkpointer(client: CheckpointClient, account: str) -> None:
    """Refuse (:class:`NotCheckpointerError`) an ``account`` without CHECKPOINTER_ROLE, before
    it waits for a checkpoint to be due only to be refused then."""
    if not client.is_checkpointer(account):
        raise NotCheckpointerError(Web3.to_checksum_address(account), client.address)


def venue_of(client: CheckpointClient) -> CheckpointVenue:
    """Where ``client``'s checkpoints are kept (the witnesses' EIP-712 domain)."""
    return CheckpointVenue(int(client.w3.eth.chain_id), client.address)


def record_of(log: Any) -> CheckpointRecord:
    """The :class:`CheckpointRecord` of a raw ``CheckpointSubmitted`` log (web3's shape)."""
    topics = [bytes(topic) for topic in log["topics"]]
    event = decode_checkpoint_submitted(topics, bytes(log["data"]))
    return CheckpointRecord(
        Checkpoint.of_event(event),
        event.submitter,
        int(log["blockNumber"]),
        bytes(log["blockHash"]),
        bytes(log["transactionHash"]),
        int(log["logIndex"]),
    )


def _topics(source_chain_id: int, sequence: int | None) -> list[str | None]:
    topics: list[str | None] = [
        topic(CheckpointSubmitted.TOPIC0),
        topic(source_chain_id),
    ]
    if sequence is not None:
        topics.append(topic(sequence))
    return topics


def submitted_logs(
    client: CheckpointClient,
    source_chain_id: int,
    first: int,
    last: int,
    *,
    max_range: int,
    sequence: int | None = None,
) -> list[CheckpointRecord]:
    """The checkpoints of ``source_chain_id`` logged in target blocks ``first..last`` (only
    ``sequence`` if given), in log order; one ``eth_getLogs`` per ``max_range`` blocks."""
    logs = paged_logs(
        client.w3, client.address, _topics(source_chain_id, sequence), first, last, max_range
    )
    return _records(logs)


def find_submitted(
    client: CheckpointClient, source_chain_id: int, sequence: int, *, head: int, max_range: int
) -> CheckpointRecord | None:
    """The log of checkpoint ``sequence`` of ``source_chain_id``, searched backwards from
    target block ``head``; None if no block up to ``head`` holds it."""
    for found in submitted_backwards(client, source_chain_id, head, max_range, sequence):
        return found
    return None


def submitted_backwards(
    client: CheckpointClient,
    source_chain_id: int,
    head: int,
    max_range: int,
    sequence: int | None = None,
) -> Iterator[CheckpointRecord]:
    """The checkpoints of ``source_chain_id`` (only ``sequence`` if given) logged up to target
    block ``head``, newest first, read ``max_range`` blocks at a time backwards; the search ends
    at the contract's creation (a block where it has no code yet), not at genesis."""
    for start, end in windows_back(head, max_range):
        yield from reversed(_logs(client, source_chain_id, start, end, sequence))
        if start > 0 and not has_code(client, start):
            return  # older blocks precede the contract


def has_code(client: CheckpointClient, block: int) -> bool:
    """Whether the contract had code at ``block``; a node without that block's state (pruned)
    is taken as yes, so the search goes on rather than stopping short."""
    try:
        return bool(bytes(client.w3.eth.get_code(client.address, block)))
    except Web3Exception:
        return True


def _logs(
    client: CheckpointClient, source_chain_id: int, start: int, end: int, sequence: int | None
) -> list[CheckpointRecord]:
    topics = _topics(source_chain_id, sequence)
    return _records(logs_in(client.w3, client.address, topics, start, end))


def _records(logs: Iterable[LogReceipt]) -> list[CheckpointRecord]:
    """The checkpoints of ``CheckpointSubmitted`` logs, in log order."""
    records = [record_of(log) for log in logs if not log.get("removed", False)]
    return sorted(records, key=lambda item: (item.block_number, item.log_index))
