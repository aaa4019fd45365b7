"""The generated event decoders against web3.py's own decoding.

Two generated decoders exist per event: the typed one of :mod:`provledger.chain.events`
(bytes in, dataclass out) and the indexer's row decoder of :mod:`provledger.indexer.rows`
(JSON-RPC hex in, storage-form tuple out). One transaction script makes the deployment emit
every event type (two of them, inherited from OpenZeppelin but never emitted by these
contracts, come from a few bytes of hand-written EVM code that emits a log with given topics
and data). Each log is decoded three times, by both generated decoders and by web3's
``process_log``, and all must agree field by field. If an event is added and the script does
not emit it, the coverage check fails. Malformed logs must raise :class:`LogDecodeError` from
both decoders.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from enum import IntEnum
from typing import Any, Final

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from hypothesis import given
from hypothesis import strategies as st
from web3 import Web3
from web3.contract import Contract
from web3.types import LogReceipt

from helpers.builders import doc, registration, unique_content
from helpers.world import NOTICE_PERIOD, World
from provledger.chain.abi_codec import LogDecodeError
from provledger.chain.artifacts import load_artifact
from provledger.chain.client import CheckpointClient
from provledger.chain.deploy import deploy_checkpoint
from provledger.chain.enums import SOLIDITY_ENUMS, LicenseKind, RegistrationType, Ruling
from provledger.chain.events import (
    DECODERS,
    EVENT_TYPES,
    AssetRegistered,
    CheckpointSubmitted,
    Event,
)
from provledger.chain.ids import role_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import ParentLink, Registration
from provledger.indexer.rows import ROW_DECODERS, ROW_ENUMS, ROW_TYPES
from provledger.merkle import batch_leaf_hash
from provledger.toolchain.rowgen import ASSET_ID_FIELDS

# ---------------------------------------------------------------- ABI helpers


def event_abi(name: str) -> dict[str, Any]:
    """The ABI entry of event ``name`` in the first contract that declares it."""
    contract = EVENT_TYPES[name].CONTRACTS[0]
    for item in load_artifact(contract).abi:
        if item.get("type") == "event" and item.get("name") == name:
            return dict(item)
    raise AssertionError(f"{name} is not in the {contract} ABI")


def web3_contract(w3: Web3, name: str) -> type[Contract]:
    """A web3 contract object with the ABI that declares event ``name``."""
    contract = EVENT_TYPES[name].CONTRACTS[0]
    return w3.eth.contract(abi=list(load_artifact(contract).abi))


def field_name(solidity_name: str) -> str:
    """The dataclass field for a Solidity parameter: snake_case, ``from`` -> ``from_``."""
    if solidity_name == "from":
        return "from_"
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", solidity_name).lower()


def enum_of(abi_input: Mapping[str, Any]) -> type[IntEnum] | None:
    """The Python enum mirroring a Solidity enum parameter, if the parameter is one."""
    internal = str(abi_input.get("internalType", ""))
    if not internal.startswith("enum "):
        return None
    return SOLIDITY_ENUMS[internal.rsplit(".", 1)[-1]]


def assert_agrees_with_web3(event: Event, web3_args: Mapping[str, Any]) -> None:
    """Every field of ``event`` equals web3's value for the same parameter, typed as declared."""
    abi = event_abi(type(event).NAME)
    fields = {field.name for field in dataclasses.fields(event)}
    assert fields == {field_name(str(item["name"])) for item in abi["inputs"]}
    assert set(web3_args) == {str(item["name"]) for item in abi["inputs"]}
    for item in abi["inputs"]:
        ours = getattr(event, field_name(str(item["name"])))
        theirs = web3_args[str(item["name"])]
        abi_type = str(item["type"])
        where = f"{type(event).NAME}.{item['name']}"
        enum = enum_of(item)
        if enum is not None:
            assert type(ours) is enum, f"{where}: {ours!r} is not a {enum.__name__}"
            assert int(ours) == theirs, where
        elif abi_type == "address":
            assert ours == theirs, where
            assert ours == to_checksum_address(ours), f"{where}: {ours} is not checksummed"
        elif abi_type.startswith("bytes"):
            assert type(ours) is bytes, f"{where}: {type(ours).__name__} is not bytes"
            assert ours == bytes(theirs), where
        else:
            assert type(ours) is type(theirs), where
            assert ours == theirs, where


