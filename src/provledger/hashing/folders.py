"""A dataset folder's content hash: the manifest of every file under it, and proofs of one file.

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

A folder is refused if any of its files changed after it was read or its listing changed before
the last file was done (:class:`~provledger.errors.ChangedWhileHashingError`).
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Sequence
from pathlib import PurePath

from provledger.errors import (
    ChangedWhileHashingError,
    EmptyFolderError,
    ManifestRootMismatchError,
    PathAccessError,
    SymlinkNotAllowedError,
    UnsupportedPathError,
)
from provledger.hashing import (
    DEFAULT_CHUNK_SIZE,
    FolderManifest,
    ManifestEntry,
    ProgressCallback,
    check_chunk_size,
    check_unchanged,
    hash_regular_file,
    sha256_file,
)
from provledger.hashing.paths import link_target, normalise_manifest_path
from provledger.merkle import folder_leaf_hash, verify


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
                    raise SymlinkNotAllowedError(child.path, link_target(child.path))
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
    check_chunk_size(chunk_size)
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
            digest, state = hash_regular_file(
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
        check_unchanged(full, state)
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
