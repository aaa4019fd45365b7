"""Another writer of a file while provledger hashes it, at a moment the test chooses.

:class:`ConcurrentWriter` is handed to the hashing as its progress callback (or chained into
one): once the hashing has read ``after_bytes`` of its input, a second thread changes the file
(rewrites it in place, appends, truncates, replaces it by a rename, removes it, or creates
it) while the
hashing still holds the file open mid-read, and the hashing goes on once that thread is done.
The change always lands between two reads, so the test needs no timing.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

MIB = 1 << 20
HOUR_NS = 3600 * 10**9

Change = Literal["rewrite", "append", "truncate", "replace", "remove", "create"]


def settled_file(path: Path, size: int, fill: bytes = b"old content, ") -> Path:
    """Write ``size`` bytes to ``path`` and date its modification an hour back, as a file at
    rest before the writer starts is (so that any later write moves its modification time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pattern = (fill * (MIB // len(fill) + 1))[:MIB]
    with path.open("wb") as handle:
        for _ in range(size // MIB):
            handle.write(pattern)
        handle.write(pattern[: size % MIB])
    old = time.time_ns() - HOUR_NS
    os.utime(path, ns=(old, old))
    return path


@dataclass
class ConcurrentWriter:
    """Changes ``path`` from another thread once the hashing has read ``after_bytes``."""

    path: Path
    change: Change = "rewrite"
    after_bytes: int = 1
    read: int = 0
    done: bool = False
    errors: list[BaseException] = field(default_factory=list)

    def __call__(self, count: int) -> None:
        """The progress callback: count the bytes read, and change the file once."""
        self.read += count
        if self.done or self.read < self.after_bytes:
            return
        self.done = True
        worker = threading.Thread(target=self._run, name=f"writer of {self.path.name}")
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), "the writer did not finish"
        if self.errors:
            raise self.errors[0]

    def chained(self, progress: Callable[[int], None] | None) -> Callable[[int], None]:
        """A progress callback that calls ``progress`` too (the CLI's progress bar)."""

        def both(count: int) -> None:
            if progress is not None:
                progress(count)
            self(count)

        return both

    def _run(self) -> None:
        try:
            self._change()
        except BaseException as error:  # handed to the hashing thread
            self.errors.append(error)

    def _change(self) -> None:
        new = b"NEW CONTENT! " * (MIB // 13 + 1)
        if self.change == "create":
            self.path.write_bytes(new[:100])
            return
        size = self.path.stat().st_size
        if self.change == "rewrite":  # same size, same inode, other bytes
            with self.path.open("r+b") as handle:
                for offset in range(0, size, MIB):
                    handle.write(new[: min(MIB, size - offset)])
        elif self.change == "append":
            with self.path.open("ab") as handle:
                handle.write(new[:4096])
        elif self.change == "truncate":
            os.truncate(self.path, size // 2)
        elif self.change == "replace":  # a new file renamed over the old name
            fresh = self.path.with_name(self.path.name + ".new")
            fresh.write_bytes(new[:4096])
            os.replace(fresh, self.path)
        else:
            self.path.unlink()