def storage_form(abi_input: Mapping[str, Any], value: Any) -> Any:
    """What the row decoders must give for web3's ``value`` of one parameter."""
    abi_type = str(abi_input["type"])
    if str(abi_input["name"]) in ASSET_ID_FIELDS:
        return f"0x{value:064x}"
    if abi_type == "address":
        return str(value).lower()
    if abi_type.startswith("bytes"):
        return "0x" + bytes(value).hex()
    return value


def assert_row_agrees_with_web3(
    name: str, row: tuple[Any, ...], web3_args: Mapping[str, Any]
) -> None:
    """Every field of the storage-form ``row`` is web3's value in storage form."""
    abi = event_abi(name)
    assert type(row) is ROW_TYPES[name]
    fields = row._fields
    assert fields == tuple(field_name(str(item["name"])) for item in abi["inputs"])
    enums = ROW_ENUMS.get(type(row), {})
    for item, ours in zip(abi["inputs"], row, strict=True):
        expected = storage_form(item, web3_args[str(item["name"])])
        where = f"{name}.{item['name']}"
        assert type(ours) is type(expected), f"{where}: {ours!r} is not like {expected!r}"
        assert ours == expected, where
        if enum_of(item) is not None:
            assert enums[field_name(str(item["name"]))] is enum_of(item), where


def rpc_form(log: LogReceipt, *, upper: bool = False) -> tuple[list[str], str]:
    """A log's topics and data as JSON-RPC hex strings (``upper``: digits in capitals)."""

    def text(raw: bytes) -> str:
        digits = bytes(raw).hex()
        return "0x" + (digits.upper() if upper else digits)

    return [text(topic) for topic in log["topics"]], text(log["data"])


def decode_row(name: str, topics: Sequence[str], data: str) -> tuple[Any, ...]:
    """Decode with the generated row decoder of ``name``."""
    decoded_name, decoder = ROW_DECODERS["0x" + EVENT_TYPES[name].TOPIC0.hex()]
    assert decoded_name == name
    return decoder(topics, data)


# ---------------------------------------------------------------- a raw log emitter

# Opcodes of the emitter below.
_PUSH1, _CALLDATALOAD, _CALLDATASIZE, _CALLDATACOPY, _SUB = 0x60, 0x35, 0x36, 0x37, 0x03
_DUP1, _LOG0, _STOP, _CODECOPY, _RETURN = 0x80, 0xA0, 0x00, 0x39, 0xF3


def emitter_creation_code(topic_count: int) -> bytes:
    """Creation code of a contract that emits ``LOG<topic_count>`` for any call.

    Calldata is the topics (32 bytes each) followed by the log data. Runtime, in mnemonics:
    ``size = CALLDATASIZE - 32n; CALLDATACOPY(0, 32n, size); LOGn(0, size, word0 … word(n-1))``.
    """
    head = 32 * topic_count
    runtime = bytes(
        [_PUSH1, head, _CALLDATASIZE, _SUB, _DUP1, _PUSH1, head, _PUSH1, 0, _CALLDATACOPY]
    )
    for index in reversed(range(topic_count)):
        runtime += bytes([_PUSH1, 32 * index, _CALLDATALOAD])
    runtime += bytes([_DUP1 + topic_count, _PUSH1, 0, _LOG0 + topic_count, _STOP])
    init = bytes([_PUSH1, len(runtime), _PUSH1, 12, _PUSH1, 0, _CODECOPY])
    init += bytes([_PUSH1, len(runtime), _PUSH1, 0, _RETURN])
    assert len(init) == 12
    return init + runtime


def emit_raw(world: World, topics: Sequence[bytes], data: bytes) -> bytes:
    """Deploy an emitter and make it emit one log; return the emitting transaction's hash."""
    sender = world.admin.sender
    assert sender is not None
    created = sender.send(None, emitter_creation_code(len(topics)))
    address = world.w3.eth.get_transaction_receipt(HexBytes(created.tx_hash))["contractAddress"]
    assert address is not None
    return sender.send(Web3.to_checksum_address(address), b"".join(topics) + data).tx_hash


