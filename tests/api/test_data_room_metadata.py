"""The committed metadata document in the data room over HTTP on anvil: the holder keeps it,
and who reads it, as the chain decides at the head: the holder, licensees under the data's rules,
a registrar while the application is under review, an arbiter while a dispute is open. Every
read is in the holder's access log and has a receipt once anchored.

Each test starts from the same chain (the ``anvil_world`` snapshot) and a new room.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from fastapi.testclient import TestClient

from helpers.builders import doc, registration, sha256
from helpers.dataroom import access, account, domain, grant, put, room_settings
from helpers.world import NOTICE_PERIOD, World
from provledger.api.app import create_app
from provledger.chain.client import Provledger
from provledger.chain.enums import RegistrationType, Ruling
from provledger.chain.events import DisputeOpened
from provledger.chain.ids import asset_id_hex
from provledger.commitments import CommittedDocument, commitment_uri
from provledger.params import to_hex32
from provledger.services.delivery.receipts import verify_receipt
from provledger.services.delivery.requests import SIGNATURE_HEADER, sign_log_read, sign_upload

pytestmark = pytest.mark.anvil

MARKER: Final = "WITHHELD-MARKER-4c1d"
METADATA: Final = {
    "title": "Harbour sensor readings 2026",
    "category": "environment",
    "source": f"{MARKER} private sensor network",
    "scale": 125000,
}
DATA: Final = b"sensor,reading\n" * 500
PROBLEM: Final = "urn:provledger:problem:"


@pytest.fixture
def folder(anvil_world: World, tmp_path: Path) -> Path:
    anvil_world.deployment.save(tmp_path / "deployments")
    return tmp_path


@pytest.fixture
def client(anvil_world: World, folder: Path) -> Iterator[TestClient]:
    with TestClient(create_app(room_settings(folder), w3=anvil_world.w3)) as test_client:
        yield test_client


def committed(world: World, *, grade: int = 1) -> tuple[int, CommittedDocument]:
    """An asset of alice's registered with committed metadata (its content: :data:`DATA`)."""
    document = CommittedDocument.of(METADATA, sha256(DATA))
    asset = world.register(
        world.alice,
        registration(
            content_hash=document.content_hash,
            metadata_uri=commitment_uri(False),
            metadata_hash=document.root,
            grade=grade,
        ),
    )
    return asset, document


def put_metadata(
    client: TestClient, world: World, who: Provledger, asset: int, body: bytes, root: bytes
) -> Any:
    """``who`` uploads ``body`` as ``asset``'s committed metadata document, signed for ``root``."""
    header = sign_upload(account(who), domain(world), asset, root, deadline=world.now() + 300)
    return client.put(
        f"/data/{asset_id_hex(asset)}/metadata",
        content=body,
        headers={SIGNATURE_HEADER: header, "Content-Type": "application/json"},
    )


def get_metadata(client: TestClient, world: World, who: Provledger, asset: int) -> Any:
    """``who`` asks for ``asset``'s committed metadata document."""
    return client.get(f"/data/{asset_id_hex(asset)}/metadata", headers=access(world, who, asset))


def stored(client: TestClient, world: World, *, grade: int = 1) -> tuple[int, CommittedDocument]:
    """A committed asset of alice's with its document in the room."""
    asset, document = committed(world, grade=grade)
    answer = put_metadata(client, world, world.alice, asset, document.to_json(), document.root)
    assert answer.status_code == 201, answer.text
    return asset, document


def refused(answer: Any, status: int, rule: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["type"] == PROBLEM + rule
    return body


def read_log(client: TestClient, world: World, asset: int) -> list[dict[str, Any]]:
    """The asset's access log as its holder reads it, newest first."""
    header = sign_log_read(account(world.alice), domain(world), asset, deadline=world.now() + 300)
    answer = client.get(f"/data/{asset_id_hex(asset)}/log", headers={SIGNATURE_HEADER: header})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def stored_objects(folder: Path) -> list[Path]:
    return [path for path in (folder / "objects").rglob("*") if path.is_file()]


# ------------------------------------------------------------------ the holder's upload


def test_holder_puts_and_gets_its_document(
    client: TestClient, anvil_world: World, folder: Path
) -> None:
    world = anvil_world
    asset, document = committed(world)
    body = document.to_json()
    answer = put_metadata(client, world, world.alice, asset, body, document.root)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "asset_id": asset_id_hex(asset),
        "root": to_hex32(document.root),
        "size": len(body),
        "stored_at": answer.json()["stored_at"],
    }
    got = get_metadata(client, world, world.alice, asset)
    assert got.status_code == 200, got.text
    assert got.content == body
    assert got.headers["content-type"] == "application/json"
    assert got.headers["etag"] == f'"{to_hex32(document.root)}"'
    assert len(got.headers["provledger-access-record"]) == 32
    objects = stored_objects(folder)
    assert len(objects) == 1
    assert MARKER.encode() not in objects[0].read_bytes()  # encrypted at rest


