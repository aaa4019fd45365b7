"""A webhook receiver on a free loopback port that records every POST and answers with a
status of the test's choosing, after a delay if asked.

:class:`Receiver` serves in a daemon thread for the length of a ``with`` block. Each POST is
kept as a :class:`Received` in :attr:`Receiver.received`; :attr:`Receiver.respond` decides the
status (200 by default; a 3xx answer sends ``Location: /followed``, so a client that follows it
shows up as a second request), and :attr:`Receiver.delay` holds every answer back (to provoke a
client's timeout). Both can be changed between requests.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final

#: Where a 3xx answer sends the client.
REDIRECT_PATH: Final = "/followed"
#: How often the serving thread looks for the end of the block (so a test ends promptly).
POLL_SECONDS: Final = 0.02


@dataclass(frozen=True)
class Received:
    """One POST as it arrived: its path, headers (names in lower case), raw body, and when
    (``time.monotonic()``)."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


def always_ok(received: Received) -> int:
    """The default answer: 200 to everything."""
    return 200


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = Received(
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length),
            at=time.monotonic(),
        )
        receiver = self.server.receiver
        receiver.record(received)
        if receiver.delay > 0 and receiver.closing.wait(receiver.delay):
            self.close_connection = True
            return
        status = receiver.respond(received)
        try:
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", REDIRECT_PATH)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:  # the client gave up waiting (a timeout test) and closed its end
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    allow_reuse_address = True  # a receiver back on the port of one that was just closed

    def __init__(self, receiver: Receiver, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.receiver = receiver


class Receiver:
    """A webhook endpoint at :attr:`url` that records what it receives; a context manager
    that serves until the block ends; on ``port`` if given (a receiver back after an outage),
    else on a free one."""

    def __init__(self, port: int = 0) -> None:
        self.respond: Callable[[Received], int] = always_ok
        """The status to answer a POST with, given what arrived."""
        self.delay = 0.0
        """Seconds to wait before answering each POST."""
        self.closing = threading.Event()
        """Set when the block ends: releases the answers held back by :attr:`delay`."""
        self._received: list[Received] = []
        self._changed = threading.Condition()
        self._server = _Server(self, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/hook``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    @property
    def received(self) -> list[Received]:
        """The POSTs received so far, in order (a copy)."""
        with self._changed:
            return list(self._received)

    def record(self, received: Received) -> None:
        """Keep ``received`` (called by the server's threads)."""
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        """The POSTs received once there are at least ``count``; AssertionError with the count
        reached if ``timeout`` seconds pass first."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._received) >= count, timeout):
                raise AssertionError(
                    f"expected {count} deliveries within {timeout} s, got {len(self._received)}"
                )
            return list(self._received)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class KeepAliveReceiver:
    """An HTTP/1.1 endpoint that keeps each connection open across POSTs (answering 200),
    counts the connections and the POSTs, and can close its idle connections
    (:meth:`drop_idle`), as a receiver behind a keep-alive timeout does."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self.connections = 0
        self.posts = 0
        self.reply = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        """The bytes each POST is answered with."""
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/hook``."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/hook"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed: the block ended
                return
            with self._lock:
                self.connections += 1
                self._clients.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        pending = b""
        with client:
            while True:
                while b"\r\n\r\n" not in pending:
                    try:
                        chunk = client.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    pending += chunk
                head, _, pending = pending.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                while len(pending) < length:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    pending += chunk
                pending = pending[length:]
                with self._lock:
                    self.posts += 1
                client.sendall(self.reply)

    def drop_idle(self) -> None:
        """Close every connection (they are idle between the test's POSTs)."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
        time.sleep(0.05)  # the closing reaches the client's socket

    def __enter__(self) -> KeepAliveReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        self.drop_idle()
