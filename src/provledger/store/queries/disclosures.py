"""Fields of committed metadata that presentations disclose or name withheld, by the root they
are proved against (the metadata hash a committed registration anchors) and the content hash
their header binds the root to; see :mod:`provledger.store.documents`."""

from __future__ import annotations

from sqlalchemy import Connection, RowMapping, select

from provledger.store import schema
from provledger.store.queries.statements import fetch_all


def committed_fields(conn: Connection, root: str, content_hash: str) -> list[RowMapping]:
    """The fields of the commitment ``root`` bound to ``content_hash`` that presentations named,
    by name: ``name``, ``value`` (canonical JSON; None for a field withheld) and the
    ``presentation`` (SHA-256) that said so last. Empty if no presentation of ``root`` for that
    content hash was indexed: an asset that anchors another holder's root with its own content
    hash is not the registration the root's presentations speak of."""
    fields = schema.committed_fields
    query = (
        select(fields)
        .where(fields.c.metadata_hash == root, fields.c.content_hash == content_hash)
        .order_by(fields.c.name)
    )
    return fetch_all(conn, query)
