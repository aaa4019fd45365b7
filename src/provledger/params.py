"""One rule for each kind of value people and documents give provledger: asset ids, 32-byte
hashes, addresses, whole numbers, page sizes and cursors.

The command line, the services, the gateway, the proof checker and the blob folder all parse
with these functions, so the same text means the same thing everywhere. A rule refuses with
:class:`InvalidParameterError`, naming the parameter and the reason; a face that words its
refusals otherwise (the command line's one line, a proof bundle's field path) catches it.

What is accepted, once for all:

* an **asset id** is ``0x`` and 1 to 64 hex digits, or a decimal number below ``2**256`` in
  ASCII digits; nothing around it (``exact_width`` asks for all 64 hex digits);
* a **32-byte hash** is 64 hex digits, after ``0x`` or not, any case; white space around it (a
  pasted newline) is ignored;
* an **address** is ``0x`` and 40 hex digits; mixed case must be its EIP-55 checksum; white
  space around it is ignored;
* a **whole number** is ASCII decimal digits only (not ``+1``, ``1_000``, `` 1`` or other
  scripts' digits);
* **hex in a document** (a proof bundle) is ``0x`` and hex digits, nothing around them.

A value has two forms: the one stored and compared (lowercase ``0x`` hex: :func:`parse_hash`,
:func:`parse_address`) and the one shown to people (an EIP-55 checksummed address:
:func:`checksum`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Sequence
from typing import Any, Final, Literal, overload

import orjson
from eth_utils.address import to_checksum_address

from provledger.errors import InputError, InvalidHashError
from provledger.jsondoc import echo

#: The most decimal digits a number may have (a uint256 has 78).
MAX_DIGITS: Final = 78
INT64_MAX: Final = 2**63 - 1
UINT256_MAX: Final = 2**256 - 1
#: The largest page a list answers.
MAX_PAGE: Final = 1000
#: The longest text part of a cursor (keys are hashes and addresses).
MAX_CURSOR_TEXT: Final = 130
#: The reason :func:`parse_address` gives for a mixed-case address whose EIP-55 checksum fails.
BAD_CHECKSUM: Final = "the mixed-case checksum does not match"

_HEX_NUMBER: Final = re.compile(r"0[xX][0-9a-fA-F]{1,64}")
_NON_HEX: Final = re.compile(r"[^0-9a-fA-F]")

Flaw = Literal["prefix", "digit", "length"]


class InvalidParameterError(InputError):
    """A parameter that does not parse; names the parameter and the reason."""

    template = "{field}: {reason}"
    field: str
    reason: str


class ForeignCursorError(InvalidParameterError):
    """A cursor this gateway issued, but for another list (another shape of key)."""


class MalformedHexError(InvalidParameterError):
    """Hex that breaks its rule: ``flaw`` is ``prefix`` (no ``0x`` where one is needed),
    ``digit`` (``char`` is not a hex digit) or ``length`` (``digits`` hex digits, not the
    ``2 * size`` wanted, or an odd number when any whole number of bytes will do)."""

    def __init__(
        self, field: str, flaw: Flaw, *, char: str = "", digits: int = 0, size: int | None = None
    ) -> None:
        self.flaw, self.char, self.digits, self.size = flaw, char, digits, size
        if flaw == "prefix":
            reason = "must start with 0x"
        elif flaw == "digit":
            reason = f"{char!r} is not a hex digit"
        elif size is None:
            reason = f"an odd number of hex digits ({digits}) is no whole number of bytes"
        else:
            reason = f"a {size}-byte hash has {2 * size} hex digits, got {digits}"
        super().__init__(field, reason)


# ------------------------------------------------------------------ numbers


def decimal_digits(text: str) -> int:
    """The whole number ``text`` writes in ASCII decimal digits (at most :data:`MAX_DIGITS`);
    ``ValueError`` for anything else. ``int()`` would also take ``+1``, ``1_000``, `` 1`` and
    other scripts' digits; one number is written one way."""
    if not (0 < len(text) <= MAX_DIGITS and text.isascii() and text.isdigit()):
        raise ValueError("not a whole number in ASCII decimal digits")
    return int(text)


def parse_asset_id(text: str, field: str = "asset_id", *, exact_width: bool = False) -> int:
    """An asset id from ``0x`` + 1 to 64 hex digits (all 64 with ``exact_width``: the width
    commands print) or a decimal number (ASCII digits); nothing else, not even spaces around
    it."""
    if _HEX_NUMBER.fullmatch(text):
        if exact_width and len(text) != 66:
            raise InvalidParameterError(field, f"0x and 64 hex digits, got {len(text) - 2}")
        return int(text, 16)
    if text[:2].lower() == "0x" and len(text) > 66 and _HEX_NUMBER.fullmatch(text[:66]):
        raise InvalidParameterError(field, "more than 64 hex digits")
    try:
        number = decimal_digits(text)
    except ValueError:
        raise InvalidParameterError(
            field, f"{echo(text)} is neither 0x-prefixed hex nor a decimal number"
        ) from None
    if number > UINT256_MAX:
        raise InvalidParameterError(field, "outside the uint256 range")
    return number


