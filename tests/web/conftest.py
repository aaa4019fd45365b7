"""A real gateway over a real indexed chain, served over HTTP, and Debian's Chromium driven by
Playwright. Chromium is installed here with apt-get when it is missing."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select
from web3 import Web3

from helpers.demo_site import DemoChain, play_demo
from helpers.required import unavailable
from helpers.tokens import HarnessToken
from provledger.api.app import create_app
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.anvil import free_port
from provledger.chain.client import Provledger
from provledger.chain.enums import LicenseKind, Relation
from provledger.chain.events import AssetRegistered
from provledger.chain.ids import asset_id_hex
from provledger.chain.types import ParentLink, Registration
from provledger.config import Settings
from provledger.demo import DemoResult
from provledger.merkle import StandardMerkleTree
from provledger.store import schema
from provledger.store.blobs import BlobStore
from provledger.store.engine import create_store_engine

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_LOCK = Path(tempfile.gettempdir()) / "provledger-chromium-install.lock"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "pages"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def ensure_chromium() -> Path:
    """Debian's Chromium, installed with apt-get if it is not there yet (the package lists are
    refreshed once if the first try fails)."""
    if CHROMIUM.exists():
        return CHROMIUM
    apt = shutil.which("apt-get")
    if apt is None:
        unavailable("chromium is missing and there is no apt-get to install it")
    # Test workers start at once: one installs while the others wait for it (and apt-get
    # itself waits for dpkg's lock rather than failing).
    with INSTALL_LOCK.open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if CHROMIUM.exists():
            return CHROMIUM
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        install = [apt, "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", "chromium"]
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            subprocess.run([apt, "update", "-q"], capture_output=True, env=env, timeout=900)
            done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0 or not CHROMIUM.exists():
        unavailable(f"apt-get install chromium failed: {done.stderr.strip()[-300:]}")
    return CHROMIUM


@dataclass
class Site:
    """The demo's chain plus two registered files (one frozen), a summary of five sources (a
    wide lineage picture), two open offers (one in ETH, one in a token), indexed and served."""

    url: str
    w3: Web3
    result: DemoResult
    files: dict[str, Path] = field(default_factory=dict)
    assets: dict[str, str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    """The title of every asset whose metadata document the index has, by ``0x`` hex id."""
    batch_root: str = ""
    token: str = ""


#: The token offer's price: 12.5 PLT (18 decimals).
TOKEN_PRICE = 12_500_000_000_000_000_000
#: The license offer's price: 0.01 ETH.
LICENSE_PRICE = 10_000_000_000_000_000


def _register_file(
    ledger: Provledger,
    blobs: BlobStore,
    path: Path,
    title: str,
    parents: tuple[ParentLink, ...] = (),
) -> str:
    meta = blobs.put(json.dumps({"title": title}).encode())
    registration = Registration(
        hashlib.sha256(path.read_bytes()).digest(),
        f"sha256:{meta[2:]}",
        bytes.fromhex(meta[2:]),
        305,
        1,
        parents,
    )
    receipt = ledger.registry.register(registration)
    return f"0x{receipt.event(AssetRegistered).asset_id:064x}"


def _sources_and_summary(site: Site, demo: DemoChain, workdir: Path, blobs: BlobStore) -> None:
    """Four station files and the demo's raw dataset, aggregated into one summary: a parent
    row five boxes wide."""
    sources = []
    for station in range(1, 5):
        path = workdir / f"station-{station}.csv"
        path.write_text(f"station {station}\n")
        title = f"Station {station} hourly readings, Pudong"
        sources.append(_register_file(demo.holder, blobs, path, title))
        site.assets[f"station {station}"] = sources[-1]
    sources.append(asset_id_hex(demo.result.assets["raw dataset"]))
    summary = workdir / "summary.csv"
    summary.write_text("district,pm25\nPudong,11.9\n")
    links = tuple(ParentLink(int(key, 16), Relation.AGGREGATE_OF) for key in sources)
    title = "Pudong district air quality summary, all stations"
    site.assets["summary"] = _register_file(demo.holder, blobs, summary, title, links)


def _open_offers(site: Site, demo: DemoChain) -> None:
    """The report for sale at 12.5 PLT (a listed ERC-20), and processing licenses of the raw
    dataset at 0.01 ETH."""
    admin_key = dev_account(DEV_ROLES["admin"])
    token = HarnessToken(demo.w3, admin_key)
    site.token = token.address
    admin = demo.holder.as_account(admin_key)
    admin.market.set_currency_listed(token.address)
    market = demo.result.deployment.address("DataMarket")
    until = int(demo.w3.eth.get_block("latest")["timestamp"]) + 30 * 86_400
    report = int(site.assets["report"], 16)
    demo.holder.registry.approve(market, report)
    demo.holder.market.list_asset(report, TOKEN_PRICE, until, currency=token.address)
    raw = demo.result.assets["raw dataset"]
    demo.holder.market.offer_license(
        raw,
        LicenseKind.PROCESSING_USE,
        90 * 86_400,
        b"\x01" * 32,
        "research",
        LICENSE_PRICE,
        until,
    )


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("web")
    demo = play_demo(workdir)
    holder = demo.holder
    blobs = BlobStore(workdir / "blobs")
    site = Site("", demo.w3, demo.result)
    for name, text in (("report", "station,pm25\nHP-001,12.5\n"), ("frozen", "contested\n")):
        path = workdir / f"{name}.csv"
        path.write_text(text)
        site.files[name] = path
        site.assets[name] = _register_file(holder, blobs, path, f"{name} file")
    _sources_and_summary(site, demo, workdir, blobs)
    _open_offers(site, demo)
    (workdir / "stranger.csv").write_text("nobody registered this\n")
    site.files["stranger"] = workdir / "stranger.csv"
    (workdir / "empty.bin").write_bytes(b"")
    site.files["empty"] = workdir / "empty.bin"
    daily = workdir / "daily"
    daily.mkdir()
    for day in range(6):
        (daily / f"day-{day}.csv").write_text(f"day {day}\n")
    site.files["daily"] = daily
    leaves = sorted({hashlib.sha256(path.read_bytes()).digest() for path in daily.iterdir()})
    tree = StandardMerkleTree.batch(leaves)
    holder.anchor.anchor(tree.root, len(leaves), "sha256:daily")
    site.batch_root = "0x" + tree.root.hex()
    site.files["raw"] = workdir / "huangpu-air-raw"
    demo.freeze(int(site.assets["frozen"], 16), b"claim")
    port = free_port()
    settings = demo.index(port)
    site.titles = _titles(blobs, settings)
    with serving(create_app(settings, w3=demo.w3), port) as site.url:
        yield site


def _titles(blobs: BlobStore, settings: Settings) -> dict[str, str]:
    """The title of every asset whose metadata document is in the blob folder, read from the
    blobs themselves (not from the index), by asset id."""
    engine = create_store_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(schema.assets.c.asset_id, schema.assets.c.metadata_hash))
            found = {}
            for asset, metadata_hash in rows:
                document = blobs.get(str(metadata_hash))
                if document is not None:
                    found[str(asset)] = str(json.loads(document)["title"])
            return found
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = ensure_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def looked_at(page: Any, width: int, name: str) -> Path:
    """Assert the page has no serious or critical axe violation and is no wider than ``width``,
    then save its screenshot ``name`` (:func:`screenshot`)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [
        violation["id"]
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], results.generate_report()
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{page.url} is {wide}px wide at {width}px"
    return screenshot(page, name)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-output/pages/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 (``port``, or a free one) in a thread of its own;
    its URL, until the block ends."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def drop_file(page: Any, name: str, data: bytes, kind: str = "") -> None:
    """Drop ``data`` as the file ``name`` (of MIME type ``kind``, if given) on the page's drop
    zone (``#drop``), as a user dragging it from the desktop would."""
    payload = base64.b64encode(data).decode()
    transfer = page.evaluate_handle(
        """([name, data, kind]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: kind }));
            return transfer;
        }""",
        [name, payload, kind],
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
