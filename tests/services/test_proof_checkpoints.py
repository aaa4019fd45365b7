"""Proof bundles version 2 on two anvil chains: the source chain holds the registry, the target
chain a Checkpoint contract with a checkpoint of the source chain's blocks, co-signed by two
witnesses and a third nobody knows. Bundles carry the evidence, verify against both nodes, and
fail the ``checkpoint`` or ``witnesses`` check (and only those) when the evidence is altered, the
target chain is not given, the target chain drops the checkpoint, or the source chain's history
is rewritten under it."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import jsonschema_rs
import pytest
from eth_utils.address import to_checksum_address
from typer.testing import CliRunner
from web3 import Web3

from helpers.builders import registration
from helpers.checkpointing import node_tree
from helpers.indexing import index
from helpers.proofs import altered, flip_hex, register_batch_leaf, register_signed
from helpers.required import start_anvil
from helpers.stores import engine_for, release
from helpers.world import World
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import AnvilNode
from provledger.chain.client import CheckpointClient
from provledger.chain.connection import DevChain, rpc_chain
from provledger.chain.deploy import deploy_checkpoint
from provledger.chain.events import AssetRegistered
from provledger.chain.transactions import Sender
from provledger.cli import app
from provledger.services.checkpoints import CheckpointLedger, Cosignature, cosign
from provledger.services.proofs import (
    CHECKPOINTED_VERSION,
    CheckpointSource,
    ProofReport,
    ProofUnavailableError,
    WitnessPolicy,
    WitnessPolicyError,
    build_proof_bundle,
    bundle_json,
    bundle_schema,
    parse_proof_bundle,
    verify_proof_bundle,
)

TARGET_CHAIN: Final = 31338
KINDS: Final = ("direct", "signed", "batch")
WITNESSES: Final = (dev_account(7), dev_account(8))
STRANGER: Final = dev_account(9)


@dataclass
class Evidence:
    world: World
    target: Web3
    contract: str
    url: str
    bundles: dict[str, dict[str, Any]]
    source: CheckpointSource

    def bundle(self, kind: str) -> dict[str, Any]:
        return copy.deepcopy(self.bundles[kind])

    def verify(
        self, bundle: dict[str, Any], policy: WitnessPolicy | None = None, *, target: bool = True
    ) -> ProofReport:
        return verify_proof_bundle(
            bundle, self.world.w3, target=self.target if target else None, policy=policy
        )


def _checkpoint(w3: Web3, target: Web3, contract: str, last: int, first: int = 0) -> None:
    """Submit the next checkpoint of the source chain, up to block ``last`` (from ``first`` if
    it is the chain's first)."""
    client = CheckpointClient(target, to_checksum_address(contract), Sender(target, dev_account(0)))
    source = int(w3.eth.chain_id)
    head = client.head_of(source)
    if head.sequence:
        first = head.to_block + 1
    tree = node_tree(w3, first, last)
    parent = bytes(w3.eth.get_block(first - 1)["hash"])
    client.submit(source, first, last, parent, tree.hash_of(last), tree.root)


@pytest.fixture(scope="module")
def target_node() -> Iterator[AnvilNode]:
    node = start_anvil(chain_id=TARGET_CHAIN)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def evidence(
    anvil_session_world: World, target_node: AnvilNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Evidence]:
    world = anvil_session_world
    snapshot = world.chain.snapshot()
    url = f"sqlite:///{tmp_path_factory.mktemp('checkpointed') / 'index.sqlite'}"
    target = rpc_chain(target_node.url)
    try:
        contract = deploy_checkpoint(target, Sender(target, dev_account(0)))
        first = int(world.w3.eth.block_number) + 1
        receipts = {
            "direct": world.alice.registry.register(registration()),
            "signed": register_signed(world),
        }
        receipts["batch"], _, _ = register_batch_leaf(world)
        world.chain.mine(2)
        _checkpoint(world.w3, target, contract, int(world.w3.eth.block_number), first)
        index(world.w3, world.deployment, url)
        ledger = CheckpointLedger(target, to_checksum_address(contract))
        source = CheckpointSource(
            ledger,  # each checkpoint co-signed by the two witnesses and a stranger
            lambda checkpoint: [
                cosign(checkpoint, ledger.venue, account) for account in (*WITNESSES, STRANGER)
            ],
        )
        bundles = {
            kind: build_proof_bundle(
                engine_for(url),
                world.w3,
                world.deployment,
                receipt.event(AssetRegistered).asset_id,
                checkpoints=source,
            )
            for kind, receipt in receipts.items()
        }
        yield Evidence(world, target, contract, url, bundles, source)
    finally:
        release(url)
        world.chain.revert(snapshot)


def failed(report: ProofReport) -> set[str]:
    return set(report.failed)


def reason(report: ProofReport, name: str) -> str:
    return next(check.reason for check in report.checks if check.name == name)


# ---------------------------------------------------------------- the evidence


@pytest.mark.parametrize("kind", KINDS)
def test_a_bundle_with_checkpoint_evidence_verifies_on_both_nodes(
    evidence: Evidence, kind: str
) -> None:
    bundle = evidence.bundle(kind)
    report = evidence.verify(bundle)
    assert report.ok, report.checks_json()
    assert [check.name for check in report.checks][-3:] == ["state", "checkpoint", "witnesses"]
    assert "still has those blocks" in reason(report, "checkpoint")
    assert reason(report, "witnesses") == "3 valid co-signature(s); no witness policy given"


def test_the_evidence_names_the_registration_block_its_path_and_the_co_signatures(
    evidence: Evidence,
) -> None:
    bundle = evidence.bundle("direct")
    claim = bundle["checkpoint"]
    recorded = evidence.source.ledger.recorded(31337)[0]
    assert bundle["version"] == CHECKPOINTED_VERSION
    assert list(bundle)[-1] == "checkpoint"
    assert claim["chain_id"] == TARGET_CHAIN
    assert claim["contract"]["address"] == to_checksum_address(evidence.contract)
    assert claim["transaction_hash"] == "0x" + recorded.transaction_hash.hex()
    assert claim["block_number"] == recorded.block_number
    assert (claim["sequence"], claim["from_block"], claim["to_block"]) == (
        1,
        recorded.checkpoint.from_block,
        recorded.checkpoint.to_block,
    )
    assert claim["root"] == "0x" + recorded.checkpoint.root.hex()
    registration = bundle["registration"]
    assert claim["block"] == {
        "number": registration["block_number"],
        "hash": registration["block_hash"],
    }
    assert [item["witness"] for item in claim["witnesses"]] == [
        account.address for account in (*WITNESSES, STRANGER)
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_a_v2_bundle_is_valid_under_the_schema_and_reads_back_to_its_bytes(
    evidence: Evidence, kind: str
) -> None:
    bundle = evidence.bundle(kind)
    assert list(jsonschema_rs.validator_for(bundle_schema()).iter_errors(bundle)) == []
    assert json.dumps(bundle_json(parse_proof_bundle(bundle))) == json.dumps(bundle)


def test_without_a_target_node_the_checkpoint_check_fails_and_says_which_chain(
    evidence: Evidence,
) -> None:
    report = evidence.verify(evidence.bundle("direct"), target=False)
    assert failed(report) == {"checkpoint"}
    assert reason(report, "checkpoint") == f"no node of target chain {TARGET_CHAIN} was given"


#: Field of the evidence -> the checks its alteration fails (the witnesses signed the
#: checkpoint's fields and its venue, so altering those fails both).
ALTERATIONS: Final[dict[str, set[str]]] = {
    "checkpoint.chain_id": {"checkpoint", "witnesses"},
    "checkpoint.contract.address": {"checkpoint", "witnesses"},
    "checkpoint.contract.code_hash": {"checkpoint"},
    "checkpoint.transaction_hash": {"checkpoint"},
    "checkpoint.block_number": {"checkpoint"},
    "checkpoint.block_hash": {"checkpoint"},
    "checkpoint.log_index": {"checkpoint"},
    "checkpoint.sequence": {"checkpoint", "witnesses"},
    "checkpoint.from_block": {"checkpoint", "witnesses"},
    "checkpoint.to_block": {"checkpoint", "witnesses"},
    "checkpoint.to_block_hash": {"checkpoint", "witnesses"},
    "checkpoint.root": {"checkpoint", "witnesses"},
    "checkpoint.block.number": {"checkpoint"},
    "checkpoint.block.hash": {"checkpoint"},
    "checkpoint.proof.0": {"checkpoint"},
    "checkpoint.witnesses.0.witness": {"witnesses"},
    "checkpoint.witnesses.1.signature": {"witnesses"},
}


def _change(value: Any) -> Any:
    if isinstance(value, int):
        return value + 1
    if len(value) == 42:  # an address
        return to_checksum_address(flip_hex(value.lower()))
    return flip_hex(value)


@pytest.mark.parametrize("path", ALTERATIONS)
def test_each_altered_field_of_the_evidence_fails_its_checks_alone(
    evidence: Evidence, path: str
) -> None:
    report = evidence.verify(altered(evidence.bundle("batch"), path, _change))
    assert failed(report) == ALTERATIONS[path], report.checks_json()


def test_evidence_of_another_source_chain_fails_the_checkpoint_check(evidence: Evidence) -> None:
    world, target = evidence.world, evidence.target
    bundle = evidence.bundle("direct")
    claim = bundle["checkpoint"]
    client = CheckpointClient(
        target, to_checksum_address(evidence.contract), Sender(target, dev_account(0))
    )
    receipt = client.submit(
        999,
        claim["from_block"],
        claim["to_block"],
        bytes(32),
        bytes.fromhex(claim["to_block_hash"][2:]),
        bytes.fromhex(claim["root"][2:]),
    )
    claim.update(
        transaction_hash="0x" + receipt.tx_hash.hex(),
        block_number=receipt.block_number,
        block_hash="0x" + receipt.block_hash.hex(),
        log_index=0,
    )
    report = verify_proof_bundle(bundle, world.w3, target=target)
    assert "checkpoint" in failed(report)
    assert (
        reason(report, "checkpoint")
        == "the checkpoint is of chain 999, the bundle is of chain 31337"
    )


# ---------------------------------------------------------------- witness policies


def test_a_k_of_n_policy_passes_with_enough_known_witnesses_and_names_the_unknown_one(
    evidence: Evidence,
) -> None:
    known = frozenset(account.address for account in WITNESSES)
    report = evidence.verify(evidence.bundle("signed"), WitnessPolicy(known, 2))
    assert report.ok
    assert reason(report, "witnesses") == (
        f"2 of 2 known witnesses co-signed ({WITNESSES[0].address}, {WITNESSES[1].address}); "
        f"unknown witness {STRANGER.address} not counted; 2 required"
    )


def test_a_k_of_n_policy_fails_without_enough_known_witnesses(evidence: Evidence) -> None:
    known = frozenset({WITNESSES[0].address, dev_account(10).address, dev_account(11).address})
    report = evidence.verify(evidence.bundle("signed"), WitnessPolicy(known, 2))
    assert failed(report) == {"witnesses"}
    assert reason(report, "witnesses").startswith("1 of 3 known witnesses co-signed")
    assert reason(report, "witnesses").endswith("; 2 required")


def test_a_policy_requiring_witnesses_fails_a_bundle_without_evidence(evidence: Evidence) -> None:
    bundle = evidence.bundle("direct")
    bundle["checkpoint"] = None
    known = frozenset({WITNESSES[0].address})
    report = evidence.verify(bundle, WitnessPolicy(known, 1))
    assert failed(report) == {"checkpoint", "witnesses"}
    assert reason(report, "witnesses") == "the bundle carries no checkpoint evidence"
    assert evidence.verify(bundle).ok  # no policy: a v2 bundle not yet checkpointed holds


def test_a_policy_no_one_can_meet_is_refused() -> None:
    with pytest.raises(WitnessPolicyError, match="no known witness is named"):
        WitnessPolicy(frozenset(), 1)
    with pytest.raises(WitnessPolicyError, match="2 witnesses required, but only 1 are named"):
        WitnessPolicy(frozenset({STRANGER.address}), 2)


@pytest.mark.parametrize("signature", ["00" * 65, "11" * 65, "ff" * 64 + "1b"])
def test_a_forged_co_signature_does_not_hold(evidence: Evidence, signature: str) -> None:
    recorded = evidence.source.ledger.recorded(31337)[0]
    forged = Cosignature.parse({"witness": STRANGER.address, "signature": "0x" + signature})
    assert not forged.holds(recorded.checkpoint, evidence.source.ledger.venue)
    bundle = evidence.bundle("direct")
    bundle["checkpoint"]["witnesses"].append(forged.to_json())
    report = evidence.verify(bundle)
    assert failed(report) == {"witnesses"}
    assert reason(report, "witnesses") == (
        f"co-signature 3 is not {STRANGER.address}'s signature of {recorded.checkpoint.describe()}"
    )


# ---------------------------------------------------------------- reorganisations


def test_a_checkpoint_the_target_chain_drops_fails_the_checkpoint_check(
    evidence: Evidence,
) -> None:
    chain = DevChain(evidence.target)
    snapshot = chain.snapshot()
    world = evidence.world
    receipt = world.alice.registry.register(registration())
    world.chain.mine(1)
    _checkpoint(world.w3, evidence.target, evidence.contract, receipt.block_number + 1)
    bundle = build_proof_bundle(
        engine_for(_reindexed(evidence)),
        world.w3,
        world.deployment,
        receipt.event(AssetRegistered).asset_id,
        checkpoints=evidence.source,
    )
    assert bundle["checkpoint"]["sequence"] == 2
    assert evidence.verify(bundle).ok
    chain.revert(snapshot)
    report = evidence.verify(bundle)
    assert failed(report) == {"checkpoint"}
    assert "is unknown to the target node" in reason(report, "checkpoint")


def _reindexed(evidence: Evidence) -> str:
    index(evidence.world.w3, evidence.world.deployment, evidence.url)
    return evidence.url


def test_a_rewritten_source_history_fails_the_checkpoint_check_of_old_bundles(
    evidence: Evidence,
) -> None:
    world = evidence.world
    before = world.chain.snapshot()
    target = DevChain(evidence.target)
    target_before = target.snapshot()
    try:
        receipt = world.alice.registry.register(registration())
        world.chain.mine(2)
        _checkpoint(world.w3, evidence.target, evidence.contract, receipt.block_number + 2)
        bundle = build_proof_bundle(
            engine_for(_reindexed(evidence)),
            world.w3,
            world.deployment,
            receipt.event(AssetRegistered).asset_id,
            checkpoints=evidence.source,
        )
        assert evidence.verify(bundle).ok
        world.chain.revert(before)
        before = world.chain.snapshot()
        world.alice.registry.register(registration())  # another history at the same heights
        world.chain.mine(4)
        report = evidence.verify(bundle)
        assert "checkpoint" in failed(report)
        assert reason(report, "checkpoint").startswith(
            "the source chain's history was rewritten after checkpoint 2: block "
        )
        with pytest.raises(ProofUnavailableError, match="not the history that was checkpointed"):
            evidence.source.evidence(_node(world), parse_proof_bundle(bundle).registration, "asset")
    finally:
        world.chain.revert(before)
        target.revert(target_before)
        index(world.w3, world.deployment, evidence.url)


def _node(world: World) -> Any:
    from provledger.services.proofs.node import ProofNode

    return ProofNode(world.w3)


# ---------------------------------------------------------------- the command line


def test_verify_proof_checks_the_evidence_against_the_target_node(
    evidence: Evidence, tmp_path: Any, target_node: AnvilNode
) -> None:
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(evidence.bundle("direct")))
    source_url = str(evidence.world.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    runner = CliRunner()
    base = ["verify-proof", str(path), "--rpc-url", source_url]
    result = runner.invoke(app, [*base, "--checkpoint-rpc-url", target_node.url, "--json"])
    assert result.exit_code == 0, result.output
    checks = {c["name"]: c["passed"] for c in json.loads(result.output)["checks"]}
    assert checks["checkpoint"]
    assert checks["witnesses"]
    witness = ["--witness", WITNESSES[0].address, "--witness", dev_account(12).address]
    result = runner.invoke(app, [*base, "--checkpoint-rpc-url", target_node.url, *witness])
    assert result.exit_code == 1
    assert "1 of 2 known witnesses co-signed" in result.output
    result = runner.invoke(
        app,
        [*base, "--checkpoint-rpc-url", target_node.url, *witness[:2], "--witnesses-required", "1"],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*base, "--witnesses-required", "1"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].endswith("name the witnesses you trust)")
    result = runner.invoke(app, base)
    assert result.exit_code == 1
    assert f"no node of target chain {TARGET_CHAIN} was given" in result.output