# ---------------------------------------------------------------- every event on a chain


def produce_every_event(world: World) -> list[bytes]:
    """Run transactions that together emit every event type; return their hashes."""
    hashes: list[bytes] = []
    admin, registrar, alice = world.admin, world.registrar, world.alice

    def record(receipt: Receipt) -> Receipt:
        hashes.append(receipt.tx_hash)
        return receipt

    # administration
    record(admin.registry.set_base_uri("https://provledger.example/assets/"))
    record(admin.registry.set_category_listed(999, True))
    record(admin.registry.set_modules(*admin.registry.modules()))
    record(admin.office.set_notice_period(NOTICE_PERIOD))
    record(admin.registry.grant_role("APPRAISER_ROLE", world.stranger.address))
    record(admin.registry.revoke_role("APPRAISER_ROLE", world.stranger.address))
    record(admin.registry.pause())
    record(admin.registry.unpause())
    newcomer = world.actor(12).address
    record(registrar.registry.register_participant(newcomer, "HK", doc("legal name of frank")))
    record(registrar.registry.suspend_participant(newcomer, doc("suspension")))
    record(registrar.registry.reinstate_participant(newcomer))

    # registration, lineage, approvals, metadata (non-ASCII strings on purpose)
    first = registration(metadata_uri="ipfs://bafy/数据资产/metadata.json")
    asset = record(alice.registry.register(first)).event(AssetRegistered).asset_id
    record(alice.registry.register(registration(parents=(ParentLink(asset),))))
    record(alice.registry.approve(world.bob.address, asset))
    assert alice.sender is not None
    operator = alice.registry.encode("setApprovalForAll", world.dave.address, True)
    record(alice.sender.send(alice.registry.address, operator))
    record(alice.registry.update_metadata(asset, "ipfs://bafy/v2 é.json", doc("metadata v2")))

    # review, objection, certificate, rejection
    record(registrar.office.accept(asset))
    record(world.bob.office.object(asset, doc("grounds")))
    record(registrar.office.resolve_objection(1, False, doc("dismissed")))
    world.chain.advance(NOTICE_PERIOD)
    record(registrar.office.certify(asset, doc("certificate"), RegistrationType.INITIAL))
    rejected = world.register(alice)
    record(registrar.office.reject(rejected, doc("incomplete")))

    # licenses, appraisal, dispute
    expiry = world.now() + 30 * 24 * 3600
    record(
        alice.licenses.grant(
            asset, world.bob.address, LicenseKind.PROCESSING_USE, expiry, doc("terms"), "分析 only"
        )
    )
    record(alice.licenses.revoke(1, doc("breach")))
    record(world.appraiser.appraisals.appraise(asset, 1_250_000, "CNY", 2, doc("report")))
    record(world.bob.court.open(asset, doc("evidence")))
    record(world.arbiter.court.freeze(1))
    record(world.arbiter.court.rule(1, Ruling.DISMISS, doc("ruling")))

    # export permits: issued, revoked, issued again and used by a transfer abroad
    important = world.register(alice, grade=2)
    record(world.exporter.export.issue_permit(important, world.carol.address, expiry))
    record(world.exporter.export.revoke_permit(important, world.carol.address))
    record(world.exporter.export.issue_permit(important, world.carol.address, expiry))
    record(alice.registry.transfer(important, world.carol.address))

    # a batch anchor and the promotion of its only leaf (root = leaf, empty proof)
    leaf_content = unique_content()
    root = batch_leaf_hash(leaf_content)
    record(alice.anchor.anchor(root, 1, "ipfs://bafy/batch-manifest.json"))
    promoted: Registration = registration(content_hash=leaf_content)
    record(alice.anchor.promote(root, [], promoted))

    # the market, in the native currency (an ERC-20's own logs are not the deployment's)
    bob, market = world.bob, world.deployment.address("DataMarket")
    record(admin.market.set_fee(world.erin.address, 250))
    record(admin.market.set_currency_listed(world.stranger.address, True))
    for_sale = world.register(alice)
    record(alice.registry.approve(market, for_sale))
    record(alice.market.list_asset(for_sale, 1_000, expiry, min_bid=500))
    record(bob.market.bid(1, 600, expiry, value=600))
    record(bob.market.cancel_bid(1))
    record(world.erin.market.bid(1, 700, expiry, value=700))
    record(alice.market.accept_bid(2))
    licensed = world.register(alice)
    record(
        alice.market.offer_license(
            licensed, LicenseKind.PRODUCT_OPERATION, 86_400, doc("terms"), "运营 only", 40, expiry
        )
    )
    record(bob.market.buy(2, value=40))
    record(alice.market.cancel_offer(2))
    record(alice.market.withdraw())

    # a Checkpoint contract (of another chain's blocks; any chain serves as the target here)
    assert admin.sender is not None
    address = deploy_checkpoint(world.w3, admin.sender)
    checkpoint = CheckpointClient(world.w3, address, admin.sender)
    source, root = 31338, b"\x03" * 32
    submitted = record(checkpoint.submit(source, 5, 260, b"\x01" * 32, b"\x02" * 32, root))
    sequence = submitted.event(CheckpointSubmitted).sequence
    witness = CheckpointClient(world.w3, address, bob.sender)
    record(witness.witness(source, sequence, checkpoint.checkpoint_of(source, sequence)))

    # declared by OpenZeppelin's EIP712 and AccessControl, emitted by nothing deployed here
    eip712 = EVENT_TYPES["EIP712DomainChanged"].TOPIC0
    hashes.append(emit_raw(world, [eip712], b""))
    admin_changed = EVENT_TYPES["RoleAdminChanged"].TOPIC0
    roles = [role_id("ARBITER_ROLE"), role_id("DEFAULT_ADMIN_ROLE"), role_id("REGISTRAR_ROLE")]
    hashes.append(emit_raw(world, [admin_changed, *roles], b""))
    return hashes