def test_a_document_whose_root_is_not_the_chains_is_refused(
    client: TestClient, anvil_world: World, folder: Path
) -> None:
    world = anvil_world
    asset, _ = committed(world)
    other = CommittedDocument.of(METADATA, sha256(DATA))  # other salts: another root
    answer = put_metadata(client, world, world.alice, asset, other.to_json(), other.root)
    body = refused(answer, 422, "bad-metadata-document")
    assert [item["name"] for item in body["invalid_params"]] == ["root"]
    assert to_hex32(other.root) in body["detail"]
    assert stored_objects(folder) == []
    refused(get_metadata(client, world, world.alice, asset), 404, "no-stored-metadata")


@pytest.mark.parametrize(
    ("case", "field"),
    [("salt", "fields[0].salt"), ("root", "root"), ("json", "body"), ("format", "format")],
)
def test_a_malformed_document_is_refused_naming_its_field(
    client: TestClient, anvil_world: World, folder: Path, case: str, field: str
) -> None:
    world = anvil_world
    asset, document = committed(world)
    raw = json.loads(document.to_json())
    if case == "salt":
        raw["fields"][0]["salt"] = "0x" + "ab" * 31
    elif case == "root":
        raw["root"] = "0x" + "00" * 32
    elif case == "format":
        raw["format"] = "provledger-committed-metadata/9"
    body = b"{not json" if case == "json" else json.dumps(raw).encode()
    answer = put_metadata(client, world, world.alice, asset, body, document.root)
    problem = refused(answer, 422, "bad-metadata-document")
    assert [item["name"] for item in problem["invalid_params"]] == [field]
    assert stored_objects(folder) == []


def test_a_document_for_a_plain_registration_is_refused(
    client: TestClient, anvil_world: World
) -> None:
    world = anvil_world
    document = CommittedDocument.of(METADATA, sha256(DATA))
    asset = world.register(  # a plain metadata URI
        world.alice,
        registration(content_hash=document.content_hash, metadata_hash=document.root),
    )
    answer = put_metadata(client, world, world.alice, asset, document.to_json(), document.root)
    problem = refused(answer, 422, "bad-metadata-document")
    assert [item["name"] for item in problem["invalid_params"]] == ["kind"]


def test_a_non_holder_and_another_root_are_refused(
    client: TestClient, anvil_world: World, folder: Path
) -> None:
    world = anvil_world
    asset, document = committed(world)
    body = document.to_json()
    refused(put_metadata(client, world, world.bob, asset, body, document.root), 403, "not-holder")
    answer = put_metadata(client, world, world.alice, asset, body, sha256(b"another root"))
    refused(answer, 401, "signature-other-request")
    assert stored_objects(folder) == []


