"""Names before hex, in a real browser: every asset link carries the asset's title, every
account links to its participant page, the lineage picture's arrows run from a source to what
was made from it and the asset's own box stays in view on a phone; amounts in units, times in
ISO 8601 (issue 17, "Pages")."""

from __future__ import annotations

import re
from typing import Any, Final

import pytest

from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.ids import asset_id_hex
from provledger.demo import PARTIES
from web.conftest import Site, screenshot

PHONE: Final = {"width": 390, "height": 844}
DESKTOP: Final = {"width": 1280, "height": 900}
_ADDRESS: Final = re.compile(r"0x[0-9a-fA-F]{40}")

#: Every asset link of the page: its id, its visible text (an SVG box's text, its lines joined)
#: and its accessible label.
_ASSET_LINKS: Final = """() => [...document.querySelectorAll('a[href^="/asset/0x"]')].map((a) => ({
    id: a.getAttribute("href").slice("/asset/".length),
    text: (a instanceof HTMLElement ? a.innerText : a.textContent).replace(/\\s+/g, " ").trim(),
    label: a.getAttribute("aria-label") || "",
    shown: a.getClientRects().length > 0,
}))"""


def _party(index: int) -> str:
    return str(dev_account(PARTIES[index].key_index).address)


def _tab(browser: Any, viewport: dict[str, int]) -> tuple[Any, Any]:
    context = browser.new_context(viewport=viewport)
    return context, context.new_page()


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("home", "/"),
        ("search", "/search?q=air+quality"),
        ("search-stations", "/search?q=station"),
        ("asset-summary", "/asset/{summary}"),
        ("asset-cleaned", "/asset/{cleaned}"),
        ("market", "/market"),
        ("participant", "/participant/{holder}"),
        ("participant-licensee", "/participant/{cleaner}"),
    ],
)
def test_every_asset_link_shows_the_title_the_index_has(
    browser: Any, site: Site, name: str, path: str
) -> None:
    """No asset is labelled by its hex id alone where its title is indexed: every link to an
    asset page (list entries, search results, timeline entries, lineage boxes, offers) shows
    the title, the shortened id beside it."""
    url = site.url + path.format(
        summary=site.assets["summary"],
        cleaned=asset_id_hex(site.result.assets["cleaned dataset"]),
        holder=_party(0),
        cleaner=_party(1),
    )
    context, tab = _tab(browser, DESKTOP)
    try:
        tab.goto(url)
        links = tab.evaluate(_ASSET_LINKS)
        titled = [link for link in links if link["id"] in site.titles]
        assert len(titled) >= 2, f"{path}: {links}"
        for link in titled:
            title = site.titles[link["id"]]
            assert link["shown"], link
            assert title in link["text"], f"{path}: {link} does not show {title!r}"
            if link["label"]:  # the lineage boxes say it to a screen reader too
                assert title in link["label"], link
    finally:
        context.close()


def test_search_results_and_home_name_their_assets(page: Any, site: Site) -> None:
    """Home says what the site is in one sentence and lists the latest registrations by title;
    a search lists its hits by title."""
    page.goto(site.url + "/")
    lede = page.locator("p.lede").inner_text()
    assert lede.startswith("provledger is a public register of data assets")
    assert lede.count(".") == 1  # one sentence
    assert lede.endswith(".")
    recent = page.locator("#recent-h + ul.assets li p.name a").all_inner_texts()
    assert recent[0] == "Pudong district air quality summary, all stations"
    assert "Station 4 hourly readings, Pudong" in recent
    page.goto(site.url + "/search?q=station+pudong")
    found = sorted(page.locator("#results-h + ul.assets li p.name a").all_inner_texts())
    assert found == [f"Station {n} hourly readings, Pudong" for n in range(1, 5)]


def _root_box(tab: Any) -> dict[str, float]:
    box = tab.locator("svg a.node.root rect").bounding_box()
    assert box is not None
    return dict(box)


@pytest.mark.parametrize("label", ["summary", "cleaned dataset", "air-quality index product"])
def test_the_asset_box_stays_in_view_on_a_phone(browser: Any, site: Site, label: str) -> None:
    """At 390 px the lineage picture shows the asset's own box whole, inside the viewport, with
    its title, whether the picture is one box wide or five (the summary's sources)."""
    key = site.assets.get(label) or asset_id_hex(site.result.assets[label])
    context, tab = _tab(browser, PHONE)
    try:
        tab.goto(f"{site.url}/asset/{key}")
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        tab.locator("svg a.node.root").scroll_into_view_if_needed()
        box = _root_box(tab)
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= PHONE["width"], box
        assert box["y"] >= 0, box
        assert box["y"] + box["height"] <= PHONE["height"], box
        assert box["width"] >= 150  # not shrunk out of reading: the boxes are 190 units wide
        root = tab.locator("svg a.node.root")
        assert root.get_attribute("data-asset") == key
        lines = root.locator("text.title").all_text_contents()
        assert " ".join(lines) == site.titles[key]
        screenshot(tab, f"lineage-{label.replace(' ', '-')}-390")
    finally:
        context.close()


