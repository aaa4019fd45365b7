"""Soak: the gateway under steady reads and relayed registrations while the chain moves and
reorganises; nothing may be lost, doubled or answered with a 5xx.

    python benchmarks/soak.py [--minutes M] [--readers N] [--reorg-every S] [--seed S]

Starts anvil (a block a second), deploys, registers the relay's registrants as participants,
then runs three processes of provledger against it: ``provledger index`` following the chain
(finality depth 8) into a SQLite file, ``provledger serve --workers 2`` over that file with
relaying on (dev key 11), and this script's load:

* ``--readers`` threads reading the gateway round-robin: an asset by id and by content hash,
  its history and lineage, a verdict by hash, the status;
* one thread relaying signed registrations (each of 40 registrants signs its next nonce once
  its previous one is confirmed), every tenth one sent twice with the same idempotency key;
* ``--hostile`` threads sending what an outside probe sent (issue 16) in turn: JSON nested a
  million levels deep to ``/verify/manifest`` and the relay, a 1 MiB header, 20,000 headers, a
  head sent slowly, a body that stalls, cursors and numbers past 64 bits, ids in other scripts'
  digits, a multipart body past its cap, a folder manifest of 20,000 files; their answers are
  counted apart (``hostile=``), a 503 with ``Retry-After`` from a busy heavy route as *shed*, any
  other 5xx as an error;
* one thread registering and transferring directly, and every ``--reorg-every`` seconds a
  reorganisation: ``evm_snapshot`` a few blocks back is not possible on anvil, so the script
  takes a snapshot, lets 1 to 4 blocks be mined, and reverts to it (those blocks, with their
  events and any relayed transaction in them, vanish; the relay must send those again).

After ``--minutes`` the load stops; the relay's requests are waited for until settled, the
chain is mined past the finality depth, the indexer catches up, and its store is compared with
a fresh index of the same chain (every table). Relayed registrations are counted from the chain:
*lost* is an accepted request whose assets are not registered to their registrants, *duplicated*
a content hash with more than one registration or a request answered twice with a transaction.
A gateway worker that dies is restarted by the supervisor; the workers' process ids are
compared before and after (``worker_restarts=``). The last line is ``result requests=<n>
hostile=<n> shed=<n> errors_5xx=<n> worker_restarts=<n> relayed=<n> mined=<n> lost=<n>
duplicated=<n> store_equal=true|false``.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from provledger.categories import CATEGORIES
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.anvil import AnvilNode, free_port
from provledger.chain.client import Provledger
from provledger.chain.deploy import deploy, dev_role_grants
from provledger.chain.eip712 import signed_to_json
from provledger.chain.events import AssetRegistered
from provledger.chain.serialize import asset_hex
from provledger.chain.types import Registration
from provledger.hashing import FolderManifest, ManifestEntry
from provledger.store.engine import create_store_engine
from provledger.store.index import dump
from provledger.store.relay import open_relay_store

FINALITY_DEPTH: Final = 8
RELAYER_INDEX: Final = 11
REGISTRANTS: Final = 40
PROVLEDGER: Final = str(Path(sys.executable).with_name("provledger"))


@dataclass
class Tally:
    """What the load saw, shared by its threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    relayed: dict[str, list[str]] = field(default_factory=dict)  # request id -> asset ids
    expected: dict[str, str] = field(default_factory=dict)  # asset id -> registrant
    idempotent_refused: int = 0
    relay_refused: collections.Counter[str] = field(default_factory=collections.Counter)
    reorgs: int = 0
    direct: int = 0
    sent_again: int = 0
    hostile: collections.Counter[str] = field(default_factory=collections.Counter)

    def saw(self, status: int) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1

    def saw_hostile(self, probe: str, status: int | None, busy: bool = False) -> None:
        """A hostile probe's answer: its status (None: the connection was closed on it)."""
        outcome = "shed" if busy else "closed" if status is None else str(status)
        with self.lock:
            self.hostile[outcome] += 1
            if status is not None and status >= 500 and not busy:
                self.hostile[f"5xx {probe}"] += 1


def content(rng: random.Random) -> bytes:
    return rng.randbytes(32)


