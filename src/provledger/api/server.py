"""Running the gateway's workers: one listening socket per worker, balanced by the kernel.

uvicorn's ``--workers`` has every worker accept from one shared socket. Whichever worker wakes
first accepts every connection waiting, so a burst of keep-alive clients (a load balancer's pool,
a benchmark's clients) can land on one worker while the other idles: half the throughput, double
the latency. Here each worker binds its own socket to the address with ``SO_REUSEPORT`` and the
kernel spreads new connections over them by hashing each connection's addresses.

uvicorn's supervisor still starts, watches and restarts the workers. It hands each worker the
"sockets" it was given; what it is given is a :class:`OwnSocket`, which opens a fresh
``SO_REUSEPORT`` socket in the worker when the worker unpickles it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any, Final

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from provledger.api.protocol import HttpLimits
from provledger.config import Settings
from provledger.errors import ProvledgerError

APP: Final = "provledger.api.app:app_from_environment"
#: Seconds the requests in flight at a stop may take before they are cancelled: a stopped
#: gateway exits within 2 s, whatever its clients are sending.
STOP_GRACE_SECONDS: Final = 1


class CannotListenError(ProvledgerError):
    """The gateway's address cannot be bound: something listens on it, or no permission."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}")


def _family(host: str) -> socket.AddressFamily:
    """IPv6 for a host with a colon, else IPv4: as uvicorn chooses (``localhost`` stays on
    127.0.0.1 whatever the worker count)."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def url(host: str, port: int) -> str:
    """The gateway's base URL (an IPv6 host in brackets)."""
    return (
        f"http://[{host}]:{port}" if _family(host) == socket.AF_INET6 else f"http://{host}:{port}"
    )


def bound_socket(host: str, port: int, *, shared: bool) -> socket.socket:
    """A socket bound to ``host:port`` (not listening); ``shared``: with ``SO_REUSEPORT``, so
    that the other workers' sockets may bind the address too. :class:`CannotListenError` if the
    address cannot be bound; a plain bind fails on any listener, with or without
    ``SO_REUSEPORT``."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no listener
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise CannotListenError(host, port, error.strerror or str(error)) from None
    return sock


def worker_socket(host: str, port: int) -> socket.socket:
    """A worker's own shared socket; a worker that cannot bind says why and exits with
    uvicorn's start-up failure code, on which the supervisor stops instead of restarting it."""
    try:
        return bound_socket(host, port, shared=True)
    except CannotListenError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        os._exit(STARTUP_FAILURE)


class WorkerFailedError(ProvledgerError):
    """A worker could not start (it said why), so the gateway stopped."""

    template = "a gateway worker could not start; the gateway stopped"


class OwnSocket:
    """Stands in for a socket in uvicorn's supervisor; a worker unpickles it as its own
    fresh ``SO_REUSEPORT`` socket."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return worker_socket, (self.host, self.port)


def balanced(workers: int, port: int) -> bool:
    """Whether workers get sockets of their own: several workers on a fixed port, on Linux
    (whose ``SO_REUSEPORT`` spreads connections over the sockets; on the BSDs and macOS the
    last socket bound would take them all)."""
    return workers > 1 and port != 0 and sys.platform.startswith("linux")


class _CancelledAtStop(logging.Filter):
    """Drops uvicorn's report of a request it cancelled because the stop's grace ran out (a
    client still sending its body): an expected end at a stop, not an application error worth
    a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


_CANCELLED_AT_STOP: Final = _CancelledAtStop()


def quiet_cancellations() -> None:
    """Keep the requests cancelled at a stop out of this process's log (once per process)."""
    logger = logging.getLogger("uvicorn.error")
    if _CANCELLED_AT_STOP not in logger.filters:
        logger.addFilter(_CANCELLED_AT_STOP)


def options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options every gateway server runs with (``serve``'s workers, the demo's):
    the HTTP limits of :mod:`provledger.api.protocol`, and a stop that does not wait more than
    :data:`STOP_GRACE_SECONDS` for requests in flight."""
    limits = HttpLimits.of(settings)
    return {
        "log_level": "warning",
        "http": limits.protocol(),
        "timeout_keep_alive": limits.keep_alive_timeout,
        "timeout_graceful_shutdown": STOP_GRACE_SECONDS,
    }


class Supervisor(Multiprocess):
    """uvicorn's supervisor of several workers, stoppable at once while they start.

    A terminal's Ctrl-C reaches the workers too: one still importing (its first second or two)
    died of it with a KeyboardInterrupt traceback, so workers start with SIGINT ignored (the
    disposition survives their exec; each worker's server puts in its own handlers once it
    serves), and the supervisor ends them. And a health ping of a worker still importing
    blocks the supervisor, with its handling of the stop signal, for up to
    ``timeout_worker_healthcheck`` (5 s): a worker is not pinged during that long after the
    start.
    """

    def init_processes(self) -> None:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            super().init_processes()
        finally:
            signal.signal(signal.SIGINT, previous)
        self.started_at = time.monotonic()

    def keep_subprocess_alive(self) -> None:
        if time.monotonic() - self.started_at >= self.config.timeout_worker_healthcheck:
            super().keep_subprocess_alive()


def run(host: str, port: int, workers: int, announce: Callable[[str], None]) -> None:
    """Serve the gateway app (settings from the environment) until stopped; ``announce`` is
    given the gateway's URL once its address is bound (:class:`CannotListenError` before anything
    is announced if it cannot be).

    Several workers on Linux bind sockets of their own (:func:`balanced`); otherwise the
    socket is bound here and uvicorn serves from it, in this process or in its workers."""
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, workers=workers, **options(Settings())
    )
    sockets: list[Any]
    if balanced(workers, port):
        # Refuse an address something listens on: the workers' SO_REUSEPORT sockets would
        # otherwise join another server's (a second gateway started by mistake) and share its
        # traffic unnoticed.
        bound_socket(host, port, shared=False).close()
        sockets = [OwnSocket(host, port)]
    else:
        sock = bound_socket(host, port, shared=False)
        sock.set_inheritable(True)  # for the workers, if several
        port = sock.getsockname()[1]  # port 0: the one the system chose
        sockets = [sock]
    if workers == 1:
        announce(url(host, port))
        server = uvicorn.Server(config)
        server.run(sockets=sockets)
        if not server.started:
            raise WorkerFailedError()
        return
    # Made before the announcement: its stop-signal handlers are in from here, so a Ctrl-C
    # that follows the announcement at once is queued for it, not lost.
    supervisor = Supervisor(config, sockets=sockets)
    announce(url(host, port))
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        raise WorkerFailedError()
