"""EIP-712 signed requests to the data room: upload an asset's bytes, receive them, read their
access log; and a holder's publication of a presentation of its committed metadata.

A request is signed off-chain by the account it names (the holder or the requester) for one
registry on one chain, and travels as the value of one HTTP header
(:data:`SIGNATURE_HEADER`): base64url without padding of the compact JSON document ::

    {"type": "DataAccess",
     "domain": {"chainId": 31337,
                "verifyingContract": "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
     "message": {"requester": "0x...", "assetId": "123", "purpose": "audit",
                 "nonce": "456", "deadline": "1700000600"},
     "signature": "0x..."}

In the message, a ``uint256`` is a decimal string, a ``bytes32`` is ``0x`` and 64 hex digits and
an address is checksummed (EIP-55); the domain's chain id is a JSON number. The domain's name
and version (:data:`DOMAIN_NAME`, :data:`DOMAIN_VERSION`) are fixed and not sent.

:func:`parse_signed` reads a header value (:class:`MalformedSignedRequestError` for anything
but a well-formed request of the route's kind); :func:`verify_signed` checks it against the
gateway's domain and the chain head's time (:class:`SignatureRejectedError`). Claiming the
nonce, so that a request is served once, is the store's
(:meth:`provledger.store.dataroom.DataRoomStore.claim_nonce`); a nonce already claimed is
rejected with the rule ``"replayed"``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

import orjson
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from provledger.chain.client import Provledger
from provledger.chain.eip712 import DOMAIN_TYPE, struct
from provledger.errors import InputError, ProvledgerError
from provledger.jsondoc import JsonDocumentError, parse_json
from provledger.params import (
    UINT256_MAX,
    InvalidParameterError,
    decimal_digits,
    parse_address,
    parse_hex,
)

#: The HTTP header a signed request travels in.
SIGNATURE_HEADER: Final = "Provledger-Signature"
DOMAIN_NAME: Final = "provledger data room"
DOMAIN_VERSION: Final = "1"
#: The longest header value read; longer ones are refused before they are decoded.
MAX_HEADER_CHARS: Final = 4096
#: The longest purpose a request for access may state.
MAX_PURPOSE_CHARS: Final = 200
#: The furthest ahead of the chain's time a deadline may be: a signature is good for 10 minutes
#: at the most.
MAX_AHEAD: Final = 600
#: How long a request signed by provledger's own clients stays valid, in seconds of chain time.
SIGNATURE_LIFETIME: Final = 300

RequestKind = Literal["DataUpload", "DataAccess", "AccessLogRead", "Disclosure"]
RejectionRule = Literal["bad-signature", "expired", "too-far-ahead", "wrong-domain", "replayed"]

#: The fields that end every kind: the nonce that makes a request single-use, and the deadline
#: (unix seconds) after which it is refused.
_VALIDITY_FIELDS: Final = {"nonce": "uint256", "deadline": "uint256"}
#: Each kind's fields, in their signed order; the first is the signer's address.
REQUEST_TYPES: Final[dict[RequestKind, list[dict[str, str]]]] = {
    "DataUpload": struct(
        holder="address", assetId="uint256", contentHash="bytes32", **_VALIDITY_FIELDS
    ),
    "DataAccess": struct(
        requester="address", assetId="uint256", purpose="string", **_VALIDITY_FIELDS
    ),
    "AccessLogRead": struct(holder="address", assetId="uint256", **_VALIDITY_FIELDS),
    "Disclosure": struct(
        holder="address", assetId="uint256", contentHash="bytes32", **_VALIDITY_FIELDS
    ),
}
#: The kinds whose message binds the hash of the request's body: the bytes uploaded, or the
#: presentation a holder publishes (its SHA-256).
_BODY_KINDS: Final = frozenset({"DataUpload", "Disclosure"})
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_ENVELOPE: Final = frozenset({"type", "domain", "message", "signature"})
_DOMAIN_FIELDS: Final = frozenset({"chainId", "verifyingContract"})


class MalformedSignedRequestError(InputError):
    """A signed request header that cannot be read as a request of the route's kind."""

    template = "the signed request is malformed: {reason}"
    reason: str


