"""Prometheus metrics of the indexer, on a registry of its own.

``provledger index --metrics-port P`` serves them; the gateway will serve the same registry.
"""

from __future__ import annotations

import functools
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


class IndexerMetrics:
    """Head, indexed block, lag, event rate, RPC errors, reorgs."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        gauge = functools.partial(Gauge, registry=self.registry)
        counter = functools.partial(Counter, registry=self.registry)
        self.head_block = gauge(
            "provledger_chain_head_block", "Latest block number seen on the node"
        )
        self.indexed_block = gauge("provledger_indexed_block", "Last block committed to the index")
        self.lag_blocks = gauge(
            "provledger_index_lag_blocks", "Blocks between the head and the index"
        )
        self.events_per_second = gauge(
            "provledger_index_events_per_second",
            "Events indexed per second, averaged over the last batches",
        )
        self.events = counter("provledger_indexed_events", "Events written to the index")
        self.skipped = counter(
            "provledger_skipped_logs", "Logs of unknown events or contracts, skipped"
        )
        self.batches = counter("provledger_index_batches", "Batches committed")
        self.rpc_errors = counter("provledger_rpc_errors", "Failed or refused node requests")
        self.reorgs = counter("provledger_reorgs", "Chain reorganisations rolled back")
        self._window: list[tuple[float, int]] = []
        self.rate = 0.0
        """The event rate of the last ten seconds, as the gauge shows it."""

    def record_batch(
        self, indexed: int, head: int, events: int, skipped: int, seconds: float
    ) -> None:
        """Update the gauges and counters after a committed batch."""
        self.indexed_block.set(indexed)
        self.head_block.set(max(head, indexed))
        self.lag_blocks.set(max(0, head - indexed))
        self.events.inc(events)
        self.skipped.inc(skipped)
        self.batches.inc()
        now = time.monotonic()
        self._window.append((now, events))
        self._window = [(stamp, count) for stamp, count in self._window if now - stamp <= 10.0]
        span = now - self._window[0][0] + seconds if self._window else seconds
        self.rate = sum(count for _, count in self._window) / max(span, 1e-6)
        self.events_per_second.set(self.rate)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Serve ``/metrics`` on ``host:port`` from a background thread."""
        start_http_server(port, addr=host, registry=self.registry)
