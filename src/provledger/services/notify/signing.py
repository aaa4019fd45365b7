"""Webhook signatures: per-subscription secrets derived from a master key, and the
``Provledger-Signature`` header that lets a receiver check a delivery came from us, unaltered.

A delivery's header is ``t=<unix seconds>,v1=<hex>``, the hex being HMAC-SHA256, keyed with the
subscription's secret, over ``<t>.`` followed by the raw body (Stripe's scheme). Several ``v1``
entries may appear while a secret is rotated; a receiver accepts the delivery when one matches
and the timestamp is within :data:`TIMESTAMP_TOLERANCE_SECONDS` of its clock, and drops repeats
by the ``Provledger-Delivery`` id.

No secret is stored: a subscription's secret is HKDF-SHA256 of the master key (kept in a file,
outside the database) with the subscription id as context, so it can be shown again on request
(:func:`secret_text`) and changes for every subscription when the master key does.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from provledger.errors import ConfigurationError, InputError

__all__ = [
    "DELIVERY_HEADER",
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "TIMESTAMP_TOLERANCE_SECONDS",
    "InvalidSecretError",
    "NotifyKeyError",
    "SignatureMismatchError",
    "generate_master_key",
    "master_key_from_text",
    "parse_secret",
    "secret_text",
    "sign",
    "subscription_secret",
    "verify",
]

#: The request header carrying a delivery's signature.
SIGNATURE_HEADER: Final = "Provledger-Signature"
#: The request header carrying a delivery's id, the same on every retry of it.
DELIVERY_HEADER: Final = "Provledger-Delivery"
#: How far a signature's timestamp may be from the receiver's clock, either way (5 minutes).
TIMESTAMP_TOLERANCE_SECONDS: Final = 300
#: What starts a secret's text, so a secret pasted in the wrong place is recognised.
SECRET_PREFIX: Final = "whsec_"

_KEY_SIZE: Final = 32
_SECRET_INFO: Final = b"provledger webhook "
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,18}")


class NotifyKeyError(ConfigurationError):
    """The notification master key's text cannot be used. The message says what is wrong with
    it, never the text itself."""

    template = "Cannot use the notification master key: {reason}"
    reason: str


class InvalidSecretError(InputError):
    """Text given as a webhook secret is not one (``whsec_`` then 32 bytes in base64url). The
    message says what is wrong with it, never the text itself."""

    template = "Not a webhook secret: {reason}"
    reason: str


class SignatureMismatchError(InputError):
    """A webhook's signature header does not vouch for its body: malformed, too old or too far
    ahead, or made with another secret or over other bytes."""

    template = "Webhook signature rejected: {reason}"
    reason: str


def _decode_base64url(text: str) -> bytes | None:
    """The bytes of base64url ``text`` (padding optional), or None if it is not base64url."""
    if not _BASE64URL.fullmatch(text):
        return None
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


def _encode_base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


# --- the master key and the subscriptions' secrets ---


def generate_master_key() -> str:
    """A new random master key, as its key file holds it: 32 random bytes in base64url (43
    characters, one line, no padding)."""
    return _encode_base64url(secrets.token_bytes(_KEY_SIZE))


def master_key_from_text(text: str) -> bytes:
    """The 32-byte master key written in ``text`` (a key file's content), surrounding
    whitespace ignored. Raises :class:`NotifyKeyError` for anything else."""
    entry = text.strip()
    if not entry:
        raise NotifyKeyError("the text is empty")
    key = _decode_base64url(entry)
    if key is None:
        raise NotifyKeyError(
            f"it is not base64url text (A-Z a-z 0-9 - _, then optional =; got {len(entry)} "
            "characters); `generate_master_key` makes one"
        )
    if len(key) != _KEY_SIZE:
        raise NotifyKeyError(f"it decodes to {len(key)} bytes; a master key is {_KEY_SIZE}")
    return key


def subscription_secret(master_key: bytes, subscription_id: str) -> bytes:
    """The 32-byte webhook secret of subscription ``subscription_id``: HKDF-SHA256 of
    ``master_key``, no salt, info ``b"provledger webhook " + subscription_id`` (UTF-8)."""
    derivation = HKDF(
        algorithm=hashes.SHA256(),
        length=_KEY_SIZE,
        salt=None,
        info=_SECRET_INFO + subscription_id.encode("utf-8"),
    )
    return derivation.derive(master_key)


def secret_text(secret: bytes) -> str:
    """``secret`` as shown to a subscriber: ``whsec_`` then base64url, unpadded."""
    return SECRET_PREFIX + _encode_base64url(secret)


def parse_secret(text: str) -> bytes:
    """The secret written as ``text`` (see :func:`secret_text`), surrounding whitespace
    ignored. Raises :class:`InvalidSecretError`."""
    entry = text.strip()
    if not entry.startswith(SECRET_PREFIX):
        raise InvalidSecretError(f"it does not start with {SECRET_PREFIX!r}")
    secret = _decode_base64url(entry.removeprefix(SECRET_PREFIX))
    if secret is None:
        raise InvalidSecretError(f"what follows {SECRET_PREFIX!r} is not base64url text")
    if len(secret) != _KEY_SIZE:
        raise InvalidSecretError(f"it decodes to {len(secret)} bytes; a secret is {_KEY_SIZE}")
    return secret


# --- signing and verifying ---


def _mac(secret: bytes, timestamp: int, body: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 context keyed with ``secret``, fed ``<timestamp>.`` and ``body``."""
    context = hmac.HMAC(secret, hashes.SHA256())
    context.update(f"{timestamp}.".encode("ascii"))
    context.update(body)
    return context


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The :data:`SIGNATURE_HEADER` value for ``body`` sent at ``timestamp`` (unix seconds):
    ``t=<timestamp>,v1=<lowercase hex HMAC-SHA256 of b"<timestamp>." + body>``."""
    if timestamp < 0:
        raise ValueError(f"a timestamp is unix seconds, not negative; got {timestamp}")
    return f"t={timestamp},v1={_mac(secret, timestamp, body).finalize().hex()}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    """The timestamp and the ``v1`` values of a signature header; other schemes are ignored."""
    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(","):
        scheme, equals, value = item.strip().partition("=")
        if not equals:
            raise SignatureMismatchError("the header is malformed (an entry has no '=')")
        if scheme == "t":
            timestamps.append(value)
        elif scheme == "v1":
            candidates.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]):
        raise SignatureMismatchError("the header is malformed (it needs one numeric t=)")
    if not candidates:
        raise SignatureMismatchError("the header has no v1 signature")
    return int(timestamps[0]), candidates


def verify(
    secret: bytes,
    header: str,
    body: bytes,
    *,
    now: int,
    tolerance: int = TIMESTAMP_TOLERANCE_SECONDS,
) -> None:
    """Check that ``header`` (a :data:`SIGNATURE_HEADER` value) signs ``body`` with ``secret``
    at a time within ``tolerance`` seconds of ``now`` (unix seconds). Any ``v1`` value may
    match (several are sent while a secret is rotated); each is compared in constant time.
    Raises :class:`SignatureMismatchError`."""
    timestamp, candidates = _parse_header(header)
    context = _mac(secret, timestamp, body)
    if not any(_matches(context, candidate) for candidate in candidates):
        raise SignatureMismatchError("no v1 signature matches the body and timestamp")
    if abs(now - timestamp) > tolerance:
        raise SignatureMismatchError(
            f"the timestamp is {abs(now - timestamp)} s from now; at most {tolerance} s is accepted"
        )


def _matches(context: hmac.HMAC, candidate: str) -> bool:
    """Whether hex ``candidate`` is the digest of ``context`` (left usable for the next)."""
    try:
        signature = bytes.fromhex(candidate)
    except ValueError:
        return False
    try:
        context.copy().verify(signature)
    except InvalidSignature:
        return False
    return True
