"""The demo scenario: it runs to the end, and every step shows through the gateway's API."""

from __future__ import annotations

import hashlib
import shlex
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from helpers.processes import PROVLEDGER, clean_env, wait_for_http
from provledger.api.app import create_app
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import free_port
from provledger.chain.connection import embedded_chain
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.cli import app
from provledger.cli.demo import try_commands
from provledger.commitments import HEADER_FIELD, CommittedDocument, Presentation
from provledger.config import load_settings
from provledger.demo import PARTIES, Demo
from provledger.demo_disclosure import (
    COMMITTED_LABEL,
    COMMITTED_METADATA,
    DISCLOSED,
    DOCUMENT_FILE,
    PRESENTATION_FILE,
)
from provledger.hashing import folder_manifest
from provledger.services.disclosure import CHECKS, verify_presentation

#: The values the confidential registration withholds: in the holder's document only.
WITHHELD = {name: value for name, value in COMMITTED_METADATA.items() if name not in DISCLOSED}


def test_demo_scenario_on_the_embedded_chain(tmp_path: Path) -> None:
    lines: list[str] = []
    w3 = embedded_chain()
    result = Demo(w3, tmp_path, lines.append).run()
    assert set(result.assets) == {
        "raw dataset",
        "cleaned dataset",
        "weather inputs",
        "air-quality index product",
        COMMITTED_LABEL,
    }
    assert result.registration_numbers == {"raw dataset": 1, "air-quality index product": 2}
    assert result.verified_leaf
    assert result.verified_file.endswith(": True")
    assert result.transactions == 26
    assert result.refused_export == "ExportPermitMissing"
    assert (tmp_path / "huangpu-air-raw.manifest.json").is_file()
    assert any("exported the cleaned dataset" in line for line in lines)
    # the data room: the buyer got the product it bought, the licensee the raw dataset, byte
    # for byte; the party without a licence was refused; the four requests were anchored
    bought = tmp_path / "bought" / "huangpu-aqi-daily.csv"
    assert bought.read_bytes() == (tmp_path / "huangpu-aqi-daily.csv").read_bytes()

    def files(folder: Path) -> dict[str, bytes]:
        return {
            str(path.relative_to(folder)): path.read_bytes()
            for path in folder.rglob("*")
            if path.is_file()
        }

    raw = files(tmp_path / "huangpu-air-raw")
    assert len(raw) == 8
    assert files(tmp_path / "licensed" / "huangpu-air-raw") == raw
    assert not (tmp_path / "refused").exists()
    assert result.refused_delivery == "no-licence"
    assert any("Victoria Harbour Analytics downloaded what it bought" in line for line in lines)
    assert result.access_records == 12  # eleven downloads and refusals, the registrar's read

    # the confidential registration: the holder's document, a presentation of the title and
    # the category that the chain proves, the other fields withheld
    confidential = result.confidential
    assert confidential is not None
    assert confidential.asset == result.assets[COMMITTED_LABEL]
    assert confidential.document == tmp_path / DOCUMENT_FILE
    assert confidential.presentation == tmp_path / PRESENTATION_FILE
    assert confidential.document.stat().st_mode & 0o777 == 0o600
    document = CommittedDocument.parse(confidential.document.read_bytes())
    assert {field.name: field.value for field in document.own_fields} == COMMITTED_METADATA
    presentation = Presentation.parse(confidential.presentation.read_bytes())
    assert presentation.asset_id == confidential.asset
    assert presentation.root == document.root
    disclosed = {field.name: field.value for field in presentation.fields}
    assert disclosed.pop(HEADER_FIELD)  # always disclosed: the registration it is of
    assert disclosed == {name: COMMITTED_METADATA[name] for name in DISCLOSED}
    assert set(presentation.withheld) == set(confidential.withheld) == set(WITHHELD)
    verdict = verify_presentation(
        presentation,
        w3,
        result.deployment.address("DataAssetRegistry"),
        result.deployment.block_number,
    )
    assert verdict.ok, verdict.checks
    # every check of a presentation whose content hash is public
    assert [check.name for check in verdict.checks] == [
        name for name in CHECKS if name != "content"
    ]
    assert any(
        "the registrar read all 5 fields from the data room while reviewing" in line
        for line in lines
    )


