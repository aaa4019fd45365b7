"""One webhook POST and its outcome, over a thread's keep-alive connections.

:func:`post` checks the target (:func:`~provledger.services.notify.webhook.checked_target`,
again once :data:`CHECK_SECONDS` have passed) and connects to an address that check found: the
name is not resolved a second time, so a name that points elsewhere by then cannot turn the
delivery to another host. Connections are :mod:`http.client`'s, kept open per target in a
:class:`Connections` (one per worker thread), without proxies or ``.netrc`` from the
environment; redirects are not followed. :func:`post` never raises for what the receiver or the
network does: it returns an :class:`Outcome`, whose one-line ``error`` is kept with the
delivery attempt."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from provledger.services.notify.webhook import (
    Resolver,
    Target,
    WebhookTargetError,
    checked_target,
    default_resolve,
)

#: The ``User-Agent`` of every delivery.
USER_AGENT: Final = "provledger-notify"
#: The most of a receiver's answer read (and dropped): enough for a short body, so the
#: connection serves the next delivery.
ANSWER_READ_BYTES: Final = 64 << 10
#: The most addresses of a target a new connection is tried at, in the resolver's order.
ADDRESSES_TRIED: Final = 3
#: The most connections one thread keeps open; past it the least recently used is closed.
MAX_CONNECTIONS: Final = 64
#: How long a webhook target's check (and what its name resolved to) is used for deliveries.
CHECK_SECONDS: Final = 5.0
_CHECKED_MAX: Final = 10_000
#: What a kept-alive connection the receiver has closed in the meantime fails with when it is
#: used again, before any answer: the POST is made once more on a new connection.
_STALE: Final = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to: delivered (a 2xx answer) or not, the HTTP status if
    the receiver answered, and otherwise why not, in one line (``HTTP 500``, ``timed out after
    10 s``, ``connection refused``, a refused target's reason)."""

    delivered: bool
    status: int | None
    error: str | None


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to ``host`` (its ``Host`` header) made to the checked ``address``."""

    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection made to the checked ``address``, its certificate checked for
    ``host`` (the system's trusted roots)."""

    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=_TLS)
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock = _TLS.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


_TLS: Final = ssl.create_default_context()


class Connections:
    """One thread's open connections, one per target and address (not shared between
    threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._open: dict[tuple[str, str, int, str], http.client.HTTPConnection] = {}
        self._checked: dict[tuple[str, bool], tuple[Target, float]] = {}
        self._clock = clock

    def target(self, url: str, *, allow_private: bool, resolve: Resolver) -> Target:
        """``url`` checked (:func:`~provledger.services.notify.webhook.checked_target`), again
        once :data:`CHECK_SECONDS` have passed since the last check: a name is looked up no
        more often (a connection goes to an address the check found, whenever it was)."""
        now = self._clock()
        found = self._checked.get((url, allow_private))
        if found is not None and now - found[1] < CHECK_SECONDS:
            return found[0]
        checked = checked_target(url, allow_private=allow_private, resolve=resolve)
        if len(self._checked) >= _CHECKED_MAX:
            self._checked.clear()
        self._checked[url, allow_private] = (checked, now)
        return checked

    def open(self, target: Target, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """A connection to ``target`` and whether it was open already: one kept open to any of
        its addresses, else a new one to the first of them (up to :data:`ADDRESSES_TRIED`) that
        accepts it. Raises the last address's :class:`OSError` when none does."""
        for address in target.addresses:
            found = self._open.pop(self._key(target, address), None)
            if found is not None and found.sock is not None:
                self._open[self._key(target, address)] = found  # the most recently used, last
                found.timeout = timeout
                found.sock.settimeout(timeout)
                return found, True
            if found is not None:
                found.close()
        failure: OSError | None = None
        for address in target.addresses[:ADDRESSES_TRIED]:
            kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
            made = kind(target, address, timeout)
            try:
                made.connect()
            except OSError as error:  # refused, unreachable, timed out: the next address
                made.close()
                failure = error
                continue
            if len(self._open) >= MAX_CONNECTIONS:
                self._open.pop(next(iter(self._open))).close()
            self._open[self._key(target, address)] = made
            return made, False
        assert failure is not None  # a checked target has an address
        raise failure

    @staticmethod
    def _key(target: Target, address: str) -> tuple[str, str, int, str]:
        return (target.scheme, target.host, target.port, address)

    def drop(self, connection: http.client.HTTPConnection) -> None:
        """Close ``connection`` and forget it."""
        connection.close()
        self._open = {key: item for key, item in self._open.items() if item is not connection}

    def close(self) -> None:
        """Close every connection."""
        for connection in self._open.values():
            connection.close()
        self._open.clear()


