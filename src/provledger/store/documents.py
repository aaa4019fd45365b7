"""What the index learns from the documents of the blob folder: metadata titles, batches and
names.

* A **metadata document** is a JSON object; its ``title`` (a string) is split into lowercase
  words (Unicode letters and digits), keyed by the document's SHA-256, the metadata hash an
  asset anchors. An asset matches a title search when its *current* metadata hash names a
  document whose title holds every searched word, so a metadata revision moves the asset to
  its new title's words.
* A **batch manifest** (:class:`BatchManifest`, ``"format": "provledger-batch/1"``) lists the
  content hashes of an anchored batch in leaf order; the index keeps which batch root each
  content hash is a leaf of, so that a file of a batch verifies even if its leaf was never
  promoted to an asset.
* An **access batch manifest** (:class:`AccessBatchManifest`, ``"format":
  "provledger-access-batch/1"``) says which assets an anchored batch of a data room's access
  records covers: the batch's root, its leaf count and, per asset, how many of its records are
  of that asset (no requester, no purpose). The batch's manifest URI names the document by its
  SHA-256 (:func:`access_log_uri`), so the chain vouches for it: the index keeps which assets
  the document lists, and a reader links them to the batch only where an anchored batch's root,
  leaf count and manifest URI are the document's.
* A **presentation** of committed metadata (:class:`~provledger.commitments.Presentation`,
  ``"format": "provledger-disclosure/1"``) whose disclosed fields and multiproof give its root:
  the fields it discloses are kept by that root (the metadata hash a committed registration
  anchors) and the content hash its header field binds the root to, each value as canonical
  JSON with the presentation's SHA-256, in place of the same fields of an earlier presentation
  of the root; the names it proves withheld are kept without values (nothing withheld is in a
  presentation); a disclosed text ``title`` is the root's title, searched like a metadata
  document's. The header itself is not kept as a field. A presentation proves its fields only
  against its root: that an asset anchors the root is the chain's to say, and a reader shows
  the fields of an asset's *current* metadata hash, and only if the asset's content hash is
  the one the header names (anyone may anchor a copy of a root; the copy is not the asset the
  root's holder committed to).
* A **name** is a document of one short line of UTF-8 text (:func:`name_of`): a participant's
  name, stored by ``provledger participants add`` under its SHA-256, the name hash the chain
  records. Any such document is kept by its hash; it is shown as a name only where a
  participant's recorded name hash names it, so the chain vouches for every name shown.

A document is trusted only if its bytes hash to the name it is stored under: a damaged or
planted file in the folder is skipped (and looked at again on the next run).

Documents come in with ``provledger blobs add``, which indexes them at once; ``provledger
index`` indexes any document of the folder it has not seen (after a rebuild, all of them), and
the manifest a batch's URI names (:func:`named_manifest`) as it indexes the batch.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.exc import IntegrityError

from provledger.commitments import PRESENTATION_FORMAT, Presentation, canonical_json
from provledger.errors import InputError
from provledger.merkle import StandardMerkleTree
from provledger.params import to_hex32
from provledger.store import schema
from provledger.store.blobs import BlobHashError, BlobStore, normalise_hash

MAX_WORD: Final = 64
MAX_TITLE_WORDS: Final = 64
MAX_TITLE: Final = 1_000
#: The longest name kept, in characters.
MAX_NAME: Final = 200
_WORD: Final = re.compile(r"\w+")
#: Characters a name may not hold: controls, line breaks, and the marks that reorder text (a
#: name must read as it is stored), besides unassigned and private code points.
_NOT_IN_NAMES: Final = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
_BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_CHUNK: Final = 500


def words_of(text: str) -> list[str]:
    """The distinct lowercase words of ``text`` in order (each cut to 64 characters)."""
    seen: dict[str, None] = {}
    for match in _WORD.finditer(text.lower()):
        seen.setdefault(match.group()[:MAX_WORD], None)
    return list(seen)


def _json_object(document: bytes, of_format: str | None = None) -> dict[str, Any] | None:
    """The JSON object ``document`` holds (whose ``format`` is ``of_format``, if one is given),
    or None."""
    try:
        parsed = orjson.loads(document)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict) or (
        of_format is not None and parsed.get("format") != of_format
    ):
        return None
    return parsed


def title_of(document: bytes) -> str | None:
    """The ``title`` of a metadata document, or None (not a JSON object, no string title)."""
    parsed = _json_object(document)
    return None if parsed is None else _title(parsed.get("title"))


def _title(value: object) -> str | None:
    """A title as the index keeps it: text with something besides spaces, trimmed and cut to
    :data:`MAX_TITLE` characters; None for anything else."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:MAX_TITLE]


