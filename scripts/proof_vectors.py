"""The test vectors of the proof-bundle format, and the chains they are checked against.

    python scripts/proof_vectors.py [--out DIR] [--serve]

Plays a fixed scenario on two fresh anvil nodes whose every input is fixed (the dev mnemonic, the
genesis time, 12 seconds between blocks, the contents registered, the deadline signed, the
witnesses' keys), so the chains, and so every bundle built on them, come out byte for byte the
same on every run. The source chain (31337) holds one asset registered directly, one by a
relayed signature and one promoted from a five-leaf batch; the target chain (31338) holds two
Checkpoint contracts: ``kept``, with a checkpoint of the source chain's blocks 1 to 42 (and one
naming another source chain), and ``abandoned``, with a checkpoint of a history the source chain
then rewrote (blocks 40 to 42 are other blocks now). Two witnesses and a stranger co-sign the
checkpoints. The builder (``provledger proof``) writes the bundles, version 1 and version 2;
each is then altered one field (or one verifier option) at a time. DIR (default
``docs/proof-vectors``) receives:

    vectors.json             the chains' recipe and every vector with its expected outcome
    valid/<name>.json        the bundles as built
    altered/<name>.json      one field changed; the verdict each check must give
    malformed/<name>.json    one field changed so that the format refuses the bundle

``--serve`` keeps both chains running once the vectors are written (their URLs are printed)
until the process is stopped, for any verifier to check the vectors against.
``docs/proof-bundle.md`` ("Test vectors") documents the layout; the test
``tests/api/test_verify_proof_js.py`` regenerates the vectors, fails if they drift from the
committed ones, and runs both verifiers on every one.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Final

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from sqlalchemy import Engine
from web3 import Web3
from web3.types import Wei

from provledger.chain.accounts import DEV_MNEMONIC, DEV_ROLES, dev_account
from provledger.chain.anvil import ANVIL_CHAIN_ID, AnvilNode
from provledger.chain.client import CheckpointClient, Provledger
from provledger.chain.connection import DevChain
from provledger.chain.deploy import deploy, deploy_checkpoint, dev_role_grants
from provledger.chain.deployments import Deployment
from provledger.chain.events import AssetRegistered, CheckpointSubmitted
from provledger.chain.transactions import Sender
from provledger.chain.types import Registration
from provledger.indexer.scanner import IndexerConfig, Scanner
from provledger.indexer.source import JsonRpcSource
from provledger.merkle import StandardMerkleTree
from provledger.services.checkpoints import (
    BlockHashTree,
    Checkpoint,
    CheckpointLedger,
    Cosignature,
    cosign,
)
from provledger.services.proofs import CheckpointSource, build_proof_bundle
from provledger.store.engine import create_store_engine
from provledger.store.index import IndexStore

ROOT: Final = Path(__file__).resolve().parents[1]
OUT: Final = ROOT / "docs" / "proof-vectors"
#: 2026-01-01 00:00:00 UTC: the genesis block's time on both chains.
GENESIS_TIME: Final = 1_767_225_600
#: Seconds between blocks: block n is mined at GENESIS_TIME + n * BLOCK_INTERVAL.
BLOCK_INTERVAL: Final = 12
TARGET_CHAIN: Final = 31338
#: The source chain id a decoy checkpoint names.
OTHER_SOURCE: Final = 1
#: The signed registration's deadline: a year after genesis.
DEADLINE: Final = GENESIS_TIME + 365 * 24 * 3600
#: Participants of the scenario: dev account -> jurisdiction.
PARTICIPANTS: Final = {5: "CN", 6: "CN", 7: "HK"}
RELAYER: Final = 11
#: An account that takes part in nothing: the address put in place of another.
OTHER: Final = dev_account(12).address
#: The witnesses a verifier knows, a witness it does not, and a known one who did not co-sign.
WITNESSES: Final = (dev_account(14), dev_account(15))
STRANGER: Final = dev_account(16)
SILENT: Final = dev_account(17).address
BATCH_SIZE: Final = 5
PROMOTED_LEAF: Final = 2
KINDS: Final = ("direct", "signed", "batch")
#: The checks in order; merkle and anchor for a batch leaf only, checkpoint and witnesses for
#: a bundle with checkpoint evidence (or a policy that requires co-signatures).
CHECKS: Final = (
    "chain",
    "receipt",
    "block",
    "event",
    "contract",
    "merkle",
    "anchor",
    "state",
    "checkpoint",
    "witnesses",
)


def sha256(text: str) -> bytes:
    """SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode()).digest()