#: Each arrow of the lineage picture: its source and target boxes, where its path starts and
#: ends, and its arrowhead (all in the picture's own units).
_ARROWS: Final = """() => [...document.querySelectorAll("svg g.edge")].map((edge) => {
    const path = edge.querySelector("path");
    const box = (id) => {
        const rect = document.querySelector(`svg a.node[data-asset="${id}"] rect`);
        return {x: rect.x.baseVal.value, y: rect.y.baseVal.value,
                w: rect.width.baseVal.value, h: rect.height.baseVal.value};
    };
    const start = path.getPointAtLength(0);
    const end = path.getPointAtLength(path.getTotalLength());
    return {parent: box(edge.dataset.parent), child: box(edge.dataset.child),
            start: {x: start.x, y: start.y}, end: {x: end.x, y: end.y},
            marker: path.getAttribute("marker-end"),
            label: edge.querySelector("text").textContent};
})"""


def test_lineage_arrows_run_from_the_source_to_what_was_made(page: Any, site: Site) -> None:
    """Every arrow leaves its source's box and ends, with its arrowhead, on the box of what
    was made from it: the five sources of the summary point down at the summary."""
    page.goto(f"{site.url}/asset/{site.assets['summary']}")
    arrows = page.evaluate(_ARROWS)
    assert len(arrows) == 5
    for arrow in arrows:
        parent, child, start, end = arrow["parent"], arrow["child"], arrow["start"], arrow["end"]
        assert arrow["marker"] == "url(#arrow)"
        assert arrow["label"] == "aggregated into"
        assert parent["x"] <= start["x"] <= parent["x"] + parent["w"]
        assert abs(start["y"] - (parent["y"] + parent["h"])) <= 1  # leaves the source's bottom
        assert child["x"] <= end["x"] <= child["x"] + child["w"]
        assert 0 <= child["y"] - end["y"] <= 3  # the arrowhead touches the made thing's top
    sentences = page.locator("svg desc").text_content()
    assert (
        "Pudong district air quality summary, all stations is an aggregate of "
        "Station 1 hourly readings, Pudong." in sentences
    )


def test_the_participant_page_names_the_account_and_lists_its_assets(page: Any, site: Site) -> None:
    """/participant/{address}: the name, jurisdiction and status, the assets held and
    registered by title, the licences held; /holder/{address} leads there."""
    holder = _party(0)
    page.goto(f"{site.url}/holder/{holder.lower()}")
    assert page.url == f"{site.url}/participant/{holder}"
    assert page.locator("h1").inner_text() == PARTIES[0].name
    facts = page.locator("dl.facts").inner_text()
    assert holder in facts
    assert re.search(r"Jurisdiction\s+CN", facts)
    assert re.search(r"Status\s+active", facts)
    held = page.locator("#held-h + ul.assets li p.name a").all_inner_texts()
    registered = page.locator("#registered-h + ul.assets li p.name a").all_inner_texts()
    for title in ("report file", "Pudong district air quality summary, all stations"):
        assert title in held
        assert title in registered
    assert "Huangpu river air quality, raw sensor readings" in held
    page.goto(f"{site.url}/participant/{_party(1)}")
    assert page.locator("h1").inner_text() == PARTIES[1].name
    licence = page.locator("#licensed-h ~ table tbody tr").first.inner_text()
    assert "Huangpu river air quality, raw sensor readings" in licence
    assert "processing use" in licence
    assert PARTIES[0].name in licence  # granted by
    screenshot(page, "participant-licensee")


def test_an_authority_account_shows_its_roles(page: Any, site: Site) -> None:
    """An account that is not a participant is said to be none, with the roles it holds."""
    registrar = str(dev_account(DEV_ROLES["registrar"]).address)
    page.goto(f"{site.url}/participant/{registrar}")
    facts = page.locator("dl.facts").inner_text()
    assert "not a registered participant" in facts
    assert re.search(r"Authority roles\s+registrar", facts)