def test_an_oversized_document_is_refused(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset, document = committed(world)
    body = b" " * (1 << 20) + document.to_json()
    answer = put_metadata(client, world, world.alice, asset, body, document.root)
    assert answer.status_code == 413, answer.text


def test_a_revision_needs_a_new_upload(
    client: TestClient, anvil_world: World, folder: Path
) -> None:
    world = anvil_world
    asset, _ = stored(client, world)
    revised = CommittedDocument.of({**METADATA, "scale": 250000}, sha256(DATA))
    world.alice.registry.update_metadata(asset, commitment_uri(False), revised.root)
    answer = get_metadata(client, world, world.alice, asset)
    assert to_hex32(revised.root) in refused(answer, 409, "metadata-revised")["detail"]
    again = put_metadata(client, world, world.alice, asset, revised.to_json(), revised.root)
    assert again.status_code == 201, again.text
    got = get_metadata(client, world, world.alice, asset)
    assert got.content == revised.to_json()
    assert len(stored_objects(folder)) == 1  # the earlier document's object is gone


# ------------------------------------------------------------------ one key with the data


def test_data_and_document_share_the_key_and_are_shredded_together(
    client: TestClient, anvil_world: World, folder: Path
) -> None:
    world = anvil_world
    asset, document = stored(client, world)
    assert put(client, world, world.alice, asset, DATA).status_code == 201
    assert put(client, world, world.alice, asset, DATA).status_code == 201  # replaces the data
    assert get_metadata(client, world, world.alice, asset).content == document.to_json()
    assert len(stored_objects(folder)) == 2
    world.alice.registry.cancel(asset, doc("withdrawn"))
    refused(get_metadata(client, world, world.alice, asset), 410, "asset-cancelled")
    assert stored_objects(folder) == []
    answer = put_metadata(client, world, world.alice, asset, document.to_json(), document.root)
    refused(answer, 410, "asset-cancelled")


def test_the_upkeep_shreds_a_cancelled_assets_document(
    client: TestClient, anvil_world: World, folder: Path
) -> None:
    world = anvil_world
    asset, _ = stored(client, world)  # a document, and no data
    world.alice.registry.cancel(asset, doc("withdrawn"))
    room = client.app.state.gateway.data_room()  # type: ignore[attr-defined]
    assert room.sweep_cancelled() == 1
    assert stored_objects(folder) == []
    assert room.store.metadata_of(asset) is None
    key = room.store.key_of(asset)
    assert key is not None
    assert (key.wrapped, key.destroyed_at is not None) == (b"", True)


# ------------------------------------------------------------------ who reads it


def test_a_licensee_reads_it_and_a_stranger_does_not(
    client: TestClient, anvil_world: World
) -> None:
    world = anvil_world
    asset, document = stored(client, world)
    grant(world, asset, world.bob)
    got = get_metadata(client, world, world.bob, asset)
    assert got.status_code == 200, got.text
    assert got.content == document.to_json()
    refused(get_metadata(client, world, world.stranger, asset), 403, "no-licence")
    refused(get_metadata(client, world, world.erin, asset), 403, "no-licence")


def test_the_border_rules_of_the_data_apply(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset, _ = stored(client, world, grade=3)
    grant(world, asset, world.carol)  # HK; alice is CN
    refused(get_metadata(client, world, world.carol, asset), 451, "core-data-abroad")


def test_the_registrar_reads_it_while_the_application_is_under_review(
    client: TestClient, anvil_world: World
) -> None:
    world = anvil_world
    asset, document = stored(client, world)
    applied = get_metadata(client, world, world.registrar, asset)
    assert applied.status_code == 200, applied.text
    assert applied.content == document.to_json()
    world.notice(asset)
    assert get_metadata(client, world, world.registrar, asset).status_code == 200
    world.chain.advance(NOTICE_PERIOD)
    world.registrar.office.certify(asset, doc("certificate"), RegistrationType.INITIAL)
    answer = get_metadata(client, world, world.registrar, asset)
    assert "certified, not under review" in refused(answer, 403, "not-reviewing")["detail"]


def test_the_arbiter_reads_it_while_a_dispute_is_open(
    client: TestClient, anvil_world: World
) -> None:
    world = anvil_world
    asset, document = stored(client, world)
    refused(get_metadata(client, world, world.arbiter, asset), 403, "no-open-dispute")
    receipt = world.carol.court.open(asset, doc("claim"))
    dispute = receipt.event(DisputeOpened).dispute_id
    opened = get_metadata(client, world, world.arbiter, asset)
    assert opened.status_code == 200, opened.text
    assert opened.content == document.to_json()
    world.arbiter.court.freeze(dispute)
    assert get_metadata(client, world, world.arbiter, asset).status_code == 200
    world.arbiter.court.rule(dispute, Ruling.DISMISS, doc("ruling"))
    answer = get_metadata(client, world, world.arbiter, asset)
    assert "all 1 were ruled" in refused(answer, 403, "no-open-dispute")["detail"]


# ------------------------------------------------------------------ the log and receipts


def test_every_read_is_in_the_holders_log(client: TestClient, anvil_world: World) -> None:
    world = anvil_world
    asset, document = stored(client, world)
    grant(world, asset, world.bob)
    size = len(document.to_json())
    assert get_metadata(client, world, world.alice, asset).status_code == 200
    assert get_metadata(client, world, world.bob, asset).status_code == 200
    assert get_metadata(client, world, world.stranger, asset).status_code == 403
    assert get_metadata(client, world, world.registrar, asset).status_code == 200
    assert get_metadata(client, world, world.arbiter, asset).status_code == 403
    items = read_log(client, world, asset)
    assert [
        (item["requester"], item["path"], item["decision"], item["rule"], item["bytes"])
        for item in items
    ] == [
        (world.arbiter.address, "/metadata", "refused", "no-open-dispute", 0),
        (world.registrar.address, "/metadata", "granted", "registrar", size),
        (world.stranger.address, "/metadata", "refused", "no-licence", 0),
        (world.bob.address, "/metadata", "granted", "licensee", size),
        (world.alice.address, "/metadata", "granted", "holder", size),
    ]
    assert items[3]["licence_id"] == 1
    reviewing = f"{world.registrar.address} is a registrar and the application awaits review"
    assert items[1]["reason"] == reviewing


def test_an_anchored_metadata_read_has_a_receipt_that_verifies(
    client: TestClient, anvil_world: World
) -> None:
    world = anvil_world
    asset, _ = stored(client, world)
    answer = get_metadata(client, world, world.registrar, asset)
    record = answer.headers["provledger-access-record"]
    batch = client.app.state.gateway.data_room().anchor()  # type: ignore[attr-defined]
    assert batch is not None
    assert record in batch.record_ids
    receipt = client.get(f"/data/receipts/{record}").json()
    assert (receipt["record"]["path"], receipt["record"]["rule"]) == ("/metadata", "registrar")
    anchor = world.deployment.address("BatchAnchor")
    assert verify_receipt(receipt, world.w3, anchor).ok
    receipt["record"]["path"] = ""
    assert verify_receipt(receipt, world.w3, anchor).failed == ("record",)
