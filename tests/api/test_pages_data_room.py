"""The data room on the pages, on anvil: the asset page says whether the room holds the data,
to whom the chain gives it and the rules that apply now; the holder's participant page lists
the access requests to its assets. The index is built by the real indexer after each test's
chain actions; the room's records are those its own requests left."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpers.builders import doc, registration, sha256
from helpers.dataroom import get, grant, room_settings, stored_asset, stored_folder
from helpers.indexing import index
from helpers.world import World
from provledger.api.app import create_app
from provledger.chain.events import DisputeOpened
from provledger.chain.ids import asset_id_hex
from provledger.config import Settings
from provledger.store.dataroom import DataRoomStore
from provledger.units import iso_time

pytestmark = pytest.mark.anvil

#: 1,280,000 bytes: "1.2 MiB".
DATA = bytes(range(256)) * 5000
#: The purpose every download here is asked for: never shown on a page.
PURPOSE = "PURPOSE-NOT-PUBLIC-41c7"


@pytest.fixture
def folder(anvil_world: World, tmp_path: Path) -> Path:
    anvil_world.deployment.save(tmp_path / "deployments")
    return tmp_path


@pytest.fixture
def settings(folder: Path) -> Settings:
    return room_settings(folder)


@pytest.fixture
def client(anvil_world: World, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, w3=anvil_world.w3)) as test_client:
        yield test_client


def page(client: TestClient, world: World, settings: Settings, path: str) -> str:
    """The page at ``path``, over an index of the chain as it is now."""
    index(world.w3, world.deployment, settings.database_url)
    answer = client.get(path)
    assert answer.status_code == 200, answer.text[:500]
    assert "Traceback" not in answer.text
    return str(answer.text)


def section(text: str, heading: str) -> str:
    """The section under the heading ``heading`` (its id), tags and all."""
    found = re.search(rf'<section aria-labelledby="{heading}".*?</section>', text, re.S)
    assert found is not None, f"no section {heading}"
    return found.group(0)


def words(fragment: str) -> str:
    """The text of an HTML fragment, its spaces collapsed (none before a comma)."""
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())
    return text.replace(" ,", ",")


def data_of(client: TestClient, world: World, settings: Settings, asset: int) -> str:
    """The text of the "Data" section of ``asset``'s page."""
    return words(section(page(client, world, settings, f"/asset/{asset_id_hex(asset)}"), "data-h"))


