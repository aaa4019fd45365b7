"""Signed data-room requests (:mod:`provledger.services.delivery.requests`): the header each
kind travels in, its reading, and every rule a signature is checked by."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from provledger.services.delivery.requests import (
    MAX_HEADER_CHARS,
    Domain,
    MalformedSignedRequestError,
    RequestKind,
    SignatureRejectedError,
    SignedRequest,
    encode_signed,
    parse_signed,
    sign_access,
    sign_log_read,
    sign_upload,
    typed_request,
    verify_signed,
)

NOW = 1_700_000_000
DOMAIN = Domain(31337, to_checksum_address("0x5fbdb2315678afecb367f032d93f642f64180aa3"))
ASSET = 2**255 + 12345
CONTENT = bytes.fromhex("ab" * 32)
KINDS: tuple[RequestKind, ...] = ("DataUpload", "DataAccess", "AccessLogRead")


@pytest.fixture(scope="module")
def signer() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account


@pytest.fixture(scope="module")
def other() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account


def _sign(
    kind: RequestKind,
    account: LocalAccount,
    *,
    domain: Domain = DOMAIN,
    deadline: int = NOW + 300,
    nonce: int | None = 7,
    purpose: str = "audit of the 2024 harvest",
) -> str:
    if kind == "DataUpload":
        return sign_upload(account, domain, ASSET, CONTENT, deadline=deadline, nonce=nonce)
    if kind == "DataAccess":
        return sign_access(account, domain, ASSET, purpose, deadline=deadline, nonce=nonce)
    return sign_log_read(account, domain, ASSET, deadline=deadline, nonce=nonce)


def _document(value: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


def _header(document: Any) -> str:
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _rule(signed: SignedRequest, now: int = NOW, expected: Domain = DOMAIN) -> tuple[str, str]:
    with pytest.raises(SignatureRejectedError) as caught:
        verify_signed(signed, expected, now)
    return caught.value.rule, caught.value.reason


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_round_trips_and_verifies(kind: RequestKind, signer: LocalAccount) -> None:
    value = _sign(kind, signer)
    assert len(value) <= MAX_HEADER_CHARS
    assert "=" not in value
    signed = parse_signed(value, kind)
    assert (signed.kind, signed.signer, signed.asset_id) == (kind, signer.address, ASSET)
    assert (signed.nonce, signed.deadline, signed.domain) == (7, NOW + 300, DOMAIN)
    assert signed.content_hash == (CONTENT if kind == "DataUpload" else None)
    assert signed.purpose == ("audit of the 2024 harvest" if kind == "DataAccess" else None)
    assert len(signed.signature) == 65
    assert verify_signed(signed, DOMAIN, NOW) == signer.address
    assert encode_signed(signed) == value


def test_the_header_is_compact_json_with_decimal_numbers(signer: LocalAccount) -> None:
    value = sign_upload(signer, DOMAIN, ASSET, CONTENT, deadline=NOW + 60, nonce=2**256 - 1)
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    document = json.loads(raw)
    assert raw == json.dumps(document, separators=(",", ":")).encode()
    signature = document.pop("signature")
    assert document == {
        "type": "DataUpload",
        "domain": {"chainId": 31337, "verifyingContract": DOMAIN.registry},
        "message": {
            "holder": signer.address,
            "assetId": str(ASSET),
            "contentHash": "0x" + "ab" * 32,
            "nonce": str(2**256 - 1),
            "deadline": str(NOW + 60),
        },
    }
    assert signature.startswith("0x")
    assert len(signature) == 2 + 130


def test_the_default_nonce_is_random(signer: LocalAccount) -> None:
    nonces = {parse_signed(_sign("DataAccess", signer, nonce=None), "DataAccess").nonce}
    nonces.add(parse_signed(_sign("DataAccess", signer, nonce=None), "DataAccess").nonce)
    assert len(nonces) == 2
    assert all(0 <= nonce < 2**256 for nonce in nonces)


# The typed data of each kind written out by hand, as a wallet (eth_signTypedData_v4) gets it.
INDEPENDENT_FIELDS: dict[str, tuple[list[dict[str, str]], dict[str, Any]]] = {
    "DataUpload": (
        [
            {"name": "holder", "type": "address"},
            {"name": "assetId", "type": "uint256"},
            {"name": "contentHash", "type": "bytes32"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ],
        {"contentHash": "0x" + "ab" * 32},
    ),
    "DataAccess": (
        [
            {"name": "requester", "type": "address"},
            {"name": "assetId", "type": "uint256"},
            {"name": "purpose", "type": "string"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ],
        {"purpose": "audit of the 2024 harvest"},
    ),
    "AccessLogRead": (
        [
            {"name": "holder", "type": "address"},
            {"name": "assetId", "type": "uint256"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ],
        {},
    ),
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_digest_matches_an_independent_encoding(
    kind: RequestKind, signer: LocalAccount
) -> None:
    fields, extra = INDEPENDENT_FIELDS[kind]
    full_message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            kind: fields,
        },
        "primaryType": kind,
        "domain": {
            "name": "provledger data room",
            "version": "1",
            "chainId": 31337,
            "verifyingContract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        },
        "message": {
            fields[0]["name"]: signer.address,
            "assetId": ASSET,
            "nonce": 7,
            "deadline": NOW + 300,
            **extra,
        },
    }
    signable = encode_typed_data(full_message=full_message)
    signed = parse_signed(_sign(kind, signer), kind)
    assert Account.recover_message(signable, signature=signed.signature) == signer.address
    # RFC 6979 signatures are deterministic: the same key over the same digest signs the same.
    assert bytes(Account.sign_message(signable, signer.key).signature) == signed.signature
    assert encode_typed_data(full_message=typed_request(signed)) == signable


# ------------------------------------------------------------------ the rules


def test_a_signature_by_another_key_is_rejected(signer: LocalAccount, other: LocalAccount) -> None:
    claimed = parse_signed(_sign("DataAccess", signer), "DataAccess")
    forged = Account.sign_message(encode_typed_data(full_message=typed_request(claimed)), other.key)
    signed = parse_signed(
        encode_signed(replace(claimed, signature=bytes(forged.signature))), "DataAccess"
    )
    assert _rule(signed) == (
        "bad-signature",
        f"signed by {other.address}, not by {signer.address}",
    )


def test_a_signature_that_recovers_no_key_is_rejected(signer: LocalAccount) -> None:
    signed = parse_signed(_sign("AccessLogRead", signer), "AccessLogRead")
    for signature in (bytes(64) + b"\x1b", b"\x01" * 64 + b"\x05"):
        assert _rule(replace(signed, signature=signature)) == (
            "bad-signature",
            "the signature recovers no key",
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("assetId", str(ASSET + 1)),
        ("purpose", "audit of the 2025 harvest"),
        ("nonce", "8"),
        ("deadline", str(NOW + 301)),
    ],
)
def test_a_tampered_access_request_is_rejected(
    field: str, value: str, signer: LocalAccount
) -> None:
    document = _document(_sign("DataAccess", signer))
    document["message"][field] = value
    signed = parse_signed(_header(document), "DataAccess")
    rule, reason = _rule(signed)
    assert rule == "bad-signature"
    assert reason.endswith(f"not by {signer.address}")


def test_a_tampered_content_hash_is_rejected(signer: LocalAccount) -> None:
    document = _document(_sign("DataUpload", signer))
    document["message"]["contentHash"] = "0x" + "ac" * 32
    rule, _ = _rule(parse_signed(_header(document), "DataUpload"))
    assert rule == "bad-signature"


def test_a_request_naming_another_signer_is_rejected(
    signer: LocalAccount, other: LocalAccount
) -> None:
    document = _document(_sign("DataUpload", signer))
    document["message"]["holder"] = other.address
    assert _rule(parse_signed(_header(document), "DataUpload"))[0] == "bad-signature"


@pytest.mark.parametrize("deadline", [NOW, NOW - 1])
def test_a_deadline_not_after_the_chain_time_is_expired(
    deadline: int, signer: LocalAccount
) -> None:
    signed = parse_signed(_sign("DataUpload", signer, deadline=deadline), "DataUpload")
    assert _rule(signed) == (
        "expired",
        f"the deadline {deadline} is not after the chain's time {NOW}",
    )


def test_a_signature_is_good_for_ten_minutes_at_the_most(signer: LocalAccount) -> None:
    at_most = parse_signed(_sign("DataAccess", signer, deadline=NOW + 600), "DataAccess")
    assert verify_signed(at_most, DOMAIN, NOW) == signer.address
    beyond = parse_signed(_sign("DataAccess", signer, deadline=NOW + 601), "DataAccess")
    assert _rule(beyond) == (
        "too-far-ahead",
        f"the deadline {NOW + 601} is more than 600 s after the chain's time {NOW}",
    )
    assert verify_signed(beyond, DOMAIN, NOW + 1) == signer.address
    assert verify_signed(beyond, DOMAIN, NOW, max_ahead=601) == signer.address


def test_a_signature_for_another_domain_is_rejected(signer: LocalAccount) -> None:
    elsewhere = Domain(1, DOMAIN.registry)
    signed = parse_signed(_sign("DataAccess", signer, domain=elsewhere), "DataAccess")
    assert _rule(signed) == ("wrong-domain", "signed for chain 1, this is chain 31337")
    other_registry = Domain(31337, to_checksum_address("0x" + "12" * 20))
    signed = parse_signed(_sign("DataAccess", signer, domain=other_registry), "DataAccess")
    assert _rule(signed) == (
        "wrong-domain",
        f"signed for the registry {other_registry.registry}, this one is {DOMAIN.registry}",
    )
    # honestly signed for its own domain: only the expected domain refuses it
    assert verify_signed(signed, other_registry, NOW) == signer.address


def test_the_replayed_rule_is_a_rejection() -> None:
    error = SignatureRejectedError("replayed", "nonce 7 was used")
    assert str(error) == "the signed request is rejected (replayed): nonce 7 was used"


# ------------------------------------------------------------------ malformed headers


def _edit(change: Callable[[Any], None]) -> Callable[[str], str]:
    def edit(value: str) -> str:
        document = _document(value)
        change(document)
        return _header(document)

    return edit


def _set(part: str, field: str, value: Any) -> Callable[[str], str]:
    def change(document: Any) -> None:
        (document if part == "" else document[part])[field] = value

    return _edit(change)


def _drop(part: str, field: str) -> Callable[[str], str]:
    def change(document: Any) -> None:
        del (document if part == "" else document[part])[field]

    return _edit(change)


MALFORMED: list[tuple[str, Callable[[str], str], str]] = [
    ("not base64url", lambda value: value[:-4] + "+/+/", "not base64url without padding"),
    ("padding", lambda value: value + "=" * (-len(value) % 4 or 4), "base64url without padding"),
    ("empty", lambda _: "", "not base64url without padding"),
    ("impossible length", lambda value: value + "A" * ((1 - len(value)) % 4 or 4), "base64url"),
    (
        "not JSON",
        lambda _: base64.urlsafe_b64encode(b"{nope").decode().rstrip("="),
        "not JSON",
    ),
    ("not an object", lambda _: _header([1, 2]), "the request is not a JSON object"),
    ("missing field", _drop("", "signature"), "the request lacks signature"),
    ("extra field", _set("", "version", "1"), "the request has unknown fields version"),
    ("domain missing", _drop("domain", "chainId"), "the domain lacks chainId"),
    ("domain extra", _set("domain", "name", "x"), "the domain has unknown fields name"),
    ("domain not object", _set("", "domain", 31337), "the domain is not a JSON object"),
    ("message missing", _drop("message", "nonce"), "the message lacks nonce"),
    ("message extra", _set("message", "holder", "0x" + "11" * 20), "unknown fields holder"),
    ("chain id text", _set("domain", "chainId", "31337"), "domain.chainId: not a uint256"),
    ("chain id float", _set("domain", "chainId", 31337.0), "domain.chainId: not a uint256"),
    ("chain id bool", _set("domain", "chainId", True), "domain.chainId: not a uint256"),
    ("chain id negative", _set("domain", "chainId", -1), "domain.chainId: not a uint256"),
    ("asset id number", _set("message", "assetId", 5), "message.assetId: not a string"),
    ("asset id hex", _set("message", "assetId", "0x05"), "message.assetId: not a uint256"),
    ("nonce negative", _set("message", "nonce", "-1"), "message.nonce: not a uint256"),
    ("nonce too big", _set("message", "nonce", str(2**256)), "message.nonce: not a uint256"),
    ("deadline spaced", _set("message", "deadline", " 1"), "message.deadline: not a uint256"),
    ("purpose number", _set("message", "purpose", 5), "message.purpose: not a string"),
    (
        "purpose too long",
        _set("message", "purpose", "x" * 201),
        "the purpose has 201 characters, more than 200",
    ),
    (
        "requester not an address",
        _set("message", "requester", "0x1234"),
        "message.requester: an address is 0x and 40 hex digits",
    ),
    (
        "requester bad checksum",
        _set("message", "requester", "0x5FBDB2315678afecb367f032d93F642f64180aa3"),
        "message.requester: the mixed-case checksum does not match",
    ),
    (
        "registry not an address",
        _set("domain", "verifyingContract", None),
        "domain.verifyingContract: not a string",
    ),
    (
        "short signature",
        _set("", "signature", "0x" + "11" * 64),
        "signature: a 65-byte hash has 130 hex digits, got 128",
    ),
    ("signature no prefix", _set("", "signature", "11" * 65), "signature: must start with 0x"),
    (
        "wrong kind",
        _set("", "type", "DataUpload"),
        "this route takes a DataAccess, not 'DataUpload'",
    ),
    (
        "unknown kind",
        _set("", "type", "Mint"),
        "this route takes a DataAccess, not an unknown kind",
    ),
    (
        "kind not text",
        _set("", "type", ["x"]),
        "this route takes a DataAccess, not an unknown kind",
    ),
]


@pytest.mark.parametrize(
    ("change", "reason"),
    [pytest.param(change, reason, id=name) for name, change, reason in MALFORMED],
)
def test_a_malformed_header_is_refused(
    change: Callable[[str], str], reason: str, signer: LocalAccount
) -> None:
    value = change(_sign("DataAccess", signer))
    with pytest.raises(MalformedSignedRequestError) as caught:
        parse_signed(value, "DataAccess")
    assert reason in caught.value.reason
    assert str(caught.value) == f"the signed request is malformed: {caught.value.reason}"


def test_a_purpose_of_200_characters_is_read(signer: LocalAccount) -> None:
    value = _sign("DataAccess", signer, purpose="é" * 200)
    assert parse_signed(value, "DataAccess").purpose == "é" * 200
    with pytest.raises(MalformedSignedRequestError, match="201 characters"):
        _sign("DataAccess", signer, purpose="x" * 201)


def test_a_content_hash_must_be_32_bytes(signer: LocalAccount) -> None:
    document = _document(_sign("DataUpload", signer))
    document["message"]["contentHash"] = "0x" + "ab" * 31
    with pytest.raises(MalformedSignedRequestError) as caught:
        parse_signed(_header(document), "DataUpload")
    assert caught.value.reason == "message.contentHash: a 32-byte hash has 64 hex digits, got 62"


def test_an_oversized_header_is_refused_before_decoding(signer: LocalAccount) -> None:
    oversized = _set("", "filler", "x" * 3000)(_sign("DataAccess", signer))
    for value, reason in (
        (oversized, "longer than 4096 characters"),  # not "unknown fields filler"
        ("!" * (MAX_HEADER_CHARS + 1), "longer than 4096 characters"),
        ("!" * MAX_HEADER_CHARS, "not base64url without padding"),
    ):
        with pytest.raises(MalformedSignedRequestError) as caught:
            parse_signed(value, "DataAccess")
        assert caught.value.reason == reason


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no signed request kind 'Mint'"):
        parse_signed("e30", "Mint")
