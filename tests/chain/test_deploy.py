"""Deployment: wiring, roles, the deployment record, keys, and the deploy command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from eth_account import Account
from hexbytes import HexBytes
from typer.testing import CliRunner, Result
from web3 import Web3

from helpers.world import World
from provledger.chain.accounts import (
    DEV_ROLES,
    dev_account,
    load_keystore,
    require_dev_chain,
    resolve_signer,
)
from provledger.chain.anvil import AnvilNode
from provledger.chain.artifacts import load_artifact
from provledger.chain.deploy import MODULE_ROLES, creation_code, deploy, parse_role_grants
from provledger.chain.deployments import (
    CONTRACT_NAMES,
    Deployment,
    DeploymentNotFoundError,
    load_deployment,
)
from provledger.cli import app
from provledger.errors import ConfigurationError, InputError


def _masked(code: bytes, ranges: tuple[tuple[int, int], ...]) -> bytes:
    out = bytearray(code)
    for start, length in ranges:
        out[start : start + length] = bytes(length)
    return bytes(out)


def test_every_contract_deployed_with_its_artifact_code(world: World) -> None:
    deployment = world.deployment
    assert tuple(deployment.contracts) == CONTRACT_NAMES
    for name, item in deployment.contracts.items():
        artifact = load_artifact(name)
        onchain = bytes(world.w3.eth.get_code(item.address))
        expected = bytes.fromhex(artifact.deployed_bytecode[2:])
        assert _masked(onchain, artifact.immutable_ranges) == expected, name
        assert item.deployed_bytecode_hash == artifact.deployed_bytecode_hash
        receipt = world.w3.eth.get_transaction_receipt(HexBytes(item.tx_hash))
        assert receipt["contractAddress"] == item.address
        assert receipt["blockNumber"] == item.block_number
    assert deployment.block_number == deployment.contracts["DataAssetRegistry"].block_number


def test_modules_roles_and_categories_are_wired(world: World) -> None:
    registry = world.admin.registry
    assert registry.modules() == (
        world.deployment.address("LicenseRegistry"),
        world.deployment.address("ExportControl"),
    )
    for module, role in MODULE_ROLES.items():
        assert registry.has_role(role, world.deployment.address(module))
    for role, holder in (
        ("DEFAULT_ADMIN_ROLE", world.admin),
        ("REGISTRAR_ROLE", world.registrar),
        ("APPRAISER_ROLE", world.appraiser),
        ("ARBITER_ROLE", world.arbiter),
        ("EXPORT_APPROVER_ROLE", world.exporter),
    ):
        assert registry.has_role(role, holder.address)
    for code in world.deployment.categories:
        assert registry.is_category_listed(code)
    assert not registry.is_category_listed(999)
    assert world.admin.office.notice_period() == 24 * 3600
    for name in CONTRACT_NAMES[1:]:
        contract = world.w3.eth.contract(
            address=world.deployment.address(name), abi=list(load_artifact(name).abi)
        )
        assert contract.functions.registry().call() == world.deployment.address("DataAssetRegistry")


def test_deployment_record_round_trips(world: World, tmp_path: Path) -> None:
    path = world.deployment.save(tmp_path)
    assert path == tmp_path / f"{world.deployment.chain_id}.json"
    loaded = load_deployment(tmp_path, world.deployment.chain_id)
    assert loaded == world.deployment
    data = json.loads(path.read_text())
    assert data["chainId"] == world.deployment.chain_id
    assert set(data["contracts"]) == set(CONTRACT_NAMES)


def test_missing_and_malformed_deployment_files(tmp_path: Path) -> None:
    with pytest.raises(DeploymentNotFoundError, match="run `provledger deploy` first"):
        load_deployment(tmp_path, 5)
    (tmp_path / "5.json").write_text("{not json")
    with pytest.raises(ConfigurationError, match=r"5\.json is not JSON"):
        load_deployment(tmp_path, 5)
    (tmp_path / "5.json").write_text(json.dumps({"version": 1, "chainId": 5}))
    with pytest.raises(ConfigurationError, match="malformed deployment file"):
        load_deployment(tmp_path, 5)


def test_admin_handover_renounces_the_deployer(chain_w3: Web3) -> None:
    # A second deployment on the session chain; no snapshot needed, nothing else reads it.
    new_admin = dev_account(12)
    deployment = deploy(chain_w3, dev_account(13), admin=new_admin.address, categories=[101])
    registry = chain_w3.eth.contract(
        address=deployment.address("DataAssetRegistry"),
        abi=list(load_artifact("DataAssetRegistry").abi),
    )
    admin_role = b"\x00" * 32
    assert registry.functions.hasRole(admin_role, new_admin.address).call()
    assert not registry.functions.hasRole(admin_role, dev_account(13).address).call()
    assert deployment.admin == new_admin.address
    assert deployment.deployer == dev_account(13).address


def test_role_grant_parsing() -> None:
    address = dev_account(1).address
    assert parse_role_grants([f"registrar={address.lower()}", f"export_approver={address}"]) == [
        ("REGISTRAR_ROLE", address),
        ("EXPORT_APPROVER_ROLE", address),
    ]
    with pytest.raises(InputError, match="is not ROLE=ADDRESS"):
        parse_role_grants(["king=0x0000000000000000000000000000000000000001"])
    with pytest.raises(InputError, match="is not an address"):
        parse_role_grants(["registrar=0x1234"])


def test_creation_code_checks_constructor_arity() -> None:
    with pytest.raises(InputError, match="takes 1 constructor arguments, got 0"):
        creation_code("DataAssetRegistry")


def test_keystore_signer_and_dev_key_policy(tmp_path: Path) -> None:
    account = Account.create()
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, "s3cret")))
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    signer = resolve_signer(
        chain_id=1,
        embedded=False,
        keystore=keystore,
        password_file=password,
        dev_index=None,
        prompt_password=lambda _: pytest.fail("no prompt expected"),
    )
    assert signer.address == account.address
    prompted = resolve_signer(
        chain_id=1,
        embedded=False,
        keystore=keystore,
        password_file=None,
        dev_index=None,
        prompt_password=lambda _: "s3cret",
    )
    assert prompted.address == account.address
    with pytest.raises(InputError, match="wrong password"):
        load_keystore(keystore, "nope")
    with pytest.raises(InputError, match="does not exist"):
        load_keystore(tmp_path / "missing.json", "x")
    with pytest.raises(ConfigurationError, match="not a development chain"):
        require_dev_chain(1)
    with pytest.raises(ConfigurationError, match="not a development chain"):
        resolve_signer(
            chain_id=1,
            embedded=False,
            keystore=None,
            password_file=None,
            dev_index=0,
            prompt_password=lambda _: "",
        )
    with pytest.raises(ConfigurationError, match="no signing key"):
        resolve_signer(
            chain_id=1,
            embedded=False,
            keystore=None,
            password_file=None,
            dev_index=None,
            prompt_password=lambda _: "",
        )
    assert dev_account(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


@pytest.mark.anvil
def test_deploy_command_on_anvil_writes_the_record(tmp_path: Path) -> None:
    with AnvilNode() as node:
        result = CliRunner().invoke(
            app,
            [
                "deploy",
                "--rpc-url",
                node.url,
                "--dev-account",
                "0",
                "--dev-roles",
                "--notice-period",
                "3600",
                "--deployments-dir",
                str(tmp_path),
                "--json",
            ],
        )
        assert result.exit_code == 0, result.output
        deployment = load_deployment(tmp_path, 31337)
        assert Deployment.from_json(json.loads(result.stdout)) == deployment
        registry = node.web3().eth.contract(
            address=deployment.address("DataAssetRegistry"),
            abi=list(load_artifact("DataAssetRegistry").abi),
        )
        for role, index in DEV_ROLES.items():
            role_name = "DEFAULT_ADMIN_ROLE" if role == "admin" else f"{role.upper()}_ROLE"
            role_id = registry.functions.hasRole(
                Web3.keccak(text=role_name) if role != "admin" else b"\x00" * 32,
                dev_account(index).address,
            ).call()
            assert role_id, role_name
        assert "0x" not in result.stderr  # no key material or hex secrets on stderr


def test_deploy_command_refuses_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_grant = runner.invoke(app, ["deploy", "--grant", "registrar=nope"])
    assert bad_grant.exit_code == 2
    assert "is not an address" in bad_grant.stderr
    unreachable = runner.invoke(app, ["deploy", "--rpc-url", "http://127.0.0.1:9"])
    assert unreachable.exit_code == 3
    assert "cannot reach the chain at http://127.0.0.1:9" in unreachable.stderr


def test_deploy_command_refuses_without_a_node(tmp_path: Path) -> None:
    """Not a deployment into an embedded chain that ends with the command, recorded under a
    random chain id."""
    result = CliRunner().invoke(
        app,
        ["deploy", "--dev-account", "0", "--dev-roles", "--deployments-dir", str(tmp_path)],
        env={"PROVLEDGER_RPC_URL": None, "PROVLEDGER_CONFIG": None},
    )
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "error: deploy needs a node: give --rpc-url URL or set PROVLEDGER_RPC_URL "
        "(`provledger chain` starts a local one)\n"
    )
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anvil
def test_deploy_command_keeps_a_recorded_deployment_unless_replace(tmp_path: Path) -> None:
    """A second deploy to the same chain does not overwrite its record: it is refused before
    anything is deployed, or with --replace the old record is kept beside the new one."""
    record = tmp_path / "31337.json"
    with AnvilNode() as node:

        def deploy_command(*more: str) -> Result:
            arguments = ["deploy", "--rpc-url", node.url, "--dev-account", "0"]
            return CliRunner().invoke(app, [*arguments, "--deployments-dir", str(tmp_path), *more])

        assert deploy_command().exit_code == 0
        first = record.read_text()
        recorded = load_deployment(tmp_path, 31337)
        head = node.web3().eth.block_number

        again = deploy_command()
        assert again.exit_code == 2, again.output
        assert again.stderr == (
            f"error: {record} already records the deployment of chain 31337 "
            f"(DataAssetRegistry at {recorded.address('DataAssetRegistry')}, from block "
            f"{recorded.block_number}); give --replace to deploy anew and keep that record "
            "beside the new one as 31337.json.replaced-<time>\n"
        )
        assert node.web3().eth.block_number == head  # nothing sent
        assert record.read_text() == first

        replaced = deploy_command("--replace")
        assert replaced.exit_code == 0, replaced.output
        kept = list(tmp_path.glob("31337.json.replaced-*"))
        assert len(kept) == 1
        assert re.fullmatch(r"31337\.json\.replaced-\d{8}T\d{6}Z", kept[0].name)
        assert kept[0].read_text() == first
        assert f"the previous record is kept as {kept[0]}" in replaced.stdout
        new = load_deployment(tmp_path, 31337)
        assert new.block_number > head
        assert new.address("DataAssetRegistry") != recorded.address("DataAssetRegistry")
