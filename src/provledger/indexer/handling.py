"""The projector's handler registry: one handler per event row type, declared with what it reads.

A handler is registered with :func:`handles`, which names, beside the handler, the projection
rows the event will read (``reads``) and, where a later event of the same batch may name them,
the rows it creates (``creates``). :func:`touched_keys` derives a batch's bulk load from those
declarations, so adding an event touches one place. Event rows that change no projection are
declared with :func:`ignores` and a reason; :func:`unhandled_row_types` names any row type that
is in neither list. The helpers handlers share live here too: :func:`create` and :func:`put`
write whole rows, from the event's own fields (:func:`fields`) and its block and time
(:func:`stamp`); :func:`change` updates a row the index must hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from sqlalchemy import Table

from provledger.errors import ProvledgerError
from provledger.indexer import rows as ev
from provledger.store import schema
from provledger.store.records import LogRecord
from provledger.store.workingset import Key, WorkingSet

Handler = Callable[[WorkingSet, LogRecord, Any], None]
"""Applies one event: (working set, log record, event row in storage form)."""

Read = tuple[Table, Key]
"""A projection row by table and primary key."""

RowT = TypeVar("RowT", bound=tuple[Any, ...])


def _nothing(row: Any) -> tuple[Read, ...]:
    return ()


@dataclass(frozen=True, slots=True)
class Registration:
    """A handler with its declarations."""

    handler: Handler
    reads: Callable[[Any], Iterable[Read]]
    """The rows the event reads: loaded in bulk before the batch is applied."""
    creates: Callable[[Any], Iterable[Read]]
    """Rows the event creates that later events may read: not loaded if created in the batch."""


#: Row type -> its handler and declarations, filled by :func:`handles`.
HANDLERS: Final[dict[type[Any], Registration]] = {}
#: Row type -> why it changes no projection (it is kept in the events table only), filled by
#: :func:`ignores`.
EVENTS_ONLY: Final[dict[type[Any], str]] = {}


def handles(
    kind: type[RowT],
    *,
    reads: Callable[[RowT], Iterable[Read]] = _nothing,
    creates: Callable[[RowT], Iterable[Read]] = _nothing,
) -> Callable[[Callable[[WorkingSet, LogRecord, RowT], None]], Handler]:
    """Register the decorated function as the handler of rows of type ``kind``; ``reads`` gives
    the rows an event of that type reads, ``creates`` those it creates for later events."""

    def register(function: Callable[[WorkingSet, LogRecord, RowT], None]) -> Handler:
        if kind in HANDLERS or kind in EVENTS_ONLY:
            raise ValueError(f"{kind.__name__} is declared twice")
        HANDLERS[kind] = Registration(function, reads, creates)
        return function

    return register


def ignores(kind: type[Any], reason: str) -> None:
    """Declare that rows of type ``kind`` change no projection, and why."""
    if kind in HANDLERS or kind in EVENTS_ONLY:
        raise ValueError(f"{kind.__name__} is declared twice")
    EVENTS_ONLY[kind] = reason


def unhandled_row_types() -> set[str]:
    """Names of row types with neither a handler nor a place in :data:`EVENTS_ONLY`."""
    return {
        kind.__name__ for kind in ev.ROW_TYPES.values() if kind not in (*HANDLERS, *EVENTS_ONLY)
    }


def touched_keys(records: Iterable[LogRecord]) -> dict[str, set[Key]]:
    """The primary keys a batch of events will read, per table name (for bulk loading): what
    each handler declares, less the rows an earlier event of the batch created."""
    keys: dict[str, set[Key]] = {schema.assets.name: set()}
    created: set[tuple[str, Key]] = set()
    for record in records:
        registration = HANDLERS.get(type(record.row))
        if registration is None:
            continue
        for table, key in registration.reads(record.row):
            if (table.name, key) not in created:
                keys.setdefault(table.name, set()).add(key)
        created.update((table.name, key) for table, key in registration.creates(record.row))
    return keys


def asset(asset_id: str) -> Read:
    """The ``assets`` row of ``asset_id``, for a declaration."""
    return (schema.assets, (asset_id,))


# ---------------------------------------------------------------- helpers of the handlers


class ProjectionError(ProvledgerError):
    """An event refers to a record the index does not hold: the index is not contiguous."""

    what: str
    record: LogRecord

    def _message(self) -> str:
        record = self.record
        return (
            f"{record.event} at block {record.block_number} log {record.log_index} refers to "
            f"unknown {self.what}"
        )


def require(row: dict[str, Any] | None, what: str, record: LogRecord) -> dict[str, Any]:
    """``row``, or :class:`ProjectionError` naming ``what`` if it is absent."""
    if row is None:
        raise ProjectionError(what, record)
    return row


def change(
    ws: WorkingSet, table: Table, r: LogRecord, key: Key, what: str, /, **changes: Any
) -> None:
    """Apply ``changes`` to the row ``key`` of ``table`` for the event ``r``; the index must hold
    the row (:class:`ProjectionError` naming ``what`` if it does not)."""
    require(ws.get(table, key), what, r)
    ws.update(table, key, **changes)


def text(hex_value: str) -> str:
    """ASCII text of a short fixed-bytes value (jurisdiction, currency), NULs stripped."""
    return bytes.fromhex(hex_value[2:]).rstrip(b"\x00").decode("ascii", "replace")


def asset_key(ws: WorkingSet, r: LogRecord, asset_id: str) -> Key:
    """The key of an asset about to be updated; its existence is checked now, or, in a blind
    working set, when the update is flushed."""
    key = (asset_id,)
    if not ws.blind:
        require(ws.get(schema.assets, key), f"asset {asset_id}", r)
    return key


#: Per projection table: NULL in each nullable column, what a new row holds where nothing is
#: known yet (a license not revoked, a dispute not ruled).
_UNKNOWN: Final = {
    table.name: dict.fromkeys(str(column.name) for column in table.columns if column.nullable)
    for table in schema.PROJECTIONS
}


def _whole_row(table: Table, r: LogRecord, values: dict[str, Any]) -> dict[str, Any]:
    return {**_UNKNOWN[table.name], **values, "block_number": r.block_number}


def create(ws: WorkingSet, table: Table, r: LogRecord, **values: Any) -> None:
    """Create the row of ``table`` that the event ``r`` makes (:meth:`WorkingSet.create`):
    ``values``, NULL in the other nullable columns, and ``r``'s block as ``block_number``."""
    ws.create(table, _whole_row(table, r, values))


def put(ws: WorkingSet, table: Table, r: LogRecord, **values: Any) -> None:
    """Insert or replace a whole row of ``table`` (:meth:`WorkingSet.put`), made up as by
    :func:`create`."""
    ws.put(table, _whole_row(table, r, values))


def fields(e: tuple[Any, ...], *names: str) -> dict[str, Any]:
    """The fields ``names`` of the event row ``e``, for the columns of the same names (a column
    named after an event's field holds that field as it is)."""
    return {name: getattr(e, name) for name in names}


def stamp(r: LogRecord, prefix: str) -> dict[str, int]:
    """``<prefix>_block`` and ``<prefix>_at``: the block and time of the event ``r``, for the
    columns that say when a record was made (registered, granted, lodged…)."""
    return {f"{prefix}_block": r.block_number, f"{prefix}_at": r.block_time}


def setting(ws: WorkingSet, r: LogRecord, key: str, value: str) -> None:
    """Set one ``contract_settings`` value."""
    put(ws, schema.contract_settings, r, key=key, value=value)
