"""The data room: what the gateway's /data routes and ``provledger data`` ask.

An upload is signed by the asset's holder; its bytes are encrypted as they stream in, under the
object names they will keep, and become the asset's data only once they hash to the asset's
content hash (a folder arrives as a tar stream, each file its own object). A download is signed
by the requester; the contracts decide at the head (:mod:`~provledger.services.delivery.rules`),
every request is logged, granted or refused, and the plaintext streams segment by segment,
each verified before a byte of it leaves.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tarfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from provledger.chain.client import Provledger
from provledger.chain.enums import AssetStatus
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.errors import ProvledgerError
from provledger.hashing import FolderManifest, ManifestEntry
from provledger.params import to_hex32
from provledger.services.delivery import accesslog
from provledger.services.delivery.envelope import (
    SEGMENT_SIZE,
    IntegrityError,
    MasterKeyRing,
    WrappedKey,
    ciphertext_size,
    decrypt_range,
    encrypt_chunks,
    new_data_key,
    rewrap,
    unwrap_data_key,
    wrap_data_key,
)
from provledger.services.delivery.errors import (
    BadUploadError,
    ContentMismatchError,
    DeliveryRefusedError,
    FolderNotFileError,
    NoStoredDataError,
    NoStoredFileError,
    SignedForOtherDataError,
)
from provledger.services.delivery.keys import claim_data_key
from provledger.services.delivery.requests import (
    Domain,
    SignatureRejectedError,
    SignedRequest,
    parse_signed,
    verify_signed,
)
from provledger.services.delivery.rules import (
    Decide,
    Decision,
    Refusal,
    decide_access,
    decide_upload,
)
from provledger.services.delivery.streams import (
    ByteRange,
    ChunkReader,
    capped,
    member_path,
    now_ms,
    read_blocks,
)
from provledger.store.access_log import AccessLogStore, AccessRecord
from provledger.store.blobs import BlobStore
from provledger.store.dataroom import DataKeyRow, DataRoomStore, StoredFile, StoredObject
from provledger.store.objects import ObjectStorage

log = logging.getLogger(__name__)

#: What a download hands the server at once: verified segments gathered to 1 MiB, so that the
#: server's per-chunk cost (a thread hop and a send each) is paid per MiB, not per segment.
SEND_BYTES: Final = 1 << 20


@dataclass(frozen=True)
class Grant:
    """An allowed download: what it reads and the access record it is logged under."""

    decision: Decision
    record: AccessRecord
    stored: StoredObject
    file: StoredFile | None
    data_key: bytes

    @property
    def object_name(self) -> str:
        """The stored object the bytes are read from."""
        name = self.file.object_name if self.file is not None else self.stored.object_name
        assert name is not None
        return name

    @property
    def size(self) -> int:
        """The plaintext size of what is read."""
        return self.file.size if self.file is not None else self.stored.size


class DataRoom:
    """The data room of one deployment: its chain, its records, its storage and its keys."""

    def __init__(
        self,
        ledger: Provledger,
        store: DataRoomStore,
        log: AccessLogStore,
        storage: ObjectStorage,
        keys: MasterKeyRing | Callable[[], MasterKeyRing],
        *,
        max_bytes: int,
        blobs: BlobStore | None = None,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.log = log
        self.storage = storage
        #: The master keys, or what reads them anew each time (a key file that a rotation
        #: rewrites is followed without a restart).
        self._keys = keys
        self.max_bytes = max_bytes
        #: Where the access log's batch manifests go, for the indexer to link batches to assets.
        self.blobs = blobs
        self.domain = Domain.of(ledger)

    def keys(self) -> MasterKeyRing:
        """The master keys now."""
        return self._keys() if callable(self._keys) else self._keys

    def close(self) -> None:
        """Close the room's records."""
        self.store.close()
        self.log.close()

    def upkeep(self) -> tuple[int, accesslog.AnchoredBatch | None]:
        """What the room does on its schedule: shred the data of assets cancelled since, and
        anchor the access records not anchored yet (when it has an account to anchor with)."""
        shredded = self.sweep_cancelled()
        self.store.prune_nonces(self._head_time())  # a nonce past its deadline cannot replay
        anchored = self.anchor() if self.ledger.account is not None else None
        return shredded, anchored

    # ----------------------------------------------------------------- requests

    def _head_time(self) -> int:
        return int(self.ledger.w3.eth.get_block("latest")["timestamp"])

    def verified(self, header: str | None, kind: str, asset: int) -> SignedRequest:
        """The signed request of ``header``: well formed, signed by the address it names, for
        this deployment, in time, for ``asset``, and never seen before."""
        signed = parse_signed(header or "", kind)
        verify_signed(signed, self.domain, self._head_time())
        if signed.asset_id != asset:
            raise SignedForOtherDataError(
                f"it is for asset {asset_id_hex(signed.asset_id)}, not {asset_id_hex(asset)}"
            )
        if not self.store.claim_nonce(signed.signer, signed.nonce, signed.deadline):
            raise SignatureRejectedError("replayed", f"nonce {signed.nonce} was used before")
        return signed

    # ----------------------------------------------------------------- uploads

    def authorise_upload(self, header: str | None, asset: int) -> SignedRequest:
        """Check an upload's signature and that its signer holds the asset at the head; the
        checked request is what :meth:`store_upload` takes."""
        signed = self.verified(header, "DataUpload", asset)
        assert signed.content_hash is not None
        if asset_id(signed.content_hash) != asset:
            raise SignedForOtherDataError(
                f"content hash {to_hex32(signed.content_hash)} is not asset {asset_id_hex(asset)}'s"
            )
        decision = decide_upload(self.ledger, asset, signed.signer)
        if not decision.allowed:
            raise refused(asset, decision)
        return signed

    def store_upload(
        self, signed: SignedRequest, chunks: Iterable[bytes], *, folder: bool
    ) -> StoredObject:
        """Encrypt and store an upload (a file's bytes, or a folder's tar stream); keep it as
        the asset's data only when it hashes to the asset's content hash."""
        data_key = claim_data_key(self.store, self.keys(), signed.asset_id)
        upload = _Upload(signed, self.storage, data_key)
        body = capped(chunks, self.max_bytes)
        try:
            if folder:
                stored, files = _store_folder(upload, body)
            else:
                digest, size, name = upload.put("data", body)
                stored, files = upload.stored(digest, size, name), []
            wrapped = wrap_data_key(self.keys(), upload.data_key, signed.asset_id)
        except BaseException:
            self._delete(upload.written)
            raise
        earlier = self._object_names(signed.asset_id)
        if not self.store.save_object(stored, files, key=(wrapped.key_id, wrapped.blob)):
            self._delete(upload.written)  # cancelled while it uploaded: its key is gone for good
            gone = "the asset was cancelled while its data arrived: its data is destroyed"
            raise DeliveryRefusedError(signed.asset_id, Refusal.ASSET_CANCELLED, gone, "")
        self._delete(earlier)
        return stored

    def _object_names(self, asset: int) -> list[str]:
        stored = self.store.object_of(asset)
        if stored is None:
            return []
        if stored.object_name is not None:
            return [stored.object_name]
        return [item.object_name for item in self.store.all_files_of(asset)]

    def _delete(self, names: Iterable[str]) -> None:
        for name in names:
            self.storage.delete(name)

    # ----------------------------------------------------------------- downloads

    def authorise_access(
        self,
        header: str | None,
        asset: int,
        *,
        path: str = "",
        ranges: str = "",
        listing: bool = False,
    ) -> Grant:
        """Check a download's signature and the chain's rules at the head; log the request
        whatever the decision. A refusal raises :class:`DeliveryRefusedError`."""
        decision, record = self.checked_access(header, asset, decide_access, path, ranges)
        try:  # granted, yet nothing to send: the record ends with no byte sent
            stored = self.store.object_of(asset)
            key = self.store.key_of(asset)
            if stored is None or key is None or key.destroyed_at is not None:
                raise NoStoredDataError(asset_id_hex(asset))
            file = self._file(stored, path, listing)
        except ProvledgerError:
            self.log.finish(record.record_id, 0)
            raise
        data_key = unwrap_data_key(self.keys(), WrappedKey(key.key_id, key.wrapped), asset)
        return Grant(decision, record, stored, file, data_key)

    def checked_access(
        self, header: str | None, asset: int, decide: Decide, path: str, ranges: str = ""
    ) -> tuple[Decision, AccessRecord]:
        """Check a signed ``DataAccess`` and the chain's rules at the head as ``decide`` reads
        them; log the request (``path``, ``ranges``) whatever the decision. A refusal raises
        :class:`DeliveryRefusedError` (and shreds a cancelled asset's data)."""
        signed = self.verified(header, "DataAccess", asset)
        decision = decide(self.ledger, asset, signed.signer)
        record = self.log.record(
            requester=signed.signer,
            asset_id=asset,
            licence_id=decision.licence_id,
            purpose=signed.purpose or "",
            ranges=ranges,
            path=path,
            decision="granted" if decision.allowed else "refused",
            rule=decision.basis if decision.allowed else str(decision.refusal),
            reason=decision.reason,
            block_number=0 if decision.facts is None else decision.facts.block_number,
        )
        if not decision.allowed:
            if decision.refusal is Refusal.ASSET_CANCELLED:
                self.shred(asset)
            raise refused(asset, decision, record.record_id)
        return decision, record

    def _file(self, stored: StoredObject, path: str, listing: bool) -> StoredFile | None:
        shown = asset_id_hex(stored.asset_id)
        if listing and stored.kind == "folder":
            return None
        if stored.kind == "file":
            if path or listing:
                raise FolderNotFileError(shown, "is one file, not a folder")
            return None
        if not path:
            raise FolderNotFileError(
                shown, f"is a folder of {stored.file_count} files: ask for one of its files"
            )
        file = self.store.file_of(stored.asset_id, member_path(path))
        if file is None:
            raise NoStoredFileError(shown, path)
        return file

    def stream(self, grant: Grant, part: ByteRange | None) -> Iterator[bytes]:
        """The plaintext of ``part`` (or all) of a grant, verified segment by segment; the
        access record is finished with the bytes sent, however the stream ends."""
        chosen = part or ByteRange(0, grant.size)
        name = grant.object_name
        stored_size = ciphertext_size(grant.size)  # what was stored: no request to ask
        sent = 0
        held = bytearray()
        try:
            for chunk in decrypt_range(
                grant.data_key,
                name,
                lambda offset, length: self.storage.read(name, offset, length),
                stored_size,
                chosen.start,
                chosen.end,
            ):
                held += chunk
                if len(held) >= SEND_BYTES:
                    sent += len(held)
                    yield bytes(held)
                    held.clear()
            if held:
                sent += len(held)
                yield bytes(held)
        except IntegrityError as error:
            # the answer has begun: the transfer is broken off, and no altered byte was sent
            log.error("download of %s broken off: %s", name, error)
            raise
        finally:
            self.log.finish(grant.record.record_id, sent)

    def manifest(self, grant: Grant) -> list[dict[str, object]]:
        """A folder's files with each file's Merkle path to the registered root (the grant of a
        listing: :meth:`authorise_access` with ``listing``)."""
        self.log.finish(grant.record.record_id, 0)
        files, manifest = self._manifest(grant.stored.asset_id)
        return [
            {
                "path": item.path,
                "sha256": to_hex32(item.sha256),
                "size": item.size,
                "proof": [to_hex32(node) for node in _proof(manifest, item)],
            }
            for item in files
        ]

    def file_proof(self, grant: Grant) -> tuple[bytes, ...]:
        """The Merkle path of a grant's file to its folder's registered root."""
        assert grant.file is not None
        return _proof(self._manifest(grant.stored.asset_id)[1], grant.file)

    def _manifest(self, asset: int) -> tuple[list[StoredFile], FolderManifest]:
        files = self.store.all_files_of(asset)
        entries = [ManifestEntry(item.path, item.sha256, item.size) for item in files]
        return files, FolderManifest.from_entries(entries)

    # ----------------------------------------------------------------- the holder's side

    def access_log(
        self, header: str | None, asset: int, *, after: tuple[int, str] | None, limit: int
    ) -> list[AccessRecord]:
        """The access records of an asset, for its holder (a signed request)."""
        signed = self.verified(header, "AccessLogRead", asset)
        decision = decide_upload(self.ledger, asset, signed.signer)
        if not decision.allowed and decision.refusal is not Refusal.ASSET_CANCELLED:
            raise refused(asset, decision)
        return self.log.records_of_asset(asset, after, limit)

    def receipt(self, record_id: str) -> dict[str, object]:
        """The receipt of an access record: the record, its Merkle path and its anchor."""
        return accesslog.receipt_of(self.log, record_id)

    def anchor(self) -> accesslog.AnchoredBatch | None:
        """Anchor the access records not yet anchored (none: None)."""
        return accesslog.anchor_pending(self.log, self.ledger, blobs=self.blobs)

    # ----------------------------------------------------------------- keys

    def shred(self, asset: int) -> bool:
        """Destroy a cancelled asset's data key and delete its objects: its data can never be
        read again. True when there was something to destroy."""
        names = self._object_names(asset)
        metadata = self.store.metadata_of(asset)
        names += [] if metadata is None else [metadata.object_name]
        destroyed = self.store.destroy_key(asset)
        self._delete(names)
        self.store.delete_object(asset)
        return destroyed or bool(names)

    def sweep_cancelled(self) -> int:
        """Shred every stored asset the registry has cancelled since; how many."""
        shredded = 0
        for asset in self.store.live_key_assets():
            state = self.ledger.registry.asset(asset)
            if state is not None and state.status == AssetStatus.CANCELLED:
                shredded += self.shred(asset)
        return shredded


