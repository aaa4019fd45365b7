"""The store's read queries, row by row against the chain.

The scenario of :func:`helpers.scenarios.provenance_scenario` runs once on an eth-tester
chain of its own; the real indexer indexes it into SQLite and PostgreSQL; every query's rows
are compared, column by column, with the chain's view functions and logs.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hexbytes import HexBytes
from sqlalchemy import Connection, RowMapping

from helpers.indexing import index
from helpers.scenarios import BATCH_LEAVES, provenance_scenario
from helpers.stores import database, engine_for
from helpers.world import World, build_world
from provledger.chain.connection import embedded_chain
from provledger.chain.events import DECODERS, AssetRegistered, MetadataUpdated, Transfer
from provledger.chain.serialize import asset_hex
from provledger.indexer.rows import ROW_TYPES
from provledger.merkle import StandardMerkleTree
from provledger.store import queries
from provledger.store.eventargs import unpack_args

#: The contracts whose events write an asset's own row (its holder, status and metadata)...
ASSET_WRITERS = ("DataAssetRegistry", "RegistrationOffice", "DisputeCourt")
#: ...all but the ERC-721 approvals, which the row does not hold.
NOT_ASSET_WRITES = ("Approval",)
ZERO = "0x" + "00" * 20


@dataclass(frozen=True)
class Log:
    """A deployment log as the chain reports it, decoded."""

    block: int
    log_index: int
    block_hash: str
    block_time: int
    tx_hash: str
    tx_index: int
    contract: str
    event: Any

    @property
    def asset(self) -> int | None:
        return getattr(self.event, "asset_id", getattr(self.event, "token_id", None))


@dataclass(frozen=True)
class Chain:
    """The scenario's chain, its assets by label and every log of the deployment."""

    world: World
    assets: dict[str, int]
    logs: list[Log]

    def of(self, asset: int) -> list[Log]:
        return [log for log in self.logs if log.asset == asset]

    def name_of(self, address: str) -> str:
        deployment = self.world.deployment
        return next(
            name
            for name in deployment.contracts
            if deployment.address(name).lower() == address.lower()
        )


def _logs(world: World) -> list[Log]:
    w3 = world.w3
    found = []
    times: dict[int, int] = {}
    raw = w3.eth.get_logs(
        {"fromBlock": world.deployment.block_number, "address": list(world.deployment.addresses)}
    )
    for log in raw:
        topics = [bytes(topic) for topic in log["topics"]]
        number = log["blockNumber"]
        if number not in times:
            times[number] = int(w3.eth.get_block(number)["timestamp"])
        found.append(
            Log(
                number,
                log["logIndex"],
                HexBytes(log["blockHash"]).to_0x_hex(),
                times[number],
                HexBytes(log["transactionHash"]).to_0x_hex(),
                log["transactionIndex"],
                str(log["address"]).lower(),
                DECODERS[topics[0]](topics, bytes(log["data"])),
            )
        )
    return found


@pytest.fixture(scope="module")
def chain() -> Chain:
    """The scenario on a fresh eth-tester chain (once for both store backends)."""
    world = build_world(embedded_chain())
    assets = provenance_scenario(world)
    return Chain(world, assets, _logs(world))


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    ],
)
def conn(
    request: pytest.FixtureRequest, chain: Chain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Connection]:
    """A connection to the scenario's index, built by the real indexer."""
    folder: Path = tmp_path_factory.mktemp("store")
    with database(request.param, folder) as url:
        index(chain.world.w3, chain.world.deployment, url)
        with engine_for(url).connect() as connection:
            yield connection


def _all_pages(
    fetch: Callable[[Any], Sequence[RowMapping]],
    key: Callable[[dict[str, Any]], Any],
    size: int,
) -> list[dict[str, Any]]:
    """Every row of a keyset-paged query: ``fetch(after)`` pages of at most ``size`` rows,
    ``key(row)`` the ``after`` of the next page. Fails (rather than loop) if pages never end."""
    rows: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        page = fetch(after)
        assert len(page) <= size
        if not page:
            return rows
        rows += [{str(name): value for name, value in row.items()} for row in page]
        after = key(rows[-1])
    raise AssertionError(f"the pages never end: {len(rows)} rows and more")


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _stored(value: object) -> object:
    """A non-text, non-asset event field as ``events.args`` stores it (see
    :func:`provledger.indexer.decoding.row_values`): enums by name, bools as JSON booleans,
    other integers as numbers, or as decimal text from 2**53 up."""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bool):
        return value
    assert isinstance(value, int), f"an event field of an unexpected type: {value!r}"
    return str(value) if value >= 2**53 else value


