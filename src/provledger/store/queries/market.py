"""The data market: offers with their sellers' standing, bids, trades and statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, RowMapping, Select, and_, case, or_, select

from provledger.store import schema
from provledger.store.queries.statements import fetch_all, page_by


@dataclass(frozen=True)
class OfferFilter:
    """Which open offers to list; every field is optional. Prices are in the currency's
    smallest unit and make sense only with ``currency``."""

    asset_id: str | None = None
    seller: str | None = None
    currency: str | None = None
    kind: str | None = None
    min_price: int | None = None
    max_price: int | None = None


#: Asset statuses in which nothing can be sold.
_UNSELLABLE: Final = ("REJECTED", "CANCELLED")


def sellable() -> Any:
    """Whether an open offer's seller could deliver now, time aside: the seller still holds the
    asset and is an active participant, and the asset is neither rejected, cancelled, frozen
    nor under objection (the participant table is outer-joined: NULL is not active)."""
    offers, assets, participants = schema.offers, schema.assets, schema.participants
    return and_(
        offers.c.status == "OPEN",
        assets.c.holder == offers.c.seller,
        # each on its own, not NOT IN (…): an expanding list a driver statement cannot bind
        *(assets.c.status != status for status in _UNSELLABLE),
        assets.c.frozen.is_(False),
        assets.c.under_objection.is_(False),
        participants.c.status == "ACTIVE",
    )


def offers_with_standing() -> Select[Any]:
    """Offers with ``sellable`` (:func:`sellable`), over the asset and the seller's standing."""
    offers, assets, participants = schema.offers, schema.assets, schema.participants
    can_sell = case((sellable(), True), else_=False)
    return select(offers, can_sell.label("sellable")).select_from(
        offers.join(assets, assets.c.asset_id == offers.c.asset_id).outerjoin(
            participants, participants.c.account == offers.c.seller
        )
    )


def open_offers(
    conn: Connection, where: OfferFilter, now: int, after: int | None, limit: int
) -> list[RowMapping]:
    """Offers that can fill at unix time ``now`` and match ``where``, by id: sellable
    (:func:`sellable`) and unexpired."""
    offers = schema.offers
    query = offers_with_standing().where(sellable(), offers.c.expires_at > now)
    if where.asset_id is not None:
        query = query.where(offers.c.asset_id == where.asset_id)
    if where.seller is not None:
        query = query.where(offers.c.seller == where.seller)
    if where.currency is not None:
        query = query.where(offers.c.currency == where.currency)
    if where.kind is not None:
        query = query.where(offers.c.kind == where.kind)
    if where.min_price is not None:
        query = query.where(offers.c.price_key >= schema.price_key(where.min_price))
    if where.max_price is not None:
        query = query.where(offers.c.price_key <= schema.price_key(where.max_price))
    return fetch_all(conn, page_by(query, offers.c.offer_id, after, limit))


def offers_of(conn: Connection, asset_id: str, after: int | None, limit: int) -> list[RowMapping]:
    """Every offer ever made on ``asset_id``, by id, with ``sellable``."""
    offers = schema.offers
    query = offers_with_standing().where(offers.c.asset_id == asset_id)
    return fetch_all(conn, page_by(query, offers.c.offer_id, after, limit))


def get_offer(conn: Connection, offer_id: int) -> RowMapping | None:
    """One offer, with ``sellable`` (:func:`sellable`)."""
    offers = schema.offers
    query = offers_with_standing().where(offers.c.offer_id == offer_id)
    return conn.execute(query).mappings().first()


def bids_on(conn: Connection, offer_id: int, after: int | None, limit: int) -> list[RowMapping]:
    """The bids on an offer, by id."""
    bids = schema.bids
    query = select(bids).where(bids.c.offer_id == offer_id)
    return fetch_all(conn, page_by(query, bids.c.bid_id, after, limit))


def trades_of(conn: Connection, asset_id: str, after: int | None, limit: int) -> list[RowMapping]:
    """The trades of ``asset_id`` (asset sales and license sales), by id."""
    trades = schema.trades
    query = select(trades).where(trades.c.asset_id == asset_id)
    return fetch_all(conn, page_by(query, trades.c.trade_id, after, limit))


def trades_by(conn: Connection, account: str, after: int | None, limit: int) -> list[RowMapping]:
    """The trades in which ``account`` sold or bought, by id."""
    trades = schema.trades
    query = select(trades).where(or_(trades.c.seller == account, trades.c.buyer == account))
    return fetch_all(conn, page_by(query, trades.c.trade_id, after, limit))


def market_stats(conn: Connection) -> list[RowMapping]:
    """Trade count, volume and last price per category, grade and currency."""
    stats = schema.market_stats
    query = select(stats).order_by(stats.c.category, stats.c.grade, stats.c.currency)
    return fetch_all(conn, query)
