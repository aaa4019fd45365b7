"""The event stream (GET /stream) served by uvicorn: a client that disconnects at random points
and comes back with Last-Event-ID sees exactly the sequence an uninterrupted one sees;
heartbeats while idle; a bounded number of streams per API key."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from helpers.world import World
from indexer.conftest import NewDatabase
from notifications.conftest import ON_EMBEDDED_CHAIN, index_with
from notifications.test_outbox import announced
from provledger.api.app import create_app
from provledger.cli.watch import Event, parse_events
from provledger.config import Settings
from provledger.store.engine import create_schema, create_store_engine
from provledger.store.notify import NotifyStore
from provledger.store.relay import open_relay_store
from web.conftest import serving

STREAMS_PER_KEY = 3

pytestmark = ON_EMBEDDED_CHAIN


@pytest.fixture
def stream_setup(
    world: World, new_database: NewDatabase, notify_store: NotifyStore, tmp_path: Path
) -> Iterator[tuple[str, str, str]]:
    """An index with its schema, a served gateway over it and the notify store, and an API key:
    (index URL, gateway URL, API key)."""
    url = new_database("index")
    engine = create_store_engine(url)
    create_schema(engine)
    engine.dispose()
    with open_relay_store(str(tmp_path / "relay.sqlite")) as keys:
        _, token = keys.create_key("watcher", rate_per_minute=60, daily_gas=1)
    settings = Settings(
        database_url=url,
        relay_database_url=str(tmp_path / "relay.sqlite"),
        notify_database_url=notify_store.engine.url.render_as_string(hide_password=False),
        notify_heartbeat_seconds=0.3,
        notify_streams_per_key=STREAMS_PER_KEY,
        confirmations=2,
        finality_depth=8,
        deployments_dir=tmp_path / "deployments",
    )
    with serving(create_app(settings)) as base:
        yield url, base, token


def _open(base: str, token: str, last: str | None = None, **query: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if last is not None:
        headers["Last-Event-ID"] = last
    return requests.get(
        f"{base}/stream", params=query, headers=headers, stream=True, timeout=(5, 10)
    )


def _events(response: requests.Response) -> Iterator[Event]:
    return parse_events(line.decode() for line in response.iter_lines())


def _take(response: requests.Response, count: int) -> list[Event]:
    taken: list[Event] = []
    for item in _events(response):
        taken.append(item)
        if len(taken) == count:
            break
    return taken


def _activity(world: World, transfers: int) -> None:
    moved = world.register(world.alice)
    holders = [world.alice, world.bob]
    for number in range(transfers):
        giver, taker = holders[number % 2], holders[(number + 1) % 2]
        giver.registry.transfer(moved, taker.address)


def test_a_client_that_drops_and_resumes_sees_the_exact_sequence(
    world: World, stream_setup: tuple[str, str, str], notify_store: NotifyStore
) -> None:
    url, base, token = stream_setup
    steady = _open(base, token, event="Transfer")
    assert steady.status_code == 200, steady.text
    assert steady.headers["content-type"].startswith("text/event-stream")
    index_with(world, url, notify_store)  # the indexer sees the stream's subscription
    _activity(world, transfers=12)
    index_with(world, url, notify_store)
    (stream,) = notify_store.listed()
    expected = announced(url, stream.id)
    assert len(expected) == 13  # the mint and twelve transfers

    whole = _take(steady, len(expected))
    steady.close()
    assert [(item.kind, _position(item)) for item in whole] == [("announce", at) for at in expected]

    chooser = random.Random(7)
    pieced: list[Event] = []
    last: str | None = "0"  # from the stream's start, as the steady client saw it
    while len(pieced) < len(expected):
        response = _open(base, token, last, event="Transfer")
        piece = _take(response, min(chooser.randint(1, 4), len(expected) - len(pieced)))
        response.close()
        pieced.extend(piece)
        last = piece[-1].id
    assert [(item.id, item.data) for item in pieced] == [(item.id, item.data) for item in whole]


def _position(item: Event) -> tuple[int, int]:
    shown = json.loads(item.data)["event"]
    return shown["block_number"], shown["log_index"]


def test_an_idle_stream_sends_heartbeats_and_streams_per_key_are_bounded(
    stream_setup: tuple[str, str, str],
) -> None:
    _, base, token = stream_setup
    opened = [_open(base, token, holder=f"0x{number:040x}") for number in range(STREAMS_PER_KEY)]
    try:
        lines = opened[0].iter_lines()
        assert next(lines) == b"retry: 2000"
        assert next(lines) == b""
        assert next(lines) == b": heartbeat"
        refused = _open(base, token, event="Transfer")
        assert refused.status_code == 429
        assert refused.json()["detail"] == (
            f"this API key has {STREAMS_PER_KEY} streams open, the most one may; close one first"
        )
    finally:
        for response in opened:
            response.close()


def test_a_bad_stream_request_is_refused_before_it_starts(
    stream_setup: tuple[str, str, str],
) -> None:
    _, base, token = stream_setup
    typo = _open(base, token, event="Tranfer")
    assert typo.status_code == 400
    assert typo.json()["detail"] == "there is no event 'Tranfer'; did you mean 'Transfer'?"
    assert _open(base, "plk_nope_nope").status_code == 401
    bad_id = _open(base, token, "yesterday", event="Transfer")
    assert bad_id.status_code == 400
    assert bad_id.json()["detail"] == "Last-Event-ID: the id of an event this stream sent"
