"""A read-only JSON-RPC passthrough to the gateway's nodes, for the browser verifier.

``POST /rpc`` goes to the node of the gateway's chain, ``POST /rpc/checkpoint`` to the target
chain's (when checkpoints are configured): the verify page's default nodes, so a proof can be
checked in a browser without a node URL of one's own. It is a convenience: a verifier who does
not trust the operator gives its own node instead, since these answers come through the
operator.

Only the methods a verifier reads with pass (:data:`ALLOWED`), one request or a batch of up to
:data:`MAX_BATCH`, in a body of at most :data:`MAX_BODY` bytes. Refusals follow JSON-RPC, as a
node's own do: status 200 and an error object (-32700 the body is not JSON, -32600 not a
request or a batch too large, -32601 a method not allowed), one per refused request of a batch,
the others answered by the node. What the node answers is passed on as it is. A body over the
limit is a 413 problem, a node that does not answer a 503 problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import requests
from fastapi import APIRouter, Request, Response

from provledger.api import problems
from provledger.api.examples import RPC_BODY
from provledger.api.gateway import Gateway
from provledger.api.streams import read_capped
from provledger.chain.connection import ChainUnavailableError, node_errors
from provledger.config import mask_url
from provledger.jsondoc import JsonDocumentError, parse_json

#: The methods a proof verifier reads with; nothing that writes or signs.
ALLOWED: Final = frozenset(
    {
        "eth_chainId",
        "eth_blockNumber",
        "eth_getBlockByNumber",
        "eth_getBlockByHash",
        "eth_getTransactionReceipt",
        "eth_getCode",
        "eth_call",
        "eth_getLogs",
    }
)
#: The most requests one batch may hold.
MAX_BATCH: Final = 20
#: The largest body taken.
MAX_BODY: Final = 64 << 10
#: The largest answer passed on: a node's answer past it is a 503 (an unbounded ``eth_getLogs``).
MAX_ANSWER: Final = 16 << 20

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def _refusal(item: Any) -> dict[str, Any] | None:
    """The error answering ``item`` if it may not pass; None if it may."""
    if not isinstance(item, dict) or not isinstance(item.get("method"), str):
        request_id = item.get("id") if isinstance(item, dict) else None
        return _error(request_id, INVALID_REQUEST, "not a JSON-RPC request")
    method = item["method"]
    if method not in ALLOWED:
        shown = method if len(method) <= 40 else method[:40] + "..."
        return _error(
            item.get("id"),
            METHOD_NOT_FOUND,
            f"method {shown} is not available here; this read-only passthrough serves "
            f"{', '.join(sorted(ALLOWED))}",
        )
    return None


def _json(value: Any) -> Response:
    # json, not orjson: a request's id may be an integer past 64 bits, and is echoed exactly
    return Response(json.dumps(value), media_type="application/json")


@dataclass(frozen=True)
class Answer:
    """What a node answered: its status, content type and body."""

    status: int
    content_type: str
    body: bytes

    def response(self) -> Response:
        """The answer, passed on as it is."""
        return Response(self.body, self.status, media_type=self.content_type)


class NodeCaller:
    """Sends JSON-RPC bodies to the node at ``url`` and returns its answer as it is."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._session = requests.Session()

    def __call__(self, body: bytes) -> Answer:
        """The node's answer to ``body``."""
        shown = mask_url(self.url)
        with (
            node_errors(shown, self.timeout),
            self._session.post(
                self.url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
                stream=True,
            ) as answer,
        ):
            chunks, size = [], 0
            for chunk in answer.iter_content(64 << 10):
                size += len(chunk)
                if size > MAX_ANSWER:
                    raise ChainUnavailableError(shown, f"its answer is over {MAX_ANSWER >> 20} MiB")
                chunks.append(chunk)
            kind = answer.headers.get("Content-Type", "application/json")
            return Answer(answer.status_code, kind, b"".join(chunks))


def passthrough(gateway: Gateway, call: Callable[[bytes], Answer]) -> Any:
    """The handler of a passthrough to the node ``call`` sends to."""

    async def relay_rpc(request: Request) -> Response:
        body = await read_capped(request, MAX_BODY, "body")
        try:
            sent = parse_json(body, what="the body", max_bytes=MAX_BODY)
        except JsonDocumentError as error:
            return _json(_error(None, PARSE_ERROR, str(error)))
        batch = isinstance(sent, list)
        items = sent if batch else [sent]
        if batch and not 1 <= len(items) <= MAX_BATCH:
            return _json(_error(None, INVALID_REQUEST, f"a batch holds 1 to {MAX_BATCH} requests"))
        refusals = [_refusal(item) for item in items]
        refused = [refusal for refusal in refusals if refusal is not None]
        if not batch and refused:
            return _json(refused[0])
        if len(refused) == len(items):
            return _json(refused)
        if refused:  # only the allowed requests go to the node; the refusals join its answer
            allowed = [
                item for item, refusal in zip(items, refusals, strict=True) if refusal is None
            ]
            answer = await gateway.node_work.run(call, json.dumps(allowed).encode())
            try:
                answered = parse_json(answer.body, what="the node's answer", max_bytes=MAX_ANSWER)
            except JsonDocumentError:
                answered = None
            if isinstance(answered, list):
                return _json(answered + refused)
            return answer.response()
        return (await gateway.node_work.run(call, body)).response()

    return relay_rpc


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The passthrough routes, on ``router``: ``/rpc`` when the gateway has a node URL,
    ``/rpc/checkpoint`` when checkpoints are configured."""
    timeout = gateway.settings.rpc_timeout
    targets = {
        "/rpc": ("the node of the gateway's chain", gateway.node_url()),
        "/rpc/checkpoint": ("the target chain's node (checkpoints)", _checkpoint_url(gateway)),
    }
    for path, (node, url) in targets.items():
        if url is None:
            continue
        router.post(
            path,
            tags=["rpc"],
            response_class=Response,
            responses={
                200: {"description": "The node's answer as it gave it, or JSON-RPC errors."},
                413: problems.documented(f"A body over {MAX_BODY >> 10} KiB."),
                503: problems.documented("The node does not answer."),
            },
            openapi_extra=RPC_BODY,
            name=path.strip("/").replace("/", "_"),
            summary=f"JSON-RPC to {node}",
            description=(
                f"Read-only JSON-RPC to {node}, for the browser verifier: "
                f"{', '.join(sorted(ALLOWED))}; one request or a batch of up to {MAX_BATCH}. "
                "A convenience: a verifier who does not trust this gateway's operator gives a "
                "node of its own instead."
            ),
        )(passthrough(gateway, NodeCaller(url, timeout)))


def _checkpoint_url(gateway: Gateway) -> str | None:
    return None if gateway.checkpoints is None else gateway.checkpoints.url
