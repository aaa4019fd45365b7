"""Turn contract reverts into typed errors, whatever the backend.

eth-tester raises ``TransactionFailed("execution reverted: b'...'")`` with the raw revert data
written as a Python bytes literal; a JSON-RPC node (anvil, geth …) makes web3 raise
``ContractCustomError`` / ``ContractLogicError`` with ``.data`` as hex. Both end here and become
a :class:`ContractRevert` that names the custom error and its arguments, decoded with the ABIs of
every packaged artifact.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from provledger.chain.artifacts import artifact_names, load_artifact
from provledger.chain.enums import SOLIDITY_ENUMS
from provledger.errors import ProvledgerError

_ERROR_STRING_SELECTOR: Final = keccak(text="Error(string)")[:4]
_PANIC_SELECTOR: Final = keccak(text="Panic(uint256)")[:4]
_REVERTED_PREFIX: Final = "execution reverted"

PANIC_CODES: Final[dict[int, str]] = {
    0x00: "generic compiler panic",
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


class ContractRevert(ProvledgerError):
    """A contract call or transaction reverted.

    ``name`` is the custom error's name (``"Error"`` for a revert string, ``"Panic"`` for a
    panic, ``""`` when the revert carried no data or unknown data); ``args`` maps the error's
    parameter names to decoded values (addresses checksummed, enums as their Python mirror).
    """

    def __init__(self, name: str, args: Mapping[str, Any], data: bytes) -> None:
        self.name = name
        self.args_by_name: dict[str, Any] = dict(args)
        self.data = data
        super().__init__(self._describe())

    def _describe(self) -> str:
        if not self.name:
            return f"reverted without a known reason (data {HexBytes(self.data).to_0x_hex()})"
        rendered = ", ".join(
            f"{key}={_render(value, asset=key in ASSET_ID_ARGS)}"
            for key, value in self.args_by_name.items()
        )
        return f"reverted with {self.name}({rendered})"


#: Error arguments that are asset ids: shown as 0x and 64 hex digits, as everything prints them.
ASSET_ID_ARGS: Final = frozenset({"assetId", "parentId", "tokenId"})


def _render(value: Any, *, asset: bool = False) -> str:
    if asset and isinstance(value, int):
        return f"0x{value:064x}"
    if isinstance(value, IntEnum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, bytes):
        return HexBytes(value).to_0x_hex()
    return repr(value) if isinstance(value, str) and not value.startswith("0x") else str(value)


@dataclass(frozen=True)
class ErrorSpec:
    """A custom error as an ABI declares it."""

    name: str
    types: tuple[str, ...]
    arg_names: tuple[str, ...]
    enums: tuple[str | None, ...]

    @property
    def signature(self) -> str:
        """``Name(type,type)``."""
        return f"{self.name}({','.join(self.types)})"

    @property
    def selector(self) -> bytes:
        """The first four bytes of ``keccak256(signature)``."""
        return keccak(text=self.signature)[:4]


@functools.cache
def known_errors() -> dict[bytes, ErrorSpec]:
    """Selector -> error, over every error in every packaged artifact."""
    specs: dict[bytes, ErrorSpec] = {}
    for name in artifact_names():
        for element in load_artifact(name).abi:
            item = cast(dict[str, Any], element)
            if item.get("type") != "error":
                continue
            inputs = item.get("inputs", [])
            enums: list[str | None] = []
            for arg in inputs:
                internal = str(arg.get("internalType", ""))
                enum = internal.removeprefix("enum ").rsplit(".", 1)[-1]
                enums.append(enum if internal.startswith("enum ") else None)
            spec = ErrorSpec(
                name=str(item["name"]),
                types=tuple(str(arg["type"]) for arg in inputs),
                arg_names=tuple(str(arg["name"]) for arg in inputs),
                enums=tuple(enums),
            )
            specs[spec.selector] = spec
    return specs


def decode_revert_data(data: bytes) -> ContractRevert:
    """The typed revert for raw revert data."""
    selector, payload = data[:4], data[4:]
    try:
        if selector == _ERROR_STRING_SELECTOR:
            (message,) = abi_decode(["string"], payload)
            return ContractRevert("Error", {"message": message}, data)
        if selector == _PANIC_SELECTOR:
            (code,) = abi_decode(["uint256"], payload)
            return ContractRevert(
                "Panic", {"code": code, "reason": PANIC_CODES.get(code, "unknown")}, data
            )
        spec = known_errors().get(selector)
        if spec is None:
            return ContractRevert("", {}, data)
        values = abi_decode(list(spec.types), payload)
    except DecodingError:
        return ContractRevert("", {}, data)
    args = {
        arg: _convert(value, abi_type, enum)
        for arg, value, abi_type, enum in zip(
            spec.arg_names, values, spec.types, spec.enums, strict=True
        )
    }
    return ContractRevert(spec.name, args, data)


def _convert(value: Any, abi_type: str, enum: str | None) -> Any:
    if enum is not None and enum in SOLIDITY_ENUMS:
        try:
            return SOLIDITY_ENUMS[enum](value)
        except ValueError:
            return value  # not a member: keep the number rather than lose the revert
    if abi_type == "address":
        return to_checksum_address(value)
    return value


def revert_from_exception(error: BaseException) -> ContractRevert | None:
    """The typed revert behind ``error``, or None if ``error`` is not a revert.

    Understands eth-tester's ``TransactionFailed`` and web3's ``ContractLogicError`` family
    (``ContractCustomError``, ``ContractPanicError``), including web3's own wrapping of the
    eth-tester error.
    """
    if isinstance(error, ContractRevert):
        return error
    data = getattr(error, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return decode_revert_data(bytes.fromhex(data[2:]))
    if isinstance(data, bytes):
        return decode_revert_data(data)
    message = error.args[0] if error.args else ""
    if isinstance(message, BaseException):
        return revert_from_exception(message)
    if isinstance(message, bytes):
        return decode_revert_data(message)
    if not isinstance(message, str) or not message.startswith(_REVERTED_PREFIX):
        return None
    detail = message.removeprefix(_REVERTED_PREFIX).removeprefix(":").strip()
    if detail.startswith(("b'", 'b"')):
        try:
            raw = ast.literal_eval(detail)
        except (ValueError, SyntaxError):
            raw = None
        if isinstance(raw, bytes):
            return decode_revert_data(raw)
    if detail.startswith("0x"):
        try:
            return decode_revert_data(bytes.fromhex(detail[2:]))
        except ValueError:
            pass
    if not detail:
        return ContractRevert("", {}, b"")
    return ContractRevert("Error", {"message": detail}, b"")
