"""The verify page checks a dropped disclosure in a real browser (Debian's Chromium via
Playwright), against a real gateway over an indexed chain: the proved fields and the withheld
names when it holds (never the header field as a field), and what did not match when it does
not, a presentation moved to a copycat asset that anchors the same root included. Screenshots at
1280 and 390 px."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.builders import registration, sha256
from helpers.indexing import TEST_CONFIG, index
from helpers.world import World
from provledger.api.app import create_app
from provledger.chain.ids import asset_id_hex
from provledger.commitments import HEADER_FIELD, CommittedDocument, canonical_json, commitment_uri
from provledger.config import Settings
from web.conftest import drop_file, looked_at, serving

VIEWPORTS = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})

METADATA: dict[str, Any] = {
    "title": "Huangpu air quality 2026",
    "category": "environment",
    "scale": 125000,
    "tags": ["air", "données", {"station": "HP-001"}],
    "source": "WITHHELD-MARKER-source-5c1e",
    "contact": "WITHHELD-MARKER-contact-9d02",
}
DISCLOSED = ["title", "category", "scale", "tags"]
WITHHELD = ["source", "contact"]


@dataclass(frozen=True)
class Served:
    """A gateway over the indexed chain, and the presentations to drop on its verify page."""

    url: str
    asset: int
    presentation: dict[str, Any]
    elsewhere: dict[str, Any]
    """The same document's fields presented for another committed asset."""
    copycat: dict[str, Any]
    """The presentation, its asset id changed to bob's copycat asset, which anchors the same
    root with other content."""
    content: dict[str, Any]
    """A presentation disclosing the content hash of a registration that hides it."""


def _register(world: World, document: CommittedDocument) -> int:
    return world.register(
        world.alice,
        registration(
            content_hash=document.content_hash,
            metadata_uri=commitment_uri(document.content is not None),
            metadata_hash=document.root,
        ),
    )


@pytest.fixture
def served(world: World, tmp_path: Path) -> Iterator[Served]:
    """Three committed registrations of alice (the last hides its content hash) and bob's copy
    of the first's root, indexed and served; presentations of four of their six fields."""
    document = CommittedDocument.of(METADATA, sha256("huangpu-air-2026.csv"))
    asset = _register(world, document)
    other = _register(world, CommittedDocument.of(METADATA, sha256("huangpu-air-2025.csv")))
    hidden = CommittedDocument.of(METADATA, sha256("small guessable file"), confidential=True)
    hidden_asset = _register(world, hidden)
    copycat = world.register(
        world.bob, registration(metadata_uri=commitment_uri(False), metadata_hash=document.root)
    )
    world.chain.mine(TEST_CONFIG.confirmations + 1)  # the registrations are past confirmations
    world.deployment.save(tmp_path / "deployments")
    settings = Settings(
        database_url=str(tmp_path / "index.sqlite"), deployments_dir=tmp_path / "deployments"
    )
    index(world.w3, world.deployment, settings.database_url, TEST_CONFIG)
    chain_id = int(world.w3.eth.chain_id)
    registry = world.deployment.address("DataAssetRegistry")

    def presented(source: CommittedDocument, asset_id: int) -> dict[str, Any]:
        shown = source.present(
            DISCLOSED,
            chain_id=chain_id,
            registry=registry,
            asset_id=asset_id,
            content=source.content is not None,
        )
        return dict(json.loads(shown.to_json()))

    with serving(create_app(settings, w3=world.w3)) as url:
        yield Served(
            url,
            asset,
            presented(document, asset),
            presented(document, other),
            {**presented(document, asset), "asset_id": asset_id_hex(copycat)},
            presented(hidden, hidden_asset),
        )


def _checked(page: Any, served: Served, name: str, document: dict[str, Any]) -> dict[str, Any]:
    """Drop ``document`` on a fresh verify page; what the page then shows, and the requests it
    made."""
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(f"{served.url}/check")
    page.wait_for_load_state("networkidle")
    drop_file(page, name, json.dumps(document, indent=2).encode(), "application/json")
    page.wait_for_selector('#disclosure[aria-busy="false"] h2')
    rows = page.locator("#disclosure tbody tr")
    checks = page.locator("#disclosure dd[data-check]")
    return {
        "url": page.url,
        "heading": page.locator("#disclosure h2").inner_text(),
        "alert": page.locator("#disclosure [role=alert]").all_inner_texts(),
        "rows": {
            rows.nth(i).get_attribute("data-field"): (
                rows.nth(i).get_attribute("data-standing"),
                rows.nth(i).locator("td").nth(1).inner_text(),
            )
            for i in range(rows.count())
        },
        "checks": {
            checks.nth(i).get_attribute("data-check"): checks.nth(i).get_attribute("class")
            for i in range(checks.count())
        },
        "text": page.locator("main").inner_text(),
        "requests": [(request.method, request.url, request.post_data) for request in requests],
    }


def _expected_values() -> dict[str, str]:
    """The disclosed values as the page shows them: text as it is, others as canonical JSON."""
    return {
        name: value if isinstance(value, str) else canonical_json(value).decode()
        for name, value in METADATA.items()
        if name in DISCLOSED
    }


def _fits(browser: Any, served: Served, name: str, document: dict[str, Any], shot: str) -> None:
    """At 1280 and 390 px: accessible, as wide as the screen, and screenshot."""

    for viewport in VIEWPORTS:
        context = browser.new_context(viewport=viewport)
        tab = context.new_page()
        try:
            _checked(tab, served, name, document)
            looked_at(tab, viewport["width"], f"{shot}-{viewport['width']}")
        finally:
            context.close()