def name_of(document: bytes) -> str | None:
    """The text of a document that can be a name, or None: UTF-8, one line of at most
    :data:`MAX_NAME` characters with something besides spaces, no control or reordering marks.
    The text is returned as stored (its SHA-256 is the name hash)."""
    if len(document) > MAX_NAME * 4:
        return None
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip() or len(text) > MAX_NAME:
        return None
    for char in text:
        if char in _BIDI_CONTROLS or unicodedata.category(char) in _NOT_IN_NAMES:
            return None
    return text


def presentation_of(document: bytes) -> Presentation | None:
    """The presentation of committed metadata ``document`` holds if its disclosed fields and
    multiproof give its root, or None."""
    if _json_object(document, PRESENTATION_FORMAT) is None:
        return None
    try:
        return Presentation.parse(document).check()
    except InputError:  # malformed, or a proof that does not give the root
        return None


BATCH_FORMAT: Final = "provledger-batch/1"


@dataclass(frozen=True)
class BatchManifest:
    """The content hashes of a batch, in leaf order; ``root`` is what ``anchor`` takes."""

    leaves: tuple[str, ...]

    @property
    def tree(self) -> StandardMerkleTree:
        """The batch's Merkle tree (one ``bytes32`` leaf per content hash)."""
        return StandardMerkleTree.batch(self.leaves)

    def to_json(self) -> bytes:
        """The manifest document."""
        return orjson.dumps({"format": BATCH_FORMAT, "leaves": list(self.leaves)})

    @classmethod
    def parse(cls, document: bytes) -> BatchManifest | None:
        """The manifest in ``document``, or None if it is not one."""
        parsed = _json_object(document, BATCH_FORMAT)
        if parsed is None:
            return None
        leaves = parsed.get("leaves")
        if not isinstance(leaves, list) or not leaves:
            return None
        try:
            return cls(tuple(normalise_hash(str(leaf)) for leaf in leaves))
        except BlobHashError:
            return None


ACCESS_BATCH_FORMAT: Final = "provledger-access-batch/1"
#: The manifest URI of an access-log batch: this, then its manifest's SHA-256 (64 hex digits).
ACCESS_LOG_URI: Final = "provledger:access-log:v1:sha256:"
#: The manifest URI of a registration batch (``provledger anchor``): this, then the SHA-256.
BATCH_URI: Final = "sha256:"


def access_log_uri(sha256: str) -> str:
    """The manifest URI of an access-log batch whose manifest has SHA-256 ``sha256``."""
    return ACCESS_LOG_URI + normalise_hash(sha256)[2:]


def named_manifest(manifest_uri: str) -> str | None:
    """The SHA-256 (``0x`` hex) of the manifest a batch's manifest URI names, registration
    (``sha256:<hex>``) or access log (:func:`access_log_uri`); None if it names none."""
    for prefix in (ACCESS_LOG_URI, BATCH_URI):
        if manifest_uri.startswith(prefix):
            try:
                return normalise_hash("0x" + manifest_uri.removeprefix(prefix))
            except BlobHashError:
                return None
    return None