@dataclass
class _Upload:
    """One upload on its way in: its objects, each encrypted as it is written under a new data
    key, and the names written so far (deleted if the upload is not kept)."""

    signed: SignedRequest
    """The checked ``DataUpload``: its signer is the holder, its content hash the bytes'."""
    storage: ObjectStorage
    data_key: bytes = field(default_factory=new_data_key)
    prefix: str = ""
    written: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.prefix = f"assets/{asset_id_hex(self.signed.asset_id)}/{uuid.uuid4().hex}"

    def put(self, suffix: str, chunks: Iterable[bytes]) -> tuple[bytes, int, str]:
        """Encrypt ``chunks`` into the upload's object ``suffix``: their SHA-256, their size
        and the object's name."""
        name = f"{self.prefix}/{suffix}"
        digest = hashlib.sha256()
        size = 0

        def counted() -> Iterator[bytes]:
            nonlocal size
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                yield chunk

        self.written.append(name)
        self.storage.put(name, encrypt_chunks(self.data_key, name, counted()))
        return digest.digest(), size, name

    def stored(
        self, content: bytes, size: int, name: str | None, file_count: int = 1
    ) -> StoredObject:
        """What the upload stored, if ``content`` (the bytes' hash, or the folder's root) is
        the asset's content hash; else nothing is kept."""
        expected = self.signed.content_hash
        assert expected is not None  # a DataUpload always names one
        if content != expected:
            raise ContentMismatchError(to_hex32(expected), to_hex32(content))
        return StoredObject(
            asset_id=self.signed.asset_id,
            kind="file" if name is not None else "folder",
            content_hash=expected,
            size=size,
            file_count=file_count,
            object_name=name,
            holder=self.signed.signer,
            stored_at=now_ms(),
        )


