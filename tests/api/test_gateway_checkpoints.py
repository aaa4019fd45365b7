"""The gateway's checkpoint routes, its read-only JSON-RPC passthrough and the checkpoint
evidence of its proof bundles, on two anvil chains.

The source chain (31337) holds the registry, with two assets registered and indexed; the target
chain (31338) holds a Checkpoint contract with two checkpoints of the source chain's blocks,
submitted directly (a real block-hash tree over the source node's own blocks). The first asset's
block is in the second checkpoint; the second asset was registered after it. Answers are
compared with what the chains say: the CheckpointSubmitted events of the submissions' receipts,
``checkpointOf``, the target blocks, and the nodes' own JSON-RPC answers.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from helpers.checkpointing import node_tree
from helpers.indexing import index
from helpers.required import start_anvil
from helpers.world import World, build_world
from provledger.api.app import create_app
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import AnvilNode, free_port
from provledger.chain.client import CheckpointClient
from provledger.chain.connection import rpc_chain
from provledger.chain.deploy import deploy_checkpoint
from provledger.chain.events import CheckpointSubmitted
from provledger.chain.transactions import Receipt, Sender
from provledger.config import Settings
from provledger.services.checkpoints import (
    Checkpoint,
    CheckpointVenue,
    Cosignature,
    cosign,
)
from provledger.services.proofs import verify_proof_bundle
from provledger.services.proofs.checkpointed import WitnessPolicy

pytestmark = pytest.mark.anvil

SOURCE_CHAIN: Final = 31337
TARGET_CHAIN: Final = 31338
#: secp256k1's group order: (r, n - s) with the other v is the same key's other signature.
SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
WITNESS: Final = Account.from_key(b"\x0a" * 32)
OTHER_WITNESS: Final = Account.from_key(b"\x0b" * 32)
PROBLEM: Final = "urn:provledger:problem:"


@dataclass(frozen=True)
class Chains:
    """The two chains after the set-up, and what was done on them."""

    source: AnvilNode
    target: AnvilNode
    world: World
    target_w3: Web3
    contract: ChecksumAddress
    receipts: tuple[Receipt, ...]  # the submissions, by sequence
    covered: int  # the asset in checkpoint 2
    uncovered: int  # the asset registered after it
    folder: Path
    database_url: str

    @property
    def venue(self) -> CheckpointVenue:
        return CheckpointVenue(TARGET_CHAIN, self.contract)

    def checkpoint(self, sequence: int) -> Checkpoint:
        return Checkpoint.of_event(self.receipts[sequence - 1].event(CheckpointSubmitted))


def _submit(client: CheckpointClient, w3: Web3, first: int, last: int, parent: bytes) -> Receipt:
    tree = node_tree(w3, first, last)
    return client.submit(SOURCE_CHAIN, first, last, parent, tree.hash_of(last), tree.root)


@pytest.fixture(scope="module")
def chains(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chains]:
    """The source chain with two assets indexed, the target chain with two checkpoints."""
    source = start_anvil()
    target: AnvilNode | None = None
    try:
        target = start_anvil(chain_id=TARGET_CHAIN)
        world = build_world(source.web3())
        covered = world.register(world.alice)
        world.chain.mine(3)
        target_w3 = target.web3()
        sender = Sender(target_w3, dev_account(0))
        contract = deploy_checkpoint(target_w3, sender)
        client = CheckpointClient(target_w3, contract, sender)
        w3 = world.w3
        split = int(w3.eth.block_number) - 6
        head = int(w3.eth.block_number)
        first = _submit(client, w3, 1, split, bytes(32))
        second = _submit(client, w3, split + 1, head, bytes(w3.eth.get_block(split)["hash"]))
        uncovered = world.register(world.bob)
        folder = tmp_path_factory.mktemp("checkpoints")
        database_url = f"sqlite:///{folder / 'index.sqlite'}"
        index(w3, world.deployment, database_url)
        world.deployment.save(folder / "deployments")
        yield Chains(
            source,
            target,
            world,
            target_w3,
            contract,
            (first, second),
            covered,
            uncovered,
            folder,
            database_url,
        )
    finally:
        source.stop()
        if target is not None:
            target.stop()


def _settings(chains: Chains, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": chains.database_url,
        "deployments_dir": chains.folder / "deployments",
        "blob_dir": chains.folder / "blobs",
        "checkpoint_rpc_url": chains.target.url,
        "checkpoint_contract": chains.contract,
        "checkpoint_database_url": str(tmp_path / "cosignatures.sqlite"),
        "rpc_timeout": 5.0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def gateway(chains: Chains, tmp_path: Path) -> Iterator[TestClient]:
    """A gateway with checkpoints configured and a store of co-signatures of its own."""
    app = create_app(_settings(chains, tmp_path), w3=rpc_chain(chains.source.url, check=False))
    with TestClient(app) as client:
        yield client


def _expected(chains: Chains, sequence: int, count: int) -> dict[str, Any]:
    """Checkpoint ``sequence`` as the chains say it."""
    receipt = chains.receipts[sequence - 1]
    event = receipt.event(CheckpointSubmitted)
    (log,) = chains.target_w3.eth.get_transaction_receipt(HexBytes(receipt.tx_hash))["logs"]
    block = chains.target_w3.eth.get_block(log["blockHash"])
    commitment = CheckpointClient(chains.target_w3, chains.contract, None).checkpoint_of(
        SOURCE_CHAIN, sequence
    )
    assert commitment == chains.checkpoint(sequence).commitment
    time = datetime.fromtimestamp(block["timestamp"], UTC).isoformat().replace("+00:00", "Z")
    return {
        "source_chain_id": event.source_chain_id,
        "sequence": event.sequence,
        "from_block": event.from_block,
        "to_block": event.to_block,
        "to_block_hash": "0x" + event.to_block_hash.hex(),
        "root": "0x" + event.root.hex(),
        "target_chain_id": TARGET_CHAIN,
        "contract": chains.contract,
        "transaction_hash": "0x" + bytes(log["transactionHash"]).hex(),
        "block_number": log["blockNumber"],
        "block_hash": "0x" + bytes(log["blockHash"]).hex(),
        "log_index": log["logIndex"],
        "submitter": event.submitter,
        "time": time,
        "cosignature_count": count,
    }


def _post(client: TestClient, sequence: int, body: Any) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        f"/checkpoints/{sequence}/cosignatures",
        content=content,
        headers={"Content-Type": "application/json"},
    )


def _cosignature(chains: Chains, sequence: int, witness: LocalAccount = WITNESS) -> Cosignature:
    return cosign(chains.checkpoint(sequence), chains.venue, witness)


def _problem(response: Any, status: int, rule: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    if rule is not None:
        assert body["type"] == PROBLEM + rule
    return body


# ------------------------------------------------------------------ the checkpoint routes


def test_checkpoints_are_the_target_chains_newest_first_a_page_at_a_time(
    chains: Chains, gateway: TestClient
) -> None:
    assert chains.checkpoint(1).from_block == 1
    assert chains.checkpoint(2).from_block == chains.checkpoint(1).to_block + 1
    whole = gateway.get("/checkpoints").json()
    assert whole == {
        "items": [_expected(chains, 2, 0), _expected(chains, 1, 0)],
        "next_cursor": None,
    }
    first = gateway.get("/checkpoints", params={"limit": 1}).json()
    assert first["items"] == [_expected(chains, 2, 0)]
    second = gateway.get("/checkpoints", params={"limit": 1, "cursor": first["next_cursor"]})
    assert second.json() == {"items": [_expected(chains, 1, 0)], "next_cursor": None}
    bad = _problem(gateway.get("/checkpoints", params={"cursor": "nonsense!"}), 400)
    assert bad["invalid_params"] == [
        {"name": "cursor", "reason": "not a cursor this gateway issued"}
    ]


def test_one_checkpoint_with_its_cosignatures_and_an_unknown_one(
    chains: Chains, gateway: TestClient
) -> None:
    assert gateway.get("/checkpoints/1").json() == {**_expected(chains, 1, 0), "cosignatures": []}
    assert gateway.get("/checkpoints/1/cosignatures").json() == []
    unknown = _problem(gateway.get("/checkpoints/3"), 404, "unknown-checkpoint")
    assert unknown["detail"] == f"the target chain holds no checkpoint 3 of chain {SOURCE_CHAIN}"
    assert unknown["invalid_params"][0]["name"] == "sequence"
    _problem(gateway.get("/checkpoints/3/cosignatures"), 404, "unknown-checkpoint")
    for bad in ("0", "+1", "x", str(2**63)):
        _problem(gateway.get(f"/checkpoints/{bad}"), 422)


def test_a_witness_cosignature_is_kept_once_and_shown_with_the_checkpoint(
    chains: Chains, gateway: TestClient
) -> None:
    given = _cosignature(chains, 2)
    before = datetime.now(UTC)
    created = _post(gateway, 2, given.to_json())
    assert created.status_code == 201, created.text
    kept = created.json()
    assert kept["witness"] == WITNESS.address
    assert kept["signature"] == "0x" + given.signature.hex()
    received = datetime.fromisoformat(kept["received_at"].replace("Z", "+00:00"))
    assert before.replace(microsecond=0) <= received <= datetime.now(UTC)
    again = _post(gateway, 2, {**given.to_json(), "witness": WITNESS.address.lower()})
    assert (again.status_code, again.json()) == (200, kept)
    other = _post(gateway, 2, _cosignature(chains, 2, OTHER_WITNESS).to_json())
    assert other.status_code == 201
    listed = gateway.get("/checkpoints/2/cosignatures").json()
    assert listed == [kept, other.json()]
    assert all(Cosignature.parse(item).holds(chains.checkpoint(2), chains.venue) for item in listed)
    assert gateway.get("/checkpoints/2").json() == {
        **_expected(chains, 2, 2),
        "cosignatures": listed,
    }
    counted = gateway.get("/checkpoints").json()["items"]
    assert [item["cosignature_count"] for item in counted] == [2, 0]


def test_cosignatures_that_do_not_hold_are_refused_and_nothing_is_kept(
    chains: Chains, gateway: TestClient
) -> None:
    impostor = Cosignature(WITNESS.address, _cosignature(chains, 2, OTHER_WITNESS).signature)
    refused = _problem(_post(gateway, 2, impostor.to_json()), 422, "cosignature-not-witness")
    described = chains.checkpoint(2).describe()
    assert refused["detail"] == (
        f"the signature recovers to {OTHER_WITNESS.address}, not to witness "
        f"{WITNESS.address}, over {described}"
    )
    assert refused["invalid_params"] == [{"name": "signature", "reason": refused["detail"]}]
    of_first = _cosignature(chains, 1)  # a signature of checkpoint 1, posted for checkpoint 2
    _problem(_post(gateway, 2, of_first.to_json()), 422, "cosignature-not-witness")
    elsewhere = cosign(
        chains.checkpoint(2), CheckpointVenue(SOURCE_CHAIN, chains.venue.contract), WITNESS
    )
    _problem(_post(gateway, 2, elsewhere.to_json()), 422, "cosignature-not-witness")
    no_point = Cosignature(WITNESS.address, b"\x00" * 64 + b"\x1b")
    nowhere = _problem(_post(gateway, 2, no_point.to_json()), 422, "cosignature-not-witness")
    assert nowhere["detail"].startswith("the signature recovers to no address, not to witness")
    unknown = _problem(_post(gateway, 3, _cosignature(chains, 2).to_json()), 404)
    assert unknown["type"] == PROBLEM + "unknown-checkpoint"
    assert gateway.get("/checkpoints/2/cosignatures").json() == []
    assert gateway.get("/checkpoints/1/cosignatures").json() == []


def test_malformed_cosignatures_are_refused_naming_the_field(
    chains: Chains, gateway: TestClient
) -> None:
    good = _cosignature(chains, 2).to_json()
    cases: list[tuple[Any, str]] = [
        ({"signature": good["signature"]}, "witness"),
        ({**good, "witness": "0x1234"}, "witness"),
        ({**good, "signature": good["signature"][:-2]}, "signature"),
        ({**good, "signature": 7}, "signature"),
        ([good], "body"),
    ]
    for body, field in cases:
        refused = _problem(_post(gateway, 2, body), 400, "malformed-cosignature")
        assert [item["name"] for item in refused["invalid_params"]] == [field], body
    _problem(_post(gateway, 2, b"{not json"), 400)
    too_large = _problem(_post(gateway, 2, b" " * 5000), 413)
    assert too_large["invalid_params"][0]["name"] == "body"
    assert gateway.get("/checkpoints/2/cosignatures").json() == []


def test_another_signature_by_a_witness_already_kept_is_refused(
    chains: Chains, gateway: TestClient
) -> None:
    given = _cosignature(chains, 2)
    kept = _post(gateway, 2, given.to_json()).json()
    r, s, v = (
        given.signature[:32],
        int.from_bytes(given.signature[32:64], "big"),
        given.signature[64],
    )
    twin = Cosignature(WITNESS.address, r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v]))
    assert twin.holds(chains.checkpoint(2), chains.venue)  # valid, yet not the one kept
    refused = _problem(_post(gateway, 2, twin.to_json()), 409, "cosignature-conflict")
    assert refused["detail"] == (
        f"witness {WITNESS.address} already co-signed checkpoint 2 of chain {SOURCE_CHAIN} with "
        "another signature; the gateway keeps one per witness"
    )
    assert gateway.get("/checkpoints/2/cosignatures").json() == [kept]


def test_without_checkpoints_configured_the_routes_are_absent(
    chains: Chains, tmp_path: Path
) -> None:
    settings = _settings(chains, tmp_path, checkpoint_rpc_url=None, checkpoint_contract=None)
    app = create_app(settings, w3=rpc_chain(chains.source.url, check=False))
    with TestClient(app) as client:
        paths = client.get("/openapi.json").json()["paths"]
        assert [path for path in paths if "checkpoint" in path] == []
        assert "/rpc" in paths
        _problem(client.get("/checkpoints"), 404)
        _problem(client.post("/rpc/checkpoint", json={}), 404)


def test_a_target_node_that_does_not_answer_is_a_503(chains: Chains, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    settings = _settings(chains, tmp_path, checkpoint_rpc_url=down)
    app = create_app(settings, w3=rpc_chain(chains.source.url, check=False))
    with TestClient(app) as client:
        for response in (
            client.get("/checkpoints"),
            client.get("/checkpoints/1"),
            _post(client, 1, _cosignature(chains, 1).to_json()),
            client.post(
                "/rpc/checkpoint", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
            ),
            client.get(f"/assets/{chains.covered:#066x}/proof"),
        ):
            problem = _problem(response, 503)
            assert problem["detail"] == (
                f"cannot reach the chain at {down}: connection refused or host unreachable"
            )


# ------------------------------------------------------------------ the JSON-RPC passthrough


def _node(url: str, body: Any) -> Any:
    """What the node itself answers ``body``."""
    return requests.post(url, json=body, timeout=10).json()


def test_rpc_passes_allowed_requests_to_each_node_and_their_answers_back(
    chains: Chains, gateway: TestClient
) -> None:
    asked = {"jsonrpc": "2.0", "id": 7, "method": "eth_chainId", "params": []}
    assert gateway.post("/rpc", json=asked).json() == {
        "jsonrpc": "2.0",
        "id": 7,
        "result": "0x7a69",
    }
    assert gateway.post("/rpc/checkpoint", json=asked).json() == {
        "jsonrpc": "2.0",
        "id": 7,
        "result": hex(TARGET_CHAIN),
    }
    receipt = chains.receipts[1]
    batch = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getTransactionReceipt",
            "params": ["0x" + receipt.tx_hash.hex()],
        },
        {"jsonrpc": "2.0", "id": 2, "method": "eth_getBlockByNumber", "params": ["0x1", False]},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_getCode", "params": [chains.contract, "latest"]},
    ]
    answered = gateway.post("/rpc/checkpoint", json=batch)
    assert answered.status_code == 200
    assert answered.json() == _node(chains.target.url, batch)
    registry = chains.world.deployment.address("DataAssetRegistry")
    logs = {
        "jsonrpc": "2.0",
        "id": "logs",
        "method": "eth_getLogs",
        "params": [{"address": registry, "fromBlock": "0x0", "toBlock": "latest"}],
    }
    assert gateway.post("/rpc", json=logs).json() == _node(chains.source.url, logs)
    failing = {"jsonrpc": "2.0", "id": 9, "method": "eth_getBlockByNumber", "params": ["nonsense"]}
    assert gateway.post("/rpc", json=failing).json() == _node(chains.source.url, failing)


def test_rpc_refuses_other_methods_and_bad_bodies_as_jsonrpc_errors(
    chains: Chains, gateway: TestClient
) -> None:
    def refused(body: Any, **send: Any) -> Any:
        response = gateway.post("/rpc", **send) if send else gateway.post("/rpc", json=body)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        return response.json()

    for method in (
        "eth_sendRawTransaction",
        "eth_accounts",
        "anvil_setBalance",
        "evm_mine",
        "debug_traceTransaction",
    ):
        answer = refused({"jsonrpc": "2.0", "id": 4, "method": method, "params": []})
        assert answer["id"] == 4
        assert answer["error"]["code"] == -32601
        assert answer["error"]["message"].startswith(f"method {method} is not available here")
    assert refused({"jsonrpc": "2.0", "id": 5})["error"]["code"] == -32600
    assert refused([1])[0]["error"]["code"] == -32600
    assert refused([])["error"]["code"] == -32600
    many = [{"jsonrpc": "2.0", "id": n, "method": "eth_chainId"} for n in range(21)]
    assert refused(many)["error"] == {"code": -32600, "message": "a batch holds 1 to 20 requests"}
    assert len(refused(many[:20])) == 20
    parse = refused(None, content=b"{oops", headers={"Content-Type": "application/json"})
    assert (parse["id"], parse["error"]["code"]) == (None, -32700)
    mixed = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_sendTransaction", "params": [{}]},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_blockNumber"},
    ]
    answers = {item["id"]: item for item in refused(mixed)}
    assert answers[1] == {"jsonrpc": "2.0", "id": 1, "result": "0x7a69"}
    assert answers[2]["error"]["code"] == -32601
    assert answers[3] == _node(chains.source.url, mixed[2])
    big_id = 2**70
    echoed = refused(
        None, content=json.dumps({"jsonrpc": "2.0", "id": big_id, "method": "eth_sign"}).encode()
    )
    assert echoed["id"] == big_id
    too_large = gateway.post("/rpc", content=b" " * (64 * 1024 + 1))
    assert _problem(too_large, 413)["invalid_params"][0]["name"] == "body"


def test_rpc_is_absent_without_a_node_url(chains: Chains, tmp_path: Path) -> None:
    app = create_app(_settings(chains, tmp_path))  # no node: proofs and /rpc need one
    with TestClient(app) as client:
        assert "/rpc" not in client.get("/openapi.json").json()["paths"]
        _problem(
            client.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}), 404
        )
        assert client.post(
            "/rpc/checkpoint", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
        ).json()["result"] == hex(TARGET_CHAIN)


# ------------------------------------------------------------------ proof bundles' evidence


def test_a_proof_carries_its_checkpoint_evidence_and_cosignatures_and_verifies(
    chains: Chains, gateway: TestClient
) -> None:
    for witness in (WITNESS, OTHER_WITNESS):
        assert _post(gateway, 2, _cosignature(chains, 2, witness).to_json()).status_code == 201
    bundle = gateway.get(f"/assets/{chains.covered:#066x}/proof").json()
    assert bundle["version"] == "provledger-proof/2"
    evidence = bundle["checkpoint"]
    expected = _expected(chains, 2, 2)
    registered = bundle["registration"]
    shared = (
        "transaction_hash",
        "block_number",
        "block_hash",
        "log_index",
        "sequence",
        "from_block",
        "to_block",
        "to_block_hash",
        "root",
    )
    assert {key: evidence[key] for key in shared} == {key: expected[key] for key in shared}
    assert evidence["chain_id"] == TARGET_CHAIN
    assert evidence["contract"]["address"] == chains.contract
    assert evidence["block"] == {
        "number": registered["block_number"],
        "hash": registered["block_hash"],
    }
    assert evidence["witnesses"] == [
        _cosignature(chains, 2, witness).to_json() for witness in (WITNESS, OTHER_WITNESS)
    ]
    policy = WitnessPolicy(frozenset({WITNESS.address, OTHER_WITNESS.address}), 2)
    report = verify_proof_bundle(bundle, chains.world.w3, target=chains.target_w3, policy=policy)
    assert report.ok, report.to_json()
    assert [check.name for check in report.checks][-2:] == ["checkpoint", "witnesses"]


def test_a_proof_of_a_block_no_checkpoint_covers_yet_has_none(
    chains: Chains, gateway: TestClient
) -> None:
    bundle = gateway.get(f"/assets/{chains.uncovered:#066x}/proof").json()
    assert bundle["version"] == "provledger-proof/2"
    assert bundle["registration"]["block_number"] > chains.checkpoint(2).to_block
    assert bundle["checkpoint"] is None
    report = verify_proof_bundle(bundle, chains.world.w3, target=chains.target_w3)
    assert report.ok, report.to_json()
