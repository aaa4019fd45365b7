"""The gateway's HTTP/1.1 connection: uvicorn's httptools protocol with limits on what a client
may send before the application sees a request.

httptools accumulates a request line and each header in memory until it ends, so a client
could otherwise send a header of any size, any number of headers, or a head one byte every
few seconds and hold a connection for ever. Here:

- the request head (request line and headers) is fed to the parser at most
  ``max_header_bytes`` at a time and refused with 431 when it has not ended by then, so the
  parser never holds more than that; a request line over ``max_request_line`` is refused with
  414, more than ``max_headers`` header fields with 431;
- a head must arrive within ``header_timeout`` seconds of its first byte (or of the connection)
  and a body may not pause longer than ``body_timeout`` while the application waits for it
  (408); an idle keep-alive connection closes after ``keep_alive_timeout`` (uvicorn's own);
- a worker holds at most ``max_connections`` connections; one more is answered 503 with
  ``Retry-After`` and closed.

Refusals are problem+json with the security headers of every other answer, and close the
connection.
"""

from __future__ import annotations

import asyncio
import functools
from asyncio import TimerHandle
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from provledger.api.problems import PROBLEM_JSON, problem_document
from provledger.api.security import HEADERS
from provledger.config import Settings
from provledger.errors import ProvledgerError


@dataclass(frozen=True)
class HttpLimits:
    """What a client may send before the application sees a request (see the module)."""

    max_request_line: int = 8 << 10
    max_header_bytes: int = 32 << 10
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 1000

    @classmethod
    def of(cls, settings: Settings) -> HttpLimits:
        """The limits the settings name."""
        return cls(
            max_request_line=settings.http_max_request_line,
            max_header_bytes=settings.http_max_header_bytes,
            max_headers=settings.http_max_headers,
            header_timeout=settings.http_header_timeout,
            body_timeout=settings.http_body_timeout,
            keep_alive_timeout=settings.http_keep_alive_timeout,
            max_connections=settings.http_max_connections,
        )

    def protocol(self) -> Any:
        """The protocol factory to give uvicorn as its ``http`` option (picklable, for the
        workers of a multi-process gateway)."""
        return functools.partial(LimitedHttpProtocol, limits=self)


class _RefusedError(ProvledgerError):
    """Raised in a parser callback to stop parsing; the refusal is on the protocol."""


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with :class:`HttpLimits`."""

    def __init__(self, *args: Any, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._head_open = True  # between the end of one message and the end of the next head
        self._head_bytes = 0
        self._url_bytes = 0
        self._header_count = 0
        self._refusal: tuple[int, str] | None = None
        self._head_timer: TimerHandle | None = None
        self._body_timer: TimerHandle | None = None

    # ------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, "this worker holds too many connections; try again", retry_after=1)
            return
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None or self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        if self._head_open and self._head_timer is None:
            self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_late)
        elif not self._head_open:
            self._arm_body_timer()
        try:
            while data:
                if not self._head_open:
                    self.parser.feed_data(data)
                    break
                # Feed the head no further than its limit: the parser keeps what it has not
                # finished (a header value) in memory.
                room = self.limits.max_header_bytes - self._head_bytes
                piece, data = data[:room], data[room:]
                self._head_bytes += len(piece)
                self.parser.feed_data(piece)
                if self._head_open and self._head_bytes >= self.limits.max_header_bytes:
                    self._refuse(
                        431,
                        f"the request head is longer than {self.limits.max_header_bytes:,} bytes",
                    )
                    return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            # A callback's refusal (414, 431) stops the parser with an error too.
            if not self._refused():
                self._refusal = (400, "the request is not valid HTTP/1.1")
            self._send_refusal()

    # ------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._url_bytes = 0
        self._header_count = 0

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_request_line:
            self._refusal = (
                414,
                f"the request target is longer than {self.limits.max_request_line:,} bytes",
            )
            raise _RefusedError
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._refusal = (431, f"more than {self.limits.max_headers} header fields")
            raise _RefusedError
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_open = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._arm_body_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_open, self._head_bytes = True, 0
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    # ------------------------------------------------------------ timeouts and refusals

    def _arm_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
        self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_late)

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self._head_open and not self.transport.is_closing():
            self._refuse(
                408, f"the request head did not arrive within {self.limits.header_timeout:g} s"
            )

    def _body_late(self) -> None:
        self._body_timer = None
        if self._head_open or self.transport.is_closing():
            return
        if self.flow.read_paused:  # the application is not reading: not the client's delay
            self._arm_body_timer()
            return
        self._refuse(408, f"the request body paused longer than {self.limits.body_timeout:g} s")

    def _refused(self) -> bool:
        return self._refusal is not None

    def _refuse(self, status: int, detail: str, retry_after: int | None = None) -> None:
        self._refusal = (status, detail)
        self._send_refusal(retry_after)

    def _send_refusal(self, retry_after: int | None = None) -> None:
        """Answer the refusal (unless a response has begun on this connection) and close."""
        assert self._refusal is not None
        status, detail = self._refusal
        self.logger.info("refused a request from %s: %s", self.client, detail)
        self._cancel_timers()
        cycle = self.cycle
        busy = cycle is not None and not cycle.response_complete
        if busy:  # the application's answer, if it comes, goes nowhere
            cycle.disconnected = True
            cycle.message_event.set()
        if not (busy and cycle.response_started):
            self.transport.write(_refusal_bytes(status, detail, retry_after))
        self.transport.close()


def _refusal_bytes(status: int, detail: str, retry_after: int | None) -> bytes:
    body = orjson.dumps(problem_document(status, detail, ""))
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
    head += [b"content-type: " + PROBLEM_JSON.encode(), b"content-length: %d" % len(body)]
    head += [b"connection: close"]
    head += [name + b": " + value for name, value in HEADERS]
    if retry_after is not None:
        head.append(b"retry-after: %d" % retry_after)
    return b"\r\n".join(head) + b"\r\n\r\n" + body
