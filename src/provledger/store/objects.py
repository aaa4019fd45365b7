"""Object storage for the data room, through obstore: a local folder, S3, GCS, Azure or memory.

:meth:`ObjectStorage.open` takes a URL (``s3://bucket/prefix``, ``gs://…``, ``az://…``,
``file:///…``, ``memory://``, ``http(s)://…``) or a local folder path. Objects stream in
(multipart uploads, so memory stays constant whatever the size) and are read back by byte range,
which is what the data room's segment-wise decryption needs. Credentials come from the backend's
usual environment (``AWS_*``, ``GOOGLE_*``, ``AZURE_*``), never from the location, and every
backend failure is one :class:`StorageError` line naming the location and the operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import BaseError
from obstore.store import LocalStore, from_url

from provledger.errors import ProvledgerError, ServiceUnavailableError

if TYPE_CHECKING:
    from obstore.store import ObjectStore

#: Bytes per part of a multipart upload (obstore's default, and S3's minimum part but the last).
PART_SIZE: Final = 5 * 1024 * 1024
#: Parts uploaded at once: bounds the memory an upload holds to about this many parts.
_PARTS_IN_FLIGHT: Final = 4


class StorageError(ServiceUnavailableError):
    """The object storage failed an operation (unreachable, refused, misconfigured)."""

    template = "object storage {location} failed to {operation}: {detail}"
    location: str
    operation: str
    detail: str


class ObjectMissingError(ProvledgerError):
    """An object was asked for that the storage does not hold."""

    template = "the object storage holds no object named {name!r}"
    name: str


class _CountedChunks:
    """The chunks of an upload, counted as the backend takes them; an exception the chunks raise
    is remembered so that it passes through as it is instead of as a storage failure."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self.size = 0
        self.failure: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            raise
        except BaseException as error:
            self.failure = error
            raise
        self.size += len(chunk)
        return chunk


@dataclass(frozen=True)
class _Location:
    """Where a storage is: as messages show it, as it was given, and the parts of what was given
    that messages must never show (a password, a query's signature or token)."""

    public: str
    given: str = field(default="", repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def of_url(cls, url: str) -> _Location:
        """``url`` without user information, query or fragment, where credentials could hide."""
        parts = urlsplit(url)
        port = "" if parts.port is None else f":{parts.port}"
        public = f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
        hidden = (parts.password, parts.query, parts.fragment)
        return cls(public, url, tuple(secret for secret in hidden if secret))

    @contextmanager
    def failures(
        self,
        operation: str,
        *,
        missing: str | None = None,
        passing: Callable[[], BaseException | None] | None = None,
    ) -> Iterator[None]:
        """Backend exceptions inside the block as one-line :class:`StorageError`s (or, for an
        absent object named ``missing``, :class:`ObjectMissingError`); ``passing()`` names an
        exception to let through as it is."""
        try:
            yield
        except Exception as error:
            if passing is not None and error is passing():
                raise
            if missing is not None and isinstance(error, FileNotFoundError):
                raise ObjectMissingError(missing) from None
            if not isinstance(error, BaseError | OSError | ValueError):
                raise
            detail = str(error).strip().partition("\n")[0] or type(error).__name__
            if self.given:
                detail = detail.replace(self.given, self.public)
            for secret in self.secrets:
                detail = detail.replace(secret, "…")
            raise StorageError(self.public, operation, detail) from None


class ObjectStorage:
    """Named objects in one storage location (a bucket and prefix, or a folder)."""

    def __init__(self, store: ObjectStore, where: _Location) -> None:
        self._store = store
        self._where = where

    @property
    def location(self) -> str:
        """Where the objects are, for messages (no credentials)."""
        return self._where.public

    @classmethod
    def open(cls, location: str) -> ObjectStorage:
        """The storage at ``location``: a URL with a scheme goes to the backend it names, anything
        else is a local folder (created if missing)."""
        if "://" in location:
            where = _Location.of_url(location)
            with where.failures("open"):
                if urlsplit(location).scheme == "file":
                    return cls(from_url(location, mkdir=True), where)
                return cls(from_url(location), where)
        folder = Path(location).expanduser().absolute()
        where = _Location(str(folder))
        with where.failures("open"):
            return cls(LocalStore(prefix=folder, mkdir=True), where)

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        """Store ``chunks`` as the object ``name`` (replacing any) as they stream; return its
        size. The object appears whole or not at all; an exception the chunks raise passes
        through."""
        counted = _CountedChunks(chunks)
        with self._where.failures("store " + name, passing=lambda: counted.failure):
            obstore.put(
                self._store,
                name,
                counted,
                chunk_size=PART_SIZE,
                max_concurrency=_PARTS_IN_FLIGHT,
            )
        return counted.size

    def read(self, name: str, offset: int, length: int) -> bytes:
        """``length`` bytes of ``name`` from ``offset`` (fewer where the object ends first)."""
        if length == 0:
            return b""
        with self._where.failures("read " + name, missing=name):
            return bytes(obstore.get_range(self._store, name, start=offset, length=length))

    def size(self, name: str) -> int:
        """The size of ``name`` in bytes."""
        with self._where.failures("look up " + name, missing=name):
            return obstore.head(self._store, name)["size"]

    def exists(self, name: str) -> bool:
        """Whether the storage holds ``name``."""
        try:
            self.size(name)
        except ObjectMissingError:
            return False
        return True

    def delete(self, name: str) -> None:
        """Remove ``name``; nothing happens if it is not there."""
        try:
            with self._where.failures("delete " + name, missing=name):
                obstore.delete(self._store, name)
        except ObjectMissingError:
            pass

    def rename(self, source: str, target: str) -> None:
        """Move ``source`` to ``target``, replacing any object there (obstore copies and deletes
        where the backend has no rename)."""
        with self._where.failures(f"rename {source} to {target}", missing=source):
            obstore.rename(self._store, source, target)

    def names(self, prefix: str = "") -> Iterator[str]:
        """The names of the objects under ``prefix`` (whole path segments: ``a/`` holds ``a/b``
        but ``a`` does not hold ``ab``), in the backend's order."""
        with self._where.failures("list " + (prefix or "objects")):
            for batch in obstore.list(self._store, prefix or None):
                for meta in batch:
                    yield meta["path"]
