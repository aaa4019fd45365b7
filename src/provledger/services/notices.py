"""The public notice: the registrations a registrar accepted (status ``NOTICED``) whose notice
period has not ended, so that anyone may still object to them.

``RegistrationOffice.object`` takes an objection only before the asset's notice ends
(``NoticePeriodOver`` from then on); an accepted registration whose notice is over stays
``NOTICED`` until the registrar certifies it, and is no longer under notice. Which notices are
open is judged at the chain's time as the index knows it (the time of the latest indexed block,
as every other answer of the read side judges time). ``GET /assets?status=NOTICED`` lists every
accepted registration, its notice open or over, each with its ``notice_ends_at``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, RowMapping

from provledger.params import MAX_PAGE, decode_cursor
from provledger.services.provenance import Provenance
from provledger.services.reads import paged, view
from provledger.services.views import AssetView, Page
from provledger.store import queries

#: The status of an accepted registration, in its notice period or waiting for its certificate.
NOTICED: Final = "NOTICED"


@dataclass(frozen=True)
class PublicNotice:
    """One page of the registrations under public notice at ``checked_at`` (the chain's time
    as indexed), the notice ending soonest first (then by asset id)."""

    notices: Page[AssetView]
    checked_at: int


def public_notice(provenance: Provenance, cursor: str | None, limit: int) -> PublicNotice:
    """The registrations whose public notice is open, ``limit`` a page, after ``cursor`` (the
    ``next_cursor`` of the page before).

    Raises:
        InvalidParameterError: ``cursor`` is not one of this list's.
    """
    after = decode_cursor(cursor, [int, str])
    with provenance.engine.connect() as conn:
        now = queries.indexed_time(conn, queries.index_position(conn))
        rows = sorted((row for row in _noticed(conn) if _ends(row) > now), key=_key)
        finality = provenance.finality_now(conn)
    if after is not None:
        rows = [row for row in rows if _key(row) > (after[0], after[1])]
    shown = rows[:limit]
    items = [view(AssetView, row, finality(row["block_number"])) for row in shown]
    return PublicNotice(paged(items, shown, limit, lambda row: list(_key(row))), now)


def _noticed(conn: Connection) -> Iterator[RowMapping]:
    """Every asset the index holds as ``NOTICED``, a page at a time by asset id.

    The accepted registrations are read whole to be ordered by notice end: they are the
    registrar's queue (those in their notice and those waiting for a certificate), not the
    register."""
    where = queries.AssetFilter(status=NOTICED)
    after: str | None = None
    while True:
        rows = queries.list_assets(conn, where, after, MAX_PAGE)
        yield from rows
        if len(rows) < MAX_PAGE:
            return
        after = str(rows[-1]["asset_id"])


def _ends(row: RowMapping) -> int:
    """When the notice of an accepted registration's row ends (0: never accepted)."""
    return int(row["notice_ends_at"] or 0)


def _key(row: RowMapping) -> tuple[Any, ...]:
    """The order of the public notice, and the key of its cursor."""
    return (_ends(row), str(row["asset_id"]))
