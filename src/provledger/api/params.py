"""Request parameters the routes share: their types, limits and strict parsing.

A number in a path or query is ASCII decimal digits and nothing else (pydantic alone would take
``+1``, ``1_000``, `` 1`` and ``1.0``): :data:`Digits` runs :func:`decimal_digits`, the parser
the services and the command line use, before pydantic's range checks.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path, Query
from pydantic import BeforeValidator

from provledger.api.examples import EXAMPLE_ADDRESS, EXAMPLE_ASSET
from provledger.params import MAX_PAGE, decimal_digits

#: The longest cursor the gateway issues is far shorter.
MAX_CURSOR: Final = 512


def _digits(value: object) -> object:
    return decimal_digits(value) if isinstance(value, str) else value


#: Put in a number parameter's ``Annotated``: ASCII decimal digits only.
Digits: Final = BeforeValidator(_digits)

AssetIdPath = Annotated[
    str,
    Path(
        max_length=80,
        description="Asset id: 0x and 64 hex digits, or the decimal uint256.",
        examples=[EXAMPLE_ASSET],
    ),
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR,
        description="The next_cursor of the previous page.",
        examples=["WzFd"],
    ),
]
Limit = Annotated[
    int | None,
    Digits,
    Query(description=f"Page size, 1 to {MAX_PAGE}.", examples=[100]),
]
#: An account named in a query (a filter): ``0x`` and 40 hex digits.
AddressQuery = Annotated[str | None, Query(examples=[EXAMPLE_ADDRESS])]
#: An account named in a path.
AddressPath = Annotated[str, Path(examples=[EXAMPLE_ADDRESS])]