def test_every_event_type_decodes_like_web3(world: World) -> None:
    covered: dict[str, int] = {}
    for tx_hash in produce_every_event(world):
        receipt = world.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        assert receipt["status"] == 1
        for log in receipt["logs"]:
            topics = [bytes(topic) for topic in log["topics"]]
            decoder = DECODERS.get(topics[0])
            assert decoder is not None, f"no decoder for topic {topics[0].hex()}"
            event = decoder(topics, bytes(log["data"]))
            name = type(event).NAME
            assert EVENT_TYPES[name] is type(event)
            web3_args = getattr(web3_contract(world.w3, name).events, name)().process_log(log)
            assert_agrees_with_web3(event, web3_args["args"])
            assert_row_agrees_with_web3(name, decode_row(name, *rpc_form(log)), web3_args["args"])
            covered[name] = covered.get(name, 0) + 1
    missing = sorted(set(EVENT_TYPES) - set(covered))
    assert not missing, f"no log of these event types was produced and checked: {missing}"


def test_receipt_events_are_the_decoded_logs_of_the_deployment(world: World) -> None:
    asset = world.register(world.alice)
    receipt = world.alice.registry.update_metadata(asset, "ipfs://bafy/v2.json", doc("v2"))
    raw = world.w3.eth.get_transaction_receipt(HexBytes(receipt.tx_hash))
    expected = tuple(
        DECODERS[bytes(log["topics"][0])](
            [bytes(topic) for topic in log["topics"]], bytes(log["data"])
        )
        for log in raw["logs"]
    )
    assert receipt.events == expected
    assert len(expected) == 1


# ---------------------------------------------------------------- synthetic logs

ZERO_HASH: Final = b"\x00" * 32


