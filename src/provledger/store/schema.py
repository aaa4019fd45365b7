"""The index schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Everything here is derived from the chain and can be rebuilt from the deployment block.

Conventions: asset ids, hashes and roots are stored as 32 bytes and addresses as 20 (BLOB or
bytea); Python sees them as ``0x`` + lowercase hex (asset ids are 64 hex digits, the uint256
written as bytes32; addresses are checksummed on output) (provledger.store.columns.HexBytes).
uint256 amounts are decimal text; block numbers and unix times are integers. Columns
are NOT NULL unless declared ``nullable=True``. Every projection row names the block of its
latest change (``block_number``) so readers can tell pending, safe and final records apart.

The tables of what the index learned from the blob folder are in
:mod:`provledger.store.document_tables` (named here too); every table is on one ``metadata``
(:mod:`provledger.store.naming`).

Bookkeeping tables: ``meta`` (schema version, chain id, deployment), ``checkpoint`` (the last
indexed block and its hash), ``blocks`` (hashes of the unfinalized window, for reorg
detection), ``undo`` (pre-images of projection rows changed in the unfinalized window, for
rollback), ``outbox`` (the notifications of subscriptions, :mod:`provledger.store.outbox`).
``events`` is the append-only log of every decoded event, ``event_blocks`` and
``transactions`` the hashes and times of the blocks and transactions it names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    Select,
    String,
    Table,
    Text,
    and_,
    select,
)

from provledger.store.columns import address20, amount, block, column, hash32, unix_time, when
from provledger.store.document_tables import access_batch_assets as access_batch_assets
from provledger.store.document_tables import access_manifests as access_manifests
from provledger.store.document_tables import batch_leaves as batch_leaves
from provledger.store.document_tables import batch_manifests as batch_manifests
from provledger.store.document_tables import committed_fields as committed_fields
from provledger.store.document_tables import documents as documents
from provledger.store.document_tables import metadata_titles as metadata_titles
from provledger.store.document_tables import names as names
from provledger.store.document_tables import title_words as title_words
from provledger.store.naming import metadata as metadata
from provledger.store.naming import new_metadata as new_metadata

#: Bump on any change of the tables below or in provledger.store.document_tables; the indexer
#: rebuilds a store of another version, and readers refuse it until then
#: (provledger.store.engine.create_schema and the gateway's engines).
SCHEMA_VERSION: Final = 14


#: The projection tables in the order they are declared (see PROJECTIONS).
_projections: list[Table] = []


def _projection(name: str, *columns: Column[Any], indexes: Sequence[Sequence[str]] = ()) -> Table:
    """A projection table: ``columns``, then ``block_number``, the block of the row's latest
    change, and an index on each list of column names in ``indexes``."""
    table = Table(name, metadata, *columns, block(), *(Index(None, *names) for names in indexes))
    _projections.append(table)
    return table


def _asset_record(
    name: str, id_column: str, *columns: Column[Any], indexes: Sequence[Sequence[str]] = ()
) -> Table:
    """A projection table of records about one asset each, numbered by the contract: the number
    (``id_column``, the primary key), ``asset_id``, then ``columns``; indexed to list an asset's
    records in number order, and by ``indexes``."""
    return _projection(
        name,
        column(id_column, BigInteger, primary_key=True),
        hash32("asset_id"),
        *columns,
        indexes=[("asset_id", id_column), *indexes],
    )


# ------------------------------------------------------------------ bookkeeping

meta = Table(
    "meta",
    metadata,
    column("key", String(64), primary_key=True),
    column("value", Text),
)

checkpoint = Table(
    "checkpoint",
    metadata,
    column("id", Integer, primary_key=True),  # always 1
    block(),
    hash32("block_hash"),
    block("head_block"),
    unix_time("updated_at"),
)

blocks = Table(
    "blocks",
    metadata,
    block(primary_key=True),
    hash32("block_hash"),
    hash32("parent_hash"),
    unix_time("timestamp"),
)

undo = Table(
    "undo",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    block(),
    column("table_name", String(64)),
    column("row_key", Text),
    column("image", Text, nullable=True),  # JSON of the row before the change; NULL: absent
    Index(None, "block_number"),
)

# One row per event; the hash and time of its block and the hash of its transaction are kept
# once each, in ``event_blocks`` and ``transactions`` (:func:`positioned_events` joins them back).
events = Table(
    "events",
    metadata,
    block(primary_key=True),
    column("log_index", Integer, primary_key=True),
    column("tx_index", Integer),
    address20("contract"),
    column("event", String(64)),
    hash32("asset_id", nullable=True),  # the asset the event concerns, if any
    # the decoded fields in declaration order (provledger.indexer.rows names them), packed by
    # provledger.store.eventargs
    column("args", LargeBinary),
    Index(None, "asset_id", "block_number", "log_index"),
    sqlite_with_rowid=False,  # the rows live in the primary key's B-tree, in chain order
)

event_blocks = Table(
    "event_blocks",
    metadata,
    block(primary_key=True),
    hash32("block_hash"),
    unix_time("block_time"),
)

transactions = Table(
    "transactions",
    metadata,
    block(primary_key=True),
    column("tx_index", Integer, primary_key=True),
    hash32("tx_hash"),
    sqlite_with_rowid=False,
)


# The transactional outbox: a row for each event a subscription matched, written in its batch,
# a retraction for each announcement a reorg removed (provledger.store.outbox); ``seq`` is never
# reused, and rows go once delivered and final (provledger.store.upkeep).
outbox = Table(
    "outbox",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    column("subscription_id", String(40)),
    block(),
    column("log_index", Integer),
    hash32("block_hash"),
    column("kind", String(8)),  # announce | retract | remind | unremind
    column("retracts", BigInteger, nullable=True),  # the seq of the retracted announcement
    column("written_at", BigInteger),  # unix ms: when its batch was written (lag from there)
    Index(None, "subscription_id", "seq"),
    Index(None, "block_number"),
    Index(None, "retracts"),
    sqlite_autoincrement=True,
)


# Per stream: the outbox position it cannot be resumed from before (provledger.store.upkeep).
outbox_horizon = Table(
    "outbox_horizon",
    metadata,
    column("subscription_id", String(40), primary_key=True),
    column("seq", BigInteger),
)


def positioned_events() -> Select[Any]:
    """Every column of ``events``, with ``block_hash`` and ``block_time`` of its block and
    ``tx_hash`` of its transaction: what a reader of events selects from, adding its ``where``.
    """
    return select(
        *events.c, event_blocks.c.block_hash, event_blocks.c.block_time, transactions.c.tx_hash
    ).select_from(
        events.join(event_blocks, event_blocks.c.block_number == events.c.block_number).join(
            transactions,
            and_(
                transactions.c.block_number == events.c.block_number,
                transactions.c.tx_index == events.c.tx_index,
            ),
        )
    )


# ------------------------------------------------------------------ projections

participants = _projection(
    "participants",
    address20("account", primary_key=True),
    column("jurisdiction", String(2)),
    hash32("name_hash"),
    column("status", String(16)),  # ACTIVE | SUSPENDED
    *when("registered"),
    hash32("suspension_reason", nullable=True),
)

categories = _projection(
    "categories",
    column("code", Integer, primary_key=True),
    column("listed", Boolean),
)

roles = _projection(
    "roles",
    hash32("role", primary_key=True),
    address20("account", primary_key=True),
    column("granted", Boolean),
    address20("changed_by"),
)

contract_settings = _projection(
    "contract_settings",
    column("key", String(64), primary_key=True),  # paused, base_uri, notice_period, modules
    column("value", Text),
)

assets = _projection(
    "assets",
    hash32("asset_id", primary_key=True),
    hash32("content_hash"),
    address20("registrant"),
    address20("holder"),
    block("holder_since_block"),
    column("holder_since_log", Integer),
    column("category", Integer),
    column("grade", Integer),
    column("status", String(16)),  # APPLIED | NOTICED | CERTIFIED | …
    column("under_objection", Boolean),
    column("frozen", Boolean),
    column("metadata_uri", Text),
    hash32("metadata_hash"),
    column("metadata_version", Integer),
    column("channel", String(16)),  # DIRECT | SIGNED | BATCH
    address20("submitter"),
    hash32("batch_root", nullable=True),
    unix_time("notice_ends_at", nullable=True),
    column("registration_number", BigInteger, nullable=True),
    *when("registered"),
    hash32("registered_tx"),
    # No index on content_hash: the asset id is derived from it (provledger.chain.ids).
    indexes=[
        ("holder", "asset_id"),
        ("registrant", "asset_id"),
        ("category", "grade", "asset_id"),
        ("status", "asset_id"),
        ("registered_block", "asset_id"),
        ("metadata_hash", "asset_id"),
        # None on batch_root: no read looks assets up by their batch root, and most assets
        # have none (the index cost 21 bytes an event at 5M events).
    ],
)

holdings = _projection(
    "holdings",
    hash32("asset_id", primary_key=True),
    block("from_block", primary_key=True),
    column("from_log", Integer, primary_key=True),
    address20("holder"),
    unix_time("from_time"),
    hash32("from_tx"),
    block("to_block", nullable=True),  # NULL while held
    column("to_log", Integer, nullable=True),
    unix_time("to_time", nullable=True),
    column("via", String(16)),  # REGISTRATION | TRANSFER | TRADE | RULING
    indexes=[("holder", "from_block")],
)

lineage = _projection(
    "lineage",
    hash32("child_id", primary_key=True),
    hash32("parent_id", primary_key=True),
    column("position", Integer),
    column("relation", String(16)),  # DERIVED_FROM | VERSION_OF | AGGREGATE_OF
    column("license_id", BigInteger, nullable=True),
    indexes=[("parent_id", "child_id")],  # a parent's children
)

licenses = _asset_record(
    "licenses",
    "license_id",
    address20("licensor"),
    address20("licensee"),
    column("kind", String(24)),  # PROCESSING_USE | PRODUCT_OPERATION
    unix_time("expires_at"),
    hash32("terms_hash"),
    column("scope", Text),
    *when("granted"),
    *when("revoked", nullable=True),
    hash32("revocation_reason", nullable=True),
    indexes=[("licensee", "license_id"), ("expires_at",)],  # expiring soon: reminders
)

appraisals = _asset_record(
    "appraisals",
    "appraisal_id",
    address20("appraiser"),
    amount("amount"),
    column("currency", String(3)),
    column("method", String(16)),  # COST | INCOME | MARKET
    hash32("report_hash"),
    column("supersedes", BigInteger, nullable=True),
    column("superseded_by", BigInteger, nullable=True),
    unix_time("appraised_at"),
)

objections = _asset_record(
    "objections",
    "objection_id",
    address20("objector"),
    hash32("grounds_hash"),
    column("open", Boolean),
    column("upheld", Boolean, nullable=True),
    hash32("resolution_hash", nullable=True),
    address20("resolved_by", nullable=True),
    *when("lodged"),
    block("resolved_block", nullable=True),
)

certificates = _asset_record(
    "certificates",
    "registration_number",
    column("registration_type", String(16)),  # INITIAL | LICENSE | TRANSFER | …
    hash32("certificate_hash"),
    address20("registrar"),
    unix_time("issued_at"),
)

disputes = _asset_record(
    "disputes",
    "dispute_id",
    address20("claimant"),
    hash32("evidence_hash"),
    column("status", String(16)),  # OPEN | FROZEN | RULED
    column("ruling", String(24), nullable=True),  # DISMISS | TRANSFER_TO_CLAIMANT | CANCEL_ASSET
    hash32("ruling_hash", nullable=True),
    address20("arbiter", nullable=True),
    *when("opened"),
    block("frozen_block", nullable=True),
    block("ruled_block", nullable=True),
)

export_permits = _projection(
    "export_permits",
    hash32("asset_id", primary_key=True),
    address20("recipient", primary_key=True),
    column("destination", String(2)),
    unix_time("expires_at"),
    address20("approver"),
    block("issued_block"),
    column("state", String(16)),  # ISSUED | USED | REVOKED
    block("closed_block", nullable=True),
    indexes=[("recipient", "asset_id"), ("expires_at",)],
)

batches = _projection(
    "batches",
    hash32("root", primary_key=True),
    address20("submitter"),
    column("leaf_count", BigInteger),
    column("manifest_uri", Text),
    unix_time("anchored_at"),
    hash32("anchored_tx"),
    column("promoted_count", BigInteger),
    indexes=[("submitter", "block_number")],
)

# ------------------------------------------------------------------ market
# Amounts are decimal text (uint128 fits no SQL integer type); an offer's price is also kept as
# ``price_key``, zero-padded to 39 digits, so that a price range is a range of text.

#: Digits of the largest uint128: the width of an offer's sortable ``price_key``.
PRICE_DIGITS: Final = 39


def price_key(price: int) -> str:
    """An amount as zero-padded decimal text, so that text order is numeric order."""
    return f"{price:0{PRICE_DIGITS}d}"


offers = _asset_record(
    "offers",
    "offer_id",
    address20("seller"),
    column("kind", String(8)),  # ASSET | LICENSE
    address20("currency"),  # the zero address for the native currency
    amount("price"),
    column("price_key", String(39)),
    amount("min_bid"),  # "0": no counter-bids
    unix_time("expires_at"),
    column("fee_bps", Integer),
    column("license_kind", String(24), nullable=True),
    column("license_duration", BigInteger, nullable=True),
    hash32("terms_hash", nullable=True),
    column("scope", Text, nullable=True),
    column("status", String(16)),  # OPEN | CANCELLED | FILLED
    *when("created"),
    block("closed_block", nullable=True),
    indexes=[("seller", "offer_id"), ("status", "currency", "price_key")],
)

bids = _projection(
    "bids",
    column("bid_id", BigInteger, primary_key=True),
    column("offer_id", BigInteger),
    hash32("asset_id"),
    address20("bidder"),
    address20("currency"),
    amount("amount"),
    unix_time("expires_at"),
    column("status", String(16)),  # OPEN | CANCELLED | ACCEPTED
    *when("placed"),
    block("closed_block", nullable=True),
    indexes=[("offer_id", "bid_id"), ("bidder", "bid_id")],
)

trades = _projection(
    "trades",
    column("trade_id", BigInteger, primary_key=True),
    column("offer_id", BigInteger),
    column("bid_id", BigInteger, nullable=True),  # NULL: bought at the offer's price
    hash32("asset_id"),
    column("kind", String(8)),  # ASSET | LICENSE
    address20("seller"),
    address20("buyer"),
    address20("currency"),
    amount("price"),
    amount("fee"),
    address20("fee_recipient", nullable=True),
    amount("seller_proceeds"),
    column("license_id", BigInteger, nullable=True),
    hash32("tx_hash"),
    column("log_index", Integer),
    unix_time("settled_at"),
    indexes=[("asset_id", "trade_id"), ("seller", "trade_id"), ("buyer", "trade_id")],
)

withdrawals = _projection(
    "withdrawals",
    block("withdrawn_block", primary_key=True),
    column("log_index", Integer, primary_key=True),
    address20("account"),
    address20("currency"),
    amount("amount"),
    unix_time("withdrawn_at"),
    indexes=[("account", "withdrawn_block")],
)

market_stats = _projection(
    "market_stats",
    column("category", Integer, primary_key=True),
    column("grade", Integer, primary_key=True),
    address20("currency", primary_key=True),
    column("trades", BigInteger),
    amount("volume"),  # the sum of the trades' prices
    amount("last_price"),
    column("last_trade_id", BigInteger),
)

market_currencies = _projection(
    "market_currencies",
    address20("currency", primary_key=True),
    column("listed", Boolean),
)

#: Projection tables, in the order a rebuild clears them: the order they are declared in.
PROJECTIONS: Final = tuple(_projections)

#: Tables derived from the chain: what a fresh index must reproduce exactly.
DERIVED: Final = (events, event_blocks, transactions, *PROJECTIONS)
