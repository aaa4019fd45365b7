"""The asset page of a committed registration in a real browser (Debian's Chromium via
Playwright), served by a real gateway over anvil: the disclosed fields marked proved, the others
named as withheld, how to verify, the confidential content hash said to be a commitment;
accessible, and as wide as the screen at 1280 and 390 px."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.test_disclosures import MARKERS, METADATA, post, presentation, settings_of
from helpers.builders import registration
from helpers.indexing import index
from helpers.world import World
from provledger.api.app import create_app
from provledger.chain.ids import asset_id_hex
from provledger.commitments import CommittedDocument, commitment_uri
from web.conftest import SCREENSHOTS, looked_at, serving

pytestmark = pytest.mark.anvil

VIEWPORTS = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})
DISCLOSED = ("title", "category", "scale")


@pytest.fixture
def served(anvil_world: World, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A gateway over anvil where alice registered committed metadata with a confidential
    content hash and published a presentation of three fields; its URL and the asset."""
    world = anvil_world
    world.deployment.save(tmp_path / "deployments")
    settings = settings_of(tmp_path)
    content = hashlib.sha256(b"soil,moisture\n1,0.31\n").digest()
    document = CommittedDocument.of(METADATA, content, confidential=True)
    asset = world.register(
        world.alice,
        registration(
            content_hash=document.content_hash,
            metadata_uri=commitment_uri(True),
            metadata_hash=document.root,
        ),
    )
    index(world.w3, world.deployment, settings.database_url)
    with TestClient(create_app(settings, w3=world.w3)) as client:
        body = presentation(world, asset, document, *DISCLOSED)
        answer = post(client, world, world.alice, asset, body)
        assert answer.status_code == 201, answer.text
    with serving(create_app(settings, w3=world.w3)) as url:
        yield url, asset


def test_the_asset_page_shows_proved_and_withheld_fields(
    browser: Any, served: tuple[str, int]
) -> None:

    url, asset = served
    for viewport in VIEWPORTS:
        context = browser.new_context(viewport=viewport)
        tab = context.new_page()
        try:
            tab.goto(f"{url}/asset/{asset_id_hex(asset)}")
            assert tab.locator("h1").inner_text() == METADATA["title"]
            section = tab.locator('section[aria-labelledby="metadata-h"]')
            assert section.is_visible()
            names = section.locator("dt").all_inner_texts()
            assert names == sorted(DISCLOSED) + sorted(MARKERS)
            for name in DISCLOSED:
                value = section.locator(f'dd[data-field="{name}"]')
                assert value.is_visible()
                assert value.inner_text() == f"{METADATA[name]} \u2713\u00a0proved"
                assert value.locator(".yes").inner_text() == "\u2713\u00a0proved"
            for name in MARKERS:
                value = section.locator(f'dd[data-field="{name}"]')
                assert value.is_visible()
                assert value.inner_text() == "withheld"
            text = section.inner_text()
            assert "provledger verify-disclosure FILE" in text
            assert "content hash shown above is a commitment" in text
            html = tab.content()
            for marker in MARKERS.values():
                assert marker not in html
            looked_at(tab, viewport["width"], f"disclosure-asset-{viewport['width']}")
            section.screenshot(
                path=str(SCREENSHOTS / f"disclosure-asset-{viewport['width']}-section.png")
            )
        finally:
            context.close()
