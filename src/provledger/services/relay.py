"""Relayed registrations: check signed registrations, pay their gas, follow their transactions.

:meth:`Relayer.submit` refuses, before spending any gas, a registration whose signature is not
its registrant's, whose nonce is used or ahead, whose deadline has passed, whose registrant is
not an active participant, whose content hash is registered (or being relayed), or that the
chain would revert (``eth_estimateGas``); then admits it (idempotency, rate, gas budget), takes
the relayer's next nonce and sends the transaction. :meth:`Relayer.track` follows what was sent:
mined, confirmed after the configured depth, failed with the decoded revert; a transaction the
node dropped, or that waits longer than ``replace_after`` seconds, is sent again with the same
nonce and a quarter more fee.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound

from provledger.chain.client import Provledger
from provledger.chain.eip712 import registration_digest, signed_from_json
from provledger.chain.ids import asset_id
from provledger.chain.reverts import ContractRevertError
from provledger.chain.serialize import asset_hex
from provledger.chain.transactions import (
    GasCapExceededError,
    Sender,
    capped_gas,
    dynamic_fees,
    replayed_failure,
)
from provledger.chain.types import SignedRegistration
from provledger.errors import InputError, ServiceUnavailableError
from provledger.jsondoc import JsonDocumentError, parse_json
from provledger.params import InvalidParameterError
from provledger.store.relay import RelayRefusalError, RelayStore
from provledger.store.relay_schema import ApiKey, RelayRequest

log = logging.getLogger(__name__)

#: Most signed registrations one request may carry (one registerManyWithSignatures).
MAX_REGISTRATIONS: Final = 100
#: Fee growth of a replacement (nodes ask for at least 10 %).
REPLACEMENT_BUMP: Final = 1.25


class RegistrationRefusedError(RelayRefusalError):
    """A signed registration the chain would refuse: the one at ``position`` in the request
    (-1 when the chain refuses the batch as a whole); ``error`` names the reason as the
    contract's custom error does."""

    template = "registration {position}: {error}: {detail}"
    position: int
    error: str
    detail: str


class UnauthorizedError(RelayRefusalError):
    """No API key, or one that is unknown, wrong or revoked."""

    template = "send a live API key: Authorization: Bearer plk_..."


class UnknownRelayRequestError(RelayRefusalError):
    """No request of that id was made with this API key."""

    template = "no relay request {request_id} made with this API key"
    request_id: str


class RelayNotConfiguredError(ServiceUnavailableError):
    """The gateway has no node or no relayer key."""

    template = (
        "this gateway does not relay: it needs PROVLEDGER_RPC_URL and a relayer key "
        "(PROVLEDGER_RELAYER_KEYSTORE with PROVLEDGER_RELAYER_PASSWORD_FILE, or "
        "PROVLEDGER_RELAYER_DEV_ACCOUNT on a development chain)"
    )


@dataclass(frozen=True)
class Parsed:
    """The signed registrations of a request body, as documents and as values."""

    documents: list[dict[str, Any]]
    signed: list[SignedRegistration]


def parse_body(body: bytes, *, chain_id: int, registry: str) -> Parsed:
    """A request body: one signed registration document, or ``{"registrations": [...]}``."""
    try:
        data = parse_json(body, what="body", max_bytes=len(body))
    except JsonDocumentError as error:
        raise InvalidParameterError("body", error.reason) from None
    documents = data.get("registrations") if isinstance(data, dict) else None
    if documents is None:
        documents = [data]
    if not isinstance(documents, list) or not 1 <= len(documents) <= MAX_REGISTRATIONS:
        raise InvalidParameterError("body", f"send 1 to {MAX_REGISTRATIONS} signed registrations")
    signed = []
    for position, document in enumerate(documents):
        try:
            item, item_chain, item_registry = signed_from_json(document)
        except InputError as error:
            raise InvalidParameterError(f"registrations[{position}]", str(error)) from None
        if item_chain != chain_id or item_registry.lower() != registry.lower():
            raise RegistrationRefusedError(
                position,
                "WrongDomain",
                f"signed for chain {item_chain} registry {item_registry}, "
                f"not chain {chain_id} registry {registry}",
            )
        signed.append(item)
    return Parsed(list(documents), signed)


