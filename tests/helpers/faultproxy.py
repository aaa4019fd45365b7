"""A loopback JSON-RPC proxy that injects the faults real nodes and gateways produce.

:class:`FaultProxy` listens on a free ``127.0.0.1`` port and forwards every request to an
upstream node (anvil). A seeded :class:`FaultPlan` decides, request by request, whether to
answer with a fault instead:

* ``rpc-error``: a JSON-RPC error object (``internal error``, ``header not found`` …);
* ``http-error``: HTTP 500/502/504 with an HTML body, as a load balancer sends it;
* ``not-json``: HTTP 200 with an HTML maintenance page;
* ``truncated-json``: the node's real reply cut in half;
* ``timeout``: the reply held longer than the client waits;
* ``too-many-results`` / ``suggested-range``: for ``eth_getLogs`` spanning more than
  ``range_limit`` blocks, the refusal of one of several real node styles (:class:`RangeStyle`),
  some of which name a block range that would work.

Every injected fault is counted by kind (:attr:`FaultProxy.injected`), every refusal by style.
:meth:`FaultProxy.go_down` makes the node go away (connections refused, or HTTP 503) until
:meth:`FaultProxy.come_up`.
"""

from __future__ import annotations

import enum
import random
import socket
import threading
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final

import orjson
import requests

from provledger.chain.anvil import free_port


class FaultKind(enum.StrEnum):
    """What the proxy did instead of forwarding a reply."""

    RPC_ERROR = "rpc-error"
    HTTP_ERROR = "http-error"
    NOT_JSON = "not-json"
    TRUNCATED_JSON = "truncated-json"
    TIMEOUT = "timeout"
    TOO_MANY_RESULTS = "too-many-results"
    """A range refusal that names no workable range."""
    SUGGESTED_RANGE = "suggested-range"
    """A range refusal that names a workable range."""


#: The kinds drawn at random from the plan's rates (the range refusals follow ``range_limit``).
RANDOM_KINDS: Final = (
    FaultKind.RPC_ERROR,
    FaultKind.HTTP_ERROR,
    FaultKind.NOT_JSON,
    FaultKind.TRUNCATED_JSON,
    FaultKind.TIMEOUT,
)


class RangeStyle(enum.StrEnum):
    """How a real node or provider refuses an ``eth_getLogs`` range."""

    GETH = "geth"
    """HTTP 200, -32005 ``query returned more than 10000 results``."""
    INFURA = "infura"
    """geth's message plus ``Try with this block range [0x…, 0x…].``"""
    ALCHEMY = "alchemy"
    """``Log response size exceeded. … this block range should work: [0x…, 0x…]``."""
    QUICKNODE = "quicknode"
    """HTTP 413, -32614 ``eth_getLogs is limited to a 10,000 range``."""
    RETH = "reth"
    """``query exceeds max results 20000, retry with the range <from>-<to>`` (decimal)."""
    INFURA_RANGE = "infura-range"
    """-32602 ``range <span> exceeds limit of <limit>`` (Infura's block-range limit)."""
    TENDERLY = "tenderly"
    """-32602 ``invalid params`` with the reason only in ``data.payload``."""


#: Styles whose refusal carries a range to retry with.
SUGGESTING: Final = frozenset({RangeStyle.INFURA, RangeStyle.ALCHEMY, RangeStyle.RETH})

_RPC_ERRORS: Final = (
    (-32603, "internal error"),
    (-32000, "header not found"),
    (-32000, "service temporarily unavailable, please retry"),
)
_HTML_ERRORS: Final = {
    500: b"<html><head><title>500 Internal Server Error</title></head><body>"
    b"<center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center>"
    b"</body></html>\n",
    502: b"<html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n",
    504: b"<html><head><title>504 Gateway Time-out</title></head><body>"
    b"<center><h1>504 Gateway Time-out</h1></center><hr><center>nginx</center>"
    b"</body></html>\n",
}
_MAINTENANCE: Final = (
    b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>"
    b"<body><p>The node is being upgraded. Back soon.</p></body></html>\n"
)
_UNAVAILABLE: Final = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n"
)


