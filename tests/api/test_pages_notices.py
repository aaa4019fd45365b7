"""The public notice page on anvil: the registrations open to objection now (accepted by the
registrar, their notice not over), the notice ending soonest first, a page at a time; each with
its asset by title, its people by name, category and grade in words, the notice's end, how to
object, and for a committed registration its disclosed fields proved and its withheld ones
named, no withheld value anywhere.

Each test starts from the same chain (the ``anvil_world`` snapshot), a new index and blob folder.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.test_disclosures import MARKERS, METADATA, committed, post, presentation, settings_of
from helpers.builders import registration, sha256
from helpers.indexing import index
from helpers.stores import engine_for
from helpers.world import NOTICE_PERIOD, World
from provledger.api.app import create_app
from provledger.chain.ids import asset_id_hex
from provledger.config import Settings
from provledger.store.blobs import BlobStore
from provledger.store.documents import index_documents
from provledger.units import iso_time

pytestmark = pytest.mark.anvil

DISCLOSED = ("title", "category", "scale")
#: The text whose SHA-256 the test world registered as alice's name hash (helpers.builders.doc).
ALICE_NAME = "document:legal name of alice"
#: The title of bob's plain registration under notice.
PLAIN_TITLE = "Jingan street noise levels, 2026"
#: How much later bob's notice ends than alice's.
LATER = 3600


@dataclass(frozen=True)
class Scenario:
    """The gateway's settings and the assets of the scenario by what became of them (``0x``
    hex ids), with when their notice ends."""

    world: World
    settings: Settings
    assets: dict[str, str]
    ends: dict[str, int]

    def open_order(self) -> list[str]:
        """The assets under notice, the notice ending soonest first (then by asset id)."""
        labels = sorted(
            ("committed", "silent", "plain"),
            key=lambda label: (self.ends[label], self.assets[label]),
        )
        return [self.assets[label] for label in labels]


def notice_scenario(world: World, folder: Path) -> Scenario:
    """Alice's certified registration, her accepted one whose notice is over, bob's
    application not accepted yet; then, under notice, alice's committed registration with
    three fields disclosed (its presentation posted to the gateway; marked values withheld),
    her committed one with none disclosed, and bob's plain one (its notice ends an hour
    later); indexed in ``folder``, with alice's name and bob's metadata document."""
    world.deployment.save(folder / "deployments")
    settings = settings_of(folder)
    assets: dict[str, int] = {}
    assets["certified"] = world.register(world.alice)
    world.certify(assets["certified"])
    assets["over"] = world.register(world.alice)
    world.notice(assets["over"])
    world.chain.advance(NOTICE_PERIOD + 1)
    assets["applied"] = world.register(world.bob)
    assets["committed"], document = committed(world)
    world.notice(assets["committed"])
    assets["silent"], _ = committed(world, {"title": "unseen", **MARKERS})
    world.notice(assets["silent"])
    world.chain.advance(LATER)
    blobs = BlobStore(folder / "blobs")
    meta = blobs.put(json.dumps({"title": PLAIN_TITLE}).encode())
    name = blobs.put(ALICE_NAME.encode())
    assets["plain"] = world.register(
        world.bob,
        registration(
            content_hash=sha256("noise"),
            metadata_uri=f"sha256:{meta[2:]}",
            metadata_hash=bytes.fromhex(meta[2:]),
            category=103,
            grade=2,
        ),
    )
    world.notice(assets["plain"])
    index(world.w3, world.deployment, settings.database_url)
    index_documents(engine_for(settings.database_url), blobs, [meta, name])
    with TestClient(create_app(settings, w3=world.w3)) as client:
        body = presentation(world, assets["committed"], document, *DISCLOSED)
        answer = post(client, world, world.alice, assets["committed"], body)
        assert answer.status_code == 201, answer.text
    return Scenario(
        world,
        settings,
        {label: asset_id_hex(asset) for label, asset in assets.items()},
        {
            label: world.registrar.office.notice_ends_at(asset)
            for label, asset in assets.items()
            if label != "applied"
        },
    )


@dataclass(frozen=True)
class Notices(Scenario):
    """The scenario served."""

    client: TestClient

    def get(self, path: str, status: int = 200) -> str:
        answer = self.client.get(path)
        assert answer.status_code == status, answer.text[:500]
        assert answer.headers["content-type"].startswith("text/html")
        return str(answer.text)


@pytest.fixture
def notices(anvil_world: World, tmp_path: Path) -> Iterator[Notices]:
    found = notice_scenario(anvil_world, tmp_path)
    with TestClient(create_app(found.settings, w3=anvil_world.w3)) as client:
        yield Notices(found.world, found.settings, found.assets, found.ends, client)


def _entries(page: str) -> dict[str, str]:
    """The entries of the public notice, by asset id, in the page's order."""
    found = re.findall(r'<li data-asset="(0x[0-9a-f]{64})">(.*?)</li>\n', page, re.S)
    return dict(found)