class SignatureRejectedError(ProvledgerError):
    """A well-formed signed request refused by ``rule``: ``bad-signature`` (not signed by the
    account it names), ``expired``, ``too-far-ahead`` (a deadline past the longest validity),
    ``wrong-domain`` (signed for another chain or registry) or ``replayed`` (its nonce was
    used)."""

    template = "the signed request is rejected ({rule}): {reason}"
    rule: RejectionRule
    reason: str


@dataclass(frozen=True)
class Domain:
    """What a signature is bound to: the chain and the ``DataAssetRegistry`` on it."""

    chain_id: int
    registry: ChecksumAddress

    @classmethod
    def of(cls, ledger: Provledger) -> Domain:
        """The domain of the deployment ``ledger`` drives."""
        return cls(ledger.deployment.chain_id, ledger.registry.address)


@dataclass(frozen=True)
class SignedRequest:
    """A request as signed; ``signer`` is the address the message claims (holder or
    requester), which :func:`verify_signed` checks the signature against."""

    kind: RequestKind
    signer: ChecksumAddress
    asset_id: int
    nonce: int
    deadline: int
    content_hash: bytes | None
    """The content hash of a ``DataUpload``, the SHA-256 of a ``Disclosure``'s presentation;
    None for the other kinds."""
    purpose: str | None
    """The stated purpose of a ``DataAccess``; None for the other kinds."""
    domain: Domain
    signature: bytes


def typed_request(request: SignedRequest) -> dict[str, Any]:
    """The full EIP-712 message (``eth_signTypedData_v4`` shape) of ``request``."""
    kind = request.kind
    fields = REQUEST_TYPES[kind]
    values: dict[str, Any] = {
        fields[0]["name"]: request.signer,
        "assetId": request.asset_id,
        "contentHash": request.content_hash,
        "purpose": request.purpose,
        "nonce": request.nonce,
        "deadline": request.deadline,
    }
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, kind: fields},
        "primaryType": kind,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": request.domain.chain_id,
            "verifyingContract": request.domain.registry,
        },
        "message": {field["name"]: values[field["name"]] for field in fields},
    }


# ------------------------------------------------------------------ signing


def sign_upload(
    account: LocalAccount,
    domain: Domain,
    asset_id: int,
    content_hash: bytes,
    *,
    deadline: int,
    nonce: int | None = None,
) -> str:
    """The header value of ``account`` (the holder) asking to upload the bytes of ``asset_id``
    whose content hash is ``content_hash``; a random 256-bit nonce unless one is given."""
    return _sign(
        account, domain, "DataUpload", asset_id, deadline, nonce, content_hash=content_hash
    )


def sign_disclosure(
    account: LocalAccount,
    domain: Domain,
    asset_id: int,
    presentation: bytes,
    *,
    deadline: int,
    nonce: int | None = None,
) -> str:
    """The header value of ``account`` (the holder) publishing the presentation ``presentation``
    (its bytes, as sent) of ``asset_id``'s committed metadata."""
    digest = hashlib.sha256(presentation).digest()
    return _sign(account, domain, "Disclosure", asset_id, deadline, nonce, content_hash=digest)


def sign_access(
    account: LocalAccount,
    domain: Domain,
    asset_id: int,
    purpose: str,
    *,
    deadline: int,
    nonce: int | None = None,
) -> str:
    """The header value of ``account`` (the requester) asking to receive the bytes of
    ``asset_id`` for ``purpose`` (at most :data:`MAX_PURPOSE_CHARS` characters)."""
    if len(purpose) > MAX_PURPOSE_CHARS:
        raise MalformedSignedRequestError(_long_purpose(purpose))
    return _sign(account, domain, "DataAccess", asset_id, deadline, nonce, purpose=purpose)


def sign_log_read(
    account: LocalAccount,
    domain: Domain,
    asset_id: int,
    *,
    deadline: int,
    nonce: int | None = None,
) -> str:
    """The header value of ``account`` (the holder) asking to read the access log of
    ``asset_id``."""
    return _sign(account, domain, "AccessLogRead", asset_id, deadline, nonce)