def _registration(label: str, content_hash: bytes | None = None) -> Registration:
    content = content_hash if content_hash is not None else sha256(f"proof vector: {label}")
    return Registration(
        content_hash=content,
        metadata_uri=f"ipfs://bafyproofvector/{label}.json",
        metadata_hash=sha256(f"proof vector metadata: {label}"),
        category=101,
        grade=1,
    )


# ---------------------------------------------------------------- the chains


@contextmanager
def chain_node(chain_id: int) -> Iterator[AnvilNode]:
    """A fresh anvil node that mines block n at ``GENESIS_TIME + n * BLOCK_INTERVAL``."""
    node = AnvilNode(chain_id=chain_id, extra_args=("--timestamp", str(GENESIS_TIME))).start()
    try:
        _rpc(node.web3(), "anvil_setBlockTimestampInterval", BLOCK_INTERVAL)
        yield node
    finally:
        node.stop()


def _rpc(w3: Web3, method: str, *params: Any) -> Any:
    answer = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    if "error" in answer:  # a vector built on a chain that did not do this would be wrong
        raise RuntimeError(f"{method} failed: {answer['error']}")
    return answer.get("result")


def _mine(w3: Web3, blocks: int) -> None:
    DevChain(w3).mine(blocks)


def play(w3: Web3) -> tuple[Deployment, dict[str, int]]:
    """Deploy, register the participants, then one asset of each kind; three blocks on top."""
    admin = dev_account(DEV_ROLES["admin"])
    deployment = deploy(w3, admin, notice_period=24 * 3600, grants=dev_role_grants())
    ledger = Provledger(w3, deployment, admin)
    registrar = ledger.as_account(dev_account(DEV_ROLES["registrar"]))
    for index, jurisdiction in PARTICIPANTS.items():
        address = dev_account(index).address
        registrar.registry.register_participant(address, jurisdiction, sha256(f"name {index}"))
    alice = ledger.as_account(dev_account(5))
    carol = ledger.as_account(dev_account(7))
    receipts = {"direct": alice.registry.register(_registration("direct"))}
    signed = alice.registry.sign(_registration("signed"), dev_account(6), deadline=DEADLINE)
    relayer = ledger.as_account(dev_account(RELAYER))
    receipts["signed"] = relayer.registry.register_with_signature(signed)
    leaves = [sha256(f"proof vector: batch leaf {i}") for i in range(BATCH_SIZE)]
    tree = StandardMerkleTree.batch(leaves)
    carol.anchor.anchor(tree.root, BATCH_SIZE, "ipfs://bafyproofvector/batch-manifest.json")
    leaf = leaves[PROMOTED_LEAF]
    receipts["batch"] = carol.anchor.promote(
        tree.root, tree.proof_for([leaf]), _registration("batch", content_hash=leaf)
    )
    _mine(w3, 3)  # the state block lies past every registration
    return deployment, {kind: r.event(AssetRegistered).asset_id for kind, r in receipts.items()}


def _checkpoint(source: Web3, client: CheckpointClient, source_chain_id: int) -> dict[str, Any]:
    """Checkpoint the source chain's blocks 1 to its head, as checkpoint 1 of
    ``source_chain_id`` in ``client``'s contract; where its log is (as evidence states it)."""
    last = int(source.eth.block_number)
    hashes = [bytes(source.eth.get_block(n)["hash"]) for n in range(1, last + 1)]
    parent = bytes(source.eth.get_block(0)["hash"])
    root = BlockHashTree.of(1, hashes).root
    receipt = client.submit(source_chain_id, 1, last, parent, hashes[-1], root)
    (log,) = (log for log in receipt.logs if log.topics[0] == CheckpointSubmitted.TOPIC0)
    return {
        "transaction_hash": "0x" + receipt.tx_hash.hex(),
        "block_number": receipt.block_number,
        "block_hash": "0x" + receipt.block_hash.hex(),
        "log_index": log.log_index,
    }


