"""Verification: is this content registered, by whom, since when, and may it be used?

The answer for a content hash comes from the index alone: the asset id is derived from the
hash (``provledger.chain.ids.asset_id``), so one lookup finds it. A file is hashed as it
streams in (SHA-256, the content hash of a file); a folder is checked through its manifest,
whose root is the folder's content hash.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import Field

from provledger.chain.ids import asset_id as asset_id_of
from provledger.chain.ids import asset_id_hex
from provledger.errors import InputError
from provledger.hashing import FolderManifest
from provledger.merkle import StandardMerkleTree
from provledger.params import InvalidParameterError, checksum, parse_hash_bytes, to_hex32
from provledger.services.provenance import Provenance
from provledger.services.views import Address, AssetView, Finality, Hash, LicenseView
from provledger.store import queries
from provledger.store.blobs import BlobStore
from provledger.store.documents import BatchManifest

_ANCHORED_ONLY: Final = (
    "anchored in a batch only: the batch proves the content existed when it was anchored; "
    "it is no asset, so no holder, license or dispute applies"
)


class UploadTooLargeError(InvalidParameterError):
    """An uploaded file over the configured cap."""

    def __init__(self, field: str, cap: int) -> None:
        self.cap = cap
        super().__init__(field, f"larger than the {cap:,}-byte upload cap")


@dataclass(frozen=True)
class BatchLeaf:
    """A content hash anchored as a leaf of a batch (its manifest is in the blob folder)."""

    root: Hash
    position: Annotated[int, Field(description="The leaf's index in the manifest.")]
    leaf_hash: Annotated[Hash, Field(description="The Merkle leaf: keccak(keccak(hash)).")]
    proof: Annotated[list[Hash], Field(description="Sibling hashes from the leaf to the root.")]
    manifest: Annotated[Hash, Field(description="SHA-256 of the batch manifest document.")]
    submitter: Address
    anchored_at: int
    anchored_tx: Hash
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class Verdict:
    """What a verifier learns about one content hash."""

    content_hash: Hash
    asset_id: Annotated[Hash, Field(description="The id the hash would have; set either way.")]
    registered: bool
    asset: AssetView | None
    batch: Annotated[
        BatchLeaf | None,
        Field(
            description="For a hash registered only as a leaf of an anchored batch: the batch "
            "and the leaf's Merkle proof (checkable on chain with isAnchoredLeaf)."
        ),
    ]
    open_disputes: int
    valid_licenses: list[LicenseView]
    metadata_matches: Annotated[
        bool | None,
        Field(description="Whether the given metadata document hashes to the anchored one."),
    ]
    warnings: Annotated[
        list[str], Field(description="Plain-words warnings: frozen, objected, cancelled, ...")
    ]
    checked_at: Annotated[int, Field(description="Chain time the licenses were checked at.")]


@dataclass(frozen=True)
class ManifestVerdict:
    """A folder checked through its manifest: the root's verdict and the files it holds."""

    root: Hash
    files: int
    total_size: int
    verdict: Verdict


@dataclass(frozen=True)
class Confirmations:
    """Where the block of a record stands below the chain's head, as the index last saw it."""

    block: int
    head: int
    #: Blocks below the head that make a record safe (the ``confirmations`` setting).
    needed: int

    @property
    def count(self) -> int:
        """Blocks on top of the record's block (0 in the head block itself)."""
        return max(0, self.head - self.block)

    @property
    def confirmed(self) -> bool:
        """Whether the record is at least ``needed`` blocks below the head (safe or final)."""
        return self.count >= self.needed

    def note(self) -> str:
        """The "unconfirmed" warning, telling how far it stands and where the chain is."""
        return (
            f"unconfirmed: {self.count} of {self.needed} confirmations (the latest change is "
            f"in block {self.block}; the chain is at block {self.head})"
        )


#: The warning of a record not yet confirmed when the head is not known.
UNCONFIRMED: Final = "unconfirmed: the latest change is not yet confirmed on chain"


def asset_warnings(
    asset: AssetView, open_disputes: int, confirmations: Confirmations | None = None
) -> list[str]:
    """The plain-words warnings about an asset: frozen, objected, cancelled, rejected, not
    certified, disputed, and unconfirmed while its latest change is pending; with
    ``confirmations`` (of the asset's latest change) that warning tells how far it stands,
    and goes once the count reaches the number needed."""
    notes = []
    if asset.frozen:
        notes.append("frozen: an arbiter froze this asset during a dispute")
    if asset.under_objection:
        notes.append("objected: an objection against the registration is open")
    if asset.status == "CANCELLED":
        notes.append("cancelled: the registration was cancelled")
    if asset.status == "REJECTED":
        notes.append("rejected: the registration was rejected on review")
    if asset.status in ("APPLIED", "NOTICED"):
        notes.append(f"not certified yet: the registration is {asset.status.lower()}")
    if open_disputes and not asset.frozen:
        notes.append(f"disputed: {open_disputes} open dispute(s)")
    if asset.finality is Finality.PENDING:
        if confirmations is None:
            notes.append(UNCONFIRMED)
        elif not confirmations.confirmed:  # else the index moved on since the asset was read
            notes.append(confirmations.note())
    return notes


