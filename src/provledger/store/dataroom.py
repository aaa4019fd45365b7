"""The data room's own records: each asset's wrapped data key, what was uploaded (a file, or a
folder and its files, and the holder's committed metadata document) and the nonces of signed
requests already served.

They live apart from the index, in their own tables of the database the data room's URL names
(SQLite or PostgreSQL), created when the store is opened. A data key is kept only wrapped (by a
master key held outside the database); destroying it empties the blob and keeps the row, with
the time, as evidence. On SQLite the writers take turns
(:class:`~provledger.store.write_turns.WriteTurns`), as the relay's do.

Asset ids and hashes are stored as ``0x`` and 64 lowercase hex digits, addresses lowercase;
the records hand them back as numbers, bytes and checksummed addresses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    select,
    update,
)

from provledger.params import checksum, parse_address, to_hex32
from provledger.store import schema
from provledger.store.columns import address, column, hex_hash
from provledger.store.relay import now_ms
from provledger.store.write_turns import TurnTakingStore

#: How many keys :meth:`DataRoomStore.rewrap_keys` rewraps in one transaction.
REWRAP_BATCH: Final = 200
#: The latest deadline a nonce is kept until (the largest signed 64-bit number).
MAX_DEADLINE: Final = 2**63 - 1

ObjectKind = Literal["file", "folder"]

metadata = MetaData(naming_convention=schema.metadata.naming_convention)

#: A path inside a folder, compared byte by byte on both backends (SQLite's BINARY, PostgreSQL's
#: "C"): the code point order folder manifests sort their files in.
_PATH = Text().with_variant(Text(collation="C"), "postgresql")

data_keys = Table(
    "data_keys",
    metadata,
    hex_hash("asset_id", primary_key=True),
    column("key_id", String(100)),  # the master key that wrapped it
    column("wrapped", LargeBinary),  # empty once destroyed
    column("created_at", BigInteger),  # ms
    column("destroyed_at", BigInteger, nullable=True),  # ms
)

data_objects = Table(
    "data_objects",
    metadata,
    hex_hash("asset_id", primary_key=True),
    column("kind", String(6)),  # file|folder
    hex_hash("content_hash"),
    column("size", BigInteger),  # plaintext bytes, of the file or summed over the folder
    column("file_count", Integer),
    column("object_name", Text, nullable=True),  # a file's stored object; null for a folder
    address("holder"),
    column("stored_at", BigInteger),  # ms
)

data_files = Table(
    "data_files",
    metadata,
    hex_hash("asset_id"),
    column("path", _PATH),
    hex_hash("sha256"),
    column("size", BigInteger),
    column("object_name", Text),
    PrimaryKeyConstraint("asset_id", "path"),
)

data_metadata = Table(
    "data_metadata",
    metadata,
    hex_hash("asset_id", primary_key=True),
    hex_hash("root"),  # the document's Merkle root: the metadata hash it was uploaded for
    column("size", BigInteger),  # plaintext bytes
    column("object_name", Text),
    address("holder"),
    column("stored_at", BigInteger),  # ms
)

used_nonces = Table(
    "used_nonces",
    metadata,
    address("signer"),
    column("nonce", String(78)),  # a uint256 in decimal
    column("deadline", BigInteger),  # unix seconds: after it the nonce can never verify again
    PrimaryKeyConstraint("signer", "nonce"),
)


@dataclass(frozen=True)
class DataKeyRow:
    """An asset's data key as stored: wrapped by the master key ``key_id``; an empty ``wrapped``
    and a ``destroyed_at`` (ms) once destroyed."""

    asset_id: int
    key_id: str
    wrapped: bytes
    created_at: int
    destroyed_at: int | None


@dataclass(frozen=True)
class StoredObject:
    """What was uploaded for an asset: one file (``object_name`` is its stored object) or a
    folder (its files are :class:`StoredFile` rows; ``object_name`` is None)."""

    asset_id: int
    kind: ObjectKind
    content_hash: bytes
    size: int
    """Plaintext bytes: of the file, or summed over the folder's files."""
    file_count: int
    object_name: str | None
    holder: str
    """The holder who uploaded it, checksummed."""
    stored_at: int
    """When it was stored, in ms."""


