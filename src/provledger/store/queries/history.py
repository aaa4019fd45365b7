"""An asset's history: its events, its holders over time, and its lineage."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import (
    Column,
    Connection,
    RowMapping,
    Select,
    and_,
    bindparam,
    literal_column,
    or_,
    select,
    true,
    union_all,
)

from provledger.store import schema
from provledger.store.queries.statements import (
    DriverStatement,
    fetch_all,
    keyset,
    keyset_params,
    page,
)


def asset_events(
    conn: Connection, asset_id: str, after: Sequence[int] | None, limit: int
) -> list[RowMapping]:
    """The events concerning ``asset_id`` in chain order, after (block, log index)."""
    statement = _asset_events_statement(after is not None)
    rows = conn.execute(statement, keyset_params(after, limit, asset_id=asset_id))
    return list(rows.mappings())


@functools.cache
def _asset_events_statement(paged: bool) -> Select[Any]:
    events = schema.events
    query = schema.positioned_events().where(events.c.asset_id == bindparam("asset_id"))
    return keyset(query, [events.c.block_number, events.c.log_index], paged)


def holdings_of(
    conn: Connection, asset_id: str, after: Sequence[int] | None, limit: int
) -> list[RowMapping]:
    """The holder periods of ``asset_id`` in chain order."""
    holdings = schema.holdings
    query = select(holdings).where(holdings.c.asset_id == asset_id)
    key = [holdings.c.from_block, holdings.c.from_log]
    return fetch_all(conn, page(query, key, after, limit))


def _holding_covering(
    conn: Connection, asset_id: str, start: Column[Any], end: Column[Any], point: int
) -> RowMapping | None:
    holdings = schema.holdings
    query = (
        select(holdings)
        .where(
            and_(
                holdings.c.asset_id == asset_id,
                start <= point,
                or_(end.is_(None), end > point),
            )
        )
        .order_by(holdings.c.from_block.desc(), holdings.c.from_log.desc())
        .limit(1)
    )
    return conn.execute(query).mappings().first()


def holding_at_block(conn: Connection, asset_id: str, block: int) -> RowMapping | None:
    """The holder period of ``asset_id`` that covers the end of ``block``."""
    holdings = schema.holdings
    return _holding_covering(conn, asset_id, holdings.c.from_block, holdings.c.to_block, block)


def holding_at_time(conn: Connection, asset_id: str, timestamp: int) -> RowMapping | None:
    """The holder period of ``asset_id`` that covers unix time ``timestamp``."""
    holdings = schema.holdings
    return _holding_covering(conn, asset_id, holdings.c.from_time, holdings.c.to_time, timestamp)


def holder_at(conn: Connection, asset_id: str, block: int) -> str | None:
    """Who held ``asset_id`` at the end of ``block`` (None if it did not exist yet)."""
    row = holding_at_block(conn, asset_id, block)
    return None if row is None else str(row["holder"])


# ------------------------------------------------------------------ lineage


def _walk(*, upward: bool, lateral: bool) -> Any:
    """The recursive walk from ``:root`` toward parents (``upward``) or children, as a CTE.

    ``lateral`` (PostgreSQL) finds each level's links with a lateral subquery behind
    ``OFFSET 0``, which PostgreSQL does not merge into a join: the links of each node are then
    read through the index. As a plain join, the planner hashes a sequential scan of the
    whole table whenever it thinks it small (two and a half times slower at 480 links)."""
    lineage = schema.lineage
    near, far = ("child_id", "parent_id") if upward else ("parent_id", "child_id")
    first = select(*lineage.c, literal_column("1").label("level")).where(
        lineage.c[near] == bindparam("root")
    )
    walk = first.cte("walk_up" if upward else "walk_down", recursive=True)
    linked: Any
    if lateral:
        linked = select(*lineage.c).where(lineage.c[near] == walk.c[far]).offset(0).lateral()
        source = walk.join(linked, true())
    else:
        linked = lineage
        source = lineage.join(walk, lineage.c[near] == walk.c[far])
    step = (
        select(*linked.c, (walk.c.level + 1).label("level"))
        .select_from(source)
        .where(walk.c.level <= bindparam("depth"))
    )
    return walk.union(step)


def _walks_statement(directions: tuple[bool, ...], *, lateral: bool) -> Select[Any]:
    """The walks of ``directions`` (True: upward) in one statement, each row marked with its
    direction, in level order."""
    parts = [
        select(walk, literal_column("1" if upward else "0").label("upward"))
        for upward in directions
        for walk in [_walk(upward=upward, lateral=lateral)]
    ]
    walks = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("walks")
    return select(walks).order_by(walks.c.level)


#: Per use of lateral subqueries (PostgreSQL) and set of directions (True: upward), the
#: statement that walks them.
_WALKS: Final[dict[tuple[bool, tuple[bool, ...]], DriverStatement]] = {
    (lateral, directions): DriverStatement(_walks_statement(directions, lateral=lateral))
    for lateral in (False, True)
    for directions in ((True,), (False,), (True, False))
}


def lineage_walks(
    conn: Connection, root: str, depth: int, *, up: bool, down: bool
) -> dict[bool, list[dict[str, Any]]]:
    """The lineage edges reachable from ``root`` toward parents (key True, if ``up``) and
    toward children (key False, if ``down``), at most ``depth + 1`` links away (the extra level
    tells whether more lies beyond), in one recursive query for both. Each row is an edge with
    ``level``, its distance in links from ``root``, in level order; an edge reachable along
    several paths comes once per distinct level."""
    directions = tuple(upward for upward, asked in ((True, up), (False, down)) if asked)
    walked: dict[bool, list[dict[str, Any]]] = {upward: [] for upward in directions}
    if directions:
        statement = _WALKS[conn.dialect.name == "postgresql", directions]
        for row in statement.rows(conn, {"root": root, "depth": depth}):
            walked[bool(row.pop("upward"))].append(row)
    return walked
