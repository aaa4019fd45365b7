"""A `provledger notify run` worker SIGKILLed while a receiver holds its delivery: the next
worker takes the subscription up once the lease runs out and sends that delivery again, with
the same id; deduplicated by id, the receiver has every notification once, in order."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

from helpers.processes import PROVLEDGER, clean_env
from helpers.receiver import Received, Receiver
from helpers.world import World
from indexer.conftest import NewDatabase
from notifications.conftest import ON_EMBEDDED_CHAIN, index_with, subscribe
from notifications.test_outbox import announced
from provledger.services.notify.signing import generate_master_key
from provledger.services.notify.worker import ADVANCE_EVERY
from provledger.store.notify import NotifyStore

#: The delivery the receiver holds (its answer never comes) while the worker is killed.
HELD = 3

pytestmark = ON_EMBEDDED_CHAIN


def notify_worker(index_url: str, store: NotifyStore, folder: Path) -> subprocess.Popen[bytes]:
    """A `provledger notify run` process on the test's databases (its master key in
    ``folder``): 0.5 s timeouts, 1 s leases, the outbox looked at every 50 ms."""
    key_file = folder / "notify.key"
    if not key_file.exists():
        key_file.write_text(generate_master_key() + "\n")
    env = clean_env(
        PROVLEDGER_DATABASE_URL=index_url,
        PROVLEDGER_NOTIFY_DATABASE_URL=store.engine.url.render_as_string(hide_password=False),
        PROVLEDGER_NOTIFY_MASTER_KEY_FILE=str(key_file),
        PROVLEDGER_NOTIFY_ALLOW_PRIVATE="true",
        PROVLEDGER_NOTIFY_TIMEOUT="0.5",
        PROVLEDGER_NOTIFY_LEASE_SECONDS="1",
        PROVLEDGER_CONFIRMATIONS="2",
        PROVLEDGER_FINALITY_DEPTH="8",
    )
    return subprocess.Popen(
        [PROVLEDGER, "notify", "run", "--poll", "0.05"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_killed_worker_s_delivery_is_sent_again_with_the_same_id(
    world: World, new_database: NewDatabase, notify_store: NotifyStore, tmp_path: Path
) -> None:
    url = new_database("index")
    release = threading.Event()

    def respond(received: Received) -> int:
        if len(receiver.received) == HELD and not release.is_set():
            release.wait(30)  # held: the worker is killed meanwhile
        return 200

    assert HELD < ADVANCE_EVERY
    with Receiver() as receiver:
        receiver.respond = respond
        everything = subscribe(notify_store, url=receiver.url)
        index_with(world, url, notify_store)
        for _ in range(3):
            world.register(world.alice)
        index_with(world, url, notify_store)
        expected = announced(url, everything.id)
        assert len(expected) > HELD

        first = notify_worker(url, notify_store, tmp_path)
        try:
            receiver.wait_for(HELD, timeout=60)
            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL
        finally:
            first.kill()
            release.set()
        killed_at = time.monotonic()
        second = notify_worker(url, notify_store, tmp_path)
        try:
            got = receiver.wait_for(len(expected) + HELD, timeout=60)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=10) == 0
            assert second.stderr is not None
            assert b"Traceback" not in second.stderr.read()

    ids = [item.headers["provledger-delivery"] for item in got]
    # The first worker had not written its cursor yet (HELD < ADVANCE_EVERY): the second one
    # sends what it had sent again, in order and with the same ids, the held one among them.
    assert ids[HELD : 2 * HELD] == ids[:HELD]
    assert len(ids) == len(expected) + HELD
    assert got[HELD].at - killed_at >= 0.9  # by the second worker, once the lease ran out
    deduplicated = list(dict.fromkeys(ids))
    assert len(deduplicated) == len(expected)
    positions = [
        (body["event"]["block_number"], body["event"]["log_index"])
        for body in (json.loads(item.body) for item in got)
    ]
    assert list(dict.fromkeys(positions)) == expected
