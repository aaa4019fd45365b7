"""Reorgs on anvil, from the receiver's side: what went out at pending finality and is gone is
retracted; what never went out is neither sent nor retracted; a final subscription hears of
neither branch's events until they are final."""

from __future__ import annotations

import json
from typing import Any

import pytest

from helpers.receiver import Receiver
from helpers.world import World
from indexer.conftest import NewDatabase
from notifications.conftest import index_with, subscribe
from notifications.test_notify_worker import Clock, drain, worker_for
from notifications.test_outbox import announced
from provledger.indexer.scanner import IndexerConfig
from provledger.store.notify import NotifyStore

CONFIG = IndexerConfig(confirmations=2, finality_depth=32, initial_range=8)


def _mine_to(world: World, target: int) -> None:
    head = world.w3.eth.block_number
    if target > head:
        world.chain.mine(target - head)


@pytest.mark.anvil
@pytest.mark.parametrize("depth", [1, 3, 10])
def test_a_reorg_retracts_what_was_announced_and_skips_what_was_not(
    anvil_world: World, new_database: NewDatabase, notify_store: NotifyStore, depth: int
) -> None:
    world = anvil_world
    url = new_database("index")
    with Receiver() as heard, Receiver() as late, Receiver() as final:
        told = subscribe(notify_store, url=heard.url)
        subscribe(notify_store, url=late.url)
        settled = subscribe(notify_store, url=final.url, finality="final")
        moved = world.register(world.alice)
        index_with(world, url, notify_store, CONFIG)
        worker = worker_for(notify_store, url, Clock(), finality_depth=CONFIG.finality_depth)
        drain(worker)
        before = len(heard.received)
        assert before > 0
        assert len(late.received) == before
        final_before = len(final.received)  # the deployment's set-up, deep enough to be final
        assert final_before < before

        fork_base = world.w3.eth.block_number
        snapshot = world.chain.snapshot()
        world.alice.registry.transfer(moved, world.bob.address)  # only this branch has it
        _mine_to(world, fork_base + depth)
        index_with(world, url, notify_store, CONFIG)
        # (the outbox is pruned of what went out and is final: what is left is the fork's)
        abandoned = [at for at in announced(url, told.id) if at[0] > fork_base]
        assert len(abandoned) == 1
        late.respond = lambda _: 500  # this receiver is down while the abandoned branch lives
        clock = worker.clock
        assert isinstance(clock, Clock)
        for _ in range(3):
            clock.now += 1
            worker.run_once()
        assert len(heard.received) == before + 1
        went_out = json.loads(heard.received[-1].body)["id"]

        world.chain.revert(snapshot)
        world.alice.registry.transfer(moved, world.carol.address)
        _mine_to(world, fork_base + depth + 1)
        summary = index_with(world, url, notify_store, CONFIG)
        assert summary.reorgs == 1
        late.respond = lambda _: 200
        refused = len(late.received)  # the abandoned announcement's attempts, answered 500
        drain(worker)

        after_fork = [json.loads(item.body) for item in heard.received[before + 1 :]]
        assert [body["type"] for body in after_fork] == ["retract", "announce"]
        assert after_fork[0]["retracts"] == went_out
        assert after_fork[0]["id"] == went_out + "-r"
        assert after_fork[1]["event"]["args"]["to"] == world.carol.address

        late_bodies = [json.loads(item.body) for item in late.received[refused:]]
        assert [body["type"] for body in late_bodies] == ["announce"]  # never the abandoned one
        assert late_bodies[0]["event"]["args"]["to"] == world.carol.address
        # Only blocks 32 deep went out to the final subscription: none of either branch.
        assert final_before <= len(final.received)
        assert all(
            json.loads(item.body)["event"]["block_number"] <= fork_base for item in final.received
        )

        _mine_to(world, world.w3.eth.block_number + 32)
        index_with(world, url, notify_store, CONFIG)
        drain(worker)
        final_bodies = [json.loads(item.body) for item in final.received]
        assert {body["type"] for body in final_bodies} == {"announce"}
        assert [body["event"]["finality"] for body in final_bodies] == ["final"] * len(final_bodies)
        assert final_bodies[-1]["event"]["args"]["to"] == world.carol.address
        heard_bodies = [json.loads(item.body) for item in heard.received]
        taken_back = {body["retracts"] for body in heard_bodies if body["type"] == "retract"}
        standing = [
            _at(body)
            for body in heard_bodies
            if body["type"] == "announce" and body["id"] not in taken_back
        ]
        assert [_at(body) for body in final_bodies] == standing
        assert notify_store.cursor(settled.id).seq > 0


def _at(body: dict[str, Any]) -> tuple[int, int]:
    return (body["event"]["block_number"], body["event"]["log_index"])
