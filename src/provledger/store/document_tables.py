"""The index's tables of off-chain documents, on the index's metadata
(:mod:`provledger.store.schema` names them too), with the schema's conventions.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Table, Text

from provledger.store.columns import column, hash32
from provledger.store.naming import metadata

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
    hash32("sha256", primary_key=True),
    column("kind", String(16)),  # metadata | batch | access-batch | disclosure | other
)

metadata_titles = Table(
    "metadata_titles",
    metadata,
    hash32("metadata_hash", primary_key=True),
    column("title", Text),
    hash32("content_hash", nullable=True),  # a disclosed title's binding; NULL for a document's
)

title_words = Table(
    "title_words",
    metadata,
    column("word", String(64), primary_key=True),
    hash32("metadata_hash", primary_key=True),
)

names = Table(
    "names",
    metadata,
    hash32("name_hash", primary_key=True),  # the SHA-256 of the name's UTF-8 text
    column("name", Text),
)

batch_manifests = Table(
    "batch_manifests",
    metadata,
    hash32("root", primary_key=True),
    hash32("sha256", primary_key=True),
)

batch_leaves = Table(
    "batch_leaves",
    metadata,
    hash32("leaf", primary_key=True),  # a content hash
    hash32("root", primary_key=True),
    column("position", Integer),
)

# An access-log batch manifest (store.documents.AccessBatchManifest) and the URI naming it: a
# batch is linked to it only if its anchored manifest URI, root and leaf count are these.
access_manifests = Table(
    "access_manifests",
    metadata,
    hash32("sha256", primary_key=True),
    hash32("root"),
    column("leaf_count", BigInteger),
    column("manifest_uri", Text),
)

# The assets an access-log batch manifest covers, and how many of the batch's records are each's.
access_batch_assets = Table(
    "access_batch_assets",
    metadata,
    hash32("asset_id", primary_key=True),
    hash32("sha256", primary_key=True),  # the manifest's
    column("records", BigInteger),
)

# The fields of committed metadata that checked presentations name (store.documents), by the root
# that proves them (a committed registration's metadata hash) and the content hash its header
# binds it to (they count for an asset of that content hash only): a disclosed value as canonical
# JSON, NULL for a field withheld (its value is never kept), and the presentation that said so last.
committed_fields = Table(
    "committed_fields",
    metadata,
    hash32("metadata_hash", primary_key=True),
    hash32("content_hash", primary_key=True),
    column("name", String(64), primary_key=True),
    column("value", Text, nullable=True),
    hash32("presentation"),
)