@dataclass(frozen=True)
class AccessBatchManifest:
    """What an anchored batch of access records covers, without its records: the batch's root,
    its leaf count and, per asset, how many of its records are of the asset."""

    root: str
    """``0x`` and 64 lowercase hex digits."""
    leaf_count: int
    assets: tuple[tuple[str, int], ...]
    """``(asset id, records)``, by asset id (``0x`` and 64 lowercase hex digits); the records
    add up to :attr:`leaf_count`."""

    @classmethod
    def of(cls, root: str, asset_ids: Iterable[str]) -> AccessBatchManifest:
        """The manifest of the batch ``root`` whose records are of ``asset_ids`` (one per
        record)."""
        counts = Counter(asset_ids)
        return cls(normalise_hash(root), counts.total(), tuple(sorted(counts.items())))

    def to_json(self) -> bytes:
        """The manifest document: canonical JSON (keys sorted, no spaces), so that the same
        batch always gives the same document and SHA-256."""
        assets = [{"asset_id": asset, "records": records} for asset, records in self.assets]
        document = {
            "format": ACCESS_BATCH_FORMAT,
            "root": self.root,
            "leaf_count": self.leaf_count,
            "assets": assets,
        }
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)

    @classmethod
    def parse(cls, document: bytes) -> AccessBatchManifest | None:
        """The manifest in ``document``, or None if it is not a well-formed one (assets distinct
        and in order, each with at least one record, adding up to the leaf count)."""
        parsed = _json_object(document, ACCESS_BATCH_FORMAT)
        if parsed is None:
            return None
        try:
            manifest = cls(
                normalise_hash(str(parsed.get("root"))),
                _count(parsed.get("leaf_count")),
                tuple(_covered(item) for item in _list(parsed.get("assets"))),
            )
        except (BlobHashError, ValueError):
            return None
        ids = [asset for asset, _ in manifest.assets]
        in_order = ids == sorted(set(ids))
        adds_up = sum(records for _, records in manifest.assets) == manifest.leaf_count
        return manifest if ids and in_order and adds_up else None


def _count(value: Any) -> int:
    """A positive whole number of a parsed document, or ValueError."""
    if type(value) is not int or value < 1:
        raise ValueError(value)
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(value)
    return value


def _covered(item: Any) -> tuple[str, int]:
    """An ``{"asset_id", "records"}`` entry of an access batch manifest, or ValueError."""
    if not isinstance(item, dict) or item.keys() != {"asset_id", "records"}:
        raise ValueError(item)
    return normalise_hash(str(item["asset_id"])), _count(item["records"])


def index_documents(
    engine: Engine, blobs: BlobStore, hashes: Iterable[str] | None = None
) -> tuple[int, int]:
    """Index the blobs ``hashes`` (default: every blob) not indexed yet; return how many
    metadata titles (of metadata documents and of presentations) and batch manifests (of
    registration and of access-log batches) were added (names and disclosed fields are learned
    besides)."""
    pending = list(dict.fromkeys(blobs.hashes() if hashes is None else hashes))
    titles = batches = 0
    for start in range(0, len(pending), _CHUNK):
        chunk = pending[start : start + _CHUNK]
        try:
            added = _index_chunk(engine, blobs, chunk)
        except IntegrityError:  # another process indexed some of them meanwhile: skip those
            added = _index_chunk(engine, blobs, chunk)
        titles, batches = titles + added[0], batches + added[1]
    return titles, batches


def index_named_manifests(engine: Engine, blobs: BlobStore, manifest_uris: Iterable[str]) -> None:
    """Index the manifests that batches' ``manifest_uris`` name, from ``blobs``, as the indexer
    writes the batches: the reader links a batch to its manifest once both are in the index."""
    hashes = [sha256 for uri in manifest_uris if (sha256 := named_manifest(uri)) is not None]
    if hashes:
        index_documents(engine, blobs, hashes)


