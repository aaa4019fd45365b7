"""Proof bundles on anvil: built from a real index, re-checked against the node, and refused
check by check when one field is altered.

One module-scoped chain state holds three assets (registered directly, by a relayed signature,
and promoted from a five-leaf batch), indexed into a SQLite file; every test reads it. Tests that
move the chain further take ``anvil_world``, which reverts them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from eth_utils.crypto import keccak
from typer.testing import CliRunner

from helpers.builders import registration
from helpers.faultproxy import FaultPlan, FaultProxy
from helpers.indexing import index
from helpers.proofs import (
    BATCH_SIZE,
    PROMOTED_LEAF,
    altered,
    flip_hex,
    register_batch_leaf,
    register_signed,
)
from helpers.stores import engine_for, release
from helpers.world import World
from provledger.chain.accounts import dev_account
from provledger.chain.events import AssetRegistered, LeafPromoted
from provledger.chain.ids import asset_id_hex
from provledger.chain.serialize import event_args
from provledger.chain.transactions import Receipt
from provledger.cli import app
from provledger.merkle import StandardMerkleTree, batch_leaf_hash
from provledger.services.proofs import (
    BUNDLE_VERSION,
    CHECKS,
    MalformedProofBundleError,
    ProofReport,
    ProofUnavailableError,
    build_proof_bundle,
    verify_proof_bundle,
)
from provledger.services.reads import NotFoundError

DIRECT_CHECKS: Final = ("chain", "receipt", "block", "event", "contract", "state")
BATCH_CHECKS: Final = (
    "chain",
    "receipt",
    "block",
    "event",
    "contract",
    "merkle",
    "anchor",
    "state",
)


@dataclass
class Proofs:
    """The module's chain state: three registered assets, their receipts, index and bundles."""

    world: World
    database_url: str
    receipts: dict[str, Receipt]
    assets: dict[str, int]
    bundles: dict[str, dict[str, Any]]
    tree: StandardMerkleTree
    leaves: list[bytes]

    @property
    def rpc_url(self) -> str:
        return str(self.world.w3.provider.endpoint_uri)  # type: ignore[attr-defined]

    def bundle(self, kind: str) -> dict[str, Any]:
        """A fresh copy of the bundle of ``kind`` (direct, signed, batch), free to alter."""
        return copy.deepcopy(self.bundles[kind])

    def verify(self, bundle: dict[str, Any]) -> ProofReport:
        return verify_proof_bundle(bundle, self.world.w3)


@pytest.fixture(scope="module")
def proofs(
    anvil_session_world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proofs]:
    """Three assets on anvil, indexed, with their bundles; the chain is reverted afterwards."""
    world = anvil_session_world
    snapshot = world.chain.snapshot()
    url = f"sqlite:///{tmp_path_factory.mktemp('proofs') / 'index.sqlite'}"
    try:
        receipts = {
            "direct": world.alice.registry.register(registration()),
            "signed": register_signed(world),
        }
        receipts["batch"], tree, leaves = register_batch_leaf(world)
        world.chain.mine(3)  # the state block lies past every registration
        index(world.w3, world.deployment, url)
        assets = {kind: r.event(AssetRegistered).asset_id for kind, r in receipts.items()}
        bundles = {
            kind: build_proof_bundle(engine_for(url), world.w3, world.deployment, asset)
            for kind, asset in assets.items()
        }
        yield Proofs(world, url, receipts, assets, bundles, tree, leaves)
    finally:
        release(url)
        world.chain.revert(snapshot)


# ---------------------------------------------------------------- alterations


# ---------------------------------------------------------------- the bundle format


