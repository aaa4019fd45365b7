"""Read queries over the index. Every SQL statement the readers run lives in this package.

Lists are keyset-paginated: a caller passes the key of the last row it saw (``after``) and a
limit, and gets the rows that follow in key order. Rows come back as SQLAlchemy
``RowMapping`` (as plain dicts from the hot-path reads of :class:`DriverStatement`); turning
them into answers is the services' work.

One module per area: :mod:`.status` (where the index stands), :mod:`.assets`, :mod:`.history`
(events, holders, lineage), :mod:`.asset_records` (licenses, appraisals, objections, disputes,
certificates, permits), :mod:`.participants` (with batches), :mod:`.market` and
:mod:`.disclosures` (disclosed fields of committed metadata); how they run is in
:mod:`.statements`. Readers use the names below, from this package.
"""

from __future__ import annotations

from provledger.store.queries.asset_records import (
    appraisals_of,
    certificates_of,
    disputes_of,
    export_permits_of,
    licenses_of,
    licenses_to,
    objections_of,
    open_dispute_count,
)
from provledger.store.queries.assets import (
    AssetFilter,
    asset_of_registration,
    asset_titles,
    get_asset,
    get_asset_at_head,
    get_assets,
    list_assets,
    recent_assets,
)
from provledger.store.queries.disclosures import committed_fields
from provledger.store.queries.history import (
    asset_events,
    holder_at,
    holding_at_block,
    holding_at_time,
    holdings_of,
    lineage_walks,
)
from provledger.store.queries.market import (
    OfferFilter,
    bids_on,
    get_offer,
    market_stats,
    offers_of,
    open_offers,
    trades_by,
    trades_of,
)
from provledger.store.queries.participants import (
    access_batches_of,
    batches_holding,
    get_batch,
    get_participant,
    list_batches,
    list_participants,
    participants_among,
    roles_among,
)
from provledger.store.queries.statements import DriverStatement
from provledger.store.queries.status import (
    IndexPosition,
    event_count,
    index_meta,
    index_position,
    indexed_time,
)

__all__ = [
    "AssetFilter",
    "DriverStatement",
    "IndexPosition",
    "OfferFilter",
    "access_batches_of",
    "appraisals_of",
    "asset_events",
    "asset_of_registration",
    "asset_titles",
    "batches_holding",
    "bids_on",
    "certificates_of",
    "committed_fields",
    "disputes_of",
    "event_count",
    "export_permits_of",
    "get_asset",
    "get_asset_at_head",
    "get_assets",
    "get_batch",
    "get_offer",
    "get_participant",
    "holder_at",
    "holding_at_block",
    "holding_at_time",
    "holdings_of",
    "index_meta",
    "index_position",
    "indexed_time",
    "licenses_of",
    "licenses_to",
    "lineage_walks",
    "list_assets",
    "list_batches",
    "list_participants",
    "market_stats",
    "objections_of",
    "offers_of",
    "open_dispute_count",
    "open_offers",
    "participants_among",
    "recent_assets",
    "roles_among",
    "trades_by",
    "trades_of",
]
