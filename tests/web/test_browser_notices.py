"""The public notice page in a real browser (Debian's Chromium via Playwright), served by a real
gateway over anvil: reached from the navigation, the registrations open to objection with their
notice's end and how to object, a committed one's disclosed fields marked proved and the others
named as withheld, no withheld value; accessible, and as wide as the screen at 1280 and 390 px.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.test_disclosures import MARKERS, METADATA
from api.test_pages_notices import DISCLOSED, PLAIN_TITLE, Scenario, notice_scenario
from helpers.world import World
from provledger.api.app import create_app
from provledger.units import iso_time
from web.conftest import SCREENSHOTS, looked_at, serving

pytestmark = pytest.mark.anvil

VIEWPORTS = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})


@pytest.fixture
def served(anvil_world: World, tmp_path: Path) -> Iterator[tuple[str, Scenario]]:
    """The public notice scenario served over HTTP; its URL and the scenario."""
    found = notice_scenario(anvil_world, tmp_path)
    with serving(create_app(found.settings, w3=anvil_world.w3)) as url:
        yield url, found


def test_the_public_notice_page_in_a_browser(browser: Any, served: tuple[str, Scenario]) -> None:

    url, found = served
    committed, plain = found.assets["committed"], found.assets["plain"]
    for viewport in VIEWPORTS:
        context = browser.new_context(viewport=viewport)
        tab = context.new_page()
        try:
            tab.goto(url)
            tab.get_by_role("navigation", name="Main").get_by_role("link", name="Notices").click()
            tab.wait_for_url(f"{url}/notices")
            assert tab.locator("h1").inner_text() == "Public notice"
            entries = tab.locator("ul.notices > li")
            listed = entries.evaluate_all("items => items.map(item => item.dataset.asset)")
            assert listed == found.open_order()

            entry = tab.locator(f'li[data-asset="{committed}"]')
            assert entry.locator("h3").inner_text().startswith(str(METADATA["title"]))
            for name in DISCLOSED:
                value = entry.locator(f'dd[data-field="{name}"]')
                assert value.is_visible()
                assert value.inner_text() == f"{METADATA[name]} \u2713\u00a0proved"
            for name in MARKERS:
                value = entry.locator(f'dd[data-field="{name}"]')
                assert value.is_visible()
                assert value.inner_text() == "withheld"
            end = iso_time(found.ends["committed"])
            assert entry.locator(".ends time").get_attribute("datetime") == end
            command = entry.locator("code.command").inner_text()
            assert command == f'provledger object {committed} --grounds "..."'

            other = tab.locator(f'li[data-asset="{plain}"]')
            assert other.locator("h3 a").first.inner_text() == PLAIN_TITLE
            assert other.locator("dd").count() == 0
            html = tab.content()
            for marker in MARKERS.values():
                assert marker not in html

            looked_at(tab, viewport["width"], f"notices-{viewport['width']}")
            entry.screenshot(path=str(SCREENSHOTS / f"notices-{viewport['width']}-entry.png"))

            entry.locator("h3 a").first.click()
            tab.wait_for_url(f"{url}/asset/{committed}")
            assert tab.locator("h1").inner_text() == METADATA["title"]
        finally:
            context.close()