@dataclass(frozen=True)
class StoredFile:
    """One file of the folder uploaded for ``asset_id``: its path in the folder, SHA-256,
    plaintext size and stored object."""

    asset_id: int
    path: str
    sha256: bytes
    size: int
    object_name: str


@dataclass(frozen=True)
class StoredMetadata:
    """The committed metadata document uploaded for an asset (format
    ``provledger-committed-metadata/1``): its root, plaintext size and stored object."""

    asset_id: int
    root: bytes
    """The document's root, which was the asset's metadata hash on chain when it was stored."""
    size: int
    object_name: str
    holder: str
    """The holder who uploaded it, checksummed."""
    stored_at: int
    """When it was stored, in ms."""


def _asset(asset_id: int) -> str:
    return to_hex32(asset_id.to_bytes(32, "big"))


def _key_row(row: Any) -> DataKeyRow:
    return DataKeyRow(
        int(row.asset_id, 16), row.key_id, bytes(row.wrapped), row.created_at, row.destroyed_at
    )


def _object(row: Any) -> StoredObject:
    return StoredObject(
        asset_id=int(row.asset_id, 16),
        kind=row.kind,
        content_hash=bytes.fromhex(row.content_hash[2:]),
        size=row.size,
        file_count=row.file_count,
        object_name=row.object_name,
        holder=checksum(row.holder),
        stored_at=row.stored_at,
    )


def _metadata(row: Any) -> StoredMetadata:
    root = bytes.fromhex(row.root[2:])
    holder = checksum(row.holder)
    return StoredMetadata(
        int(row.asset_id, 16), root, row.size, row.object_name, holder, row.stored_at
    )


def _file(row: Any) -> StoredFile:
    return StoredFile(
        int(row.asset_id, 16), row.path, bytes.fromhex(row.sha256[2:]), row.size, row.object_name
    )


