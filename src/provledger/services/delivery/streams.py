"""How the data room's bytes move: byte ranges of a download, an upload's capped chunks, a
folder's tar stream read as it arrives, and the paths of its files."""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Final

from provledger.hashing.paths import normalise_manifest_path
from provledger.services.delivery.envelope import SEGMENT_SIZE
from provledger.services.delivery.errors import BadUploadError, RangeNotSatisfiableError
from provledger.services.verification import UploadTooLargeError

#: The media type of a dataset folder's upload: an uncompressed tar stream of its files.
TAR: Final = "application/x-tar"


@dataclass(frozen=True)
class ByteRange:
    """Plaintext bytes ``[start, end)`` of a download."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range of an HTTP ``Range`` header (RFC 9110), or None for the whole.

    Forms: ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``. A range list or another unit is served
    whole, as RFC 9110 allows; a range starting at or past the end is not satisfiable.
    """
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                raise RangeNotSatisfiableError(size, header)
            return ByteRange(max(0, size - suffix), size)
        start = int(first)
        end = size if last == "" else int(last) + 1
    except ValueError:
        return None
    if start < 0 or (end <= start and start < size):
        return None
    if start >= size:
        raise RangeNotSatisfiableError(size, header)
    return ByteRange(start, min(end, size))


def member_path(name: str) -> str:
    """A folder file's path as the manifest writes it; refuses paths that leave the folder."""
    path = normalise_manifest_path(name.removeprefix("./"))
    if path.startswith("/") or any(part in ("", ".", "..") for part in path.split("/")):
        raise BadUploadError(f"{name!r} is not a relative path inside the folder")
    return path


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def capped(chunks: Iterable[bytes], cap: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > cap:
            raise UploadTooLargeError("body", cap)
        yield chunk


def read_blocks(source: IO[bytes]) -> Iterator[bytes]:
    while block := source.read(SEGMENT_SIZE):
        yield block


class ChunkReader(io.RawIOBase):
    """A readable stream over an iterator of chunks, for tarfile's stream mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = chunk
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size