def _evidence(target: Web3, contract: str) -> CheckpointSource:
    """The checkpoints of ``contract``, each co-signed by the two witnesses and the stranger."""
    ledger = CheckpointLedger(target, Web3.to_checksum_address(contract))
    signers: tuple[LocalAccount, ...] = (*WITNESSES, STRANGER)

    def cosignatures(checkpoint: Checkpoint) -> list[Cosignature]:
        return [cosign(checkpoint, ledger.venue, account) for account in signers]

    return CheckpointSource(ledger, cosignatures)


@contextmanager
def indexed(node: AnvilNode, deployment: Deployment) -> Iterator[Engine]:
    """The chain of ``node`` indexed into a temporary SQLite file."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_store_engine(f"sqlite:///{Path(folder) / 'index.sqlite'}")
        try:
            config = IndexerConfig(confirmations=1, finality_depth=2, fetch_process=False)
            scanner = Scanner(
                JsonRpcSource(node.url), IndexStore(engine), deployment, config=config
            )
            scanner.run(once=True, wait_for_lock=False)
            yield engine
        finally:
            engine.dispose()


@dataclass
class Built:
    """The bundles, and the evidence sections that go elsewhere."""

    bundles: dict[str, dict[str, Any]]
    """By name: ``direct``, ``signed``, ``batch`` (version 1) and ``<kind>-v2``."""
    abandoned: dict[str, Any]
    """The direct asset's evidence from the abandoned history's checkpoint."""
    decoy: dict[str, Any]
    """The direct asset's evidence pointing at the checkpoint of another source chain."""
    contracts: dict[str, ChecksumAddress] = field(default_factory=dict)
    """The Checkpoint contracts on the target chain: ``abandoned`` and ``kept``."""


def build(source: AnvilNode, target: AnvilNode) -> Built:
    """Play the scenario on both chains and build every bundle."""
    w3, tw3 = source.web3(), target.web3()
    deployment, assets = play(w3)
    sender = Sender(tw3, dev_account(0))
    contracts = {name: deploy_checkpoint(tw3, sender) for name in ("abandoned", "kept")}
    fork = DevChain(w3).snapshot()
    _mine(w3, 3)  # blocks 40 to 42 of the history the source chain abandons
    _checkpoint(w3, CheckpointClient(tw3, contracts["abandoned"], sender), ANVIL_CHAIN_ID)
    with indexed(source, deployment) as engine:
        evidence = _evidence(tw3, contracts["abandoned"])
        old = build_proof_bundle(engine, w3, deployment, assets["direct"], checkpoints=evidence)
    DevChain(w3).revert(fork)
    payer, payee = dev_account(19), dev_account(18)
    tx = w3.eth.send_transaction({"from": payer.address, "to": payee.address, "value": Wei(1)})
    w3.eth.wait_for_transaction_receipt(tx)
    _mine(w3, 2)  # blocks 40 to 42 now
    kept = CheckpointClient(tw3, contracts["kept"], sender)
    _checkpoint(w3, kept, ANVIL_CHAIN_ID)
    decoy = _checkpoint(w3, kept, OTHER_SOURCE)
    bundles = {}
    with indexed(source, deployment) as engine:
        evidence = _evidence(tw3, contracts["kept"])
        for kind, asset in assets.items():
            bundles[kind] = build_proof_bundle(engine, w3, deployment, asset)
            bundles[f"{kind}-v2"] = build_proof_bundle(
                engine, w3, deployment, asset, checkpoints=evidence
            )
    decoy = {**bundles["direct-v2"]["checkpoint"], **decoy}
    return Built(bundles, old["checkpoint"], decoy, contracts)


# ---------------------------------------------------------------- alterations


def flip(value: str) -> str:
    """The same hex with its last digit changed."""
    return value[:-1] + ("1" if value[-1] != "1" else "2")


def flip_at(digit: int) -> Callable[[str], str]:
    """A change of the hex digit ``digit`` (after ``0x``)."""

    def changed(value: str) -> str:
        at = 2 + digit
        return value[:at] + ("1" if value[at] != "1" else "2") + value[at + 1 :]

    return changed


def plus_one(value: int) -> int:
    return value + 1


def minus_one(value: int) -> int:
    return value - 1


