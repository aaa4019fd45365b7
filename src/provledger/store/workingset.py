"""The rows one batch reads and writes, held in memory between one bulk load and one flush.

The projector asks for rows by primary key and replaces them (it never mutates a row dict in
place); the working set remembers each row as loaded, so :meth:`WorkingSet.flush` inserts what
is new and updates what changed, with one ``executemany`` per table and kind. For blocks in the
unfinalized window it also records, per block, the image of every row before that block first
changed it: the ``undo`` rows a rollback replays backwards.

Below the unfinalized window no image is needed, so the working set can run *blind*: an
update of a row it has not loaded is kept as a delta and flushed as ``UPDATE … SET`` of just
those columns, and rows are only read when a handler needs their values. The flush checks that
every blind update found its row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final, cast

import orjson
from sqlalchemy import Connection, Table, and_, bindparam, tuple_

from provledger.errors import ProvledgerError
from provledger.store import schema
from provledger.store.columns import HexBytes
from provledger.store.stored_hex import to_stored

if TYPE_CHECKING:
    import psycopg

Key = tuple[Any, ...]
Row = dict[str, Any]

_CHUNK: Final = 500
#: Rows from which an insert on PostgreSQL streams them with ``COPY`` (:func:`insert_tuples`).
COPY_ROWS: Final = 100
TABLES: Final[dict[str, Table]] = {table.name: table for table in schema.PROJECTIONS}


def _key_getter(names: Sequence[str]) -> Callable[[Mapping[str, Any]], Key]:
    if len(names) == 1:
        (name,) = names
        return lambda row: (row[name],)
    return itemgetter(*names)


#: Per table: a function from a row dict to its primary key (the C ``itemgetter`` where it can).
_KEY_OF: Final = {
    table.name: _key_getter([column.name for column in table.primary_key.columns])
    for table in schema.metadata.sorted_tables
}


def _storer(table: Table) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A function from a row dict to its values in column order, in the form the driver
    stores (hex of :class:`HexBytes` columns as bytes)."""
    values = itemgetter(*(column.name for column in table.columns))
    binary = tuple(
        number for number, column in enumerate(table.columns) if isinstance(column.type, HexBytes)
    )
    if not binary:
        return values

    def stored(row: Mapping[str, Any]) -> tuple[Any, ...]:
        found = list(values(row))
        for number in binary:
            value = found[number]
            if value is not None:
                found[number] = to_stored(value)
        return tuple(found)

    return stored


#: Per table: a function from a row dict to its stored values in column order.
_STORED_OF: Final = {
    table.name: _storer(table) for table in schema.metadata.sorted_tables if len(table.columns) > 1
}


def primary_key(table: Table, row: Mapping[str, Any]) -> Key:
    """The primary key values of ``row`` in ``table``."""
    return _KEY_OF[table.name](row)


def key_condition(table: Table, key: Key) -> Any:
    """``pk1 = v1 AND pk2 = v2 …`` for ``key``."""
    return and_(
        *(column == value for column, value in zip(table.primary_key.columns, key, strict=True))
    )


