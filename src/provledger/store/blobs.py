"""Off-chain documents (metadata documents, batch manifests) in a content-addressed folder.

A document is stored under its SHA-256, the hash the chain anchors: ``<root>/ab/cd/<64 hex>``.
Blobs never change, so a write goes to a temporary file renamed into place (a reader sees a
whole document or none), and storing a document twice is a no-op. The database holds no blob.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from provledger.errors import InputError
from provledger.params import InvalidParameterError, parse_hash

#: A blob's file name: its SHA-256 in the stored form (64 lowercase hex digits), no ``0x``.
_BLOB_NAME: Final = re.compile(r"[0-9a-f]{64}")


class BlobHashError(InputError):
    """A blob name that is not a SHA-256."""

    template = "not a SHA-256 (0x and 64 hex digits): {value!r}"
    value: str


def normalise_hash(value: str) -> str:
    """A SHA-256 as written by :func:`provledger.params.parse_hash`, in its stored form (``0x`` +
    64 lowercase hex digits), or :class:`BlobHashError`."""
    try:
        return parse_hash(value, "sha256")
    except InvalidParameterError:
        raise BlobHashError(value) from None


class BlobStore:
    """A content-addressed folder of documents."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the blob of ``sha256`` lives (whether or not it exists)."""
        digits = normalise_hash(sha256)[2:]
        return self.root / digits[:2] / digits[2:4] / digits

    def keep(self, data: bytes) -> bytes:
        """Store ``data``; return its SHA-256 as the bytes32 the chain records for it."""
        return bytes.fromhex(self.put(data)[2:])

    def put(self, data: bytes) -> str:
        """Store ``data``; return its SHA-256 (``0x`` hex)."""
        sha256 = "0x" + hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def get(self, sha256: str) -> bytes | None:
        """The blob of ``sha256``, or None if this folder does not hold it."""
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def hashes(self) -> Iterator[str]:
        """Every stored blob's SHA-256."""
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if not first.is_dir() or len(first.name) != 2:
                continue
            for second in sorted(first.iterdir()):
                if not second.is_dir():
                    continue
                for entry in sorted(second.iterdir()):
                    if _is_blob_name(entry.name):
                        yield "0x" + entry.name


def _is_blob_name(name: str) -> bool:
    """Whether ``name`` names a blob: a SHA-256 in its stored form, without the ``0x``."""
    return _BLOB_NAME.fullmatch(name) is not None
