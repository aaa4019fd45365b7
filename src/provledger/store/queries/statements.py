"""How the read queries run: the driver-level statement of the hottest reads, keyset paging,
and lookups of many keys in chunks. The query modules beside this one build on these."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    Column,
    Connection,
    CursorResult,
    Dialect,
    Integer,
    RowMapping,
    Select,
    bindparam,
    tuple_,
)
from sqlalchemy.types import TypeEngine

from provledger.store.columns import HexBytes
from provledger.store.stored_hex import hex_or_none

#: Keys bound into one ``IN (…)`` lookup (:func:`by_chunks`).
CHUNK: Final = 500


Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    """A statement compiled for one driver, with what its values need converted."""

    sql: str
    order: Sequence[str] | None
    """The names of its positional parameters in order (None: named parameters)."""
    own: dict[str, Any]
    """Values of the parameters the statement binds itself (literals such as the 1 of x + 1)."""
    binds: Mapping[str, Processor]
    """Per parameter name: its type's conversion to the driver's value, where it has one."""
    results: tuple[tuple[int, Processor], ...]
    """Per result column position: its type's conversion from the driver's value."""


class DriverStatement:
    """A read on the gateway's hottest paths, run on the driver's own cursor.

    SQLAlchemy's execution path (compiled-cache lookup, parameter processing, the result
    proxy) costs about three times what SQLite spends on a lookup by key. A read of a few rows
    through an index needs none of it: the statement is compiled once per driver, and only the
    columns and parameters whose types convert values (stored bytes to hex, SQLite's 0/1 to
    booleans) are converted, by their types' own processors. The engine's cursor listeners
    still run before it (the SQLite statement deadline) and driver errors are handled as
    SQLAlchemy handles them (a cancelled statement becomes QueryTimeoutError).
    """

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.names = tuple(str(column.key) for column in statement.selected_columns)
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _sql(self, conn: Connection) -> _Compiled:
        dialect = conn.dialect
        found = self._compiled.get((dialect.name, dialect.driver))
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            if compiled.post_compile_params or compiled.literal_execute_params:
                # SQLAlchemy renders those at each execution; the driver would get a placeholder
                raise ValueError("a driver statement cannot hold an expanding IN (…) list")
            binds = {
                key: converts
                for key, bind in compiled.binds.items()
                if (converts := bind.type.dialect_impl(dialect).bind_processor(dialect))
            }
            own = {key: bind.value for key, bind in compiled.binds.items() if not bind.required}
            results = tuple(
                (number, processor)
                for number, column in enumerate(self.statement.selected_columns)
                if (processor := _result_processor(column.type, dialect))
            )
            found = _Compiled(compiled.string, compiled.positiontup, own, binds, results)
            self._compiled[(dialect.name, dialect.driver)] = found
        return found

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row, as a dict by column name."""
        compiled = self._sql(conn)
        bound = {**compiled.own, **params}
        for name, convert in compiled.binds.items():
            if name in bound:
                bound[name] = convert(bound[name])
        sql, order = compiled.sql, compiled.order
        args = bound if order is None else [bound[name] for name in order]
        cursor = conn.connection.cursor()
        try:
            conn.dispatch.before_cursor_execute(conn, cursor, sql, args, None, False)
            cursor.execute(sql, args)
            found = cursor.fetchall()
        except conn.dialect.loaded_dbapi.Error as error:
            # SQLAlchemy's own handling: the engine's handle_error listeners and its wrapping
            conn._handle_dbapi_exception(error, sql, args, cursor, None)
        finally:
            with contextlib.suppress(conn.dialect.loaded_dbapi.Error):  # a lost connection
                cursor.close()
        names, results = self.names, compiled.results
        if not results:
            return [dict(zip(names, row, strict=True)) for row in found]
        rows = []
        for row in found:
            values = list(row)
            for number, convert in results:
                values[number] = convert(values[number])
            rows.append(dict(zip(names, values, strict=True)))
        return rows

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row, or None."""
        rows = self.rows(conn, params)
        return rows[0] if rows else None


def _result_processor(kind: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """How a result column of type ``kind`` converts the driver's value, if it does. Stored
    bytes become hex in one call (both drivers give ``bytes``), not through the decorator's
    chain of three."""
    if isinstance(kind, HexBytes):
        return hex_or_none
    processor: Processor | None = kind.dialect_impl(dialect).result_processor(dialect, None)
    return processor


def page(
    query: Select[Any], key: Sequence[Column[Any]], after: Sequence[Any] | None, limit: int
) -> Select[Any]:
    """``query`` ordered by ``key``, starting after the key ``after``, at most ``limit`` rows
    (:func:`keyset` with the values bound)."""
    return keyset(query, key, after is not None).params(keyset_params(after, limit))


def page_by(query: Select[Any], column: Column[Any], after: Any | None, limit: int) -> Select[Any]:
    """:func:`page` for a key of one column."""
    return page(query, [column], None if after is None else [after], limit)


def fetch_all(conn: Connection, query: Select[Any]) -> list[RowMapping]:
    """Every row of ``query``, as mappings."""
    return list(conn.execute(query).mappings())


def by_chunks(
    conn: Connection, query: Select[Any], keys: Sequence[Any]
) -> Iterator[CursorResult[Any]]:
    """The results of ``query`` (which binds the expanding parameter ``keys``) for ``keys``,
    :data:`CHUNK` keys a statement; read each before taking the next."""
    for start in range(0, len(keys), CHUNK):
        yield conn.execute(query, {"keys": list(keys[start : start + CHUNK])})


# The hottest reads (verification, history) use statements built once per shape, with bound
# parameters: building a statement costs more than executing it from the compiled cache.


def keyset(query: Select[Any], key: Sequence[Column[Any]], paged: bool) -> Select[Any]:
    """``query`` ordered by ``key``, after the key in parameters ``after_0``… (when ``paged``),
    at most ``limit`` (a parameter) rows."""
    if paged:
        after: list[Any] = [
            bindparam(f"after_{number}", type_=column.type) for number, column in enumerate(key)
        ]
        query = query.where(tuple_(*key) > tuple_(*after))
    return query.order_by(*key).limit(bindparam("limit", type_=Integer))


def keyset_params(after: Sequence[Any] | None, limit: int, **params: Any) -> dict[str, Any]:
    """The parameters of a :func:`keyset` statement: ``limit``, the key ``after`` (if any) and
    ``params``."""
    params["limit"] = limit
    for number, value in enumerate(after or ()):
        params[f"after_{number}"] = value
    return params
