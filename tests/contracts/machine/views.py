"""Reading many view functions at once, through the compiled ``ModelViews`` harness.

Reading ~100 views one by one after every step would dominate the run (web3 and eth-tester
spend milliseconds per call), so the invariant reads them in one ``eth_call``: ``ModelViews``
(``contracts/test/ModelViews.sol``) makes every call with STATICCALL and returns all the
answers, and reads the accounts' native balances along with them. It is compiled with the other
harnesses into ``tests/artifacts`` (``provledger compile``, checked for drift).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils.abi import (
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
)
from eth_utils.crypto import keccak

from helpers.tokens import deploy_artifact, harness_artifact
from helpers.world import World
from provledger.chain.artifacts import load_artifact
from provledger.chain.deployments import Deployment
from provledger.chain.reverts import decode_revert_data, revert_from_exception


@dataclass(frozen=True)
class Function:
    """One function of an ABI: its selector, and the types of its arguments and results."""

    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @classmethod
    def of(cls, abi: Sequence[Mapping[str, Any]], name: str) -> Function:
        """Function ``name`` of ``abi`` (which must have exactly one of that name)."""
        (item,) = [
            dict[str, Any](entry)
            for entry in abi
            if entry.get("type") == "function" and entry.get("name") == name
        ]
        return cls(
            bytes(function_abi_to_4byte_selector(item)),  # type: ignore[arg-type]
            tuple(get_abi_input_types(item)),  # type: ignore[arg-type]
            tuple(get_abi_output_types(item)),  # type: ignore[arg-type]
        )

    def calldata(self, *args: Any) -> bytes:
        """The calldata of a call with ``args``."""
        return self.selector + abi_encode(self.inputs, list(args))


@dataclass(frozen=True)
class ViewCall:
    """One view function call: where, what, and how to decode the answer."""

    label: str
    target: ChecksumAddress
    calldata: bytes
    outputs: tuple[str, ...]


class Views:
    """Encoders for the deployment's view functions (selector + eth-abi, no web3 round trip)."""

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment
        self._functions: dict[tuple[str, str], Function] = {}

    def __call__(self, contract: str, function: str, *args: Any) -> ViewCall:
        key = (contract, function)
        if key not in self._functions:
            self._functions[key] = Function.of(load_artifact(contract).abi, function)
        called = self._functions[key]
        return ViewCall(
            label=f"{contract}.{function}{args}",
            target=self._deployment.address(contract),
            calldata=called.calldata(*args),
            outputs=called.outputs,
        )


class Aggregator:
    """The deployed ``ModelViews``: many view calls in one ``eth_call``, and the native
    balances of many accounts as one more call among them (the harness calls itself)."""

    def __init__(self, world: World) -> None:
        artifact = harness_artifact("ModelViews")
        sender = world.admin.sender
        assert sender is not None
        self.address = deploy_artifact(sender, artifact)
        self.read_views = Function.of(artifact["abi"], "read")
        self.balances_of = Function.of(artifact["abi"], "balancesOf")
        self.view_reverted = keccak(text="ViewReverted(uint256,bytes)")[:4]
        self.w3 = world.w3
        # eth-tester guesses a missing `from` by listing every account: give one, which never
        # sends a transaction in the machine (its balance is not counted).
        self.caller = world.relayer.address

    def balances(self, label: str, accounts: Sequence[ChecksumAddress]) -> ViewCall:
        """The native balances of ``accounts``, as one call the aggregator can make."""
        return ViewCall(
            label=f"{label} {len(accounts)} balances",
            target=self.address,
            calldata=self.balances_of.calldata(list(accounts)),
            outputs=self.balances_of.outputs,
        )

    def read(self, calls: Sequence[ViewCall]) -> list[tuple[Any, ...]]:
        """The decoded answers of ``calls``, in order; a reverting view fails the test."""
        payload = self.read_views.calldata(
            [call.target for call in calls], [call.calldata for call in calls]
        )
        try:
            output = self.w3.eth.call({"from": self.caller, "to": self.address, "data": payload})
        except Exception as error:
            revert = revert_from_exception(error)
            if revert is None or revert.data[:4] != self.view_reverted:
                raise
            index, returned = abi_decode(["uint256", "bytes"], revert.data[4:])
            message = f"{calls[index].label} reverted: {decode_revert_data(returned)}"
            raise AssertionError(message) from error
        (returned_by_each,) = abi_decode(list(self.read_views.outputs), bytes(output))
        return [
            tuple(abi_decode(list(call.outputs), returned))
            for call, returned in zip(calls, returned_by_each, strict=True)
        ]
