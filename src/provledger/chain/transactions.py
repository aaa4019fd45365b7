"""Sign transactions locally, send them, and return typed receipts.

Every write goes through :class:`Sender`: it estimates gas (a revert is decoded there, before
anything is spent), fills EIP-1559 fees and the nonce, signs with an eth-account key, sends the
raw transaction, waits for the receipt, and decodes the logs of the project's contracts into
typed events.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.types import TxParams, TxReceipt, Wei

from provledger.chain.events import DECODERS, Event
from provledger.chain.reverts import revert_from_exception
from provledger.errors import ProvledgerError

E = TypeVar("E", bound=Event)

#: Added on top of the estimate: state may move between estimate and inclusion.
GAS_HEADROOM: Final = 1.25
#: The most gas one transaction may use where EIP-7825 holds (2**24, since the Osaka upgrade);
#: nodes refuse a transaction whose gas limit is above it.
TX_GAS_CAP: Final = 16_777_216
PRIORITY_FEE_WEI: Final = 10**9
RECEIPT_TIMEOUT_SECONDS: Final = 120.0


class TransactionFailedError(ProvledgerError):
    """A mined transaction reverted (status 0) and the reason could not be recovered."""

    tx_hash: bytes

    def _message(self) -> str:
        return f"transaction {HexBytes(self.tx_hash).to_0x_hex()} reverted"


class EventNotFoundError(ProvledgerError):
    """A receipt does not hold exactly the one event asked for."""

    name: str
    count: int
    tx_hash: bytes

    def _message(self) -> str:
        return (
            f"expected one {self.name} event in {HexBytes(self.tx_hash).to_0x_hex()}, "
            f"found {self.count}"
        )


@dataclass(frozen=True)
class RawLog:
    """A log as the node returned it."""

    address: ChecksumAddress
    topics: tuple[bytes, ...]
    data: bytes
    log_index: int


@dataclass(frozen=True)
class Receipt:
    """A mined, successful transaction and the provledger events it emitted, in log order."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes
    gas_used: int
    sender: ChecksumAddress
    """The account that signed and sent it."""
    events: tuple[Event, ...]
    """The logs that decode to a provledger event, of the contracts its :class:`Sender` decodes
    (a client's sender: the deployment's)."""
    logs: tuple[RawLog, ...]
    """Every log of the transaction, undecoded, whichever contract emitted it."""

    def event(self, kind: type[E]) -> E:
        """The one event of type ``kind``; :class:`EventNotFoundError` unless there is one."""
        found = self.events_of(kind)
        if len(found) != 1:
            raise EventNotFoundError(kind.__name__, len(found), self.tx_hash)
        return found[0]

    def events_of(self, kind: type[E]) -> tuple[E, ...]:
        """Every event of type ``kind``, in log order."""
        return tuple(event for event in self.events if isinstance(event, kind))


def decode_receipt(
    receipt: TxReceipt, addresses: Collection[str], sender: ChecksumAddress
) -> Receipt:
    """Build a :class:`Receipt`, decoding the logs emitted by ``addresses``."""
    wanted = {Web3.to_checksum_address(address) for address in addresses}
    logs: list[RawLog] = []
    events: list[Event] = []
    for log in receipt["logs"]:
        address = Web3.to_checksum_address(log["address"])
        topics = tuple(bytes(topic) for topic in log["topics"])
        raw = RawLog(address, topics, bytes(log["data"]), int(log["logIndex"]))
        logs.append(raw)
        decoder = DECODERS.get(topics[0]) if topics else None
        if decoder is not None and address in wanted:
            events.append(decoder(topics, raw.data))
    return Receipt(
        tx_hash=bytes(receipt["transactionHash"]),
        block_number=int(receipt["blockNumber"]),
        block_hash=bytes(receipt["blockHash"]),
        gas_used=int(receipt["gasUsed"]),
        sender=sender,
        events=tuple(events),
        logs=tuple(logs),
    )


class GasCapExceededError(ProvledgerError):
    """A transaction would need more gas than one transaction may use on the chain."""

    needed: int | None
    cap: int

    def _message(self) -> str:
        amount = "more gas" if self.needed is None else f"{self.needed:,} gas"
        return (
            f"the transaction needs {amount}, more than one transaction may use on this "
            f"chain ({self.cap:,}: the per-transaction cap of EIP-7825, or the block gas limit "
            "if lower); send less in one transaction"
        )


#: How nodes say that an estimate ran past the gas a transaction may have: geth and anvil
#: ("gas required exceeds allowance"), nodes enforcing EIP-7825 ("transaction gas cap"), and
#: block gas limit refusals.
_OVER_THE_CAP: Final = ("exceeds allowance", "gas cap", "exceeds block gas limit")


def over_the_gas_cap(error: BaseException) -> bool:
    """Whether a node refused an estimate or a transaction for needing too much gas."""
    text = str(error).lower()
    return any(words in text for words in _OVER_THE_CAP)