def fresh_registration(rng: random.Random) -> Registration:
    digest = content(rng)
    return Registration(
        content_hash=digest,
        metadata_uri=f"ipfs://soak/{digest.hex()[:16]}",
        metadata_hash=content(rng),
        category=sorted(CATEGORIES)[0],
        grade=1,
        parents=(),
    )


def env_for(folder: Path, rpc_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PROVLEDGER_")}
    env.update(
        PROVLEDGER_RPC_URL=rpc_url,
        PROVLEDGER_DATABASE_URL=str(folder / "index.sqlite"),
        PROVLEDGER_DEPLOYMENTS_DIR=str(folder / "deployments"),
        PROVLEDGER_BLOB_DIR=str(folder / "blobs"),
        PROVLEDGER_FINALITY_DEPTH=str(FINALITY_DEPTH),
        # "confirmed" must outlive the deepest reorganisation the soak makes (4 blocks)
        PROVLEDGER_CONFIRMATIONS=str(FINALITY_DEPTH),
        **extra,
    )
    return env


def head_with(header_lines: bytes) -> bytes:
    """A GET /health request head with ``header_lines`` (CRLF-terminated ones) in it."""
    if not header_lines.endswith(b"\r\n"):
        header_lines += b"\r\n"
    return b"GET /health HTTP/1.1\r\nHost: x\r\n" + header_lines + b"\r\n"


def raw_status(port: int, request: bytes) -> int | None:
    """Send ``request`` on a fresh connection: the status answered, or None if the connection
    was closed without one (a reset while the refused request was still being sent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(request)
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def big_manifest(files: int) -> bytes:
    """A valid folder manifest of ``files`` files."""
    entries = [
        ManifestEntry(f"f-{n:06d}.csv", hashlib.sha256(b"%d" % n).digest(), n) for n in range(files)
    ]
    return FolderManifest.from_entries(entries).to_json().encode()


def worker_pids(server: subprocess.Popen[bytes]) -> set[int]:
    """The process ids of a `provledger serve` process's workers (its children)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    return {int(pid) for pid in children.read_text().split()}


def wait_for(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(0.25)


class Soak:
    """One soak run."""

    def __init__(self, options: argparse.Namespace, folder: Path) -> None:
        self.options = options
        self.folder = folder
        self.rng = random.Random(options.seed)
        self.tally = Tally()
        self.stop = threading.Event()
        self.chain_lock = threading.Lock()  # reorgs and direct writes take turns
        self.node = AnvilNode(extra_args=("--block-time", "1")).start()
        self.w3 = self.node.web3()
        admin = dev_account(DEV_ROLES["admin"])
        self.deployment = deploy(self.w3, admin, grants=dev_role_grants())
        self.deployment.save(folder / "deployments")
        self.ledger = Provledger(self.w3, self.deployment, admin)
        registrar = self.ledger.as_account(dev_account(DEV_ROLES["registrar"]))
        self.registrants: list[LocalAccount] = [Account.create() for _ in range(REGISTRANTS)]
        self.writers = [dev_account(index) for index in (5, 6, 7)]
        for account in [*self.registrants, *self.writers]:
            registrar.registry.register_participant(account.address, "CN")
        with open_relay_store(str(folder / "relay.sqlite")) as store:
            self.api_key = store.create_key("soak", rate_per_minute=100_000, daily_gas=10**12)[1]
        self.processes: list[subprocess.Popen[bytes]] = []

    # ------------------------------------------------------------ processes
    def start_services(self) -> str:
        env = env_for(self.folder, self.node.url)
        self.processes.append(
            subprocess.Popen(
                [PROVLEDGER, "index", "--no-progress", "--finality-depth", str(FINALITY_DEPTH)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(self.folder / "index.log").open("wb"),
            )
        )
        port = free_port()
        self.processes.append(
            subprocess.Popen(
                [PROVLEDGER, "serve", "--port", str(port), "--workers", "2"],
                env=env_for(
                    self.folder,
                    self.node.url,
                    PROVLEDGER_RELAY_DATABASE_URL=str(self.folder / "relay.sqlite"),
                    PROVLEDGER_RELAYER_DEV_ACCOUNT=str(RELAYER_INDEX),
                    PROVLEDGER_RELAY_REPLACE_AFTER="10",
                ),
                stdout=subprocess.DEVNULL,
                stderr=(self.folder / "serve.log").open("wb"),
            )
        )
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, "the gateway", 60)
        return base

    def stop_services(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            process.wait(timeout=30)

    # ------------------------------------------------------------ load
    def reader(self, base: str, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=30) as client:
            while not self.stop.is_set():
                with self.tally.lock:
                    known = list(self.tally.expected)
                if not known:
                    paths = ["/status"]
                else:
                    asset = rng.choice(known)
                    paths = [
                        f"/assets/{asset}",
                        f"/assets/{asset}/history",
                        f"/assets/{asset}/lineage?direction=both&depth=3",
                        "/status",
                        "/assets/recent",
                    ]
                for path in paths:
                    try:
                        status = client.get(path).status_code
                    except httpx.HTTPError:
                        status = 599
                    self.tally.saw(status)

    def relay(self, base: str) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        nonces = dict.fromkeys((account.address for account in self.registrants), 0)
        busy: dict[str, str] = {}  # registrant -> request id in flight
        sent = 0
        with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
            while not self.stop.is_set():
                for account in self.registrants:
                    if self.stop.is_set():
                        break
                    request_id = busy.get(account.address)
                    if request_id is not None:
                        answer = client.get(f"/relay/requests/{request_id}")
                        self.tally.saw(answer.status_code)
                        state = answer.json().get("status")
                        if state == "failed":
                            raise RuntimeError(f"relay request failed: {answer.text}")
                        if state != "confirmed":
                            continue
                        del busy[account.address]
                        nonces[account.address] += 1
                    document = self.signed(account, nonces[account.address])
                    key = f"soak-{sent}"
                    answer = client.post(
                        "/relay/registrations", json=document, headers={"Idempotency-Key": key}
                    )
                    self.tally.saw(answer.status_code)
                    if answer.status_code != 202:
                        self.tally.relay_refused[answer.json().get("detail", "")[:80]] += 1
                        continue
                    accepted = answer.json()
                    with self.tally.lock:
                        self.tally.relayed[accepted["request_id"]] = accepted["asset_ids"]
                        self.tally.expected[accepted["asset_ids"][0]] = account.address
                    busy[account.address] = accepted["request_id"]
                    sent += 1
                    if sent % 10 == 0:  # a client retrying: refused, never relayed twice
                        again = client.post(
                            "/relay/registrations",
                            json=document,
                            headers={"Idempotency-Key": key},
                        )
                        self.tally.saw(again.status_code)
                        if again.status_code == 409:
                            with self.tally.lock:
                                self.tally.idempotent_refused += 1
                time.sleep(0.05)

    def hostile(self, base: str, seed: int) -> None:
        """Send the probe's inputs in turn: each is answered or refused, never with a 5xx
        (but a 503 with Retry-After from a heavy route that is busy: *shed*)."""
        rng = random.Random(seed)
        port = int(base.rsplit(":", 1)[1])
        auth = {"Authorization": f"Bearer {self.api_key}"}
        deep = b"[" * 1_000_000 + b"]" * 1_000_000
        relay_deep = b'{"registrations":' + b"[" * 400_000 + b"]" * 400_000 + b"}"
        cursor = base64.urlsafe_b64encode(json.dumps([2**63]).encode()).decode().rstrip("=")
        multipart = (
            b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--x--\r\n'
            + b"x" * (1 << 20)
        )
        posts: dict[str, tuple[str, bytes, dict[str, str]]] = {
            "manifest": ("/verify/manifest", big_manifest(20_000), {}),
            "deep-manifest": ("/verify/manifest", deep, {}),
            "deep-relay": ("/relay/registrations", relay_deep, auth),
            "multipart": (
                "/verify",
                multipart,
                {"Content-Type": "multipart/form-data; boundary=x"},
            ),
        }
        gets: dict[str, tuple[str, dict[str, str]]] = {
            "cursor": ("/assets", {"cursor": cursor}),
            "search": ("/search", {"q": str(2**63)}),
            "digits": ("/assets/\u0661\u0662", {}),
            "limit": ("/assets", {"limit": "+1_0"}),
        }
        heads: dict[str, bytes] = {
            "big-header": head_with(b"X-Big: " + b"a" * (1 << 20)),
            "many-headers": head_with(b"".join(b"X-%d: 1\r\n" % n for n in range(20_000))),
            "slow-head": b"GET /health HTTP/1.1\r\nHost: x\r\n",
            "stalled-body": b"POST /verify HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n.",
        }
        names = [*posts, *gets, *heads]
        with httpx.Client(base_url=base, timeout=60) as client:
            while not self.stop.is_set():
                name = rng.choice(names)
                if name in heads:
                    self.tally.saw_hostile(name, raw_status(port, heads[name]))
                    continue
                try:
                    if name in posts:
                        path, body, headers = posts[name]
                        answer = client.post(path, content=body, headers=headers)
                    else:
                        path, params = gets[name]
                        answer = client.get(path, params=params)
                except httpx.HTTPError:
                    self.tally.saw_hostile(name, None)
                    continue
                busy = answer.status_code == 503 and "retry-after" in answer.headers
                self.tally.saw_hostile(name, answer.status_code, busy)

    def signed(self, account: LocalAccount, nonce: int) -> dict[str, Any]:
        with self.chain_lock:
            now = int(self.w3.eth.get_block("latest")["timestamp"])
        signed = self.ledger.registry.sign(
            fresh_registration(self.rng), account, deadline=now + 3600, nonce=nonce
        )
        return signed_to_json(
            signed, chain_id=self.deployment.chain_id, registry=self.ledger.registry.address
        )

    def chain_activity(self) -> None:
        rng = random.Random(self.options.seed + 1)
        last_reorg = time.monotonic()
        writers = [self.ledger.as_account(account) for account in self.writers]
        held: list[tuple[int, int]] = []  # (asset, writer index)
        while not self.stop.is_set():
            if time.monotonic() - last_reorg > self.options.reorg_every:
                self.reorg(rng)
                last_reorg = time.monotonic()
                held.clear()  # what they held may be gone with the reverted blocks
                continue
            with self.chain_lock:
                try:
                    index = rng.randrange(len(writers))
                    if held and rng.random() < 0.4:
                        asset, owner = held.pop(rng.randrange(len(held)))
                        target = (owner + 1) % len(writers)
                        writers[owner].registry.transfer(asset, writers[target].address)
                        held.append((asset, target))
                    else:
                        receipt = writers[index].registry.register(fresh_registration(rng))
                        held.append((receipt.event(AssetRegistered).asset_id, index))
                    self.tally.direct += 1
                except Exception:  # a transaction caught by a reorg: the next one goes on
                    held.clear()
            time.sleep(0.2)

    def reorg(self, rng: random.Random) -> None:
        with self.chain_lock:
            snapshot = self.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        time.sleep(rng.uniform(1.0, 4.0))  # 1 to 4 blocks mined meanwhile, relay included
        with self.chain_lock:
            self.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
            self.tally.reorgs += 1

    # ------------------------------------------------------------ the end
    def settle(self) -> tuple[int, int, int]:
        """Wait for every relayed request; return (mined, lost, duplicated); count those sent
        again with more fee (a reorganisation took their transaction away, or it waited)."""

        def settled() -> bool:
            with open_relay_store(str(self.folder / "relay.sqlite")) as store:
                return not store.unsettled()

        wait_for(settled, "the relayed requests to settle", 300)
        mined = lost = duplicated = 0
        with open_relay_store(str(self.folder / "relay.sqlite")) as store:
            for request_id, asset_ids in self.tally.relayed.items():
                request = store.get(request_id)
                assert request is not None
                if request.status == "confirmed":
                    mined += 1
                if request.replacements:
                    self.tally.sent_again += 1
                for shown in asset_ids:
                    state = self.ledger.registry.asset(int(shown, 16))
                    if state is None or state.registrant != self.tally.expected[shown]:
                        lost += 1
        registered = collections.Counter(
            asset_hex(event["args"]["assetId"])
            for event in self.ledger.registry.contract.events.AssetRegistered().get_logs(
                from_block=0
            )
        )
        duplicated = sum(count - 1 for count in registered.values() if count > 1)
        return mined, lost, duplicated

    def store_equal(self) -> bool:
        """Stop the chain, let the indexer reach the head, compare with a fresh index."""
        rpc = self.w3.provider.make_request
        rpc("evm_setIntervalMining", [0])  # type: ignore[arg-type]
        rpc("anvil_mine", [hex(FINALITY_DEPTH + 2)])  # type: ignore[arg-type]
        head = int(self.w3.eth.block_number)
        live = create_store_engine(str(self.folder / "index.sqlite"))

        def indexed() -> bool:
            with live.connect() as conn:
                row = conn.exec_driver_sql("SELECT block_number FROM checkpoint").first()
            return row is not None and int(row[0]) >= head

        wait_for(indexed, "the indexer to reach the head", 300)
        self.stop_services()
        fresh = self.folder / "fresh.sqlite"
        done = subprocess.run(
            [PROVLEDGER, "index", "--once", "--no-progress", "--database-url", str(fresh)],
            env=env_for(self.folder, self.node.url),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"fresh index failed: {done.stderr.decode()}")
        ours, theirs = dump(live), dump(create_store_engine(str(fresh)))
        differing = [table for table in ours if ours[table] != theirs.get(table)]
        if differing:
            print(f"tables that differ: {', '.join(differing)}")
        return not differing


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the load runs")
    parser.add_argument("--readers", type=int, default=8, help="reader threads")
    parser.add_argument("--reorg-every", type=float, default=30.0, help="seconds between reorgs")
    parser.add_argument("--hostile", type=int, default=2, help="hostile client threads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the databases and logs in this folder")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="provledger-soak-") as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        soak = Soak(options, folder)
        try:
            base = soak.start_services()
            threads = [
                threading.Thread(target=soak.reader, args=(base, seed), daemon=True)
                for seed in range(options.readers)
            ]
            threads += [
                threading.Thread(target=soak.hostile, args=(base, 1000 + seed), daemon=True)
                for seed in range(options.hostile)
            ]
            threads.append(threading.Thread(target=soak.relay, args=(base,), daemon=True))
            workers_before = worker_pids(soak.processes[1])
            threads.append(threading.Thread(target=soak.chain_activity, daemon=True))
            started = time.monotonic()
            for thread in threads:
                thread.start()
            while time.monotonic() - started < options.minutes * 60:
                time.sleep(1)
                if not all(thread.is_alive() for thread in threads):
                    raise RuntimeError("a load thread stopped early")
            soak.stop.set()
            for thread in threads:
                thread.join(timeout=60)
            seconds = time.monotonic() - started
            restarts = len(workers_before - worker_pids(soak.processes[1]))
            mined, lost, duplicated = soak.settle()
            equal = soak.store_equal()
        finally:
            soak.stop.set()
            if any(process.poll() is None for process in soak.processes):
                soak.stop_services()
            soak.node.stop()
        tally = soak.tally
        hostile_5xx = {probe: n for probe, n in tally.hostile.items() if probe.startswith("5xx")}
        errors_5xx = sum(n for status, n in tally.statuses.items() if status >= 500)
        errors_5xx += sum(hostile_5xx.values())
        hostile = sum(n for outcome, n in tally.hostile.items() if not outcome.startswith("5xx"))
        print(
            f"ran {seconds:.0f} s: {tally.requests:,} requests ({tally.requests / seconds:,.0f}/s)"
        )
        print("answers: " + ", ".join(f"{s}: {n:,}" for s, n in sorted(tally.statuses.items())))
        print(
            f"relay: {len(tally.relayed):,} accepted, {mined:,} confirmed, "
            f"{tally.sent_again:,} sent again with more fee (gone in a reorganisation, or "
            "unmined after 10 s), "
            f"{tally.idempotent_refused:,} retries refused by idempotency key; refusals: "
            f"{dict(tally.relay_refused) or 'none'}"
        )
        print(f"chain: {tally.direct:,} direct transactions, {tally.reorgs} reorganisations")
        print(
            "hostile: "
            + ", ".join(f"{outcome}: {n:,}" for outcome, n in sorted(tally.hostile.items()))
        )
        print(
            f"result requests={tally.requests} hostile={hostile} shed={tally.hostile['shed']} "
            f"errors_5xx={errors_5xx} worker_restarts={restarts} "
            f"relayed={len(tally.relayed)} mined={mined} lost={lost} duplicated={duplicated} "
            f"store_equal={'true' if equal else 'false'}"
        )
        ok = errors_5xx == 0 and restarts == 0 and lost == 0 and duplicated == 0 and equal
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
