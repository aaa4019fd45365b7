"""GraphQL as of a past block: for every kind of record, the answer at block N equals what a
fresh index of the chain cut at block N answers (a second index, built by the real indexer from
a node whose head is held at N), field by field, finality included; and the refusals.

The live index is on SQLite and on PostgreSQL; the replays are SQLite files of their own.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from web3 import Web3

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from api.conftest import gateway_settings
from helpers.indexing import index, source_of
from helpers.scenarios import provenance_scenario
from helpers.stores import database
from helpers.world import World, build_world
from provledger.api.app import create_app
from provledger.api.graphql.build import PLURALS
from provledger.chain.connection import embedded_chain
from provledger.indexer.decoding import RawLog
from provledger.indexer.source import LogSource
from provledger.services.asof import PastIndexes
from provledger.services.records import KINDS
from provledger.store import schema
from provledger.store.records import BlockHeader


class CutSource:
    """A node whose head is held at ``head``: the chain cut at that block."""

    def __init__(self, inner: LogSource, head: int) -> None:
        self.inner = inner
        self.cut = head

    def chain_id(self) -> int:
        return self.inner.chain_id()

    def head(self) -> int:
        return self.cut

    def logs(self, addresses: Sequence[str], start: int, end: int) -> list[RawLog]:
        return self.inner.logs(addresses, start, min(end, self.cut))

    def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]:
        return self.inner.headers(numbers)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _list_query(name: str) -> str:
    """The query of the list of kind ``name`` with every field of its view."""
    selection = " ".join(_camel(item.name) for item in fields(KINDS[name].view))
    return (
        f"query($block: BlockAt, $after: String) {{ {_camel(PLURALS[name])}(first: 100, "
        "after: $after, block: $block) { totalCount pageInfo { hasNextPage endCursor } "
        f"nodes {{ {selection} }} }} }}"
    )


#: Per kind, the query of its list with every field of its view.
QUERIES = {name: _list_query(name) for name in KINDS}


@dataclass(frozen=True)
class Chain:
    world: World
    blocks: list[int]
    """The blocks the answers are compared at."""


@pytest.fixture(scope="module")
def chain() -> Chain:
    world = build_world(embedded_chain())
    provenance_scenario(world)
    head = world.w3.eth.block_number
    start = world.deployment.block_number
    # before anything, early (roles and participants), the middle, late, and the head
    blocks = sorted({start - 1, start + 6, (start + head) // 2, head - 5, head})
    return Chain(world, blocks)


@dataclass(frozen=True)
class Live:
    client: TestClient
    app: FastAPI


def _app(url: str, folder: Path, w3: Web3) -> FastAPI:
    return create_app(gateway_settings(url, folder / "deployments"), w3=w3)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, chain: Chain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("asof")
    with database(request.param, folder) as url:
        index(chain.world.w3, chain.world.deployment, url)
        chain.world.deployment.save(folder / "deployments")
        app = _app(url, folder, chain.world.w3)
        with TestClient(app) as client:
            yield Live(client, app)
        app.state.gateway.past_indexes.close()
        app.state.gateway.engine.dispose()


def ask(client: TestClient, query: str, **variables: Any) -> Any:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def every_page(client: TestClient, kind: str, block: dict[str, int] | None) -> dict[str, Any]:
    """The whole list of ``kind`` (every page) and its total count."""
    field = _camel(PLURALS[kind])
    nodes: list[Any] = []
    after = None
    while True:
        page = ask(client, QUERIES[kind], block=block, after=after)[field]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return {"total": page["totalCount"], "nodes": nodes}
        after = page["pageInfo"]["endCursor"]


@pytest.fixture(scope="module")
def expected(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    """Per block of :attr:`Chain.blocks`, every kind's whole list as a fresh index of the
    chain cut at that block answers it (built once for both live backends)."""
    world = chain.world
    answers: dict[int, Any] = {}
    for block in chain.blocks:
        folder = tmp_path_factory.mktemp(f"cut-{block}")
        url = f"sqlite:///{folder}/index.sqlite"
        index(world.w3, world.deployment, url, source=CutSource(source_of(world.w3), block))
        world.deployment.save(folder / "deployments")
        cut = _app(url, folder, world.w3)
        with TestClient(cut) as fresh:
            answers[block] = {kind: every_page(fresh, kind, None) for kind in KINDS}
        cut.state.gateway.engine.dispose()
    return answers


def test_every_kind_at_past_blocks_equals_an_index_of_the_chain_cut_there(
    live: Live, chain: Chain, expected: dict[int, Any]
) -> None:
    seen: dict[str, int] = dict.fromkeys(KINDS, 0)
    for block in chain.blocks:
        for kind in KINDS:
            past = every_page(live.client, kind, {"number": block})
            assert past == expected[block][kind], (kind, block)
            seen[kind] += len(past["nodes"])
    # the blocks chosen show every kind of record at least once
    assert all(seen.values()), seen


def test_a_time_names_the_last_block_at_or_before_it(live: Live, chain: Chain) -> None:
    block = chain.blocks[-2]
    timestamp = chain.world.w3.eth.get_block(block)["timestamp"]
    by_time = every_page(live.client, "Asset", {"timestamp": timestamp})
    by_number = every_page(live.client, "Asset", {"number": block})
    assert by_time == by_number


def test_links_of_a_past_record_read_the_same_past(live: Live, chain: Chain) -> None:
    block = chain.blocks[2]
    query = (
        "query($b: BlockAt) { assets(first: 100, block: $b) { nodes { assetId holder "
        "holderParticipant { account } licenses { totalCount nodes { licenseId assetId } } } } "
        "licenses(first: 100, block: $b) { nodes { licenseId assetId } } }"
    )
    past = ask(live.client, query, b={"number": block})
    now = ask(live.client, query, b=None)
    licensed_then = {item["licenseId"] for item in past["licenses"]["nodes"]}
    linked_then = {
        item["licenseId"]
        for asset in past["assets"]["nodes"]
        for item in asset["licenses"]["nodes"]
    }
    assert linked_then == licensed_then
    for asset in past["assets"]["nodes"]:
        assert asset["holderParticipant"]["account"] == asset["holder"]
    assert len(now["licenses"]["nodes"]) > len(licensed_then)


def test_a_block_beyond_the_indexed_head_is_refused_with_the_head(live: Live, chain: Chain) -> None:
    head = chain.world.w3.eth.block_number
    for block, expected in (
        ({"number": head + 1}, f"block {head + 1} is beyond the indexed head, block {head}"),
        ({"timestamp": 2**40}, f"unix time {2**40} is beyond the indexed head, block {head}"),
        ({"number": 1, "timestamp": 1}, "block: give either number or timestamp"),
        ({"number": -1}, "block: a block number is not negative, got -1"),
    ):
        response = live.client.post(
            "/graphql",
            json={
                "query": "query($b: BlockAt) { assets(block: $b) { totalCount } }",
                "variables": {"b": block},
            },
        )
        assert response.status_code == 200
        errors = response.json()["errors"]
        assert [error["message"] for error in errors] == [expected]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_replay_is_kept_for_the_next_question(live: Live, chain: Chain) -> None:
    pasts = live.app.state.gateway.past_indexes
    block = chain.blocks[3]
    every_page(live.client, "Event", {"number": block})
    first = pasts.at(block)
    pasts.release(first)
    every_page(live.client, "Asset", {"number": block})
    again = pasts.at(block)
    pasts.release(again)
    assert again is first
    assert first.holders == 0
    assert first.events == len(
        [
            1
            for item in every_page(live.client, "Event", None)["nodes"]
            if item["blockNumber"] <= block
        ]
    )
    assert re.fullmatch(r"\d+-[0-9a-f]{16}-\d+\.sqlite", first.path.name)


def test_a_replay_dropped_from_the_cache_is_read_until_its_holder_lets_go(
    live: Live, chain: Chain
) -> None:
    pasts = PastIndexes(live.app.state.gateway.engine, max_events=10_000, keep=2)
    try:
        held = pasts.at(chain.blocks[1])
        for block in chain.blocks[2:]:  # three more blocks push the held one out of the cache
            pasts.release(pasts.at(block))
        assert held.retired
        assert held.path.exists()
        with held.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(schema.events)).scalar_one() == (
                held.events
            )
        again = pasts.at(chain.blocks[1])  # a new replay, in a file of its own
        assert again is not held
        assert again.path != held.path
        pasts.release(held)
        assert not list(held.path.parent.glob(held.path.name + "*"))
        assert again.path.exists()
        pasts.release(again)
    finally:
        pasts.close()


def test_one_query_may_name_more_blocks_than_are_kept(live: Live, chain: Chain) -> None:
    pasts = live.app.state.gateway.past_indexes
    fields = " ".join(
        f"at{block}: events(first: 1, block: {{number: {block}}}) {{ totalCount }}"
        for block in chain.blocks
    )
    assert len(chain.blocks) > pasts.keep
    answer = ask(live.client, f"{{ {fields} }}")
    expected = {
        block: len(
            [
                1
                for item in every_page(live.client, "Event", None)["nodes"]
                if item["blockNumber"] <= block
            ]
        )
        for block in chain.blocks
    }
    assert {int(name[2:]): value["totalCount"] for name, value in answer.items()} == expected
    assert pasts._folder is not None
    assert len({path.name.split(".")[0] for path in pasts._folder.iterdir()}) == pasts.keep
