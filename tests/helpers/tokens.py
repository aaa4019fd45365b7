"""ERC-20 harness tokens (``contracts/test``) deployed on a test chain."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from provledger.chain.transactions import Receipt, Sender

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def harness_artifact(name: str) -> dict[str, Any]:
    """The compiled harness ``name`` from ``tests/artifacts``."""
    data: dict[str, Any] = json.loads((ARTIFACTS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def deploy_artifact(sender: Sender, artifact: Mapping[str, Any]) -> ChecksumAddress:
    """Deploy the creation code of ``artifact`` from ``sender``; return the new address."""
    receipt = sender.send(None, bytes(HexBytes(artifact["bytecode"])))
    created = sender.w3.eth.get_transaction_receipt(HexBytes(receipt.tx_hash))["contractAddress"]
    assert created is not None
    return Web3.to_checksum_address(created)


class HarnessToken:
    """A deployed harness token; anyone may mint it."""

    def __init__(self, w3: Web3, deployer: LocalAccount, name: str = "TestToken") -> None:
        artifact = harness_artifact(name)
        self.w3 = w3
        self.address = deploy_artifact(Sender(w3, deployer), artifact)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=artifact["abi"])

    def send(self, account: LocalAccount, function: str, *args: Any) -> Receipt:
        """Call ``function(*args)`` as ``account``."""
        data = self.contract.encode_abi(function, args=list(args))
        return Sender(self.w3, account).send(self.address, bytes(HexBytes(data)))

    def mint(self, account: LocalAccount, to: str, amount: int) -> Receipt:
        """Mint ``amount`` to ``to``."""
        return self.send(account, "mint", Web3.to_checksum_address(to), amount)

    def balance_of(self, account: str) -> int:
        """The balance of ``account``."""
        return int(self.contract.functions.balanceOf(Web3.to_checksum_address(account)).call())