def test_a_direct_bundle_names_the_log_the_contract_and_the_state(proofs: Proofs) -> None:
    world, receipt = proofs.world, proofs.receipts["direct"]
    bundle = proofs.bundle("direct")
    registry = world.deployment.address("DataAssetRegistry")
    event = receipt.event(AssetRegistered)
    log = next(raw for raw in receipt.logs if raw.topics[0] == AssetRegistered.TOPIC0)
    state_block = world.w3.eth.get_block(bundle["state"]["block_number"])
    assert list(bundle) == [
        "version",
        "chain_id",
        "asset_id",
        "content_hash",
        "channel",
        "contracts",
        "registration",
        "state",
    ]
    assert bundle["version"] == BUNDLE_VERSION
    assert bundle["chain_id"] == 31337
    assert bundle["asset_id"] == asset_id_hex(event.asset_id)
    assert bundle["content_hash"] == "0x" + event.content_hash.hex()
    assert bundle["channel"] == "DIRECT"
    assert bundle["contracts"] == {
        "DataAssetRegistry": {
            "address": registry,
            "code_hash": "0x" + keccak(bytes(world.w3.eth.get_code(registry))).hex(),
        }
    }
    assert bundle["registration"] == {
        "contract": "DataAssetRegistry",
        "event": "AssetRegistered",
        "transaction_hash": "0x" + receipt.tx_hash.hex(),
        "transaction_index": 0,
        "block_number": receipt.block_number,
        "block_hash": "0x" + receipt.block_hash.hex(),
        "log_index": log.log_index,
        "topics": ["0x" + topic.hex() for topic in log.topics],
        "data": "0x" + log.data.hex(),
        "args": event_args(event),
    }
    assert bundle["state"] == {
        "block_number": receipt.block_number + 3 + 3,  # the signed and batch txs, 3 mined
        "block_hash": state_block["hash"].to_0x_hex(),
        "asset": {
            "registrant": world.alice.address,
            "registered_at": world.w3.eth.get_block(receipt.block_number)["timestamp"],
            "category": event.category,
            "grade": event.grade,
            "status": "APPLIED",
            "under_objection": False,
            "frozen": False,
            "metadata_version": 1,
            "holder": world.alice.address,
            "metadata_hash": "0x" + event.metadata_hash.hex(),
        },
    }
    assert json.loads(json.dumps(bundle)) == bundle


def test_a_batch_bundle_carries_the_promoted_path_and_the_anchor(proofs: Proofs) -> None:
    world, receipt = proofs.world, proofs.receipts["batch"]
    bundle = proofs.bundle("batch")
    anchor = world.deployment.address("BatchAnchor")
    leaf = proofs.leaves[PROMOTED_LEAF]
    assert bundle["channel"] == "BATCH"
    assert list(bundle["contracts"]) == ["DataAssetRegistry", "BatchAnchor"]
    assert bundle["contracts"]["BatchAnchor"]["address"] == anchor
    batch = bundle["batch"]
    assert list(batch) == ["root", "leaf", "proof", "promotion", "anchor"]
    assert batch["root"] == "0x" + proofs.tree.root.hex()
    assert batch["leaf"] == "0x" + batch_leaf_hash(leaf).hex()
    assert batch["proof"] == ["0x" + node.hex() for node in proofs.tree.proof_for([leaf])]
    assert len(batch["proof"]) >= 2
    assert batch["promotion"]["event"] == "LeafPromoted"
    assert batch["promotion"]["transaction_hash"] == "0x" + receipt.tx_hash.hex()
    assert batch["promotion"]["args"] == event_args(receipt.event(LeafPromoted))
    assert batch["anchor"]["event"] == "BatchAnchored"
    assert batch["anchor"]["block_number"] == receipt.block_number - 1
    assert batch["anchor"]["args"] == {
        "root": batch["root"],
        "submitter": world.alice.address,
        "leaf_count": BATCH_SIZE,
        "manifest_uri": "ipfs://bafy/batch-manifest.json",
    }
    anchored_at = world.w3.eth.get_block(receipt.block_number - 1)["timestamp"]
    assert bundle["state"]["batch"] == {
        "submitter": world.alice.address,
        "leaf_count": BATCH_SIZE,
        "anchored_at": anchored_at,
    }
    assert bundle["registration"]["args"]["channel"] == "BATCH"


def test_an_asset_the_index_does_not_hold_has_no_bundle(proofs: Proofs) -> None:
    world = proofs.world
    missing = 12345
    with pytest.raises(NotFoundError, match=f"no asset {asset_id_hex(missing)} in the index"):
        build_proof_bundle(engine_for(proofs.database_url), world.w3, world.deployment, missing)


