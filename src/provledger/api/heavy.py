"""Request work that must not run on the event loop: CPU-heavy work, and calls to the node.

A folder manifest of 140,000 files takes seconds to re-hash into its Merkle root and a proof
bundle waits on the node; done on the event loop, either holds every other request of the
worker (``/health`` included) for that long. Such work runs on a :class:`WorkPool` of daemon
threads instead: a request to a node that never answers then cannot hold the process past a
stop either (the threads of ``ThreadPoolExecutor`` and anyio are joined when the process exits).
:class:`HeavyWork` adds a limit per route on the requests in such work at once: one more is
refused at once with 503 and ``Retry-After`` (before its body is read), so a burst costs neither
memory nor the other routes' latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Final, ParamSpec, TypeVar

from provledger.errors import ServiceUnavailableError

P = ParamSpec("P")
R = TypeVar("R")

#: Seconds a refused client is asked to wait before trying again.
RETRY_AFTER: Final = 1

_Job = tuple[Callable[[], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


class GatewayBusyError(ServiceUnavailableError):
    """A route already has as many requests in progress as it may; try again shortly."""

    retry_after: ClassVar[int] = RETRY_AFTER
    route: str
    limit: int

    def _message(self) -> str:
        return (
            f"{self.route} already has {self.limit} requests in progress in this worker; "
            f"try again in {self.retry_after} s"
        )


class WorkPool:
    """``threads`` daemon threads, started on first use, running calls for the event loop."""

    def __init__(self, threads: int, name: str) -> None:
        self._size, self._name = threads, name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    async def run(self, action: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``action(*args, **kwargs)`` on one of the pool's threads."""
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._jobs.put((functools.partial(action, *args, **kwargs), future, loop))
        return await future

    def close(self) -> None:
        """Let the threads end once the work queued before is done."""
        with self._lock:
            for _ in self._threads:
                self._jobs.put(None)
            self._threads = []

    def _start(self) -> None:
        with self._lock:
            while len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            action, future, loop = job
            result, error = None, None
            try:
                result = action()
            except BaseException as raised:  # handed to the awaiting request
                error = raised
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (a stop)
                loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the request went away meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class HeavyWork(WorkPool):
    """A :class:`WorkPool` whose routes each take at most ``per_route`` requests at once."""

    def __init__(self, threads: int, per_route: int) -> None:
        super().__init__(threads, "heavy")
        self.per_route = per_route
        self._busy: dict[str, int] = {}

    @asynccontextmanager
    async def slot(self, route: str) -> AsyncIterator[None]:
        """Hold one of ``route``'s places for the block; :class:`GatewayBusyError` if none is
        free. The count is kept on the event loop's thread, so it needs no lock."""
        busy = self._busy.get(route, 0)
        if busy >= self.per_route:
            raise GatewayBusyError(route, self.per_route)
        self._busy[route] = busy + 1
        try:
            yield
        finally:
            self._busy[route] -= 1