def to(value: object) -> Callable[[Any], Any]:
    """A change to ``value``, whatever the field held."""
    return lambda _: copy.deepcopy(value)


@dataclass(frozen=True)
class Options:
    """What a verifier is given besides the bundle and the source chain's node."""

    target_node: bool = True
    """The target chain's node (for the checkpoint check)."""
    witnesses: tuple[str, ...] = ()
    """The witnesses it knows."""
    witnesses_required: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "target_node": self.target_node,
            "witnesses": list(self.witnesses),
            "witnesses_required": self.witnesses_required,
        }


KNOWN: Final = tuple(account.address for account in WITNESSES)


@dataclass(frozen=True)
class Alteration:
    """One field of one bundle changed (or one option), and what it must make of the checks."""

    bundle: str
    """The bundle altered (a key of :attr:`Built.bundles`)."""
    path: str
    """The field: a dotted path, list items by number (``batch.proof.0``); ``""`` for none."""
    change: Callable[[Any], Any]
    what: str
    """The change in words."""
    failing: tuple[str, ...] = ()
    """The checks that must fail; every other check that runs passes."""
    refused_at: str | None = None
    """For a bundle the format refuses: the field the refusal names."""
    options: Options = Options()
    name: str = ""
    """The file's name, when not ``<bundle>--<path>``."""

    @property
    def file_name(self) -> str:
        return self.name or f"{self.bundle}--{self.path}"


def _a(
    bundle: str, path: str, change: Callable[[Any], Any], what: str, *failing: str
) -> Alteration:
    return Alteration(bundle, path, change, what, failing)


def _m(bundle: str, path: str, change: Callable[[Any], Any], what: str, at: str) -> Alteration:
    return Alteration(bundle, path, change, what, refused_at=at)


def _same(value: Any) -> Any:
    return value


#: What a changed raw topic fails: the receipt holds other topics, the log decodes to other
#: values, and no log of the transaction has them (so no contract emitted it).
LOG_COPIES: Final = ("receipt", "event", "contract")
#: What a change of the checkpoint's signed fields fails: the target chain holds another
#: checkpoint, and no co-signature is of this one.
SIGNED_FIELDS: Final = ("checkpoint", "witnesses")
UNKNOWN_TX: Final = ("receipt", "block", "contract")