def test_demo_command_rejects_an_unknown_chain(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(app, ["demo", "--chain", "mainnet", "--workdir", str(tmp_path)])
    assert outcome.exit_code == 2
    assert "--chain 'mainnet' is not 'embedded' or 'anvil'" in outcome.stderr


@pytest.fixture(scope="module")
def demo_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    """`provledger demo --no-serve`, then the gateway over the index it left."""
    workdir = tmp_path_factory.mktemp("demo")
    outcome = CliRunner().invoke(app, ["demo", "--no-serve", "--workdir", str(workdir)])
    assert outcome.exit_code == 0, outcome.output
    assert "indexed 67 events" in outcome.stdout
    settings = load_settings(
        {"database_url": str(workdir / "index.sqlite"), "blob_dir": workdir / "blobs"}
    )
    with TestClient(create_app(settings)) as client:
        yield client, workdir


def _get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _party(index: int) -> str:
    return str(dev_account(PARTIES[index].key_index).address)


def test_every_demo_step_shows_through_the_gateway(
    demo_gateway: tuple[TestClient, Path],
) -> None:
    client, workdir = demo_gateway
    participants = _get(client, "/participants")["items"]
    assert {(item["account"], item["jurisdiction"]) for item in participants} == {
        (_party(index), party.jurisdiction) for index, party in enumerate(PARTIES)
    }

    # a raw sensor dataset folder: registered, reviewed, noticed, certified
    root = folder_manifest(workdir / "huangpu-air-raw").root
    raw = _get(client, f"/assets/by-hash/0x{root.hex()}")
    assert (raw["registrant"], raw["category"], raw["grade"]) == (_party(0), 301, 2)
    assert (raw["status"], raw["registration_number"]) == ("CERTIFIED", 1)
    raw_id = raw["asset_id"]
    events = [event["event"] for event in _get(client, f"/assets/{raw_id}/history")["items"]]
    for step in ("AssetRegistered", "RegistrationAccepted", "CertificateIssued"):
        assert step in events
    upload = client.post(
        "/verify/manifest", content=(workdir / "huangpu-air-raw.manifest.json").read_bytes()
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["verdict"]["registered"] is True
    manifest = folder_manifest(workdir / "huangpu-air-raw")
    assert upload.json()["files"] == len(manifest.entries) == 8  # 7 days of readings, a README

    # a processing license, a cleaned dataset derived under it, a product from two inputs
    (license_view,) = _get(client, f"/assets/{raw_id}/licenses")["items"]
    assert (license_view["licensee"], license_view["kind"]) == (_party(1), "PROCESSING_USE")
    titles = _get(client, "/assets", title="air quality")["items"]
    by_title = {item["asset_id"] for item in titles}
    product = next(item for item in titles if item["registration_number"] == 2)
    lineage = _get(client, f"/assets/{product['asset_id']}/lineage", depth=3, direction="up")
    edges = {(edge["parent_id"], edge["relation"]) for edge in lineage["edges"]}
    cleaned_id = next(edge["child_id"] for edge in lineage["edges"] if edge["parent_id"] == raw_id)
    assert (raw_id, "DERIVED_FROM") in edges
    assert (cleaned_id, "AGGREGATE_OF") in edges
    assert len([edge for edge in lineage["edges"] if edge["relation"] == "AGGREGATE_OF"]) == 2
    assert {raw_id, cleaned_id, product["asset_id"]} <= by_title

    # an appraisal and a sale to a buyer in HK
    (appraisal,) = _get(client, f"/assets/{product['asset_id']}/appraisals")["items"]
    assert (appraisal["amount"], appraisal["currency"], appraisal["method"]) == (
        "250000000",
        "CNY",
        "MARKET",
    )
    assert product["holder"] == _party(2)

    # abroad: refused without a permit (no transfer recorded), allowed with one
    cleaned = _get(client, f"/assets/{cleaned_id}")
    assert cleaned["holder"] == _party(3)
    (permit,) = _get(client, f"/assets/{cleaned_id}/export-permits")
    assert (permit["recipient"], permit["destination"], permit["state"]) == (
        _party(3),
        "US",
        "USED",
    )
    transfers = [
        event
        for event in _get(client, f"/assets/{cleaned_id}/history")["items"]
        if event["event"] == "Transfer" and event["args"]["to"] == _party(3)
    ]
    assert len(transfers) == 1
    assert transfers[0]["block_number"] > permit["issued_block"]

    # a dispute opened, frozen and dismissed
    (dispute,) = _get(client, f"/assets/{raw_id}/disputes")["items"]
    assert (dispute["claimant"], dispute["status"], dispute["ruling"]) == (
        _party(2),
        "RULED",
        "DISMISS",
    )
    assert dispute["frozen_block"] is not None
    assert raw["frozen"] is False

    # 1,000 files anchored in one transaction; one of them verifies with its proof
    # (and the data room's access log, anchored by the sensor company at the end)
    batches = _get(client, "/batches")["items"]
    assert len(batches) == 2
    (batch,) = [item for item in batches if item["leaf_count"] == 1000]
    assert batch["submitter"] == _party(0)
    leaf = hashlib.sha256(b"provledger demo document: daily file 417").digest()
    verdict = _get(client, "/verify", hash="0x" + leaf.hex())
    assert verdict["registered"] is False  # anchored in a batch, not promoted to an asset
    assert verdict["batch"]["root"] == batch["root"]
    assert verdict["batch"]["position"] == 417
    assert verdict["asset_id"] == asset_id_hex(asset_id(leaf))


def test_the_confidential_registration_shows_only_what_was_disclosed(
    demo_gateway: tuple[TestClient, Path],
) -> None:
    client, workdir = demo_gateway
    presentation = Presentation.parse((workdir / PRESENTATION_FILE).read_bytes())
    committed = presentation.asset_hex
    asset = _get(client, f"/assets/{committed}")
    assert (asset["registrant"], asset["category"], asset["grade"]) == (_party(0), 303, 2)
    assert (asset["status"], asset["metadata_uri"]) == ("NOTICED", "commitment:provledger-fields/1")
    assert asset["metadata_hash"] == "0x" + presentation.root.hex()
    events = [event["event"] for event in _get(client, f"/assets/{committed}/history")["items"]]
    assert "RegistrationAccepted" in events

    # the gateway kept the presentation the holder published, and shows its fields as proved
    disclosure = _get(client, f"/assets/{committed}/disclosure")
    assert {field["name"]: field["value"] for field in disclosure["fields"]} == {
        name: COMMITTED_METADATA[name] for name in DISCLOSED
    }
    assert all(field["proved"] for field in disclosure["fields"])
    assert sorted(disclosure["withheld"]) == sorted(WITHHELD)
    served = client.get(f"/assets/{committed}/presentation")
    assert served.content == (workdir / PRESENTATION_FILE).read_bytes()
    found = _get(client, "/assets", title="Zhangjiang electricity")["items"]
    assert [item["asset_id"] for item in found] == [committed]
    pages = {path: client.get(path).text for path in (f"/asset/{committed}", "/notices")}
    for html in pages.values():
        assert COMMITTED_METADATA["title"] in html
        assert 'data-field="source" data-standing="withheld"' in html
    assert f'data-asset="{committed}"' in pages["/notices"]

    # the withheld values are in the holder's document only: not in the index, the blob
    # folder, the data room's records or storage, nor any answer of the gateway
    answers = (
        b"".join(
            client.get(path).content
            for path in (
                f"/assets/{committed}",
                f"/assets/{committed}/disclosure",
                f"/assets/{committed}/history",
                "/assets?limit=100",
            )
        )
        + "".join(pages.values()).encode()
    )
    kept = [path for path in workdir.rglob("*") if path.is_file() and path.name != DOCUMENT_FILE]
    assert any(path.name == "index.sqlite" for path in kept)
    for value in WITHHELD.values():
        assert value.encode() not in answers
        for path in kept:
            assert value.encode() not in path.read_bytes(), path
        assert value.encode() in (workdir / DOCUMENT_FILE).read_bytes()


def test_demo_serves_the_gateway_until_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [PROVLEDGER, "demo", "--port", str(port), "--workdir", str(tmp_path)],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = wait_for_http(f"http://127.0.0.1:{port}/status", demo, "the demo", timeout=120)
        assert status.json()["events"] == 67
    finally:
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)
    assert demo.returncode == 0, err
    assert f"gateway   http://127.0.0.1:{port}" in out
    assert f"notices   http://127.0.0.1:{port}/notices" in out
    assert f"committed http://127.0.0.1:{port}/asset/0x" in out
    # the embedded chain has no node to check the disclosure against: the verify page does
    assert f"the disclosure {tmp_path / PRESENTATION_FILE}: drop it on the verify page" in out
    assert out.count("  provledger ") == 3  # three example commands
    assert out.rstrip().endswith("demo stopped")


def test_the_demo_on_a_node_suggests_checking_the_disclosure_against_it(tmp_path: Path) -> None:
    lines = try_commands(
        tmp_path / "demo dir",
        "http://127.0.0.1:8000",
        "0x01",
        "0x02",
        cwd=tmp_path,
        rpc_url="http://127.0.0.1:8545",
    )
    presentation = shlex.quote(str(tmp_path / "demo dir" / PRESENTATION_FILE))
    deployments = shlex.quote(str(tmp_path / "demo dir" / "deployments"))
    assert lines[-1] == (
        f"provledger verify-disclosure {presentation} --rpc-url http://127.0.0.1:8545 "
        f"--deployments-dir {deployments}"
    )
    assert not any("verify-disclosure" in line for line in lines[:-1])
    without = try_commands(tmp_path, "http://127.0.0.1:8000", "0x01", "0x02", cwd=tmp_path)
    assert not any("verify-disclosure" in line for line in without)
