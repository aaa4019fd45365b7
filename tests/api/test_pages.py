"""The web pages, rendered on the server (no JavaScript), against the demo's chain and index."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from web3 import Web3

from helpers.demo_site import play_demo
from provledger.api.app import create_app
from provledger.chain.accounts import dev_account
from provledger.chain.ids import asset_id_hex
from provledger.config import Settings
from provledger.demo import PARTIES, DemoResult
from provledger.hashing import folder_manifest
from provledger.store import schema
from provledger.store.engine import create_store_engine


@dataclass
class Site:
    """The demo indexed, with the product frozen in an open dispute, and its pages."""

    client: TestClient
    w3: Web3
    result: DemoResult
    settings: Settings
    workdir: Path

    def get(self, path: str, status: int = 200) -> str:
        response = self.client.get(path, follow_redirects=True)
        assert response.status_code == status, response.text[:500]
        assert response.headers["content-type"].startswith("text/html")
        assert "Traceback" not in response.text
        return str(response.text)

    def api(self, path: str) -> object:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def asset(self, label: str) -> str:
        return asset_id_hex(self.result.assets[label])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("pages")
    demo = play_demo(workdir)
    demo.freeze(demo.result.assets["air-quality index product"], b"a second claim")
    settings = demo.index(8000)
    with TestClient(create_app(settings, w3=demo.w3)) as client:
        yield Site(client, demo.w3, demo.result, settings, workdir)


def _links(html: str, prefix: str) -> list[str]:
    return re.findall(rf'href="{prefix}(0x[0-9a-fA-F]+)"', html)


def test_home_lists_recent_registrations_and_the_index(site: Site) -> None:
    html = site.get("/")
    assert set(_links(html, "/asset/")) == {site.asset(label) for label in site.result.assets}
    head = site.w3.eth.block_number
    assert (
        f'indexed to block <span id="indexed-block">{head}</span> of '
        f'<span id="head-block">{head}</span>'
    ) in html
    assert '<label for="q">' in html


def test_search_finds_by_every_key(site: Site) -> None:
    raw = site.asset("raw dataset")
    root = folder_manifest(site.workdir / "huangpu-air-raw").root
    for query in (raw, "0x" + root.hex(), "1"):
        response = site.client.get("/search", params={"q": query}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/asset/{raw}"
    holder = dev_account(PARTIES[0].key_index).address
    response = site.client.get("/search", params={"q": holder}, follow_redirects=False)
    assert response.headers["location"] == f"/participant/{holder}"
    html = site.get("/search?q=Huangpu+air")
    assert set(_links(html, "/asset/")) == {
        site.asset("raw dataset"),
        site.asset("cleaned dataset"),
        site.asset("air-quality index product"),
    }
    assert "None." in site.get("/search?q=nothing+like+this")
    assert "no registration number 99" in site.get("/search?q=99", 404)


def test_check_page_gives_the_verdict_for_a_hash(site: Site) -> None:
    root = "0x" + folder_manifest(site.workdir / "huangpu-air-raw").root.hex()
    html = site.get(f"/check?hash={root}")
    assert "Registered</h2>" in html
    assert site.asset("raw dataset") in html
    assert dev_account(PARTIES[0].key_index).address in html
    stranger = "0x" + hashlib.sha256(b"never registered").hexdigest()
    assert "Not registered</h2>" in site.get(f"/check?hash={stranger}")
    html = site.get("/check?hash=0x1234", 400)
    assert "a 32-byte hash has 64 hex digits, got 4" in html


def test_a_frozen_asset_shows_its_warning(site: Site) -> None:
    product = site.asset("air-quality index product")
    html = site.get(f"/asset/{product}")
    assert "frozen: an arbiter froze this asset during a dispute" in html
    assert "frozen</dd>" in html or ", frozen" in html
    content = (site.workdir / "huangpu-aqi-daily.csv").read_bytes()  # the demo's product
    verdict = site.api(f"/verify?hash=0x{hashlib.sha256(content).hexdigest()}")
    assert isinstance(verdict, dict)
    assert verdict["asset"]["frozen"] is True


def test_asset_page_timeline_and_lineage_match_the_index(site: Site) -> None:
    raw = site.asset("raw dataset")
    html = site.get(f"/asset/{raw}")
    history = site.api(f"/assets/{raw}/history?limit=1000")
    assert isinstance(history, dict)
    entries = re.findall(r'<li data-event="(\w+)">', html)
    described = [item for item in history["items"] if not _untold(item)]
    assert entries == [item["event"] for item in described]
    for item in described:
        assert f'title="{item["tx_hash"]}"' in html
        assert f"block {item['block_number']}" in html
    assert "Certificate issued: registration no. 1" in html
    assert "Dispute #1 ruled: dismiss" in html
    lineage = site.api(f"/assets/{raw}/lineage?depth=3&direction=both")
    assert isinstance(lineage, dict)
    nodes = re.findall(r'<a href="/asset/(0x[0-9a-f]{64})" class="node', html)
    assert sorted(nodes) == sorted(node["asset_id"] for node in lineage["nodes"])
    assert html.count('<g class="edge" ') == len(lineage["edges"])
    assert ">derived into</text>" in html
    assert f"/assets/{raw}/proof" in html


def _untold(item: dict[str, object]) -> bool:
    """Events the timeline leaves out: told by another entry."""
    args = item["args"]
    assert isinstance(args, dict)
    if item["event"] == "Transfer":
        return int(str(args["from"]), 16) == 0
    return item["event"] in ("AssetStatusChanged", "AssetRestrictionsChanged")


def test_participant_page_lists_held_registered_and_licensed(site: Site) -> None:
    cleaner = dev_account(PARTIES[1].key_index).address
    moved = site.client.get(f"/holder/{cleaner.lower()}", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"] == f"/participant/{cleaner}"
    html = site.get(f"/participant/{cleaner}")
    assert f"<h1>{PARTIES[1].name}</h1>" in html
    assert "<dt>Jurisdiction</dt><dd>CN</dd>" in html
    assert "<dt>Status</dt><dd>active</dd>" in html
    held = site.api(f"/assets?holder={cleaner}")
    registered = site.api(f"/assets?registrant={cleaner}")
    assert isinstance(held, dict)
    assert isinstance(registered, dict)
    links = _links(html, "/asset/")
    for item in held["items"] + registered["items"]:
        assert item["asset_id"] in links
    assert "processing use" in html  # the license on the raw dataset


def test_batch_page_checks_a_leaf(site: Site) -> None:
    root = "0x" + site.result.batch_root.hex()
    html = site.get(f"/batch/{root}")
    assert "<dd>1000</dd>" in html
    leaf = "0x" + hashlib.sha256(b"provledger demo document: daily file 417").hexdigest()
    assert "Leaf 417 of this batch." in site.get(f"/batch/{root}?leaf={leaf}")
    other = "0x" + hashlib.sha256(b"not in it").hexdigest()
    assert "Not a leaf of this batch." in site.get(f"/batch/{root}?leaf={other}")


def test_malformed_and_unknown_urls_get_a_friendly_404(site: Site) -> None:
    for path in (
        "/asset/0xnothex",
        f"/asset/{asset_id_hex(12345)}",
        "/holder/0x1234",
        "/participant/0x1234",
        "/batch/0x12",
        f"/batch/0x{'ab' * 32}",
    ):
        html = site.get(path, 404)
        assert "<h1>Not found</h1>" in html


def test_a_lagging_index_is_shown(site: Site) -> None:
    engine = create_store_engine(site.settings.database_url)
    head = site.w3.eth.block_number
    with engine.begin() as conn:
        conn.execute(update(schema.checkpoint).values(head_block=head + 50))
    try:
        html = site.get("/")
        assert "The index is still catching up with the chain: 50 blocks behind" in html
    finally:
        with engine.begin() as conn:
            conn.execute(update(schema.checkpoint).values(head_block=head))
        engine.dispose()