# ------------------------------------------------------------------ hex


def _prefixed(text: str) -> bool:
    return text[:2] in ("0x", "0X")


def hex_digits(digits: str, field: str, size: int | None = None) -> bytes:
    """The bytes hex ``digits`` (no ``0x``, any case) write: exactly ``size`` bytes when given,
    else any whole number of bytes.

    Raises:
        MalformedHexError: the first character that is not a hex digit, else a wrong count.
    """
    bad = _NON_HEX.search(digits)
    if bad is not None:
        raise MalformedHexError(field, "digit", char=bad.group(), size=size)
    odd = size is None and len(digits) % 2 == 1
    if odd or (size is not None and len(digits) != 2 * size):
        raise MalformedHexError(field, "length", digits=len(digits), size=size)
    return bytes.fromhex(digits)


def parse_hex(text: str, field: str, size: int | None = None) -> bytes:
    """Bytes as a document writes them: ``0x`` (or ``0X``) and hex digits, nothing around them;
    exactly ``size`` bytes when given (:func:`hex_digits`)."""
    if not _prefixed(text):
        raise MalformedHexError(field, "prefix")
    return hex_digits(text[2:], field, size)


def parse_hash_bytes(text: str, field: str = "hash") -> bytes:
    """A 32-byte hash as typed or pasted: 64 hex digits, after ``0x`` or not, in any case;
    white space around it is ignored."""
    if not isinstance(text, str):
        raise InvalidParameterError(field, f"expected text, got {type(text).__name__}")
    body = text.strip()
    return hex_digits(body[2:] if _prefixed(body) else body, field, 32)


def parse_hash(text: str, field: str) -> str:
    """A 32-byte hash (:func:`parse_hash_bytes`) in its stored form (:func:`to_hex32`)."""
    return to_hex32(parse_hash_bytes(text, field))


def to_hex32(value: bytes) -> str:
    """A 32-byte hash in its stored form: ``0x`` and 64 lowercase hex digits.

    Raises:
        InvalidHashError: ``value`` is not exactly 32 bytes.
    """
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidHashError(repr(value), f"expected 32 bytes, got {type(value).__name__}")
    raw = bytes(value)
    if len(raw) != 32:
        raise InvalidHashError("0x" + raw.hex(), f"expected 32 bytes, got {len(raw)}")
    return "0x" + raw.hex()


# ------------------------------------------------------------------ addresses


def parse_address(text: str, field: str) -> str:
    """An address in its stored form: ``0x`` + 40 lowercase hex digits. Mixed case must be the
    EIP-55 checksum; white space around it is ignored."""
    value = text.strip()
    digits = value[2:]
    wrong = InvalidParameterError(field, "an address is 0x and 40 hex digits")
    if not _prefixed(value):
        raise wrong
    try:
        hex_digits(digits, field, 20)
    except MalformedHexError as error:
        raise (wrong if error.flaw == "length" else error) from None
    mixed = digits not in (digits.lower(), digits.upper())
    if mixed and _checksummed("0x" + digits.lower())[2:] != digits:
        raise InvalidParameterError(field, BAD_CHECKSUM)
    return "0x" + digits.lower()


@overload
def checksum(address: str) -> str: ...
@overload
def checksum(address: None) -> None: ...
def checksum(address: str | None) -> str | None:
    """An address as shown to people: EIP-55 checksummed (None stays None)."""
    return None if address is None else _checksummed(address)


@functools.lru_cache(maxsize=65_536)
def _checksummed(address: str) -> str:
    # eth_utils hashes and validates on every call (about 0.2 ms); the same few thousand
    # addresses (holders, registrants, contracts) come back in almost every answer.
    return to_checksum_address(address)


# ------------------------------------------------------------------ pages


def page_limit(limit: int | None, default: int) -> int:
    """A page size within 1..MAX_PAGE."""
    if limit is None:
        return default
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidParameterError("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
    return limit


def encode_cursor(key: Sequence[Any]) -> str:
    """An opaque cursor for a page key."""
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str | None, shape: Sequence[type]) -> list[Any] | None:
    """The key a cursor carries, checked against ``shape`` (the types of its parts)."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidParameterError("cursor", "not a cursor this gateway issued") from None
    if (
        not isinstance(key, list)
        or len(key) != len(shape)
        or not all(_fits(part, kind) for part, kind in zip(key, shape, strict=True))
    ):
        raise ForeignCursorError("cursor", "not a cursor of this list")
    return key


def _fits(part: object, kind: type) -> bool:
    """Whether a cursor part is of ``kind`` and fits the column it is compared with (a
    signed 64-bit integer, a hex key)."""
    if kind is object:  # any key value: an integer, a text or NULL
        return part is None or (type(part) in (int, str) and _fits(part, type(part)))
    if type(part) is not kind:
        return False
    if isinstance(part, int):
        return -INT64_MAX - 1 <= part <= INT64_MAX
    return not isinstance(part, str) or len(part) <= MAX_CURSOR_TEXT
