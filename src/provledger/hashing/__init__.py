"""Content hashes: of a file, of a dataset folder, and the folder manifests behind them.

An asset is identified by its content hash:

* a **file**'s content hash is the SHA-256 of its bytes (:func:`sha256_file`, streamed);
* a **folder**'s content hash is the root of a :class:`~provledger.merkle.StandardMerkleTree`
  with one ``(string relativePath, bytes32 sha256)`` leaf per regular file under it
  (:func:`folder_manifest`), so that one file of a registered dataset can later be proven
  alone (:func:`file_membership_proof`, :func:`verify_file_membership`), on-chain with
  OpenZeppelin ``MerkleProof`` or off-chain with the JS ``@openzeppelin/merkle-tree``.

What a folder's hash covers and refuses is written down in :mod:`provledger.hashing.folders`;
manifest paths in :mod:`provledger.hashing.paths`. 32-byte hex is parsed and written by
:mod:`provledger.params`, the one rule of provledger for hashes.

Every file is checked unchanged while it is hashed, so that a hash is never of bytes that were
on disk at no moment (a "torn read" of a file another process rewrites): its size, modification
and change times and inode are the same before and after the read, on the open descriptor and
at its path (a file replaced by a rename is caught too), and a file of at most
:data:`SECOND_PASS_MAX_BYTES`, or one changed in the last moments before it was opened (when
timestamps are too coarse to show a change made in the same tick), is read twice and both
digests compared. A folder is refused if any of its files changed after it was read or its
listing changed before the last file was done. A change is a
:class:`~provledger.errors.ChangedWhileHashingError` naming the file or folder.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Final

from provledger.errors import (
    ChangedWhileHashingError,
    EmptyFolderError,
    FileNotInManifestError,
    InvalidHashError,
    MalformedManifestError,
    ManifestRootMismatchError,
    PathAccessError,
    UnsupportedPathError,
)
from provledger.hashing.paths import normalise_manifest_path, path_problem
from provledger.hashing.reading import ProgressCallback, open_regular, read_digest
from provledger.jsondoc import JsonDocumentError, parse_json
from provledger.merkle import StandardMerkleTree
from provledger.params import (
    InvalidParameterError,
    MalformedHexError,
    parse_hash_bytes,
    to_hex32,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MANIFEST_KIND",
    "MANIFEST_MAX_BYTES",
    "MANIFEST_VERSION",
    "SECOND_PASS_MAX_BYTES",
    "FolderManifest",
    "ManifestEntry",
    "ProgressCallback",
    "content_hash",
    "file_membership_proof",
    "folder_manifest",
    "normalise_manifest_path",
    "parse_hash32",
    "sha256_file",
    "verify_file_membership",
]

DEFAULT_CHUNK_SIZE: Final = 1 << 20
"""Bytes read per chunk when hashing a file (1 MiB)."""

SECOND_PASS_MAX_BYTES: Final = 1 << 20
"""Files up to this size (1 MiB) are read twice and the two digests compared, because file
system timestamps may be too coarse to show a change made while they were read."""

MANIFEST_VERSION: Final = 1
MANIFEST_KIND: Final = "provledger.folder-manifest"
MANIFEST_MAX_BYTES: Final = 1 << 30
"""The largest manifest JSON :meth:`FolderManifest.from_json` parses (1 GiB): about seven
million files. Services that take manifests from the network cap their bodies lower."""

# A file changed this recently before it is opened is read twice whatever its size: a change
# made in the same timestamp tick as that last change would leave its times as they were. Linux
# ticks are milliseconds; FAT and some network file systems count in seconds.
_RECENT_CHANGE_NS: Final = 2_000_000_000


# --- hex ------------------------------------------------------------------------------------


def parse_hash32(text: str) -> bytes:
    """Parse a 32-byte hash written as 64 hex digits, with or without ``0x``, in any case
    (:func:`provledger.params.parse_hash_bytes`, the one rule for hashes), refusing with a
    message that quotes the text.

    Surrounding whitespace (a pasted newline) is ignored; anything else is refused.

    Raises:
        InvalidHashError: ``text`` is not 64 hex digits; the message quotes it.
    """
    try:
        return parse_hash_bytes(text)
    except MalformedHexError as error:
        reason = (
            error.reason if error.flaw == "digit" else f"expected 64 hex digits, got {error.digits}"
        )
        raise InvalidHashError(text, reason) from None
    except InvalidParameterError as error:  # not text at all
        raise InvalidHashError(repr(text), error.reason) from None


# --- files ----------------------------------------------------------------------------------


def _what_changed(before: os.stat_result, after: os.stat_result) -> str | None:
    """How a file changed between two of its status records, or ``None`` if it did not."""
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        return "it was replaced by another file"
    if after.st_size != before.st_size:
        return f"its size went from {before.st_size:,} to {after.st_size:,} bytes"
    if (after.st_mtime_ns, after.st_ctime_ns) != (before.st_mtime_ns, before.st_ctime_ns):
        return "it was modified"
    return None


def hash_regular_file(
    path: str,
    *,
    follow_symlinks: bool,
    chunk_size: int,
    progress: ProgressCallback | None,
) -> tuple[bytes, os.stat_result]:
    """The SHA-256 of the regular file at ``path`` and its status, checked unchanged while it
    was read (see the module documentation); ``progress`` hears the first read only.
    ``follow_symlinks`` False refuses a link (:class:`SymlinkNotAllowedError`)."""
    fd, before = open_regular(path, follow_symlinks=follow_symlinks, shown=path)
    recent = time.time_ns() - max(before.st_mtime_ns, before.st_ctime_ns) < _RECENT_CHANGE_NS
    again: bytes | None = None
    try:
        with open(fd, "rb", buffering=0, closefd=True) as stream:
            digest, size = read_digest(stream, chunk_size, progress)
            if before.st_size <= SECOND_PASS_MAX_BYTES or recent:
                stream.seek(0)
                again = read_digest(stream, chunk_size, None)[0]
            after = os.fstat(stream.fileno())
        at_path = os.stat(path, follow_symlinks=follow_symlinks)
    except FileNotFoundError:
        raise ChangedWhileHashingError(path, "it was removed or renamed") from None
    except OSError as exc:
        raise PathAccessError(path, exc.strerror or str(exc)) from exc
    # The path first: a file renamed over it also changes the old file's times (its link went).
    reason = _what_changed(before, at_path) or _what_changed(before, after)
    if reason is None and size != before.st_size:
        reason = f"{size:,} bytes were read of its {before.st_size:,}"
    if reason is None and again is not None and again != digest:
        reason = "two reads of it gave different bytes"
    if reason is not None:
        raise ChangedWhileHashingError(path, reason)
    return digest, after


def check_unchanged(path: str, state: os.stat_result) -> None:
    """Refuse the file at ``path`` if it changed since its status was ``state`` (read when it
    was hashed): :class:`ChangedWhileHashingError` saying how."""
    try:
        current = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        raise ChangedWhileHashingError(path, "it was removed or renamed") from None
    except OSError as exc:
        raise PathAccessError(path, exc.strerror or str(exc)) from exc
    reason = _what_changed(state, current)
    if reason is not None:
        raise ChangedWhileHashingError(path, reason)


def check_chunk_size(chunk_size: int) -> None:
    """Refuse (``ValueError``) a chunk size that is not a positive number of bytes."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive number of bytes, got {chunk_size!r}")