def test_the_index_position_is_the_chain_head(chain: Chain, conn: Connection) -> None:
    w3 = chain.world.w3
    head = w3.eth.get_block("latest")
    position = queries.index_position(conn)
    assert position is not None
    assert (position.indexed_block, position.indexed_hash, position.head_block) == (
        head["number"],
        HexBytes(head["hash"]).to_0x_hex(),
        head["number"],
    )
    assert queries.indexed_time(conn, position) == head["timestamp"]
    assert queries.indexed_time(conn, None) == 0
    assert queries.event_count(conn) == len(chain.logs)
    meta = queries.index_meta(conn)
    deployment = chain.world.deployment
    assert meta["chain_id"] == str(w3.eth.chain_id)
    assert meta["deployment"] == ",".join(address.lower() for address in deployment.addresses)
    assert meta["start_block"] == str(deployment.block_number)


def _expected_asset(chain: Chain, asset: int) -> dict[str, Any]:
    """The asset row the chain implies: state from the registry's views, the rest from logs."""
    world = chain.world
    state = world.admin.registry.asset(asset)
    assert state is not None
    logs = chain.of(asset)
    registered = next(log for log in logs if isinstance(log.event, AssetRegistered))
    event = registered.event
    transfers = [log for log in logs if isinstance(log.event, Transfer)]
    updates = [log.event for log in logs if isinstance(log.event, MetadataUpdated)]
    notice_ends = world.registrar.office.notice_ends_at(asset)
    number = world.registrar.office.initial_registration_number(asset)
    batch = StandardMerkleTree.batch(BATCH_LEAVES).root if event.channel.name == "BATCH" else None
    return {
        "asset_id": asset_hex(asset),
        "content_hash": _hex(event.content_hash),
        "registrant": state.registrant.lower(),
        "holder": state.holder.lower(),
        "holder_since_block": transfers[-1].block,
        "holder_since_log": transfers[-1].log_index,
        "category": state.category,
        "grade": state.grade,
        "status": state.status.name,
        "under_objection": state.under_objection,
        "frozen": state.frozen,
        "metadata_uri": updates[-1].metadata_uri if updates else event.metadata_uri,
        "metadata_hash": _hex(state.metadata_hash),
        "metadata_version": state.metadata_version,
        "channel": event.channel.name,
        "submitter": event.submitter.lower(),
        "batch_root": None if batch is None else _hex(batch),
        "notice_ends_at": notice_ends or None,
        "registration_number": number or None,
        "registered_block": registered.block,
        "registered_at": state.registered_at,
        "registered_tx": registered.tx_hash,
        "block_number": max(
            log.block
            for log in logs
            if chain.name_of(log.contract) in ASSET_WRITERS
            and type(log.event).NAME not in NOT_ASSET_WRITES
        ),
    }


def test_every_asset_row_is_the_chain_state(chain: Chain, conn: Connection) -> None:
    expected = {asset_hex(asset): _expected_asset(chain, asset) for asset in chain.assets.values()}
    for label, asset in chain.assets.items():
        assert queries.get_asset(conn, asset_hex(asset)) == expected[asset_hex(asset)], label
        at_head = queries.get_asset_at_head(conn, asset_hex(asset))
        head = chain.world.w3.eth.block_number
        assert at_head == {**expected[asset_hex(asset)], "index_head": head}, label
    assert queries.get_asset(conn, "0x" + "00" * 32) is None
    found = queries.get_assets(conn, [*expected, "0x" + "00" * 32])
    assert {key: dict(row) for key, row in found.items()} == {
        key: {**row, "index_head": head} for key, row in expected.items()
    }
    # every asset the registry emitted, and only those, in asset id order, page by page
    registered = sorted(
        asset_hex(log.event.asset_id)
        for log in chain.logs
        if isinstance(log.event, AssetRegistered)
    )
    listed = _all_pages(
        lambda after: queries.list_assets(conn, queries.AssetFilter(), after, 3),
        lambda row: row["asset_id"],
        3,
    )
    assert [row["asset_id"] for row in listed] == registered
    alice = chain.world.alice.address.lower()
    by_alice = queries.list_assets(conn, queries.AssetFilter(registrant=alice), None, 100)
    assert [row["asset_id"] for row in by_alice] == sorted(
        key for key, row in expected.items() if row["registrant"] == alice
    )
    grade_two = queries.list_assets(conn, queries.AssetFilter(grade=2, category=101), None, 100)
    assert [row["asset_id"] for row in grade_two] == sorted(
        key for key, row in expected.items() if (row["grade"], row["category"]) == (2, 101)
    )
    recent = queries.recent_assets(conn, 2)
    newest = sorted(
        (log for log in chain.logs if isinstance(log.event, AssetRegistered)),
        key=lambda log: (log.block, asset_hex(log.event.asset_id)),
    )[-2:]
    assert [row["asset_id"] for row in recent] == [
        asset_hex(log.event.asset_id) for log in reversed(newest)
    ]