def _store_folder(
    upload: _Upload, chunks: Iterable[bytes]
) -> tuple[StoredObject, list[StoredFile]]:
    """Store each file of a folder's tar stream as its own object."""
    files: list[StoredFile] = []
    seen: set[str] = set()
    try:
        stream = io.BufferedReader(ChunkReader(chunks), SEGMENT_SIZE)
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise BadUploadError(f"{member.name!r} is not a regular file")
                path = member_path(member.name)
                if path in seen:
                    raise BadUploadError(f"{path!r} comes twice")
                seen.add(path)
                source = archive.extractfile(member)
                assert source is not None
                digest, size, name = upload.put(f"files/{len(files)}", read_blocks(source))
                files.append(StoredFile(upload.signed.asset_id, path, digest, size, name))
    except tarfile.TarError as error:
        raise BadUploadError(f"not a tar stream ({error})") from error
    if not files:
        raise BadUploadError("the tar stream holds no file")
    root = FolderManifest.from_entries(
        [ManifestEntry(item.path, item.sha256, item.size) for item in files]
    ).root
    stored = upload.stored(root, sum(item.size for item in files), None, len(files))
    return stored, sorted(files, key=lambda item: item.path)


def refused(asset: int, decision: Decision, record_id: str = "") -> DeliveryRefusedError:
    """The error of a refusal ``decision``, naming its rule."""
    assert decision.refusal is not None
    return DeliveryRefusedError(asset, decision.refusal, decision.reason, record_id)


def rotate_keys(store: DataRoomStore, keys: MasterKeyRing) -> int:
    """Re-wrap every live data key of ``store`` under ``keys``' current master key (the data is
    not touched); how many. The older keys may be dropped from the key file afterwards."""

    def again(asset: int, row: DataKeyRow) -> tuple[str, bytes]:
        wrapped = rewrap(keys, WrappedKey(row.key_id, row.wrapped), asset)
        return wrapped.key_id, wrapped.blob

    return store.rewrap_keys(again)


def _proof(manifest: FolderManifest, file: StoredFile) -> tuple[bytes, ...]:
    return manifest.tree.proof_for((file.path, file.sha256))
