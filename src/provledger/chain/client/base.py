"""What every contract client shares: sending a function as a transaction, calling a view
(a revert raises :class:`~provledger.chain.reverts.ContractRevertError`), and encoding calldata.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.types import BlockIdentifier

from provledger.chain.artifacts import load_artifact
from provledger.chain.reverts import revert_from_exception
from provledger.chain.transactions import Receipt, Sender
from provledger.errors import ConfigurationError

ZERO_HASH = b"\x00" * 32


class ContractClient:
    """Calls and transactions of one contract of a deployment."""

    NAME: ClassVar[str]

    def __init__(self, w3: Web3, address: ChecksumAddress, sender: Sender | None) -> None:
        self.w3 = w3
        self.address = address
        self.sender = sender
        self.contract: Contract = w3.eth.contract(
            address=address, abi=list(load_artifact(self.NAME).abi)
        )

    def _send(self, function: str, *args: Any, gas: int | None = None, value: int = 0) -> Receipt:
        if self.sender is None:
            raise ConfigurationError(
                f"{self.NAME}.{function} sends a transaction, but no signing account was given"
            )
        data = self.contract.encode_abi(function, args=list(args))
        # the contract's own events come back decoded, whatever addresses the sender knows
        return self.sender.send(
            self.address, bytes(HexBytes(data)), gas=gas, value=value, decode=(self.address,)
        )

    def _call(self, function: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        try:
            return self.contract.functions[function](*args).call(block_identifier=block)
        except Exception as error:
            revert = revert_from_exception(error)
            if revert is None:
                raise
            raise revert from error

    def encode(self, function: str, *args: Any) -> bytes:
        """Calldata for ``function(*args)``, to send or estimate elsewhere."""
        return bytes(HexBytes(self.contract.encode_abi(function, args=list(args))))

    def encoder(self, function: str) -> CallEncoder:
        """A fast encoder of ``function``'s calldata, for building many transactions."""
        return CallEncoder(self, function)


class CallEncoder:
    """Calldata of one function, with its selector and argument types looked up once.

    web3's ``encode_abi`` (behind :meth:`ContractClient.encode`) searches the ABI on every call,
    milliseconds each; generators of large workloads encode through this instead. The first
    encoding is checked byte for byte against :meth:`ContractClient.encode`.
    """

    def __init__(self, client: ContractClient, function: str) -> None:
        self.client = client
        self.function = function
        abi = client.contract.get_function_by_name(function).abi
        self.selector = bytes(function_abi_to_4byte_selector(abi))
        self.types = list(get_abi_input_types(abi))
        self.checked = False

    def __call__(self, *args: Any) -> bytes:
        data = self.selector + abi_encode(self.types, list(args))
        if not self.checked:
            if data != self.client.encode(self.function, *args):
                raise RuntimeError(f"{self.function}: calldata differs from ContractClient.encode")
            self.checked = True
        return data
