"""Deploy the provledger contracts and wire them together.

Order: the DataAssetRegistry (the deployer is its first admin), then every module pointing at
it (the DataMarket also at the LicenseRegistry); the registry is told its LicenseRegistry and
ExportControl and grants the module roles (``OFFICE_ROLE``, ``COURT_ROLE``, ``ANCHOR_ROLE``,
``MARKET_ROLE``); the published categories are listed; the authority roles given are granted;
finally, if another admin is named, it receives ``DEFAULT_ADMIN_ROLE`` and the deployer
renounces it.

The ``Checkpoint`` contract is no part of that deployment: it lives on another (target) chain
and knows no registry. :func:`deploy_checkpoint` deploys one on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, cast

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3

from provledger.categories import CATEGORIES
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.artifacts import DEFAULT_EVM_VERSION, load_artifact
from provledger.chain.client.checkpoint import CheckpointClient
from provledger.chain.deployments import (
    CONTRACT_NAMES,
    ContractDeployment,
    Deployment,
    RoleGrant,
)
from provledger.chain.ids import role_id
from provledger.chain.transactions import Receipt, Sender
from provledger.errors import InputError, ProvledgerError

#: Default public notice period: 10 days, a common registration-centre rule.
DEFAULT_NOTICE_PERIOD: Final = 10 * 24 * 3600

#: Roles an operator may grant at deployment, by their short names on the command line.
AUTHORITY_ROLES: Final[dict[str, str]] = {
    "admin": "DEFAULT_ADMIN_ROLE",
    "registrar": "REGISTRAR_ROLE",
    "appraiser": "APPRAISER_ROLE",
    "arbiter": "ARBITER_ROLE",
    "export-approver": "EXPORT_APPROVER_ROLE",
}

#: Module contract -> the role it holds in the registry.
MODULE_ROLES: Final[dict[str, str]] = {
    "RegistrationOffice": "OFFICE_ROLE",
    "DisputeCourt": "COURT_ROLE",
    "BatchAnchor": "ANCHOR_ROLE",
    "DataMarket": "MARKET_ROLE",
}

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def creation_code(name: str, *args: object, evm_version: str = DEFAULT_EVM_VERSION) -> bytes:
    """The creation code of artifact ``name`` in the ``evm_version`` set with ABI-encoded
    constructor ``args``."""
    artifact = load_artifact(name, evm_version)
    items = [cast(dict[str, Any], element) for element in artifact.abi]
    constructor = next((item for item in items if item.get("type") == "constructor"), {})
    types = [str(arg["type"]) for arg in constructor.get("inputs", [])]
    if len(types) != len(args):
        raise InputError(f"{name} takes {len(types)} constructor arguments, got {len(args)}")
    return bytes(HexBytes(artifact.bytecode)) + abi_encode(types, list(args))


def dev_role_grants() -> list[tuple[str, ChecksumAddress]]:
    """The authority roles given to the dev accounts of :data:`DEV_ROLES` (dev chains only)."""
    return [
        (f"{role.upper()}_ROLE", dev_account(index).address)
        for role, index in DEV_ROLES.items()
        if role != "admin"
    ]


def parse_role_grants(specs: Iterable[str]) -> list[tuple[str, ChecksumAddress]]:
    """Parse ``role=address`` pairs such as ``registrar=0xabc…`` into (role id name, address)."""
    grants: list[tuple[str, ChecksumAddress]] = []
    for spec in specs:
        role, separator, address = spec.partition("=")
        role = role.strip().lower().replace("_", "-")
        if not separator or role not in AUTHORITY_ROLES:
            raise InputError(
                f"role grant {spec!r} is not ROLE=ADDRESS with ROLE one of "
                f"{', '.join(AUTHORITY_ROLES)}"
            )
        if not Web3.is_address(address.strip()):
            raise InputError(f"role grant {spec!r}: {address.strip()!r} is not an address")
        grants.append((AUTHORITY_ROLES[role], Web3.to_checksum_address(address.strip())))
    return grants


def deploy(
    w3: Web3,
    deployer: LocalAccount,
    *,
    notice_period: int = DEFAULT_NOTICE_PERIOD,
    categories: Iterable[int] = CATEGORIES,
    grants: Sequence[tuple[str, ChecksumAddress]] = (),
    admin: ChecksumAddress | None = None,
    progress: Progress = _quiet,
    evm_version: str = DEFAULT_EVM_VERSION,
) -> Deployment:
    """Deploy and wire every contract of the ``evm_version`` artifact set; return the
    deployment record (not yet saved)."""
    chain_id = int(w3.eth.chain_id)
    sender = Sender(w3, deployer)
    contracts: dict[str, ContractDeployment] = {}

    def create(name: str, *args: object) -> ChecksumAddress:
        address, receipt = _create(sender, name, *args, evm_version=evm_version)
        contracts[name] = ContractDeployment(
            name=name,
            address=address,
            tx_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            deployed_bytecode_hash=load_artifact(name, evm_version).deployed_bytecode_hash,
        )
        progress(f"deployed {name} at {address} (gas {receipt.gas_used:,})")
        return address

    registry = create("DataAssetRegistry", sender.address)
    # Checkpoint is not among CONTRACT_NAMES: see deploy_checkpoint.
    for name in CONTRACT_NAMES[1:]:
        if name == "RegistrationOffice":
            create(name, registry, notice_period)
        elif name == "DataMarket":
            create(name, registry, contracts["LicenseRegistry"].address)
        else:
            create(name, registry)

    registry_contract = w3.eth.contract(
        address=registry, abi=list(load_artifact("DataAssetRegistry", evm_version).abi)
    )

    def call(function: str, *args: object) -> Receipt:
        data = registry_contract.encode_abi(function, args=list(args))
        return sender.send(registry, bytes(HexBytes(data)))

    call(
        "setModules",
        contracts["LicenseRegistry"].address,
        contracts["ExportControl"].address,
    )
    progress("registry modules set")
    roles: list[RoleGrant] = []

    def grant(role: str, account: ChecksumAddress) -> None:
        receipt = call("grantRole", role_id(role), account)
        roles.append(RoleGrant(role=role, account=account, tx_hash=receipt.tx_hash))
        progress(f"granted {role} to {account}")

    for module, role in MODULE_ROLES.items():
        grant(role, contracts[module].address)
    listed = tuple(sorted(set(categories)))
    for code in listed:
        call("setCategoryListed", code, True)
    progress(f"listed {len(listed)} categories")
    for role, account in grants:
        grant(role, account)
    final_admin = admin or sender.address
    if final_admin != sender.address:
        grant("DEFAULT_ADMIN_ROLE", final_admin)
        call("renounceRole", role_id("DEFAULT_ADMIN_ROLE"), sender.address)
        progress(f"deployer renounced DEFAULT_ADMIN_ROLE in favour of {final_admin}")

    first = contracts["DataAssetRegistry"]
    registry_artifact = load_artifact("DataAssetRegistry", evm_version)
    return Deployment(
        chain_id=chain_id,
        deployer=sender.address,
        admin=final_admin,
        block_number=first.block_number,
        contracts=contracts,
        roles=tuple(roles),
        categories=listed,
        compiler_version=registry_artifact.compiler_version,
        source_hash=registry_artifact.source_hash,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        evm_version=evm_version,
    )


def _create(
    sender: Sender, name: str, *args: object, evm_version: str
) -> tuple[ChecksumAddress, Receipt]:
    """Create contract ``name`` (constructor arguments ``args``) from ``sender``: its address
    and the creation's receipt."""
    receipt = sender.send(None, creation_code(name, *args, evm_version=evm_version))
    raw = sender.w3.eth.get_transaction_receipt(HexBytes(receipt.tx_hash))
    created = raw["contractAddress"]
    if created is None:
        raise ProvledgerError(f"creating {name} returned no contract address")
    return Web3.to_checksum_address(created), receipt


def deploy_checkpoint(
    w3: Web3,
    sender: Sender,
    *,
    checkpointers: Iterable[str] = (),
    evm_version: str = DEFAULT_EVM_VERSION,
) -> ChecksumAddress:
    """Deploy a ``Checkpoint`` contract of the ``evm_version`` artifact set on ``w3``'s chain
    (the target chain) from ``sender``, who holds its DEFAULT_ADMIN_ROLE and CHECKPOINTER_ROLE;
    grant CHECKPOINTER_ROLE to each of ``checkpointers`` too. Returns its address."""
    address, _ = _create(sender, "Checkpoint", evm_version=evm_version)
    client = CheckpointClient(w3, address, sender)
    for account in checkpointers:
        if Web3.to_checksum_address(account) != sender.address:
            client.grant_checkpointer(account)
    return address