class DataRoomStore(TurnTakingStore):
    """The data room's records in one database."""

    metadata = metadata

    def _wrote(self, statement: Any) -> bool:
        """Run an INSERT ... ON CONFLICT (atomic, also against concurrent writers of the same
        key); whether it wrote a row."""
        # RETURNING, not rowcount: over psycopg the rowcount of this INSERT is -1
        with self._transaction() as conn:
            key = next(iter(statement.table.primary_key))
            return conn.execute(statement.returning(key)).first() is not None

    def _row_of(self, table: Table, asset_id: int) -> Any:
        """The row of ``asset_id`` in ``table``, or None."""
        with self.engine.connect() as conn:
            return conn.execute(select(table).where(table.c.asset_id == _asset(asset_id))).first()

    # ------------------------------------------------------------ data keys
    def save_key(self, asset_id: int, key_id: str, wrapped: bytes) -> bool:
        """Keep the data key of ``asset_id``, wrapped by the master key ``key_id``, in place of
        its live key if it has one (a new upload); False, and nothing changed, if its key was
        destroyed: a destroyed key is never replaced."""
        with self._transaction() as conn:
            return self._put_key(conn, asset_id, key_id, wrapped)

    def _put_key(self, conn: Connection, asset_id: int, key_id: str, wrapped: bytes) -> bool:
        values = {"key_id": key_id, "wrapped": wrapped, "created_at": now_ms()}
        statement = (
            self._insert(data_keys)
            .values(asset_id=_asset(asset_id), **values)
            .on_conflict_do_update(
                index_elements=[data_keys.c.asset_id],
                set_=values,
                where=data_keys.c.destroyed_at.is_(None),
            )
        )
        # RETURNING, not rowcount: over psycopg the rowcount of this INSERT is -1
        return conn.execute(statement.returning(data_keys.c.asset_id)).first() is not None

    def claim_key(self, asset_id: int, key_id: str, wrapped: bytes) -> DataKeyRow | None:
        """The live data key of ``asset_id``: the one it has, else ``wrapped`` (by the master
        key ``key_id``), kept now; None if its key was destroyed. Of concurrent claims, all get
        the key the first one kept: every object of an asset is under its one data key."""
        statement = self._insert(data_keys).values(
            asset_id=_asset(asset_id), key_id=key_id, wrapped=wrapped, created_at=now_ms()
        )
        with self._transaction() as conn:
            conn.execute(statement.on_conflict_do_nothing())
            row = conn.execute(
                select(data_keys).where(data_keys.c.asset_id == _asset(asset_id))
            ).one()
        return None if row.destroyed_at is not None else _key_row(row)

    def live_key_assets(self) -> list[int]:
        """The assets whose data key is live (not destroyed), in asset order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(data_keys.c.asset_id)
                .where(data_keys.c.destroyed_at.is_(None))
                .order_by(data_keys.c.asset_id)
            )
            return [int(row.asset_id, 16) for row in rows]

    def key_of(self, asset_id: int) -> DataKeyRow | None:
        """The data key of ``asset_id`` (perhaps destroyed), or None."""
        row = self._row_of(data_keys, asset_id)
        return None if row is None else _key_row(row)

    def destroy_key(self, asset_id: int) -> bool:
        """Destroy the data key of ``asset_id``: its wrapped blob is overwritten with nothing and
        the time recorded; the row stays, as evidence. False if there was no live key."""
        with self._transaction() as conn:
            destroyed = conn.execute(
                update(data_keys)
                .where(data_keys.c.asset_id == _asset(asset_id), data_keys.c.destroyed_at.is_(None))
                .values(wrapped=b"", destroyed_at=now_ms())
            ).rowcount
        return bool(destroyed)

    def rewrap_keys(self, fn: Callable[[int, DataKeyRow], tuple[str, bytes]]) -> int:
        """Rotate the master key: every live data key becomes the ``(key id, wrapped)`` that
        ``fn`` returns for it, :data:`REWRAP_BATCH` keys to a transaction, in asset order (so an
        interrupted rotation resumes where ``fn`` returns a key unchanged). Destroyed keys are
        left as they are; the number of keys changed is returned."""
        changed = 0
        after = ""
        while True:
            with self._transaction() as conn:
                rows = conn.execute(
                    select(data_keys)
                    .where(data_keys.c.asset_id > after, data_keys.c.destroyed_at.is_(None))
                    .order_by(data_keys.c.asset_id)
                    .limit(REWRAP_BATCH)
                    .with_for_update()
                ).all()
                for row in rows:
                    key = _key_row(row)
                    key_id, wrapped = fn(key.asset_id, key)
                    if (key_id, wrapped) != (key.key_id, key.wrapped):
                        changed += conn.execute(
                            update(data_keys)
                            .where(
                                data_keys.c.asset_id == row.asset_id,
                                data_keys.c.destroyed_at.is_(None),
                            )
                            .values(key_id=key_id, wrapped=wrapped)
                        ).rowcount
            if len(rows) < REWRAP_BATCH:
                return changed
            after = rows[-1].asset_id

    # ------------------------------------------------------------ uploaded objects
    def save_object(
        self,
        obj: StoredObject,
        files: Sequence[StoredFile],
        *,
        key: tuple[str, bytes] | None = None,
    ) -> bool:
        """Record an upload of ``obj`` (and, for a folder, its ``files``), replacing any earlier
        upload of that asset, and with ``key`` (master key id, wrapped data key) its data key,
        all in one transaction: a reader sees the old upload and key or the new ones. False, and
        nothing changed, when the asset's key was destroyed (it was cancelled)."""
        if obj.kind == "file" and (obj.object_name is None or files):
            raise ValueError("a file is one stored object, without files")
        if obj.kind == "folder" and (obj.object_name is not None or obj.file_count != len(files)):
            raise ValueError("a folder is its files, each a stored object of its own")
        if any(item.asset_id != obj.asset_id for item in files):
            raise ValueError("a file of another asset")
        asset = _asset(obj.asset_id)
        with self._transaction() as conn:
            if key is not None and not self._put_key(conn, obj.asset_id, *key):
                return False
            conn.execute(delete(data_files).where(data_files.c.asset_id == asset))
            conn.execute(delete(data_objects).where(data_objects.c.asset_id == asset))
            conn.execute(
                data_objects.insert().values(
                    asset_id=asset,
                    kind=obj.kind,
                    content_hash=to_hex32(obj.content_hash),
                    size=obj.size,
                    file_count=obj.file_count,
                    object_name=obj.object_name,
                    holder=parse_address(obj.holder, "holder"),
                    stored_at=obj.stored_at,
                )
            )
            if files:
                conn.execute(
                    data_files.insert(),
                    [
                        {
                            "asset_id": asset,
                            "path": item.path,
                            "sha256": to_hex32(item.sha256),
                            "size": item.size,
                            "object_name": item.object_name,
                        }
                        for item in files
                    ],
                )
        return True

    def object_of(self, asset_id: int) -> StoredObject | None:
        """What was uploaded for ``asset_id``, or None."""
        row = self._row_of(data_objects, asset_id)
        return None if row is None else _object(row)

    def objects(self) -> list[StoredObject]:
        """Every upload the room holds, in asset order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(data_objects).order_by(data_objects.c.asset_id))
            return [_object(row) for row in rows]

    def all_files_of(self, asset_id: int) -> list[StoredFile]:
        """Every file of the folder uploaded for ``asset_id``, in path order."""
        return self.files_of(asset_id, None, None)

    def files_of(self, asset_id: int, after: str | None, limit: int | None) -> list[StoredFile]:
        """Up to ``limit`` files of the folder uploaded for ``asset_id``, in path order (code
        point order, as folder manifests sort), those after the path ``after`` when given; all of
        them when ``limit`` is None."""
        query = select(data_files).where(data_files.c.asset_id == _asset(asset_id))
        if after is not None:
            query = query.where(data_files.c.path > after)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(data_files.c.path).limit(limit))
            return [_file(row) for row in rows]

    def file_of(self, asset_id: int, path: str) -> StoredFile | None:
        """The file at ``path`` in the folder uploaded for ``asset_id``, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(data_files).where(
                    data_files.c.asset_id == _asset(asset_id), data_files.c.path == path
                )
            ).first()
        return None if row is None else _file(row)

    def delete_object(self, asset_id: int) -> bool:
        """Forget all that was uploaded for ``asset_id``: its data (a file, or a folder and its
        files) and its committed metadata document; False if there was nothing."""
        asset = _asset(asset_id)
        with self._transaction() as conn:
            conn.execute(delete(data_files).where(data_files.c.asset_id == asset))
            deleted = sum(
                conn.execute(delete(table).where(table.c.asset_id == asset)).rowcount
                for table in (data_objects, data_metadata)
            )
        return bool(deleted)

    # ------------------------------------------------------------ committed metadata documents
    def save_metadata(self, document: StoredMetadata, *, key: tuple[str, bytes]) -> bool:
        """Record ``document`` as the asset's committed metadata document, replacing any earlier
        one, with ``key`` (master key id, wrapped data key) as its data key, in one transaction.
        False, and nothing changed, when the asset's key was destroyed (it was cancelled)."""
        asset = _asset(document.asset_id)
        with self._transaction() as conn:
            if not self._put_key(conn, document.asset_id, *key):
                return False
            conn.execute(delete(data_metadata).where(data_metadata.c.asset_id == asset))
            conn.execute(
                data_metadata.insert().values(
                    asset_id=asset,
                    root=to_hex32(document.root),
                    size=document.size,
                    object_name=document.object_name,
                    holder=parse_address(document.holder, "holder"),
                    stored_at=document.stored_at,
                )
            )
        return True

    def metadata_of(self, asset_id: int) -> StoredMetadata | None:
        """The committed metadata document uploaded for ``asset_id``, or None."""
        row = self._row_of(data_metadata, asset_id)
        return None if row is None else _metadata(row)

    # ------------------------------------------------------------ nonces of signed requests
    def claim_nonce(self, signer: str, nonce: int, deadline: int) -> bool:
        """Claim ``signer``'s ``nonce`` for one request, kept until its ``deadline`` (unix
        seconds); False if it was claimed before. Of concurrent claims of one nonce exactly one
        wins."""
        if not 0 <= deadline <= MAX_DEADLINE:
            raise ValueError(f"a deadline is 0 to {MAX_DEADLINE}, got {deadline}")
        statement = self._insert(used_nonces).values(
            signer=parse_address(signer, "signer"), nonce=str(nonce), deadline=deadline
        )
        return self._wrote(statement.on_conflict_do_nothing())

    def prune_nonces(self, now: int) -> int:
        """Forget the nonces whose deadline is not after ``now`` (a request so signed is
        expired and refused anyway); how many. Pass a time no later than the chain's head."""
        with self._transaction() as conn:
            return int(
                conn.execute(delete(used_nonces).where(used_nonces.c.deadline <= now)).rowcount
            )