def test_an_index_behind_a_reorg_is_refused(anvil_world: World, tmp_path: Path) -> None:
    world = anvil_world
    url = f"sqlite:///{tmp_path / 'stale.sqlite'}"
    fork = world.chain.snapshot()
    receipt = world.alice.registry.register(registration())
    index(world.w3, world.deployment, url)
    world.chain.revert(fork)  # the registration is gone from the node, not from the index
    world.chain.mine(2)
    asset = receipt.event(AssetRegistered).asset_id
    try:
        with pytest.raises(ProofUnavailableError) as caught:
            build_proof_bundle(engine_for(url), world.w3, world.deployment, asset)
    finally:
        release(url)
    assert str(caught.value) == (
        f"cannot build a proof of asset {asset_id_hex(asset)}: the node does not hold the "
        f"indexed AssetRegistered log 0 of transaction 0x{receipt.tx_hash.hex()} in block "
        f"0x{receipt.block_hash.hex()}; the index may be behind a reorg "
        "(let `provledger index` catch up)"
    )


# ---------------------------------------------------------------- verification


@pytest.mark.parametrize(
    ("kind", "names"),
    [("direct", DIRECT_CHECKS), ("signed", DIRECT_CHECKS), ("batch", BATCH_CHECKS)],
)
def test_every_check_passes_on_a_genuine_bundle(
    proofs: Proofs, kind: str, names: tuple[str, ...]
) -> None:
    report = proofs.verify(json.loads(json.dumps(proofs.bundle(kind))))
    assert [check.name for check in report.checks] == list(names)
    assert [check.title for check in report.checks] == [CHECKS[name] for name in names]
    assert report.failed == ()
    assert report.ok
    assert report.asset_id == asset_id_hex(proofs.assets[kind])
    assert all(check.reason and "\n" not in check.reason for check in report.checks)


def test_the_state_is_checked_at_the_stated_block(proofs: Proofs, anvil_world: World) -> None:
    world = anvil_world
    asset = proofs.assets["direct"]
    world.alice.registry.transfer(asset, world.bob.address)
    assert proofs.verify(proofs.bundle("direct")).ok
    index(world.w3, world.deployment, proofs.database_url)
    fresh = build_proof_bundle(engine_for(proofs.database_url), world.w3, world.deployment, asset)
    assert fresh["state"]["asset"]["holder"] == world.bob.address
    assert fresh["state"]["block_number"] > proofs.bundles["direct"]["state"]["block_number"]
    assert fresh["registration"] == proofs.bundles["direct"]["registration"]
    assert proofs.verify(fresh).ok


Change = Callable[[Any], Any]

