"""The data room's parts of the asset and participant pages in a real browser (Debian's
Chromium via Playwright), served by a real gateway over anvil: accessible, and as wide as the
screen at 1280 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers.dataroom import get, grant, room_settings, stored_asset, stored_folder
from helpers.indexing import index
from helpers.world import World
from provledger.api.app import create_app
from provledger.chain.ids import asset_id_hex
from web.conftest import SCREENSHOTS, looked_at, serving

pytestmark = pytest.mark.anvil

VIEWPORTS = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})


@pytest.fixture
def served(anvil_world: World, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A gateway with its data room on, over anvil: alice's grade 2 file (licensed to bob, who
    got it; the stranger was refused) and her folder; its URL and the pages to look at."""
    world = anvil_world
    world.deployment.save(tmp_path / "deployments")
    settings = room_settings(tmp_path)
    with TestClient(create_app(settings, w3=world.w3)) as client:
        asset = stored_asset(client, world, bytes(range(256)) * 5000, grade=2)
        folder = stored_folder(client, world, {"a.csv": b"a,b\n1,2\n", "b/c.bin": b"\x00" * 4096})
        grant(world, asset, world.bob)
        assert get(client, world, world.bob, asset).status_code == 200
        assert get(client, world, world.stranger, asset).status_code == 403
    index(world.w3, world.deployment, settings.database_url)
    pages = {
        "data-room-asset": f"/asset/{asset_id_hex(asset)}",
        "data-room-folder": f"/asset/{asset_id_hex(folder)}",
        "data-room-holder": f"/participant/{world.alice.address}",
    }
    with serving(create_app(settings, w3=world.w3)) as url:  # the same room, served
        yield url, pages


def test_data_room_pages_are_accessible_and_fit(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:

    url, pages = served
    for name, path in pages.items():
        for viewport in VIEWPORTS:
            context = browser.new_context(viewport=viewport)
            tab = context.new_page()
            try:
                tab.goto(url + path)
                heading = "#requests-h" if "participant" in path else "#data-h"
                assert tab.locator(heading).is_visible()
                looked_at(tab, viewport["width"], f"{name}-{viewport['width']}")
                part = tab.locator(f'section[aria-labelledby="{heading[1:]}"]')
                part.screenshot(path=str(SCREENSHOTS / f"{name}-{viewport['width']}-section.png"))
            finally:
                context.close()