def sha256_file(
    path: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
) -> bytes:
    """Return the SHA-256 (32 bytes) of a file's bytes, reading ``chunk_size`` bytes at a time.

    Memory use is one chunk whatever the file size. ``progress``, if given, is called after
    each chunk with its length (once over the file, even when it is read twice). A symbolic
    link passed as ``path`` is followed. The file is checked unchanged while it is read (see
    the module documentation).

    Raises:
        PathAccessError: the file does not exist or cannot be read.
        UnsupportedPathError: ``path`` is a folder, a device, a socket or a pipe.
        ChangedWhileHashingError: the file changed, was replaced or removed while it was read.
        ValueError: ``chunk_size`` is not a positive integer.
    """
    check_chunk_size(chunk_size)
    shown = os.fspath(path)
    return hash_regular_file(shown, follow_symlinks=True, chunk_size=chunk_size, progress=progress)[
        0
    ]


# --- manifests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a folder manifest.

    Attributes:
        path: relative ``/``-separated path, Unicode NFC (see :func:`normalise_manifest_path`).
        sha256: SHA-256 of the file's bytes (32 bytes).
        size: the file's size in bytes; informational, not covered by the root.
    """

    path: str
    sha256: bytes
    size: int

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or (problem := path_problem(self.path)) is not None:
            reason = "it is not text" if not isinstance(self.path, str) else problem
            raise UnsupportedPathError(repr(self.path), f"not a manifest path: {reason}")
        if not isinstance(self.sha256, bytes) or len(self.sha256) != 32:
            raise InvalidHashError(repr(self.sha256), f"sha256 of {self.path!r} must be 32 bytes")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise ValueError(f"size of {self.path!r} must be a non-negative int, got {self.size!r}")


@dataclass(frozen=True)
class FolderManifest:
    """A folder's content hash and the files it covers.

    Build one with :func:`folder_manifest`, :meth:`from_entries` or :meth:`from_json`; those
    compute or re-verify ``root``. Entries are sorted by path, paths unique.

    Attributes:
        root: the folder's content hash, the Merkle root over the files' leaves.
        entries: the files, sorted by path.
    """

    root: bytes
    entries: tuple[ManifestEntry, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise InvalidHashError(repr(self.root), "a manifest root must be 32 bytes")
        if not self.entries:
            raise EmptyFolderError("<manifest>")
        paths = [entry.path for entry in self.entries]
        for previous, current in itertools.pairwise(paths):
            if previous >= current:
                raise ValueError(
                    "manifest entries must be sorted by path with no duplicates, "
                    f"but {previous!r} comes before {current!r}"
                )

    @classmethod
    def from_entries(cls, entries: Iterable[ManifestEntry]) -> FolderManifest:
        """Return the manifest of ``entries`` (any order), computing its root.

        Raises:
            EmptyFolderError: ``entries`` is empty.
            UnsupportedPathError: two entries have the same path.
        """
        ordered = sorted(entries, key=lambda entry: entry.path)
        if not ordered:
            raise EmptyFolderError("<manifest>")
        for previous, current in itertools.pairwise(ordered):
            if previous.path == current.path:
                raise UnsupportedPathError(current.path, "the manifest lists it twice")
        tree = _tree_of(ordered)
        manifest = cls(tree.root, tuple(ordered))
        # Keep the tree just built: file_membership_proof would otherwise rebuild it.
        manifest.__dict__["tree"] = tree
        return manifest

    @functools.cached_property
    def tree(self) -> StandardMerkleTree:
        """The Merkle tree over the entries (built on first use, then kept)."""
        return _tree_of(self.entries)

    @property
    def total_size(self) -> int:
        """The sum of the entries' sizes in bytes."""
        return sum(entry.size for entry in self.entries)

    def entry(self, path: str | PurePath) -> ManifestEntry:
        """Return the entry of ``path`` (normalised as :func:`normalise_manifest_path` does).

        Raises:
            FileNotInManifestError: no file of the manifest has that path.
        """
        wanted = normalise_manifest_path(path)
        position = bisect.bisect_left(self.entries, wanted, key=lambda entry: entry.path)
        if position == len(self.entries) or self.entries[position].path != wanted:
            raise FileNotInManifestError(wanted, self.root)
        return self.entries[position]

    def to_json(self) -> str:
        """Return the manifest as JSON text, deterministically (same manifest, same text).

        ``{"version": 1, "kind": "provledger.folder-manifest", "root": "0x..",
        "files": [{"path": .., "sha256": "0x..", "size": ..}, ...]}``, files sorted by path,
        no insignificant whitespace, non-ASCII paths written as UTF-8.
        """
        document = {
            "version": MANIFEST_VERSION,
            "kind": MANIFEST_KIND,
            "root": to_hex32(self.root),
            "files": [
                {"path": entry.path, "sha256": to_hex32(entry.sha256), "size": entry.size}
                for entry in self.entries
            ],
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> FolderManifest:
        """Parse manifest JSON and re-verify it: its files must hash to its root.

        Files may come in any order; paths must already be normalised (NFC, ``/``).

        Raises:
            MalformedManifestError: the JSON or a field is malformed, or the text is larger than
                :data:`MANIFEST_MAX_BYTES` or nests deeper than JSON documents may; the message
                names it.
            ManifestRootMismatchError: the files do not hash to the claimed root.
        """
        try:
            document = parse_json(text, what="manifest", max_bytes=MANIFEST_MAX_BYTES)
        except JsonDocumentError as exc:
            raise MalformedManifestError(exc.reason) from exc
        if not isinstance(document, dict):
            raise MalformedManifestError(f"expected a JSON object, got {type(document).__name__}")
        version = document.get("version")
        if isinstance(version, bool) or version != MANIFEST_VERSION:
            raise MalformedManifestError(
                f"unsupported version {version!r}, expected {MANIFEST_VERSION}"
            )
        if document.get("kind") != MANIFEST_KIND:
            raise MalformedManifestError(
                f"kind is {document.get('kind')!r}, expected {MANIFEST_KIND!r}"
            )
        claimed = _manifest_hash(document.get("root"), "root")
        files = document.get("files")
        if not isinstance(files, list) or not files:
            raise MalformedManifestError(f"'files' must be a non-empty list, got {files!r:.80}")
        entries = [_manifest_entry(i, item) for i, item in enumerate(files)]
        try:
            manifest = cls.from_entries(entries)
        except UnsupportedPathError as exc:
            raise MalformedManifestError(str(exc)) from exc
        if manifest.root != claimed:
            raise ManifestRootMismatchError(claimed, manifest.root)
        return manifest


def _tree_of(entries: Sequence[ManifestEntry]) -> StandardMerkleTree:
    return StandardMerkleTree.folder((entry.path, entry.sha256) for entry in entries)


def _manifest_hash(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedManifestError(f"{field} must be a 0x-hex string, got {value!r:.80}")
    try:
        return parse_hash32(value)
    except InvalidHashError as exc:
        raise MalformedManifestError(f"{field}: {exc}") from exc


def _manifest_entry(i: int, item: Any) -> ManifestEntry:
    if not isinstance(item, dict):
        raise MalformedManifestError(f"files[{i}] must be an object, got {item!r:.80}")
    path, size = item.get("path"), item.get("size")
    if not isinstance(path, str):
        raise MalformedManifestError(f"files[{i}].path must be text, got {path!r:.80}")
    problem = path_problem(path)
    if problem is not None:
        raise MalformedManifestError(f"files[{i}].path {path!r} is not a manifest path: {problem}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise MalformedManifestError(
            f"files[{i}].size of {path!r} must be a non-negative integer, got {size!r:.80}"
        )
    return ManifestEntry(path, _manifest_hash(item.get("sha256"), f"files[{i}].sha256"), size)


# The folder side builds on the file hashes and the manifests above.
from provledger.hashing.folders import (  # noqa: E402
    content_hash,
    file_membership_proof,
    folder_manifest,
    verify_file_membership,
)
