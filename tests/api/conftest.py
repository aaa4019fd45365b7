"""A gateway over an index the real indexer built from a real chain (eth-tester).

The scenario of :func:`helpers.scenarios.provenance_scenario` runs once per module on a chain
of its own; the index is built once per backend (SQLite and PostgreSQL); tests read it through
the app with TestClient (the real ASGI app in process) and compare answers with the chain's
view functions.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from cli.conftest import HOLDER, Cli, Gateway, gateway_process
from cli.conftest import cli as cli  # the fixture, for `served`
from helpers.indexing import TEST_CONFIG, index
from helpers.scenarios import BATCH_LEAVES, provenance_scenario
from helpers.stores import database, engine_for
from helpers.world import World, build_world
from provledger.api.app import create_app
from provledger.chain.connection import embedded_chain
from provledger.config import Settings
from provledger.store.blobs import BlobStore
from provledger.store.documents import BatchManifest, index_documents

#: A file registered by alice in the fixture, and its metadata document.
FILE_BYTES = b"station,day,pm25\nhuangpu-01,2026-11-01,35\n" * 40
METADATA = b'{"title": "Huangpu air quality, raw", "license": "CC-BY-4.0"}'


@dataclass(frozen=True)
class Indexed:
    """A chain after the scenario, its index, and the gateway over it."""

    world: World
    assets: dict[str, int]
    database_url: str
    client: TestClient
    app: FastAPI


def gateway_settings(database_url: str, deployments: Path) -> Settings:
    """Settings of a test gateway: the test indexer's finality window; blobs next to the
    deployments."""
    return Settings(
        database_url=database_url,
        deployments_dir=deployments,
        blob_dir=deployments.parent / "blobs",
        confirmations=TEST_CONFIG.confirmations,
        finality_depth=TEST_CONFIG.finality_depth,
        upload_max_bytes=64 * 1024,
        manifest_max_bytes=16 * 1024,
    )


@dataclass(frozen=True)
class Scenario:
    """The chain after the scenario and the assets it registered."""

    world: World
    assets: dict[str, int]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """The scenario on a fresh eth-tester chain (once per module, for every backend)."""
    world = build_world(embedded_chain())
    assets = provenance_scenario(world)
    assets["file"] = world.register(
        world.alice,
        content_hash=hashlib.sha256(FILE_BYTES).digest(),
        metadata_hash=hashlib.sha256(METADATA).digest(),
    )
    return Scenario(world, assets)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def indexed(
    request: pytest.FixtureRequest, scenario: Scenario, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Indexed]:
    """The scenario's chain indexed into SQLite or PostgreSQL, served by the app."""
    world = scenario.world
    folder: Path = tmp_path_factory.mktemp("gateway")
    with database(request.param, folder) as url:
        index(world.w3, world.deployment, url)
        blobs = BlobStore(folder / "blobs")
        blobs.put(METADATA)
        blobs.put(b'{"title": 42}')  # no string title: stored, never searchable
        blobs.put(BatchManifest(tuple("0x" + leaf.hex() for leaf in BATCH_LEAVES)).to_json())
        index_documents(engine_for(url), blobs)
        world.deployment.save(folder / "deployments")
        app = create_app(gateway_settings(url, folder / "deployments"), w3=world.w3)
        with TestClient(app) as client:
            yield Indexed(world, scenario.assets, url, client, app)
        app.state.gateway.engine.dispose()


# ------------------------------------------------------------------ a served gateway, probed

#: Upload cap of the probed gateway: the multipart probe sent 60 MB past a 10 MiB cap.
UPLOAD_CAP = 10 << 20


@dataclass(frozen=True)
class Served:
    """A `provledger serve` process over an anvil chain (relay on), an API key of its relay,
    and a registered asset."""

    gateway: Gateway
    api_key: str
    asset_id: str

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def served(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The gateway process the hostile tests send to: 1-second head and body timeouts, a
    10 MiB upload cap, relaying with dev account 9."""
    folder = tmp_path_factory.mktemp("served")
    data = folder / "readings.csv"
    data.write_bytes(b"t,pm25\n0,12.5\n")
    registered = cli.json("register", str(data), "--category", "301", "--dev-account", str(HOLDER))
    key = cli.json("apikey", "create", "probe", "--rate", "1000000")
    with gateway_process(
        cli,
        PROVLEDGER_RELAYER_DEV_ACCOUNT="9",
        PROVLEDGER_HTTP_HEADER_TIMEOUT="1",
        PROVLEDGER_HTTP_BODY_TIMEOUT="1",
        PROVLEDGER_UPLOAD_MAX_BYTES=str(UPLOAD_CAP),
    ) as gateway:
        yield Served(gateway, key["api_key"], registered["asset_id"])
