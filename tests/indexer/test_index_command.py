"""The `provledger index` command: a run to the head, its summary, and one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from helpers.indexing import differences, index
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.chain.ids import asset_id_hex
from provledger.cli import app
from provledger.store import queries
from provledger.store.blobs import BlobStore


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_index_once_reports_and_equals_a_fresh_index(
    anvil_world: World, new_database: NewDatabase, tmp_path: Path
) -> None:
    world = anvil_world
    world.register(world.alice)
    world.deployment.save(tmp_path)
    url = new_database("cli")
    node = str(world.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    common = ["--rpc-url", node, "--database-url", url, "--deployments-dir", str(tmp_path)]
    code, out, err = _invoke("index", *common, "--once", "--json", "--finality-depth", "4")
    assert code == 0, err
    report = json.loads(out)
    head = world.w3.eth.block_number
    assert report["indexed_block"] == head
    assert report["chain_id"] == 31337
    assert report["events"] > 0
    assert report["reorgs"] == 0
    fresh = new_database("fresh")
    index(world.w3, world.deployment, fresh)
    assert differences(url, fresh) == {}

    code, out, _ = _invoke("index", *common, "--once", "--json")
    assert code == 0
    assert json.loads(out)["events"] == 0
    assert json.loads(out)["indexed_block"] == head

    code, out, err = _invoke("index", *common, "--once")
    assert code == 0
    assert f"indexed to block {head}: 0 events" in out


def test_a_database_of_another_deployment_is_refused_in_one_line(
    anvil_world: World, new_database: NewDatabase, tmp_path: Path
) -> None:
    world = anvil_world
    world.deployment.save(tmp_path)
    url = new_database("other")
    node = str(world.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    common = ["--rpc-url", node, "--database-url", url, "--deployments-dir", str(tmp_path)]
    assert _invoke("index", *common, "--once", "--no-progress")[0] == 0
    moved = json.loads((tmp_path / "31337.json").read_text())
    moved["contracts"]["DataAssetRegistry"]["address"] = world.stranger.address
    (tmp_path / "31337.json").write_text(json.dumps(moved))
    code, _, err = _invoke("index", *common, "--once", "--no-progress")
    assert code == 2
    assert err.count("\n") == 1
    assert "this database indexes the deployment" in err


def test_missing_deployment_and_unreachable_node(tmp_path: Path) -> None:
    code, _, err = _invoke(
        "index", "--rpc-url", "http://127.0.0.1:9", "--deployments-dir", str(tmp_path), "--once"
    )
    assert code == 3
    assert "cannot reach the chain at http://127.0.0.1:9" in err


def test_index_learns_the_titles_of_the_blob_folder(
    anvil_world: World, new_database: NewDatabase, tmp_path: Path
) -> None:
    document = b'{"title": "Pudong traffic counts"}'
    folder = tmp_path / "blobs"
    metadata_hash = BlobStore(folder).put(document)
    world = anvil_world
    asset = world.register(world.alice, metadata_hash=bytes.fromhex(metadata_hash[2:]))
    world.deployment.save(tmp_path)
    url = new_database("titles")
    node = str(world.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    common = ["--rpc-url", node, "--database-url", url, "--deployments-dir", str(tmp_path)]
    code, _, err = _invoke("index", *common, "--once", "--blob-dir", str(folder))
    assert code == 0, err
    assert "learned from the blob folder: 1 metadata titles, 0 batch manifests" in err
    with engine_for(url).connect() as conn:
        where = queries.AssetFilter(title_words=("pudong", "counts"))
        found = queries.list_assets(conn, where, None, 10)
    assert [row["asset_id"] for row in found] == [asset_id_hex(asset)]
    code, _, err = _invoke("index", *common, "--once", "--blob-dir", str(folder))
    assert code == 0, err
    assert "blob folder" not in err  # nothing new to learn