class Verifier:
    """Verification answers over one index."""

    def __init__(self, provenance: Provenance, blobs: BlobStore | None = None) -> None:
        self.provenance = provenance
        self.blobs = blobs
        # A manifest never changes (it is named by its hash): its tree is built once, not on
        # every request for one of its leaves.
        self._batch_tree = functools.lru_cache(maxsize=8)(self._load_batch_tree)

    def confirmations(self, block: int) -> Confirmations | None:
        """How far ``block`` stands below the head the index last saw (None before the
        first indexed batch)."""
        with self.provenance.engine.connect() as conn:
            position = queries.index_position(conn)
        if position is None:
            return None
        return Confirmations(block, position.head_block, self.provenance.confirmations)

    def chain_time(self) -> int:
        """The time of the latest indexed block (0 before the first one)."""
        with self.provenance.engine.connect() as conn:
            return queries.indexed_time(conn, queries.index_position(conn))

    def verify_hash(self, content_hash: str, *, metadata: bytes | None = None) -> Verdict:
        """The verdict for a content hash; ``metadata`` is a document to check against the
        anchored metadata hash."""
        content = parse_hash_bytes(content_hash, "hash")
        key, asset_id = to_hex32(content), asset_id_of(content)
        standing = self.provenance.standing(asset_id)
        asset = standing.asset
        if asset is None:
            batch = self._batch_leaf(key)
            return Verdict(
                content_hash=key,
                asset_id=asset_id_hex(asset_id),
                registered=False,
                asset=None,
                batch=batch,
                open_disputes=0,
                valid_licenses=[],
                metadata_matches=None,
                warnings=[] if batch is None else [_ANCHORED_ONLY],
                checked_at=standing.checked_at,
            )
        pending = None  # where the latest change stands, read only while it is pending
        if asset.finality is Finality.PENDING:
            pending = self.confirmations(asset.block_number)
        matches = None
        if metadata is not None:
            matches = "0x" + hashlib.sha256(metadata).hexdigest() == asset.metadata_hash
        return Verdict(
            content_hash=key,
            asset_id=asset.asset_id,
            registered=True,
            asset=asset,
            batch=None,
            open_disputes=standing.open_disputes,
            valid_licenses=standing.valid_licenses,
            metadata_matches=matches,
            warnings=asset_warnings(asset, standing.open_disputes, pending),
            checked_at=standing.checked_at,
        )

    def _batch_leaf(self, content_hash: str) -> BatchLeaf | None:
        """The first anchored batch whose manifest lists ``content_hash``, with the proof."""
        if self.blobs is None:
            return None
        with self.provenance.engine.connect() as conn:
            rows = queries.batches_holding(conn, content_hash)
            finality = self.provenance.finality_now(conn)
        for row in rows:
            tree = self._batch_tree(str(row["manifest"]))
            if tree is None or to_hex32(tree.root) != row["root"]:
                continue
            position = int(row["position"])
            return BatchLeaf(
                root=str(row["root"]),
                position=position,
                leaf_hash=to_hex32(tree.leaf_hash_at(position)),
                proof=[to_hex32(node) for node in tree.proof(position)],
                manifest=str(row["manifest"]),
                submitter=checksum(str(row["submitter"])),
                anchored_at=int(row["anchored_at"]),
                anchored_tx=str(row["anchored_tx"]),
                block_number=int(row["block_number"]),
                finality=finality(int(row["block_number"])),
            )
        return None

    def _load_batch_tree(self, manifest: str) -> StandardMerkleTree | None:
        assert self.blobs is not None
        document = self.blobs.get(manifest)
        parsed = None if document is None else BatchManifest.parse(document)
        return None if parsed is None else parsed.tree

    def verify_manifest(self, text: bytes) -> ManifestVerdict:
        """The verdict for a folder manifest (re-verified: its files must hash to its root)."""
        try:
            manifest = FolderManifest.from_json(text)
        except (InputError, ValueError) as error:
            raise InvalidParameterError("manifest", str(error)) from None
        root = to_hex32(manifest.root)
        return ManifestVerdict(
            root, len(manifest.entries), manifest.total_size, self.verify_hash(root)
        )