#: (bundle kind, altered field, change, the one check that must fail, words of its reason)
ALTERATIONS: Final[list[tuple[str, str, Change, str, str]]] = [
    ("direct", "chain_id", lambda _: 1, "chain", "the bundle names chain 1"),
    (
        "direct",
        "registration.args.metadata_uri",
        lambda _: "ipfs://forged",
        "event",
        "args.metadata_uri",
    ),
    ("direct", "registration.args.grade", lambda grade: grade + 1, "event", "args.grade is 1"),
    ("direct", "registration.args.grade", lambda grade: float(grade), "event", "args.grade"),
    ("direct", "registration.event", lambda _: "Transfer", "event", "the bundle says Transfer"),
    ("direct", "asset_id", flip_hex, "event", "registers another asset"),
    ("direct", "content_hash", flip_hex, "event", "another content hash"),
    ("batch", "content_hash", flip_hex, "event", "another content hash"),
    ("direct", "channel", lambda _: "SIGNED", "event", "the bundle says SIGNED"),
    ("direct", "registration.block_hash", flip_hex, "block", "on the node, the bundle says"),
    ("direct", "registration.block_number", lambda n: n - 1, "block", "is in block"),
    ("direct", "registration.log_index", lambda i: i + 1, "receipt", "has other topics or data"),
    ("direct", "registration.log_index", lambda i: i + 7, "receipt", "has no log"),
    ("direct", "registration.transaction_index", lambda i: i + 1, "receipt", "has index 0"),
    ("direct", "contracts.DataAssetRegistry.code_hash", flip_hex, "contract", "code hash"),
    (
        "direct",
        "state.asset.holder",
        lambda _: dev_account(6).address,
        "state",
        "state.asset.holder",
    ),
    ("direct", "state.asset.status", lambda _: "CERTIFIED", "state", "state.asset.status"),
    ("direct", "state.block_hash", flip_hex, "state", "on the node, the bundle says"),
    (
        "signed",
        "registration.args.submitter",
        lambda _: dev_account(5).address,
        "event",
        "args.submitter",
    ),
    ("signed", "registration.block_hash", flip_hex, "block", "on the node, the bundle says"),
    ("signed", "registration.log_index", lambda i: i + 1, "receipt", "has other topics or data"),
    ("batch", "batch.proof.0", flip_hex, "merkle", "not to root"),
    ("batch", "batch.proof.1", flip_hex, "merkle", "not to root"),
    ("batch", "batch.leaf", flip_hex, "merkle", "the bundle says"),
    ("batch", "batch.promotion.log_index", lambda i: i - 1, "receipt", "batch.promotion"),
    ("batch", "batch.anchor.log_index", lambda i: i + 1, "receipt", "batch.anchor"),
    ("batch", "batch.anchor.block_hash", flip_hex, "block", "batch.anchor"),
    ("batch", "batch.promotion.block_hash", flip_hex, "block", "batch.promotion"),
    (
        "batch",
        "batch.anchor.args.manifest_uri",
        lambda _: "ipfs://other",
        "event",
        "args.manifest_uri",
    ),
    ("batch", "batch.promotion.args.content_hash", flip_hex, "event", "args.content_hash"),
    ("batch", "registration.args.metadata_hash", flip_hex, "event", "args.metadata_hash"),
    ("batch", "contracts.BatchAnchor.code_hash", flip_hex, "contract", "BatchAnchor at"),
    ("batch", "state.batch.leaf_count", lambda n: n + 1, "anchor", "state.batch.leaf_count"),
    ("batch", "state.asset.frozen", lambda _: True, "state", "state.asset.frozen"),
]


@pytest.mark.parametrize(
    ("kind", "path", "change", "failing", "reason"),
    ALTERATIONS,
    ids=[
        f"{kind}-{path}-{failing}-{i}" for i, (kind, path, _, failing, _) in enumerate(ALTERATIONS)
    ],
)
def test_an_altered_field_fails_exactly_the_check_that_covers_it(
    proofs: Proofs, kind: str, path: str, change: Change, failing: str, reason: str
) -> None:
    report = proofs.verify(altered(proofs.bundle(kind), path, change))
    names = BATCH_CHECKS if kind == "batch" else DIRECT_CHECKS
    assert [check.name for check in report.checks] == list(names)
    assert report.failed == (failing,), [c for c in report.checks if not c.passed]
    assert not report.ok
    (failed,) = (check for check in report.checks if not check.passed)
    assert reason in failed.reason


@pytest.mark.parametrize(
    ("kind", "contract", "other"),
    [
        ("direct", "DataAssetRegistry", "BatchAnchor"),
        ("direct", "DataAssetRegistry", "LicenseRegistry"),
        ("batch", "BatchAnchor", "DataAssetRegistry"),
        ("batch", "DataAssetRegistry", "DisputeCourt"),
    ],
)
def test_another_contract_address_fails_the_contract_check_only(
    proofs: Proofs, kind: str, contract: str, other: str
) -> None:
    elsewhere = proofs.world.deployment.address(other)
    bundle = altered(proofs.bundle(kind), f"contracts.{contract}.address", lambda _: elsewhere)
    report = proofs.verify(bundle)
    assert report.failed == ("contract",)
    (failed,) = (check for check in report.checks if not check.passed)
    stated = proofs.world.deployment.address(contract)
    assert f"the log was emitted by {stated}, not by {contract} at {elsewhere}" in failed.reason


def test_an_account_without_code_fails_the_contract_check_only(proofs: Proofs) -> None:
    stranger = proofs.world.stranger.address
    bundle = altered(
        proofs.bundle("direct"), "contracts.DataAssetRegistry.address", lambda _: stranger
    )
    assert proofs.verify(bundle).failed == ("contract",)


def test_a_batch_asset_without_its_batch_section_fails_the_batch_checks(proofs: Proofs) -> None:
    bundle = proofs.bundle("batch")
    del bundle["batch"], bundle["state"]["batch"]
    bundle["contracts"].pop("BatchAnchor")
    report = proofs.verify(bundle)
    assert report.failed == ("merkle", "anchor")
    assert all("has no batch section" in c.reason for c in report.checks if not c.passed)


