"""Every role's commands against a real chain: the output and the chain's state agree."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from eth_typing import HexStr

from cli.conftest import BUYER, FOREIGN, HOLDER, NOTICE_SECONDS, OBJECTOR, Cli
from provledger.chain.accounts import DEV_ROLES
from provledger.chain.enums import (
    AssetStatus,
    DisputeStatus,
    LicenseKind,
    ParticipantStatus,
    RegistrationType,
    Relation,
    Ruling,
    ValuationMethod,
)
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.hashing import folder_manifest, sha256_file
from provledger.store.blobs import BlobStore
from provledger.store.documents import BatchManifest

pytestmark = pytest.mark.anvil

REGISTRAR = str(DEV_ROLES["registrar"])
APPRAISER = str(DEV_ROLES["appraiser"])
ARBITER = str(DEV_ROLES["arbiter"])
EXPORTER = str(DEV_ROLES["export_approver"])


def _file(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _register(cli: Cli, path: Path, *extra: str, signer: int = HOLDER) -> dict[str, object]:
    return dict(
        cli.json("register", str(path), "--category", "301", *extra, "--dev-account", str(signer))
    )


def _events(report: dict[str, object]) -> dict[str, dict[str, object]]:
    events = report["events"]
    assert isinstance(events, list)
    return {event["event"]: event["args"] for event in events}


def test_roles_list_matches_the_chain(cli: Cli) -> None:
    held = cli.json("roles", "list")
    ledger = cli.ledger()
    for role, index in DEV_ROLES.items():
        name = "DEFAULT_ADMIN_ROLE" if role == "admin" else f"{role.upper()}_ROLE"
        assert held[name] == [cli.address(index)]
        assert ledger.registry.has_role(name, cli.address(index))


def test_roles_grant_and_revoke(cli: Cli) -> None:
    account = cli.address(9)
    granted = cli.json("roles", "grant", "appraiser", account, "--dev-account", "0")
    assert _events(granted)["RoleGranted"]["account"] == account
    assert cli.ledger().registry.has_role("APPRAISER_ROLE", account)
    assert account in cli.json("roles", "list")["APPRAISER_ROLE"]
    cli.ok("roles", "revoke", "appraiser", account, "--dev-account", "0")
    assert not cli.ledger().registry.has_role("APPRAISER_ROLE", account)
    assert account not in cli.json("roles", "list")["APPRAISER_ROLE"]


def test_participants_add_list_suspend(cli: Cli) -> None:
    listed = {row["account"]: row for row in cli.json("participants", "list")}
    for index, country in ((HOLDER, "CN"), (BUYER, "CN"), (FOREIGN, "US"), (OBJECTOR, "HK")):
        row = listed[cli.address(index)]
        assert row == {"account": cli.address(index), "jurisdiction": country, "status": "ACTIVE"}
        state = cli.ledger().registry.participant(cli.address(index))
        assert (state.jurisdiction, state.status) == (country, ParticipantStatus.ACTIVE)
    newcomer = cli.address(10)
    added = cli.json(
        "participants", "add", newcomer, "--jurisdiction", "de", "--name", "Berlin Data GmbH",
        "--dev-account", REGISTRAR,
    )  # fmt: skip
    args = _events(added)["ParticipantRegistered"]
    assert args["account"] == newcomer
    assert args["jurisdiction"] == "0x" + b"DE".hex()
    assert args["name_hash"] == "0x" + hashlib.sha256(b"Berlin Data GmbH").hexdigest()
    cli.ok("participants", "suspend", newcomer, "--reason", "lapsed", "--dev-account", REGISTRAR)
    assert cli.ledger().registry.participant(newcomer).status is ParticipantStatus.SUSPENDED
    listed = {row["account"]: row for row in cli.json("participants", "list")}
    assert listed[newcomer]["status"] == "SUSPENDED"


def test_hash_file_and_folder(cli: Cli, tmp_path: Path) -> None:
    single = _file(tmp_path, "one.csv", "a,b\n1,2\n")
    report = cli.json("hash", str(single))
    assert report["content_hash"] == "0x" + sha256_file(single).hex()
    assert report["asset_id"] == asset_id_hex(asset_id(sha256_file(single)))
    folder = tmp_path / "set"
    _file(folder, "x.csv", "x\n")
    _file(folder / "sub", "y.csv", "y\n")
    manifest_path = tmp_path / "set.manifest.json"
    report = cli.json("hash", str(folder), "--manifest", str(manifest_path))
    manifest = folder_manifest(folder)
    assert report["content_hash"] == "0x" + manifest.root.hex()
    assert (report["kind"], report["files"], report["bytes"]) == ("folder", 2, 4)
    assert json.loads(manifest_path.read_text()) == json.loads(manifest.to_json())


def test_register_a_file_with_metadata_flags(cli: Cli, tmp_path: Path) -> None:
    path = _file(tmp_path, "readings.csv", "t,pm25\n0,12.5\n")
    report = _register(cli, path, "--grade", "2", "--title", "Huangpu air, raw")
    content = sha256_file(path)
    assert report["asset_id"] == asset_id_hex(asset_id(content))
    document = BlobStore(cli.home / "blobs").get(str(report["metadata_hash"]))
    assert document is not None
    assert json.loads(document) == {"title": "Huangpu air, raw"}
    state = cli.ledger().registry.asset(asset_id(content))
    assert state is not None
    assert state.registrant == state.holder == cli.address(HOLDER)
    assert (state.category, state.grade, state.status) == (301, 2, AssetStatus.APPLIED)
    assert "0x" + state.metadata_hash.hex() == report["metadata_hash"]
    registered = _events(report)["AssetRegistered"]
    assert registered["content_hash"] == "0x" + content.hex()
    assert registered["metadata_uri"] == report["metadata_uri"]
    assert registered["metadata_uri"] == f"sha256:{str(report['metadata_hash'])[2:]}"
    receipt = cli.w3.eth.get_transaction_receipt(HexStr(str(report["transaction"])))
    assert report["block_number"] == receipt["blockNumber"]


def test_register_a_folder_with_a_metadata_file_and_parents(cli: Cli, tmp_path: Path) -> None:
    parent_file = _file(tmp_path, "parent.csv", "p\n")
    parent = _register(cli, parent_file)["asset_id"]
    folder = tmp_path / "derived"
    _file(folder, "a.csv", "a\n")
    _file(folder, "b.csv", "b\n")
    meta = tmp_path / "meta.json"
    meta.write_text('{"title": "Derived set", "licence": "CC-BY-4.0"}')
    report = _register(cli, folder, "--metadata", str(meta), "--parent", f"{parent}:aggregate-of")
    manifest = folder_manifest(folder)
    assert report["content_hash"] == "0x" + manifest.root.hex()
    assert report["metadata_hash"] == "0x" + hashlib.sha256(meta.read_bytes()).hexdigest()
    blobs = BlobStore(cli.home / "blobs")
    assert blobs.get("0x" + hashlib.sha256(manifest.to_json().encode()).hexdigest()) is not None
    links = cli.ledger().registry.parents_of(asset_id(manifest.root))
    assert [(link.parent_id, link.relation) for link in links] == [
        (int(str(parent), 16), Relation.AGGREGATE_OF)
    ]


def test_a_registration_through_review_notice_certificate_and_appraisal(
    cli: Cli, tmp_path: Path
) -> None:
    path = _file(tmp_path, "cert.csv", "certified\n")
    asset = str(_register(cli, path)["asset_id"])
    number = int(asset, 16)
    accepted = cli.json("review", "accept", asset, "--dev-account", REGISTRAR)
    ledger = cli.ledger()
    assert accepted["notice_ends_at"] == ledger.office.notice_ends_at(number)
    assert ledger.registry.asset(number).status is AssetStatus.NOTICED  # type: ignore[union-attr]
    cli.advance(NOTICE_SECONDS + 1)
    certified = cli.json("certify", asset, "--type", "initial", "--dev-account", REGISTRAR)
    certificate = ledger.office.certificate(certified["registration_number"])
    assert (certificate.asset_id, certificate.registration_type) == (
        number,
        RegistrationType.INITIAL,
    )
    assert certificate.registrar == cli.address(int(REGISTRAR))
    document = BlobStore(cli.home / "blobs").get("0x" + certificate.certificate_hash.hex())
    assert document is not None
    assert json.loads(document)["asset_id"] == asset
    assert ledger.registry.asset(number).status is AssetStatus.CERTIFIED  # type: ignore[union-attr]

    appraised = cli.json(
        "appraise", asset, "--amount", "2,500,000.00", "--currency", "cny", "--method", "market",
        "--dev-account", APPRAISER,
    )  # fmt: skip
    appraisal = ledger.appraisals.appraisal(appraised["appraisal_id"])
    assert (appraisal.asset_id, appraisal.amount, appraisal.currency) == (
        number,
        250_000_000,
        "CNY",
    )
    assert appraisal.method is ValuationMethod.MARKET
    recorded = _events(appraised)["AppraisalRecorded"]
    assert recorded["amount"] == 250_000_000
    assert recorded["method"] == "MARKET"


def test_licenses_transfers_and_an_export_permit(cli: Cli, tmp_path: Path) -> None:
    path = _file(tmp_path, "sale.csv", "for sale\n")
    asset = str(_register(cli, path, "--grade", "2")["asset_id"])
    number = int(asset, 16)
    ledger = cli.ledger()
    granted = cli.json(
        "license", "grant", asset, cli.address(BUYER), "--kind", "product-operation",
        "--days", "30", "--scope", "dashboards", "--dev-account", str(HOLDER),
    )  # fmt: skip
    license_state = ledger.licenses.license(granted["license_id"])
    assert (license_state.asset_id, license_state.licensee) == (number, cli.address(BUYER))
    assert license_state.kind is LicenseKind.PRODUCT_OPERATION
    assert license_state.expires_at == granted["expires_at"]
    assert 0 <= 30 * 24 * 3600 - (license_state.expires_at - license_state.granted_at) <= 60
    assert _events(granted)["LicenseGranted"]["scope"] == "dashboards"
    cli.ok("license", "revoke", str(granted["license_id"]), "--dev-account", str(HOLDER))
    assert ledger.licenses.license(granted["license_id"]).revoked_at > 0

    # cross-border: an important-grade asset goes abroad only under a permit
    line = cli.fails(2, "transfer", asset, cli.address(FOREIGN), "--dev-account", str(HOLDER))
    assert line == (
        f"error: the contract refused: asset {asset} crosses the border to "
        f"party {FOREIGN} ({cli.address(FOREIGN)}) only under an export permit: an export approver "
        "(EXPORT_APPROVER_ROLE) issues one with `provledger export permit "
        f"{asset} {cli.address(FOREIGN)} --days 30` [ExportPermitMissing]"
    )
    permitted = cli.json(
        "export", "permit", asset, cli.address(FOREIGN), "--days", "7", "--dev-account", EXPORTER
    )
    permit = ledger.export.permit(number, cli.address(FOREIGN))
    assert permit is not None
    assert permit.expires_at == permitted["expires_at"]
    cli.ok("transfer", asset, cli.address(FOREIGN), "--dev-account", str(HOLDER))
    assert ledger.registry.holder_of(number) == cli.address(FOREIGN)


def test_objection_dispute_metadata_and_cancel(cli: Cli, tmp_path: Path) -> None:
    path = _file(tmp_path, "contested.csv", "contested\n")
    asset = str(_register(cli, path)["asset_id"])
    number = int(asset, 16)
    ledger = cli.ledger()
    cli.ok("review", "accept", asset, "--dev-account", REGISTRAR)
    objected = cli.json("object", asset, "--grounds", "ours since 2025", "--dev-account", "8")
    objection = ledger.office.objection(objected["objection_id"])
    assert (objection.asset_id, objection.objector, objection.open) == (
        number,
        cli.address(OBJECTOR),
        True,
    )
    assert objection.grounds_hash == hashlib.sha256(b"ours since 2025").digest()

    opened = cli.json("dispute", "open", asset, "--evidence", "prior claim", "--dev-account", "8")
    dispute = opened["dispute_id"]
    cli.ok("dispute", "freeze", str(dispute), "--dev-account", ARBITER)
    assert ledger.registry.asset(number).frozen  # type: ignore[union-attr]
    cli.ok(
        "dispute", "rule", str(dispute), "--ruling", "dismiss", "--reason", "unfounded",
        "--dev-account", ARBITER,
    )  # fmt: skip
    state = ledger.court.dispute(dispute)
    assert (state.status, state.ruling) == (DisputeStatus.RULED, Ruling.DISMISS)
    ruling = BlobStore(cli.home / "blobs").get("0x" + state.ruling_hash.hex())
    assert ruling is not None
    assert json.loads(ruling)["reason"] == "unfounded"
    assert not ledger.registry.asset(number).frozen  # type: ignore[union-attr]

    updated = cli.json(
        "metadata", "update", asset, "--title", "Contested, v2", "--dev-account", str(HOLDER)
    )
    assert ledger.registry.asset(number).metadata_hash.hex() == updated["metadata_hash"][2:]  # type: ignore[union-attr]
    cli.ok("cancel", asset, "--reason", "withdrawn", "--dev-account", str(HOLDER))
    assert ledger.registry.asset(number).status is AssetStatus.CANCELLED  # type: ignore[union-attr]


def test_anchor_a_folder_as_one_batch(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "daily"
    for day in range(25):
        _file(folder, f"day-{day:02d}.csv", f"day {day}\n")
    report = cli.json("anchor", str(folder), "--dev-account", str(HOLDER))
    leaves = sorted("0x" + sha256_file(path).hex() for path in folder.iterdir())
    batch = BatchManifest(tuple(leaves))
    assert report["root"] == "0x" + batch.tree.root.hex()
    assert report["leaves"] == 25
    state = cli.ledger().anchor.batch(batch.tree.root)
    assert state is not None
    assert state.leaf_count == 25
    assert state.submitter == cli.address(HOLDER)
    stored = BlobStore(cli.home / "blobs").get(str(report["manifest_hash"]))
    assert stored is not None
    assert BatchManifest.parse(stored) == batch
    leaf = bytes.fromhex(leaves[7][2:])
    proof = batch.tree.proof_for((leaf,))
    assert cli.ledger().anchor.is_anchored_leaf(batch.tree.root, leaf, proof)


def test_review_reject(cli: Cli, tmp_path: Path) -> None:
    path = _file(tmp_path, "rejected.csv", "sample only\n")
    asset = str(_register(cli, path)["asset_id"])
    rejected = cli.json(
        "review", "reject", asset, "--reason", "sample data only", "--dev-account", REGISTRAR
    )
    args = _events(rejected)["RegistrationRejected"]
    assert args["reason_hash"] == "0x" + hashlib.sha256(b"sample data only").hexdigest()
    assert args["registrar"] == cli.address(int(REGISTRAR))
    state = cli.ledger().registry.asset(int(asset, 16))
    assert state is not None
    assert state.status is AssetStatus.REJECTED
