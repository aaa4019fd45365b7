"""The gateway that ``benchmarks/delivery.py`` measures: ``provledger serve``'s app, one worker,
with one more route, ``GET /plain``, answering the plaintext file with Starlette's
``FileResponse`` (the baseline the data room's downloads are compared with, from the same
server process).

    python benchmarks/delivery_app.py --port P

Settings come from the ``PROVLEDGER_*`` variables as for ``provledger serve``; the plain file is
the one :data:`PLAIN_FILE_ENV` names. With :data:`PROFILE_ENV` set to a folder, every thread of
the server runs under ``cProfile`` and writes ``<thread name>.prof`` there when the server stops
(a look at where a download's time goes; it slows everything down, so no figure measured with
it means anything).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Final

import uvicorn
from fastapi import FastAPI
from fastapi.responses import FileResponse

from provledger.api import server
from provledger.api.app import app_from_environment
from provledger.config import Settings

#: The variable naming the plaintext file ``GET /plain`` answers with.
PLAIN_FILE_ENV: Final = "PROVLEDGER_BENCH_PLAIN_FILE"
#: The variable naming a folder to write the server's per-thread profiles to.
PROFILE_ENV: Final = "PROVLEDGER_BENCH_PROFILE"


def app() -> FastAPI:
    """The gateway of the environment's settings, plus ``GET /plain``."""
    gateway = app_from_environment()
    plain = Path(os.environ[PLAIN_FILE_ENV])

    @gateway.get("/plain", include_in_schema=False)
    async def plain_file() -> FileResponse:
        """The plaintext file, as a plain file response."""
        return FileResponse(plain, media_type="application/octet-stream")

    return gateway


class _Profiles:
    """One ``cProfile.Profile`` per thread, started as the thread starts, dumped at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.profiles: dict[str, cProfile.Profile] = {}

    def start(self) -> None:
        """Profile this thread and every thread started from now on."""
        threading.setprofile(self._thread_started)
        self._begin()

    def _thread_started(self, *_: Any) -> None:
        sys.setprofile(None)
        self._begin()

    def _begin(self) -> None:
        profile = cProfile.Profile()
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", threading.current_thread().name)
        with self.lock:
            self.profiles[f"{name}-{threading.get_ident()}"] = profile
        profile.enable()

    def dump(self) -> None:
        """Write every thread's profile as it stands."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.lock:
            for name, profile in self.profiles.items():
                profile.create_stats()
                profile.dump_stats(self.folder / f"{name}.prof")


def _exit(*_: Any) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    """Serve :func:`app` on 127.0.0.1 until stopped."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    args = parser.parse_args(argv)
    profiles = None
    if folder := os.environ.get(PROFILE_ENV):
        profiles = _Profiles(Path(folder))
        profiles.start()
        # uvicorn raises the stop signal again once it has stopped: end through `finally`
        signal.signal(signal.SIGTERM, _exit)
    server.quiet_cancellations()
    config = uvicorn.Config(
        app, factory=True, host="127.0.0.1", port=args.port, **server.options(Settings())
    )
    try:
        uvicorn.Server(config).run()
    finally:
        if profiles is not None:
            profiles.dump()


if __name__ == "__main__":
    main()
