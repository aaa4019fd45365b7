"""The record of a deployment: ``deployments/<chain-id>.json``.

It names every contract's address, the block and transaction that created it and the hash of
the artifact deployed, so the indexer knows where to start and a verifier can check the code,
and the EVM version of the artifact set deployed (``compiler.evmVersion``; a record written
before it was kept is of the default set, cancun).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from provledger.chain.artifacts import DEFAULT_EVM_VERSION
from provledger.errors import ConfigurationError, ProvledgerError
from provledger.jsondoc import JsonDocumentError, read_json_file

FORMAT_VERSION: Final = 1

#: Every contract a deployment holds, in deployment order. Not ``Checkpoint``: it lives on another
#: chain than the registry, deployed apart (:func:`provledger.chain.deploy.deploy_checkpoint`).
CONTRACT_NAMES: Final = (
    "DataAssetRegistry",
    "RegistrationOffice",
    "LicenseRegistry",
    "AppraisalRegistry",
    "DisputeCourt",
    "BatchAnchor",
    "ExportControl",
    "DataMarket",
)


class DeploymentNotFoundError(ProvledgerError):
    """No deployment file exists for a chain."""

    template = "no deployment for chain {chain_id} at {path}; run `provledger deploy` first"
    path: Path
    chain_id: int


class DeploymentRecordedError(ProvledgerError):
    """A deployment is recorded for the chain already: writing another would lose it."""

    path: Path
    recorded: Deployment | None

    def _message(self) -> str:
        recorded = self.recorded
        if recorded is None:
            what = "a file that is not a deployment record"
        else:
            registry = recorded.contracts.get(CONTRACT_NAMES[0])
            where = "" if registry is None else f"{registry.name} at {registry.address}, "
            what = (
                f"the deployment of chain {recorded.chain_id} ({where}from block "
                f"{recorded.block_number})"
            )
        return (
            f"{self.path} already records {what}; give --replace to deploy anew and keep that "
            f"record beside the new one as {self.path.name}{REPLACED_SUFFIX}<time>"
        )


#: What a record replaced by a new deployment is renamed to end with, before its UTC time.
REPLACED_SUFFIX: Final = ".replaced-"


@dataclass(frozen=True)
class ContractDeployment:
    """One deployed contract."""

    name: str
    address: ChecksumAddress
    tx_hash: bytes
    block_number: int
    deployed_bytecode_hash: str
    """keccak256 of the artifact's runtime code, as compiled (immutables zeroed)."""


@dataclass(frozen=True)
class RoleGrant:
    """A role granted during deployment."""

    role: str
    account: ChecksumAddress
    tx_hash: bytes