class WorkingSet:
    """Projection rows of one batch; see the module docstring."""

    def __init__(
        self, conn: Connection, *, undo_from_block: int | None, blind: bool = False
    ) -> None:
        if blind and undo_from_block is not None:
            raise ValueError("blind updates keep no pre-images: not in the unfinalized window")
        self.conn = conn
        self.undo_from_block = undo_from_block
        self.blind = blind
        self.block = 0
        self._deltas: dict[str, dict[Key, Row]] = {name: {} for name in TABLES}
        self._where_updates: list[tuple[Table, Row, Row]] = []
        self._rows: dict[str, dict[Key, Row | None]] = {name: {} for name in TABLES}
        self._original: dict[str, dict[Key, Row | None]] = {name: {} for name in TABLES}
        self._dirty: dict[str, set[Key]] = {name: set() for name in TABLES}
        self._imaged: set[tuple[str, Key, int]] = set()
        self._markers: set[Any] = set()
        self.undo_rows: list[Row] = []

    # -- loading
    def prefetch(self, table: Table, keys: Iterable[Key]) -> None:
        """Load the rows of ``keys`` not yet known, in chunks of one query each."""
        known = self._rows[table.name]
        missing = [key for key in keys if key not in known]
        columns = list(table.primary_key.columns)
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            if len(columns) == 1:
                condition = columns[0].in_([key[0] for key in chunk])
            else:
                condition = tuple_(*columns).in_(chunk)
            for found in self.conn.execute(table.select().where(condition)).mappings():
                row = {str(name): value for name, value in found.items()}
                self._remember(table, primary_key(table, row), row)
            for key in chunk:
                if key not in known:
                    self._remember(table, key, None)

    def _remember(self, table: Table, key: Key, row: Row | None) -> None:
        self._rows[table.name][key] = row
        self._original[table.name][key] = row

    def get(self, table: Table, key: Key) -> Row | None:
        """The current row of ``key``, loading it if needed; None if absent. Do not mutate it."""
        rows = self._rows[table.name]
        if key not in rows:
            self.prefetch(table, [key])
            delta = self._deltas[table.name].pop(key, None)
            if delta is not None:
                current = rows[key]
                if current is None:
                    raise KeyError(f"{table.name} has no row {key}")
                rows[key] = {**current, **delta}
                self._dirty[table.name].add(key)
        return rows[key]

    def known(self, table: Table, key: Key) -> Row | None:
        """What is known of ``key`` without reading: the row if loaded or created, else the
        columns a blind update set, else None."""
        row = self._rows[table.name].get(key)
        if row is not None:
            return row
        return self._deltas[table.name].get(key)

    # -- changing
    def put(self, table: Table, row: Row) -> None:
        """Insert or replace a whole row."""
        key = primary_key(table, row)
        self.get(table, key)
        self._image(table, key)
        self._rows[table.name][key] = row
        self._dirty[table.name].add(key)

    def create(self, table: Table, row: Row) -> None:
        """Insert a row that cannot exist yet (its key is new by construction: an event's own
        position or a sequential id). No read is made; the flush inserts it."""
        key = primary_key(table, row)
        rows = self._rows[table.name]
        if key not in rows:
            self._original[table.name][key] = None
            rows[key] = None
        self._image(table, key)
        rows[key] = row
        self._dirty[table.name].add(key)

    def update(self, table: Table, key: Key, **changes: Any) -> None:
        """Change columns of an existing row; ``block_number`` becomes the current block."""
        if self.blind and key not in self._rows[table.name]:
            delta = self._deltas[table.name].setdefault(key, {})
            delta.update(changes)
            delta["block_number"] = self.block
            return
        current = self.get(table, key)
        if current is None:
            raise KeyError(f"{table.name} has no row {key}")
        self._image(table, key)
        self._rows[table.name][key] = {**current, **changes, "block_number": self.block}
        self._dirty[table.name].add(key)

    def update_where(self, table: Table, where: Row, **changes: Any) -> None:
        """Blind ``UPDATE table SET changes WHERE where`` (None matches NULL), run at the flush
        before any insert, so it only reaches rows stored by earlier batches."""
        if not self.blind:
            raise ValueError("update_where is for blind working sets")
        self._where_updates.append((table, where, {**changes, "block_number": self.block}))

    def _image(self, table: Table, key: Key) -> None:
        if self.undo_from_block is None or self.block < self.undo_from_block:
            return
        marker = (table.name, key, self.block)
        if marker in self._imaged:
            return
        self._imaged.add(marker)
        before = self._rows[table.name].get(key)
        self.undo_rows.append(
            {
                "block_number": self.block,
                "table_name": table.name,
                "row_key": orjson.dumps(list(key)).decode(),
                "image": None if before is None else orjson.dumps(before).decode(),
            }
        )

    # -- transient markers between events of one transaction
    def set_marker(self, marker: Any) -> None:
        """Remember ``marker`` for a later event of the same batch."""
        self._markers.add(marker)

    def take_marker(self, marker: Any) -> bool:
        """Whether ``marker`` was set; it is removed."""
        if marker in self._markers:
            self._markers.remove(marker)
            return True
        return False

    # -- writing
    def flush(self) -> int:
        """Write every new and changed row; return how many rows were written."""
        written = self._flush_where_updates() + self._flush_deltas()
        for name, keys in self._dirty.items():
            if not keys:
                continue
            table = TABLES[name]
            rows = self._rows[name]
            originals = self._original[name]
            inserts: list[Row] = []
            updates: list[Row] = []
            for key in keys:
                row = rows[key]
                if row is None:
                    continue
                original = originals.get(key)
                if original is None:
                    inserts.append(row)
                elif row != original:
                    updates.append(row)
            if inserts:
                # in key order: each B-tree page of the primary key is visited once, in turn
                inserts.sort(key=_KEY_OF[name])
                bulk_insert(self.conn, table, inserts)
            if updates:
                self.conn.execute(
                    _update_statement(table), [_update_params(table, row) for row in updates]
                )
            written += len(inserts) + len(updates)
        return written

    def _flush_where_updates(self) -> int:
        groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[Row]] = {}
        for table, where, changes in self._where_updates:
            matched = tuple(sorted(name for name, value in where.items() if value is not None))
            nulls = tuple(sorted(name for name, value in where.items() if value is None))
            params = {f"w_{name}": where[name] for name in matched}
            params.update(changes)
            groups.setdefault((table.name, matched, nulls), []).append(params)
        for (name, matched, nulls), params_list in groups.items():
            table = TABLES[name]
            condition = and_(
                *(table.c[column] == bindparam(f"w_{column}") for column in matched),
                *(table.c[column].is_(None) for column in nulls),
            )
            found = self.conn.execute(table.update().where(condition), params_list).rowcount
            if found != len(params_list):
                raise StoreConsistencyError(name, {"rows": len(params_list)}, found)
        return len(self._where_updates)

    def _flush_deltas(self) -> int:
        written = 0
        for name, deltas in self._deltas.items():
            if not deltas:
                continue
            table = TABLES[name]
            groups: dict[tuple[str, ...], list[Row]] = {}
            for key, delta in deltas.items():
                params = {
                    f"pk_{column.name}": value
                    for column, value in zip(table.primary_key.columns, key, strict=True)
                }
                params.update(delta)
                groups.setdefault(tuple(sorted(delta)), []).append(params)
            for params_list in groups.values():
                matched = self.conn.execute(_update_statement(table), params_list).rowcount
                if matched != len(params_list):
                    raise StoreConsistencyError(name, {"rows": len(params_list)}, matched)
                written += len(params_list)
        return written