@dataclass(frozen=True)
class FaultPlan:
    """Which requests get which fault. Rates are per request, each in 0..1, summing to ≤ 1."""

    seed: int = 0
    rpc_error: float = 0.0
    http_error: float = 0.0
    not_json: float = 0.0
    truncated_json: float = 0.0
    timeout: float = 0.0
    delay: float = 1.0
    """How long a ``timeout`` reply is held (seconds): longer than the client's timeout."""
    methods: frozenset[str] | None = None
    """Methods the random faults apply to (None: every method)."""
    script: Sequence[FaultKind | None] = ()
    """Faults of the first eligible requests, in order (None: forwarded untouched); the rates
    apply after it. A script makes sure of a kind however few requests there are."""
    range_limit: int | None = None
    """Refuse ``eth_getLogs`` spanning more blocks than this."""
    range_styles: Sequence[RangeStyle] = (RangeStyle.GETH,)
    """Styles of the refusals, taken in turn (so a few refusals show every style)."""

    def rate(self, kind: FaultKind) -> float:
        """The plan's rate of a random kind."""
        return {
            FaultKind.RPC_ERROR: self.rpc_error,
            FaultKind.HTTP_ERROR: self.http_error,
            FaultKind.NOT_JSON: self.not_json,
            FaultKind.TRUNCATED_JSON: self.truncated_json,
            FaultKind.TIMEOUT: self.timeout,
        }.get(kind, 0.0)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass
class _Request:
    body: bytes
    payload: Any
    method: str
    span: tuple[int, int] | None
    ids: list[Any] = field(default_factory=list)

    @property
    def is_batch(self) -> bool:
        return isinstance(self.payload, list)


def _parse(body: bytes) -> _Request:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _Request(body, None, "", None)
    items = payload if isinstance(payload, list) else [payload]
    first = items[0] if items and isinstance(items[0], dict) else {}
    method = str(first.get("method", ""))
    span = None
    if method == "eth_getLogs" and not isinstance(payload, list):
        params = first.get("params") or [{}]
        query = params[0] if isinstance(params[0], dict) else {}
        start, end = query.get("fromBlock"), query.get("toBlock")
        if isinstance(start, str) and isinstance(end, str) and "0x" == start[:2] == end[:2]:
            span = (int(start, 16), int(end, 16))
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    return _Request(body, payload, method, span, ids)


