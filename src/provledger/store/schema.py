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

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

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


def _when(prefix: str, *, nullable: bool = False) -> tuple[Column[int], Column[int]]:
    """``<prefix>_block`` and ``<prefix>_at``: the block and unix time of the event that made
    a record (registered, granted, lodged…) or changed it (revoked)."""
    return _block(f"{prefix}_block", nullable=nullable), _block(f"{prefix}_at", nullable=nullable)


def _of_asset(id_column: str) -> tuple[Column[int], Column[str]]:
    """A record numbered by the contract (``id_column``, the primary key) about one asset."""
    return Column(id_column, BigInteger, primary_key=True), _hash("asset_id", nullable=False)


def _projection(name: str, *columns: Column[Any], indexes: Sequence[Sequence[str]] = ()) -> Table:
    """A projection table: ``columns``, then ``block_number``, the block of the row's latest
    change, and an index on each list of column names in ``indexes``."""
    return Table(
        name,
        metadata,
        *columns,
        _block(nullable=False),
        *(Index(None, *names) for names in indexes),
    )


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

participants = _projection(
    "participants",
    _address("account", primary_key=True),
    Column("jurisdiction", String(2), nullable=False),
    _hash("name_hash", nullable=False),
    Column("status", String(16), nullable=False),  # ACTIVE | SUSPENDED
    *_when("registered"),
    _hash("suspension_reason", nullable=True),
)

categories = _projection(
    "categories",
    Column("code", Integer, primary_key=True),
    Column("listed", Boolean, nullable=False),
)

roles = _projection(
    "roles",
    _hash("role", primary_key=True),
    _address("account", primary_key=True),
    Column("granted", Boolean, nullable=False),
    _address("changed_by", nullable=False),
)

contract_settings = _projection(
    "contract_settings",
    Column("key", String(64), primary_key=True),  # paused, base_uri, notice_period, modules
    Column("value", Text, nullable=False),
)

assets = _projection(
    "assets",
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
    *_when("registered"),
    _hash("registered_tx", nullable=False),
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
    indexes=[("holder", "from_block")],
)

lineage = _projection(
    "lineage",
    _hash("child_id", primary_key=True),
    _hash("parent_id", primary_key=True),
    Column("position", Integer, nullable=False),
    Column("relation", String(16), nullable=False),
    Column("license_id", BigInteger, nullable=True),
    indexes=[("parent_id", "child_id")],
)

licenses = _projection(
    "licenses",
    *_of_asset("license_id"),
    _address("licensor", nullable=False),
    _address("licensee", nullable=False),
    Column("kind", String(24), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    _hash("terms_hash", nullable=False),
    Column("scope", Text, nullable=False),
    *_when("granted"),
    *_when("revoked", nullable=True),
    _hash("revocation_reason", nullable=True),
    indexes=[("asset_id", "license_id"), ("licensee", "license_id")],
)

appraisals = _projection(
    "appraisals",
    *_of_asset("appraisal_id"),
    _address("appraiser", nullable=False),
    Column("amount", Text, nullable=False),  # decimal uint256, minor units
    Column("currency", String(3), nullable=False),
    Column("method", String(16), nullable=False),
    _hash("report_hash", nullable=False),
    Column("supersedes", BigInteger, nullable=True),
    Column("superseded_by", BigInteger, nullable=True),
    Column("appraised_at", BigInteger, nullable=False),
    indexes=[("asset_id", "appraisal_id")],
)

objections = _projection(
    "objections",
    *_of_asset("objection_id"),
    _address("objector", nullable=False),
    _hash("grounds_hash", nullable=False),
    Column("open", Boolean, nullable=False),
    Column("upheld", Boolean, nullable=True),
    _hash("resolution_hash", nullable=True),
    _address("resolved_by", nullable=True),
    *_when("lodged"),
    Column("resolved_block", BigInteger, nullable=True),
    indexes=[("asset_id", "objection_id")],
)

certificates = _projection(
    "certificates",
    *_of_asset("registration_number"),
    Column("registration_type", String(16), nullable=False),
    _hash("certificate_hash", nullable=False),
    _address("registrar", nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    indexes=[("asset_id", "registration_number")],
)

disputes = _projection(
    "disputes",
    *_of_asset("dispute_id"),
    _address("claimant", nullable=False),
    _hash("evidence_hash", nullable=False),
    Column("status", String(16), nullable=False),  # OPEN | FROZEN | RULED
    Column("ruling", String(24), nullable=True),
    _hash("ruling_hash", nullable=True),
    _address("arbiter", nullable=True),
    *_when("opened"),
    Column("frozen_block", BigInteger, nullable=True),
    Column("ruled_block", BigInteger, nullable=True),
    indexes=[("asset_id", "dispute_id")],
)

export_permits = _projection(
    "export_permits",
    _hash("asset_id", primary_key=True),
    _address("recipient", primary_key=True),
    Column("destination", String(2), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    _address("approver", nullable=False),
    Column("issued_block", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),  # ISSUED | USED | REVOKED
    Column("closed_block", BigInteger, nullable=True),
    indexes=[("recipient", "asset_id")],
)

batches = _projection(
    "batches",
    _hash("root", primary_key=True),
    _address("submitter", nullable=False),
    Column("leaf_count", BigInteger, nullable=False),
    Column("manifest_uri", Text, nullable=False),
    Column("anchored_at", BigInteger, nullable=False),
    _hash("anchored_tx", nullable=False),
    Column("promoted_count", BigInteger, nullable=False),
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


offers = _projection(
    "offers",
    *_of_asset("offer_id"),
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
    *_when("created"),
    Column("closed_block", BigInteger, nullable=True),
    indexes=[("asset_id", "offer_id"), ("seller", "offer_id"), ("status", "currency", "price_key")],
)

bids = _projection(
    "bids",
    Column("bid_id", BigInteger, primary_key=True),
    Column("offer_id", BigInteger, nullable=False),
    _hash("asset_id", nullable=False),
    _address("bidder", nullable=False),
    _address("currency", nullable=False),
    Column("amount", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # OPEN | CANCELLED | ACCEPTED
    *_when("placed"),
    Column("closed_block", BigInteger, nullable=True),
    indexes=[("offer_id", "bid_id"), ("bidder", "bid_id")],
)

trades = _projection(
    "trades",
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
    indexes=[("asset_id", "trade_id"), ("seller", "trade_id"), ("buyer", "trade_id")],
)

withdrawals = _projection(
    "withdrawals",
    Column("withdrawn_block", BigInteger, primary_key=True),
    Column("log_index", Integer, primary_key=True),
    _address("account", nullable=False),
    _address("currency", nullable=False),
    Column("amount", Text, nullable=False),
    Column("withdrawn_at", BigInteger, nullable=False),
    indexes=[("account", "withdrawn_block")],
)

market_stats = _projection(
    "market_stats",
    Column("category", Integer, primary_key=True),
    Column("grade", Integer, primary_key=True),
    _address("currency", primary_key=True),
    Column("trades", BigInteger, nullable=False),
    Column("volume", Text, nullable=False),  # the sum of the trades' prices, decimal
    Column("last_price", Text, nullable=False),
    Column("last_trade_id", BigInteger, nullable=False),
)

market_currencies = _projection(
    "market_currencies",
    _address("currency", primary_key=True),
    Column("listed", Boolean, nullable=False),
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