def post(
    connections: Connections,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allow_private: bool,
    resolve: Resolver = default_resolve,
) -> Outcome:
    """POST ``body`` with ``headers`` (the caller's Content-Type and signature; ``User-Agent``
    is set here) to webhook ``url``, and say what came of it; never raises for what the
    receiver or the network does.

    The target is checked again first (unless it was less than :data:`CHECK_SECONDS` ago):
    what the host resolves to may have changed since the subscription was made; a refused one
    is not delivered, its reason the error. A new connection goes to the first address that
    accepts it. ``timeout`` (seconds) bounds each connection attempt and each read. Redirects
    are not followed: only a 2xx answer is a delivery. An answer's body is read (and dropped)
    only when it states a length of at most :data:`ANSWER_READ_BYTES`; any other closes the
    connection.
    """
    try:
        target = connections.target(url, allow_private=allow_private, resolve=resolve)
    except WebhookTargetError as refused:
        return Outcome(delivered=False, status=None, error=refused.reason)
    sent = {name: value for name, value in headers.items() if name.lower() != "user-agent"}
    sent["User-Agent"] = USER_AGENT
    connection: http.client.HTTPConnection | None = None
    try:
        connection, reused = connections.open(target, timeout)
        try:
            status = _exchange(connection, target, body, sent)
        except _STALE:
            if not reused:
                raise
            connections.drop(connection)  # closed by the receiver while idle: once more
            connection, _ = connections.open(target, timeout)
            status = _exchange(connection, target, body, sent)
    except TimeoutError:
        if connection is not None:
            connections.drop(connection)
        return Outcome(delivered=False, status=None, error=f"timed out after {timeout:g} s")
    except (OSError, http.client.HTTPException, ValueError) as error:
        if connection is not None:  # ValueError: a header value http.client will not send
            connections.drop(connection)
        return Outcome(delivered=False, status=None, error=_failure(error))
    if 200 <= status < 300:
        return Outcome(delivered=True, status=status, error=None)
    return Outcome(delivered=False, status=status, error=f"HTTP {status}")


def _exchange(
    connection: http.client.HTTPConnection, target: Target, body: bytes, headers: dict[str, str]
) -> int:
    """Send the POST and read the answer; its status. An answer's body is read (and dropped)
    only when it says its length and that is at most :data:`ANSWER_READ_BYTES`; any other
    answer (chunked, longer, or as long as the connection) closes the connection instead."""
    connection.request("POST", target.path, body=body, headers=headers)
    answer = connection.getresponse()
    if answer.length is not None and answer.length <= ANSWER_READ_BYTES:
        answer.read()
    if not answer.isclosed():  # the connection cannot serve another request
        connection.close()
    return answer.status


def _failure(error: BaseException) -> str:
    """One line saying why a request that got no answer failed."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS failed: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError | http.client.RemoteDisconnected):
        return "connection reset by the receiver"
    if isinstance(error, http.client.HTTPException):
        return f"the answer is not HTTP ({type(error).__name__})"
    if isinstance(error, ValueError):
        return f"the request could not be sent ({error})"
    if isinstance(error, OSError) and error.strerror:
        return f"connection failed: {error.strerror}"
    return f"connection failed ({type(error).__name__})"
