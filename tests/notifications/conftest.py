"""Subscriptions, the index's outbox and the notify worker on a real chain and database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.indexing import TEST_CONFIG, source_of
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from indexer.conftest import new_database as new_database
from indexer.conftest import store_kind as store_kind
from provledger.indexer.scanner import IndexerConfig, RunSummary, Scanner
from provledger.store.index import IndexStore
from provledger.store.notify import NotifyStore
from provledger.store.outbox import ActiveSubscriptions
from provledger.store.subscriptions import Subscription, SubscriptionFilter

#: The notify tests' chain: the embedded one (what they test does not depend on the node; the
#: reorg tests take anvil's World themselves).
ON_EMBEDDED_CHAIN = pytest.mark.parametrize(
    "backend", [pytest.param("ethtester", marks=pytest.mark.ethtester)], indirect=True
)


@pytest.fixture
def notify_store(new_database: NewDatabase) -> Iterator[NotifyStore]:
    """A notify store in a fresh database of the test's backend."""
    with NotifyStore.open(new_database("notify")) as store:
        yield store


def subscribe(
    store: NotifyStore,
    *,
    finality: str = "pending",
    url: str = "https://hooks.example.com/provledger",
    **fields: frozenset[str] | frozenset[int],
) -> Subscription:
    """A webhook subscription with the filter ``fields``."""
    return store.create(
        owner="cli",
        filter=SubscriptionFilter(**fields),  # type: ignore[arg-type]
        finality=finality,
        target="webhook",
        url=url,
        now_ms=0,
    )


def index_with(
    world: World, url: str, store: NotifyStore, config: IndexerConfig = TEST_CONFIG
) -> RunSummary:
    """Index the world's chain into ``url``, announcing to ``store``'s subscriptions."""
    index = IndexStore(
        engine_for(url),
        subscriptions=ActiveSubscriptions(store.engine.url.render_as_string(hide_password=False)),
    )
    scanner = Scanner(source_of(world.w3), index, world.deployment, config=config)
    return scanner.run(once=True, wait_for_lock=False)