def test_a_dropped_disclosure_is_verified_in_the_browser(
    browser: Any, page: Any, served: Served
) -> None:
    shown = _checked(page, served, "disclosure.json", served.presentation)
    assert shown["url"] == f"{served.url}/check"  # checked in place: nothing was navigated to
    assert shown["heading"] == "Disclosure verified"
    assert shown["alert"] == []
    values = _expected_values()
    assert shown["rows"] == {
        **{name: ("proved", values[name]) for name in DISCLOSED},
        **dict.fromkeys(WITHHELD, ("withheld", "not disclosed")),
    }
    assert shown["checks"] == dict.fromkeys(
        ["chain", "commitment", "asset", "proof", "root"], "yes"
    )
    assert "4 of 6 fields of asset" in shown["text"]
    assert HEADER_FIELD not in shown["text"]  # the header binds the fields; it is not one
    asset_hex = f"0x{served.asset:064x}"
    for method, url, body in shown["requests"]:
        assert method == "GET", url
        assert body is None, url
        assert "Huangpu" not in url
        assert "environment" not in url
    asked = {url.removeprefix(served.url) for _, url, _ in shown["requests"]}
    assert {"/status", f"/assets/{asset_hex}"} <= asked
    assert "WITHHELD-MARKER" not in shown["text"]
    _fits(browser, served, "disclosure.json", served.presentation, "verify-disclosure")


def _altered(presentation: dict[str, Any], part: str) -> dict[str, Any]:
    changed: dict[str, Any] = json.loads(json.dumps(presentation))
    own = [field for field in changed["fields"] if field["name"] != HEADER_FIELD]
    if part == "value":
        own[1]["value"] = "forged"
    elif part == "withheld name dropped":
        changed["withheld"].pop()
    elif part == "withheld name made up":
        changed["withheld"].append("price")
    elif part == "no header":
        changed["fields"] = own
    elif part == "reserved name":
        changed["withheld"][0] = "@source"
    elif part == "name not in NFC":
        changed["withheld"][0] = "cafe\u0301"
    elif part == "chain":
        changed["chain_id"] += 1
    elif part == "salt":
        changed["fields"][0]["salt"] = "0x" + "00" * 31
    elif part == "content salt":
        changed["content"]["salt"] = "0x" + "00" * 32
    elif part == "fraction":  # 125000.0: a float to Python, which a browser tells by its text
        (scale,) = (field for field in changed["fields"] if field["name"] == "scale")
        scale["value"] = float(scale["value"])
    return changed


@pytest.mark.parametrize(
    ("part", "heading", "alert", "failed"),
    [
        ("value", "Disclosure not verified", "The proof does not match", {"proof"}),
        ("chain", "Disclosure not verified", "The chain does not match", {"chain"}),
        ("elsewhere", "Disclosure not verified", "The root does not match", {"asset", "root"}),
        ("copycat", "Disclosure not verified", "The asset does not match", {"asset"}),
        ("withheld name dropped", "Disclosure not verified", "The proof does not match", {"proof"}),
        ("withheld name made up", "Disclosure not verified", "The proof does not match", {"proof"}),
        ("no header", "Disclosure not verified", "has no @registration field", set()),
        ("reserved name", "Disclosure not verified", "withheld[0] names a reserved field", set()),
        ("name not in NFC", "Disclosure not verified", "withheld[0] is not a field name", set()),
        ("salt", "Disclosure not verified", "fields[0].salt is not 0x and 64 hex digits", set()),
        ("fraction", "Disclosure not verified", "(125000.0) is written as a fraction", set()),
    ],
)
def test_an_altered_disclosure_fails_naming_what_did_not_match(
    page: Any, served: Served, part: str, heading: str, alert: str, failed: set[str]
) -> None:
    moved = {"elsewhere": served.elsewhere, "copycat": served.copycat}
    document = moved[part] if part in moved else _altered(served.presentation, part)
    shown = _checked(page, served, f"{part}.json", document)
    assert shown["heading"] == heading
    (message,) = shown["alert"]
    assert alert in message
    assert {name for name, passed in shown["checks"].items() if passed == "no"} == failed
    if failed:
        assert {standing for standing, _ in shown["rows"].values()} == {"not proved", "withheld"}
    assert "proved against the commitment" not in shown["text"]


def test_a_disclosed_content_hash_is_checked(page: Any, served: Served) -> None:
    shown = _checked(page, served, "content.json", served.content)
    assert shown["heading"] == "Disclosure verified"
    assert shown["checks"] == dict.fromkeys(
        ["chain", "commitment", "asset", "proof", "root", "content"], "yes"
    )
    sha256 = hashlib.sha256(b"small guessable file").hexdigest()
    assert f"content SHA-256 0x{sha256}" in shown["text"]
    altered = _checked(page, served, "content.json", _altered(served.content, "content salt"))
    assert altered["heading"] == "Disclosure not verified"
    assert "The content hash does not match" in altered["alert"][0]
    assert {name for name, passed in altered["checks"].items() if passed == "no"} == {"content"}


def test_an_altered_disclosure_fits_the_screen(browser: Any, served: Served) -> None:
    altered = dataclasses.replace(served, presentation=_altered(served.presentation, "value"))
    _fits(browser, altered, "altered.json", altered.presentation, "verify-disclosure-altered")
