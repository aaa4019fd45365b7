"""Handlers of the data market: offers, bids, trades, proceeds and market settings.

Registered with :func:`~provledger.indexer.handling.handles`, each beside what it reads; the
projector imports this module so that they are registered.
"""

from __future__ import annotations

from provledger.chain.enums import LicenseKind, OfferKind
from provledger.indexer import rows as ev
from provledger.indexer.handling import ProjectionError, Read, asset, handles, require, setting
from provledger.store import schema
from provledger.store.records import LogRecord
from provledger.store.workingset import WorkingSet


@handles(ev.OfferCreatedRow)
def _offer_created(ws: WorkingSet, r: LogRecord, e: ev.OfferCreatedRow) -> None:
    license_offer = e.kind == OfferKind.LICENSE
    ws.create(
        schema.offers,
        {
            "offer_id": e.offer_id,
            "asset_id": e.asset_id,
            "seller": e.seller,
            "kind": OfferKind(e.kind).name,
            "currency": e.currency,
            "price": str(e.price),
            "price_key": schema.price_key(e.price),
            "min_bid": str(e.min_bid),
            "expires_at": e.expires_at,
            "fee_bps": e.fee_bps,
            "license_kind": LicenseKind(e.license_kind).name if license_offer else None,
            "license_duration": e.license_duration if license_offer else None,
            "terms_hash": e.terms_hash if license_offer else None,
            "scope": e.scope if license_offer else None,
            "status": "OPEN",
            "created_block": r.block_number,
            "created_at": r.block_time,
            "closed_block": None,
            "block_number": r.block_number,
        },
    )


@handles(ev.OfferCancelledRow, reads=lambda e: [(schema.offers, (e.offer_id,)), asset(e.asset_id)])
def _offer_cancelled(ws: WorkingSet, r: LogRecord, e: ev.OfferCancelledRow) -> None:
    key = (e.offer_id,)
    if not ws.blind:
        require(ws.get(schema.offers, key), f"offer {e.offer_id}", r)
    ws.update(schema.offers, key, status="CANCELLED", closed_block=r.block_number)


@handles(ev.BidPlacedRow)
def _bid_placed(ws: WorkingSet, r: LogRecord, e: ev.BidPlacedRow) -> None:
    ws.create(
        schema.bids,
        {
            "bid_id": e.bid_id,
            "offer_id": e.offer_id,
            "asset_id": e.asset_id,
            "bidder": e.bidder,
            "currency": e.currency,
            "amount": str(e.amount),
            "expires_at": e.expires_at,
            "status": "OPEN",
            "placed_block": r.block_number,
            "placed_at": r.block_time,
            "closed_block": None,
            "block_number": r.block_number,
        },
    )


@handles(ev.BidCancelledRow, reads=lambda e: [(schema.bids, (e.bid_id,))])
def _bid_cancelled(ws: WorkingSet, r: LogRecord, e: ev.BidCancelledRow) -> None:
    key = (e.bid_id,)
    if not ws.blind:
        require(ws.get(schema.bids, key), f"bid {e.bid_id}", r)
    ws.update(schema.bids, key, status="CANCELLED", closed_block=r.block_number)


def _trade_reads(e: ev.TradeSettledRow) -> list[Read]:
    bid = [(schema.bids, (e.bid_id,))] if e.bid_id else []
    return [(schema.offers, (e.offer_id,)), *bid, asset(e.asset_id)]


@handles(ev.TradeSettledRow, reads=_trade_reads)
def _trade_settled(ws: WorkingSet, r: LogRecord, e: ev.TradeSettledRow) -> None:
    kind = OfferKind(e.kind)
    ws.create(
        schema.trades,
        {
            "trade_id": e.trade_id,
            "offer_id": e.offer_id,
            "bid_id": e.bid_id or None,
            "asset_id": e.asset_id,
            "kind": kind.name,
            "seller": e.seller,
            "buyer": e.buyer,
            "currency": e.currency,
            "price": str(e.price),
            "fee": str(e.fee),
            "fee_recipient": e.fee_recipient if e.fee else None,
            "seller_proceeds": str(e.price - e.fee),
            "license_id": e.license_id or None,
            "tx_hash": r.tx_hash,
            "log_index": r.log_index,
            "settled_at": r.block_time,
            "block_number": r.block_number,
        },
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
    ws.put(
        schema.market_stats,
        {
            "category": traded["category"],
            "grade": traded["grade"],
            "currency": e.currency,
            "trades": (before["trades"] if before else 0) + 1,
            "volume": str((int(before["volume"]) if before else 0) + e.price),
            "last_price": str(e.price),
            "last_trade_id": e.trade_id,
            "block_number": r.block_number,
        },
    )


@handles(ev.ProceedsWithdrawnRow)
def _withdrawn(ws: WorkingSet, r: LogRecord, e: ev.ProceedsWithdrawnRow) -> None:
    ws.create(
        schema.withdrawals,
        {
            "withdrawn_block": r.block_number,
            "log_index": r.log_index,
            "account": e.account,
            "currency": e.currency,
            "amount": str(e.amount),
            "withdrawn_at": r.block_time,
            "block_number": r.block_number,
        },
    )


@handles(ev.FeeUpdatedRow)
def _fee(ws: WorkingSet, r: LogRecord, e: ev.FeeUpdatedRow) -> None:
    setting(ws, r, "market_fee_recipient", e.fee_recipient)
    setting(ws, r, "market_fee_bps", str(e.fee_bps))


@handles(ev.CurrencyListingChangedRow, reads=lambda e: [(schema.market_currencies, (e.currency,))])
def _currency(ws: WorkingSet, r: LogRecord, e: ev.CurrencyListingChangedRow) -> None:
    ws.put(
        schema.market_currencies,
        {"currency": e.currency, "listed": e.listed, "block_number": r.block_number},
    )
