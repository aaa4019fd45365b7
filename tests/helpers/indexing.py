"""Running the indexer in tests and comparing indexes."""

from __future__ import annotations

from typing import Any

from web3 import HTTPProvider, Web3

from helpers.stores import engine_for
from provledger.chain.deployments import Deployment
from provledger.indexer.scanner import IndexerConfig, RunSummary, Scanner
from provledger.indexer.source import JsonRpcSource, LogSource, Web3Source
from provledger.store.index import IndexStore, dump

#: Small windows and ranges, so that tests cross many batches and both modes.
TEST_CONFIG = IndexerConfig(confirmations=2, finality_depth=8, initial_range=4, poll_interval=0.05)


def source_of(w3: Web3) -> LogSource:
    """The fast JSON-RPC source for an HTTP node, the web3 source for eth-tester."""
    provider = w3.provider
    if isinstance(provider, HTTPProvider) and provider.endpoint_uri:
        return JsonRpcSource(str(provider.endpoint_uri))
    return Web3Source(w3)


def index(
    w3: Web3,
    deployment: Deployment,
    url: str,
    config: IndexerConfig = TEST_CONFIG,
    source: LogSource | None = None,
) -> RunSummary:
    """Index ``deployment`` into ``url`` up to the current head."""
    scanner = Scanner(
        source or source_of(w3), IndexStore(engine_for(url)), deployment, config=config
    )
    return scanner.run(once=True, wait_for_lock=False)


def snapshot_of(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived table of the index at ``url``."""
    return dump(engine_for(url))


def differences(left: str, right: str) -> dict[str, tuple[list[Any], list[Any]]]:
    """Per table, the rows only in ``left`` and only in ``right`` (empty: equal indexes)."""
    a, b = snapshot_of(left), snapshot_of(right)
    diff: dict[str, tuple[list[Any], list[Any]]] = {}
    for table in a:
        only_a = [row for row in a[table] if row not in b[table]]
        only_b = [row for row in b[table] if row not in a[table]]
        if only_a or only_b:
            diff[table] = (only_a[:5], only_b[:5])
    return diff