def test_a_state_block_beyond_the_nodes_head_fails_the_reads_made_there(proofs: Proofs) -> None:
    """A node that lags behind the bundle cannot confirm the code or the state at its block."""
    bundle = proofs.bundle("direct")
    bundle["state"]["block_number"] += 1_000_000
    report = proofs.verify(bundle)
    assert report.failed == ("contract", "state")
    contract, state = report.checks[-2:]
    assert contract.reason.startswith("the node answered: ")
    assert state.reason == f"the node has no block {bundle['state']['block_number']}"


# ---------------------------------------------------------------- malformed bundles


MALFORMED: Final[list[tuple[str, Change, str]]] = [
    ("version", lambda _: "provledger-proof/0", "version is 'provledger-proof/0'"),
    ("registration.log_index", lambda _: "3", "registration.log_index must be a non-negative"),
    ("registration.log_index", lambda _: -1, "registration.log_index must be a non-negative"),
    ("registration.block_hash", lambda _: "0x" + "zz" * 32, "registration.block_hash is not hex"),
    ("registration.block_hash", lambda h: h[:-2], "registration.block_hash must be 32 bytes"),
    ("registration.topics.1", lambda h: h[2:], "registration.topics[1] must be 0x-prefixed"),
    ("registration.data", lambda _: 7, "registration.data must be 0x-prefixed hex, got 7"),
    ("registration.args", lambda _: [], "registration.args must be an object, got a list"),
    ("registration.contract", lambda _: "Nowhere", "names 'Nowhere', which is not in"),
    ("contracts.DataAssetRegistry.address", lambda a: a[:-2], "address must be 20 bytes"),
    ("state", lambda _: None, "state must be an object, got null"),
    ("state.asset", lambda _: [], "state.asset must be an object, got a list"),
    ("chain_id", lambda _: True, "chain_id must be a non-negative integer, got true"),
]


@pytest.mark.parametrize(("path", "change", "message"), MALFORMED)
def test_a_malformed_bundle_is_refused_naming_the_field(
    proofs: Proofs, path: str, change: Change, message: str
) -> None:
    bundle = altered(proofs.bundle("direct"), path, change)
    with pytest.raises(MalformedProofBundleError, match=r"^malformed proof bundle: ") as caught:
        proofs.verify(bundle)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("batch.promotion.log_index", "batch.promotion.log_index is missing"),
        ("state.batch", "state.batch is missing"),
        ("state.asset", "state.asset is missing"),
        # the logs then name a contract the bundle lacks
        ("contracts.BatchAnchor", "batch.promotion.contract names 'BatchAnchor', which is not in"),
    ],
)
def test_a_missing_field_is_named(proofs: Proofs, path: str, named: str) -> None:
    bundle = proofs.bundle("batch")
    *parents, last = path.split(".")
    holder: Any = bundle
    for part in parents:
        holder = holder[part]
    del holder[last]
    with pytest.raises(MalformedProofBundleError) as caught:
        proofs.verify(bundle)
    assert str(caught.value).startswith(f"malformed proof bundle: {named}")
    assert caught.value.field == named.split(" ")[0]


# ---------------------------------------------------------------- the command line


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["verify-proof", *args])
    return result.exit_code, result.stdout, result.stderr


def write(folder: Path, bundle: object, name: str = "proof.json") -> str:
    path = folder / name
    path.write_text(bundle if isinstance(bundle, str) else json.dumps(bundle))
    return str(path)


