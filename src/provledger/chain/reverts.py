"""Turn contract reverts into typed errors, whatever the backend.

eth-tester raises ``TransactionFailed("execution reverted: b'...'")`` with the raw revert data
written as a Python bytes literal; a JSON-RPC node (anvil, geth …) makes web3 raise
``ContractCustomError`` / ``ContractLogicError`` with ``.data`` as hex. Both end here and become
a :class:`ContractRevertError` that names the custom error and its arguments, decoded with the
ABIs of every packaged artifact. Where an exception may carry the revert data is one table,
:data:`REVERT_DATA_FINDERS`.

The call a revert answers is :mod:`provledger.chain.calls`; the revert in words for people is
:func:`provledger.chain.explain.explain`.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from provledger.chain.artifacts import abi_items
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

#: Error arguments that are asset ids: shown as 0x and 64 hex digits, as everything prints them.
ASSET_ID_ARGS: Final = frozenset({"assetId", "parentId", "tokenId"})


class ContractRevertError(ProvledgerError):
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
            f"{key}={render_value(value, asset=key in ASSET_ID_ARGS)}"
            for key, value in self.args_by_name.items()
        )
        return f"reverted with {self.name}({rendered})"


def render_value(value: Any, *, asset: bool = False) -> str:
    """A decoded argument as messages show it: an asset id as 0x and 64 hex digits, an enum
    member as ``Enum.NAME``, bytes as 0x hex, a text in quotes."""
    if asset and isinstance(value, int):
        return f"0x{value:064x}"
    if isinstance(value, IntEnum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, bytes):
        return HexBytes(value).to_0x_hex()
    return repr(value) if isinstance(value, str) and not value.startswith("0x") else str(value)


def typed_value(value: Any, abi_type: str, enum: str | None) -> Any:
    """A value eth-abi decoded, typed: an enum's Python mirror (the number if it is not a
    member), an address checksummed, anything else as it is."""
    if enum is not None and enum in SOLIDITY_ENUMS:
        try:
            return SOLIDITY_ENUMS[enum](value)
        except ValueError:
            return value  # not a member: keep the number rather than lose the revert
    if abi_type == "address":
        return to_checksum_address(value)
    return value


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
    for _, item in abi_items("error"):
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


def decode_revert_data(data: bytes) -> ContractRevertError:
    """The typed revert for raw revert data."""
    selector, payload = data[:4], data[4:]
    try:
        if selector == _ERROR_STRING_SELECTOR:
            (message,) = abi_decode(["string"], payload)
            return ContractRevertError("Error", {"message": message}, data)
        if selector == _PANIC_SELECTOR:
            (code,) = abi_decode(["uint256"], payload)
            return ContractRevertError(
                "Panic", {"code": code, "reason": PANIC_CODES.get(code, "unknown")}, data
            )
        spec = known_errors().get(selector)
        if spec is None:
            return ContractRevertError("", {}, data)
        values = abi_decode(list(spec.types), payload)
    except DecodingError:
        return ContractRevertError("", {}, data)
    args = {
        arg: typed_value(value, abi_type, enum)
        for arg, value, abi_type, enum in zip(
            spec.arg_names, values, spec.types, spec.enums, strict=True
        )
    }
    return ContractRevertError(spec.name, args, data)


# ------------------------------------------------------------------ where the revert data is
def _message(error: BaseException) -> object:
    return error.args[0] if error.args else ""


def _reverted_detail(error: BaseException) -> str | None:
    """What follows ``execution reverted`` (and a colon) in the message; None for a message
    that does not start so."""
    message = _message(error)
    if not isinstance(message, str) or not message.startswith(_REVERTED_PREFIX):
        return None
    return message.removeprefix(_REVERTED_PREFIX).removeprefix(":").strip()


#: Keys under which a node nests the revert data when ``error.data`` is an object: Ganache's
#: ``{"result": "0x…", "programCounter": …}``, Hardhat 2's ``{"message": …, "data": "0x…"}``.
NESTED_DATA_KEYS: Final = ("result", "data")
#: Older Nethermind writes ``"data": "Reverted 0x…"``.
_NETHERMIND_PREFIX: Final = "Reverted "


def revert_bytes(value: object) -> bytes | None:
    """The revert data a node's ``error.data`` carries, whatever its shape: bytes, ``0x`` hex,
    ``Reverted 0x…``, or an object holding one of those under :data:`NESTED_DATA_KEYS`. None
    for anything else (a reason in words, web3's ``"no data"``, hex that does not parse)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, Mapping):
        for key in NESTED_DATA_KEYS:
            found = revert_bytes(value.get(key))
            if found is not None:
                return found
        return None
    if not isinstance(value, str):
        return None
    text = value.removeprefix(_NETHERMIND_PREFIX)
    if not text.startswith("0x"):
        return None
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        return None


def _data_attribute(error: BaseException) -> bytes | None:
    return revert_bytes(getattr(error, "data", None))


def _rpc_response(error: BaseException) -> bytes | None:
    """web3's ``Web3RPCError`` (a refused ``eth_sendRawTransaction``, say) keeps the node's
    whole answer; its ``error.data`` may hold the revert."""
    response = getattr(error, "rpc_response", None)
    body = response.get("error") if isinstance(response, Mapping) else None
    return revert_bytes(body.get("data")) if isinstance(body, Mapping) else None


def _bytes_argument(error: BaseException) -> bytes | None:
    message = _message(error)
    return message if isinstance(message, bytes) else None


def _data_in_message(error: BaseException) -> bytes | None:
    detail = _reverted_detail(error) or ""
    if detail.startswith(("b'", 'b"')):
        try:
            raw = ast.literal_eval(detail)
        except (ValueError, SyntaxError):
            raw = None
        if isinstance(raw, bytes):
            return raw
    return revert_bytes(detail)


#: Where an exception may carry the raw revert data, tried in order; the first to find bytes
#: decides. A backend that puts it elsewhere is one more entry here.
REVERT_DATA_FINDERS: Final[tuple[Callable[[BaseException], bytes | None], ...]] = (
    # web3's ContractCustomError / ContractLogicError (JSON-RPC nodes): ``.data``, in any of
    # the shapes revert_bytes reads
    _data_attribute,
    # web3's Web3RPCError: the node's answer, kept whole
    _rpc_response,
    # the bytes themselves as the exception's argument
    _bytes_argument,
    # eth-tester: "execution reverted: b'...'" (a Python bytes literal) or "...: 0x..."
    _data_in_message,
)


def revert_from_exception(error: BaseException) -> ContractRevertError | None:
    """The typed revert behind ``error``, or None if ``error`` is not a revert.

    Understands eth-tester's ``TransactionFailed`` and web3's ``ContractLogicError`` family
    (``ContractCustomError``, ``ContractPanicError``), including web3's own wrapping of the
    eth-tester error.
    """
    if isinstance(error, ContractRevertError):
        return error
    for find in REVERT_DATA_FINDERS:
        data = find(error)
        if data is not None:
            return decode_revert_data(data)
    wrapped = _message(error)
    if isinstance(wrapped, BaseException):
        return revert_from_exception(wrapped)
    detail = _reverted_detail(error)
    if detail is None:
        return None
    if not detail:
        return ContractRevertError("", {}, b"")
    return ContractRevertError("Error", {"message": detail}, b"")
