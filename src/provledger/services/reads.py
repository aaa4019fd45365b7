"""What the read services share: a view from an index row, a page of rows, and the lookup of an
asset every per-asset answer starts with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from sqlalchemy import Connection, RowMapping

from provledger.chain.ids import asset_id_hex
from provledger.errors import ProvledgerError
from provledger.indexer.rows import ROW_TYPES
from provledger.params import checksum, encode_cursor
from provledger.services.views import Finality, Page, T
from provledger.store import queries
from provledger.store.eventargs import unpack_args


class NotFoundError(ProvledgerError):
    """A record that the index does not hold."""

    template = "no {what} {key} in the index"
    what: str
    key: str


#: The fields of a view that hold an account, shown checksummed.
ADDRESS_FIELDS: Final = frozenset(
    {
        "registrant",
        "holder",
        "submitter",
        "licensor",
        "licensee",
        "appraiser",
        "objector",
        "resolved_by",
        "claimant",
        "arbiter",
        "registrar",
        "recipient",
        "approver",
        "account",
        "seller",
        "buyer",
        "bidder",
        "fee_recipient",
    }
)


def view(kind: type[T], row: Mapping[Any, Any], finality: Finality, **extra: Any) -> T:
    """``kind`` from a row: the fields it declares, addresses checksummed; ``extra`` gives the
    fields the row does not hold as they are shown."""
    values: dict[str, Any] = {}
    for name in kind.__dataclass_fields__:  # type: ignore[attr-defined]
        if name == "finality":
            values[name] = finality
        elif name in extra:
            values[name] = extra[name]
        else:
            value = row[name]
            values[name] = checksum(value) if name in ADDRESS_FIELDS else value
    return kind(**values)


def event_args(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The decoded arguments of an indexed event row, by name, addresses checksummed."""
    fields = ROW_TYPES[str(row["event"])]._fields
    values = unpack_args(row["args"], row["asset_id"])
    args = {}
    for name, value in zip(fields, values, strict=True):
        is_address = type(value) is str and len(value) == 42 and value.startswith("0x")
        args[name.rstrip("_")] = checksum(value) if is_address else value
    return args


def first(after: list[Any] | None) -> Any | None:
    """The key of a one-column cursor, or None."""
    return None if after is None else after[0]


def paged(
    items: list[T], rows: list[RowMapping], limit: int, key: Callable[[RowMapping], list[Any]]
) -> Page[T]:
    """A page of ``items``; a full page gets the cursor of its last row's ``key``."""
    more = len(rows) == limit and rows
    return Page(items, encode_cursor(key(rows[-1])) if more else None)


def id_key(column: str) -> Callable[[RowMapping], list[Any]]:
    """The page key of a list ordered by one column."""
    return lambda row: [row[column]]


def require_asset(conn: Connection, asset_id: int) -> str:
    """The ``0x`` hex key of an asset the index holds; :class:`NotFoundError` otherwise."""
    key = asset_id_hex(asset_id)
    if queries.get_asset(conn, key) is None:
        raise NotFoundError("asset", key)
    return key
