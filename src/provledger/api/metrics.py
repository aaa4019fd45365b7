"""Prometheus metrics of the gateway: requests and latencies per route, and the index's
position read from the store at scrape time (the indexer may run in another process)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provledger.services.provenance import Provenance

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class IndexCollector(Collector):
    """The index's head, indexed block, lag and event count, read when scraped."""

    def __init__(self, provenance: Provenance) -> None:
        self.provenance = provenance

    def collect(self) -> Iterator[Metric]:
        status = self.provenance.status()
        for name, value, text in (
            ("provledger_chain_head_block", status.head_block, "Head the indexer last saw."),
            ("provledger_indexed_block", status.indexed_block, "Last indexed block."),
            ("provledger_index_lag_blocks", status.lag_blocks, "Blocks between head and index."),
            ("provledger_indexed_events", status.events, "Events held by the index."),
        ):
            if value is not None:
                yield GaugeMetricFamily(name, text, value=value)


class GatewayMetrics:
    """The registry of one app and the middleware that feeds it."""

    def __init__(self, provenance: Provenance) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "provledger_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "provledger_http_request_seconds",
            "HTTP request latency by route.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(IndexCollector(provenance))

    def install(self, app: FastAPI) -> None:
        """Time every request; label it with its route template, not its path."""
        app.add_middleware(_Measure, metrics=self)

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count one finished request of ``scope``."""
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        self.latency.labels(template, method).observe(seconds)
        self.requests.labels(template, method, str(status)).inc()

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)


class _Measure:
    """Plain ASGI middleware (no request objects, no extra task) that feeds the metrics."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe(scope, status, time.perf_counter() - started)
