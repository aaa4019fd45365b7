"""The index schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Everything here is derived from the chain and can be rebuilt from the deployment block.

Conventions: asset ids, hashes and roots are ``0x`` + lowercase hex text (asset ids are 64 hex
digits, the uint256 written as bytes32); addresses are lowercase hex text (checksummed on
output); uint256 amounts are decimal text; block numbers and unix times are integers. Every
projection row names the block of its latest change (``block_number``) so readers can tell
pending, safe and final records apart.

Bookkeeping tables: ``meta`` (schema version, chain id, deployment), ``checkpoint`` (the last
indexed block and its hash), ``blocks`` (hashes of the unfinalized window, for reorg
detection), ``undo`` (pre-images of projection rows changed in the unfinalized window, for
rollback). ``events`` is the append-only log of every decoded event.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

#: Bump on any change of the tables below; a store with another version is rebuilt.
SCHEMA_VERSION: Final = 8

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _hash(name: str, **kwargs: bool) -> Column[str]:
    return Column(name, String(66), **kwargs)  # type: ignore[arg-type]


def _address(name: str, **kwargs: bool) -> Column[str]:
    return Column(name, String(42), **kwargs)  # type: ignore[arg-type]


def _block(name: str = "block_number", **kwargs: bool) -> Column[int]:
    return Column(name, BigInteger, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ bookkeeping

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

checkpoint = Table(
    "checkpoint",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    _block(nullable=False),
    _hash("block_hash", nullable=False),
    Column("head_block", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

blocks = Table(
    "blocks",
    metadata,
    _block(primary_key=True),
    _hash("block_hash", nullable=False),
    _hash("parent_hash", nullable=False),
    Column("timestamp", BigInteger, nullable=False),
)

undo = Table(
    "undo",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    _block(nullable=False),
    Column("table_name", String(64), nullable=False),
    Column("row_key", Text, nullable=False),
    Column("image", Text, nullable=True),  # JSON of the row before the change; NULL: absent
    Index(None, "block_number"),
)

events = Table(
    "events",
    metadata,
    _block(primary_key=True),
    Column("log_index", Integer, primary_key=True),
    _hash("block_hash", nullable=False),
    Column("block_time", BigInteger, nullable=False),
    _hash("tx_hash", nullable=False),
    Column("tx_index", Integer, nullable=False),
    _address("contract", nullable=False),
    Column("event", String(64), nullable=False),
    Column("asset_id", String(66), nullable=True),  # the asset the event concerns, if any
    # JSON array of the decoded fields in declaration order (provledger.indexer.rows names them)
    Column("args", Text, nullable=False),
    Index(None, "asset_id", "block_number", "log_index"),
)

# ------------------------------------------------------------------ projections

participants = Table(
    "participants",
    metadata,
    _address("account", primary_key=True),
    Column("jurisdiction", String(2), nullable=False),
    _hash("name_hash", nullable=False),
    Column("status", String(16), nullable=False),  # ACTIVE | SUSPENDED
    Column("registered_block", BigInteger, nullable=False),
    Column("registered_at", BigInteger, nullable=False),
    _hash("suspension_reason", nullable=True),
    _block(nullable=False),
)

categories = Table(
    "categories",
    metadata,
    Column("code", Integer, primary_key=True),
    Column("listed", Boolean, nullable=False),
    _block(nullable=False),
)

roles = Table(
    "roles",
    metadata,
    _hash("role", primary_key=True),
    _address("account", primary_key=True),
    Column("granted", Boolean, nullable=False),
    _address("changed_by", nullable=False),
    _block(nullable=False),
)

contract_settings = Table(
    "contract_settings",
    metadata,
    Column("key", String(64), primary_key=True),  # paused, base_uri, notice_period, modules
    Column("value", Text, nullable=False),
    _block(nullable=False),
)

assets = Table(
    "assets",
    metadata,
    _hash("asset_id", primary_key=True),
    _hash("content_hash", nullable=False),
    _address("registrant", nullable=False),
    _address("holder", nullable=False),
    Column("holder_since_block", BigInteger, nullable=False),
    Column("holder_since_log", Integer, nullable=False),
    Column("category", Integer, nullable=False),
    Column("grade", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # APPLIED | NOTICED | CERTIFIED | …
    Column("under_objection", Boolean, nullable=False),
    Column("frozen", Boolean, nullable=False),
    Column("metadata_uri", Text, nullable=False),
    _hash("metadata_hash", nullable=False),
    Column("metadata_version", Integer, nullable=False),
    Column("channel", String(16), nullable=False),  # DIRECT | SIGNED | BATCH
    _address("submitter", nullable=False),
    _hash("batch_root", nullable=True),
    Column("notice_ends_at", BigInteger, nullable=True),
    Column("registration_number", BigInteger, nullable=True),
    Column("registered_block", BigInteger, nullable=False),
    Column("registered_at", BigInteger, nullable=False),
    _hash("registered_tx", nullable=False),
    _block(nullable=False),
    # No index on content_hash: the asset id is derived from it (provledger.chain.ids).
    Index(None, "holder", "asset_id"),
    Index(None, "registrant", "asset_id"),
    Index(None, "category", "grade", "asset_id"),
    Index(None, "status", "asset_id"),
    Index(None, "registered_block", "asset_id"),
    Index(None, "metadata_hash", "asset_id"),
    Index(None, "batch_root", "asset_id"),
)

holdings = Table(
    "holdings",
    metadata,
    _hash("asset_id", primary_key=True),
    Column("from_block", BigInteger, primary_key=True),
    Column("from_log", Integer, primary_key=True),
    _address("holder", nullable=False),
    Column("from_time", BigInteger, nullable=False),
    _hash("from_tx", nullable=False),
    Column("to_block", BigInteger, nullable=True),  # NULL while held
    Column("to_log", Integer, nullable=True),
    Column("to_time", BigInteger, nullable=True),
    Column("via", String(16), nullable=False),  # REGISTRATION | TRANSFER | TRADE | RULING
    _block(nullable=False),
    Index(None, "holder", "from_block"),
)

lineage = Table(
    "lineage",
    metadata,
    _hash("child_id", primary_key=True),
    _hash("parent_id", primary_key=True),
    Column("position", Integer, nullable=False),
    Column("relation", String(16), nullable=False),
    Column("license_id", BigInteger, nullable=True),
    _block(nullable=False),
    Index(None, "parent_id", "child_id"),
)

licenses = Table(
    "licenses",
    metadata,
    Column("license_id", BigInteger, primary_key=True),
    _hash("asset_id", nullable=False),
    _address("licensor", nullable=False),
    _address("licensee", nullable=False),
    Column("kind", String(24), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    _hash("terms_hash", nullable=False),
    Column("scope", Text, nullable=False),
    Column("granted_block", BigInteger, nullable=False),
    Column("granted_at", BigInteger, nullable=False),
    Column("revoked_block", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    _hash("revocation_reason", nullable=True),
    _block(nullable=False),
    Index(None, "asset_id", "license_id"),
    Index(None, "licensee", "license_id"),
)

appraisals = Table(
    "appraisals",
    metadata,
    Column("appraisal_id", BigInteger, primary_key=True),
    _hash("asset_id", nullable=False),
    _address("appraiser", nullable=False),
    Column("amount", Text, nullable=False),  # decimal uint256, minor units
    Column("currency", String(3), nullable=False),
    Column("method", String(16), nullable=False),
    _hash("report_hash", nullable=False),
    Column("supersedes", BigInteger, nullable=True),
    Column("superseded_by", BigInteger, nullable=True),
    Column("appraised_at", BigInteger, nullable=False),
    _block(nullable=False),
    Index(None, "asset_id", "appraisal_id"),
)

objections = Table(
    "objections",
    metadata,
    Column("objection_id", BigInteger, primary_key=True),
    _hash("asset_id", nullable=False),
    _address("objector", nullable=False),
    _hash("grounds_hash", nullable=False),
    Column("open", Boolean, nullable=False),
    Column("upheld", Boolean, nullable=True),
    _hash("resolution_hash", nullable=True),
    _address("resolved_by", nullable=True),
    Column("lodged_block", BigInteger, nullable=False),
    Column("lodged_at", BigInteger, nullable=False),
    Column("resolved_block", BigInteger, nullable=True),
    _block(nullable=False),
    Index(None, "asset_id", "objection_id"),
)

certificates = Table(
    "certificates",
    metadata,
    Column("registration_number", BigInteger, primary_key=True),
    _hash("asset_id", nullable=False),
    Column("registration_type", String(16), nullable=False),
    _hash("certificate_hash", nullable=False),
    _address("registrar", nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    _block(nullable=False),
    Index(None, "asset_id", "registration_number"),
)

disputes = Table(
    "disputes",
    metadata,
    Column("dispute_id", BigInteger, primary_key=True),
    _hash("asset_id", nullable=False),
    _address("claimant", nullable=False),
    _hash("evidence_hash", nullable=False),
    Column("status", String(16), nullable=False),  # OPEN | FROZEN | RULED
    Column("ruling", String(24), nullable=True),
    _hash("ruling_hash", nullable=True),
    _address("arbiter", nullable=True),
    Column("opened_block", BigInteger, nullable=False),
    Column("opened_at", BigInteger, nullable=False),
    Column("frozen_block", BigInteger, nullable=True),
    Column("ruled_block", BigInteger, nullable=True),
    _block(nullable=False),
    Index(None, "asset_id", "dispute_id"),
)

export_permits = Table(
    "export_permits",
    metadata,
    _hash("asset_id", primary_key=True),
    _address("recipient", primary_key=True),
    Column("destination", String(2), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    _address("approver", nullable=False),
    Column("issued_block", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),  # ISSUED | USED | REVOKED
    Column("closed_block", BigInteger, nullable=True),
    _block(nullable=False),
    Index(None, "recipient", "asset_id"),
)

batches = Table(
    "batches",
    metadata,
    _hash("root", primary_key=True),
    _address("submitter", nullable=False),
    Column("leaf_count", BigInteger, nullable=False),
    Column("manifest_uri", Text, nullable=False),
    Column("anchored_at", BigInteger, nullable=False),
    _hash("anchored_tx", nullable=False),
    Column("promoted_count", BigInteger, nullable=False),
    _block(nullable=False),
    Index(None, "submitter", "block_number"),
)

# ------------------------------------------------------------------ market
# Amounts are decimal text (uint128 fits no SQL integer type); an offer's price is also kept as
# ``price_key``, zero-padded to 39 digits, so that a price range is a range of text.

#: Digits of the largest uint128: the width of an offer's sortable ``price_key``.
PRICE_DIGITS: Final = 39


def price_key(price: int) -> str:
    """An amount as zero-padded decimal text, so that text order is numeric order."""
    return f"{price:0{PRICE_DIGITS}d}"


offers = Table(
    "offers",
    metadata,
    Column("offer_id", BigInteger, primary_key=True),
    _hash("asset_id", nullable=False),
    _address("seller", nullable=False),
    Column("kind", String(8), nullable=False),  # ASSET | LICENSE
    _address("currency", nullable=False),  # the zero address for the native currency
    Column("price", Text, nullable=False),
    Column("price_key", String(39), nullable=False),
    Column("min_bid", Text, nullable=False),  # "0": no counter-bids
    Column("expires_at", BigInteger, nullable=False),
    Column("fee_bps", Integer, nullable=False),
    Column("license_kind", String(24), nullable=True),
    Column("license_duration", BigInteger, nullable=True),
    _hash("terms_hash", nullable=True),
    Column("scope", Text, nullable=True),
    Column("status", String(16), nullable=False),  # OPEN | CANCELLED | FILLED
    Column("created_block", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("closed_block", BigInteger, nullable=True),
    _block(nullable=False),
    Index(None, "asset_id", "offer_id"),
    Index(None, "seller", "offer_id"),
    Index(None, "status", "currency", "price_key"),
)

bids = Table(
    "bids",
    metadata,
    Column("bid_id", BigInteger, primary_key=True),
    Column("offer_id", BigInteger, nullable=False),
    _hash("asset_id", nullable=False),
    _address("bidder", nullable=False),
    _address("currency", nullable=False),
    Column("amount", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # OPEN | CANCELLED | ACCEPTED
    Column("placed_block", BigInteger, nullable=False),
    Column("placed_at", BigInteger, nullable=False),
    Column("closed_block", BigInteger, nullable=True),
    _block(nullable=False),
    Index(None, "offer_id", "bid_id"),
    Index(None, "bidder", "bid_id"),
)

trades = Table(
    "trades",
    metadata,
    Column("trade_id", BigInteger, primary_key=True),
    Column("offer_id", BigInteger, nullable=False),
    Column("bid_id", BigInteger, nullable=True),  # NULL: bought at the offer's price
    _hash("asset_id", nullable=False),
    Column("kind", String(8), nullable=False),  # ASSET | LICENSE
    _address("seller", nullable=False),
    _address("buyer", nullable=False),
    _address("currency", nullable=False),
    Column("price", Text, nullable=False),
    Column("fee", Text, nullable=False),
    _address("fee_recipient", nullable=True),
    Column("seller_proceeds", Text, nullable=False),
    Column("license_id", BigInteger, nullable=True),
    _hash("tx_hash", nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("settled_at", BigInteger, nullable=False),
    _block(nullable=False),
    Index(None, "asset_id", "trade_id"),
    Index(None, "seller", "trade_id"),
    Index(None, "buyer", "trade_id"),
)

withdrawals = Table(
    "withdrawals",
    metadata,
    Column("withdrawn_block", BigInteger, primary_key=True),
    Column("log_index", Integer, primary_key=True),
    _address("account", nullable=False),
    _address("currency", nullable=False),
    Column("amount", Text, nullable=False),
    Column("withdrawn_at", BigInteger, nullable=False),
    _block(nullable=False),
    Index(None, "account", "withdrawn_block"),
)

market_stats = Table(
    "market_stats",
    metadata,
    Column("category", Integer, primary_key=True),
    Column("grade", Integer, primary_key=True),
    _address("currency", primary_key=True),
    Column("trades", BigInteger, nullable=False),
    Column("volume", Text, nullable=False),  # the sum of the trades' prices, decimal
    Column("last_price", Text, nullable=False),
    Column("last_trade_id", BigInteger, nullable=False),
    _block(nullable=False),
)

market_currencies = Table(
    "market_currencies",
    metadata,
    _address("currency", primary_key=True),
    Column("listed", Boolean, nullable=False),
    _block(nullable=False),
)

# ------------------------------------------------------------------ off-chain documents
# What the index learned from the blob folder (provledger.store.documents): every document seen,
# the titles of metadata documents (keyed by the SHA-256 an asset anchors as metadata hash), the
# leaves of batch manifests, and short lines of text that can be names (keyed by their SHA-256,
# which a participant registration records as its name hash). A function of the blobs, not of
# the chain: not in DERIVED, untouched by batches and rollbacks.

documents = Table(
    "documents",
    metadata,
    _hash("sha256", primary_key=True),
    Column("kind", String(16), nullable=False),  # metadata | batch | other
)

metadata_titles = Table(
    "metadata_titles",
    metadata,
    _hash("metadata_hash", primary_key=True),
    Column("title", Text, nullable=False),
)

title_words = Table(
    "title_words",
    metadata,
    Column("word", String(64), primary_key=True),
    _hash("metadata_hash", primary_key=True),
)

names = Table(
    "names",
    metadata,
    _hash("name_hash", primary_key=True),  # the SHA-256 of the name's UTF-8 text
    Column("name", Text, nullable=False),
)

batch_manifests = Table(
    "batch_manifests",
    metadata,
    _hash("root", primary_key=True),
    _hash("sha256", primary_key=True),
)

batch_leaves = Table(
    "batch_leaves",
    metadata,
    _hash("leaf", primary_key=True),  # a content hash
    _hash("root", primary_key=True),
    Column("position", Integer, nullable=False),
)

#: Projection tables, in the order a rebuild clears them.
PROJECTIONS: Final = (
    participants,
    categories,
    roles,
    contract_settings,
    assets,
    holdings,
    lineage,
    licenses,
    appraisals,
    objections,
    certificates,
    disputes,
    export_permits,
    batches,
    offers,
    bids,
    trades,
    withdrawals,
    market_stats,
    market_currencies,
)

#: Tables derived from the chain: what a fresh index must reproduce exactly.
DERIVED: Final = (events, *PROJECTIONS)