def value_strategy(abi_input: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values of one event parameter, over its whole ABI range."""
    abi_type = str(abi_input["type"])
    enum = enum_of(abi_input)
    if enum is not None:
        return st.sampled_from([int(member) for member in enum])
    if abi_type.startswith("uint"):
        return st.integers(min_value=0, max_value=2 ** int(abi_type[4:]) - 1)
    if abi_type == "address":
        return st.binary(min_size=20, max_size=20).map(to_checksum_address)
    if abi_type == "bool":
        return st.booleans()
    if abi_type == "string":
        return st.text(max_size=80)
    if abi_type.startswith("bytes"):
        size = int(abi_type[5:])
        return st.binary(min_size=size, max_size=size)
    raise AssertionError(f"no strategy for {abi_type}")


def synthetic_log(name: str, values: Mapping[str, Any]) -> LogReceipt:
    """A log of event ``name`` carrying ``values``, ABI-encoded as the EVM would."""
    abi = event_abi(name)
    topics = [HexBytes(EVENT_TYPES[name].TOPIC0)]
    data_types: list[str] = []
    data_values: list[Any] = []
    for item in abi["inputs"]:
        value = values[str(item["name"])]
        if item["indexed"]:
            topics.append(HexBytes(abi_encode([str(item["type"])], [value])))
        else:
            data_types.append(str(item["type"]))
            data_values.append(value)
    log: dict[str, Any] = {
        "address": to_checksum_address("0x" + "11" * 20),
        "topics": topics,
        "data": HexBytes(abi_encode(data_types, data_values)),
        "blockHash": HexBytes(ZERO_HASH),
        "blockNumber": 1,
        "transactionHash": HexBytes(ZERO_HASH),
        "transactionIndex": 0,
        "logIndex": 0,
        "removed": False,
    }
    return log  # type: ignore[return-value]


def raw_parts(log: LogReceipt) -> tuple[list[bytes], bytes]:
    """The topics and data of a log as the decoders take them."""
    return [bytes(topic) for topic in log["topics"]], bytes(log["data"])


EVENT_NAMES: Final = sorted(EVENT_TYPES)


@pytest.mark.parametrize("name", EVENT_NAMES)
@given(data=st.data())
def test_synthetic_logs_decode_like_web3(name: str, data: st.DataObject) -> None:
    abi = event_abi(name)
    values = {str(item["name"]): data.draw(value_strategy(item)) for item in abi["inputs"]}
    log = synthetic_log(name, values)
    event = DECODERS[EVENT_TYPES[name].TOPIC0](*raw_parts(log))
    contract = web3_contract(Web3(), name)
    web3_args = getattr(contract.events, name)().process_log(log)["args"]
    assert_agrees_with_web3(event, web3_args)
    upper = data.draw(st.booleans(), label="capital hex digits")
    assert_row_agrees_with_web3(name, decode_row(name, *rpc_form(log, upper=upper)), web3_args)


def test_every_event_has_a_row_decoder_and_type() -> None:
    by_topic = {"0x" + kind.TOPIC0.hex(): name for name, kind in EVENT_TYPES.items()}
    assert {topic: name for topic, (name, _) in ROW_DECODERS.items()} == by_topic
    assert set(ROW_TYPES) == set(EVENT_TYPES)


# ---------------------------------------------------------------- malformed logs


def sample_values(name: str, text: str = "provledger") -> dict[str, Any]:
    """Fixed, valid values for every parameter of event ``name``."""
    samples: dict[str, Any] = {}
    for item in event_abi(name)["inputs"]:
        abi_type = str(item["type"])
        if enum_of(item) is not None or abi_type.startswith("uint"):
            samples[str(item["name"])] = 1
        elif abi_type == "address":
            samples[str(item["name"])] = to_checksum_address("0x" + "ab" * 20)
        elif abi_type == "bool":
            samples[str(item["name"])] = True
        elif abi_type == "string":
            samples[str(item["name"])] = text
        else:
            samples[str(item["name"])] = b"\x07" * int(abi_type[5:])
    return samples


Decode = Callable[[str, Sequence[bytes], bytes], object]


def decode_typed(name: str, topics: Sequence[bytes], data: bytes) -> Event:
    """Decode with the generated typed decoder of ``name``."""
    return DECODERS[EVENT_TYPES[name].TOPIC0](topics, data)


def decode_row_bytes(name: str, topics: Sequence[bytes], data: bytes) -> tuple[Any, ...]:
    """Decode with the generated row decoder of ``name``, from the bytes as JSON-RPC hex."""
    return decode_row(name, ["0x" + bytes(topic).hex() for topic in topics], "0x" + data.hex())


@pytest.fixture(params=[decode_typed, decode_row_bytes], ids=["typed", "row"])
def decode(request: pytest.FixtureRequest) -> Decode:
    """Each generated decoder in turn: malformed logs are refused by both."""
    chosen: Decode = request.param
    return chosen


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_wrong_topic_count_is_a_decode_error(name: str, decode: Decode) -> None:
    topics, data = raw_parts(synthetic_log(name, sample_values(name)))
    decode(name, topics, data)  # the well-formed log decodes
    with pytest.raises(LogDecodeError, match=f"expected {len(topics)} topics") as fewer:
        decode(name, topics[:-1], data)
    assert fewer.value.event == name
    with pytest.raises(LogDecodeError, match=f"got {len(topics) + 1}"):
        decode(name, [*topics, ZERO_HASH], data)


HEADED: Final = [
    name for name in EVENT_NAMES if any(not i["indexed"] for i in event_abi(name)["inputs"])
]


@pytest.mark.parametrize("name", HEADED)
def test_truncated_data_is_a_decode_error(name: str, decode: Decode) -> None:
    topics, data = raw_parts(synthetic_log(name, sample_values(name)))
    head = 32 * sum(1 for item in event_abi(name)["inputs"] if not item["indexed"])
    with pytest.raises(LogDecodeError, match="data bytes") as info:
        decode(name, topics, data[: head - 1])
    assert info.value.event == name
    with pytest.raises(LogDecodeError):
        decode(name, topics, b"")


WITH_STRINGS: Final = [
    name
    for name in EVENT_NAMES
    if any(i["type"] == "string" and not i["indexed"] for i in event_abi(name)["inputs"])
]


def test_every_event_with_a_string_is_checked() -> None:
    assert WITH_STRINGS == [
        "AssetRegistered",
        "BaseURIUpdated",
        "BatchAnchored",
        "LicenseGranted",
        "MetadataUpdated",
        "OfferCreated",
    ]


@pytest.mark.parametrize("name", WITH_STRINGS)
def test_string_running_past_the_data_is_a_decode_error(name: str, decode: Decode) -> None:
    topics, data = raw_parts(synthetic_log(name, sample_values(name, text="x" * 40)))
    # the string's 40 bytes occupy the last two words: cut the last one off
    with pytest.raises(LogDecodeError, match="runs past the data") as info:
        decode(name, topics, data[:-32])
    assert info.value.event == name
    # a length word claiming more bytes than the log holds
    length_at = len(data) - 96
    assert int.from_bytes(data[length_at : length_at + 32], "big") == 40
    inflated = data[:length_at] + (2**200).to_bytes(32, "big") + data[length_at + 32 :]
    with pytest.raises(LogDecodeError, match="runs past the data"):
        decode(name, topics, inflated)


@pytest.mark.parametrize("name", WITH_STRINGS)
def test_string_offset_past_the_data_is_a_decode_error(name: str, decode: Decode) -> None:
    abi = event_abi(name)
    data_inputs = [item for item in abi["inputs"] if not item["indexed"]]
    slot = next(i for i, item in enumerate(data_inputs) if item["type"] == "string")
    topics, data = raw_parts(synthetic_log(name, sample_values(name)))
    moved = data[: 32 * slot] + (len(data) + 64).to_bytes(32, "big") + data[32 * slot + 32 :]
    with pytest.raises(LogDecodeError, match="runs past the data"):
        decode(name, topics, moved)


@pytest.mark.parametrize("name", WITH_STRINGS)
def test_string_that_is_not_utf8_is_a_decode_error(name: str, decode: Decode) -> None:
    marker = "\u00e9" * 4
    topics, data = raw_parts(synthetic_log(name, sample_values(name, text=marker)))
    encoded = marker.encode()
    broken = data.replace(encoded, b"\xff" * len(encoded))
    assert broken != data
    with pytest.raises(LogDecodeError, match="not UTF-8"):
        decode(name, topics, broken)


def test_enum_value_outside_the_enum_is_a_decode_error(decode: Decode) -> None:
    # A Channel of 7 does not exist: the log does not have the shape AssetRegistered declares,
    # and a decoder must say so with its own error rather than a bare ValueError.
    values = sample_values("AssetRegistered")
    values["channel"] = 7
    topics, data = raw_parts(synthetic_log("AssetRegistered", values))
    with pytest.raises(LogDecodeError):
        decode("AssetRegistered", topics, data)
