"""Reading a proof bundle's JSON: typed access to its objects, each refusal naming the field's
path (:class:`MalformedProofBundleError`). Hex is the format's: ``0x`` and lowercase digits
(addresses may carry their EIP-55 mixed case); an object holds only the fields the format
names."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from provledger.errors import InputError
from provledger.params import MalformedHexError, parse_hex


class MalformedProofBundleError(InputError):
    """A proof bundle that is not JSON, lacks a field, or holds a value of the wrong form."""

    field: str
    reason: str

    def _message(self) -> str:
        where = f"{self.field} " if self.field else ""
        return f"malformed proof bundle: {where}{self.reason}"


def render(value: object) -> str:
    """A value as it would read in JSON, shortened for a one-line message."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value) if isinstance(value, str | int | float | bool | None) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Fields:
    """Typed access to one JSON object of a bundle; errors name the field's path."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            self._fail(path, f"must be an object, got {render(data)}")
        self.data: Mapping[str, Any] = data
        self.path = path

    @staticmethod
    def _fail(path: str, reason: str) -> NoReturn:
        raise MalformedProofBundleError(path, reason)

    def where(self, key: str | int) -> str:
        """The path of ``key`` in this object."""
        return f"{self.path}.{key}" if self.path else str(key)

    def only(self, *names: str) -> None:
        """Refuse a field the format does not name here."""
        for key in self.data:
            if key not in names:
                self._fail(self.where(key), "is not a field of the format")

    def get(self, key: str) -> Any:
        """The value of ``key``; it must be present."""
        if key not in self.data:
            self._fail(self.where(key), "is missing")
        return self.data[key]

    def has(self, key: str) -> bool:
        """Whether ``key`` is present and not null."""
        return self.data.get(key) is not None

    def integer(self, key: str) -> int:
        """A non-negative integer."""
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self._fail(self.where(key), f"must be a non-negative integer, got {render(value)}")
        return value

    def text(self, key: str) -> str:
        """A string."""
        value = self.get(key)
        if not isinstance(value, str):
            self._fail(self.where(key), f"must be a string, got {render(value)}")
        return value

    def hex(self, key: str, size: int | None = None) -> bytes:
        """``0x`` and lowercase hex; exactly ``size`` bytes when given."""
        return hex_value(self.get(key), self.where(key), size)

    def address(self, key: str) -> ChecksumAddress:
        """An address: ``0x`` and 40 hex digits, in either case."""
        raw = hex_value(self.get(key), self.where(key), 20, lowercase=False)
        return to_checksum_address(raw)

    def obj(self, key: str) -> Fields:
        """A nested object."""
        return Fields(self.get(key), self.where(key))

    def hashes(self, key: str) -> tuple[bytes, ...]:
        """A list of 32-byte hex values."""
        value = self.get(key)
        if not isinstance(value, list):
            self._fail(self.where(key), f"must be a list, got {render(value)}")
        return tuple(hex_value(item, f"{self.where(key)}[{i}]", 32) for i, item in enumerate(value))


def hex_value(value: object, where: str, size: int | None, *, lowercase: bool = True) -> bytes:
    """Hex as the format writes it: ``0x`` and hex digits, lowercase unless ``lowercase`` is
    off, nothing around them (:func:`provledger.params.parse_hex`), refused in the bundle's
    words."""
    try:
        if not isinstance(value, str) or not value.startswith("0x"):
            raise MalformedHexError(where, "prefix")
        parsed = parse_hex(value, where, size)
    except MalformedHexError as error:
        if error.flaw == "prefix":
            reason = f"must be 0x-prefixed hex, got {render(value)}"
        elif error.flaw == "length" and error.size is not None and error.digits % 2 == 0:
            reason = f"must be {error.size} bytes, got {error.digits // 2}"
        else:
            reason = f"is not hexadecimal: {render(value)}"
        raise MalformedProofBundleError(where, reason) from None
    if lowercase and value != value.lower():
        raise MalformedProofBundleError(where, f"must be lowercase hex, got {render(value)}")
    return parsed
