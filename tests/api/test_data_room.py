"""The data room over HTTP on anvil: who gets an asset's bytes, and every refusal's status and
problem type, as the chain decides at the head; encryption at rest; the access log.

Each test starts from the same chain (the ``anvil_world`` snapshot) and a new room.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import dataroom
from helpers.builders import doc, registration, sha256
from helpers.dataroom import (
    DAY,
    access,
    account,
    domain,
    get,
    grant,
    put,
    room_settings,
    stored_folder,
)
from helpers.world import World
from provledger.api.app import create_app
from provledger.chain.enums import LicenseKind
from provledger.chain.events import DisputeOpened
from provledger.chain.ids import asset_id_hex
from provledger.hashing import FolderManifest, ManifestEntry
from provledger.hashing.folders import verify_file_membership
from provledger.services.delivery.envelope import MasterKeyRing, generate_master_key
from provledger.services.delivery.receipts import verify_receipt
from provledger.services.delivery.requests import SIGNATURE_HEADER, Domain, sign_log_read
from provledger.services.delivery.service import rotate_keys
from provledger.store.dataroom import DataRoomStore

pytestmark = pytest.mark.anvil

MARKER = b"PLAINTEXT-MARKER-7f3c"
DATA = MARKER + bytes(range(256)) * 1000 + MARKER
PROBLEM = "urn:provledger:problem:"


@pytest.fixture
def folder(anvil_world: World, tmp_path: Path) -> Path:
    anvil_world.deployment.save(tmp_path / "deployments")
    return tmp_path


@pytest.fixture
def client(anvil_world: World, folder: Path) -> Iterator[TestClient]:
    app = create_app(room_settings(folder), w3=anvil_world.w3)
    with TestClient(app) as test_client:
        yield test_client


def stored_asset(client: TestClient, world: World, *, grade: int = 1) -> int:
    """An asset of alice's, with :data:`DATA` in the room."""
    return dataroom.stored_asset(client, world, DATA, grade=grade)


