"""Participants (with their names and roles) and anchored batches (with the assets access-log
batches cover)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, and_, bindparam, select

from provledger.store import schema
from provledger.store.queries.statements import by_chunks, fetch_all, page, page_by


def named_participants() -> Select[Any]:
    """Participant rows with ``name``: the text whose SHA-256 is the recorded name hash, if the
    blob folder had it (else NULL)."""
    participants, names = schema.participants, schema.names
    return select(participants, names.c.name).select_from(
        participants.outerjoin(names, names.c.name_hash == participants.c.name_hash)
    )


def get_participant(conn: Connection, account: str) -> RowMapping | None:
    """The participant row of ``account`` (lowercase address), with ``name``."""
    participants = schema.participants
    query = named_participants().where(participants.c.account == account)
    return conn.execute(query).mappings().first()


def list_participants(conn: Connection, after: str | None, limit: int) -> list[RowMapping]:
    """Participants by address, with ``name``."""
    participants = schema.participants
    return fetch_all(conn, page_by(named_participants(), participants.c.account, after, limit))


def participants_among(conn: Connection, accounts: Sequence[str]) -> dict[str, RowMapping]:
    """The participant rows (with ``name``) of those of ``accounts`` (lowercase addresses) that
    are participants, by account."""
    participants = schema.participants
    query = named_participants().where(
        participants.c.account.in_(bindparam("keys", expanding=True))
    )
    chunks = by_chunks(conn, query, accounts)
    return {str(row["account"]): row for result in chunks for row in result.mappings()}


def roles_among(conn: Connection, accounts: Sequence[str]) -> dict[str, list[str]]:
    """The roles (``0x`` hex role ids) held now by those of ``accounts`` (lowercase addresses)
    that hold any, by account."""
    roles = schema.roles
    query = (
        select(roles.c.account, roles.c.role)
        .where(roles.c.account.in_(bindparam("keys", expanding=True)), roles.c.granted)
        .order_by(roles.c.account, roles.c.role)
    )
    found: dict[str, list[str]] = {}
    for result in by_chunks(conn, query, accounts):
        for row in result.mappings():
            found.setdefault(str(row["account"]), []).append(str(row["role"]))
    return found


def get_batch(conn: Connection, root: str) -> RowMapping | None:
    """The batch anchored under ``root``."""
    batches = schema.batches
    return conn.execute(select(batches).where(batches.c.root == root)).mappings().first()


def batches_holding(conn: Connection, leaf: str) -> list[RowMapping]:
    """The anchored batches whose manifest (in the blob folder) lists the content hash
    ``leaf``: each batch row with the leaf's ``position`` and the manifest's ``manifest``
    SHA-256, oldest anchor first."""
    batches, leaves, manifests = schema.batches, schema.batch_leaves, schema.batch_manifests
    query = (
        select(batches, leaves.c.position, manifests.c.sha256.label("manifest"))
        .join(leaves, leaves.c.root == batches.c.root)
        .join(manifests, manifests.c.root == batches.c.root)
        .where(leaves.c.leaf == leaf)
        .order_by(batches.c.block_number, batches.c.root)
    )
    return fetch_all(conn, query)


def list_batches(
    conn: Connection, submitter: str | None, after: str | None, limit: int
) -> list[RowMapping]:
    """Batches by root, optionally of one submitter."""
    batches = schema.batches
    query = select(batches)
    if submitter is not None:
        query = query.where(batches.c.submitter == submitter)
    return fetch_all(conn, page_by(query, batches.c.root, after, limit))


def access_batches_of(
    conn: Connection, asset_id: str, after: Sequence[Any] | None, limit: int
) -> list[RowMapping]:
    """The anchored access-log batches whose manifest lists the asset ``asset_id``: each batch
    row with the asset's ``records`` in it and the manifest's SHA-256 (``manifest``), by
    ``(anchored_at, root)`` after the key ``after``. A batch counts only if its anchored root,
    leaf count and manifest URI are the manifest's: the URI names the manifest's SHA-256."""
    batches, manifests, covered = (
        schema.batches,
        schema.access_manifests,
        schema.access_batch_assets,
    )
    anchored = and_(
        batches.c.root == manifests.c.root,
        batches.c.manifest_uri == manifests.c.manifest_uri,
        batches.c.leaf_count == manifests.c.leaf_count,
    )
    query = (
        select(batches, covered.c.records, manifests.c.sha256.label("manifest"))
        .select_from(covered)
        .join(manifests, manifests.c.sha256 == covered.c.sha256)
        .join(batches, anchored)
        .where(covered.c.asset_id == asset_id)
    )
    return fetch_all(conn, page(query, [batches.c.anchored_at, batches.c.root], after, limit))