def _error_body(request: _Request, code: int, message: str, data: Any = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    if request.is_batch:
        return orjson.dumps([{"jsonrpc": "2.0", "id": id_, "error": error} for id_ in request.ids])
    request_id = request.ids[0] if request.ids else None
    return orjson.dumps({"jsonrpc": "2.0", "id": request_id, "error": error})


def range_refusal(style: RangeStyle, request_id: Any, start: int, end: int, limit: int) -> _Reply:
    """How ``style`` refuses blocks ``start..end`` when it serves at most ``limit`` blocks."""
    last = start + limit - 1
    suggestion = f"[{hex(start)}, {hex(last)}]"
    code, status, data = -32005, 200, None
    if style is RangeStyle.GETH:
        message = "query returned more than 10000 results"
    elif style is RangeStyle.INFURA:
        message = f"query returned more than 10000 results. Try with this block range {suggestion}."
    elif style is RangeStyle.ALCHEMY:
        code = -32602
        message = (
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K "
            "block range and no limit on the response size, or you can request any block "
            "range with a cap of 10K logs in the response. Based on your parameters, this "
            f"block range should work: {suggestion}"
        )
    elif style is RangeStyle.QUICKNODE:
        code, status = -32614, 413
        message = "eth_getLogs is limited to a 10,000 range"
    elif style is RangeStyle.RETH:
        code = -32602
        message = f"query exceeds max results 20000, retry with the range {start}-{last}"
    elif style is RangeStyle.INFURA_RANGE:
        code = -32602
        message = f"range {end - start + 1} exceeds limit of {limit}"
    else:
        code = -32602
        message = "invalid params"
        data = {"payload": f"range {end - start + 1} is bigger than range limit {limit}"}
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    body = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "error": error})
    return _Reply(status, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def setup(self) -> None:
        super().setup()
        self.server.proxy._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.proxy._closed(self.connection)

    def do_POST(self) -> None:
        """Forward the request, or answer with the plan's fault."""
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        proxy = self.server.proxy
        reply = proxy._answer(body)
        if reply is None:  # the node is gone: drop the connection without a word
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:  # the client gave up (a held "timeout" reply)
            self.close_connection = True


class FaultProxy:
    """A threaded loopback HTTP proxy in front of ``upstream`` that injects faults."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None) -> None:
        self.upstream = upstream
        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self.injected: Counter[FaultKind] = Counter()
        self.refusals: Counter[RangeStyle] = Counter()
        self.methods: Counter[str] = Counter()
        """Requests seen, by method (batches by their first method)."""
        self.forwarded = 0
        self.unavailable = 0
        """Requests answered 503 or dropped while the node was down."""
        self._plan = plan or FaultPlan()
        self._random = random.Random(self._plan.seed)
        self._script: deque[FaultKind | None] = deque(self._plan.script)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._down: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._local = threading.local()

    # ------------------------------------------------------------ life cycle
    @property
    def url(self) -> str:
        """The proxy's JSON-RPC URL."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        """Listen and serve in a background thread."""
        self._listen()
        return self

    def stop(self) -> None:
        """Stop serving, release held replies and close every connection."""
        self._stopping.set()
        self._unlisten()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _listen(self) -> None:
        self._server = _Server((self.host, self.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"faultproxy-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _unlisten(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # ------------------------------------------------------------ control
    @property
    def plan(self) -> FaultPlan:
        """The plan in force."""
        return self._plan

    def set_plan(self, plan: FaultPlan) -> None:
        """Switch to ``plan`` (its own seed restarts the draws)."""
        with self._lock:
            self._plan = plan
            self._random = random.Random(plan.seed)
            self._script = deque(plan.script)

    def go_down(self, mode: str = "refuse") -> None:
        """The node goes away: ``refuse`` closes the port (open connections are dropped at
        their next request); ``503`` answers every request with HTTP 503."""
        if mode not in ("refuse", "503"):
            raise ValueError(f"unknown outage mode {mode!r}")
        with self._lock:
            self._down = mode
        if mode == "refuse":
            self._unlisten()

    def come_up(self) -> None:
        """The node is back on the same port."""
        with self._lock:
            mode, self._down = self._down, None
        if mode == "refuse":
            self._listen()

    @contextmanager
    def outage(self, mode: str = "refuse") -> Iterator[None]:
        """The node is down for the duration of the block."""
        self.go_down(mode)
        try:
            yield
        finally:
            self.come_up()

    def total_injected(self) -> int:
        """Faults injected so far, of every kind."""
        with self._lock:
            return sum(self.injected.values())

    # ------------------------------------------------------------ serving
    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _refusal(self, request: _Request) -> _Reply | None:
        """The range refusal ``request`` gets, if it asks for too many blocks."""
        limit, span = self._plan.range_limit, request.span
        if limit is None or span is None or span[1] - span[0] + 1 <= limit:
            return None
        styles = list(self._plan.range_styles)
        style = styles[sum(self.refusals.values()) % len(styles)]
        self.refusals[style] += 1
        kind = FaultKind.SUGGESTED_RANGE if style in SUGGESTING else FaultKind.TOO_MANY_RESULTS
        self.injected[kind] += 1
        request_id = request.ids[0] if request.ids else None
        return range_refusal(style, request_id, span[0], span[1], limit)

    def _decide(self, request: _Request) -> FaultKind | None:
        plan = self._plan
        if plan.methods is not None and request.method not in plan.methods:
            return None
        if self._script:
            return self._script.popleft()
        draw = self._random.random()
        for kind in RANDOM_KINDS:
            rate = plan.rate(kind)
            if draw < rate:
                return kind
            draw -= rate
        return None

    def _answer(self, body: bytes) -> _Reply | None:
        request = _parse(body)
        with self._lock:
            self.methods[request.method] += 1
            if self._down is not None:
                self.unavailable += 1
                if self._down == "refuse":
                    return None
                return _Reply(503, _UNAVAILABLE, "text/html")
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
            kind = self._decide(request)
            if kind is not None:
                self.injected[kind] += 1
            pick = self._random.random()
            delay = self._plan.delay
        if kind is None:
            return self._forward(body)
        if kind is FaultKind.RPC_ERROR:
            code, message = _RPC_ERRORS[int(pick * len(_RPC_ERRORS))]
            return _Reply(200, _error_body(request, code, message))
        if kind is FaultKind.HTTP_ERROR:
            status = sorted(_HTML_ERRORS)[int(pick * len(_HTML_ERRORS))]
            return _Reply(status, _HTML_ERRORS[status], "text/html")
        if kind is FaultKind.NOT_JSON:
            return _Reply(200, _MAINTENANCE, "text/html")
        reply = self._forward(body)
        if kind is FaultKind.TRUNCATED_JSON:
            return _Reply(reply.status, reply.body[: max(1, len(reply.body) // 2)])
        self._stopping.wait(delay)  # a timeout: the client has given up by now
        return reply

    def _forward(self, body: bytes) -> _Reply:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Content-Type"] = "application/json"
            self._local.session = session
        try:
            response = session.post(self.upstream, data=body, timeout=30)
        except requests.RequestException as error:
            message = f"proxy: upstream failed: {type(error).__name__}"
            return _Reply(502, message.encode(), "text/plain")
        with self._lock:
            self.forwarded += 1
        return _Reply(response.status_code, response.content)
