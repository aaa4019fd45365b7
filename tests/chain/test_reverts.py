"""Revert decoding: the one place that turns both backends' revert errors into ContractRevertError.

eth-tester raises ``TransactionFailed("execution reverted: b'...'")``; a JSON-RPC node makes web3
raise ``ContractCustomError`` with ``.data`` as hex. The chain tests below take each path on its
backend (a gas estimate, an ``eth_call``, a mined failing transaction, a reverting view) and
check that all of them decode to the same error; the unit tests feed crafted inputs of every
form :func:`revert_from_exception` and :func:`decode_revert_data` accept.
"""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode
from eth_tester.exceptions import TransactionFailed
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

from helpers.assertions import error_data, failure_of
from helpers.builders import doc, registration
from helpers.world import World
from provledger.chain.connection import is_embedded
from provledger.chain.enums import AssetStatus, ParticipantStatus
from provledger.chain.ids import asset_id
from provledger.chain.reverts import (
    PANIC_CODES,
    ContractRevertError,
    decode_revert_data,
    known_errors,
    revert_from_exception,
)

ALICE = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
BOB = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"


def raw_error_type(world: World) -> type[Exception]:
    """What the backend itself raises for a revert (before provledger decodes it)."""
    return TransactionFailed if is_embedded(world.w3) else ContractCustomError


NOT_HOLDER = (
    "NotAssetHolder(uint256,address,address)",
    ["uint256", "address", "address"],
)


# ---------------------------------------------------------------- both backends


def test_custom_error_decodes_alike_from_estimate_call_and_mined_failure(world: World) -> None:
    asset = world.register(world.alice)
    registry = world.bob.registry
    sender = world.bob.sender
    assert sender is not None
    calldata = registry.encode("updateMetadata", asset, "ipfs://bob/metadata.json", doc("bob"))
    expected = {"assetId": asset, "caller": world.bob.address, "holder": world.alice.address}
    expected_data = error_data(
        NOT_HOLDER[0], NOT_HOLDER[1], [asset, world.bob.address, world.alice.address]
    )

    # 1. the Sender's gas estimate
    estimate_error = failure_of(lambda: sender.estimate(registry.address, calldata))
    # 2. a plain eth_call of the same calldata, decoded by hand
    raw = failure_of(
        lambda: world.w3.eth.call(
            {"from": world.bob.address, "to": registry.address, "data": HexBytes(calldata)}
        )
    )
    assert isinstance(raw, raw_error_type(world))
    call_error = revert_from_exception(raw)
    # 3. a transaction sent with fixed gas (no estimate), mined as failed, replayed as a call
    block_before = world.w3.eth.block_number
    mined_error = failure_of(lambda: sender.send(registry.address, calldata, gas=300_000))
    assert world.w3.eth.block_number == block_before + 1  # it was mined, and failed

    for error in (estimate_error, call_error, mined_error):
        assert isinstance(error, ContractRevertError)
        assert error.name == "NotAssetHolder"
        assert error.args_by_name == expected
        assert error.data == expected_data
        assert str(error) == (
            f"reverted with NotAssetHolder(assetId={asset:#066x}, caller={world.bob.address}, "
            f"holder={world.alice.address})"
        )


def test_enum_and_bytes_arguments_decode_typed_on_both_backends(world: World) -> None:
    core = world.register(world.alice, grade=3)
    with pytest.raises(ContractRevertError) as crossing:
        world.alice.registry.transfer(core, world.dave.address)
    assert crossing.value.name == "CrossBorderTransferProhibited"
    assert crossing.value.args_by_name == {
        "assetId": core,
        "grade": 3,
        "fromJurisdiction": b"CN",
        "toJurisdiction": b"US",
    }
    assert type(crossing.value.args_by_name["fromJurisdiction"]) is bytes

    world.alice.registry.cancel(core, doc("withdrawn"))
    with pytest.raises(ContractRevertError) as cancelled:
        world.alice.registry.cancel(core, doc("again"))
    assert cancelled.value.name == "AssetNotModifiable"
    assert cancelled.value.args_by_name == {"assetId": core, "status": AssetStatus.CANCELLED}
    assert type(cancelled.value.args_by_name["status"]) is AssetStatus
    assert str(cancelled.value) == (
        f"reverted with AssetNotModifiable(assetId={core:#066x}, status=AssetStatus.CANCELLED)"
    )

    with pytest.raises(ContractRevertError) as stranger:
        world.stranger.registry.register(registration())
    assert stranger.value.args_by_name == {
        "account": world.stranger.address,
        "status": ParticipantStatus.NONE,
    }
    assert type(stranger.value.args_by_name["status"]) is ParticipantStatus