def _sign(
    account: LocalAccount,
    domain: Domain,
    kind: RequestKind,
    asset_id: int,
    deadline: int,
    nonce: int | None,
    *,
    content_hash: bytes | None = None,
    purpose: str | None = None,
) -> str:
    unsigned = SignedRequest(
        kind=kind,
        signer=account.address,
        asset_id=asset_id,
        nonce=secrets.randbits(256) if nonce is None else nonce,
        deadline=deadline,
        content_hash=content_hash,
        purpose=purpose,
        domain=domain,
        signature=b"",
    )
    signable = encode_typed_data(full_message=typed_request(unsigned))
    signed = Account.sign_message(signable, private_key=account.key)
    return encode_signed(replace(unsigned, signature=bytes(signed.signature)))


def encode_signed(request: SignedRequest) -> str:
    """The header value that carries ``request`` (the inverse of :func:`parse_signed`)."""
    values: dict[str, Any] = {
        "assetId": str(request.asset_id),
        "contentHash": None if request.content_hash is None else "0x" + request.content_hash.hex(),
        "purpose": request.purpose,
        "nonce": str(request.nonce),
        "deadline": str(request.deadline),
    }
    fields = REQUEST_TYPES[request.kind]
    message = {fields[0]["name"]: to_checksum_address(request.signer)}
    message |= {field["name"]: values[field["name"]] for field in fields[1:]}
    document = {
        "type": request.kind,
        "domain": {
            "chainId": request.domain.chain_id,
            "verifyingContract": to_checksum_address(request.domain.registry),
        },
        "message": message,
        "signature": "0x" + request.signature.hex(),
    }
    return base64.urlsafe_b64encode(orjson.dumps(document)).decode().rstrip("=")


# ------------------------------------------------------------------ reading


def parse_signed(value: str, kind: str) -> SignedRequest:
    """The signed request of kind ``kind`` a :data:`SIGNATURE_HEADER` value carries.

    Raises:
        MalformedSignedRequestError: a value over :data:`MAX_HEADER_CHARS` characters (before
            any decoding), not base64url, not JSON, with fields missing, extra or of the wrong
            type, a purpose over :data:`MAX_PURPOSE_CHARS` characters, or a request of another
            kind.
    """
    kind = _request_kind(kind)
    if len(value) > MAX_HEADER_CHARS:
        raise MalformedSignedRequestError(f"longer than {MAX_HEADER_CHARS} characters")
    document = _decode(value)
    _require_fields(document, _ENVELOPE, "the request")
    sent = document["type"]
    if sent != kind:
        known = isinstance(sent, str) and sent in REQUEST_TYPES
        what = repr(sent) if known else "an unknown kind"
        raise MalformedSignedRequestError(f"this route takes a {kind}, not {what}")
    domain = document["domain"]
    _require_fields(domain, _DOMAIN_FIELDS, "the domain")
    chain_id = domain["chainId"]
    if type(chain_id) is not int or not 0 <= chain_id <= UINT256_MAX:
        raise MalformedSignedRequestError("domain.chainId: not a uint256 number")
    fields = REQUEST_TYPES[kind]
    message = document["message"]
    _require_fields(message, frozenset(field["name"] for field in fields), "the message")
    purpose = _text(message, "purpose") if kind == "DataAccess" else None
    if purpose is not None and len(purpose) > MAX_PURPOSE_CHARS:
        raise MalformedSignedRequestError(_long_purpose(purpose))
    content_hash = _hex(message, "contentHash", 32) if kind in _BODY_KINDS else None
    return SignedRequest(
        kind=kind,
        signer=_address(message, fields[0]["name"]),
        asset_id=_uint256(message, "assetId"),
        nonce=_uint256(message, "nonce"),
        deadline=_uint256(message, "deadline"),
        content_hash=content_hash,
        purpose=purpose,
        domain=Domain(chain_id, _address(domain, "verifyingContract", "domain.")),
        signature=_hex(document, "signature", 65),
    )


