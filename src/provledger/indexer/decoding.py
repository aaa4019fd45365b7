"""From JSON-RPC logs to positioned, decoded records.

A log arrives as the node's JSON object (hex strings). :func:`decode_logs` keeps the logs of
the deployment's contracts whose topic0 is a provledger event and decodes each with the
generated row decoder of :mod:`provledger.indexer.rows`; everything else is counted as
skipped, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple, get_type_hints

from provledger.errors import LogDecodeError
from provledger.indexer.rows import ROW_DECODERS, ROW_ENUMS, ROW_TYPES
from provledger.store.eventargs import pack_args
from provledger.store.records import EventRows, LogRecord
from provledger.store.stored_hex import to_stored

ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
_SAFE_INTEGER: Final = 2**53

RawLog = dict[str, Any]
"""One ``eth_getLogs`` entry in JSON-RPC form (hex strings)."""


class Decoded(NamedTuple):
    """What one batch of logs decoded to."""

    records: list[LogRecord]
    skipped: int


def block_of(log: RawLog) -> int:
    """The block number of a log."""
    return int(log["blockNumber"], 16)


def timestamp_of(log: RawLog) -> int | None:
    """The block timestamp a log carries (anvil and newer nodes add it), if any."""
    stamp = log.get("blockTimestamp")
    return None if stamp is None else int(stamp, 16)


def decode_logs(
    logs: Sequence[RawLog], contracts: Mapping[str, str], times: Mapping[int, int]
) -> Decoded:
    """Decode the logs of ``contracts`` (lowercase address -> name); ``times`` gives the block
    timestamps the logs do not carry themselves."""
    records: list[LogRecord] = []
    skipped = 0
    for log in logs:
        address = log["address"].lower()
        topics = log["topics"]
        entry = ROW_DECODERS.get(topics[0].lower()) if topics else None
        if entry is None or address not in contracts or log.get("removed"):
            skipped += 1
            continue
        name, decoder = entry
        block = int(log["blockNumber"], 16)
        stamp = log.get("blockTimestamp")
        records.append(
            LogRecord(
                block,
                int(log["logIndex"], 16),
                log["blockHash"].lower(),
                int(stamp, 16) if stamp is not None else times[block],
                log["transactionHash"].lower(),
                int(log["transactionIndex"], 16),
                address,
                name,
                decoder(topics, log["data"]),
            )
        )
    return Decoded(records, skipped)


def event_rows(records: Sequence[LogRecord]) -> EventRows:
    """The ``events``, ``event_blocks`` and ``transactions`` rows of ``records``, as stored."""
    events = []
    blocks: dict[int, tuple[Any, ...]] = {}
    transactions: dict[tuple[int, int], tuple[Any, ...]] = {}
    for record in records:
        row = record.row
        shape = _SHAPES[type(row)]
        number, tx_index = record.block_number, record.tx_index
        events.append(
            (
                number,
                record.log_index,
                tx_index,
                to_stored(record.contract),
                record.event,
                None if shape.asset is None else to_stored(row[shape.asset]),
                pack_args(_values(row, shape), shape.asset),
            )
        )
        if number not in blocks:
            blocks[number] = (number, to_stored(record.block_hash), record.block_time)
        if (number, tx_index) not in transactions:
            transactions[number, tx_index] = (number, tx_index, to_stored(record.tx_hash))
    return EventRows(events, list(blocks.values()), list(transactions.values()))


class _Shape(NamedTuple):
    """Where a row type keeps what :func:`event_rows` and :func:`row_values` convert."""

    asset: int | None
    """Position of the asset the event concerns (``asset_id``, else ``token_id``)."""
    enums: tuple[tuple[int, tuple[str, ...]], ...]
    """Positions of enum fields, with the member names by value."""
    integers: tuple[int, ...]
    """Positions of the other integer fields (those above 2**53 are stored as text)."""


def _shape(row_type: type[Any]) -> _Shape:
    fields: tuple[str, ...] = row_type._fields
    hints = get_type_hints(row_type)
    enums = ROW_ENUMS.get(row_type, {})
    asset = next((fields.index(name) for name in ("asset_id", "token_id") if name in fields), None)
    return _Shape(
        asset,
        tuple(
            (fields.index(name), tuple(kind(value).name for value in range(len(kind))))
            for name, kind in enums.items()
        ),
        tuple(
            position
            for position, name in enumerate(fields)
            if hints[name] is int and name not in enums
        ),
    )


_SHAPES: Final[dict[type[Any], _Shape]] = {
    row_type: _shape(row_type) for row_type in ROW_TYPES.values()
}


def _values(row: tuple[Any, ...], shape: _Shape) -> list[Any]:
    values: list[Any] = list(row)
    for position, names in shape.enums:
        values[position] = names[values[position]]
    for position in shape.integers:
        if values[position] >= _SAFE_INTEGER:
            values[position] = str(values[position])
    return values


def row_values(row: tuple[Any, ...]) -> list[Any]:
    """A row's values as ``events.args`` holds them (:mod:`provledger.store.eventargs` packs
    them) in the event's field order (:data:`provledger.indexer.rows.ROW_TYPES` names them):
    enums by name, integers above 2**53 as decimal text."""
    return _values(row, _SHAPES[type(row)])


def stored_row(event: str, values: Sequence[Any]) -> tuple[Any, ...]:
    """The row of ``event`` whose :func:`row_values` are ``values``: its inverse, for records
    rebuilt from the ``events`` table (:mod:`provledger.indexer.replay`)."""
    row_type = ROW_TYPES[event]
    shape = _SHAPES[row_type]
    fields = list(values)
    for position, names in shape.enums:
        fields[position] = names.index(fields[position])
    for position in shape.integers:
        if type(fields[position]) is str:
            fields[position] = int(fields[position])
    made: tuple[Any, ...] = row_type._make(fields)
    return made


def row_args(row: tuple[Any, ...]) -> dict[str, Any]:
    """A row's fields by name, as :func:`row_values` renders them."""
    return dict(zip(row._fields, row_values(row), strict=True))  # type: ignore[attr-defined]


__all__ = [
    "Decoded",
    "LogDecodeError",
    "LogRecord",
    "RawLog",
    "decode_logs",
    "event_rows",
    "row_args",
    "row_values",
    "stored_row",
]