@dataclass(frozen=True)
class Deployment:
    """A full deployment of the provledger contracts on one chain."""

    chain_id: int
    deployer: ChecksumAddress
    admin: ChecksumAddress
    block_number: int
    """The block of the first contract creation: where indexing starts."""
    contracts: dict[str, ContractDeployment]
    roles: tuple[RoleGrant, ...] = ()
    categories: tuple[int, ...] = ()
    compiler_version: str = ""
    source_hash: str = ""
    evm_version: str = DEFAULT_EVM_VERSION
    """The artifact set deployed (:data:`~provledger.chain.artifacts.EVM_VERSIONS`): its code is
    what the contracts' ``deployed_bytecode_hash`` name."""
    created_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def address(self, name: str) -> ChecksumAddress:
        """The address of contract ``name``."""
        try:
            return self.contracts[name].address
        except KeyError as error:
            raise ConfigurationError(
                f"deployment on chain {self.chain_id} has no {name} contract"
            ) from error

    @property
    def addresses(self) -> tuple[ChecksumAddress, ...]:
        """Every contract address, in deployment order."""
        return tuple(self.contracts[name].address for name in self.contracts)

    def to_json(self) -> dict[str, Any]:
        """The JSON form written to ``deployments/<chain-id>.json``."""
        return {
            "version": FORMAT_VERSION,
            "chainId": self.chain_id,
            "deployer": self.deployer,
            "admin": self.admin,
            "blockNumber": self.block_number,
            "createdAt": self.created_at,
            "compiler": {
                "version": self.compiler_version,
                "sourceHash": self.source_hash,
                "evmVersion": self.evm_version,
            },
            "contracts": {
                name: {
                    "address": item.address,
                    "transactionHash": HexBytes(item.tx_hash).to_0x_hex(),
                    "blockNumber": item.block_number,
                    "deployedBytecodeHash": item.deployed_bytecode_hash,
                }
                for name, item in self.contracts.items()
            },
            "roles": [
                {
                    "role": grant.role,
                    "account": grant.account,
                    "transactionHash": HexBytes(grant.tx_hash).to_0x_hex(),
                }
                for grant in self.roles
            ],
            "categories": list(self.categories),
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        """Parse the JSON form; raises ConfigurationError on a malformed file."""
        try:
            if data["version"] != FORMAT_VERSION:
                raise ConfigurationError(
                    f"deployment file version {data['version']} is not {FORMAT_VERSION}"
                )
            return cls(
                chain_id=int(data["chainId"]),
                deployer=to_checksum_address(data["deployer"]),
                admin=to_checksum_address(data["admin"]),
                block_number=int(data["blockNumber"]),
                created_at=str(data.get("createdAt", "")),
                compiler_version=str(data["compiler"]["version"]),
                source_hash=str(data["compiler"]["sourceHash"]),
                evm_version=str(data["compiler"].get("evmVersion", DEFAULT_EVM_VERSION)),
                contracts={
                    name: ContractDeployment(
                        name=name,
                        address=to_checksum_address(item["address"]),
                        tx_hash=bytes(HexBytes(item["transactionHash"])),
                        block_number=int(item["blockNumber"]),
                        deployed_bytecode_hash=str(item["deployedBytecodeHash"]),
                    )
                    for name, item in data["contracts"].items()
                },
                roles=tuple(
                    RoleGrant(
                        role=str(item["role"]),
                        account=to_checksum_address(item["account"]),
                        tx_hash=bytes(HexBytes(item["transactionHash"])),
                    )
                    for item in data.get("roles", [])
                ),
                categories=tuple(int(code) for code in data.get("categories", [])),
                extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigurationError(f"malformed deployment file: {error!r}") from error

    def save(self, folder: Path) -> Path:
        """Write ``<folder>/<chain-id>.json``; return its path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = deployment_path(folder, self.chain_id)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        return path


def deployment_path(folder: Path, chain_id: int) -> Path:
    """Where the deployment of ``chain_id`` is recorded."""
    return folder / f"{chain_id}.json"


def refuse_recorded(folder: Path, chain_id: int) -> None:
    """:class:`DeploymentRecordedError` if ``folder`` records a deployment of ``chain_id``."""
    path = deployment_path(folder, chain_id)
    if not path.exists():
        return
    try:
        recorded: Deployment | None = load_deployment(folder, chain_id)
    except ConfigurationError:
        recorded = None
    raise DeploymentRecordedError(path, recorded)


def set_aside(folder: Path, chain_id: int) -> Path | None:
    """Rename the record of ``chain_id``, if there is one, to
    ``<chain-id>.json.replaced-<UTC time>`` beside it (a new deployment replaces it, and the
    old one is not lost); where it went, or None."""
    path = deployment_path(folder, chain_id)
    if not path.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")  # ISO 8601, no colons in a file name
    kept = path.with_name(f"{path.name}{REPLACED_SUFFIX}{stamp}")
    count = 1
    while kept.exists():  # replaced twice within a second
        count += 1
        kept = path.with_name(f"{path.name}{REPLACED_SUFFIX}{stamp}-{count}")
    path.rename(kept)
    return kept


def load_deployment(folder: Path, chain_id: int) -> Deployment:
    """Read the deployment of ``chain_id`` from ``folder``."""
    path = deployment_path(folder, chain_id)
    try:
        data = read_json_file(path)
    except FileNotFoundError as error:
        raise DeploymentNotFoundError(path, chain_id) from error
    except JsonDocumentError as error:
        raise ConfigurationError(str(error)) from None
    return Deployment.from_json(data)
