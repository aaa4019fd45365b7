"""Webhook signatures: secrets derived from the master key, the signature header, its checks,
and the receiver-side check that docs/notifications.md gives subscribers."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from provledger.services.notify.signing import (
    InvalidSecretError,
    NotifyKeyError,
    SignatureMismatchError,
    generate_master_key,
    master_key_from_text,
    parse_secret,
    secret_text,
    sign,
    subscription_secret,
    verify,
)

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "notifications.md"
MASTER = bytes(range(32))
SECRET = subscription_secret(MASTER, "sub-1")
BODY = b'{"event":"AssetRegistered","assetId":"7"}'
NOW = 1_750_000_000


def test_a_signature_verifies_against_its_body_and_time() -> None:
    header = sign(SECRET, NOW, BODY)
    assert re.fullmatch(r"t=1750000000,v1=[0-9a-f]{64}", header)
    verify(SECRET, header, BODY, now=NOW)
    verify(SECRET, header, BODY, now=NOW + 300)
    verify(SECRET, header, BODY, now=NOW - 300)


def test_the_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body() -> None:
    expected = hmac.new(SECRET, b"1750000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"t=1750000000,v1={expected}"
    with pytest.raises(ValueError, match="not negative"):
        sign(SECRET, -1, BODY)


@pytest.mark.parametrize(
    ("header", "body", "secret", "now", "reason"),
    [
        pytest.param(None, BODY + b" ", SECRET, NOW, "no v1 signature matches", id="altered-body"),
        pytest.param(
            "t=1750000001,v1={v1}", BODY, SECRET, NOW, "no v1 signature matches", id="altered-t"
        ),
        pytest.param(
            None,
            BODY,
            subscription_secret(MASTER, "sub-2"),
            NOW,
            "no v1 signature matches",
            id="wrong-secret",
        ),
        pytest.param(None, BODY, SECRET, NOW + 301, "is 301 s from now", id="stale"),
        pytest.param(None, BODY, SECRET, NOW - 301, "is 301 s from now", id="ahead"),
        pytest.param("v1={v1}", BODY, SECRET, NOW, "malformed", id="no-t"),
        pytest.param("t=1750000000", BODY, SECRET, NOW, "no v1 signature", id="no-v1"),
        pytest.param("t=abc,v1={v1}", BODY, SECRET, NOW, "malformed", id="t-not-a-number"),
        pytest.param("t=-5,v1={v1}", BODY, SECRET, NOW, "malformed", id="t-negative"),
        pytest.param(
            "t=1750000000,t=1750000000,v1={v1}", BODY, SECRET, NOW, "malformed", id="two-t"
        ),
        pytest.param("t=1750000000;v1={v1}", BODY, SECRET, NOW, "malformed", id="semicolon"),
        pytest.param("", BODY, SECRET, NOW, "malformed", id="empty"),
        pytest.param("t=1750000000,v1=zz", BODY, SECRET, NOW, "no v1 signature", id="v1-not-hex"),
    ],
)
def test_a_signature_that_does_not_vouch_for_the_body_is_rejected(
    header: str | None, body: bytes, secret: bytes, now: int, reason: str
) -> None:
    signed = sign(SECRET, NOW, BODY)
    v1 = signed.partition("v1=")[2]
    given = signed if header is None else header.format(v1=v1)
    with pytest.raises(SignatureMismatchError, match=reason) as raised:
        verify(secret, given, body, now=now)
    assert "\n" not in str(raised.value)


def test_the_tolerance_can_be_narrowed() -> None:
    header = sign(SECRET, NOW, BODY)
    verify(SECRET, header, BODY, now=NOW + 10, tolerance=10)
    with pytest.raises(SignatureMismatchError, match="at most 10 s"):
        verify(SECRET, header, BODY, now=NOW + 11, tolerance=10)


def test_any_of_several_v1_values_may_match_during_a_rotation() -> None:
    old = sign(subscription_secret(MASTER, "sub-2"), NOW, BODY).partition("v1=")[2]
    new = sign(SECRET, NOW, BODY).partition("v1=")[2]
    verify(SECRET, f"t={NOW},v1={old},v1={new}", BODY, now=NOW)
    verify(SECRET, f"t={NOW}, v0=ignored, v1={new}", BODY, now=NOW)
    with pytest.raises(SignatureMismatchError):
        verify(SECRET, f"t={NOW},v1={old},v1={old}", BODY, now=NOW)


def test_a_subscription_secret_is_hkdf_sha256_of_the_master_key() -> None:
    # RFC 5869 by hand: no salt is 32 zero bytes; 32 bytes of output is the first block.
    pseudo_random_key = hmac.new(bytes(32), MASTER, hashlib.sha256).digest()
    info = b"provledger webhook sub-1"
    expected = hmac.new(pseudo_random_key, info + b"\x01", hashlib.sha256).digest()
    assert subscription_secret(MASTER, "sub-1") == expected


def test_a_subscription_secret_is_derived_from_the_master_key_and_the_id() -> None:
    other_master = bytes(range(1, 33))
    assert len(SECRET) == 32
    assert subscription_secret(MASTER, "sub-1") == SECRET
    assert subscription_secret(MASTER, "sub-2") != SECRET
    assert subscription_secret(other_master, "sub-1") != SECRET
    assert subscription_secret(MASTER, "sub-10") != subscription_secret(MASTER, "sub-1")


def test_a_secret_reads_back_from_its_text() -> None:
    text = secret_text(SECRET)
    assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", text)
    assert parse_secret(text) == SECRET
    assert parse_secret(f"  {text}\n") == SECRET


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "does not start with 'whsec_'"),
        (secret_text(SECRET).removeprefix("whsec_"), "does not start with 'whsec_'"),
        ("whsec_not*base64", "is not base64url text"),
        ("whsec_" + "A" * 42, "decodes to 31 bytes"),
        (secret_text(SECRET + b"\x00"), "decodes to 33 bytes"),
    ],
)
def test_text_that_is_not_a_secret_is_refused_without_echoing_it(text: str, reason: str) -> None:
    with pytest.raises(InvalidSecretError, match=reason) as raised:
        parse_secret(text)
    if text:
        assert text not in str(raised.value)


def test_a_generated_master_key_reads_back() -> None:
    text = generate_master_key()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", text)
    key = master_key_from_text(f"{text}\n")
    assert len(key) == 32
    assert master_key_from_text(text + "=") == key
    assert generate_master_key() != text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the text is empty"),
        (" \n", "the text is empty"),
        ("c2hvcnRrZXk", "decodes to 8 bytes; a master key is 32"),
        (secret_text(bytes(33)).removeprefix("whsec_"), "decodes to 33 bytes"),
        ("not a key at all, but a sentence of forty-three", "is not base64url text"),
        ("whsec_" + "A" * 43, "is not base64url text"),
        ("A" * 42 + "!", "is not base64url text"),
    ],
)
def test_a_master_key_that_is_not_32_bytes_of_base64url_is_refused(text: str, reason: str) -> None:
    with pytest.raises(NotifyKeyError, match=reason) as raised:
        master_key_from_text(text)
    if text.strip():
        assert text.strip() not in str(raised.value)


# --- the receiver-side check in docs/notifications.md ---

Check = Callable[..., bool]


def _documented_check() -> Check:
    """``verify_signature`` as the document's one python block of its signature section
    defines it."""
    text = DOCUMENT.read_text(encoding="utf-8")
    section = re.search(r"^## Verifying a webhook's signature\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section is not None, "docs/notifications.md has no signature section"
    blocks = re.findall(r"^```python\n(.*?)^```", section.group(1), re.M | re.S)
    assert len(blocks) == 1, f"expected one python block, found {len(blocks)}"
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(DOCUMENT), "exec"), namespace)
    return cast(Check, namespace["verify_signature"])


def test_the_documented_check_accepts_what_provledger_signs() -> None:
    check = _documented_check()
    header = sign(SECRET, NOW, BODY)
    assert check(secret_text(SECRET), header, BODY, now=NOW) is True
    assert check(secret_text(SECRET), header, BODY, now=NOW - 299) is True
    rotating = f"t={NOW},v1={'0' * 64},v1={header.partition('v1=')[2]}"
    assert check(secret_text(SECRET), rotating, BODY, now=NOW) is True


def test_the_documented_check_rejects_altered_stale_and_foreign_deliveries() -> None:
    check = _documented_check()
    header = sign(SECRET, NOW, BODY)
    other = secret_text(subscription_secret(MASTER, "sub-2"))
    assert check(secret_text(SECRET), header, BODY + b" ", now=NOW) is False
    assert check(secret_text(SECRET), header, BODY, now=NOW + 301) is False
    assert check(other, header, BODY, now=NOW) is False
    assert check(secret_text(SECRET), "v1=" + header.partition("v1=")[2], BODY, now=NOW) is False


def test_the_documented_check_uses_the_clock_by_default() -> None:
    check = _documented_check()
    stale = sign(SECRET, NOW, BODY)
    assert check(secret_text(SECRET), stale, BODY) is False
    fresh = sign(SECRET, int(time.time()), BODY)
    assert check(secret_text(SECRET), fresh, BODY) is True