V1_ALTERATIONS: Final[tuple[Alteration, ...]] = (
    _a("direct", "chain_id", to(1), "another chain", "chain"),
    _a("direct", "asset_id", flip, "another asset id", "event"),
    _a("direct", "content_hash", flip, "another content hash", "event"),
    _a("direct", "channel", to("SIGNED"), "another channel", "event"),
    _a("direct", "contracts.DataAssetRegistry.address", to(OTHER), "an account", "contract"),
    _a("direct", "contracts.DataAssetRegistry.code_hash", flip, "other code", "contract"),
    _a("direct", "registration.transaction_hash", flip, "an unknown transaction", *UNKNOWN_TX),
    _a("direct", "registration.transaction_index", plus_one, "another position", "receipt"),
    _a("direct", "registration.block_number", plus_one, "another block", "block"),
    _a("direct", "registration.block_hash", flip, "another block hash", "block"),
    _a("direct", "registration.log_index", plus_one, "the log after it", "receipt"),
    _a("direct", "registration.topics.0", flip, "another event signature", *LOG_COPIES),
    _a("direct", "registration.topics.1", flip, "another asset id", *LOG_COPIES, "state"),
    _a("direct", "registration.topics.2", flip, "another registrant", *LOG_COPIES),
    _a("direct", "registration.topics.3", flip, "another content hash", *LOG_COPIES),
    _a("direct", "registration.data", flip_at(127), "the grade word", *LOG_COPIES),
    Alteration(
        "direct",
        "registration.data",
        flip,
        "the last byte of the string's padding, which decodes to the same values",
        ("receipt", "contract"),
        name="direct--registration.data--padding",
    ),
    _a("direct", "registration.args.asset_id", flip, "another asset id", "event"),
    _a("direct", "registration.args.registrant", to(OTHER), "another registrant", "event"),
    _a("direct", "registration.args.content_hash", flip, "another content hash", "event"),
    _a("direct", "registration.args.category", plus_one, "another category", "event"),
    _a("direct", "registration.args.grade", plus_one, "another grade", "event"),
    Alteration(
        "direct",
        "registration.args.grade",
        float,
        "the grade written as 1.0",
        ("event",),
        name="direct--registration.args.grade--fraction",
    ),
    _a("direct", "registration.args.metadata_hash", flip, "another metadata hash", "event"),
    _a("direct", "registration.args.metadata_uri", to("ipfs://forged"), "another URI", "event"),
    _a("direct", "registration.args.channel", to("BATCH"), "another channel", "event"),
    _a("direct", "registration.args.submitter", to(OTHER), "another submitter", "event"),
    _a("direct", "state.block_number", minus_one, "an earlier block", "state"),
    _a("direct", "state.block_hash", flip, "another block hash", "state"),
    _a("direct", "state.asset", to(None), "no record", "state"),
    _a("direct", "state.asset.registrant", to(OTHER), "another registrant", "state"),
    _a("direct", "state.asset.registered_at", plus_one, "a second later", "state"),
    _a("direct", "state.asset.category", plus_one, "another category", "state"),
    _a("direct", "state.asset.grade", plus_one, "another grade", "state"),
    _a("direct", "state.asset.status", to("CERTIFIED"), "another status", "state"),
    _a("direct", "state.asset.under_objection", to(True), "under objection", "state"),
    _a("direct", "state.asset.frozen", to(True), "frozen", "state"),
    _a("direct", "state.asset.metadata_version", plus_one, "a later version", "state"),
    _a("direct", "state.asset.holder", to(OTHER), "another holder", "state"),
    _a("direct", "state.asset.metadata_hash", flip, "another metadata hash", "state"),
    _a("signed", "channel", to("DIRECT"), "another channel", "event"),
    _a("signed", "registration.args.submitter", to(dev_account(6).address), "the signer", "event"),
    _a(
        "signed",
        "registration.args.registrant",
        to(dev_account(RELAYER).address),
        "the relayer",
        "event",
    ),
    _a("signed", "registration.block_hash", flip, "another block hash", "block"),
    _a("signed", "registration.log_index", plus_one, "the log after it", "receipt"),
    _a("batch", "content_hash", flip, "another content hash", "event"),
    _a("batch", "channel", to("DIRECT"), "another channel (the batch section stays)", "event"),
    _a("batch", "batch.root", flip, "another root", "event", "merkle", "anchor"),
    _a("batch", "batch.leaf", flip, "another leaf", "merkle"),
    _a("batch", "batch.proof.0", flip, "another first sibling", "merkle"),
    _a("batch", "batch.proof.1", flip, "another second sibling", "merkle"),
    _a("batch", "batch.proof", lambda path: path[:-1], "the last sibling dropped", "merkle"),
    _a("batch", "contracts.BatchAnchor.address", to(OTHER), "an account", "contract"),
    _a("batch", "contracts.BatchAnchor.code_hash", flip, "other code", "contract"),
    _a("batch", "batch.promotion.transaction_hash", flip, "an unknown transaction", *UNKNOWN_TX),
    _a("batch", "batch.promotion.log_index", plus_one, "the log after it", "receipt"),
    _a("batch", "batch.promotion.block_hash", flip, "another block hash", "block"),
    _a("batch", "batch.promotion.topics.1", flip, "another root", *LOG_COPIES),
    _a("batch", "batch.promotion.args.content_hash", flip, "another content hash", "event"),
    _a("batch", "batch.promotion.args.root", flip, "another root", "event"),
    _a("batch", "batch.anchor.transaction_hash", flip, "an unknown transaction", *UNKNOWN_TX),
    _a("batch", "batch.anchor.block_number", minus_one, "another block", "block"),
    _a("batch", "batch.anchor.log_index", plus_one, "a log that is not there", "receipt"),
    _a("batch", "batch.anchor.args.submitter", to(OTHER), "another submitter", "event"),
    _a("batch", "batch.anchor.args.leaf_count", plus_one, "another leaf count", "event"),
    _a("batch", "batch.anchor.args.manifest_uri", to("ipfs://other"), "another URI", "event"),
    _a("batch", "registration.args.channel", to("DIRECT"), "another channel", "event"),
    _a("batch", "state.batch", to(None), "not anchored", "anchor"),
    _a("batch", "state.batch.submitter", to(OTHER), "another submitter", "anchor"),
    _a("batch", "state.batch.leaf_count", plus_one, "another leaf count", "anchor"),
    _a("batch", "state.batch.anchored_at", plus_one, "a second later", "anchor"),
    _a("batch", "state.asset.frozen", to(True), "frozen", "state"),
)