def test_an_assets_events_are_its_logs_in_chain_order(chain: Chain, conn: Connection) -> None:
    for label in ("raw", "derived", "promoted", "revised"):
        asset = chain.assets[label]
        logs = chain.of(asset)
        expected = [
            {
                "block_number": log.block,
                "log_index": log.log_index,
                "block_hash": log.block_hash,
                "block_time": log.block_time,
                "tx_hash": log.tx_hash,
                "tx_index": log.tx_index,
                "contract": log.contract,
                "event": type(log.event).NAME,
                "asset_id": asset_hex(asset),
            }
            for log in logs
        ]
        key = asset_hex(asset)
        rows = _all_pages(
            functools.partial(queries.asset_events, conn, key, limit=2),
            lambda row: [row["block_number"], row["log_index"]],
            2,
        )
        assert [{k: v for k, v in row.items() if k != "args"} for row in rows] == expected, label
        for row, log in zip(rows, logs, strict=True):
            stored = unpack_args(row["args"], row["asset_id"])
            names = ROW_TYPES[row["event"]]._fields
            assert len(stored) == len(names), (label, row["event"])
            decoded = dict(zip(names, stored, strict=True))
            for name, value in decoded.items():
                chain_value = getattr(log.event, name)
                if isinstance(chain_value, bytes):
                    assert value == _hex(chain_value), (label, row["event"], name)
                elif isinstance(chain_value, str):
                    assert value.lower() == chain_value.lower(), (label, row["event"], name)
                elif name in ("asset_id", "token_id", "parent_id"):
                    # Asset ids (a lineage link's parent too) are stored as 0x-hex text.
                    assert value == asset_hex(chain_value), (label, row["event"], name)
                else:
                    expected_value = _stored(chain_value)
                    assert (type(value), value) == (type(expected_value), expected_value), (
                        label,
                        row["event"],
                        name,
                    )


def test_holder_periods_follow_the_transfers(chain: Chain, conn: Connection) -> None:
    for label, asset in chain.assets.items():
        transfers = [log for log in chain.of(asset) if isinstance(log.event, Transfer)]
        expected = []
        for number, log in enumerate(transfers):
            following = transfers[number + 1] if number + 1 < len(transfers) else None
            via = "REGISTRATION" if log.event.from_ == ZERO else None
            expected.append(
                {
                    "asset_id": asset_hex(asset),
                    "from_block": log.block,
                    "from_log": log.log_index,
                    "holder": log.event.to.lower(),
                    "from_time": log.block_time,
                    "from_tx": log.tx_hash,
                    "to_block": None if following is None else following.block,
                    "to_log": None if following is None else following.log_index,
                    "to_time": None if following is None else following.block_time,
                    "via": via,
                    "block_number": log.block if following is None else following.block,
                }
            )
        rows = [dict(row) for row in queries.holdings_of(conn, asset_hex(asset), None, 100)]
        # the way an asset changed hands is the index's word (transfer, trade, ruling)
        assert [row["via"] == "REGISTRATION" for row in rows] == [
            item["via"] == "REGISTRATION" for item in expected
        ], label
        assert [{**row, "via": None} for row in rows] == [
            {**item, "via": None} for item in expected
        ], label
        for item in expected:
            holder = queries.holder_at(conn, asset_hex(asset), item["from_block"])
            assert holder == item["holder"], label
            at_time = queries.holding_at_time(conn, asset_hex(asset), item["from_time"])
            assert at_time is not None, label
            assert at_time["holder"] == item["holder"], label
        first = expected[0]["from_block"]
        assert queries.holder_at(conn, asset_hex(asset), first - 1) is None, label
    raw = [dict(row) for row in queries.holdings_of(conn, asset_hex(chain.assets["raw"]), None, 9)]
    assert [row["via"] for row in raw] == ["REGISTRATION", "TRANSFER"]
    derived = queries.holdings_of(conn, asset_hex(chain.assets["derived"]), None, 9)
    assert [row["via"] for row in derived] == ["REGISTRATION", "RULING"]
    revised = queries.holdings_of(conn, asset_hex(chain.assets["revised"]), None, 9)
    assert [row["via"] for row in revised] == ["REGISTRATION", "TRADE", "TRANSFER"]