def _request_kind(kind: str) -> RequestKind:
    """``kind`` as a request kind (a route names one; anything else is a programming error)."""
    for known in REQUEST_TYPES:
        if known == kind:
            return known
    raise ValueError(f"no signed request kind {kind!r}")


def _decode(value: str) -> Any:
    if not value or not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        raise MalformedSignedRequestError("not base64url without padding")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return parse_json(raw, what="the request", max_bytes=MAX_HEADER_CHARS)
    except binascii.Error:
        raise MalformedSignedRequestError("not base64url without padding") from None
    except JsonDocumentError as error:
        raise MalformedSignedRequestError(error.reason) from None


def _require_fields(value: Any, names: frozenset[str], what: str) -> None:
    if not isinstance(value, dict):
        raise MalformedSignedRequestError(f"{what} is not a JSON object")
    if missing := sorted(names - value.keys()):
        raise MalformedSignedRequestError(f"{what} lacks {', '.join(missing)}")
    if extra := sorted(value.keys() - names):
        raise MalformedSignedRequestError(f"{what} has unknown fields {', '.join(extra)}")


def _text(data: dict[str, Any], name: str, prefix: str = "message.") -> str:
    value = data[name]
    if not isinstance(value, str):
        raise MalformedSignedRequestError(f"{prefix}{name}: not a string")
    return value


def _uint256(data: dict[str, Any], name: str) -> int:
    try:
        number = decimal_digits(_text(data, name))
    except ValueError:
        number = UINT256_MAX + 1
    if number > UINT256_MAX:
        raise MalformedSignedRequestError(f"message.{name}: not a uint256 in decimal digits")
    return number


def _hex(data: dict[str, Any], name: str, size: int) -> bytes:
    prefix = "" if name == "signature" else "message."
    try:
        return parse_hex(_text(data, name, prefix), f"{prefix}{name}", size)
    except InvalidParameterError as error:
        raise MalformedSignedRequestError(str(error)) from None


def _address(data: dict[str, Any], name: str, prefix: str = "message.") -> ChecksumAddress:
    text = _text(data, name, prefix)
    try:
        return to_checksum_address(parse_address(text, f"{prefix}{name}"))
    except InvalidParameterError as error:
        raise MalformedSignedRequestError(str(error)) from None


def _long_purpose(purpose: str) -> str:
    return f"the purpose has {len(purpose)} characters, more than {MAX_PURPOSE_CHARS}"


# ------------------------------------------------------------------ verifying


def verify_signed(
    signed: SignedRequest, expected: Domain, now: int, *, max_ahead: int = MAX_AHEAD
) -> ChecksumAddress:
    """The signer of ``signed``, once its domain is ``expected``, its deadline is after ``now``
    (the chain head's time) and at most ``max_ahead`` seconds after it, and its signature is
    the signer's. The nonce is not checked here: the store claims it.

    Raises:
        SignatureRejectedError: the first rule broken, in that order.
    """
    if signed.domain.chain_id != expected.chain_id:
        raise SignatureRejectedError(
            "wrong-domain",
            f"signed for chain {signed.domain.chain_id}, this is chain {expected.chain_id}",
        )
    if signed.domain.registry.lower() != expected.registry.lower():
        raise SignatureRejectedError(
            "wrong-domain",
            f"signed for the registry {signed.domain.registry}, this one is {expected.registry}",
        )
    if signed.deadline <= now:
        raise SignatureRejectedError(
            "expired", f"the deadline {signed.deadline} is not after the chain's time {now}"
        )
    if signed.deadline > now + max_ahead:
        raise SignatureRejectedError(
            "too-far-ahead",
            f"the deadline {signed.deadline} is more than {max_ahead} s after the chain's "
            f"time {now}",
        )
    signable = encode_typed_data(full_message=typed_request(signed))
    try:
        recovered = Account.recover_message(signable, signature=signed.signature)
    except (BadSignature, ValueError):  # no point on the curve, or a v of no recovery id
        raise SignatureRejectedError("bad-signature", "the signature recovers no key") from None
    if recovered.lower() != signed.signer.lower():
        raise SignatureRejectedError(
            "bad-signature", f"signed by {recovered}, not by {signed.signer}"
        )
    return signed.signer
