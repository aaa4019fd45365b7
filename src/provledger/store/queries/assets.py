"""Assets: by id, by filter, by registration number and title, and the latest registrations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from sqlalchemy import Connection, RowMapping, and_, bindparam, exists, or_, select

from provledger.store import schema
from provledger.store.queries.statements import (
    CHUNK,
    DriverStatement,
    by_chunks,
    fetch_all,
    page_by,
)


@dataclass(frozen=True)
class AssetFilter:
    """Equality filters of an asset list; None means any."""

    holder: str | None = None
    registrant: str | None = None
    category: int | None = None
    grade: int | None = None
    status: str | None = None
    title_words: tuple[str, ...] = ()
    """Words the title of the asset's current metadata document (or its disclosed title) must
    all hold."""


# Statements of the hottest lookups, built once (building costs more than the cached compile).
_ASSET_BY_ID: Final = DriverStatement(
    select(schema.assets).where(schema.assets.c.asset_id == bindparam("key"))
)
#: The chain head the index last saw (None before the first batch), as a column of a read
#: whose answer needs its finality: one statement instead of two.
_INDEX_HEAD: Final = select(schema.checkpoint.c.head_block).scalar_subquery().label("index_head")

_ASSET_AT_HEAD: Final = DriverStatement(
    select(schema.assets, _INDEX_HEAD).where(schema.assets.c.asset_id == bindparam("key"))
)


def get_asset(conn: Connection, asset_id: str) -> Mapping[str, Any] | None:
    """The asset row of ``asset_id`` (0x + 64 hex digits)."""
    return _ASSET_BY_ID.first(conn, {"key": asset_id})


def get_asset_at_head(conn: Connection, asset_id: str) -> Mapping[str, Any] | None:
    """The asset row of ``asset_id`` with ``index_head``, the chain head the index last saw
    (None before the first batch), in one statement: the lookup's finality needs it."""
    return _ASSET_AT_HEAD.first(conn, {"key": asset_id})


def get_assets(conn: Connection, asset_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The asset rows of ``asset_ids`` that exist, by id, each with ``index_head`` as in
    :func:`get_asset_at_head` (a lineage's nodes: a few rows, read with the driver's own
    cursor, :data:`CHUNK` keys a statement)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(asset_ids), CHUNK):
        keys = asset_ids[start : start + CHUNK]
        size = _padded(len(keys))
        bound = {f"key_{number}": keys[min(number, len(keys) - 1)] for number in range(size)}
        for row in _assets_by_ids(size).rows(conn, bound):
            found[row["asset_id"]] = row
    return found


def _padded(count: int) -> int:
    """The statement size that takes ``count`` keys: the next power of two (the last key
    repeats), so that a few statements serve every count."""
    return 1 << max(count - 1, 0).bit_length()


@cache
def _assets_by_ids(size: int) -> DriverStatement:
    keys = [
        bindparam(f"key_{number}", type_=schema.assets.c.asset_id.type) for number in range(size)
    ]
    return DriverStatement(
        select(schema.assets, _INDEX_HEAD).where(schema.assets.c.asset_id.in_(keys))
    )


def list_assets(
    conn: Connection, where: AssetFilter, after: str | None, limit: int
) -> list[RowMapping]:
    """Assets matching ``where`` in asset id order, after the id ``after``."""
    assets = schema.assets
    query = select(assets)
    for column, value in (
        (assets.c.holder, where.holder),
        (assets.c.registrant, where.registrant),
        (assets.c.category, where.category),
        (assets.c.grade, where.grade),
        (assets.c.status, where.status),
    ):
        if value is not None:
            query = query.where(column == value)
    words = schema.title_words
    for word in where.title_words:
        titled = select(words.c.metadata_hash).where(words.c.word == word)
        query = query.where(assets.c.metadata_hash.in_(titled))
    if where.title_words:
        query = query.where(exists().where(TITLE_OF_ASSET))
    return fetch_all(conn, page_by(query, assets.c.asset_id, after, limit))


#: The title row that is an asset's: its metadata hash's, and, for a title a presentation
#: disclosed, bound to the asset's content hash (another asset anchoring the same root is not
#: the one its holder committed to).
TITLE_OF_ASSET: Final = and_(
    schema.metadata_titles.c.metadata_hash == schema.assets.c.metadata_hash,
    or_(
        schema.metadata_titles.c.content_hash.is_(None),
        schema.metadata_titles.c.content_hash == schema.assets.c.content_hash,
    ),
)


def asset_of_registration(conn: Connection, registration_number: int) -> str | None:
    """The asset certified under ``registration_number``, if any."""
    certificates = schema.certificates
    query = select(certificates.c.asset_id).where(
        certificates.c.registration_number == registration_number
    )
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def asset_titles(conn: Connection, asset_ids: Sequence[str]) -> dict[str, str]:
    """The titles of the current metadata documents of ``asset_ids`` (or the titles their
    holders disclosed), by asset id, for those whose document the blob folder had."""
    chunks = by_chunks(conn, _TITLES_BY_IDS, asset_ids)
    rows = (row for result in chunks for row in result.mappings())
    return {str(row["asset_id"]): str(row["title"]) for row in rows}


_TITLES_BY_IDS: Final = (
    select(schema.assets.c.asset_id, schema.metadata_titles.c.title)
    .select_from(schema.assets.join(schema.metadata_titles, TITLE_OF_ASSET))
    .where(schema.assets.c.asset_id.in_(bindparam("keys", expanding=True)))
)


def recent_assets(conn: Connection, limit: int) -> list[RowMapping]:
    """The latest registrations, newest first."""
    assets = schema.assets
    query = select(assets).order_by(assets.c.registered_block.desc(), assets.c.asset_id.desc())
    return fetch_all(conn, query.limit(limit))
