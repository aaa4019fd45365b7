"""The pages in a real browser (Debian's Chromium via Playwright) against a real gateway."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Final

import pytest
import requests

from provledger.chain.client import Provledger
from provledger.chain.ids import asset_id_hex
from provledger.hashing import folder_manifest
from web.conftest import Site, drop_file, looked_at, screenshot

NARROW = {"width": 375, "height": 800}


def _watch(page: Any) -> list[Any]:
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    return requests


def _verify(page: Any, site: Site, name: str) -> list[Any]:
    requests = _watch(page)
    page.goto(f"{site.url}/check")
    with page.expect_navigation(url=re.compile(r".*/check\?hash=0x[0-9a-f]{64}.*")):
        path = site.files[name]
        drop_file(page, path.name, path.read_bytes())
    page.wait_for_selector("#verdict")
    body = site.files[name].read_bytes()
    for request in requests:
        assert request.method == "GET", f"{request.method} {request.url}"
        data = request.post_data_buffer
        assert data is None or body not in data
        assert body.decode() not in request.url
    return requests


def test_drop_a_registered_file(page: Any, site: Site) -> None:
    _verify(page, site, "report")
    verdict = page.locator("#verdict")
    assert verdict.locator("h2").inner_text() == "Registered"
    assert site.assets["report"] in verdict.inner_text()
    screenshot(page, "verify-registered")


def test_drop_an_unregistered_file(page: Any, site: Site) -> None:
    _verify(page, site, "stranger")
    assert page.locator("#verdict h2").inner_text() == "Not registered"
    screenshot(page, "verify-not-registered")


def test_choose_a_frozen_file_shows_the_warning(page: Any, site: Site) -> None:
    requests = _watch(page)
    page.goto(f"{site.url}/check")
    with page.expect_navigation(url=re.compile(r".*/check\?hash=.*")):
        page.set_input_files("#file", str(site.files["frozen"]))
    warnings = page.locator("ul.warnings").inner_text()
    assert "frozen: an arbiter froze this asset during a dispute" in warnings
    assert all(request.method == "GET" for request in requests)
    screenshot(page, "verify-frozen")


def test_choose_the_registered_dataset_folder(page: Any, site: Site) -> None:
    requests = _watch(page)
    page.goto(f"{site.url}/check")
    with page.expect_navigation(url=re.compile(r".*/check\?hash=.*&batch=.*")):
        page.set_input_files("#folder", str(site.files["raw"]))
    root = folder_manifest(site.files["raw"]).root
    assert f"hash=0x{root.hex()}" in page.url
    assert page.locator("#verdict h2").inner_text() == "Registered"
    raw = asset_id_hex(site.result.assets["raw dataset"])
    assert raw in page.locator("#verdict").inner_text()
    assert "not anchored together as a batch" in page.locator("#batch-h + p").inner_text()
    assert all(request.method == "GET" for request in requests)
    screenshot(page, "verify-folder")


def test_choose_a_folder_anchored_as_a_batch(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/check")
    with page.expect_navigation(url=re.compile(r".*/check\?hash=.*&batch=.*")):
        page.set_input_files("#folder", str(site.files["daily"]))
    assert page.locator("#verdict h2").inner_text() == "Not registered"
    anchored = page.locator("#batch-h + p").inner_text()
    assert f"anchored as batch {site.batch_root} (6 leaves" in anchored
    screenshot(page, "verify-batch-folder")


def test_an_empty_file(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/check")
    with page.expect_navigation(url=re.compile(r".*/check\?hash=.*")):
        page.set_input_files("#file", str(site.files["empty"]))
    assert f"hash=0x{hashlib.sha256(b'').hexdigest()}" in page.url
    assert page.locator("#verdict h2").inner_text() == "Not registered"


#: Wraps every way a page can read a file's bytes, reporting each read's size to the test.
_COUNT_READS: Final = """
for (const [owner, name] of [[Blob.prototype, "arrayBuffer"], [Blob.prototype, "text"],
                             [Blob.prototype, "bytes"], [Blob.prototype, "stream"],
                             [FileReader.prototype, "readAsArrayBuffer"],
                             [FileReader.prototype, "readAsBinaryString"],
                             [FileReader.prototype, "readAsDataURL"],
                             [FileReader.prototype, "readAsText"]]) {
  const original = owner[name];
  if (!original) continue;
  owner[name] = function (...args) {
    const blob = owner === Blob.prototype ? this : args[0];
    window.recordRead(name, blob.size);
    return original.apply(this, args);
  };
}
"""


def test_a_huge_file_is_hashed_in_slices_never_read_whole(
    page: Any, site: Site, tmp_path: Path
) -> None:
    """Above 64 MiB the page reads the file in 4 MiB slices: every byte once, no read larger.

    (Counting the reads is exact; the renderers' resident memory is not: it grows by whatever
    the garbage collector has not reclaimed yet, between 100 and 490 MiB for 320 MiB here.)
    """
    big = tmp_path / "big.bin"
    size_mib = 96
    chunk = bytes(range(256)) * 4096  # 1 MiB
    with big.open("wb") as handle:
        for index in range(size_mib):
            handle.write(chunk[index:] + chunk[:index])
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    reads: list[tuple[str, int]] = []
    page.expose_function("recordRead", lambda name, size: reads.append((name, size)))
    page.add_init_script(_COUNT_READS)
    page.goto(f"{site.url}/check")
    page.wait_for_load_state("networkidle")
    with page.expect_navigation(url=re.compile(r".*/check\?hash=.*"), timeout=300_000):
        page.set_input_files("#file", str(big))
    assert f"hash=0x{digest}" in page.url
    slice_size = 4 << 20
    assert {name for name, _ in reads} == {"arrayBuffer"}
    assert max(size for _, size in reads) == slice_size
    assert sum(size for _, size in reads) == size_mib << 20  # every byte read once
    assert len(reads) == (size_mib << 20) // slice_size


def test_asset_page_matches_the_chain_and_its_graph_navigates(page: Any, site: Site) -> None:
    cleaned = site.result.assets["cleaned dataset"]
    page.goto(f"{site.url}/asset/{asset_id_hex(cleaned)}")
    screenshot(page, "asset")
    # timeline: each entry's block and transaction are the chain's
    entries = page.locator("ol.timeline li")
    assert entries.count() >= 4
    for index in range(entries.count()):
        entry = entries.nth(index)
        tx = entry.locator("p.when code").get_attribute("title")
        block = int(re.search(r"block (\d+)", entry.inner_text()).group(1))  # type: ignore[union-attr]
        assert site.w3.eth.get_transaction_receipt(tx)["blockNumber"] == block
    events = [entries.nth(i).get_attribute("data-event") for i in range(entries.count())]
    assert events[:2] == ["AssetRegistered", "LineageLinked"]
    assert "Transfer" in events
    assert "ExportPermitIssued" in events
    # lineage: the nodes are the chain's parents and children
    ledger = Provledger(site.w3, site.result.deployment)
    nodes = {
        page.locator("svg a.node").nth(i).get_attribute("data-asset")
        for i in range(page.locator("svg a.node").count())
    }
    parents = {asset_id_hex(link.parent_id) for link in ledger.registry.parents_of(cleaned)}
    product = asset_id_hex(site.result.assets["air-quality index product"])
    assert nodes == {asset_id_hex(cleaned), product, *parents}
    # navigate: click the parent, then come back to the child with the keyboard
    (parent,) = parents
    with page.expect_navigation(url=f"{site.url}/asset/{parent}"):
        page.locator(f'svg a.node[data-asset="{parent}"]').click()
    assert "Huangpu river air quality, raw sensor readings" in page.locator("h1").inner_text()
    child = asset_id_hex(cleaned)
    page.locator(f'svg a.node[data-asset="{child}"]').focus()
    with page.expect_navigation(url=f"{site.url}/asset/{child}"):
        page.keyboard.press("Enter")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("home", "/"),
        ("search", "/search?q=air+quality"),
        ("verify", "/check"),
        ("asset-narrow", "/asset/{product}"),
        ("holder", "/holder/{holder}"),
        ("participant", "/participant/{holder}"),
        ("asset-wide-lineage", "/asset/{summary}"),
        ("market-all", "/market"),
        ("batch", "/batch/{root}"),
        ("market", "/market?kind=asset&currency=0x0000000000000000000000000000000000000000"),
        ("not-found", "/asset/0xnothex"),
    ],
)
def test_pages_are_accessible_and_fit_a_phone(
    browser: Any, site: Site, name: str, path: str
) -> None:

    url = site.url + path.format(
        product=asset_id_hex(site.result.assets["air-quality index product"]),
        holder=_holder(site),
        root="0x" + site.result.batch_root.hex(),
        summary=site.assets["summary"],
    )
    for viewport, suffix in (({"width": 1100, "height": 900}, ""), (NARROW, "-375")):
        context = browser.new_context(viewport=viewport)
        tab = context.new_page()
        try:
            tab.goto(url)
            looked_at(tab, viewport["width"], name + suffix)
        finally:
            context.close()


def _holder(site: Site) -> str:
    from provledger.chain.accounts import dev_account
    from provledger.demo import PARTIES

    return str(dev_account(PARTIES[0].key_index).address)


def _offline(page: Any, site: Site) -> list[str]:
    """Abort every request of ``page`` to anywhere but the gateway, as if offline; the list
    of such requests, and of the content security policy's refusals, as they come."""
    refused: list[str] = []

    def only_the_gateway(route: Any) -> None:
        if route.request.url.startswith(site.url + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_gateway)
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