def _index_chunk(engine: Engine, blobs: BlobStore, chunk: list[str]) -> tuple[int, int]:
    documents = schema.documents
    with engine.begin() as conn:
        known = set(
            conn.execute(select(documents.c.sha256).where(documents.c.sha256.in_(chunk))).scalars()
        )
        seen, titles, words, manifests, leaves, names = [], [], [], [], [], []
        access: list[dict[str, Any]] = []
        covered: list[dict[str, Any]] = []
        presentations: list[tuple[str, Presentation]] = []
        for sha256 in chunk:
            if sha256 in known:
                continue
            document = blobs.get(sha256)
            if document is None or "0x" + hashlib.sha256(document).hexdigest() != sha256:
                continue  # absent, or not the document its name promises
            kind = "other"
            title = title_of(document)
            manifest = None if title is not None else BatchManifest.parse(document)
            if title is not None:
                kind = "metadata"
                titles.append({"metadata_hash": sha256, "title": title})
                words += [
                    {"word": word, "metadata_hash": sha256}
                    for word in words_of(title)[:MAX_TITLE_WORDS]
                ]
            elif manifest is not None:
                kind = "batch"
                root = "0x" + manifest.tree.root.hex()
                manifests.append({"root": root, "sha256": sha256})
                leaves += [
                    {"leaf": leaf, "root": root, "position": position}
                    for position, leaf in enumerate(dict.fromkeys(manifest.leaves))
                ]
            elif (logged := AccessBatchManifest.parse(document)) is not None:
                kind = "access-batch"
                uri = access_log_uri(sha256)
                access.append(
                    {
                        "sha256": sha256,
                        "root": logged.root,
                        "leaf_count": logged.leaf_count,
                        "manifest_uri": uri,
                    }
                )
                covered += [
                    {"asset_id": asset, "sha256": sha256, "records": records}
                    for asset, records in logged.assets
                ]
            elif (presentation := presentation_of(document)) is not None:
                kind = "disclosure"
                presentations.append((sha256, presentation))
            else:
                name = name_of(document)
                if name is not None:
                    names.append({"name_hash": sha256, "name": name})
            seen.append({"sha256": sha256, "kind": kind})
        for table, rows in (
            (documents, seen),
            (schema.metadata_titles, titles),
            (schema.title_words, words),
            (schema.batch_manifests, manifests),
            (schema.batch_leaves, leaves),
            (schema.access_manifests, access),
            (schema.access_batch_assets, covered),
            (schema.names, names),
        ):
            if rows:
                conn.execute(table.insert(), rows)
        disclosed = sum(_disclose(conn, sha256, shown) for sha256, shown in presentations)
        return len(titles) + disclosed, len(manifests) + len(access)


def _disclose(conn: Connection, sha256: str, presentation: Presentation) -> int:
    """Keep what ``presentation`` (the document ``sha256``) says of its root's own fields, bound
    to the content hash its header names: each disclosed value, in place of what an earlier
    presentation said of that field; each name it withholds that no earlier presentation named;
    its title, if the root has none yet. 1 if the root gained a title, else 0."""
    key = {
        "metadata_hash": to_hex32(presentation.root),
        "content_hash": to_hex32(presentation.content_hash),
    }
    fields = schema.committed_fields
    of_root = (fields.c.metadata_hash == key["metadata_hash"]) & (
        fields.c.content_hash == key["content_hash"]
    )
    disclosed = presentation.own_fields
    if disclosed:
        names = [field.name for field in disclosed]
        conn.execute(delete(fields).where(of_root, fields.c.name.in_(names)))
    known = set(conn.execute(select(fields.c.name).where(of_root)).scalars())
    said: list[tuple[str, str | None]] = [
        (field.name, canonical_json(field.value).decode("utf-8")) for field in disclosed
    ]
    said += [(name, None) for name in presentation.withheld if name not in known]
    if said:
        conn.execute(
            fields.insert(),
            [{**key, "name": name, "value": value, "presentation": sha256} for name, value in said],
        )
    title = _title(next((f.value for f in disclosed if f.name == "title"), None))
    titles = schema.metadata_titles
    root = key["metadata_hash"]
    titled = conn.execute(select(titles.c.metadata_hash).where(titles.c.metadata_hash == root))
    if title is None or titled.first() is not None:
        return 0
    conn.execute(titles.insert().values(**key, title=title))
    words = [{"word": word, "metadata_hash": root} for word in words_of(title)[:MAX_TITLE_WORDS]]
    if words:
        conn.execute(schema.title_words.insert(), words)
    return 1