def test_reverting_view_decodes_alike_through_client_and_raw_call(world: World) -> None:
    unknown = asset_id(doc("never registered"))
    with pytest.raises(ContractRevertError) as through_client:
        world.stranger.registry.holder_of(unknown)

    contract = world.stranger.registry.contract
    raw = failure_of(lambda: contract.functions.ownerOf(unknown).call())
    assert isinstance(raw, raw_error_type(world))
    by_hand = revert_from_exception(raw)

    for error in (through_client.value, by_hand):
        assert isinstance(error, ContractRevertError)
        assert error.name == "ERC721NonexistentToken"
        assert error.args_by_name == {"tokenId": unknown}
        assert error.data == error_data("ERC721NonexistentToken(uint256)", ["uint256"], [unknown])
        assert str(error) == f"reverted with ERC721NonexistentToken(tokenId={unknown:#066x})"


def test_module_error_with_address_and_bytes32_arguments(world: World) -> None:
    asset = world.register(world.alice)
    with pytest.raises(ContractRevertError) as denied:
        world.stranger.court.freeze(1)
    assert denied.value.name == "AccessControlUnauthorizedAccount"
    assert denied.value.args_by_name == {
        "account": world.stranger.address,
        "neededRole": keccak(text="ARBITER_ROLE"),
    }
    world.bob.court.open(asset, doc("evidence"))  # now the dispute exists: only the role lacks
    with pytest.raises(ContractRevertError) as again:
        world.stranger.court.freeze(1)
    assert (again.value.name, again.value.args_by_name) == (
        denied.value.name,
        denied.value.args_by_name,
    )


# ---------------------------------------------------------------- crafted inputs


NOT_HOLDER_DATA = error_data(NOT_HOLDER[0], NOT_HOLDER[1], [7, ALICE.lower(), BOB.lower()])
NOT_HOLDER_ARGS = {"assetId": 7, "caller": ALICE, "holder": BOB}


def test_eth_tester_bytes_literal_with_single_quotes() -> None:
    error = TransactionFailed(f"execution reverted: {NOT_HOLDER_DATA!r}")
    revert = revert_from_exception(error)
    assert revert is not None
    assert (revert.name, revert.args_by_name, revert.data) == (
        "NotAssetHolder",
        NOT_HOLDER_ARGS,
        NOT_HOLDER_DATA,
    )


def test_eth_tester_bytes_literal_with_double_quotes() -> None:
    # Python writes a bytes literal with double quotes when the bytes contain a single quote.
    data = error_data("ERC721NonexistentToken(uint256)", ["uint256"], [ord("'")])
    literal = repr(data)
    assert literal.startswith('b"')
    revert = revert_from_exception(TransactionFailed(f"execution reverted: {literal}"))
    assert revert is not None
    assert (revert.name, revert.args_by_name) == ("ERC721NonexistentToken", {"tokenId": 39})


def test_eth_tester_error_wrapped_in_another_exception() -> None:
    inner = TransactionFailed(f"execution reverted: {NOT_HOLDER_DATA!r}")
    revert = revert_from_exception(RuntimeError(inner))
    assert revert is not None
    assert (revert.name, revert.args_by_name) == ("NotAssetHolder", NOT_HOLDER_ARGS)


def test_web3_custom_error_with_hex_data() -> None:
    hex_data = HexBytes(NOT_HOLDER_DATA).to_0x_hex()
    revert = revert_from_exception(ContractCustomError(hex_data, data=hex_data))
    assert revert is not None
    assert (revert.name, revert.args_by_name, revert.data) == (
        "NotAssetHolder",
        NOT_HOLDER_ARGS,
        NOT_HOLDER_DATA,
    )


def test_data_attribute_as_bytes() -> None:
    error = ContractLogicError("execution reverted")
    error.data = NOT_HOLDER_DATA  # type: ignore[assignment]
    revert = revert_from_exception(error)
    assert revert is not None
    assert (revert.name, revert.args_by_name) == ("NotAssetHolder", NOT_HOLDER_ARGS)


def test_error_string_data() -> None:
    data = error_data("Error(string)", ["string"], ["paused: try later"])
    revert = revert_from_exception(
        ContractLogicError("execution reverted: paused: try later", data=HexBytes(data).to_0x_hex())
    )
    assert revert is not None
    assert (revert.name, revert.args_by_name) == ("Error", {"message": "paused: try later"})
    assert str(revert) == "reverted with Error(message='paused: try later')"


