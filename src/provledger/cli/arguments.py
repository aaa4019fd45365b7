"""How commands read what they are given: asset ids, addresses and choices by name, each
refused with an :class:`InputError` that says what was expected."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, TypeVar

import typer

from provledger import params
from provledger.errors import InputError
from provledger.params import InvalidParameterError

E = TypeVar("E", bound=IntEnum)

AssetArgument = Annotated[str, typer.Argument(help="Asset id.")]


def parse_asset(text: str) -> int:
    """An asset id (:func:`provledger.params.parse_asset_id`) with all 64 hex digits, as commands
    print them, or a decimal number."""
    try:
        return params.parse_asset_id(text, "asset", exact_width=True)
    except InvalidParameterError:
        raise InputError(
            f"asset {text!r} is not an asset id (0x and 64 hex digits, or a number)"
        ) from None


def parse_address(text: str, what: str = "address") -> str:
    """An address (:func:`provledger.params.parse_address`) checksummed, or :class:`InputError`
    naming ``what``."""
    try:
        return params.checksum(params.parse_address(text, what))
    except InvalidParameterError as error:
        if error.reason == params.BAD_CHECKSUM:
            raise InputError(
                f"{what} {text!r} does not match its mixed-case (EIP-55) checksum: "
                "check it for a typo"
            ) from None
        raise InputError(f"{what} {text!r} is not an address (0x and 40 hex digits)") from None


def parse_choice(kind: type[E], text: str, option: str) -> E:
    """The member of ``kind`` named ``text`` (any case, ``-`` for ``_``); NONE is refused."""
    name = text.strip().upper().replace("-", "_")
    if name in kind.__members__ and name != "NONE":
        return kind[name]
    choices = ", ".join(
        member.name.lower().replace("_", "-") for member in kind if member.name != "NONE"
    )
    raise InputError(f"{option} {text!r} is not one of: {choices}")
