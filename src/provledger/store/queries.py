"""Read queries over the index. Every SQL statement the readers run lives here."""

from __future__ import annotations

from sqlalchemy import Connection, and_, or_, select

from provledger.store import schema


def holder_at(conn: Connection, asset_id: str, block: int) -> str | None:
    """Who held ``asset_id`` at the end of ``block`` (None if it did not exist yet)."""
    holdings = schema.holdings
    row = conn.execute(
        select(holdings.c.holder)
        .where(
            and_(
                holdings.c.asset_id == asset_id,
                holdings.c.from_block <= block,
                or_(holdings.c.to_block.is_(None), holdings.c.to_block > block),
            )
        )
        .order_by(holdings.c.from_block.desc(), holdings.c.from_log.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row.holder)
