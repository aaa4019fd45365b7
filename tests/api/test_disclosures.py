"""Disclosures over HTTP on anvil: the holder's signed presentations kept and shown, every refusal
(its status, problem type and the part it names) keeping nothing, and no withheld value anywhere
in the index or in any answer.

Each test starts from the same chain (the ``anvil_world`` snapshot), a new index and blob folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers.builders import registration, sha256
from helpers.dataroom import account, domain
from helpers.indexing import TEST_CONFIG, index
from helpers.world import World
from provledger.api.app import create_app
from provledger.chain.client import Provledger
from provledger.chain.ids import asset_id_hex
from provledger.commitments import CommittedDocument, Presentation, commitment_uri
from provledger.config import Settings
from provledger.services.delivery.requests import SIGNATURE_HEADER, sign_disclosure

pytestmark = pytest.mark.anvil

PROBLEM = "urn:provledger:problem:"
#: Withheld values: none of them may appear in the index or in any answer.
MARKERS = {
    "source": "WITHHELD-7c1e-source-fd02",
    "contact": "WITHHELD-7c1e-contact-91ab",
    "price": "WITHHELD-7c1e-price-3b5d",
}
METADATA: dict[str, Any] = {
    "title": "Minhang soil moisture survey",
    "category": "agriculture",
    "scale": 48000,
    **MARKERS,
}
DISCLOSED = ("title", "category", "scale")


@pytest.fixture
def folder(anvil_world: World, tmp_path: Path) -> Path:
    anvil_world.deployment.save(tmp_path / "deployments")
    return tmp_path


def settings_of(folder: Path) -> Settings:
    """A gateway over ``folder``'s index and blobs, its data room off."""
    return Settings(
        database_url=str(folder / "index.sqlite"),
        deployments_dir=folder / "deployments",
        blob_dir=folder / "blobs",
        data_room_database_url=str(folder / "dataroom.sqlite"),
        confirmations=TEST_CONFIG.confirmations,
        finality_depth=TEST_CONFIG.finality_depth,
    )


def committed(world: World, metadata: dict[str, Any] = METADATA) -> tuple[int, CommittedDocument]:
    """An asset of alice's registered with committed ``metadata``."""
    document = CommittedDocument.of(metadata, sha256(f"soil {world.now()} {sorted(metadata)}"))
    asset = world.register(
        world.alice,
        registration(
            content_hash=document.content_hash,
            metadata_uri=commitment_uri(False),
            metadata_hash=document.root,
        ),
    )
    return asset, document


def copycat(world: World, document: CommittedDocument) -> int:
    """An asset of bob's that anchors ``document``'s root (public on chain) with other content."""
    return world.register(
        world.bob,
        registration(metadata_uri=commitment_uri(False), metadata_hash=document.root),
    )


def presentation(world: World, asset: int, document: CommittedDocument, *names: str) -> bytes:
    return document.present(
        list(names or DISCLOSED),
        chain_id=world.deployment.chain_id,
        registry=world.admin.registry.address,
        asset_id=asset,
    ).to_json()


def signed(world: World, who: Provledger, asset: int, body: bytes, **kw: Any) -> dict[str, str]:
    """The headers of ``who`` sending ``body`` as a presentation of ``asset`` (``kw``: more)."""
    header = sign_disclosure(account(who), domain(world), asset, body, deadline=world.now() + 300)
    return {SIGNATURE_HEADER: header, "Content-Type": "application/json", **kw}


def post(client: TestClient, world: World, who: Provledger, asset: int, body: bytes) -> Any:
    headers = signed(world, who, asset, body)
    return client.post(f"/assets/{asset_id_hex(asset)}/disclosures", content=body, headers=headers)


@pytest.fixture
def gateway(anvil_world: World, folder: Path) -> Iterator[Callable[[], TestClient]]:
    """Index the chain as it is now and serve it (call again after more transactions)."""
    clients: list[TestClient] = []

    def serve() -> TestClient:
        index(anvil_world.w3, anvil_world.deployment, str(folder / "index.sqlite"))
        client = TestClient(create_app(settings_of(folder), w3=anvil_world.w3))
        clients.append(client.__enter__())
        return client

    yield serve
    for client in clients:
        client.__exit__(None, None, None)


