"""Reading a file to hash it: opened without following links or blocking, read in chunks."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Callable
from typing import Final

from provledger.errors import PathAccessError, SymlinkNotAllowedError, UnsupportedPathError
from provledger.hashing.paths import link_target

ProgressCallback = Callable[[int], None]
"""Called after each chunk is hashed with the number of bytes in that chunk."""

# Open without blocking (a FIFO would otherwise hang before we can see it is one), never
# inherit the descriptor, and read binary on Windows.
_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)


def open_regular(path: str, *, follow_symlinks: bool, shown: str) -> tuple[int, os.stat_result]:
    """A blocking descriptor of the regular file at ``path`` and its status; a folder, a special
    file or (unless ``follow_symlinks``) a link is refused, named as ``shown``."""
    flags = _OPEN_FLAGS if follow_symlinks else _OPEN_FLAGS | _NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_symlinks and os.path.islink(path):
            raise SymlinkNotAllowedError(shown, link_target(path)) from exc
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


def read_digest(
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
