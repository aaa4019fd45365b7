"""The index schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Everything here is derived from the chain and can be rebuilt from the deployment block.

Conventions: asset ids, hashes and roots are ``0x`` + lowercase hex text (asset ids are 64 hex
digits, the uint256 written as bytes32); addresses are lowercase hex text (checksummed on
output); uint256 amounts are decimal text; block numbers and unix times are integers. Columns
are NOT NULL unless declared ``nullable=True``. Every projection row names the block of its
latest change (``block_number``) so readers can tell pending, safe and final records apart.

Bookkeeping tables: ``meta`` (schema version, chain id, deployment), ``checkpoint`` (the last
indexed block and its hash), ``blocks`` (hashes of the unfinalized window, for reorg
detection), ``undo`` (pre-images of projection rows changed in the unfinalized window, for
rollback). ``events`` is the append-only log of every decoded event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from provledger.store.columns import address, amount, block, column, hex_hash, unix_time, when

#: Bump on any change of the tables below; a store with another version is rebuilt.
SCHEMA_VERSION: Final = 10


def new_metadata() -> MetaData:
    """New table metadata with the index's naming convention (the access log and relay use it)."""
    return MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


metadata = new_metadata()


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
        hex_hash("asset_id"),
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
    hex_hash("block_hash"),
    block("head_block"),
    unix_time("updated_at"),
)