#: Every link of the page that names an account; every hex address or shortened hex id shown
#: (a transaction's hash aside) that is not the text of, or beside, a link to its own page.
_ACCOUNTS: Final = r"""() => {
    const same = (shown, key) => shown.slice(0, 10).toLowerCase() === key.slice(0, 10).toLowerCase()
        && shown.slice(-6).toLowerCase() === key.slice(-6).toLowerCase();
    const hex = /^0x[0-9a-fA-F]{8}…[0-9a-fA-F]{6}$|^0x[0-9a-fA-F]{40}$/;
    return {
        links: [...document.querySelectorAll("a[title]")]
            .filter((a) => /^0x[0-9a-fA-F]{40}$/.test(a.getAttribute("title")))
            .map((a) => ({href: a.getAttribute("href"), title: a.getAttribute("title"),
                          text: a.innerText})),
        stray: [...document.querySelectorAll("code")]
            .filter((code) => hex.test(code.innerText))
            .filter((code) => !(code.title && code.title.length === 66))  // a transaction
            .filter((code) => {
                const link = code.closest("a") || code.closest(".sub")?.previousElementSibling;
                const href = link?.matches("a[href]") ? link.getAttribute("href") : "";
                const page = /^\/(participant|asset)\/(0x[0-9a-fA-F]+)$/.exec(href);
                return !(page && same(code.innerText, page[2]));
            })
            .map((code) => code.innerText),
        holderLinks: document.querySelectorAll('a[href^="/holder/"]').length,
    };
}"""


def test_every_address_on_the_asset_page_leads_to_its_participant_page(
    page: Any, site: Site
) -> None:
    """On the product's page (registrant, registrar, appraiser, seller, buyer, holders), every
    account is a link to /participant/{address}, by name where it has one; no hex address
    stands alone."""
    product = asset_id_hex(site.result.assets["air-quality index product"])
    page.goto(f"{site.url}/asset/{product}")
    found = page.evaluate(_ACCOUNTS)
    assert found["stray"] == []
    assert found["holderLinks"] == 0
    linked = {link["title"] for link in found["links"]}
    for link in found["links"]:
        assert link["href"] == f"/participant/{link['title']}"
    named = {link["text"] for link in found["links"]}
    assert {PARTIES[1].name, PARTIES[2].name} <= named  # the registrant and the buyer
    authorities = {str(dev_account(DEV_ROLES[role]).address) for role in ("registrar", "appraiser")}
    assert authorities <= linked
    assert {_party(1), _party(2)} <= linked
    page.locator(f'a[href="/participant/{_party(2)}"]').first.click()
    assert page.locator("h1").inner_text() == PARTIES[2].name


def test_amounts_in_units_and_times_in_iso_8601(page: Any, site: Site) -> None:
    """Prices in their currency's units with its symbol (a token's read from the token),
    the appraisal in its currency, and every time as ISO 8601 in UTC with how long ago."""
    page.goto(f"{site.url}/market")
    rows = page.locator("table").first.locator("tbody tr").all_inner_texts()
    token_row = next(row for row in rows if "report file" in row)
    licence_row = next(row for row in rows if "raw sensor readings" in row)
    assert "12.5 PLT" in token_row
    assert "0.01 ETH" in licence_row
    exact = page.locator("span.amount", has_text="12.5 PLT").get_attribute("title")
    assert exact == "12,500,000,000,000,000,000 smallest units of PLT"
    product = asset_id_hex(site.result.assets["air-quality index product"])
    page.goto(f"{site.url}/asset/{product}")
    assert "2,500,000.00 CNY (market method" in page.locator("dl.facts").inner_text()
    assert "for sale at 2.5 ETH" in page.locator("ol.timeline").inner_text()
    times = page.locator("main time")
    assert times.count() >= 10
    for index in range(times.count()):
        stamp = times.nth(index)
        text = stamp.inner_text()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", text), text
        assert stamp.get_attribute("datetime") == text
    assert re.search(
        r"\((\d+ (s|min|h|days?) ago|in \d+ (s|min|h|days?))\)", page.inner_text("main")
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshots_of_the_named_pages(browser: Any, site: Site, width: int) -> None:
    """Home, an asset with lineage, a participant and the market, at a desktop's and a phone's
    width (saved under test-output/pages/ for a person to look at), none wider than the
    screen."""
    paths = {
        "home": "/",
        "asset-lineage": f"/asset/{asset_id_hex(site.result.assets['cleaned dataset'])}",
        "asset-summary": f"/asset/{site.assets['summary']}",
        "participant": f"/participant/{_party(0)}",
        "market": "/market",
    }
    context, tab = _tab(browser, {"width": width, "height": 900})
    try:
        for name, path in paths.items():
            tab.goto(site.url + path)
            assert tab.evaluate("document.documentElement.scrollWidth") <= width, name
            screenshot(tab, f"{name}-{width}")
    finally:
        context.close()
