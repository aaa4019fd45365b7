"""An index built step by step equals a fresh index of the same chain, and equals the chain.

Runs on both chain backends and both store backends, and on Hardhat's node (EDR) too. The
small test window (finality depth 8) puts the later steps in the unfinalized window, so undo
images are written there too.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpers.indexing import differences, index
from helpers.scenarios import provenance_scenario
from helpers.stores import engine_for
from helpers.world import World
from indexer.conftest import NewDatabase
from provledger.chain.serialize import asset_hex
from provledger.store import schema
from provledger.store.index import IndexStore


def test_incremental_index_equals_fresh_index_and_the_chain(
    world: World, new_database: NewDatabase
) -> None:
    _check_the_incremental_index(world, new_database)


@pytest.mark.hardhat
def test_incremental_index_equals_fresh_index_and_the_chain_on_hardhat(
    hardhat_world: World, new_database: NewDatabase
) -> None:
    _check_the_incremental_index(hardhat_world, new_database)


def _check_the_incremental_index(world: World, new_database: NewDatabase) -> None:
    """Index after each step of the provenance scenario, then compare with a fresh index and
    with the chain."""
    incremental = new_database("incremental")
    steps = 0

    def step() -> None:
        nonlocal steps
        index(world.w3, world.deployment, incremental)
        steps += 1

    assets = provenance_scenario(world, step)
    fresh = new_database("fresh")
    summary = index(world.w3, world.deployment, fresh)
    chain_logs = world.w3.eth.get_logs(
        {"fromBlock": world.deployment.block_number, "address": list(world.deployment.addresses)}
    )
    assert summary.events == len(chain_logs)
    assert differences(incremental, fresh) == {}
    assert steps == 15

    with engine_for(incremental).connect() as conn:
        rows = {row.asset_id: row for row in conn.execute(select(schema.assets))}
        for label, asset in assets.items():
            state = world.admin.registry.asset(asset)
            assert state is not None, label
            row = rows[asset_hex(asset)]
            assert row.holder == state.holder.lower(), label
            assert row.registrant == state.registrant.lower(), label
            assert row.status == state.status.name, label
            assert row.frozen == state.frozen, label
            assert row.under_objection == state.under_objection, label
            assert row.metadata_version == state.metadata_version, label
            assert row.metadata_hash == "0x" + state.metadata_hash.hex(), label
            assert row.registered_at == state.registered_at, label
        assert len(rows) == len(set(rows))
    counts = IndexStore(engine_for(incremental)).counts()
    assert counts["events"] == summary.events
    assert counts["licenses"] == 3
    assert counts["appraisals"] == 2
    assert counts["disputes"] == 1
    assert counts["batches"] == 1
    assert counts["offers"] == 6
    assert counts["bids"] == 2
    assert counts["trades"] == 4
    assert counts["withdrawals"] == 1

    market = world.admin.market
    with engine_for(incremental).connect() as conn:
        for row in conn.execute(select(schema.offers)):
            offer = market.offer(row.offer_id)
            assert row.asset_id == asset_hex(offer.asset_id)
            assert row.seller == offer.seller.lower()
            assert row.kind == offer.kind.name
            assert row.currency == offer.currency.lower()
            assert (row.price, row.min_bid) == (str(offer.price), str(offer.min_bid))
            assert (row.expires_at, row.fee_bps) == (offer.expires_at, offer.fee_bps)
            assert row.status == offer.status.name
            if row.kind == "LICENSE":
                assert row.license_kind == offer.license_kind.name
                assert row.license_duration == offer.license_duration
                assert row.terms_hash == "0x" + offer.terms_hash.hex()
                assert row.scope == offer.scope
        for row in conn.execute(select(schema.bids)):
            bid = market.bid_state(row.bid_id)
            assert (row.offer_id, row.bidder) == (bid.offer_id, bid.bidder.lower())
            assert (row.amount, row.expires_at) == (str(bid.amount), bid.expires_at)
            assert row.status == bid.status.name
        trades = {row.trade_id: row for row in conn.execute(select(schema.trades))}
        assert market.counts()[2] == len(trades)
        # the statistics add up the trades, by the category and grade of each trade's asset
        totals: dict[tuple[int, int, str], list[int]] = {}
        for trade in sorted(trades.values(), key=lambda row: row.trade_id):
            state = world.admin.registry.asset(int(trade.asset_id, 16))
            assert state is not None
            entry = totals.setdefault((state.category, state.grade, trade.currency), [0, 0, 0])
            entry[0] += 1
            entry[1] += int(trade.price)
            entry[2] = int(trade.price)
        stats = {
            (row.category, row.grade, row.currency): [
                row.trades,
                int(row.volume),
                int(row.last_price),
            ]
            for row in conn.execute(select(schema.market_stats))
        }
        assert stats == totals
        assert len(stats) == 2
        fees = sum(int(row.fee) for row in trades.values())
        assert fees == market.owed_to(world.admin.address)
        # The assets that changed holder by trade: the holding period says so.
        traded = {row.asset_id for row in trades.values() if row.kind == "ASSET"}
        holdings = conn.execute(select(schema.holdings).where(schema.holdings.c.via == "TRADE"))
        assert (
            {row.asset_id for row in holdings}
            == traded
            == {
                asset_hex(assets["revised"]),
                asset_hex(assets["sold"]),
            }
        )
