"""Where the index stands: its checkpoint, the time of its last block, its identity and size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, bindparam, func, select

from provledger.store import schema
from provledger.store.queries.statements import DriverStatement


@dataclass(frozen=True)
class IndexPosition:
    """Where the index stands: the last indexed block and the head the indexer last saw."""

    indexed_block: int
    indexed_hash: str
    head_block: int
    updated_at: int


_CHECKPOINT: Final = DriverStatement(select(schema.checkpoint))


def index_position(conn: Connection) -> IndexPosition | None:
    """The checkpoint, or None before the first batch."""
    row = _CHECKPOINT.first(conn, {})
    if row is None:
        return None
    return IndexPosition(
        int(row["block_number"]), str(row["block_hash"]), int(row["head_block"]), row["updated_at"]
    )


_BLOCK_TIME: Final = select(schema.blocks.c.timestamp).where(
    schema.blocks.c.block_number == bindparam("block")
)
_LATEST_EVENT_TIME: Final = (
    select(schema.event_blocks.c.block_time)
    .order_by(schema.event_blocks.c.block_number.desc())
    .limit(1)
)


def indexed_time(conn: Connection, position: IndexPosition | None) -> int:
    """The timestamp of the last indexed block at ``position`` (0 before the first batch)."""
    if position is None:
        return 0
    stamp = conn.execute(_BLOCK_TIME, {"block": position.indexed_block}).scalar()
    if stamp is None:  # the window was not stored (a bulk load): the last event's block time
        stamp = conn.execute(_LATEST_EVENT_TIME).scalar()
    return int(stamp or 0)


def index_meta(conn: Connection) -> dict[str, str]:
    """The ``meta`` table: schema version, chain id, deployment."""
    return {str(key): str(value) for key, value in conn.execute(select(schema.meta)).all()}


def event_count(conn: Connection) -> int:
    """How many events the index holds."""
    return int(conn.execute(select(func.count()).select_from(schema.events)).scalar_one())