def test_licenses_and_appraisals_are_the_chain_records(chain: Chain, conn: Connection) -> None:
    world = chain.world
    count = world.admin.licenses.license_count()
    assert count == 3
    for license_id in range(1, count + 1):
        state = world.admin.licenses.license(license_id)
        key = asset_hex(state.asset_id)
        (row,) = [
            dict(item)
            for item in queries.licenses_of(conn, key, None, None, 100)
            if item["license_id"] == license_id
        ]
        granted = next(
            log
            for log in chain.logs
            if type(log.event).NAME == "LicenseGranted" and log.event.license_id == license_id
        )
        revoked = next(
            (
                log
                for log in chain.logs
                if type(log.event).NAME == "LicenseRevoked" and log.event.license_id == license_id
            ),
            None,
        )
        assert row == {
            "license_id": license_id,
            "asset_id": key,
            "licensor": state.licensor.lower(),
            "licensee": state.licensee.lower(),
            "kind": state.kind.name,
            "expires_at": state.expires_at,
            "terms_hash": _hex(state.terms_hash),
            "scope": granted.event.scope,
            "granted_block": granted.block,
            "granted_at": state.granted_at,
            "revoked_block": None if revoked is None else revoked.block,
            "revoked_at": state.revoked_at or None,
            "revocation_reason": None if revoked is None else _hex(revoked.event.reason_hash),
            "block_number": granted.block if revoked is None else revoked.block,
        }, license_id
        for moment in (state.granted_at - 1, state.granted_at, state.expires_at):
            valid = queries.licenses_of(conn, key, moment, None, 100)
            on_chain = world.admin.licenses.is_valid_at(license_id, moment)
            assert (license_id in [item["license_id"] for item in valid]) == on_chain, moment
        held = queries.licenses_to(conn, state.licensee.lower(), None, 100)
        assert license_id in [item["license_id"] for item in held]
    raw = asset_hex(chain.assets["raw"])
    appraisals = [dict(row) for row in queries.appraisals_of(conn, raw, None, 100)]
    assert [row["appraisal_id"] for row in appraisals] == [1, 2]
    for row in appraisals:
        appraisal = world.admin.appraisals.appraisal(row["appraisal_id"])
        logged = next(
            log
            for log in chain.logs
            if type(log.event).NAME == "AppraisalRecorded"
            and log.event.appraisal_id == row["appraisal_id"]
        )
        later = row["appraisal_id"] + 1 if row["appraisal_id"] < len(appraisals) else None
        assert row == {
            "appraisal_id": appraisal.appraisal_id,
            "asset_id": raw,
            "appraiser": appraisal.appraiser.lower(),
            "amount": str(appraisal.amount),
            "currency": appraisal.currency,
            "method": appraisal.method.name,
            "report_hash": _hex(appraisal.report_hash),
            "supersedes": appraisal.supersedes or None,
            "superseded_by": later,
            "appraised_at": appraisal.appraised_at,
            "block_number": max(
                log.block
                for log in chain.logs
                if type(log.event).NAME == "AppraisalRecorded"
                and log.event.appraisal_id in (row["appraisal_id"], later)
            ),
        }
        assert logged.block_time == appraisal.appraised_at


def test_trades_are_the_settlement_events(chain: Chain, conn: Connection) -> None:
    settled = [log for log in chain.logs if type(log.event).NAME == "TradeSettled"]
    assert [log.event.trade_id for log in settled] == [1, 2, 3, 4]
    for log in settled:
        event = log.event
        rows = [dict(row) for row in queries.trades_of(conn, asset_hex(event.asset_id), None, 100)]
        (row,) = [row for row in rows if row["trade_id"] == event.trade_id]
        assert row == {
            "trade_id": event.trade_id,
            "offer_id": event.offer_id,
            "bid_id": event.bid_id or None,
            "asset_id": asset_hex(event.asset_id),
            "kind": event.kind.name,
            "seller": event.seller.lower(),
            "buyer": event.buyer.lower(),
            "currency": event.currency.lower(),
            "price": str(event.price),
            "fee": str(event.fee),
            "fee_recipient": event.fee_recipient.lower() if event.fee else None,
            "seller_proceeds": str(event.price - event.fee),
            "license_id": event.license_id or None,
            "tx_hash": log.tx_hash,
            "log_index": log.log_index,
            "settled_at": log.block_time,
            "block_number": log.block,
        }
    alice, bob = chain.world.alice.address.lower(), chain.world.bob.address.lower()
    assert [row["trade_id"] for row in queries.trades_by(conn, alice, None, 100)] == [1, 2, 3, 4]
    assert [row["trade_id"] for row in queries.trades_by(conn, bob, None, 100)] == [2, 3]
    assert [row["trade_id"] for row in queries.trades_by(conn, alice, 2, 1)] == [3]