V1_MALFORMED: Final[tuple[Alteration, ...]] = (
    _m("direct", "version", to("provledger-proof/0"), "an unknown version", "version"),
    _m("direct", "chain_id", float, "the chain id written as 31337.0", "chain_id"),
    _m(
        "direct",
        "registration.log_index",
        str,
        "a number written as text",
        "registration.log_index",
    ),
    _m(
        "direct", "registration.block_hash", lambda h: h[:-2], "31 bytes", "registration.block_hash"
    ),
    _m(
        "direct",
        "registration.topics.1",
        lambda h: h[2:],
        "hex without 0x",
        "registration.topics[1]",
    ),
    _m("direct", "content_hash", str.upper, "upper-case hex", "content_hash"),
    _m(
        "direct", "registration.event", to("Transfer"), "another event's name", "registration.event"
    ),
    _m(
        "direct",
        "registration.args.category",
        str,
        "a number written as text",
        "registration.args.category",
    ),
    _m("direct", "state.asset.status", to("REGISTERED"), "no such status", "state.asset.status"),
    _m("direct", "state", to(None), "no state", "state"),
    _m("batch", "batch", to(None), "a batch asset without its batch section", "batch"),
    Alteration(
        "direct",
        "",
        lambda bundle: {**bundle, "note": "unchecked"},
        "a field the format does not have",
        refused_at="note",
        name="direct--note",
    ),
)

V2_ALTERATIONS: Final[tuple[Alteration, ...]] = (
    _a("direct-v2", "checkpoint.chain_id", plus_one, "another target chain", *SIGNED_FIELDS),
    _a("direct-v2", "checkpoint.contract.code_hash", flip, "other code", "checkpoint"),
    _a("direct-v2", "checkpoint.transaction_hash", flip, "an unknown transaction", "checkpoint"),
    _a("direct-v2", "checkpoint.block_number", plus_one, "another target block", "checkpoint"),
    _a("direct-v2", "checkpoint.block_hash", flip, "another target block hash", "checkpoint"),
    _a("direct-v2", "checkpoint.log_index", plus_one, "a log that is not there", "checkpoint"),
    _a("direct-v2", "checkpoint.sequence", plus_one, "another checkpoint", *SIGNED_FIELDS),
    _a("direct-v2", "checkpoint.from_block", plus_one, "other blocks", *SIGNED_FIELDS),
    _a("direct-v2", "checkpoint.to_block", minus_one, "other blocks", *SIGNED_FIELDS),
    _a("direct-v2", "checkpoint.to_block_hash", flip, "another last block", *SIGNED_FIELDS),
    _a("direct-v2", "checkpoint.root", flip, "another root", *SIGNED_FIELDS),
    _a("direct-v2", "checkpoint.block.number", plus_one, "another source block", "checkpoint"),
    _a("direct-v2", "checkpoint.block.hash", flip, "another source block hash", "checkpoint"),
    _a("direct-v2", "checkpoint.proof.0", flip, "another first sibling", "checkpoint"),
    _a(
        "direct-v2",
        "checkpoint.proof",
        lambda path: path[:-1],
        "the last sibling dropped",
        "checkpoint",
    ),
    _a(
        "direct-v2",
        "checkpoint.witnesses.0.witness",
        to(WITNESSES[1].address),
        "another witness named",
        "witnesses",
    ),
    _a("direct-v2", "checkpoint.witnesses.0.signature", flip_at(80), "another s", "witnesses"),
    _a("direct-v2", "chain_id", to(1), "another source chain", "chain", *SIGNED_FIELDS),
    _a("direct-v2", "registration.block_hash", flip, "another block hash", "block", "checkpoint"),
    _a("signed-v2", "checkpoint.block.number", minus_one, "another source block", "checkpoint"),
    _a("batch-v2", "checkpoint.proof.0", flip, "another first sibling", "checkpoint"),
    Alteration(
        "direct-v2",
        "checkpoint.contract.address",
        to(None),
        "the Checkpoint contract of the abandoned history",
        SIGNED_FIELDS,
        name="direct-v2--checkpoint.contract",
    ),
    Alteration(
        "direct-v2",
        "checkpoint",
        to(None),
        "the checkpoint of a history the source chain rewrote after it",
        ("checkpoint",),
        name="direct-v2--rewritten",
    ),
    Alteration(
        "direct-v2",
        "checkpoint",
        to(None),
        "the checkpoint of another source chain",
        ("checkpoint",),
        name="direct-v2--another-source-chain",
    ),
    Alteration(
        "direct-v2",
        "",
        _same,
        "no target-chain node given",
        ("checkpoint",),
        options=Options(target_node=False),
        name="direct-v2--no-target-node",
    ),
    Alteration(
        "direct-v2",
        "",
        _same,
        "both known witnesses required",
        (),
        options=Options(witnesses=KNOWN, witnesses_required=2),
        name="direct-v2--two-of-two",
    ),
    Alteration(
        "direct-v2",
        "",
        _same,
        "one known witness required; the stranger not counted",
        (),
        options=Options(witnesses=KNOWN[:1], witnesses_required=1),
        name="direct-v2--one-of-one",
    ),
    Alteration(
        "direct-v2",
        "",
        _same,
        "three known witnesses required, one never co-signed",
        ("witnesses",),
        options=Options(witnesses=(*KNOWN, SILENT), witnesses_required=3),
        name="direct-v2--three-of-three",
    ),
    Alteration(
        "direct-v2",
        "checkpoint.witnesses",
        to([]),
        "no co-signatures, one required",
        ("witnesses",),
        options=Options(witnesses=KNOWN, witnesses_required=1),
        name="direct-v2--no-cosignatures",
    ),
    Alteration(
        "direct-v2",
        "checkpoint",
        to(None),
        "no evidence, a co-signature required",
        SIGNED_FIELDS,
        options=Options(witnesses=KNOWN, witnesses_required=1),
        name="direct-v2--no-evidence",
    ),
)