def _operations(site: Site) -> list[tuple[str, str]]:
    """Every operation of the gateway's OpenAPI document, as (method, path)."""
    document = requests.get(f"{site.url}/openapi.json", timeout=10).json()
    methods = ("get", "put", "post", "delete", "patch")
    return [(m, path) for path, item in document["paths"].items() for m in item if m in methods]


def test_the_api_docs_render_offline(page: Any, site: Site) -> None:
    """/docs is Swagger UI from the gateway's own files, under a policy that allows nothing
    else: offline, it lists every operation of the OpenAPI document."""
    refused = _offline(page, site)
    page.goto(f"{site.url}/docs")
    page.wait_for_selector(".opblock")  # drawn by the UI's script from /openapi.json
    operations = _operations(site)
    assert len(operations) > 30
    assert page.locator(".opblock").count() == len(operations)
    recent = page.locator(".opblock-get", has=page.locator('[data-path="/assets/recent"]'))
    assert recent.locator(".opblock-summary-description").inner_text() == "Recent Assets"
    assert recent.is_visible()
    recent.locator(".opblock-summary-control").click()  # open it: its description shows
    assert recent.get_by_text("The latest registrations, newest first.").is_visible()
    assert refused == []
    screenshot(page, "api-docs")


def test_the_redoc_page_renders_offline(page: Any, site: Site) -> None:
    """/redoc is ReDoc from the gateway's own files: offline, its menu lists every operation."""
    refused = _offline(page, site)
    page.goto(f"{site.url}/redoc")
    menu = page.locator('[role="menuitem"][data-item-id*="operation/"]')
    menu.first.wait_for(state="attached")  # the menu's groups start folded
    assert menu.count() == len(_operations(site))
    assert page.get_by_role("heading", name="Recent Assets").first.is_visible()
    assert [url for url in refused if "cdn.redoc.ly" not in url] == []