def test_the_public_notice_lists_the_registrations_open_to_objection(notices: Notices) -> None:
    page = notices.get("/notices")
    assets = notices.assets
    entries = _entries(page)
    # Soonest end first (alice's two committed registrations, then bob's an hour later), then
    # by asset id.
    assert list(entries) == notices.open_order()
    assert list(entries)[-1] == assets["plain"]
    for label in ("certified", "over", "applied"):
        assert assets[label] not in page
    assert "<h1>Public notice</h1>" in page
    assert '<a href="/notices">Notices</a>' in page  # in the navigation

    plain = entries[assets["plain"]]
    assert f'<a href="/asset/{assets["plain"]}" title="{assets["plain"]}">' in plain
    assert html.escape(PLAIN_TITLE) in plain
    assert "Meteorological and environmental monitoring · grade 2 (important)" in plain
    bob = notices.world.bob.address
    assert f'Registered by <a href="/participant/{bob}" title="{bob}"><code>' in plain
    end = iso_time(notices.ends["plain"])
    assert f'Notice ends <time datetime="{end}">{end}</time>' in plain
    command = f'provledger object {assets["plain"]} --grounds "..."'
    assert f'<code class="command">{command}</code>' in plain
    assert "data-standing" not in plain  # a plain registration: no committed fields

    entry = entries[assets["committed"]]
    assert html.escape(str(METADATA["title"])) in entry  # the disclosed title names the asset
    alice = notices.world.alice.address
    assert f'<a href="/participant/{alice}" title="{alice}">{ALICE_NAME}</a>' in entry
    assert "Public administration records · grade 1 (general)" in entry
    end = iso_time(notices.ends["committed"])
    assert f'Notice ends <time datetime="{end}">{end}</time>' in entry
    assert f"provledger object {assets['committed']} --grounds" in entry
    for name in DISCLOSED:
        value = html.escape(str(METADATA[name]))
        proved = (
            f'<dd data-field="{name}" data-standing="proved">{value} <span class="yes" '
            'title="proved against the on-chain commitment">&#10003;&nbsp;proved</span></dd>'
        )
        assert proved in entry
    for name in MARKERS:
        withheld = f'<dd data-field="{name}" data-standing="withheld"><em>withheld</em></dd>'
        assert f"<dt>{name}</dt>{withheld}" in entry
    assert "The holder has disclosed no field yet" not in entry
    assert "The holder has disclosed no field yet" in entries[assets["silent"]]
    for marker in MARKERS.values():
        assert marker not in page
    assert "unseen" not in page  # the undisclosed title of the silent registration


def test_the_public_notice_goes_a_page_at_a_time(notices: Notices) -> None:
    first = notices.get("/notices?limit=2")
    assert list(_entries(first)) == notices.open_order()[:2]
    assert "First page" not in first
    following = re.search(r'<a href="(/notices\?cursor=[^"]+)" rel="next">Next page</a>', first)
    assert following is not None
    second = notices.get(html.unescape(following[1]))
    assert list(_entries(second)) == notices.open_order()[2:]
    assert "Next page" not in second
    assert '<a href="/notices?limit=2">First page</a>' in second


def test_the_home_page_leads_to_the_public_notice(notices: Notices) -> None:
    assert '<p><a href="/notices">Public notice</a>: the registrations open to objection' in (
        notices.get("/")
    )


def test_a_bad_cursor_or_limit_gets_the_page_with_the_error(notices: Notices) -> None:
    for query, part in (("cursor=nonsense", "cursor"), ("limit=0", "limit"), ("limit=x", "limit")):
        page = notices.get(f"/notices?{query}", 400)
        assert f'<p class="error" role="alert">{part}: ' in page
        assert "data-asset" not in page


def test_the_api_lists_every_accepted_registration_with_its_notice_end(
    notices: Notices,
) -> None:
    """``GET /assets?status=NOTICED`` lists the notice over, too: the page leaves it out."""
    answer = notices.client.get("/assets", params={"status": "NOTICED"})
    assert answer.status_code == 200, answer.text
    listed = {item["asset_id"]: item["notice_ends_at"] for item in answer.json()["items"]}
    labels = ("over", "committed", "silent", "plain")
    assert listed == {notices.assets[label]: notices.ends[label] for label in labels}