V2_MALFORMED: Final[tuple[Alteration, ...]] = (
    Alteration(
        "direct",
        "",
        lambda bundle: {**bundle, "checkpoint": None},
        "version 1 with a checkpoint field",
        refused_at="checkpoint",
        name="direct--checkpoint",
    ),
    Alteration(
        "direct-v2",
        "",
        lambda bundle: {k: v for k, v in bundle.items() if k != "checkpoint"},
        "version 2 without its checkpoint field",
        refused_at="checkpoint",
        name="direct-v2--checkpoint-missing",
    ),
    _m("direct-v2", "checkpoint.sequence", to(0), "sequence 0", "checkpoint.sequence"),
    _m(
        "direct-v2",
        "checkpoint.witnesses.0.signature",
        lambda s: s[:-2],
        "64 bytes",
        "checkpoint.witnesses[0].signature",
    ),
    _m(
        "direct-v2",
        "checkpoint.block",
        lambda block: {"number": block["number"]},
        "no hash",
        "checkpoint.block.hash",
    ),
)

ALTERATIONS: Final = (*V1_ALTERATIONS, *V1_MALFORMED, *V2_ALTERATIONS, *V2_MALFORMED)


def _set(bundle: dict[str, Any], path: str, change: Callable[[Any], Any]) -> dict[str, Any]:
    """A copy of ``bundle`` with the value at ``path`` changed (the path ``""``: the whole
    bundle; a top-level ``batch`` changed to None is removed)."""
    result = copy.deepcopy(bundle)
    if not path:
        changed: dict[str, Any] = change(result)
        return changed
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    node[key] = change(node[key])
    if last == "batch" and node[key] is None and not parents:
        del node[key]  # the section is gone, not null
    if json.dumps(result) == json.dumps(bundle):
        raise ValueError(f"altering {path} changed nothing")
    return result


def written(bundle: dict[str, Any]) -> str:
    """A bundle as ``provledger proof`` writes it."""
    return json.dumps(bundle, indent=2) + "\n"


