"""The verify page checks a dropped proof bundle in a real browser (Debian's Chromium via
Playwright) with verify-proof.mjs, against the gateway's read-only JSON-RPC passthroughs (``/rpc``
to the registry's chain, ``/rpc/checkpoint`` to the checkpoint chain): the published test
vectors' chains (``scripts/proof_vectors.py --serve``) behind a real gateway. Every check is
shown; an altered bundle names the check that failed, a malformed one the field. Screenshots at
1280 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from helpers.proofjs import MANIFEST, SOURCE_CHAIN, TARGET_CHAIN, VECTORS, served_vectors
from provledger.api.app import create_app
from provledger.chain.connection import rpc_chain
from provledger.config import Settings
from provledger.store.engine import create_schema, create_store_engine
from web.conftest import drop_file, looked_at, serving

VIEWPORTS: Final = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})
V2_CHECKS: Final = ["chain", "receipt", "block", "event", "contract", "state", "checkpoint"]

pytestmark = pytest.mark.anvil


@dataclass(frozen=True)
class Served:
    """A gateway over the vectors' chains, and the chains' own URLs."""

    url: str
    source: str
    target: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The vectors' two chains, and a gateway on the source chain with checkpoints configured
    (its index is empty: the page asks the nodes, not the index)."""
    folder = tmp_path_factory.mktemp("proof-page")
    with served_vectors(folder / "vectors") as urls:
        database_url = f"sqlite:///{folder / 'index.sqlite'}"
        engine = create_store_engine(database_url)
        create_schema(engine)
        engine.dispose()
        settings = Settings(
            database_url=database_url,
            deployments_dir=folder / "deployments",
            blob_dir=folder / "blobs",
            checkpoint_rpc_url=urls[TARGET_CHAIN],
            checkpoint_contract=MANIFEST["checkpoint_contracts"]["kept"],
            checkpoint_database_url=f"sqlite:///{folder / 'cosignatures.sqlite'}",
        )
        app = create_app(settings, w3=rpc_chain(urls[SOURCE_CHAIN]))
        with serving(app) as url:
            yield Served(url, urls[SOURCE_CHAIN], urls[TARGET_CHAIN])


def _checked(
    page: Any, served: Served, vector: str, nodes: dict[str, str] | None = None
) -> dict[str, Any]:
    """Drop the vector ``vector`` on a fresh verify page (with the node fields set to
    ``nodes``, if given); what the page then shows, and the requests it made."""
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(f"{served.url}/check")
    page.wait_for_load_state("networkidle")
    if nodes:
        page.click("#proof-nodes summary")
        for field, value in nodes.items():
            page.fill(f"#{field}", value)
    drop_file(page, Path(vector).name, (VECTORS / vector).read_bytes(), "application/json")
    page.wait_for_selector('#proof[aria-busy="false"] h2')
    checks = page.locator("#proof dd[data-check]")
    return {
        "url": page.url,
        "heading": page.locator("#proof h2").inner_text(),
        "alert": page.locator("#proof [role=alert]").all_inner_texts(),
        "part": page.locator("#proof [data-part]").all(),
        "checks": {
            checks.nth(i).get_attribute("data-check"): checks.nth(i).get_attribute("class")
            for i in range(checks.count())
        },
        "reasons": {
            checks.nth(i).get_attribute("data-check"): checks.nth(i).inner_text()
            for i in range(checks.count())
        },
        "text": page.locator("main").inner_text(),
        "requests": [(request.method, request.url) for request in requests],
    }


def _fits(browser: Any, served: Served, vector: str, shot: str) -> None:
    """At 1280 and 390 px: accessible, as wide as the screen, and screenshot."""
    for viewport in VIEWPORTS:
        context = browser.new_context(viewport=viewport)
        tab = context.new_page()
        try:
            _checked(tab, served, vector)
            looked_at(tab, viewport["width"], f"{shot}-{viewport['width']}")
        finally:
            context.close()


