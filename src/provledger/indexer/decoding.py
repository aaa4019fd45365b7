"""From raw logs to typed, positioned records.

A :class:`RawLog` is what the node returned, normalised; :func:`decode` turns it into an
:class:`IndexedEvent` with the typed event from :mod:`provledger.chain.events`. Logs of unknown
events or contracts are not errors: they are counted and skipped by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from provledger.chain.events import DECODERS, Event

ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True, slots=True)
class RawLog:
    """A log as fetched: hex strings lowercased, numbers as ints, topics and data as bytes."""

    block_number: int
    log_index: int
    block_hash: str
    tx_hash: str
    tx_index: int
    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_time: int | None
    removed: bool = False


@dataclass(frozen=True, slots=True)
class IndexedEvent:
    """A decoded event and where it happened."""

    block_number: int
    log_index: int
    block_hash: str
    block_time: int
    tx_hash: str
    tx_index: int
    contract: str
    event: Event

    @property
    def position(self) -> tuple[int, int]:
        """(block number, log index): the event's place in chain order."""
        return (self.block_number, self.log_index)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _hex(value: Any) -> str:
    if isinstance(value, str):
        return value.lower()
    return "0x" + bytes(value).hex()


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value[2:])
    return bytes(value)


def raw_log(item: dict[str, Any]) -> RawLog:
    """Normalise one ``eth_getLogs`` entry (JSON-RPC hex form or web3's typed form)."""
    stamp = item.get("blockTimestamp")
    return RawLog(
        block_number=_int(item["blockNumber"]),
        log_index=_int(item["logIndex"]),
        block_hash=_hex(item["blockHash"]),
        tx_hash=_hex(item["transactionHash"]),
        tx_index=_int(item["transactionIndex"]),
        address=_hex(item["address"]),
        topics=tuple(_bytes(topic) for topic in item["topics"]),
        data=_bytes(item["data"]),
        block_time=None if stamp is None else _int(stamp),
        removed=bool(item.get("removed", False)),
    )


def decode(log: RawLog, contract: str, block_time: int) -> IndexedEvent | None:
    """The typed event of ``log``, or None if its topic0 is not a provledger event."""
    if not log.topics:
        return None
    decoder = DECODERS.get(log.topics[0])
    if decoder is None:
        return None
    return IndexedEvent(
        block_number=log.block_number,
        log_index=log.log_index,
        block_hash=log.block_hash,
        block_time=block_time,
        tx_hash=log.tx_hash,
        tx_index=log.tx_index,
        contract=contract,
        event=decoder(log.topics, log.data),
    )


def loads(payload: bytes) -> Any:
    """Parse JSON fast."""
    return orjson.loads(payload)