def applicable(bundle: dict[str, Any], options: Options) -> list[str]:
    """The checks a verifier runs on ``bundle`` given ``options``, in order."""
    batch = "batch" in bundle or bundle.get("channel") == "BATCH"
    evidence = bundle.get("checkpoint") is not None or options.witnesses_required > 0
    return [
        name
        for name in CHECKS
        if (batch or name not in ("merkle", "anchor"))
        and (evidence or name not in ("checkpoint", "witnesses"))
    ]


def _altered(built: Built, alteration: Alteration) -> dict[str, Any]:
    base = built.bundles[alteration.bundle]
    special = {
        "direct-v2--rewritten": built.abandoned,
        "direct-v2--another-source-chain": built.decoy,
    }
    if alteration.file_name in special:
        return {**base, "checkpoint": special[alteration.file_name]}
    if alteration.file_name == "direct-v2--checkpoint.contract":
        changed = copy.deepcopy(base)
        changed["checkpoint"]["contract"]["address"] = built.abandoned["contract"]["address"]
        return changed
    if alteration.change is _same:
        return copy.deepcopy(base)
    return _set(base, alteration.path, alteration.change)


def vector_files(built: Built) -> dict[str, str]:
    """Every file of the vectors directory (path -> text), the manifest ``vectors.json`` last."""
    bundles = dict(built.bundles)
    bundles["direct-v2-pending"] = {**bundles["direct-v2"], "checkpoint": None}
    files = {f"valid/{name}.json": written(bundle) for name, bundle in bundles.items()}
    vectors: list[dict[str, Any]] = [
        {
            "file": f"valid/{name}.json",
            "field": None,
            "change": None,
            "options": Options().to_json(),
            "verdict": dict.fromkeys(applicable(bundle, Options()), True),
        }
        for name, bundle in bundles.items()
    ]
    for alteration in ALTERATIONS:
        changed = _altered(built, alteration)
        folder = "malformed" if alteration.refused_at else "altered"
        file = f"{folder}/{alteration.file_name}.json"
        if file in files:
            raise ValueError(f"two vectors are named {file}")
        files[file] = written(changed)
        entry: dict[str, Any] = {
            "file": file,
            "from": f"valid/{alteration.bundle}.json",
            "field": alteration.path or None,
            "change": alteration.what,
            "options": alteration.options.to_json(),
        }
        if alteration.refused_at:
            entry["refused_at"] = alteration.refused_at
        else:
            unknown = set(alteration.failing) - set(CHECKS)
            if unknown:
                raise ValueError(f"{alteration.file_name}: no check {unknown}")
            names = applicable(changed, alteration.options)
            entry["verdict"] = {name: name not in alteration.failing for name in names}
        vectors.append(entry)
    chain = {"node": "anvil", "mnemonic": DEV_MNEMONIC, "genesis_timestamp": GENESIS_TIME}
    manifest = {
        "format": ["provledger-proof/1", "provledger-proof/2"],
        "replay": "python scripts/proof_vectors.py --serve",
        "chains": {
            "source": {**chain, "chain_id": ANVIL_CHAIN_ID, "block_interval": BLOCK_INTERVAL},
            "target": {**chain, "chain_id": TARGET_CHAIN, "block_interval": BLOCK_INTERVAL},
        },
        "checkpoint_contracts": built.contracts,
        "witnesses": {
            "known": list(KNOWN),
            "stranger": STRANGER.address,
            "known_but_silent": SILENT,
        },
        "vectors": vectors,
    }
    files["vectors.json"] = json.dumps(manifest, indent=2) + "\n"
    return files


def write(out: Path, files: dict[str, str]) -> None:
    """Write ``files`` under ``out``, removing the JSON files of the vectors no longer made."""
    for stale in sorted(out.glob("*/*.json")):
        if str(stale.relative_to(out)) not in files:
            stale.unlink()
    for name, text in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the vectors")
    parser.add_argument("--serve", action="store_true", help="keep the chains running")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    with ExitStack() as stack:
        source = stack.enter_context(chain_node(ANVIL_CHAIN_ID))
        target = stack.enter_context(chain_node(TARGET_CHAIN))
        files = vector_files(build(source, target))
        write(args.out, files)
        print(f"wrote {len(files)} files to {args.out}", flush=True)
        if args.serve:
            print(f"serving chain {TARGET_CHAIN} at {target.url}", flush=True)
            print(f"serving chain {ANVIL_CHAIN_ID} at {source.url}", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