def refused(answer: Any, status: int, rule: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == PROBLEM + rule


# ------------------------------------------------------------------ parties


def test_holder_uploads_and_downloads_its_data(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice, registration(content_hash=sha256(DATA)))
    answer = put(client, world, world.alice, asset, DATA)
    assert answer.status_code == 201
    assert answer.json() == {
        "asset_id": asset_id_hex(asset),
        "kind": "file",
        "content_hash": "0x" + sha256(DATA).hex(),
        "size": len(DATA),
        "file_count": 1,
        "stored_at": answer.json()["stored_at"],
    }
    got = get(client, world, world.alice, asset)
    assert got.status_code == 200
    assert got.content == DATA
    assert got.headers["etag"] == f'"0x{sha256(DATA).hex()}"'
    assert len(got.headers["provledger-access-record"]) == 32


def test_licensee_of_a_granted_licence_gets_the_data(
    client: TestClient, anvil_world: World
) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    grant(world, asset, world.bob)
    got = get(client, world, world.bob, asset)
    assert got.status_code == 200
    assert got.content == DATA


def test_licensee_of_a_sold_licence_gets_the_data(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    world.alice.market.offer_license(
        asset, LicenseKind.PROCESSING_USE, 30 * DAY, doc("terms"), "research", 300,
        world.now() + 7 * DAY,
    )  # fmt: skip
    world.bob.market.buy(1, value=300)
    got = get(client, world, world.bob, asset)
    assert got.status_code == 200
    assert got.content == DATA


def test_expired_licence_is_refused(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    licence = grant(world, asset, world.bob, days=1)
    world.chain.advance(2 * DAY)
    answer = get(client, world, world.bob, asset)
    refused(answer, 403, "licence-expired")
    assert f"#{licence}" in answer.json()["detail"]


def test_revoked_licence_is_refused(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    licence = grant(world, asset, world.bob)
    world.alice.licenses.revoke(licence, doc("breach"))
    refused(get(client, world, world.bob, asset), 403, "licence-revoked")


def test_no_licence_is_refused(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    refused(get(client, world, world.erin, asset), 403, "no-licence")
    refused(get(client, world, world.stranger, asset), 403, "no-licence")


def test_frozen_asset_is_refused_to_licensees_not_to_its_holder(
    client: TestClient, anvil_world: World
) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    grant(world, asset, world.bob)
    dispute = world.carol.court.open(asset, doc("claim")).event(DisputeOpened).dispute_id
    world.arbiter.court.freeze(dispute)
    refused(get(client, world, world.bob, asset), 451, "asset-frozen")
    assert get(client, world, world.alice, asset).status_code == 200


def test_asset_under_objection_is_refused(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    grant(world, asset, world.bob)
    world.notice(asset)
    world.carol.office.object(asset, doc("objection"))
    refused(get(client, world, world.bob, asset), 451, "asset-under-objection")


def test_cancelled_asset_is_gone_and_its_key_destroyed(
    client: TestClient, anvil_world: World, folder: Path
) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    grant(world, asset, world.bob)
    world.alice.registry.cancel(asset, doc("withdrawn"))
    refused(get(client, world, world.bob, asset), 410, "asset-cancelled")
    refused(get(client, world, world.alice, asset), 410, "asset-cancelled")
    with DataRoomStore.open(str(folder / "dataroom.sqlite")) as store:
        key = store.key_of(asset)
        assert key is not None
        assert key.destroyed_at is not None
        assert key.wrapped == b""
        assert store.object_of(asset) is None
    assert not [path for path in (folder / "objects").rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    ("grade", "status", "rule"),
    [(1, 200, ""), (2, 451, "export-permit-missing"), (3, 451, "core-data-abroad")],
)
def test_foreign_licensee_by_grade(
    client: TestClient, anvil_world: World, grade: int, status: int, rule: str
) -> None:
    world = anvil_world
    asset = stored_asset(client, world, grade=grade)
    grant(world, asset, world.carol)  # HK; alice is CN
    answer = get(client, world, world.carol, asset)
    if rule:
        refused(answer, status, rule)
    else:
        assert answer.status_code == 200
        assert answer.content == DATA


def test_foreign_licensee_of_grade_2_with_an_export_permit(
    client: TestClient, anvil_world: World
) -> None:
    world = anvil_world
    asset = stored_asset(client, world, grade=2)
    world.exporter.export.issue_permit(asset, world.carol.address, world.now() + 7 * DAY)
    world.alice.market.offer_license(
        asset, LicenseKind.PROCESSING_USE, 30 * DAY, doc("terms"), "research", 300,
        world.now() + 7 * DAY,
    )  # fmt: skip
    world.carol.market.buy(1, value=300)  # consumes the permit
    answer = get(client, world, world.carol, asset)
    assert answer.status_code == 200
    assert answer.content == DATA


def test_suspended_participant_is_refused(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    grant(world, asset, world.bob)
    world.registrar.registry.suspend_participant(world.bob.address, doc("fraud"))
    refused(get(client, world, world.bob, asset), 403, "requester-suspended")


# ------------------------------------------------------------------ signatures


def test_a_signature_is_used_once(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    headers = access(world, world.alice, asset)
    assert client.get(f"/data/{asset_id_hex(asset)}", headers=headers).status_code == 200
    refused(client.get(f"/data/{asset_id_hex(asset)}", headers=headers), 401, "signature-replayed")


def test_expired_and_far_deadlines_are_refused(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    refused(
        get(client, world, world.alice, asset, deadline=world.now() - 1), 401, "signature-expired"
    )
    refused(
        get(client, world, world.alice, asset, deadline=world.now() + 3600),
        401,
        "signature-too-far-ahead",
    )


def test_another_domain_is_refused(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    wrong_chain = Domain(world.deployment.chain_id + 1, world.admin.registry.address)
    refused(
        get(client, world, world.alice, asset, signed_for=wrong_chain),
        401,
        "signature-wrong-domain",
    )
    wrong_contract = Domain(world.deployment.chain_id, world.deployment.address("DataMarket"))
    refused(
        get(client, world, world.alice, asset, signed_for=wrong_contract),
        401,
        "signature-wrong-domain",
    )


def test_malformed_and_missing_signatures(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    path = f"/data/{asset_id_hex(asset)}"
    refused(client.get(path), 400, "malformed-signature")
    refused(client.get(path, headers={SIGNATURE_HEADER: "not base64!"}), 400, "malformed-signature")
    refused(client.get(path, headers={SIGNATURE_HEADER: "A" * 5000}), 400, "malformed-signature")


# ------------------------------------------------------------------ bad input


def test_upload_of_other_bytes_keeps_nothing(
    client: TestClient, anvil_world: World, folder: Path
) -> None:
    world = anvil_world
    asset = world.register(world.alice, registration(content_hash=sha256(DATA)))
    answer = put(client, world, world.alice, asset, DATA + b"x", content=sha256(DATA))
    refused(answer, 422, "content-mismatch")
    assert client.get(f"/data/{asset_id_hex(asset)}/status").json() == {
        "asset_id": asset_id_hex(asset),
        "stored": False,
    }
    assert not [path for path in (folder / "objects").rglob("*") if path.is_file()]


def test_upload_by_a_non_holder_is_refused(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = world.register(world.alice, registration(content_hash=sha256(DATA)))
    refused(put(client, world, world.bob, asset, DATA), 403, "not-holder")


def test_unknown_asset(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    unknown = 12345
    refused(get(client, world, world.alice, unknown), 404, "unknown-asset")


def test_ranges(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    part = get(client, world, world.alice, asset, Range="bytes=70000-200000")
    assert part.status_code == 206
    assert part.content == DATA[70000:200001]
    assert part.headers["content-range"] == f"bytes 70000-200000/{len(DATA)}"
    tail = get(client, world, world.alice, asset, Range="bytes=-10")
    assert tail.content == DATA[-10:]
    beyond = get(client, world, world.alice, asset, Range=f"bytes={len(DATA)}-")
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(DATA)}"


# ------------------------------------------------------------------ at rest


def test_stored_objects_hold_no_plaintext(
    client: TestClient, anvil_world: World, folder: Path
) -> None:
    stored_asset(client, anvil_world)
    files = [path for path in (folder / "objects").rglob("*") if path.is_file()]
    assert files
    for path in files:
        assert MARKER not in path.read_bytes()
    for path in folder.glob("*.sqlite"):
        assert MARKER not in path.read_bytes()


def test_a_flipped_bit_fails_the_download(
    client: TestClient, anvil_world: World, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The answer has begun when the bad segment is read: the transfer is broken off (the
    test client raises where a real client sees the connection close early)."""
    world = anvil_world
    asset = stored_asset(client, world)
    (stored,) = [path for path in (folder / "objects").rglob("*") if path.is_file()]
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))
    received = bytearray()
    headers = access(world, world.alice, asset)

    def download() -> None:
        with client.stream("GET", f"/data/{asset_id_hex(asset)}", headers=headers) as answer:
            for chunk in answer.iter_bytes():
                received.extend(chunk)

    with pytest.raises(RuntimeError, match="response already started"):
        download()
    assert DATA.startswith(bytes(received))
    assert len(received) < len(DATA)
    assert "failed its integrity check at segment" in caplog.text


# ------------------------------------------------------------------ folders


def test_folder_upload_and_per_file_access(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    files = {"a.csv": b"a,b\n1,2\n", "sub/b.bin": bytes(range(256)) * 700, "c.txt": b""}
    manifest = FolderManifest.from_entries(
        [ManifestEntry(path, sha256(data), len(data)) for path, data in files.items()]
    )
    asset = stored_folder(client, world, files)
    status = client.get(f"/data/{asset_id_hex(asset)}/status").json()
    assert (status["kind"], status["file_count"]) == ("folder", 3)
    grant(world, asset, world.bob)
    listing = client.get(
        f"/data/{asset_id_hex(asset)}/files", headers=access(world, world.bob, asset)
    ).json()
    assert [item["path"] for item in listing["files"]] == sorted(files)
    for item in listing["files"]:
        proof = [bytes.fromhex(node[2:]) for node in item["proof"]]
        assert verify_file_membership(
            manifest.root, item["path"], sha256(files[item["path"]]), proof
        )
        got = client.get(
            f"/data/{asset_id_hex(asset)}/files/{item['path']}",
            headers=access(world, world.bob, asset),
        )
        assert got.status_code == 200
        assert got.content == files[item["path"]]
        assert got.headers["provledger-merkle-proof"] == ",".join(item["proof"])
    refused(get(client, world, world.bob, asset), 409, "folder-not-file")


# ------------------------------------------------------------------ the log


def test_every_access_is_in_the_holders_log(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    grant(world, asset, world.bob)
    assert get(client, world, world.bob, asset).status_code == 200
    assert get(client, world, world.erin, asset).status_code == 403
    header = sign_log_read(account(world.alice), domain(world), asset, deadline=world.now() + 300)
    log = client.get(f"/data/{asset_id_hex(asset)}/log", headers={SIGNATURE_HEADER: header})
    assert log.status_code == 200
    items = log.json()["items"]
    assert [(item["requester"], item["decision"], item["rule"]) for item in items] == [
        (world.erin.address, "refused", "no-licence"),
        (world.bob.address, "granted", "licensee"),
    ]
    assert items[1]["bytes"] == len(DATA)
    assert items[1]["purpose"] == "research"
    other = sign_log_read(account(world.bob), domain(world), asset, deadline=world.now() + 300)
    refused(
        client.get(f"/data/{asset_id_hex(asset)}/log", headers={SIGNATURE_HEADER: other}),
        403,
        "not-holder",
    )


# ------------------------------------------------------------------ receipts


def test_an_anchored_access_has_a_receipt_that_verifies(
    client: TestClient, anvil_world: World
) -> None:
    world = anvil_world
    asset = stored_asset(client, world)
    grant(world, asset, world.bob)
    record = get(client, world, world.bob, asset).headers["provledger-access-record"]
    refused(client.get(f"/data/receipts/{record}"), 409, "receipt-not-ready")
    refused(client.get(f"/data/receipts/{'0' * 32}"), 404, "unknown-access-record")
    batch = client.app.state.gateway.data_room().anchor()  # type: ignore[attr-defined]
    assert batch is not None
    assert record in batch.record_ids
    receipt = client.get(f"/data/receipts/{record}").json()
    assert receipt["record"]["requester"] == world.bob.address
    assert receipt["record"]["decision"] == "granted"
    assert receipt["record"]["bytes"] == len(DATA)
    anchor = world.deployment.address("BatchAnchor")
    assert verify_receipt(receipt, world.w3, anchor).ok
    receipt["record"]["bytes"] = 1
    verdict = verify_receipt(receipt, world.w3, anchor)
    assert verdict.failed == ("record",)


# ------------------------------------------------------------------ keys and upkeep


def test_a_rotation_is_followed_without_a_restart(anvil_world: World, folder: Path) -> None:
    """keygen --rotate, rotate-keys, then the older key's line removed: the running gateway
    reads the key file again and still serves the data; new uploads wrap under the new key."""
    world = anvil_world
    key_file = folder / "master.key"
    old_key, new_key = generate_master_key(), generate_master_key()
    key_file.write_text(old_key + "\n")
    settings = room_settings(folder, data_room_master_key=None, data_room_master_key_file=key_file)
    with TestClient(create_app(settings, w3=world.w3)) as client:
        asset = stored_asset(client, world)
        key_file.write_text(f"{new_key}\n{old_key}\n")
        with DataRoomStore.open(str(folder / "dataroom.sqlite")) as store:
            assert rotate_keys(store, MasterKeyRing.from_file(key_file)) == 1
            key = store.key_of(asset)
            assert key is not None
            assert key.key_id == MasterKeyRing.load(new_key).current.key_id
        key_file.write_text(new_key + "\n")
        got = get(client, world, world.alice, asset)
        assert got.status_code == 200
        assert got.content == DATA


def test_the_upkeep_anchors_the_log_and_shreds_cancelled_data(
    anvil_world: World, folder: Path
) -> None:
    world = anvil_world
    settings = room_settings(folder, data_room_anchor_interval=0.2)
    with TestClient(create_app(settings, w3=world.w3)) as client:
        asset = stored_asset(client, world)
        record = get(client, world, world.alice, asset).headers["provledger-access-record"]
        deadline = time.monotonic() + 30
        while (answer := client.get(f"/data/receipts/{record}")).status_code == 409:
            assert time.monotonic() < deadline, "the upkeep anchored nothing in 30 s"
            time.sleep(0.2)
        assert answer.status_code == 200
        assert verify_receipt(answer.json(), world.w3, world.deployment.address("BatchAnchor")).ok
        world.alice.registry.cancel(asset, doc("withdrawn"))
        while client.get(f"/data/{asset_id_hex(asset)}/status").json()["stored"]:
            assert time.monotonic() < deadline, "the upkeep shredded nothing in 30 s"
            time.sleep(0.2)
    with DataRoomStore.open(str(folder / "dataroom.sqlite")) as store:
        key = store.key_of(asset)
        assert key is not None
        assert key.destroyed_at is not None
