"""The notifications page in a real browser (Debian's Chromium via Playwright): reached from the
navigation, signed in with an API key, a subscription made (its secret shown once), listed with
names and removed; accessible, and as wide as the screen at 1280 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.test_subscriptions_api import HOLDER, PUBLIC_URL, settings_for
from api.test_subscriptions_api import folder as folder
from api.test_subscriptions_api import keys as keys
from provledger.api.app import create_app
from web.conftest import looked_at, serving

VIEWPORTS = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})


@pytest.fixture
def served(folder: Path) -> Iterator[str]:
    with serving(create_app(settings_for(folder))) as url:
        yield url


def test_the_notifications_page_in_a_browser(
    browser: Any, served: str, keys: tuple[str, str]
) -> None:
    mine, _ = keys
    for viewport in VIEWPORTS:
        context = browser.new_context(viewport=viewport)
        tab = context.new_page()
        width = viewport["width"]
        try:
            tab.goto(served)
            nav = tab.get_by_role("navigation", name="Main")
            nav.get_by_role("link", name="Notifications").click()
            tab.wait_for_url(f"{served}/notifications")
            looked_at(tab, width, f"notifications-sign-in-{width}")
            tab.get_by_role("textbox", name="API key").fill(mine)
            with tab.expect_navigation():
                tab.get_by_role("button", name="Sign in").click()
            assert tab.url == f"{served}/notifications", tab.locator("main").inner_text()
            assert tab.get_by_text("No subscriptions yet").is_visible()

            tab.get_by_label("Webhook address").fill(PUBLIC_URL)
            tab.get_by_label("Tell me once the block is").select_option("final")
            tab.get_by_label("Held by", exact=True).fill(HOLDER)
            tab.get_by_label("Events", exact=True).fill("ObjectionLodged LicenseExpiring")
            tab.get_by_label("2 (important)").check()
            tab.get_by_role("button", name="Subscribe").click()
            heading = tab.locator("#made-heading")
            assert heading.inner_text().startswith("Subscribed: sub_")
            made = heading.inner_text().removeprefix("Subscribed: ")
            assert tab.locator("section.made code.command").inner_text().startswith("whsec_")
            row = tab.locator("tbody tr", has_text=made)
            assert "held by" in row.inner_text()
            assert "once final" in row.inner_text()
            assert "ObjectionLodged" in row.inner_text()
            looked_at(tab, width, f"notifications-{width}")

            row.get_by_role("button", name=f"Remove {made}").click()
            assert tab.get_by_text(f"Subscription {made} removed").is_visible()
            assert tab.get_by_text("No subscriptions yet").is_visible()
            tab.get_by_role("button", name="Sign out").click()
            assert tab.get_by_role("textbox", name="API key").is_visible()
        finally:
            context.close()