class Relayer:
    """Relays signed registrations for one deployment with one relayer account."""

    def __init__(
        self,
        store: RelayStore,
        ledger: Provledger,
        relayer: LocalAccount,
        *,
        confirmations: int,
        replace_after: float = 60.0,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.w3: Web3 = ledger.w3
        self.relayer = relayer
        self.confirmations = confirmations
        self.replace_after = replace_after
        self.chain_id = ledger.deployment.chain_id
        self.registry = ledger.registry.address
        self.sender = Sender(self.w3, relayer)  # estimates as the relayer
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ who asks
    def authenticate(self, token: str | None) -> ApiKey:
        """The live API key ``token`` is; :class:`UnauthorizedError` for none, or for an unknown,
        malformed, wrong or revoked one."""
        key = None if token is None else self.store.authenticate(token)
        if key is None:
            raise UnauthorizedError()
        return key

    def request(self, key: ApiKey, request_id: str) -> RelayRequest:
        """The request ``request_id`` if ``key`` made it; :class:`UnknownRelayRequestError` if it
        does not exist or another key made it (the two are not told apart)."""
        found = self.store.get(request_id)
        if found is None or found.key_id != key.key_id:
            raise UnknownRelayRequestError(request_id)
        return found

    # ------------------------------------------------------------ submitting
    def submit(self, key: ApiKey, body: bytes, idempotency_key: str | None) -> RelayRequest:
        """Check, admit and send one request; the refusals are :class:`RelayRefusalError`s."""
        self.store.precheck(key, idempotency_key)  # a retry, or a key over its rate: no node
        parsed = parse_body(body, chain_id=self.chain_id, registry=self.registry)
        self._check(parsed.signed)
        calldata = self._calldata(parsed.signed)
        gas = self._estimate(calldata, len(parsed.signed))
        claimed = [
            claim
            for item in parsed.signed
            for claim in (
                f"hash:0x{item.registration.content_hash.hex()}",
                f"nonce:{item.registrant.lower()}:{item.nonce}",
            )
        ]
        request_id = self.store.admit(
            key,
            idempotency_key=idempotency_key,
            body=body,
            documents=parsed.documents,
            asset_ids=[
                asset_hex(asset_id(item.registration.content_hash)) for item in parsed.signed
            ],
            claimed=claimed,
            gas_estimate=gas,
        )
        request = self.store.get(request_id)
        assert request is not None
        self._send(request)
        sent = self.store.get(request_id)
        assert sent is not None
        return sent

    def _check(self, signed: Sequence[SignedRegistration]) -> None:
        latest = self.w3.eth.get_block("latest")
        now = int(latest["timestamp"])
        registry = self.ledger.registry
        expected: dict[str, int] = {}
        seen: set[bytes] = set()
        for position, item in enumerate(signed):
            digest = registration_digest(
                item.registration,
                registrant=item.registrant,
                nonce=item.nonce,
                deadline=item.deadline,
                chain_id=self.chain_id,
                registry=self.registry,
            )
            try:
                recovered = Account._recover_hash(digest, signature=item.signature)
            except Exception:  # a signature that is no point on the curve recovers nothing
                recovered = "nobody"
            if recovered != item.registrant:
                raise RegistrationRefusedError(
                    position,
                    "InvalidRegistrationSignature",
                    f"signed by {recovered}, not by the registrant {item.registrant}",
                )
            if item.deadline < now:
                raise RegistrationRefusedError(
                    position,
                    "SignatureExpired",
                    f"the deadline {item.deadline} is before the chain's time {now}",
                )
            account = item.registrant.lower()
            if account not in expected:
                expected[account] = registry.nonce(item.registrant)
            if item.nonce != expected[account]:
                what = "was used already" if item.nonce < expected[account] else "is ahead"
                raise RegistrationRefusedError(
                    position,
                    "InvalidAccountNonce",
                    f"nonce {item.nonce} {what}; the registrant's next is {expected[account]}",
                )
            expected[account] += 1
            participant = registry.participant(item.registrant)
            if participant.status.name != "ACTIVE":
                raise RegistrationRefusedError(
                    position,
                    "ParticipantNotActive",
                    f"{item.registrant} is {participant.status.name}",
                )
            content = item.registration.content_hash
            if content in seen or registry.asset_by_hash(content) is not None:
                raise RegistrationRefusedError(
                    position,
                    "AssetAlreadyRegistered",
                    f"content hash 0x{content.hex()} is registered already",
                )
            seen.add(content)

    def _calldata(self, signed: Sequence[SignedRegistration]) -> bytes:
        registry = self.ledger.registry
        if len(signed) == 1:
            return registry.encode("registerWithSignature", signed[0].as_tuple())
        return registry.encode("registerManyWithSignatures", [item.as_tuple() for item in signed])

    def _estimate(self, calldata: bytes, count: int) -> int:
        try:
            gas = self.sender.estimate(self.registry, calldata)
        except ContractRevertError as revert:
            raise RegistrationRefusedError(
                0 if count == 1 else -1, revert.name, str(revert)
            ) from None
        except Exception as error:
            raise ServiceUnavailableError(
                f"the node could not simulate the request: {error}"
            ) from error
        try:
            return capped_gas(gas, self.sender.gas_cap)
        except GasCapExceededError as error:
            raise RegistrationRefusedError(-1, "GasCapExceeded", str(error)) from None

    def _fees(self, previous: tuple[int, int] | None = None) -> tuple[int, int]:
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas") or 0)
        max_fee, priority = dynamic_fees(base)
        if previous is not None:
            priority = max(priority, int(previous[1] * REPLACEMENT_BUMP) + 1)
            max_fee = max(max_fee, int(previous[0] * REPLACEMENT_BUMP) + 1)
        return max_fee, priority

    def _request_calldata(self, request: RelayRequest) -> bytes:
        return self._calldata([signed_from_json(document)[0] for document in request.documents])

    def _transaction(self, request: RelayRequest, nonce: int, fees: tuple[int, int]) -> Any:
        return self.relayer.sign_transaction(
            {
                "chainId": self.chain_id,
                "nonce": nonce,
                "to": self.registry,
                "data": HexBytes(self._request_calldata(request)),
                "gas": request.gas_estimate,
                "value": 0,
                "maxFeePerGas": fees[0],
                "maxPriorityFeePerGas": fees[1],
            }
        )

    def _send(self, request: RelayRequest) -> None:
        chain_next = int(self.w3.eth.get_transaction_count(self.relayer.address, "pending"))
        fees = self._fees()
        try:
            with self.store.next_nonce(self.relayer.address, chain_next) as (nonce, conn):
                transaction = self._transaction(request, nonce, fees)
                tx_hash = self.w3.eth.send_raw_transaction(transaction.raw_transaction)
                self.store.record_sent(
                    conn,
                    request.request_id,
                    nonce=nonce,
                    tx_hash=HexBytes(tx_hash).to_0x_hex(),
                    max_fee=fees[0],
                    priority_fee=fees[1],
                )
        except Exception as error:
            self.store.update(
                request.request_id, status="failed", error=f"not sent: {error}"[:1000]
            )
            if isinstance(
                error, ServiceUnavailableError
            ):  # already says what failed (RelayStoreBusyError)
                raise
            raise ServiceUnavailableError(
                f"the node refused the relay transaction: {error}"
            ) from None

    # ------------------------------------------------------------ following
    def track(self) -> None:
        """One pass over the requests not yet settled (the node is not asked when none is)."""
        unsettled = self.store.unsettled()
        if not unsettled:
            return
        head = int(self.w3.eth.block_number)
        for request in unsettled:
            try:
                self._follow(request, head)
            except Exception as error:  # one request's trouble must not stop the others
                log.warning("relay request %s: %s", request.request_id, error)

    def _follow(self, request: RelayRequest, head: int) -> None:
        if request.status == "queued":
            if time.time() * 1000 - request.updated_at > 30_000:  # its sender stopped
                self._send(request)
            return
        assert request.tx_hash is not None
        try:
            receipt = self.w3.eth.get_transaction_receipt(HexBytes(request.tx_hash))
        except TransactionNotFound:
            receipt = None
        if receipt is None:
            if request.status == "mined":  # its block was reorganised away
                self.store.update(request.request_id, expect="mined", status="submitted")
                return
            self._maybe_replace(request)
            return
        if int(receipt["status"]) != 1:
            self.store.update(
                request.request_id,
                status="failed",
                block_number=int(receipt["blockNumber"]),
                gas_used=int(receipt["gasUsed"]),
                error=self._revert_reason(request, receipt),
            )
            return
        block = int(receipt["blockNumber"])
        status = "confirmed" if head - block + 1 >= max(1, self.confirmations) else "mined"
        if status != request.status or request.block_number != block:
            self.store.update(
                request.request_id,
                status=status,
                block_number=block,
                gas_used=int(receipt["gasUsed"]),
            )

    def _maybe_replace(self, request: RelayRequest) -> None:
        assert request.tx_hash is not None
        assert request.nonce is not None
        try:
            self.w3.eth.get_transaction(HexBytes(request.tx_hash))
            dropped = False
        except TransactionNotFound:
            dropped = True
        waited = time.time() - request.updated_at / 1000
        if not dropped and waited < self.replace_after:
            return
        mined_nonce = int(self.w3.eth.get_transaction_count(self.relayer.address, "latest"))
        if mined_nonce > request.nonce:
            return  # a replacement of ours was mined; the next pass finds its receipt
        assert request.max_fee is not None
        assert request.priority_fee is not None
        fees = self._fees((request.max_fee, request.priority_fee))
        with self.store.replacing(request.request_id, request.tx_hash) as conn:
            if conn is None:
                return
            transaction = self._transaction(request, request.nonce, fees)
            tx_hash = self.w3.eth.send_raw_transaction(transaction.raw_transaction)
            self.store.record_sent(
                conn,
                request.request_id,
                nonce=request.nonce,
                tx_hash=HexBytes(tx_hash).to_0x_hex(),
                max_fee=fees[0],
                priority_fee=fees[1],
                replacements=request.replacements + 1,
            )
        log.info("relay request %s: transaction sent again with more fee", request.request_id)

    def _revert_reason(self, request: RelayRequest, receipt: Any) -> str:
        transaction = {
            "to": self.registry,
            "data": HexBytes(self._request_calldata(request)),
            "gas": request.gas_estimate,
        }
        return str(replayed_failure(self.w3, self.relayer.address, transaction, receipt))

    # ------------------------------------------------------------ the tracking thread
    def start(self, interval: float = 0.5) -> None:
        """Follow sent transactions in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.track()
                except Exception as error:  # the node away: try again next time
                    log.warning("relay tracking: %s", error)

        self._thread = threading.Thread(target=loop, name="provledger-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the tracking thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