def test_panic_data() -> None:
    data = error_data("Panic(uint256)", ["uint256"], [0x11])
    revert = revert_from_exception(
        ContractPanicError("Panic error 0x11", data=HexBytes(data).to_0x_hex())
    )
    assert revert is not None
    assert revert.name == "Panic"
    assert revert.args_by_name == {"code": 0x11, "reason": PANIC_CODES[0x11]}
    assert revert.args_by_name["reason"] == "arithmetic overflow or underflow"
    assert str(revert) == "reverted with Panic(code=17, reason='arithmetic overflow or underflow')"


def test_panic_with_unknown_code() -> None:
    revert = decode_revert_data(error_data("Panic(uint256)", ["uint256"], [0x99]))
    assert revert.args_by_name == {"code": 0x99, "reason": "unknown"}


@pytest.mark.parametrize(
    "error",
    [
        TransactionFailed("execution reverted"),
        TransactionFailed("execution reverted: b''"),
        ContractLogicError("execution reverted", data="0x"),
    ],
    ids=["eth-tester-bare", "eth-tester-empty-bytes", "web3-empty-hex"],
)
def test_empty_revert_data(error: Exception) -> None:
    revert = revert_from_exception(error)
    assert revert is not None
    assert (revert.name, revert.args_by_name, revert.data) == ("", {}, b"")
    assert str(revert) == "reverted without a known reason (data 0x)"


def test_unknown_selector_keeps_the_data() -> None:
    data = bytes.fromhex("deadbeef") + abi_encode(["uint256"], [5])
    assert data[:4] not in known_errors()
    revert = revert_from_exception(TransactionFailed(f"execution reverted: {data!r}"))
    assert revert is not None
    assert (revert.name, revert.args_by_name, revert.data) == ("", {}, data)
    assert str(revert) == f"reverted without a known reason (data {HexBytes(data).to_0x_hex()})"


def test_known_selector_with_truncated_arguments_is_unknown() -> None:
    truncated = NOT_HOLDER_DATA[:40]
    revert = decode_revert_data(truncated)
    assert (revert.name, revert.args_by_name, revert.data) == ("", {}, truncated)


def test_hex_and_text_details_of_a_reverted_message() -> None:
    hex_detail = revert_from_exception(
        TransactionFailed(f"execution reverted: {HexBytes(NOT_HOLDER_DATA).to_0x_hex()}")
    )
    assert hex_detail is not None
    assert (hex_detail.name, hex_detail.args_by_name) == ("NotAssetHolder", NOT_HOLDER_ARGS)
    text = revert_from_exception(TransactionFailed("execution reverted: Ownable: not owner"))
    assert text is not None
    assert (text.name, text.args_by_name, text.data) == (
        "Error",
        {"message": "Ownable: not owner"},
        b"",
    )


@pytest.mark.parametrize(
    "error",
    [
        ValueError("insufficient funds for gas * price + value"),
        TimeoutError(),
        ConnectionError("connection refused"),
        RuntimeError(ValueError("nested, not a revert")),
        TransactionFailed("out of gas"),
    ],
    ids=["value-error", "timeout", "connection", "nested-non-revert", "not-a-revert-message"],
)
def test_non_revert_exceptions_give_none(error: Exception) -> None:
    assert revert_from_exception(error) is None


def test_a_contract_revert_passes_through() -> None:
    revert = decode_revert_data(NOT_HOLDER_DATA)
    assert revert_from_exception(revert) is revert


def test_arguments_are_typed_and_rendered() -> None:
    data = error_data(
        "UnexpectedStatus(uint256,uint8,uint8)", ["uint256", "uint8", "uint8"], [3, 4, 2]
    )
    revert = decode_revert_data(data)
    assert revert.args_by_name == {
        "assetId": 3,
        "status": AssetStatus.REJECTED,
        "expected": AssetStatus.NOTICED,
    }
    assert type(revert.args_by_name["status"]) is AssetStatus
    assert str(revert) == (
        f"reverted with UnexpectedStatus(assetId={3:#066x}, status=AssetStatus.REJECTED, "
        "expected=AssetStatus.NOTICED)"
    )
    content = bytes(range(32))
    duplicate = decode_revert_data(
        error_data(
            "AssetAlreadyRegistered(uint256,bytes32,address)",
            ["uint256", "bytes32", "address"],
            [9, content, ALICE.lower()],
        )
    )
    assert duplicate.args_by_name == {"assetId": 9, "contentHash": content, "registrant": ALICE}
    assert str(duplicate) == (
        f"reverted with AssetAlreadyRegistered(assetId={9:#066x}, "
        f"contentHash={HexBytes(content).to_0x_hex()}, registrant={ALICE})"
    )
    assert isinstance(revert, ContractRevertError)