class StoreConsistencyError(ProvledgerError):
    """A blind update did not find the row it was meant for: the index is not contiguous."""

    template = "update of {table} {where} matched {matched} rows"
    table: str
    where: Row
    matched: int


def insert_tuples(conn: Connection, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (values in the table's column order, as stored: bytes for the
    :class:`HexBytes` columns) with one driver ``executemany``, or on PostgreSQL, from
    :data:`COPY_ROWS` rows, with ``COPY``.

    SQLAlchemy's per-row parameter processing costs more than the insert itself at indexing
    rates; the values here are plain bytes/str/int/bool/None, which both drivers take as they
    are.
    """
    columns = [column.name for column in table.columns]
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_ROWS:
        # COPY runs in the batch's transaction like the INSERTs it replaces, several times
        # faster: one statement streams every row (psycopg adapts each value by its type).
        driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    placeholder = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([placeholder] * len(columns))})"
    )
    conn.exec_driver_sql(sql, list(rows))


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Insert dict ``rows`` (hex as Python sees it) with :func:`insert_tuples`."""
    insert_tuples(conn, table, list(map(_STORED_OF[table.name], rows)))


def _update_statement(table: Table) -> Any:
    return table.update().where(
        and_(*(column == bindparam(f"pk_{column.name}") for column in table.primary_key.columns))
    )


def _update_params(table: Table, row: Row) -> Row:
    params = {f"pk_{column.name}": row[column.name] for column in table.primary_key.columns}
    params.update(
        (name, value) for name, value in row.items() if name not in table.primary_key.columns
    )
    return params
