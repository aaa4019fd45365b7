"""Relayed registrations: every refusal before gas is spent, idempotency, rate and gas budgets,
dropped transactions sent again, a restart, and 200 concurrent submissions mined exactly once.

Runs on anvil (the relay needs a JSON-RPC node): the gateway is the real app, in process
through TestClient, or served by ``provledger serve`` with two workers for the concurrent run.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from helpers.builders import registration
from helpers.processes import PROVLEDGER, clean_env, wait_for_http
from helpers.world import RELAYER_INDEX, World
from provledger.api.app import create_app
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import free_port
from provledger.chain.eip712 import signed_to_json
from provledger.chain.enums import AssetStatus, Channel
from provledger.chain.ids import asset_id
from provledger.chain.serialize import asset_hex
from provledger.chain.types import Registration
from provledger.config import Settings
from provledger.store.engine import create_schema, create_store_engine
from provledger.store.relay import open_relay_store

pytestmark = pytest.mark.anvil

RELAYER = dev_account(RELAYER_INDEX)


@pytest.fixture
def relay_folder(anvil_world: World, tmp_path: Path) -> Path:
    """A folder with the deployment record, an (empty) index and the relay database."""
    anvil_world.deployment.save(tmp_path / "deployments")
    engine = create_store_engine(str(tmp_path / "index.sqlite"))
    create_schema(engine)
    engine.dispose()
    return tmp_path


def settings_for(folder: Path, **overrides: Any) -> Settings:
    """A relaying gateway's settings over ``folder``."""
    values: dict[str, Any] = {
        "database_url": str(folder / "index.sqlite"),
        "deployments_dir": folder / "deployments",
        "blob_dir": folder / "blobs",
        "relay_database_url": str(folder / "relay.sqlite"),
        "relayer_dev_account": RELAYER_INDEX,
        "confirmations": 1,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def gateway(anvil_world: World, relay_folder: Path) -> Iterator[TestClient]:
    """The relaying gateway, in process."""
    app = create_app(settings_for(relay_folder), w3=anvil_world.w3)
    with TestClient(app) as client:
        yield client


def api_key(folder: Path, *, rate: int = 600, daily_gas: int = 10**9) -> str:
    """A new API key in the relay database of ``folder``."""
    with open_relay_store(str(folder / "relay.sqlite")) as store:
        return store.create_key("tests", rate_per_minute=rate, daily_gas=daily_gas)[1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def signed_document(
    world: World,
    registrant: Any,
    item: Registration | None = None,
    *,
    signer: Any = None,
    nonce: int | None = None,
    deadline: int | None = None,
) -> dict[str, Any]:
    """A signed registration document by ``registrant`` (a Provledger or a LocalAccount)."""
    account = registrant.account if hasattr(registrant, "account") else registrant
    entry = item or registration()
    signed = world.admin.registry.sign(
        entry,
        signer or account,
        deadline=world.now() + 3600 if deadline is None else deadline,
        nonce=nonce,
    )
    if signer is not None:  # claim the registrant while another key signed
        signed = type(signed)(
            signed.registration, account.address, signed.nonce, signed.deadline, signed.signature
        )
    return signed_to_json(
        signed, chain_id=world.deployment.chain_id, registry=world.admin.registry.address
    )


def as_dict(response: Any) -> dict[str, Any]:
    """A JSON object answer."""
    answer: dict[str, Any] = response.json()
    return answer


def relayer_nonce(world: World) -> int:
    return int(world.w3.eth.get_transaction_count(RELAYER.address, "pending"))


def wait_for_status(
    fetch: Callable[[], dict[str, Any]], wanted: str, timeout: float = 20
) -> dict[str, Any]:
    """Poll a relay request until its status is ``wanted``."""
    deadline = time.monotonic() + timeout
    while True:
        answer = fetch()
        if answer["status"] == wanted:
            return answer
        assert answer["status"] not in ("failed",) or wanted == "failed", answer
        if time.monotonic() > deadline:
            raise AssertionError(f"still {answer['status']} after {timeout} s: {answer}")
        time.sleep(0.1)


def test_a_signed_registration_is_relayed_and_confirmed(
    anvil_world: World, relay_folder: Path, gateway: TestClient
) -> None:
    key = api_key(relay_folder)
    document = signed_document(anvil_world, anvil_world.alice)
    before = relayer_nonce(anvil_world)
    response = gateway.post("/relay/registrations", json=document, headers=bearer(key))
    assert response.status_code == 202, response.text
    accepted = response.json()
    content = bytes.fromhex(document["registration"]["content_hash"][2:])
    expected_id = asset_hex(asset_id(content))
    assert accepted["asset_ids"] == [expected_id]
    assert accepted["status"] == "submitted"
    assert accepted["relayer_nonce"] == before
    assert accepted["error"] is None

    def fetch() -> dict[str, Any]:
        return as_dict(
            gateway.get(f"/relay/requests/{accepted['request_id']}", headers=bearer(key))
        )

    done = wait_for_status(fetch, "confirmed")
    receipt = anvil_world.w3.eth.get_transaction_receipt(done["transaction"])
    assert receipt["from"] == RELAYER.address
    assert done["block_number"] == receipt["blockNumber"]
    assert done["gas_used"] == receipt["gasUsed"]
    state = anvil_world.admin.registry.asset(asset_id(content))
    assert state is not None
    assert state.registrant == anvil_world.alice.address
    assert state.holder == anvil_world.alice.address
    (registered,) = anvil_world.admin.registry.contract.events.AssetRegistered().process_receipt(
        receipt, errors=DISCARD
    )
    assert registered["args"]["registrant"] == anvil_world.alice.address
    assert registered["args"]["channel"] == Channel.SIGNED
    assert registered["args"]["submitter"] == RELAYER.address
    assert state.status == AssetStatus.APPLIED
    assert relayer_nonce(anvil_world) == before + 1
    # the status belongs to the key that asked; another key sees nothing
    other = api_key(relay_folder)
    missing = gateway.get(f"/relay/requests/{accepted['request_id']}", headers=bearer(other))
    assert missing.status_code == 404


def test_many_registrations_in_one_request(
    anvil_world: World, relay_folder: Path, gateway: TestClient
) -> None:
    key = api_key(relay_folder)
    documents = [
        signed_document(anvil_world, anvil_world.alice, nonce=0),
        signed_document(anvil_world, anvil_world.alice, nonce=1),
        signed_document(anvil_world, anvil_world.bob),
    ]
    response = gateway.post(
        "/relay/registrations", json={"registrations": documents}, headers=bearer(key)
    )
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    done = wait_for_status(
        lambda: gateway.get(f"/relay/requests/{request_id}", headers=bearer(key)).json(),
        "confirmed",
    )
    registrants = [anvil_world.alice.address, anvil_world.alice.address, anvil_world.bob.address]
    for document, registrant, shown in zip(documents, registrants, done["asset_ids"], strict=True):
        content = bytes.fromhex(document["registration"]["content_hash"][2:])
        state = anvil_world.admin.registry.asset(asset_id(content))
        assert state is not None
        assert state.registrant == registrant
        assert shown == asset_hex(asset_id(content))


def refused(
    gateway: TestClient, key: str, body: Any, status: int, field: str, words: str
) -> dict[str, Any]:
    """Post ``body``; check the problem's status, field and words."""
    if isinstance(body, bytes | str):
        response = gateway.post(
            "/relay/registrations",
            content=body,
            headers={**bearer(key), "Content-Type": "application/json"},
        )
    else:
        response = gateway.post("/relay/registrations", json=body, headers=bearer(key))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = as_dict(response)
    assert words in problem["detail"], problem
    assert problem["invalid_params"][0]["name"] == field, problem
    return problem


def test_refusals_before_any_gas_is_spent(
    anvil_world: World, relay_folder: Path, gateway: TestClient
) -> None:
    key = api_key(relay_folder)
    world = anvil_world
    before = relayer_nonce(world)
    forged = signed_document(world, world.alice, signer=world.bob.account)
    problem = refused(gateway, key, forged, 422, "registrations[0]", "InvalidRegistrationSignature")
    # bob signed a registration naming alice: the digest recovers neither of them
    assert f"not by the registrant {world.alice.address}" in problem["detail"]
    expired = signed_document(world, world.alice, deadline=world.now() - 1)
    refused(gateway, key, expired, 422, "registrations[0]", "SignatureExpired")
    ahead = signed_document(world, world.alice, nonce=5)
    refused(
        gateway, key, ahead, 422, "registrations[0]", "nonce 5 is ahead; the registrant's next is 0"
    )
    stranger = signed_document(world, world.stranger)
    refused(gateway, key, stranger, 422, "registrations[0]", "ParticipantNotActive")
    taken = registration()
    world.register(world.bob, taken)
    duplicate = signed_document(world, world.alice, taken)
    refused(gateway, key, duplicate, 422, "registrations[0]", "AssetAlreadyRegistered")
    unknown_category = signed_document(world, world.alice, registration(category=9999))
    refused(gateway, key, unknown_category, 422, "registrations[0]", "UnknownCategory")
    other_chain = {**signed_document(world, world.alice), "chain_id": 1}
    refused(gateway, key, other_chain, 422, "registrations[0]", "WrongDomain")
    refused(gateway, key, b"{not json", 400, "body", "body: not JSON")
    refused(gateway, key, {"registrations": []}, 400, "body", "send 1 to 100")
    broken = {**signed_document(world, world.alice), "signature": "0x12"}
    refused(gateway, key, broken, 400, "registrations[0]", "field 'signature' is not 65 bytes")
    too_big = b'{"registrations": [' + b" " * (1 << 20) + b"]}"
    refused(gateway, key, too_big, 413, "body", "larger than the 1,048,576-byte upload cap")
    assert relayer_nonce(world) == before  # no transaction at all

    used = signed_document(world, world.alice)
    assert gateway.post("/relay/registrations", json=used, headers=bearer(key)).status_code == 202
    replayed = signed_document(world, world.alice, nonce=0)
    refused(gateway, key, replayed, 422, "registrations[0]", "nonce 0 was used already")
    assert relayer_nonce(world) == before + 1


def test_api_keys_wrong_missing_revoked(
    anvil_world: World, relay_folder: Path, gateway: TestClient
) -> None:
    key = api_key(relay_folder)
    document = signed_document(anvil_world, anvil_world.alice)
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for headers in ({}, bearer(wrong), bearer("plk_nope"), {"Authorization": f"Basic {key}"}):
        response = gateway.post("/relay/registrations", json=document, headers=headers)
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["invalid_params"][0]["name"] == "Authorization"
    key_id = key.split("_")[1]
    done = subprocess.run(
        [
            PROVLEDGER,
            "apikey",
            "revoke",
            key_id,
            "--relay-database-url",
            str(relay_folder / "relay.sqlite"),
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"API key {key_id} revoked"
    response = gateway.post("/relay/registrations", json=document, headers=bearer(key))
    assert response.status_code == 401
    assert relayer_nonce(anvil_world) == int(
        anvil_world.w3.eth.get_transaction_count(RELAYER.address, "latest")
    )


def test_rate_and_gas_budget(anvil_world: World, relay_folder: Path, gateway: TestClient) -> None:
    world = anvil_world
    slow = api_key(relay_folder, rate=2)
    for _ in range(2):
        accepted = gateway.post(
            "/relay/registrations", json=signed_document(world, world.erin), headers=bearer(slow)
        )
        assert accepted.status_code == 202, accepted.text
    before = relayer_nonce(world)
    response = gateway.post(
        "/relay/registrations", json=signed_document(world, world.erin), headers=bearer(slow)
    )
    assert response.status_code == 429
    assert "may send 2 requests a minute" in response.json()["detail"]
    assert 1 <= int(response.headers["retry-after"]) <= 61
    frugal = api_key(relay_folder, daily_gas=50_000)
    response = gateway.post(
        "/relay/registrations", json=signed_document(world, world.erin), headers=bearer(frugal)
    )
    assert response.status_code == 429
    assert (
        "daily gas budget is 50,000; 0 used today, this request needs"
        in (response.json()["detail"])
    )
    assert relayer_nonce(world) == before


def test_an_idempotency_key_sent_twice_relays_once(
    anvil_world: World, relay_folder: Path, gateway: TestClient
) -> None:
    key = api_key(relay_folder)
    headers = {**bearer(key), "Idempotency-Key": "order-4711"}
    document = signed_document(anvil_world, anvil_world.alice)
    first = gateway.post("/relay/registrations", json=document, headers=headers)
    assert first.status_code == 202, first.text
    before = relayer_nonce(anvil_world)
    again = gateway.post("/relay/registrations", json=document, headers=headers)
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"this idempotency key was already used, by request {first.json()['request_id']}"
    )
    assert again.json()["invalid_params"][0]["name"] == "Idempotency-Key"
    other = signed_document(anvil_world, anvil_world.bob)
    reused = gateway.post("/relay/registrations", json=other, headers=headers)
    assert reused.status_code == 409
    assert relayer_nonce(anvil_world) == before


def test_a_dropped_transaction_is_sent_again_with_more_fee_and_survives_a_restart(
    anvil_world: World, relay_folder: Path
) -> None:
    world = anvil_world
    key = api_key(relay_folder)
    w3 = world.w3
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        settings = settings_for(relay_folder, relay_replace_after=600)
        with TestClient(create_app(settings, w3=w3)) as client:
            accepted = client.post(
                "/relay/registrations",
                json=signed_document(world, world.carol),
                headers=bearer(key),
            ).json()
            assert accepted["status"] == "submitted"
            first_hash = accepted["transaction"]
            original = w3.eth.get_transaction(first_hash)
            w3.provider.make_request("anvil_dropTransaction", [first_hash])  # type: ignore[arg-type]

            def fetch() -> dict[str, Any]:
                return as_dict(
                    client.get(f"/relay/requests/{accepted['request_id']}", headers=bearer(key))
                )

            deadline = time.monotonic() + 20
            while fetch()["replacements"] == 0:
                assert time.monotonic() < deadline, "the dropped transaction was not sent again"
                time.sleep(0.1)
            again = fetch()
            assert again["transaction"] != first_hash
            assert again["relayer_nonce"] == accepted["relayer_nonce"]
            replacement = w3.eth.get_transaction(again["transaction"])
            assert replacement["nonce"] == original["nonce"]
            assert replacement["input"] == original["input"]
            assert replacement["maxFeePerGas"] > original["maxFeePerGas"] * 1.25
            assert replacement["maxPriorityFeePerGas"] > original["maxPriorityFeePerGas"] * 1.25
        # the gateway stops with the transaction unmined; a new one picks it up
        with TestClient(create_app(settings, w3=w3)) as client:
            second = client.post(
                "/relay/registrations",
                json=signed_document(world, world.dave),
                headers=bearer(key),
            ).json()
            assert second["relayer_nonce"] == accepted["relayer_nonce"] + 1
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            for request_id in (accepted["request_id"], second["request_id"]):
                wait_for_status(
                    lambda request_id=request_id: client.get(  # type: ignore[misc]
                        f"/relay/requests/{request_id}", headers=bearer(key)
                    ).json(),
                    "confirmed",
                )
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    for who in (world.carol, world.dave):
        assert world.admin.registry.nonce(who.address) == 1
    assert (
        int(w3.eth.get_transaction_count(RELAYER.address, "latest"))
        == accepted["relayer_nonce"] + 2
    )


def test_a_relay_database_locked_by_another_writer_is_a_503_and_nothing_is_sent(
    anvil_world: World, relay_folder: Path, gateway: TestClient
) -> None:
    world = anvil_world
    key = api_key(relay_folder)
    document = signed_document(world, world.carol)
    before = relayer_nonce(world)
    other = sqlite3.connect(relay_folder / "relay.sqlite", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # a writer outside the gateway (say, an apikey command)
        started = time.monotonic()
        response = gateway.post("/relay/registrations", json=document, headers=bearer(key))
        waited = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert as_dict(response)["detail"] == (
        "the relay's records stayed locked by another writer; retry the request"
    )
    assert waited >= 9  # SQLite's busy timeout (10 s) ran out first
    assert relayer_nonce(world) == before
    accepted = gateway.post("/relay/registrations", json=document, headers=bearer(key))
    assert accepted.status_code == 202, accepted.text
    assert as_dict(accepted)["relayer_nonce"] == before


def test_200_concurrent_submissions_are_mined_exactly_once(
    anvil_world: World, relay_folder: Path
) -> None:
    world = anvil_world
    registrants = [Account.create() for _ in range(200)]
    for account in registrants:
        world.registrar.registry.register_participant(account.address, "CN")
    documents = [signed_document(world, account) for account in registrants]
    key = api_key(relay_folder, rate=1000)
    port = free_port()
    rpc_url = world.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    env = clean_env(
        PROVLEDGER_RPC_URL=str(rpc_url),
        PROVLEDGER_DATABASE_URL=str(relay_folder / "index.sqlite"),
        PROVLEDGER_DEPLOYMENTS_DIR=str(relay_folder / "deployments"),
        PROVLEDGER_RELAY_DATABASE_URL=str(relay_folder / "relay.sqlite"),
        PROVLEDGER_RELAYER_DEV_ACCOUNT=str(RELAYER_INDEX),
        PROVLEDGER_CONFIRMATIONS="1",
        PROVLEDGER_BLOB_DIR=str(relay_folder / "blobs"),
    )
    before = relayer_nonce(world)
    server = subprocess.Popen(
        [PROVLEDGER, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(relay_folder / "serve.log").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", server, "the relaying gateway")
        with httpx.Client(base_url=base, timeout=60, headers=bearer(key)) as client:

            def send(document: dict[str, Any]) -> httpx.Response:
                return client.post("/relay/registrations", json=document)

            with ThreadPoolExecutor(max_workers=32) as pool:
                answers = list(pool.map(send, documents))
            failed = [answer.text for answer in answers if answer.status_code != 202]
            log = (relay_folder / "serve.log").read_text(errors="replace")[-3000:]
            assert not failed, f"{failed[:3]}\n{log}"
            ids = [answer.json()["request_id"] for answer in answers]
            for request_id in ids:
                wait_for_status(
                    lambda request_id=request_id: client.get(  # type: ignore[misc]
                        f"/relay/requests/{request_id}"
                    ).json(),
                    "confirmed",
                    timeout=60,
                )
            nonces = sorted(answer.json()["relayer_nonce"] for answer in answers)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert nonces == list(range(before, before + 200))
    assert relayer_nonce(world) == before + 200
    for account, document in zip(registrants, documents, strict=True):
        content = bytes.fromhex(document["registration"]["content_hash"][2:])
        state = world.admin.registry.asset(asset_id(content))
        assert state is not None
        assert state.registrant == account.address
        assert world.admin.registry.nonce(account.address) == 1
    web3_registry = world.w3.eth.contract(
        address=world.admin.registry.address, abi=world.admin.registry.contract.abi
    )
    logs = web3_registry.events.AssetRegistered().get_logs(from_block=0)
    relayed = {Web3.to_checksum_address(log["args"]["registrant"]) for log in logs}
    assert {account.address for account in registrants} <= relayed
    assert (
        sum(1 for log in logs if log["args"]["registrant"] in {a.address for a in registrants})
        == 200
    )
