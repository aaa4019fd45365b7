"""A log reply over the size cap is dropped unread and its range split, so one batch's memory
stays bounded however dense the blocks a growing range reaches; the index is still complete."""

from __future__ import annotations

from dataclasses import replace

import pytest

from helpers.indexing import TEST_CONFIG, differences, index
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.indexer.scanner import BatchReport, Scanner
from provledger.indexer.source import JsonRpcSource, RangeTooLargeError
from provledger.store.index import IndexStore


def _rpc_url(world: World) -> str:
    return str(world.w3.provider.endpoint_uri)  # type: ignore[attr-defined]


def _register_blocks(world: World, count: int) -> tuple[int, int]:
    first = world.w3.eth.block_number + 1
    for _ in range(count):
        world.register(world.alice)
    return first, int(world.w3.eth.block_number)


@pytest.mark.anvil
def test_a_reply_over_the_cap_is_refused_as_too_large(anvil_world: World) -> None:
    start, end = _register_blocks(anvil_world, 4)
    addresses = [address.lower() for address in anvil_world.deployment.addresses]
    whole = JsonRpcSource(_rpc_url(anvil_world)).logs(addresses, start, end)
    one_block = JsonRpcSource(_rpc_url(anvil_world)).logs(addresses, start, start)
    capped = JsonRpcSource(_rpc_url(anvil_world), max_log_reply_bytes=2_000)
    with pytest.raises(RangeTooLargeError) as refused:
        capped.logs(addresses, start, end)
    assert refused.value.block_range == (start, end)
    assert refused.value.suggested_end is None
    assert "reply over" in refused.value.detail
    # one block cannot be split: its reply is read whatever its size
    assert capped.logs(addresses, start, start) == one_block
    assert len(whole) > len(one_block) > 0


@pytest.mark.anvil
def test_capped_ranges_split_and_the_index_is_complete(
    anvil_world: World, new_database: NewDatabase
) -> None:
    _register_blocks(anvil_world, 6)
    url = new_database("capped")
    source = JsonRpcSource(_rpc_url(anvil_world), max_log_reply_bytes=6_000)
    batches: list[BatchReport] = []
    config = replace(TEST_CONFIG, initial_range=64, finality_depth=2)
    scanner = Scanner(
        source,
        IndexStore(engine_for(url)),
        anvil_world.deployment,
        config=config,
        on_batch=batches.append,
        sleep=lambda _: None,
    )
    summary = scanner.run(once=True)
    assert summary.rpc_errors > 0  # the cap refused the first, wide ranges
    assert max(report.end - report.start for report in batches if report.mode != "live") < 63
    fresh = new_database("fresh")
    index(anvil_world.w3, anvil_world.deployment, fresh)
    assert differences(url, fresh) == {}
