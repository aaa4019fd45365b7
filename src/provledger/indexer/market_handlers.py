"""Handlers of the data market: offers, bids, trades, proceeds and market settings, declared
as :mod:`~provledger.indexer.projector` describes (which imports this module)."""

from __future__ import annotations

from sqlalchemy import Table

from provledger.chain.enums import LicenseKind, OfferKind
from provledger.indexer import rows as ev
from provledger.indexer.handling import (
    ProjectionError,
    Read,
    asset,
    create,
    fields,
    handles,
    put,
    require,
    setting,
    stamp,
)
from provledger.store import schema
from provledger.store.records import LogRecord
from provledger.store.workingset import Key, WorkingSet


@handles(ev.OfferCreatedRow)
def _offer_created(ws: WorkingSet, r: LogRecord, e: ev.OfferCreatedRow) -> None:
    license_offer = e.kind == OfferKind.LICENSE
    create(
        ws,
        schema.offers,
        r,
        **fields(e, "offer_id", "asset_id", "seller", "currency", "expires_at", "fee_bps"),
        kind=OfferKind(e.kind).name,
        price=str(e.price),
        price_key=schema.price_key(e.price),
        min_bid=str(e.min_bid),
        license_kind=LicenseKind(e.license_kind).name if license_offer else None,
        license_duration=e.license_duration if license_offer else None,
        terms_hash=e.terms_hash if license_offer else None,
        scope=e.scope if license_offer else None,
        status="OPEN",
        **stamp(r, "created"),
    )


@handles(ev.OfferCancelledRow, reads=lambda e: [(schema.offers, (e.offer_id,)), asset(e.asset_id)])
def _offer_cancelled(ws: WorkingSet, r: LogRecord, e: ev.OfferCancelledRow) -> None:
    _cancel(ws, r, schema.offers, (e.offer_id,), f"offer {e.offer_id}")


@handles(ev.BidPlacedRow)
def _bid_placed(ws: WorkingSet, r: LogRecord, e: ev.BidPlacedRow) -> None:
    bid = fields(e, "bid_id", "offer_id", "asset_id", "bidder", "currency", "expires_at")
    create(ws, schema.bids, r, **bid, amount=str(e.amount), status="OPEN", **stamp(r, "placed"))


@handles(ev.BidCancelledRow, reads=lambda e: [(schema.bids, (e.bid_id,))])
def _bid_cancelled(ws: WorkingSet, r: LogRecord, e: ev.BidCancelledRow) -> None:
    _cancel(ws, r, schema.bids, (e.bid_id,), f"bid {e.bid_id}")


def _cancel(ws: WorkingSet, r: LogRecord, table: Table, key: Key, what: str) -> None:
    """Close an offer or a bid as cancelled; unless blind, check that the index holds it."""
    if not ws.blind:
        require(ws.get(table, key), what, r)
    ws.update(table, key, status="CANCELLED", closed_block=r.block_number)


def _trade_reads(e: ev.TradeSettledRow) -> list[Read]:
    bid = [(schema.bids, (e.bid_id,))] if e.bid_id else []
    return [(schema.offers, (e.offer_id,)), *bid, asset(e.asset_id)]


@handles(ev.TradeSettledRow, reads=_trade_reads)
def _trade_settled(ws: WorkingSet, r: LogRecord, e: ev.TradeSettledRow) -> None:
    kind = OfferKind(e.kind)
    create(
        ws,
        schema.trades,
        r,
        **fields(e, "trade_id", "offer_id", "asset_id", "seller", "buyer", "currency"),
        bid_id=e.bid_id or None,
        kind=kind.name,
        price=str(e.price),
        fee=str(e.fee),
        fee_recipient=e.fee_recipient if e.fee else None,
        seller_proceeds=str(e.price - e.fee),
        license_id=e.license_id or None,
        tx_hash=r.tx_hash,
        log_index=r.log_index,
        settled_at=r.block_time,
    )
    if e.bid_id:
        ws.update(schema.bids, (e.bid_id,), status="ACCEPTED", closed_block=r.block_number)
    _count_trade(ws, r, e)
    if kind != OfferKind.ASSET:
        return
    ws.update(schema.offers, (e.offer_id,), status="FILLED", closed_block=r.block_number)
    # The registry's Transfer of this trade came just before, in the same transaction (so in
    # this batch): its holding period was acquired by trade.
    traded = ws.known(schema.assets, (e.asset_id,))
    if traded is None or "holder_since_block" not in traded:
        raise ProjectionError(f"the transfer of trade {e.trade_id}", r)
    period = (e.asset_id, traded["holder_since_block"], traded["holder_since_log"])
    ws.update(schema.holdings, period, via="TRADE")


def _count_trade(ws: WorkingSet, r: LogRecord, e: ev.TradeSettledRow) -> None:
    """Add the trade to its asset's category, grade and currency in ``market_stats``."""
    traded = require(ws.get(schema.assets, (e.asset_id,)), f"asset {e.asset_id}", r)
    key = (traded["category"], traded["grade"], e.currency)
    before = ws.get(schema.market_stats, key)
    put(
        ws,
        schema.market_stats,
        r,
        category=traded["category"],
        grade=traded["grade"],
        currency=e.currency,
        trades=(before["trades"] if before else 0) + 1,
        volume=str((int(before["volume"]) if before else 0) + e.price),
        last_price=str(e.price),
        last_trade_id=e.trade_id,
    )


@handles(ev.ProceedsWithdrawnRow)
def _withdrawn(ws: WorkingSet, r: LogRecord, e: ev.ProceedsWithdrawnRow) -> None:
    paid = fields(e, "account", "currency")
    paid.update(amount=str(e.amount), log_index=r.log_index)
    create(ws, schema.withdrawals, r, **paid, **stamp(r, "withdrawn"))


@handles(ev.FeeUpdatedRow)
def _fee(ws: WorkingSet, r: LogRecord, e: ev.FeeUpdatedRow) -> None:
    setting(ws, r, "market_fee_recipient", e.fee_recipient)
    setting(ws, r, "market_fee_bps", str(e.fee_bps))


@handles(ev.CurrencyListingChangedRow, reads=lambda e: [(schema.market_currencies, (e.currency,))])
def _currency(ws: WorkingSet, r: LogRecord, e: ev.CurrencyListingChangedRow) -> None:
    put(ws, schema.market_currencies, r, currency=e.currency, listed=e.listed)
