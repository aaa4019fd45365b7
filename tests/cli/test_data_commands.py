"""`provledger data` as a user runs it: against a `provledger serve` process with the data room
on, over an anvil chain deployed through the CLI.

Put a file and a folder as their holder, get them as the holder and as a licensee byte for byte,
resume a download a dropped link broke off, break off a download of a stored object altered on
disk, read the access log, anchor it and check a receipt, make and rotate master keys; and the
one-line refusals of bad input, with their exit codes (2 input, 3 node or network, 1 a receipt
that does not verify).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.conftest import BUYER, HOLDER, OBJECTOR, Cli, gateway_process
from helpers.dataroom_cli import CuttingProxy, room_env, run_provledger
from provledger.chain.anvil import free_port
from provledger.services.delivery.envelope import MasterKeyRing
from provledger.store.dataroom import DataRoomStore

pytestmark = pytest.mark.anvil

AS_HOLDER = ("--dev-account", str(HOLDER))
AS_BUYER = ("--dev-account", str(BUYER))
#: Bytes of the files the tests put: several of the room's 64 KiB segments.
SIZE = 700_000


@dataclass
class Room:
    """The CLI with a gateway's data room (``PROVLEDGER_GATEWAY_URL`` set)."""

    cli: Cli
    folder: Path
    url: str

    def register(self, path: Path) -> str:
        """Register ``path`` as the holder's asset; its id."""
        registered = self.cli.json("register", str(path), "--category", "301", *AS_HOLDER)
        return str(registered["asset_id"])

    def stored(self, path: Path) -> str:
        """Register ``path`` and put it in the room as its holder; the asset id."""
        asset = self.register(path)
        self.cli.ok("data", "put", asset, str(path), *AS_HOLDER)
        return asset

    def licence(self, asset: str, licensee: int) -> None:
        self.cli.ok("license", "grant", asset, self.cli.address(licensee), *AS_HOLDER)


