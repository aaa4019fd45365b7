"""Content hashes: of a file, of a dataset folder, and the folder manifests behind them.

An asset is identified by its content hash:

* a **file**'s content hash is the SHA-256 of its bytes (:func:`sha256_file`, streamed);
* a **folder**'s content hash is the root of a :class:`~provledger.merkle.StandardMerkleTree`
  with one ``(string relativePath, bytes32 sha256)`` leaf per regular file under it
  (:func:`folder_manifest`), so that one file of a registered dataset can later be proven
  alone (:func:`file_membership_proof`, :func:`verify_file_membership`), on-chain with
  OpenZeppelin ``MerkleProof`` or off-chain with the JS ``@openzeppelin/merkle-tree``.

Folder policy (what a folder's hash covers):

* **every regular file at any depth**, hidden ones (``.name``) included: a dataset is its
  bytes, and a hash that skipped some of them could not vouch for the folder;
* **paths** are relative to the folder, ``/``-separated on every OS, each name normalised to
  Unicode NFC (macOS hands out NFD names; the same folder must hash the same everywhere), and
  entries are sorted by path (code point order, which is UTF-8 byte order). A name that is
  not valid UTF-8, or two names equal after NFC normalisation, are refused
  (:class:`~provledger.errors.UnsupportedPathError`);
* **symbolic links** inside the folder are refused
  (:class:`~provledger.errors.SymlinkNotAllowedError`), whether they point at a file or a
  folder, inside or outside: following them would hash bytes that are not in the dataset or
  hash the same bytes twice, and skipping them would silently drop content. The folder or file
  passed in by the caller may itself be a link; it is followed, as any command-line tool would;
* **other special files** (devices, sockets, pipes) are refused;
* **empty sub-folders** are not represented (a folder's hash covers file bytes and paths
  only), and a folder with no file at any depth has no content hash
  (:class:`~provledger.errors.EmptyFolderError`);
* permissions, owners and times are not part of the hash; nor is each file's ``size`` in a
  manifest, which is informational (the root commits to paths and SHA-256 digests only).

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
import hashlib
import io
import itertools
import json
import os
import re
import stat
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
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
    SymlinkNotAllowedError,
    UnsupportedPathError,
)
from provledger.jsondoc import JsonDocumentError, parse_json
from provledger.merkle import StandardMerkleTree, folder_leaf_hash, verify

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
    "to_hex32",
    "verify_file_membership",
]

ProgressCallback = Callable[[int], None]
"""Called after each chunk is hashed with the number of bytes in that chunk."""

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

_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")
_NON_HEX = re.compile(r"[^0-9a-fA-F]")

# Open without blocking (a FIFO would otherwise hang before we can see it is one), never
# inherit the descriptor, and read binary on Windows.
_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)


# --- hex ------------------------------------------------------------------------------------


def to_hex32(value: bytes) -> str:
    """Return a 32-byte hash as ``"0x"`` followed by 64 lowercase hex digits.

    Raises:
        InvalidHashError: ``value`` is not exactly 32 bytes.
    """
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidHashError(repr(value), f"expected 32 bytes, got {type(value).__name__}")
    raw = bytes(value)
    if len(raw) != 32:
        raise InvalidHashError("0x" + raw.hex(), f"expected 32 bytes, got {len(raw)}")
    return "0x" + raw.hex()


def parse_hash32(text: str) -> bytes:
    """Parse a 32-byte hash written as 64 hex digits, with or without ``0x``, in any case.

    Surrounding whitespace (a pasted newline) is ignored; anything else is refused.

    Raises:
        InvalidHashError: ``text`` is not 64 hex digits; the message quotes it.
    """
    if not isinstance(text, str):
        raise InvalidHashError(repr(text), f"expected text, got {type(text).__name__}")
    body = text.strip()
    if body[:2] in ("0x", "0X"):
        body = body[2:]
    if not _HEX_DIGITS.fullmatch(body):
        bad = _NON_HEX.search(body)
        assert bad is not None
        raise InvalidHashError(text, f"{bad.group()!r} is not a hex digit")
    if len(body) != 64:
        raise InvalidHashError(text, f"expected 64 hex digits, got {len(body)}")
    return bytes.fromhex(body)


# --- files ----------------------------------------------------------------------------------


def _open_regular(path: str, *, follow_symlinks: bool, shown: str) -> tuple[int, os.stat_result]:
    flags = _OPEN_FLAGS if follow_symlinks else _OPEN_FLAGS | _NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_symlinks and os.path.islink(path):
            raise SymlinkNotAllowedError(shown, _readlink(path)) from exc
        raise PathAccessError(shown, exc.strerror or str(exc)) from exc
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UnsupportedPathError(
                shown, "it is a folder; use folder_manifest() or content_hash() for folders"
            )
        if not stat.S_ISREG(info.st_mode):
            raise UnsupportedPathError(shown, "it is not a regular file (a device, socket or pipe)")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def _digest(
    stream: io.RawIOBase, chunk_size: int, progress: ProgressCallback | None
) -> tuple[bytes, int]:
    """The SHA-256 of ``stream`` from where it stands to its end, and the bytes read."""
    digest = hashlib.sha256()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    size = 0
    while True:
        count = stream.readinto(view)
        if not count:
            break
        digest.update(view[:count])
        size += count
        if progress is not None:
            progress(count)
    return digest.digest(), size


def _what_changed(before: os.stat_result, after: os.stat_result) -> str | None:
    """How a file changed between two of its status records, or ``None`` if it did not."""
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        return "it was replaced by another file"
    if after.st_size != before.st_size:
        return f"its size went from {before.st_size:,} to {after.st_size:,} bytes"
    if (after.st_mtime_ns, after.st_ctime_ns) != (before.st_mtime_ns, before.st_ctime_ns):
        return "it was modified"
    return None


def _hash_file(
    path: str,
    *,
    follow_symlinks: bool,
    chunk_size: int,
    progress: ProgressCallback | None,
) -> tuple[bytes, os.stat_result]:
    """The SHA-256 of the regular file at ``path`` and its status, checked unchanged while it
    was read (see the module documentation); ``progress`` hears the first read only."""
    fd, before = _open_regular(path, follow_symlinks=follow_symlinks, shown=path)
    recent = time.time_ns() - max(before.st_mtime_ns, before.st_ctime_ns) < _RECENT_CHANGE_NS
    again: bytes | None = None
    try:
        with open(fd, "rb", buffering=0, closefd=True) as stream:
            digest, size = _digest(stream, chunk_size, progress)
            if before.st_size <= SECOND_PASS_MAX_BYTES or recent:
                stream.seek(0)
                again = _digest(stream, chunk_size, None)[0]
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


def _check_chunk_size(chunk_size: int) -> None:
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
    _check_chunk_size(chunk_size)
    shown = os.fspath(path)
    return _hash_file(shown, follow_symlinks=True, chunk_size=chunk_size, progress=progress)[0]


# --- manifest paths --------------------------------------------------------------------------


def _path_problem(path: str) -> str | None:
    if not path:
        return "it is empty"
    if "\x00" in path:
        return "it contains a NUL character"
    if path.startswith("/"):
        return "it is absolute; manifest paths are relative to the folder"
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return f"it has an empty, '.' or '..' segment ({part!r}); use a normalised '/' path"
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid UTF-8"
    if not unicodedata.is_normalized("NFC", path):
        return "it is not in Unicode NFC form"
    return None


def normalise_manifest_path(path: str | PurePath) -> str:
    """Return ``path`` as a manifest path: relative, ``/``-separated, Unicode NFC.

    A :class:`~pathlib.PurePath` is converted with ``as_posix()``; in a string, only ``/``
    separates folders.

    Raises:
        UnsupportedPathError: the path is empty, absolute, has ``.``/``..``/empty segments,
            or is not valid Unicode.
    """
    text = path.as_posix() if isinstance(path, PurePath) else path
    if not isinstance(text, str):
        raise UnsupportedPathError(repr(text), "a manifest path must be text")
    try:
        normalised = unicodedata.normalize("NFC", text)
    except UnicodeError as exc:  # pragma: no cover - normalize does not fail on str today
        raise UnsupportedPathError(text, str(exc)) from exc
    problem = _path_problem(normalised)
    if problem is not None:
        raise UnsupportedPathError(text, problem)
    return normalised


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
        if not isinstance(self.path, str) or (problem := _path_problem(self.path)) is not None:
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
    problem = _path_problem(path)
    if problem is not None:
        raise MalformedManifestError(f"files[{i}].path {path!r} is not a manifest path: {problem}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise MalformedManifestError(
            f"files[{i}].size of {path!r} must be a non-negative integer, got {size!r:.80}"
        )
    return ManifestEntry(path, _manifest_hash(item.get("sha256"), f"files[{i}].sha256"), size)


# --- folders --------------------------------------------------------------------------------


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _name(raw: str, parent: str, full: str) -> str:
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedPathError(
            full, "its name is not valid UTF-8, so it has no portable manifest path"
        ) from None
    name = unicodedata.normalize("NFC", raw)
    return f"{parent}/{name}" if parent else name


def _walk(folder: str) -> list[tuple[str, str]]:
    """Return ``(manifest path, filesystem path)`` of every regular file under ``folder``."""
    files: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    pending: list[tuple[str, str]] = [(folder, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            with os.scandir(directory) as scan:
                children = list(scan)
        except OSError as exc:
            raise PathAccessError(directory, exc.strerror or str(exc)) from exc
        for child in children:
            relative = _name(child.name, prefix, child.path)
            if relative in seen:
                raise UnsupportedPathError(
                    child.path,
                    f"its name and that of {seen[relative]!r} are the same after Unicode NFC "
                    f"normalisation ({relative!r})",
                )
            seen[relative] = child.path
            try:
                if child.is_symlink():
                    raise SymlinkNotAllowedError(child.path, _readlink(child.path))
                if child.is_dir(follow_symlinks=False):
                    pending.append((child.path, relative))
                elif child.is_file(follow_symlinks=False):
                    files.append((relative, child.path))
                else:
                    raise UnsupportedPathError(
                        child.path, "it is not a regular file or folder (a device, socket or pipe)"
                    )
            except OSError as exc:
                raise PathAccessError(child.path, exc.strerror or str(exc)) from exc
    files.sort()
    return files


def folder_manifest(
    path: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> FolderManifest:
    """Hash every file under the folder ``path`` and return its manifest (root included).

    See the module documentation for what is covered and refused. ``progress``, if given, is
    called after each chunk of each file with the chunk's length.

    Raises:
        PathAccessError: the folder or a file under it cannot be read.
        UnsupportedPathError: ``path`` is not a folder, or holds a special file or a name
            that is not valid UTF-8 or collides with another after NFC normalisation.
        SymlinkNotAllowedError: the folder holds a symbolic link.
        EmptyFolderError: the folder holds no file at any depth.
        ChangedWhileHashingError: a file changed after it was read, or a file was added to or
            removed from the folder, before the last file was hashed.
    """
    _check_chunk_size(chunk_size)
    folder = os.fspath(path)
    try:
        mode = os.stat(folder).st_mode
    except OSError as exc:
        raise PathAccessError(folder, exc.strerror or str(exc)) from exc
    if not stat.S_ISDIR(mode):
        raise UnsupportedPathError(folder, "it is not a folder")
    files = _walk(folder)
    if not files:
        raise EmptyFolderError(folder)
    entries, states = [], []
    for relative, full in files:
        try:
            digest, state = _hash_file(
                full, follow_symlinks=False, chunk_size=chunk_size, progress=progress
            )
        except PathAccessError:
            if not os.path.lexists(full):
                raise ChangedWhileHashingError(folder, f"{relative!r} was removed") from None
            raise
        entries.append(ManifestEntry(relative, digest, state.st_size))
        states.append(state)
    _check_folder_unchanged(folder, files, states)
    return FolderManifest.from_entries(entries)


def _check_folder_unchanged(
    folder: str, files: list[tuple[str, str]], states: list[os.stat_result]
) -> None:
    """Refuse a folder whose files changed after they were read, or whose listing changed while
    they were: the manifest must be of one state the folder was in."""
    for (_, full), state in zip(files, states, strict=True):
        try:
            current = os.stat(full, follow_symlinks=False)
        except FileNotFoundError:
            raise ChangedWhileHashingError(full, "it was removed or renamed") from None
        except OSError as exc:
            raise PathAccessError(full, exc.strerror or str(exc)) from exc
        reason = _what_changed(state, current)
        if reason is not None:
            raise ChangedWhileHashingError(full, reason)
    listing = _walk(folder)
    if listing != files:
        then, now = {path for path, _ in files}, {path for path, _ in listing}
        if added := sorted(now - then):
            raise ChangedWhileHashingError(folder, f"{added[0]!r} was added")
        if removed := sorted(then - now):
            raise ChangedWhileHashingError(folder, f"{removed[0]!r} was removed")
        raise ChangedWhileHashingError(folder, "a file was renamed")


def content_hash(
    path: str | os.PathLike[str], *, progress: ProgressCallback | None = None
) -> bytes:
    """Return the content hash of a file (its SHA-256) or of a folder (its manifest root).

    Raises:
        PathAccessError: ``path`` does not exist or cannot be read.
        UnsupportedPathError: ``path`` is a special file, or see :func:`folder_manifest`.
    """
    shown = os.fspath(path)
    try:
        mode = os.stat(shown).st_mode
    except OSError as exc:
        raise PathAccessError(shown, exc.strerror or str(exc)) from exc
    if stat.S_ISDIR(mode):
        return folder_manifest(shown, progress=progress).root
    return sha256_file(shown, progress=progress)


# --- proving one file --------------------------------------------------------------------------


def file_membership_proof(manifest: FolderManifest, path: str | PurePath) -> tuple[bytes, ...]:
    """Return the Merkle proof that the file ``path`` is part of the folder ``manifest``.

    With the file's SHA-256 and path, the proof re-derives the manifest root
    (:func:`verify_file_membership`, or ``MerkleProof.verify`` on-chain with the leaf
    :func:`~provledger.merkle.folder_leaf_hash`) without the other files.

    Raises:
        FileNotInManifestError: no file of the manifest has that path.
        ManifestRootMismatchError: the manifest's entries do not hash to its root.
    """
    entry = manifest.entry(path)
    tree = manifest.tree
    if tree.root != manifest.root:
        raise ManifestRootMismatchError(manifest.root, tree.root)
    return tree.proof_for((entry.path, entry.sha256))


def verify_file_membership(root: bytes, path: str, sha256: bytes, proof: Sequence[bytes]) -> bool:
    """Return whether ``proof`` shows a file ``(path, sha256)`` is in the folder with ``root``.

    ``path`` is normalised as :func:`normalise_manifest_path` does.
    """
    return verify(root, folder_leaf_hash(normalise_manifest_path(path), sha256), proof)
