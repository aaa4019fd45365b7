"""Revert data in the error shapes of the common nodes: each decodes to the custom error.

A node that refuses a call answers a JSON-RPC error whose ``data`` carries the revert, but not
the same way everywhere. Each vector below is one client's shape (from the client's own issue
trackers and documentation; only anvil and eth-tester run here). A loopback JSON-RPC server
(:mod:`helpers.rpcserver`) answers it, web3's own HTTP provider and response formatters turn it
into an exception as they would for that node, and :func:`revert_from_exception` must recover
the custom error's name and every argument from it.

| shape | where ``data`` is | client |
|---|---|---|
| geth | ``"0x…"``, code 3, ``execution reverted`` | geth, Erigon, reth, anvil |
| geth with a reason | ``"0x08c379a0…"``, message ``execution reverted: reason`` | geth, Infura |
| Nethermind | ``"0x…"``, code -32000 | Nethermind 1.2x and later |
| Nethermind, older | ``"Reverted 0x…"``, code -32015 ``VM execution error.`` | Nethermind before |
| Besu | ``"0x…"``, code -32000 ``Execution reverted`` | Besu (revert reasons on) |
| object ``result`` | ``{"result": "0x…", "programCounter": …}`` | Ganache 7 |
| object ``data`` | ``{"message": …, "data": "0x…"}`` | Hardhat 2 |
| EDR | ``"0x…"``, message ``VM Exception … reverted with custom error`` | Hardhat 3 (EDR) |
| message only | no ``data``; ``execution reverted: 0x…`` | a provider that keeps the message |
| refused send | ``data`` on an ``eth_sendRawTransaction`` error | any node that simulates on send |
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from web3 import Web3
from web3.providers import HTTPProvider

from helpers.assertions import error_data, failure_of
from helpers.rpcserver import CHAIN_ID, Answer, RpcServer
from provledger.chain.reverts import ContractRevertError, revert_bytes, revert_from_exception

ASSET = 0x5A17
CALLER = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
HOLDER = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"

#: NotAssetHolder(assetId, caller, holder): what every shape carries.
DATA = (
    "0x"
    + error_data(
        "NotAssetHolder(uint256,address,address)",
        ["uint256", "address", "address"],
        [ASSET, CALLER, HOLDER],
    ).hex()
)
EXPECTED = {"assetId": ASSET, "caller": CALLER, "holder": HOLDER}
#: Error(string) "not yours": a revert with a reason.
REASON = "0x" + error_data("Error(string)", ["string"], ["not yours"]).hex()

SHAPES: dict[str, dict[str, Any]] = {
    "geth": {"code": 3, "message": "execution reverted", "data": DATA},
    "nethermind": {"code": -32000, "message": "execution reverted", "data": DATA},
    "nethermind-older": {
        "code": -32015,
        "message": "VM execution error.",
        "data": "Reverted " + DATA,
    },
    "besu": {"code": -32000, "message": "Execution reverted", "data": DATA},
    "ganache-object-result": {
        "code": -32000,
        "message": "VM Exception while processing transaction: revert",
        "data": {
            "hash": None,
            "programCounter": 1676,
            "result": DATA,
            "reason": None,
            "message": "revert",
        },
    },
    "hardhat2-object-data": {
        "code": -32603,
        "message": "Error: VM Exception while processing transaction: reverted with custom "
        "error 'NotAssetHolder(...)'",
        "data": {"message": "reverted with a custom error", "data": DATA},
    },
    "edr": {
        "code": -32603,
        "message": "VM Exception while processing transaction: reverted with custom error "
        "'NotAssetHolder(...)'",
        "data": DATA,
    },
    "message-only": {"code": 3, "message": f"execution reverted: {DATA}"},
}


@pytest.fixture(scope="module")
def node() -> Iterator[RpcServer]:
    with RpcServer() as server:
        yield server


def _raised(node: RpcServer, answer: dict[str, Any], method: str) -> BaseException:
    node.answer = Answer(error=answer, results={"eth_chainId": hex(CHAIN_ID)})
    w3 = Web3(HTTPProvider(node.url, request_kwargs={"timeout": 10}))
    call = {"from": CALLER, "to": REGISTRY, "data": "0x12345678"}
    if method == "eth_call":
        return failure_of(lambda: w3.eth.call(call))  # type: ignore[arg-type]
    if method == "eth_estimateGas":
        return failure_of(lambda: w3.eth.estimate_gas(call))  # type: ignore[arg-type]
    return failure_of(lambda: w3.eth.send_raw_transaction(b"\x02" + b"\x00" * 40))


@pytest.mark.parametrize("method", ["eth_call", "eth_estimateGas"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_decodes_to_the_custom_error(node: RpcServer, shape: str, method: str) -> None:
    # web3 tries to read "Reverted 0x…" as a reason string and warns that it is not UTF-8
    older = shape == "nethermind-older"
    with pytest.warns(RuntimeWarning, match="UTF-8") if older else contextlib.nullcontext():
        raised = _raised(node, SHAPES[shape], method)
    revert = revert_from_exception(raised)
    assert isinstance(revert, ContractRevertError), (shape, type(raised), raised)
    assert revert.name == "NotAssetHolder"
    assert revert.args_by_name == EXPECTED
    assert revert.data.hex() == DATA[2:]


def test_a_refused_send_keeps_the_revert_in_the_node_s_answer(node: RpcServer) -> None:
    raised = _raised(node, SHAPES["geth"], "eth_sendRawTransaction")
    revert = revert_from_exception(raised)
    assert isinstance(revert, ContractRevertError), (type(raised), raised)
    assert (revert.name, revert.args_by_name) == ("NotAssetHolder", EXPECTED)


def test_a_reason_string_in_each_place() -> None:
    for value in (REASON, "Reverted " + REASON, {"result": REASON}, {"data": REASON}):
        data = revert_bytes(value)
        assert data is not None, value
        assert data.hex() == REASON[2:], value


@pytest.mark.parametrize(
    "value",
    ["0xnot-hex", "0x123", "no data", "revert", "Reverted ", None, 7, {"result": None}, {}],
)
def test_what_is_not_revert_data_is_none(value: object) -> None:
    """A reason in words, web3's ``"no data"``, hex that does not parse: no bytes, and no
    ValueError escapes (``0x`` with an odd or non-hex body used to raise one)."""
    assert revert_bytes(value) is None