def test_a_dropped_v2_bundle_is_verified_in_the_browser_through_the_passthroughs(
    browser: Any, page: Any, served: Served
) -> None:
    shown = _checked(page, served, "valid/direct-v2.json")
    assert shown["url"] == f"{served.url}/check"  # checked in place: nothing was navigated to
    assert shown["heading"] == "Proof verified"
    assert shown["alert"] == []
    assert shown["checks"] == dict.fromkeys([*V2_CHECKS, "witnesses"], "yes")
    assert shown["reasons"]["witnesses"] == (
        "\u2713 3 valid co-signature(s), no witness policy given"
    )
    assert f"on chain {SOURCE_CHAIN}: all 8 checks passed" in shown["text"]
    asked = {(method, url.removeprefix(served.url)) for method, url in shown["requests"]}
    assert ("POST", "/rpc") in asked
    assert ("POST", "/rpc/checkpoint") in asked
    assert ("GET", "/static/verify-proof.mjs") in asked
    assert {url for _, url in asked if not url.startswith("/static/")} <= {
        "/check",
        "/rpc",
        "/rpc/checkpoint",
    }
    _fits(browser, served, "valid/direct-v2.json", "verify-proof")


def test_an_altered_bundle_names_the_check_that_failed(
    browser: Any, page: Any, served: Served
) -> None:
    vector = "altered/direct-v2--rewritten.json"
    shown = _checked(page, served, vector)
    assert shown["heading"] == "Proof not verified"
    assert shown["alert"] == [
        "1 of 8 checks failed (checkpoint): the bundle's claims do not all hold on the nodes asked."
    ]
    assert shown["checks"] == {
        **dict.fromkeys(V2_CHECKS, "yes"),
        "checkpoint": "no",
        "witnesses": "yes",
    }
    assert shown["reasons"]["checkpoint"].startswith(
        "\u2717 the source chain's history was rewritten after checkpoint 1: its block 42 is "
    )
    _fits(browser, served, vector, "verify-proof-rewritten")


def test_a_version_1_batch_bundle_shows_its_merkle_and_anchor_checks(
    page: Any, served: Served
) -> None:
    shown = _checked(page, served, "altered/batch--batch.proof.0.json")
    assert shown["heading"] == "Proof not verified"
    names = ["chain", "receipt", "block", "event", "contract", "merkle", "anchor", "state"]
    assert shown["checks"] == {name: "no" if name == "merkle" else "yes" for name in names}
    assert all("/rpc/checkpoint" not in url for _, url in shown["requests"])


def test_a_malformed_bundle_is_refused_naming_the_field(page: Any, served: Served) -> None:
    shown = _checked(page, served, "malformed/direct--registration.log_index.json")
    assert shown["heading"] == "Proof not verified"
    (alert,) = shown["alert"]
    assert alert.startswith(
        "The bundle does not read: malformed proof bundle: registration.log_index must be a "
        "non-negative integer, got "
    )
    (part,) = shown["part"]
    assert part.get_attribute("data-part") == "registration.log_index"
    assert shown["checks"] == {}
    assert all(method == "GET" for method, _ in shown["requests"])  # no node was asked


def test_without_a_checkpoint_node_the_checkpoint_check_fails(page: Any, served: Served) -> None:
    shown = _checked(page, served, "valid/direct-v2.json", {"proof-checkpoint-rpc": ""})
    assert shown["checks"]["checkpoint"] == "no"
    assert shown["reasons"]["checkpoint"] == (
        f"\u2717 no node of target chain {TARGET_CHAIN} was given"
    )


def test_a_node_that_cannot_be_reached_gives_no_verdict(page: Any, served: Served) -> None:
    shown = _checked(page, served, "valid/direct.json", {"proof-rpc": "/no-such-rpc"})
    assert shown["heading"] == "Proof not checked"
    (alert,) = shown["alert"]
    assert alert.startswith(
        "A node could not be reached, so nothing was checked: cannot reach the node at "
        f"{served.url}/no-such-rpc: HTTP 40"
    )
    assert shown["checks"] == {}


def test_any_node_url_can_be_given(page: Any, served: Served) -> None:
    nodes = {"proof-rpc": served.source, "proof-checkpoint-rpc": served.target}
    shown = _checked(page, served, "valid/direct-v2.json", nodes)
    assert shown["heading"] == "Proof verified"