blocks = Table(
    "blocks",
    metadata,
    block(primary_key=True),
    hex_hash("block_hash"),
    hex_hash("parent_hash"),
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

events = Table(
    "events",
    metadata,
    block(primary_key=True),
    column("log_index", Integer, primary_key=True),
    hex_hash("block_hash"),
    unix_time("block_time"),
    hex_hash("tx_hash"),
    column("tx_index", Integer),
    address("contract"),
    column("event", String(64)),
    column("asset_id", String(66), nullable=True),  # the asset the event concerns, if any
    # JSON array of the decoded fields in declaration order (provledger.indexer.rows names them)
    column("args", Text),
    Index(None, "asset_id", "block_number", "log_index"),
)

# ------------------------------------------------------------------ projections

participants = _projection(
    "participants",
    address("account", primary_key=True),
    column("jurisdiction", String(2)),
    hex_hash("name_hash"),
    column("status", String(16)),  # ACTIVE | SUSPENDED
    *when("registered"),
    hex_hash("suspension_reason", nullable=True),
)

categories = _projection(
    "categories",
    column("code", Integer, primary_key=True),
    column("listed", Boolean),
)

roles = _projection(
    "roles",
    hex_hash("role", primary_key=True),
    address("account", primary_key=True),
    column("granted", Boolean),
    address("changed_by"),
)

contract_settings = _projection(
    "contract_settings",
    column("key", String(64), primary_key=True),  # paused, base_uri, notice_period, modules
    column("value", Text),
)

assets = _projection(
    "assets",
    hex_hash("asset_id", primary_key=True),
    hex_hash("content_hash"),
    address("registrant"),
    address("holder"),
    block("holder_since_block"),
    column("holder_since_log", Integer),
    column("category", Integer),
    column("grade", Integer),
    column("status", String(16)),  # APPLIED | NOTICED | CERTIFIED | …
    column("under_objection", Boolean),
    column("frozen", Boolean),
    column("metadata_uri", Text),
    hex_hash("metadata_hash"),
    column("metadata_version", Integer),
    column("channel", String(16)),  # DIRECT | SIGNED | BATCH
    address("submitter"),
    hex_hash("batch_root", nullable=True),
    unix_time("notice_ends_at", nullable=True),
    column("registration_number", BigInteger, nullable=True),
    *when("registered"),
    hex_hash("registered_tx"),
    # No index on content_hash: the asset id is derived from it (provledger.chain.ids).
    indexes=[
        ("holder", "asset_id"),
        ("registrant", "asset_id"),
        ("category", "grade", "asset_id"),
        ("status", "asset_id"),
        ("registered_block", "asset_id"),
        ("metadata_hash", "asset_id"),
        ("batch_root", "asset_id"),
    ],
)

holdings = _projection(
    "holdings",
    hex_hash("asset_id", primary_key=True),
    block("from_block", primary_key=True),
    column("from_log", Integer, primary_key=True),
    address("holder"),
    unix_time("from_time"),
    hex_hash("from_tx"),
    block("to_block", nullable=True),  # NULL while held
    column("to_log", Integer, nullable=True),
    unix_time("to_time", nullable=True),
    column("via", String(16)),  # REGISTRATION | TRANSFER | TRADE | RULING
    indexes=[("holder", "from_block")],
)

lineage = _projection(
    "lineage",
    hex_hash("child_id", primary_key=True),
    hex_hash("parent_id", primary_key=True),
    column("position", Integer),
    column("relation", String(16)),  # DERIVED_FROM | VERSION_OF | AGGREGATE_OF
    column("license_id", BigInteger, nullable=True),
    indexes=[("parent_id", "child_id")],  # a parent's children
)

licenses = _asset_record(
    "licenses",
    "license_id",
    address("licensor"),
    address("licensee"),
    column("kind", String(24)),  # PROCESSING_USE | PRODUCT_OPERATION
    unix_time("expires_at"),
    hex_hash("terms_hash"),
    column("scope", Text),
    *when("granted"),
    *when("revoked", nullable=True),
    hex_hash("revocation_reason", nullable=True),
    indexes=[("licensee", "license_id")],
)

appraisals = _asset_record(
    "appraisals",
    "appraisal_id",
    address("appraiser"),
    amount("amount"),
    column("currency", String(3)),
    column("method", String(16)),  # COST | INCOME | MARKET
    hex_hash("report_hash"),
    column("supersedes", BigInteger, nullable=True),
    column("superseded_by", BigInteger, nullable=True),
    unix_time("appraised_at"),
)

objections = _asset_record(
    "objections",
    "objection_id",
    address("objector"),
    hex_hash("grounds_hash"),
    column("open", Boolean),
    column("upheld", Boolean, nullable=True),
    hex_hash("resolution_hash", nullable=True),
    address("resolved_by", nullable=True),
    *when("lodged"),
    block("resolved_block", nullable=True),
)

certificates = _asset_record(
    "certificates",
    "registration_number",
    column("registration_type", String(16)),  # INITIAL | LICENSE | TRANSFER | …
    hex_hash("certificate_hash"),
    address("registrar"),
    unix_time("issued_at"),
)

disputes = _asset_record(
    "disputes",
    "dispute_id",
    address("claimant"),
    hex_hash("evidence_hash"),
    column("status", String(16)),  # OPEN | FROZEN | RULED
    column("ruling", String(24), nullable=True),  # DISMISS | TRANSFER_TO_CLAIMANT | CANCEL_ASSET
    hex_hash("ruling_hash", nullable=True),
    address("arbiter", nullable=True),
    *when("opened"),
    block("frozen_block", nullable=True),
    block("ruled_block", nullable=True),
)

export_permits = _projection(
    "export_permits",
    hex_hash("asset_id", primary_key=True),
    address("recipient", primary_key=True),
    column("destination", String(2)),
    unix_time("expires_at"),
    address("approver"),
    block("issued_block"),
    column("state", String(16)),  # ISSUED | USED | REVOKED
    block("closed_block", nullable=True),
    indexes=[("recipient", "asset_id")],
)

batches = _projection(
    "batches",
    hex_hash("root", primary_key=True),
    address("submitter"),
    column("leaf_count", BigInteger),
    column("manifest_uri", Text),
    unix_time("anchored_at"),
    hex_hash("anchored_tx"),
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
    address("seller"),
    column("kind", String(8)),  # ASSET | LICENSE
    address("currency"),  # the zero address for the native currency
    amount("price"),
    column("price_key", String(39)),
    amount("min_bid"),  # "0": no counter-bids
    unix_time("expires_at"),
    column("fee_bps", Integer),
    column("license_kind", String(24), nullable=True),
    column("license_duration", BigInteger, nullable=True),
    hex_hash("terms_hash", nullable=True),
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
    hex_hash("asset_id"),
    address("bidder"),
    address("currency"),
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
    hex_hash("asset_id"),
    column("kind", String(8)),  # ASSET | LICENSE
    address("seller"),
    address("buyer"),
    address("currency"),
    amount("price"),
    amount("fee"),
    address("fee_recipient", nullable=True),
    amount("seller_proceeds"),
    column("license_id", BigInteger, nullable=True),
    hex_hash("tx_hash"),
    column("log_index", Integer),
    unix_time("settled_at"),
    indexes=[("asset_id", "trade_id"), ("seller", "trade_id"), ("buyer", "trade_id")],
)

withdrawals = _projection(
    "withdrawals",
    block("withdrawn_block", primary_key=True),
    column("log_index", Integer, primary_key=True),
    address("account"),
    address("currency"),
    amount("amount"),
    unix_time("withdrawn_at"),
    indexes=[("account", "withdrawn_block")],
)

market_stats = _projection(
    "market_stats",
    column("category", Integer, primary_key=True),
    column("grade", Integer, primary_key=True),
    address("currency", primary_key=True),
    column("trades", BigInteger),
    amount("volume"),  # the sum of the trades' prices
    amount("last_price"),
    column("last_trade_id", BigInteger),
)

market_currencies = _projection(
    "market_currencies",
    address("currency", primary_key=True),
    column("listed", Boolean),
)

# ------------------------------------------------------------------ off-chain documents
# What the index learned from the blob folder (provledger.store.documents): every document seen,
# the titles of metadata documents (keyed by the SHA-256 an asset anchors as metadata hash), the
# leaves of batch manifests, the assets access-log batch manifests cover, short lines of text
# that can be names (keyed by their SHA-256, which a participant registration records as its name
# hash), and the fields presentations disclose. A function of the blobs, not of the chain: not in
# DERIVED, untouched by batches and rollbacks.

documents = Table(
    "documents",
    metadata,
    hex_hash("sha256", primary_key=True),
    column("kind", String(16)),  # metadata | batch | access-batch | disclosure | other
)

metadata_titles = Table(
    "metadata_titles",
    metadata,
    hex_hash("metadata_hash", primary_key=True),
    column("title", Text),
    hex_hash("content_hash", nullable=True),  # a disclosed title's binding; NULL for a document's
)

title_words = Table(
    "title_words",
    metadata,
    column("word", String(64), primary_key=True),
    hex_hash("metadata_hash", primary_key=True),
)

names = Table(
    "names",
    metadata,
    hex_hash("name_hash", primary_key=True),  # the SHA-256 of the name's UTF-8 text
    column("name", Text),
)

batch_manifests = Table(
    "batch_manifests",
    metadata,
    hex_hash("root", primary_key=True),
    hex_hash("sha256", primary_key=True),
)

batch_leaves = Table(
    "batch_leaves",
    metadata,
    hex_hash("leaf", primary_key=True),  # a content hash
    hex_hash("root", primary_key=True),
    column("position", Integer),
)

# An access-log batch manifest (store.documents.AccessBatchManifest) and the URI naming it: a
# batch is linked to it only if its anchored manifest URI, root and leaf count are these.
access_manifests = Table(
    "access_manifests",
    metadata,
    hex_hash("sha256", primary_key=True),
    hex_hash("root"),
    column("leaf_count", BigInteger),
    column("manifest_uri", Text),
)

# The assets an access-log batch manifest covers, and how many of the batch's records are each's.
access_batch_assets = Table(
    "access_batch_assets",
    metadata,
    hex_hash("asset_id", primary_key=True),
    hex_hash("sha256", primary_key=True),  # the manifest's
    column("records", BigInteger),
)

# The fields of committed metadata that checked presentations name (store.documents), by the root
# that proves them (a committed registration's metadata hash) and the content hash its header
# binds it to (they count for an asset of that content hash only): a disclosed value as canonical
# JSON, NULL for a field withheld (its value is never kept), and the presentation that said so last.
committed_fields = Table(
    "committed_fields",
    metadata,
    hex_hash("metadata_hash", primary_key=True),
    hex_hash("content_hash", primary_key=True),
    column("name", String(64), primary_key=True),
    column("value", Text, nullable=True),
    hex_hash("presentation"),
)

#: Projection tables, in the order a rebuild clears them: the order they are declared in.
PROJECTIONS: Final = tuple(_projections)

#: Tables derived from the chain: what a fresh index must reproduce exactly.
DERIVED: Final = (events, *PROJECTIONS)
