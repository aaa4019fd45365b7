"""What the `provledger data` tests share: a gateway's data-room settings, the `provledger`
executable run as a process, and a proxy that breaks downloads off part way.

:class:`CuttingProxy` stands between the CLI and a gateway on loopback, at the TCP level: it
forwards every connection as it is and notes each request's head; while :attr:`cut` names a
request (``GET /data/0x…``), the answer to that request is cut off after
:attr:`cut_after` bytes (its head included) by closing the connection, as a dropped network
link does.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Final

from helpers.processes import PROVLEDGER, clean_env
from provledger.chain.anvil import free_port

#: Bytes read from a socket at a time.
_BLOCK: Final = 64 * 1024


def room_env(folder: Path, key_file: Path) -> dict[str, str]:
    """The settings of a data room kept in ``folder`` under the master key file ``key_file``."""
    return {
        "PROVLEDGER_DATA_ROOM": "true",
        "PROVLEDGER_DATA_ROOM_STORAGE": str(folder / "objects"),
        "PROVLEDGER_DATA_ROOM_DATABASE_URL": str(folder / "dataroom.sqlite"),
        "PROVLEDGER_DATA_ROOM_MASTER_KEY_FILE": str(key_file),
    }


def run_provledger(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``provledger ARGS`` as a process of its own, with the settings ``env`` only."""
    return subprocess.run(
        [PROVLEDGER, *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class CuttingProxy:
    """A loopback TCP proxy in front of the HTTP server on ``upstream_port``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.heads: list[str] = []
        """The head (request line and headers) of every request, in order."""
        self.cut: str | None = None
        """The request line's start (``GET /data/0x…``) whose answers are cut off."""
        self.cut_after = 0
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """The proxy's URL, the gateway's stand-in."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> CuttingProxy:
        self._spawn(self._accept)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the proxy was closed
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            head = b""
            while b"\r\n\r\n" not in head:
                block = client.recv(_BLOCK)
                if not block:
                    return
                head += block
            text = head.partition(b"\r\n\r\n")[0].decode("latin-1")
            self.heads.append(text)
            budget = self.cut_after if self.cut and text.startswith(self.cut + " ") else None
            upstream.sendall(head)
            self._spawn(_pump, client, upstream, None)  # the rest of a request's body
            _pump(upstream, client, budget)


def _pump(source: socket.socket, sink: socket.socket, budget: int | None) -> None:
    """Copy ``source`` to ``sink`` until either closes, or until ``budget`` bytes have gone:
    then ``sink`` is shut down mid-answer."""
    sent = 0
    with suppress(OSError):
        while block := source.recv(_BLOCK):
            if budget is not None and sent + len(block) >= budget:
                sink.sendall(block[: budget - sent])
                sink.shutdown(socket.SHUT_RDWR)
                return
            sink.sendall(block)
            sent += len(block)
        sink.shutdown(socket.SHUT_WR)
