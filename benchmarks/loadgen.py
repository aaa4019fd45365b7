"""A small HTTP/1.1 load generator: N keep-alive connections, one request at a time on each.

    python benchmarks/loadgen.py --port P --clients 32 --seconds 20 --requests FILE

``FILE`` holds one request per line: ``<route name> <path>`` for a GET, or
``<route name> POST <path> <JSON body>`` for a GraphQL POST. Every client walks the list from
its own offset, round-robin, and records each request's latency from the first byte written to
the last byte of the answer read. The generator runs in its own process (it is started by
``query_load.py``), speaks plain HTTP/1.1 over asyncio streams (on uvloop) with no client
library in the way, and sends only to the loopback address it is given.

It prints one JSON object: per route the count, the errors (non-2xx answers; for a POST also a
GraphQL answer with ``errors`` or a null root field) and every latency in milliseconds is
summarised as p50/p95/p99 and requests/s over the measured window.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop


@dataclass
class RouteStats:
    """Latencies and failures of one route."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


def percentile(sorted_values: list[float], share: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one response (Content-Length or chunked); return its status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value.strip())
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length) if length else b""
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        body += (await reader.readexactly(size + 2))[:size]
        if size == 0:
            return status, bytes(body)


def answered(status: int, body: bytes) -> bool:
    """Whether a GraphQL answer is a success: a 2xx without ``errors``, every root field set."""
    if not 200 <= status < 300:
        return False
    found = json.loads(body)
    data = found.get("data")
    return "errors" not in found and bool(data) and None not in data.values()


@dataclass(frozen=True)
class Request:
    """One request as sent, and how its answer is judged."""

    route: str
    raw: bytes
    graphql: bool


def request_of(host: str, port: int, line: str) -> Request:
    """The request of a line of the requests file (see the module's docstring)."""
    route, rest = line.split(" ", 1)
    head = f"Host: {host}:{port}\r\nAccept: application/json\r\n"
    if not rest.startswith("POST "):
        return Request(route, f"GET {rest} HTTP/1.1\r\n{head}\r\n".encode(), graphql=False)
    path, body = rest.removeprefix("POST ").split(" ", 1)
    data = body.encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return Request(route, f"POST {path} HTTP/1.1\r\n{head}".encode() + data, graphql=True)


async def _client(
    host: str,
    port: int,
    requests: list[Request],
    offset: int,
    deadline: float,
    warmup_until: float,
    stats: dict[str, RouteStats],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    index = offset
    try:
        while True:
            request = requests[index % len(requests)]
            index += 1
            began = time.perf_counter()
            if began >= deadline:
                return
            writer.write(request.raw)
            status, body = await _read_response(reader)
            ended = time.perf_counter()
            if began < warmup_until:
                continue
            entry = stats[request.route]
            entry.latencies_ms.append((ended - began) * 1000)
            entry.statuses[status] = entry.statuses.get(status, 0) + 1
            ok = answered(status, body) if request.graphql else 200 <= status < 300
            if not ok:
                entry.errors += 1
    finally:
        writer.close()


async def drive(
    host: str, port: int, lines: list[str], clients: int, seconds: float, warmup: float
) -> dict[str, Any]:
    """Run ``clients`` connections for ``warmup`` + ``seconds``; summarise the measured part."""
    requests = [request_of(host, port, line) for line in lines]
    stats = {request.route: RouteStats() for request in requests}
    started = time.perf_counter()
    warmup_until = started + warmup
    deadline = warmup_until + seconds
    step = max(1, len(requests) // clients)
    await asyncio.gather(
        *(
            _client(host, port, requests, number * step, deadline, warmup_until, stats)
            for number in range(clients)
        )
    )
    window = time.perf_counter() - warmup_until
    routes: dict[str, Any] = {}
    for route, entry in stats.items():
        values = sorted(entry.latencies_ms)
        routes[route] = {
            "count": len(values),
            "errors": entry.errors,
            "statuses": {str(code): count for code, count in sorted(entry.statuses.items())},
            "p50_ms": percentile(values, 0.50),
            "p95_ms": percentile(values, 0.95),
            "p99_ms": percentile(values, 0.99),
            "mean_ms": statistics.fmean(values) if values else float("nan"),
            "rps": len(values) / window,
        }
    total = sum(item["count"] for item in routes.values())
    return {"seconds": window, "clients": clients, "total_rps": total / window, "routes": routes}


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, drive the server, print the JSON summary."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--requests", type=Path, required=True)
    args = parser.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("the load generator only sends to a loopback address")
    lines = [line for line in args.requests.read_text().splitlines() if line.strip()]
    # uvloop, as the gateway's workers use: the generator shares the machine's cores with
    # them, and asyncio's own loop would take a larger share of the CPU
    result = uvloop.run(drive(args.host, args.port, lines, args.clients, args.seconds, args.warmup))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