def test_cli_verifies_a_genuine_bundle(proofs: Proofs, tmp_path: Path) -> None:
    path = write(tmp_path, proofs.bundle("batch"))
    code, out, err = invoke(path, "--rpc-url", proofs.rpc_url, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True
    assert report["asset_id"] == asset_id_hex(proofs.assets["batch"])
    assert [check["name"] for check in report["checks"]] == list(BATCH_CHECKS)
    assert all(check["passed"] for check in report["checks"])

    code, out, err = invoke(path, "--rpc-url", proofs.rpc_url)
    assert code == 0, err
    assert "verified: all 8 checks passed on chain 31337" in out
    assert out.count("pass") >= len(BATCH_CHECKS)


def test_cli_prints_every_check_and_exits_1_when_one_fails(proofs: Proofs, tmp_path: Path) -> None:
    bundle = altered(proofs.bundle("direct"), "registration.block_hash", flip_hex)
    path = write(tmp_path, bundle)
    code, out, err = invoke(path, "--rpc-url", proofs.rpc_url)
    assert code == 1, err
    for name in DIRECT_CHECKS:
        assert name in out
    assert out.count("FAIL") == 1
    assert out.count("pass") == len(DIRECT_CHECKS) - 1
    assert "not verified: 1 of 6 checks failed (block)" in out

    code, out, _ = invoke(path, "--rpc-url", proofs.rpc_url, "--json")
    assert code == 1
    checks = json.loads(out)["checks"]
    assert [(c["name"], c["passed"]) for c in checks] == [
        (name, name != "block") for name in DIRECT_CHECKS
    ]
    assert "on the node, the bundle says" in checks[2]["reason"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        (json.dumps({"version": BUNDLE_VERSION}), "malformed proof bundle: chain_id is missing"),
        ("[]", "malformed proof bundle: must be an object, got a list"),
    ],
)
def test_cli_refuses_bad_input_in_one_line(
    proofs: Proofs, tmp_path: Path, content: str, message: str
) -> None:
    code, out, err = invoke(write(tmp_path, content), "--rpc-url", proofs.rpc_url)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err


def test_cli_refuses_malformed_hex_and_missing_files(proofs: Proofs, tmp_path: Path) -> None:
    bundle = altered(proofs.bundle("direct"), "registration.transaction_hash", lambda _: "0x12")
    code, _, err = invoke(write(tmp_path, bundle), "--rpc-url", proofs.rpc_url)
    assert code == 2
    assert err.count("\n") == 1
    assert "registration.transaction_hash must be 32 bytes, got 1" in err

    code, _, err = invoke(str(tmp_path / "absent.json"), "--rpc-url", proofs.rpc_url)
    assert code == 2
    assert err.count("\n") == 1
    assert "cannot read proof bundle" in err


def test_cli_needs_a_reachable_node(
    proofs: Proofs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, proofs.bundle("direct"))
    code, _, err = invoke(path, "--rpc-url", "http://127.0.0.1:9")
    assert code == 3
    assert err.count("\n") == 1
    assert "cannot reach the chain at http://127.0.0.1:9" in err

    plan = FaultPlan(methods=frozenset({"eth_getTransactionReceipt"}), http_error=1.0)
    with FaultProxy(proofs.rpc_url, plan) as failing:  # answers eth_chainId, then fails
        code, out, err = invoke(path, "--rpc-url", failing.url)
    assert code == 3
    assert out == ""
    assert err.count("\n") == 1
    assert f"cannot reach the chain at {failing.url}" in err

    monkeypatch.delenv("PROVLEDGER_RPC_URL", raising=False)
    code, _, err = invoke(path)
    assert code == 2
    assert "verify-proof needs a node" in err


# ---------------------------------------------------------------- through the gateway


def test_the_gateway_hands_out_bundles_that_verify(proofs: Proofs, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from provledger.api.app import create_app
    from provledger.config import Settings

    deployments = tmp_path / "deployments"
    proofs.world.deployment.save(deployments)
    settings = Settings(database_url=proofs.database_url, deployments_dir=deployments)
    with TestClient(create_app(settings, w3=proofs.world.w3)) as client:
        for kind, asset in proofs.assets.items():
            response = client.get(f"/assets/{asset}/proof")
            assert response.status_code == 200, response.text
            bundle = response.json()
            assert bundle["asset_id"] == f"0x{asset:064x}"
            assert bundle["registration"] == proofs.bundles[kind]["registration"], kind
            report = proofs.verify(bundle)
            assert report.ok, report.failed
        missing = client.get(f"/assets/0x{'0' * 63}7/proof")
        assert missing.status_code == 404
    without_node = TestClient(create_app(settings))
    refused = without_node.get(f"/assets/{proofs.assets['direct']}/proof")
    assert refused.status_code == 503
    assert "PROVLEDGER_RPC_URL" in refused.json()["detail"]