def refused(answer: Any, status: int, rule: str, field: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == PROBLEM + rule, problem
    if field is not None:
        assert [item["name"] for item in problem["invalid_params"]] == [field], problem


def nothing_kept(folder: Path, client: TestClient, asset: int) -> None:
    blobs = folder / "blobs"
    assert not blobs.exists() or not [path for path in blobs.rglob("*") if path.is_file()]
    assert client.get(f"/assets/{asset_id_hex(asset)}/disclosure").status_code == 404


# ------------------------------------------------------------------ publishing


def test_the_holder_publishes_a_presentation(
    anvil_world: World, gateway: Callable[[], TestClient]
) -> None:
    world = anvil_world
    asset, document = committed(world)
    client = gateway()
    body = presentation(world, asset, document)
    answer = post(client, world, world.alice, asset, body)
    assert answer.status_code == 201, answer.text
    kept = "0x" + hashlib.sha256(body).hexdigest()
    expected = {
        "asset_id": asset_id_hex(asset),
        "kind": "provledger-fields/1",
        "content_kind": None,
        "root": "0x" + document.root.hex(),
        "metadata_uri": "commitment:provledger-fields/1",
        "fields": [
            {"name": name, "value": METADATA[name], "proved": True, "presentation": kept}
            for name in sorted(DISCLOSED)
        ],
        "withheld": sorted(MARKERS),
        "presentations": [kept],
    }
    assert answer.json() == expected
    assert client.get(f"/assets/{asset_id_hex(asset)}/disclosure").json() == expected
    stored = client.get(f"/assets/{asset_id_hex(asset)}/presentation", params={"sha256": kept})
    assert stored.status_code == 200
    assert stored.content == body
    assert Presentation.parse(stored.content).check().root == document.root
    titled = client.get("/assets", params={"title": "soil moisture"}).json()["items"]
    assert [item["asset_id"] for item in titled] == [asset_id_hex(asset)]


def test_a_later_presentation_adds_fields(
    anvil_world: World, gateway: Callable[[], TestClient]
) -> None:
    world = anvil_world
    asset, document = committed(world)
    client = gateway()
    first = presentation(world, asset, document, "title")
    assert post(client, world, world.alice, asset, first).status_code == 201
    second = presentation(world, asset, document, "scale", "source")
    answer = post(client, world, world.alice, asset, second)
    assert answer.status_code == 201, answer.text
    shown = answer.json()
    assert [field["name"] for field in shown["fields"]] == ["scale", "source", "title"]
    assert shown["withheld"] == ["category", "contact", "price"]
    kept = ["0x" + hashlib.sha256(body).hexdigest() for body in (first, second)]
    assert shown["presentations"] == sorted(kept)
    by_name = {field["name"]: field["presentation"] for field in shown["fields"]}
    assert by_name == {"title": kept[0], "scale": kept[1], "source": kept[1]}


def test_only_the_holder_at_the_head_may_publish(
    anvil_world: World, gateway: Callable[[], TestClient], folder: Path
) -> None:
    world = anvil_world
    asset, document = committed(world)
    client = gateway()
    body = presentation(world, asset, document)
    refused(post(client, world, world.bob, asset, body), 403, "not-holder")
    world.alice.registry.transfer(asset, world.bob.address)
    refused(post(client, world, world.alice, asset, body), 403, "not-holder")  # the index lags
    nothing_kept(folder, client, asset)
    assert post(client, world, world.bob, asset, body).status_code == 201


def test_a_signature_serves_once_and_for_its_body(
    anvil_world: World, gateway: Callable[[], TestClient], folder: Path
) -> None:
    world = anvil_world
    asset, document = committed(world)
    client = gateway()
    body = presentation(world, asset, document)
    path = f"/assets/{asset_id_hex(asset)}/disclosures"
    headers = signed(world, world.alice, asset, body)
    other = presentation(world, asset, document, "title")
    refused(client.post(path, content=other, headers=headers), 401, "signature-other-request")
    headers = signed(world, world.alice, asset, body)
    assert client.post(path, content=body, headers=headers).status_code == 201
    refused(client.post(path, content=body, headers=headers), 401, "signature-replayed")
    refused(client.post(path, content=body), 400, "malformed-signature")
    bare = {SIGNATURE_HEADER: signed(world, world.alice, asset, body)[SIGNATURE_HEADER]}
    answer = client.post(path, content=body, headers={**bare, "Content-Type": "text/plain"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["invalid_params"][0]["name"] == "content-type"


def _edited(body: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    document = json.loads(body)
    edit(document)
    return json.dumps(document).encode()


#: Bad presentations: how the honest one is spoiled, and the part the refusal names.
SPOILED: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "duplicate fields": (lambda doc: doc["fields"].append(doc["fields"][0]), "fields"),
    "unknown kind": (lambda doc: doc.update(kind="provledger-fields/9"), "kind"),
    "proof of the wrong length": (lambda doc: doc["proof"].pop(), "proof"),
    "a short salt": (
        lambda doc: doc["fields"][0].update(salt=doc["fields"][0]["salt"][:-2]),
        "fields[0].salt",
    ),
    "another asset": (lambda doc: doc.update(asset_id="0x" + "00" * 31 + "07"), "asset_id"),
    "no header": (
        lambda doc: doc.update(fields=[f for f in doc["fields"] if f["name"] != "@registration"]),
        "fields",
    ),
    "a reserved name": (lambda doc: doc["withheld"].__setitem__(0, "@source"), "withheld[0]"),
    "a name not in NFC": (lambda doc: doc["withheld"].__setitem__(0, "cafe\u0301"), "withheld[0]"),
    "not JSON": (lambda doc: doc.clear(), "body"),
}


@pytest.mark.parametrize("case", list(SPOILED))
def test_a_bad_presentation_is_refused_naming_its_part(
    anvil_world: World, gateway: Callable[[], TestClient], folder: Path, case: str
) -> None:
    world = anvil_world
    asset, document = committed(world)
    client = gateway()
    edit, field = SPOILED[case]
    body = _edited(presentation(world, asset, document), edit)
    if case == "not JSON":
        body = b"{not json"
    refused(post(client, world, world.alice, asset, body), 422, "bad-presentation", field)
    nothing_kept(folder, client, asset)


def test_a_presentation_of_another_root_is_refused_by_the_root_check(
    anvil_world: World, gateway: Callable[[], TestClient], folder: Path
) -> None:
    world = anvil_world
    asset, document = committed(world)
    client = gateway()
    # the same fields and content hash, other salts: another root
    other = CommittedDocument.of(METADATA, document.content_hash)
    body = presentation(world, asset, other)
    refused(post(client, world, world.alice, asset, body), 422, "presentation-unproved", "root")
    nothing_kept(folder, client, asset)


def test_a_presentation_moved_to_a_copycat_is_refused_by_the_asset_check(
    anvil_world: World, gateway: Callable[[], TestClient], folder: Path
) -> None:
    """Bob registers other content under a copy of alice's root; alice's presentation, its asset
    id changed to bob's, passes the root check but not the asset check."""
    world = anvil_world
    asset, document = committed(world)
    copy = copycat(world, document)
    client = gateway()
    moved = asset_id_hex(copy)
    body = _edited(presentation(world, asset, document), lambda doc: doc.update(asset_id=moved))
    refused(post(client, world, world.bob, copy, body), 422, "presentation-unproved", "asset")
    nothing_kept(folder, client, copy)


def test_a_copycat_shows_none_of_the_holder_s_disclosure(
    anvil_world: World, gateway: Callable[[], TestClient]
) -> None:
    world = anvil_world
    asset, document = committed(world)
    copy = copycat(world, document)
    client = gateway()
    body = presentation(world, asset, document)
    assert post(client, world, world.alice, asset, body).status_code == 201
    client = gateway()  # the copycat is indexed too
    key, copied = asset_id_hex(asset), asset_id_hex(copy)
    mine, theirs = (client.get(f"/assets/{item}").json() for item in (key, copied))
    assert mine["metadata_hash"] == theirs["metadata_hash"] == "0x" + document.root.hex()
    assert theirs["metadata_uri"] == mine["metadata_uri"]
    assert client.get(f"/assets/{key}/disclosure").status_code == 200
    answer = client.get(f"/assets/{copied}/disclosure")
    assert answer.status_code == 404, answer.text
    kept = "0x" + hashlib.sha256(body).hexdigest()
    stored = client.get(f"/assets/{copied}/presentation", params={"sha256": kept})
    assert stored.status_code == 404, stored.text
    page = client.get(f"/asset/{copied}").text
    assert 'data-standing="proved"' not in page
    assert "The holder has disclosed no field yet" in page
    assert METADATA["title"] not in page
    assert 'data-standing="proved"' in client.get(f"/asset/{key}").text
    titled = client.get("/assets", params={"title": "soil moisture"}).json()["items"]
    assert [item["asset_id"] for item in titled] == [key]
    listed = client.get("/search", params={"q": "minhang"}).text
    assert key in listed
    assert copied not in listed


# ------------------------------------------------------------------ reading


def test_a_disclosure_is_of_the_current_metadata_hash(
    anvil_world: World, gateway: Callable[[], TestClient]
) -> None:
    world = anvil_world
    asset, document = committed(world)
    plain = world.register(world.alice, registration())
    client = gateway()
    key = asset_id_hex(asset)
    assert client.get(f"/assets/{key}/disclosure").status_code == 404
    body = presentation(world, asset, document)
    assert post(client, world, world.alice, asset, body).status_code == 201
    assert client.get(f"/assets/{key}/disclosure").status_code == 200
    assert client.get(f"/assets/{asset_id_hex(plain)}/disclosure").status_code == 404
    revised = CommittedDocument.of(
        {"title": "Minhang soil moisture, revised"}, document.content_hash
    )
    world.alice.registry.update_metadata(asset, commitment_uri(False), revised.root)
    client = gateway()
    answer = client.get(f"/assets/{key}/disclosure")
    assert answer.status_code == 404, answer.text
    assert "current metadata" in answer.json()["detail"]


def test_the_asset_page_shows_a_committed_registration_s_metadata(
    anvil_world: World, gateway: Callable[[], TestClient]
) -> None:
    world = anvil_world
    asset, document = committed(world)
    plain = world.register(world.alice, registration())
    client = gateway()
    page = client.get(f"/asset/{asset_id_hex(asset)}").text
    assert 'id="metadata-h"' in page
    assert "The holder has disclosed no field yet" in page
    assert 'id="metadata-h"' not in client.get(f"/asset/{asset_id_hex(plain)}").text
    body = presentation(world, asset, document, "title", "scale")
    assert post(client, world, world.alice, asset, body).status_code == 201
    page = client.get(f"/asset/{asset_id_hex(asset)}").text
    for name in ("title", "scale"):
        assert f'data-field="{name}" data-standing="proved"' in page
    for name in ("category", *MARKERS):
        assert f'data-field="{name}" data-standing="withheld"' in page
    kept = "0x" + hashlib.sha256(body).hexdigest()
    assert f"/assets/{asset_id_hex(asset)}/presentation?sha256={kept}" in page
    assert "provledger verify-disclosure FILE" in page
    assert "content hash shown above is a commitment" not in page


def test_a_confidential_content_hash_is_said_to_be_a_commitment(
    anvil_world: World, gateway: Callable[[], TestClient]
) -> None:
    world = anvil_world
    document = CommittedDocument.of(METADATA, sha256("small guessable file"), confidential=True)
    assert document.content is not None
    assert document.content_hash == document.content.commitment
    asset = world.register(
        world.alice,
        registration(
            content_hash=document.content_hash,
            metadata_uri=commitment_uri(True),
            metadata_hash=document.root,
        ),
    )
    client = gateway()
    answer = post(client, world, world.alice, asset, presentation(world, asset, document))
    assert answer.status_code == 201, answer.text
    assert answer.json()["content_kind"] == "provledger-salted-sha256/1"
    page = client.get(f"/asset/{asset_id_hex(asset)}").text
    assert "content hash shown above is a commitment" in page


# ------------------------------------------------------------------ nothing withheld anywhere


def test_no_withheld_value_is_in_the_index_or_any_answer(
    anvil_world: World, gateway: Callable[[], TestClient], folder: Path
) -> None:
    world = anvil_world
    asset, document = committed(world)
    client = gateway()
    body = presentation(world, asset, document)
    assert post(client, world, world.alice, asset, body).status_code == 201
    client = gateway()  # indexed again after the presentation: nothing new may leak either
    key, holder = asset_id_hex(asset), world.alice.address
    content = client.get(f"/assets/{key}").json()["content_hash"]
    (kept,) = client.get(f"/assets/{key}/disclosure").json()["presentations"]
    paths = [
        "/assets",
        f"/assets?holder={holder}",
        "/assets?title=soil",
        "/assets/recent",
        f"/assets/{key}",
        f"/assets/by-hash/{content}",
        f"/assets/{key}/history",
        f"/assets/{key}/holders",
        f"/assets/{key}/disclosure",
        f"/assets/{key}/proof",
        f"/assets/{key}/presentation?sha256={kept}",
        f"/verify?hash={content}",
        "/",
        "/search?q=minhang",
        f"/search?q={key}",
        f"/asset/{key}",
        f"/participant/{holder}",
        "/openapi.json",
    ]
    for path in paths:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        for marker in MARKERS.values():
            assert marker.encode() not in answer.content, (path, marker)
    assert key in client.get("/search?q=minhang").text  # found by a disclosed title word
    stored = b"".join(path.read_bytes() for path in folder.rglob("*") if path.is_file())
    assert b"soil moisture" in stored  # the disclosed title is there to be found
    for marker in MARKERS.values():
        assert marker.encode() not in stored, marker
