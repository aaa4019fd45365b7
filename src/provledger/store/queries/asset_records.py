"""The records kept on an asset: licenses, appraisals, objections, disputes, certificates
and export permits."""

from __future__ import annotations

import functools
from typing import Any, Final

from sqlalchemy import Connection, RowMapping, Select, and_, bindparam, func, or_, select

from provledger.store import schema
from provledger.store.queries.statements import fetch_all, keyset, keyset_params, page_by


def licenses_of(
    conn: Connection, asset_id: str, valid_at: int | None, after: int | None, limit: int
) -> list[RowMapping]:
    """The licenses on ``asset_id`` by id; with ``valid_at``, only those valid at that time."""
    statement = _licenses_statement(valid_at is not None, after is not None)
    params = keyset_params(
        None if after is None else [after], limit, asset_id=asset_id, valid_at=valid_at
    )
    return list(conn.execute(statement, params).mappings())


@functools.cache
def _licenses_statement(valid: bool, paged: bool) -> Select[Any]:
    licenses = schema.licenses
    query = select(licenses).where(licenses.c.asset_id == bindparam("asset_id"))
    if valid:
        at: Any = bindparam("valid_at")
        query = query.where(
            and_(
                licenses.c.granted_at <= at,
                licenses.c.expires_at > at,
                or_(licenses.c.revoked_at.is_(None), licenses.c.revoked_at > at),
            )
        )
    return keyset(query, [licenses.c.license_id], paged)


def licenses_to(conn: Connection, licensee: str, after: int | None, limit: int) -> list[RowMapping]:
    """The licenses granted to ``licensee`` by id."""
    licenses = schema.licenses
    query = select(licenses).where(licenses.c.licensee == licensee)
    return fetch_all(conn, page_by(query, licenses.c.license_id, after, limit))


def _records_of(
    conn: Connection, table_name: str, id_column: str, asset_id: str, after: int | None, limit: int
) -> list[RowMapping]:
    table = schema.metadata.tables[table_name]
    query = select(table).where(table.c.asset_id == asset_id)
    return fetch_all(conn, page_by(query, table.c[id_column], after, limit))


def appraisals_of(
    conn: Connection, asset_id: str, after: int | None, limit: int
) -> list[RowMapping]:
    """The appraisals of ``asset_id`` by id (current and superseded)."""
    return _records_of(conn, "appraisals", "appraisal_id", asset_id, after, limit)


def objections_of(
    conn: Connection, asset_id: str, after: int | None, limit: int
) -> list[RowMapping]:
    """The objections lodged against ``asset_id`` by id."""
    return _records_of(conn, "objections", "objection_id", asset_id, after, limit)


def disputes_of(conn: Connection, asset_id: str, after: int | None, limit: int) -> list[RowMapping]:
    """The disputes over ``asset_id`` by id, with their rulings."""
    return _records_of(conn, "disputes", "dispute_id", asset_id, after, limit)


def certificates_of(
    conn: Connection, asset_id: str, after: int | None, limit: int
) -> list[RowMapping]:
    """The certificates issued for ``asset_id`` by registration number."""
    return _records_of(conn, "certificates", "registration_number", asset_id, after, limit)


def export_permits_of(conn: Connection, asset_id: str) -> list[RowMapping]:
    """The export permits of ``asset_id`` by recipient."""
    permits = schema.export_permits
    query = select(permits).where(permits.c.asset_id == asset_id).order_by(permits.c.recipient)
    return fetch_all(conn, query)


def open_dispute_count(conn: Connection, asset_id: str) -> int:
    """How many disputes over ``asset_id`` have no ruling yet."""
    return int(conn.execute(_OPEN_DISPUTES, {"asset_id": asset_id}).scalar_one())


_OPEN_DISPUTES: Final = select(func.count()).where(
    and_(schema.disputes.c.asset_id == bindparam("asset_id"), schema.disputes.c.status != "RULED")
)
