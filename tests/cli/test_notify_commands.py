"""`provledger notify` as an operator uses it: a key, subscriptions (and the mistakes one makes
typing them), the indexer announcing, a worker delivering to a local receiver, signed with the
secret the subscription printed."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cli.conftest import HOLDER, Cli, gateway_process
from helpers.processes import PROVLEDGER, clean_env, wait_until
from helpers.receiver import Receiver
from provledger.chain.anvil import free_port
from provledger.chain.serialize import asset_hex
from provledger.cli.watch import Event, accounts_of, describe
from provledger.services.notify.signing import parse_secret, verify

pytestmark = pytest.mark.anvil


def test_a_subscription_made_on_the_command_line_is_delivered_signed(
    cli: Cli, tmp_path: Path
) -> None:
    cli.env["PROVLEDGER_NOTIFY_DATABASE_URL"] = str(tmp_path / "notify.sqlite")
    key_file = tmp_path / "notify.key"
    with Receiver() as receiver:
        refused = cli.fails(2, "notify", "subscribe", "--url", receiver.url)
        assert refused == (
            "error: Cannot use the notification master key: none is set: set "
            "PROVLEDGER_NOTIFY_MASTER_KEY_FILE (`provledger notify keygen` writes one) or "
            "PROVLEDGER_NOTIFY_MASTER_KEY"
        )
        cli.ok("notify", "keygen", str(key_file))
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert "never overwritten" in cli.fails(2, "notify", "keygen", str(key_file))
        cli.env["PROVLEDGER_NOTIFY_MASTER_KEY_FILE"] = str(key_file)

        private = cli.fails(2, "notify", "subscribe", "--url", receiver.url)
        assert "127.0.0.1 is a loopback address; private targets are off" in private
        typo = cli.fails(2, "notify", "subscribe", "--url", receiver.url, "--event", "Tranfer")
        assert typo == "error: there is no event 'Tranfer'; did you mean 'Transfer'?"
        bad_grade = cli.fails(2, "notify", "subscribe", "--url", receiver.url, "--grade", "4")
        assert bad_grade == "error: grades: a grade is 1, 2 or 3, not '4'"
        bad_lead = cli.fails(
            2, "notify", "subscribe", "--url", receiver.url, "--remind-before", "2w"
        )
        assert bad_lead == "error: remind_before: a lead time such as 7d, 36h or 90m, not '2w'"
        assert cli.json("notify", "list") == []  # nothing refused was kept

        cli.env["PROVLEDGER_NOTIFY_ALLOW_PRIVATE"] = "true"
        holder = cli.address(HOLDER)
        made = cli.json(
            "notify", "subscribe", "--url", receiver.url, "--holder", holder,
            "--remind-before", "48h",
        )  # fmt: skip
        assert made["filter"] == {"holders": [holder.lower()]}
        assert made["remind_before"] == "2d"
        assert made["from_block"] is None
        assert cli.ok("notify", "secret", made["id"]).strip() == made["secret"]
        cli.ok("index", "--once", "--no-progress")
        head = cli.w3.eth.block_number
        started = cli.json("notify", "list")[0]["from_block"]
        assert isinstance(started, int)
        assert started <= head  # the first batch the indexer wrote after seeing it

        data = tmp_path / "readings.csv"
        data.write_text("pm2.5,42\n", encoding="utf-8")
        registered = cli.json(
            "register", str(data), "--category", "301", "--dev-account", str(HOLDER)
        )
        cli.ok("index", "--once", "--no-progress")
        done = cli.run("notify", "run", "--once")
        assert done.exit_code == 0, done.output
        assert done.stderr.strip() == "delivered 2, failed attempts 0, dead-lettered 0"

        bodies = [json.loads(item.body) for item in receiver.received]
        assert [body["event"]["event"] for body in bodies] == ["AssetRegistered", "Transfer"]
        assert {body["event"]["args"]["asset_id"] for body in bodies[:1]} == {
            asset_hex(int(registered["asset_id"], 16))
        }
        secret = parse_secret(made["secret"])
        for item in receiver.received:
            verify(secret, item.headers["provledger-signature"], item.body, now=int(time.time()))

        status = cli.json("notify", "status", made["id"])
        assert (status["failed_attempts"], status["dead_letters"]) == (0, [])
        cli.ok("notify", "remove", made["id"])
        assert cli.json("notify", "list") == []
        gone = cli.fails(2, "notify", "status", made["id"])
        assert gone == f"error: no subscription {made['id']}"


def test_watch_follows_the_stream_and_stops_cleanly_on_ctrl_c(cli: Cli, tmp_path: Path) -> None:
    notify_db = str(tmp_path / "watch-notify.sqlite")
    cli.env["PROVLEDGER_NOTIFY_DATABASE_URL"] = notify_db
    cli.env["PROVLEDGER_RELAY_DATABASE_URL"] = str(tmp_path / "relay.sqlite")
    token = cli.json("apikey", "create", "watcher")["api_key"]
    with gateway_process(cli) as gateway:
        watcher = subprocess.Popen(
            [PROVLEDGER, "watch", "--json", "--event", "AssetRegistered"],
            env=clean_env(**cli.env, PROVLEDGER_GATEWAY_URL=gateway.url, PROVLEDGER_API_KEY=token),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            wait_until(
                lambda: len(cli.json("notify", "list")) == 1, watcher, "the stream's subscription"
            )
            cli.ok("index", "--once", "--no-progress", "--finality-depth", "2")
            data = tmp_path / "watched.csv"
            data.write_text("watched\n", encoding="utf-8")
            registered = cli.json(
                "register", str(data), "--category", "301", "--dev-account", str(HOLDER)
            )
            cli.ok("index", "--once", "--no-progress", "--finality-depth", "2")
            assert watcher.stdout is not None
            line = watcher.stdout.readline()
            body = json.loads(line)
            assert body["type"] == "announce"
            assert body["event"]["event"] == "AssetRegistered"
            assert body["event"]["args"]["asset_id"] == registered["asset_id"]
            watcher.send_signal(signal.SIGINT)
            assert watcher.wait(timeout=10) == 0
            assert b"Traceback" not in (watcher.stderr.read() if watcher.stderr else b"")
        finally:
            watcher.kill()
            watcher.wait()


def test_a_following_worker_waits_for_the_index(tmp_path: Path) -> None:
    key = tmp_path / "notify.key"
    env = clean_env(
        PROVLEDGER_DATABASE_URL=str(tmp_path / "index.sqlite"),
        PROVLEDGER_NOTIFY_DATABASE_URL=str(tmp_path / "notify.sqlite"),
        PROVLEDGER_NOTIFY_MASTER_KEY_FILE=str(key),
    )
    subprocess.run([PROVLEDGER, "notify", "keygen", str(key)], env=env, check=True)
    subprocess.run(
        [PROVLEDGER, "notify", "subscribe", "--url", "https://93.184.215.14/hook"],
        env=env,
        check=True,
        capture_output=True,
    )
    worker = subprocess.Popen(
        [PROVLEDGER, "notify", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert worker.stderr is not None
        assert worker.stderr.readline() == (
            b"waiting: the index is not built yet: run provledger index first\n"
        )
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=10) == 0
        assert worker.stderr.read() == b"delivered 0, failed attempts 0, dead-lettered 0\n"
    finally:
        worker.kill()
        worker.wait()


def test_an_unreachable_database_is_one_line_and_exit_3(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://postgres:secret@127.0.0.1:{port}/nothing"
    shown = f"postgresql+psycopg://postgres:***@127.0.0.1:{port}/nothing"
    for args, setting in (
        (["notify", "list"], "PROVLEDGER_NOTIFY_DATABASE_URL"),
        (["apikey", "list"], "PROVLEDGER_RELAY_DATABASE_URL"),
    ):
        done = subprocess.run(
            [PROVLEDGER, *args],
            env=clean_env(**{setting: url}),
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert done.returncode == 3, done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"error: the database at {shown} cannot be reached (")
        assert "Connection refused" in line
        assert line.endswith("); retry shortly")


def test_watch_shows_a_reminder_with_its_expiry_and_the_grant() -> None:
    licensee = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    body = {
        "id": "sub_1-61-1-9b20c4d1e07a-x",
        "type": "remind",
        "subscription": "sub_1",
        "reminder": "LicenseExpiring",
        "expires_at": "2027-01-04T09:00:00Z",
        "event": {
            "block_number": 61,
            "block_time": 1_796_645_360,
            "event": "LicenseGranted",
            "args": {"license_id": 3, "asset_id": "0x" + "ab" * 32, "licensee": licensee},
            "finality": "safe",
        },
    }
    line = describe(Event("7", "remind", json.dumps(body)))
    assert line == (
        "reminder   LicenseExpiring at 2027-01-04T09:00:00Z: 2026-12-07T12:09:20Z  block 61  "
        f"LicenseGranted         asset 0x{'ab' * 32}  licensee {licensee}  (safe)"
    )
    assert accounts_of(Event("7", "remind", json.dumps(body))) == [licensee]
    named = describe(Event("7", "remind", json.dumps(body)), {licensee: "Bob Labs (DE)"})
    assert named.endswith("licensee Bob Labs (DE) 0x7099…79C8  (safe)")


def test_watch_shows_a_mint_s_zero_address_as_nobody() -> None:
    holder = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
    body = {
        "id": "sub_1-70-1-9b20c4d1e07a",
        "type": "announce",
        "subscription": "sub_1",
        "event": {
            "block_number": 70,
            "block_time": 1_796_645_360,
            "event": "Transfer",
            "args": {"from": "0x" + "00" * 20, "to": holder, "token_id": "0x" + "cd" * 32},
            "finality": "pending",
        },
    }
    line = describe(Event("8", "announce", json.dumps(body)), {holder: "Pudong Sensor (CN)"})
    assert line.endswith(
        "from nobody (the zero address)  to Pudong Sensor (CN) 0x9965…A4dc  (pending)"
    )