@pytest.fixture(scope="module")
def room(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    """A gateway process with the data room on, its master key made by `data keygen`."""
    folder = tmp_path_factory.mktemp("room")
    key = folder / "master.key"
    cli.ok("data", "keygen", str(key))
    env = room_env(folder, key)
    with gateway_process(cli, **env) as gateway:
        env["PROVLEDGER_GATEWAY_URL"] = gateway.url
        yield Room(Cli(cli.node, cli.home, {**cli.env, **env}), folder, gateway.url)


def data_file(folder: Path, name: str, size: int = SIZE) -> Path:
    """A file of ``size`` bytes no other test has (seeded by ``name``)."""
    path = folder / name
    path.write_bytes(random.Random(name).randbytes(size))
    return path


def data_folder(folder: Path, name: str) -> Path:
    """A dataset folder of three files, one in a subfolder."""
    root = folder / name
    (root / "tables").mkdir(parents=True)
    data_file(root, "readme.txt", 300)
    data_file(root / "tables", "2025.csv", SIZE)
    data_file(root / "tables", "2026.csv", 90_000)
    return root


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


# ------------------------------------------------------------------ put and get


def test_put_and_get_a_file_as_holder_and_licensee(room: Room, tmp_path: Path) -> None:
    source = data_file(tmp_path, "air.csv")
    asset = room.register(source)
    stored = room.cli.json("data", "put", asset, str(source), *AS_HOLDER)
    assert stored["asset_id"] == asset
    assert (stored["kind"], stored["size"], stored["file_count"]) == ("file", SIZE, 1)

    mine = tmp_path / "mine" / "air.csv"
    line = room.cli.ok("data", "get", asset, "-o", str(mine), *AS_HOLDER)
    assert line.strip() == (
        f"got asset {asset} into {mine} (1 file, {SIZE:,} bytes downloaded), checked against "
        "its content hash"
    )
    assert mine.read_bytes() == source.read_bytes()
    assert not part(mine).exists()

    room.licence(asset, BUYER)
    theirs = tmp_path / "theirs.csv"
    got = room.cli.json("data", "get", asset, "-o", str(theirs), *AS_BUYER)
    assert got == {"asset_id": asset, "output": str(theirs), "files": 1, "bytes": SIZE}
    assert theirs.read_bytes() == source.read_bytes()


def test_put_and_get_a_folder(room: Room, tmp_path: Path) -> None:
    source = data_folder(tmp_path, "huangpu-air-raw")
    asset = room.register(source)
    stored = room.cli.json("data", "put", asset, str(source), *AS_HOLDER)
    assert (stored["kind"], stored["file_count"]) == ("folder", 3)
    assert stored["size"] == 300 + SIZE + 90_000

    copy = tmp_path / "copy"
    got = room.cli.json("data", "get", asset, "-o", str(copy), *AS_HOLDER)
    assert got == {"asset_id": asset, "output": str(copy), "files": 3, "bytes": stored["size"]}
    assert files_of(copy) == files_of(source)

    room.licence(asset, BUYER)
    (copy / "tables" / "2026.csv").unlink()  # only the missing file is fetched again
    got = room.cli.json("data", "get", asset, "-o", str(copy), *AS_BUYER)
    assert got["bytes"] == 90_000
    assert files_of(copy) == files_of(source)


def test_get_without_a_licence_is_refused(room: Room, tmp_path: Path) -> None:
    asset = room.stored(data_file(tmp_path, "private.csv"))
    target = tmp_path / "out.csv"
    line = room.cli.fails(2, "data", "get", asset, "-o", str(target), *AS_BUYER)
    assert line.startswith("error: the data room refused (403): ")
    assert not target.exists()
    assert not part(target).exists()


# ------------------------------------------------------------------ broken transfers


def test_an_interrupted_download_resumes_with_a_range_request(room: Room, tmp_path: Path) -> None:
    source = data_file(tmp_path, "long.csv")
    asset = room.stored(source)
    target = tmp_path / "long-copy.csv"
    port = int(room.url.rsplit(":", 1)[1])
    with CuttingProxy(port) as proxy:
        env = {**room.cli.env, "PROVLEDGER_GATEWAY_URL": proxy.url}
        proxy.cut, proxy.cut_after = f"GET /data/{asset}", 250_000
        broken = run_provledger(env, "data", "get", asset, "-o", str(target), *AS_HOLDER)
        assert broken.returncode == 3, broken.stderr
        assert broken.stderr.count("\n") == 1
        assert "run the command again to resume" in broken.stderr
        assert not target.exists()
        kept = part(target).stat().st_size
        assert 0 < kept < SIZE
        assert part(target).read_bytes() == source.read_bytes()[:kept]

        proxy.cut = None
        resumed = run_provledger(env, "data", "get", asset, "-o", str(target), "--json", *AS_HOLDER)
        assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["bytes"] == SIZE - kept
    assert target.read_bytes() == source.read_bytes()
    assert not part(target).exists()
    downloads = [head for head in proxy.heads if head.startswith(f"GET /data/{asset} ")]
    assert len(downloads) == 2
    assert "range:" not in downloads[0].lower()
    assert f"range: bytes={kept}-" in downloads[1].lower()


def test_a_download_the_room_cannot_vouch_for_breaks_off(room: Room, tmp_path: Path) -> None:
    """A byte of the stored ciphertext flipped on disk: the room stops at the altered segment;
    the client keeps what came before it in the part file and renames nothing into place."""
    asset = room.stored(data_file(tmp_path, "tampered.csv"))
    (stored,) = (room.folder / "objects" / "assets" / asset).rglob("data")
    ciphertext = bytearray(stored.read_bytes())
    ciphertext[len(ciphertext) // 2] ^= 0x01
    stored.write_bytes(bytes(ciphertext))
    target = tmp_path / "tampered-copy.csv"
    line = room.cli.fails(3, "data", "get", asset, "-o", str(target), *AS_HOLDER)
    assert f"the download of {target} broke off after " in line
    assert not target.exists()
    assert part(target).stat().st_size < SIZE // 2 + 1


def test_a_damaged_part_file_is_discarded(room: Room, tmp_path: Path) -> None:
    source = data_file(tmp_path, "damaged.csv")
    asset = room.stored(source)
    target = tmp_path / "damaged-copy.csv"
    part(target).write_bytes(b"not the asset's first bytes")
    line = room.cli.fails(3, "data", "get", asset, "-o", str(target), *AS_HOLDER)
    assert line.startswith(f"error: the bytes downloaded into {target} hash to 0x")
    assert not target.exists()
    assert not part(target).exists()
    room.cli.ok("data", "get", asset, "-o", str(target), *AS_HOLDER)  # anew
    assert target.read_bytes() == source.read_bytes()


# ------------------------------------------------------------------ bad input


def test_put_refusals_come_before_any_upload(room: Room, tmp_path: Path) -> None:
    source = data_file(tmp_path, "owned.csv")
    asset = room.register(source)
    line = room.cli.fails(2, "data", "put", asset, str(source), *AS_BUYER)
    assert line == (
        f"error: {room.cli.address(BUYER)} does not hold asset {asset}: its holder is "
        f"{room.cli.address(HOLDER)}, who alone may put its data"
    )
    other = data_file(tmp_path, "other.csv")
    line = room.cli.fails(2, "data", "put", asset, str(other), *AS_HOLDER)
    assert line.startswith(f"error: {other} is not asset {asset}: it hashes to 0x")
    status = room.cli.run("data", "put", asset, str(source), "--json", *AS_HOLDER)
    assert status.exit_code == 0  # nothing of the refused puts was kept in its way
    line = room.cli.fails(2, "data", "put", asset[:-1], str(source), *AS_HOLDER)
    assert (
        line
        == f"error: asset {asset[:-1]!r} is not an asset id (0x and 64 hex digits, or a number)"
    )


def test_gateway_and_node_faults(room: Room, tmp_path: Path) -> None:
    source = data_file(tmp_path, "faults.csv")
    asset = room.stored(source)
    target = str(tmp_path / "faults-copy.csv")
    get = ("data", "get", asset, "-o", target, *AS_HOLDER)
    env = room.cli.env

    no_gateway = Cli(room.cli.node, room.cli.home, {**env, "PROVLEDGER_GATEWAY_URL": ""})
    del no_gateway.env["PROVLEDGER_GATEWAY_URL"]
    line = no_gateway.fails(2, *get)
    assert (
        line == "error: this command asks a gateway: give --gateway or set PROVLEDGER_GATEWAY_URL"
    )

    down = f"http://127.0.0.1:{free_port()}"
    line = room.cli.fails(3, *get, "--gateway", down)
    assert (
        line == f"error: cannot reach the gateway at {down}: connection refused or host unreachable"
    )

    no_node = Cli(room.cli.node, room.cli.home, {**env})
    del no_node.env["PROVLEDGER_RPC_URL"]
    line = no_node.fails(2, *get)
    assert line.startswith("error: this command needs a node: give --rpc-url")

    node_down = f"http://127.0.0.1:{free_port()}"
    line = room.cli.fails(3, *get, "--rpc-url", node_down)
    assert line == (
        f"error: cannot reach the chain at {node_down}: connection refused or host unreachable"
    )

    unknown = "0x" + "ab" * 32
    line = room.cli.fails(2, "data", "get", unknown, "-o", target, *AS_HOLDER)
    assert line == f"error: asset {unknown} is not registered on chain 31337"


# ------------------------------------------------------------------ log and receipts


def _my_download(room: Room, asset: str) -> dict[str, Any]:
    """The holder's finished download of ``asset`` in its access log."""
    for _ in range(50):
        log = room.cli.json("data", "log", asset, *AS_HOLDER)
        done = [item for item in log["items"] if item["bytes"] == SIZE]
        if done:
            return dict(done[0])
    raise AssertionError(f"no finished download in {log}")


def test_log_receipt_and_verify_receipt(room: Room, tmp_path: Path) -> None:
    asset = room.stored(data_file(tmp_path, "logged.csv"))
    room.cli.ok("data", "get", asset, "-o", str(tmp_path / "logged-copy.csv"), *AS_HOLDER)
    room.cli.fails(2, "data", "get", asset, "-o", str(tmp_path / "x.csv"), *AS_BUYER)
    log = room.cli.json("data", "log", asset, *AS_HOLDER)
    assert [(item["requester"], item["decision"]) for item in log["items"]] == [
        (room.cli.address(BUYER), "refused"),
        (room.cli.address(HOLDER), "granted"),
    ]
    table = room.cli.ok("data", "log", asset, *AS_HOLDER)
    assert "refused" in table
    assert "granted" in table
    line = room.cli.fails(2, "data", "log", asset, *AS_BUYER)
    assert line.startswith("error: the data room refused (403): ")

    record = _my_download(room, asset)
    line = room.cli.fails(2, "data", "receipt", record["record_id"])
    assert "is not anchored yet" in line
    anchored = room.cli.json("data", "anchor", "--dev-account", str(OBJECTOR))
    assert anchored["records"] >= 2
    receipt = tmp_path / "receipt.json"
    room.cli.ok("data", "receipt", record["record_id"], "-o", str(receipt))
    document = json.loads(receipt.read_text())
    assert document["record"]["record_id"] == record["record_id"]
    assert document["anchor"]["transaction"] == anchored["transaction"]

    verdict = room.cli.json("verify-receipt", str(receipt))
    assert verdict["ok"] is True
    assert [check["name"] for check in verdict["checks"]] == [
        "format", "chain", "contract", "record", "proof", "batch", "transaction",
    ]  # fmt: skip
    shown = room.cli.ok("verify-receipt", str(receipt))
    assert shown.strip().endswith("verified: all 7 checks passed")

    document["record"]["bytes"] += 1
    receipt.write_text(json.dumps(document))
    altered = room.cli.run("verify-receipt", str(receipt))
    assert altered.exit_code == 1, altered.output
    assert altered.stdout.strip().endswith("not verified: 1 of 7 checks failed (record)")


# ------------------------------------------------------------------ master keys


def test_keygen_writes_a_private_key_file_once(cli: Cli, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "master.key"
    line = cli.ok("data", "keygen", str(key))
    assert line.strip() == f"master key written to {key} (mode 600)"
    assert key.stat().st_mode & 0o777 == 0o600
    written = key.read_text()
    MasterKeyRing.load(written)
    assert cli.fails(2, "data", "keygen", str(key)) == (
        f"error: {key} exists: a master key is never overwritten"
    )
    assert key.read_text() == written
    missing = tmp_path / "missing.key"
    line = cli.fails(2, "data", "keygen", str(missing), "--rotate")
    assert line == f"error: {missing} is not a key file to rotate"
    assert not missing.exists()


def test_rotated_keys_still_open_the_data(cli: Cli, tmp_path: Path) -> None:
    """keygen --rotate, rotate-keys, the old key dropped from the file: after a restart, the
    gateway serves the data with the new key alone."""
    key = tmp_path / "master.key"
    cli.ok("data", "keygen", str(key))
    old = key.read_text()
    env = room_env(tmp_path, key)
    source = data_file(tmp_path, "rotated.csv")
    with gateway_process(cli, **env) as gateway:
        room = Room(Cli(cli.node, cli.home, {**cli.env, **env}), tmp_path, gateway.url)
        room.cli.env["PROVLEDGER_GATEWAY_URL"] = gateway.url
        asset = room.stored(source)
    line = room.cli.ok("data", "keygen", str(key), "--rotate")
    assert "the 1 older kept for `provledger data rotate-keys`" in line
    assert key.read_text().endswith(old)
    assert key.stat().st_mode & 0o777 == 0o600
    new = MasterKeyRing.from_file(key).current.key_id
    line = room.cli.ok("data", "rotate-keys", "--key-file", str(key))
    assert line.strip() == f"re-wrapped 1 data keys under master key {new}"
    key.write_text(key.read_text().splitlines()[0] + "\n")
    with DataRoomStore.open(str(tmp_path / "dataroom.sqlite")) as store:
        row = store.key_of(int(asset, 16))
        assert row is not None
        assert row.key_id == new
    with gateway_process(cli, **env) as gateway:
        target = tmp_path / "rotated-copy.csv"
        room.cli.ok("data", "get", asset, "-o", str(target), "--gateway", gateway.url, *AS_HOLDER)
    assert target.read_bytes() == source.read_bytes()