def capped_gas(estimate: int, cap: int) -> int:
    """The gas limit to send with: the estimate and its headroom, the headroom cut to ``cap``;
    :class:`GasCapExceededError` (before anything is sent) if the estimate alone exceeds it."""
    if estimate > cap:
        raise GasCapExceededError(estimate, cap)
    return min(int(estimate * GAS_HEADROOM), cap)


class Sender:
    """Sends transactions signed by one account, one at a time (thread-safe).

    The nonce is read from the node's pending state before each transaction, so several
    senders for one account, or another process using it, do not collide.
    """

    def __init__(
        self, w3: Web3, account: LocalAccount, decode_addresses: Collection[str] = ()
    ) -> None:
        self.w3 = w3
        self.account = account
        self.decode_addresses = frozenset(decode_addresses)
        self._chain_id: int | None = None
        self._gas_cap: int | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> ChecksumAddress:
        """The sending account."""
        return self.account.address

    @property
    def chain_id(self) -> int:
        """The chain id, asked once."""
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @property
    def gas_cap(self) -> int:
        """The most gas one transaction may use here: :data:`TX_GAS_CAP`, or the block gas
        limit the node reports if that is lower (asked once)."""
        if self._gas_cap is None:
            block_limit = int(self.w3.eth.get_block("latest")["gasLimit"])
            self._gas_cap = min(TX_GAS_CAP, block_limit)
        return self._gas_cap

    def gas_limit(self, to: ChecksumAddress | None, data: bytes, value: int = 0) -> int:
        """The gas limit to send ``data`` with (:func:`capped_gas` of its estimate)."""
        return capped_gas(self.estimate(to, data, value), self.gas_cap)

    def _fees(self) -> dict[str, int]:
        block = self.w3.eth.get_block("latest")
        base_fee = block.get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": int(self.w3.eth.gas_price)}
        max_fee, priority = dynamic_fees(int(base_fee))
        return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": priority}

    def estimate(self, to: ChecksumAddress | None, data: bytes, value: int = 0) -> int:
        """Gas the call would use; raises :class:`ContractRevertError` if it would revert."""
        params: TxParams = {"from": self.address, "data": HexBytes(data), "value": Wei(value)}
        if to is not None:
            params["to"] = to
        try:
            return int(self.w3.eth.estimate_gas(params))
        except Exception as error:
            revert = revert_from_exception(error)
            if revert is not None:
                raise revert from error
            if over_the_gas_cap(error):
                raise GasCapExceededError(None, self.gas_cap) from error
            raise

    def send(
        self,
        to: ChecksumAddress | None,
        data: bytes,
        *,
        value: int = 0,
        gas: int | None = None,
        decode: Collection[str] = (),
    ) -> Receipt:
        """Sign and send a transaction to ``to`` (None deploys) and wait for its receipt; the
        logs of the sender's addresses and of ``decode`` come back as typed events."""
        with self._lock:
            if gas is None:
                gas = self.gas_limit(to, data, value)
            nonce = int(self.w3.eth.get_transaction_count(self.address, "pending"))
            transaction: dict[str, Any] = {
                "chainId": self.chain_id,
                "nonce": nonce,
                "gas": gas,
                "value": value,
                "data": HexBytes(data),
                **self._fees(),
            }
            if to is not None:
                transaction["to"] = to
            signed = self.account.sign_transaction(transaction)
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS, poll_latency=0.05
        )
        if int(receipt["status"]) != 1:
            raise self._failure(transaction, receipt)
        return decode_receipt(receipt, self.decode_addresses | set(decode), self.address)

    def _failure(self, transaction: dict[str, Any], receipt: TxReceipt) -> ProvledgerError:
        return replayed_failure(self.w3, self.address, transaction, receipt)


def dynamic_fees(base_fee: int) -> tuple[int, int]:
    """(max fee, priority fee) per gas of an EIP-1559 transaction over ``base_fee``."""
    return 2 * base_fee + PRIORITY_FEE_WEI, PRIORITY_FEE_WEI


def replayed_failure(
    w3: Web3, sender: ChecksumAddress, transaction: Mapping[str, Any], receipt: TxReceipt
) -> ProvledgerError:
    """Replay a failed transaction as a call at its block to recover the revert reason."""
    params: TxParams = {
        "from": sender,
        "data": transaction["data"],
        "value": transaction.get("value", 0),
        "gas": transaction["gas"],
    }
    if "to" in transaction:
        params["to"] = transaction["to"]
    try:
        w3.eth.call(params, block_identifier=int(receipt["blockNumber"]) - 1)
    except Exception as error:
        revert = revert_from_exception(error)
        if revert is not None:
            return revert
    return TransactionFailedError(bytes(receipt["transactionHash"]))