def stored_at(folder: Path, asset: int) -> str:
    with DataRoomStore.open(str(folder / "dataroom.sqlite")) as store:
        stored = store.object_of(asset)
    assert stored is not None
    return iso_time(stored.stored_at // 1000)


# ------------------------------------------------------------------ the asset page


def test_asset_page_says_the_room_holds_the_file_and_who_gets_it(
    client: TestClient, anvil_world: World, settings: Settings, folder: Path
) -> None:
    world = anvil_world
    asset = stored_asset(client, world, DATA)
    shown = asset_id_hex(asset)
    data = section(page(client, world, settings, f"/asset/{shown}"), "data-h")
    text = words(data)
    since = stored_at(folder, asset)
    assert f"In the data room yes: a file, 1.2 MiB, stored since {since} (" in text
    assert '<span class="size" title="1,280,000 bytes">1.2 MiB</span>' in data
    assert f'<time datetime="{since}">' in data
    assert "Given to the holder, and licensees of a valid licence, as the chain decides" in text
    assert "Rules now Grade 1 (general): licensees in any jurisdiction. How to get it" in text
    command = f"provledger data get {shown} -o FILE --gateway http://testserver"
    assert f'<code class="command">{command}</code>' in data


def test_asset_page_counts_a_folders_files(
    client: TestClient, anvil_world: World, settings: Settings, folder: Path
) -> None:
    world = anvil_world
    files = {"a.csv": b"a,b\n1,2\n", "sub/b.bin": bytes(range(256)) * 700, "c.txt": b""}
    asset = stored_folder(client, world, files)
    shown = asset_id_hex(asset)
    data = section(page(client, world, settings, f"/asset/{shown}"), "data-h")
    since = stored_at(folder, asset)
    assert f"yes: a folder of 3 files, 175.0 KiB, stored since {since}" in words(data)
    assert 'title="179,208 bytes"' in data
    assert f"provledger data get {shown} -o FOLDER --gateway http://testserver" in data


def test_asset_page_of_data_not_uploaded(
    client: TestClient, anvil_world: World, settings: Settings
) -> None:
    world = anvil_world
    asset = world.register(world.alice, registration(content_hash=sha256(b"elsewhere")))
    data = data_of(client, world, settings, asset)
    assert "In the data room no: its holder has not put its data here" in data
    assert "How to get it" not in data


def freeze(world: World, asset: int) -> None:
    dispute = world.carol.court.open(asset, doc("claim")).event(DisputeOpened).dispute_id
    world.arbiter.court.freeze(dispute)


def object_to(world: World, asset: int) -> None:
    world.notice(asset)
    world.carol.office.object(asset, doc("objection"))


@pytest.mark.parametrize(
    ("grade", "restrict", "rules"),
    [
        (
            2,
            freeze,
            "Frozen by a dispute: no delivery to licensees; the holder still gets it. "
            "Grade 2 (important): outside CN only under a licence granted with an export permit.",
        ),
        (
            3,
            object_to,
            "Under objection: no delivery to licensees while the objection is open. "
            "Grade 3 (core): never outside CN.",
        ),
    ],
)
def test_the_rules_that_apply_now_are_named(
    client: TestClient,
    anvil_world: World,
    settings: Settings,
    grade: int,
    restrict: Callable[[World, int], None],
    rules: str,
) -> None:
    asset = stored_asset(client, anvil_world, DATA, grade=grade)
    restrict(anvil_world, asset)
    assert f"Rules now {rules} How to get it" in data_of(client, anvil_world, settings, asset)


def test_a_cancelled_asset_has_no_data_for_anyone(
    client: TestClient, anvil_world: World, settings: Settings
) -> None:
    world = anvil_world
    asset = stored_asset(client, world, DATA)
    world.alice.registry.cancel(asset, doc("withdrawn"))
    data = data_of(client, world, settings, asset)
    assert data.removeprefix("Data ") == (
        "In the data room no: the asset is cancelled, so its data is destroyed "
        "Given to no one, as the chain decides at each request; every request is logged "
        "Rules now Cancelled: its data key is destroyed and its data deleted; no one gets it."
    )


# ------------------------------------------------------------------ the holder's page


def test_holders_page_lists_the_access_requests_to_its_assets(
    client: TestClient, anvil_world: World, settings: Settings
) -> None:
    world = anvil_world
    asset = stored_asset(client, world, DATA)
    other = stored_asset(client, world, b"second file")
    grant(world, asset, world.bob)
    assert get(client, world, world.bob, asset, purpose=PURPOSE).status_code == 200
    assert get(client, world, world.stranger, other, purpose=PURPOSE).status_code == 403
    text = page(client, world, settings, f"/participant/{world.alice.address}")
    requests = section(text, "requests-h")
    rows = re.findall(r"<tr><td>.*?</tr>", requests, re.S)
    assert len(rows) == 2
    newest, oldest = (words(row) for row in rows)
    assert f'href="/asset/{asset_id_hex(other)}"' in rows[0]
    assert f'href="/participant/{world.stranger.address}"' in rows[0]
    assert newest.endswith("refused no-licence 0 bytes")
    assert f'href="/asset/{asset_id_hex(asset)}"' in rows[1]
    assert f'href="/participant/{world.bob.address}"' in rows[1]
    assert oldest.endswith("granted licensee 1.2 MiB")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 \(", oldest)
    assert PURPOSE not in text
    assert "holds no licence" not in text  # the refusal's reason
    # a participant holding nothing has no requests
    bobs = words(
        section(page(client, world, settings, f"/participant/{world.bob.address}"), "requests-h")
    )
    assert bobs.endswith("Time Requester Asset Decision Rule Sent None.")


def test_holders_page_shows_the_newest_fifty(
    client: TestClient, anvil_world: World, settings: Settings
) -> None:
    world = anvil_world
    asset = stored_asset(client, world, b"asked too often")
    for _ in range(51):
        assert get(client, world, world.stranger, asset).status_code == 403
    assert get(client, world, world.alice, asset).status_code == 200
    requests = section(
        page(client, world, settings, f"/participant/{world.alice.address}"), "requests-h"
    )
    rows = [words(row) for row in re.findall(r"<tr><td>.*?</tr>", requests, re.S)]
    assert len(rows) == 50
    assert rows[0].endswith("granted holder 15 bytes")
    assert all(row.endswith("refused no-licence 0 bytes") for row in rows[1:])
    assert "The newest 50 requests" in requests


# ------------------------------------------------------------------ no room, or a room away


def test_no_data_room_no_data_sections(anvil_world: World, folder: Path) -> None:
    world = anvil_world
    settings = room_settings(folder, data_room=False)
    asset = world.register(world.alice, registration())
    with TestClient(create_app(settings, w3=world.w3)) as client:
        asset_page = page(client, world, settings, f"/asset/{asset_id_hex(asset)}")
        holder_page = page(client, world, settings, f"/participant/{world.alice.address}")
    assert 'id="data-h"' not in asset_page
    assert 'id="requests-h"' not in holder_page
    assert "data room" not in asset_page.lower() + holder_page.lower()


@pytest.mark.parametrize("away", ["no master key", "no node"])
def test_a_room_that_cannot_open_does_not_break_the_pages(
    anvil_world: World, folder: Path, away: str
) -> None:
    world = anvil_world
    keyless = away == "no master key"
    settings = (
        room_settings(folder, data_room_master_key=None) if keyless else room_settings(folder)
    )
    asset = world.register(world.alice, registration())
    w3 = world.w3 if keyless else None
    with TestClient(create_app(settings, w3=w3)) as client:
        asset_page = page(client, world, settings, f"/asset/{asset_id_hex(asset)}")
        holder_page = page(client, world, settings, f"/participant/{world.alice.address}")
    unavailable = "Data room unavailable: this gateway keeps a data room, but it cannot be"
    assert f"{unavailable} reached now." in words(section(asset_page, "data-h"))
    assert "Data room unavailable: it cannot be reached now." in (
        words(section(holder_page, "requests-h"))
    )
    assert "Lineage" in asset_page  # the rest of the pages is drawn
    assert "Assets held" in holder_page
