"""ERC-20 tokens named as market currencies: allowance, approval and balances.

The market takes ERC-20 payments through the buyer's allowance, so a buyer approves the market
for the price before buying or bidding. Only the standard functions are used, so any ERC-20
works here; the ABI is the standard one, not a compiled artifact.
"""

from __future__ import annotations

from typing import Any, Final

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from provledger.chain.reverts import revert_from_exception
from provledger.chain.transactions import Receipt, Sender
from provledger.errors import ConfigurationError

ERC20_ABI: Final[list[dict[str, Any]]] = [
    {
        "type": "function",
        "name": name,
        "stateMutability": mutability,
        "inputs": [{"name": f"a{index}", "type": kind} for index, kind in enumerate(inputs)],
        "outputs": [{"name": "", "type": output} for output in outputs],
    }
    for name, mutability, inputs, outputs in (
        ("approve", "nonpayable", ("address", "uint256"), ("bool",)),
        ("allowance", "view", ("address", "address"), ("uint256",)),
        ("balanceOf", "view", ("address",), ("uint256",)),
        ("symbol", "view", (), ("string",)),
        ("decimals", "view", (), ("uint8",)),
    )
]
"""The parts of the ERC-20 ABI the market's clients use."""


class Erc20:
    """One ERC-20 token, seen by one (optional) signing account."""

    def __init__(self, w3: Web3, address: str, sender: Sender | None = None) -> None:
        self.w3 = w3
        self.address: ChecksumAddress = Web3.to_checksum_address(address)
        self.sender = sender
        self.contract: Contract = w3.eth.contract(address=self.address, abi=ERC20_ABI)

    def _call(self, function: str, *args: Any) -> Any:
        try:
            return self.contract.functions[function](*args).call()
        except Exception as error:
            revert = revert_from_exception(error)
            if revert is None:
                raise
            raise revert from error

    def approve(self, spender: str, amount: int) -> Receipt:
        """Allow ``spender`` (the market) to take ``amount`` from the sender."""
        if self.sender is None:
            raise ConfigurationError("approving a token needs a signing account")
        data = self.contract.encode_abi("approve", args=[Web3.to_checksum_address(spender), amount])
        return self.sender.send(self.address, bytes(HexBytes(data)))

    def allowance(self, owner: str, spender: str) -> int:
        """What ``spender`` may still take from ``owner``."""
        return int(
            self._call(
                "allowance", Web3.to_checksum_address(owner), Web3.to_checksum_address(spender)
            )
        )

    def balance_of(self, account: str) -> int:
        """The token balance of ``account``."""
        return int(self._call("balanceOf", Web3.to_checksum_address(account)))
