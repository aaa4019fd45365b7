"""A loopback JSON-RPC server that answers with a chosen shape: an error object, an HTTP
status, a body that is not JSON, or nothing at all.

:class:`RpcServer` listens on a free ``127.0.0.1`` port; its :attr:`RpcServer.answer` (an
:class:`Answer`, changeable between requests) decides every reply. Unlike
:mod:`helpers.faultproxy` there is no node behind it: it is the node, as far as web3's HTTP
provider can tell.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final

#: anvil's chain id: the chain id :data:`CHAIN_ID_ONLY` answers.
CHAIN_ID: Final = 31337
#: How long a request to a hanging server is held at most (a client gives up sooner).
HANG_SECONDS: Final = 30.0


@dataclass(frozen=True)
class Answer:
    """What the server answers every request with.

    ``body`` (with ``status`` and ``content_type``) is sent as it is, JSON-RPC or not; else
    each request gets the result of its method from ``results``, or else ``error`` as its
    JSON-RPC error object (a null result when there is none). ``hang``: read the request and
    never answer.
    """

    error: Mapping[str, Any] | None = None
    results: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200
    body: bytes | None = None
    content_type: str = "application/json"
    hang: bool = False


#: Every method answered with a JSON-RPC error object.
INTERNAL_ERROR: Final = {"code": -32000, "message": "internal error"}
#: The chain id answered, every other method an error: a command gets past its connection
#: check and fails at its own first request.
CHAIN_ID_ONLY: Final = Answer(error=INTERNAL_ERROR, results={"eth_chainId": hex(CHAIN_ID)})


def reply(answer: Answer, request: Any) -> Any:
    """The JSON-RPC reply of ``answer`` to one request (a list for a batch)."""
    if isinstance(request, list):
        return [reply(answer, item) for item in request]
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
    method = request.get("method")
    if method in answer.results:
        body["result"] = answer.results[method]
    elif answer.error is not None:
        body["error"] = dict(answer.error)
    else:
        body["result"] = None
    return body


class _Handler(BaseHTTPRequestHandler):
    server: RpcServer

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.server.answer
        self.server.requests += 1
        if answer.hang:
            self.server.closing.wait(HANG_SECONDS)
            self.close_connection = True
            return
        if answer.body is not None:
            data = answer.body
        else:
            data = json.dumps(reply(answer, json.loads(raw))).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


class RpcServer(ThreadingHTTPServer):
    """A JSON-RPC node on a free loopback port that answers :attr:`answer`; a context manager
    that serves in a thread until the block ends."""

    daemon_threads = True

    def __init__(self, answer: Answer | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer if answer is not None else Answer(error=INTERNAL_ERROR)
        self.requests = 0
        self.closing = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> RpcServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.closing.set()  # releases the requests held by a hanging answer
        self.shutdown()
        self.server_close()
