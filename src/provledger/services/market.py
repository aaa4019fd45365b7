"""Read-side answers about the market: open offers, bids, trades and statistics.

Amounts (prices, fees, bids, volumes) are decimal strings in the currency's smallest unit: they
are uint128 on chain, beyond what a JSON number keeps exactly. ``currency`` is an ERC-20 token
address, or the zero address for the chain's native currency. Whether an offer or a bid has
expired is judged at the time of the latest indexed block, the chain's own clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import Field
from sqlalchemy import Connection, Engine, RowMapping

from provledger import units
from provledger.categories import category_name
from provledger.params import InvalidParameterError, checksum, decode_cursor
from provledger.services.provenance import Provenance
from provledger.services.reads import NotFoundError, first, id_key, paged, require_asset, view
from provledger.services.views import Address, Finality, Hash, Page, T
from provledger.store import queries
from provledger.store.queries import OfferFilter

Amount = Annotated[str, Field(examples=["1000000000000000000"], pattern=r"^[0-9]+$")]


@dataclass(frozen=True)
class OfferView:
    """An offer: an asset for sale (kind ASSET) or licenses to it (kind LICENSE).

    ``status`` is OPEN, EXPIRED, CANCELLED, FILLED (an asset offer that sold), or UNAVAILABLE:
    open and unexpired, but a purchase would be refused now (the seller no longer holds the
    asset or is not an active participant, or the asset is rejected, cancelled, frozen or under
    objection). An UNAVAILABLE offer becomes OPEN again if that changes back."""

    offer_id: int
    asset_id: Hash
    seller: Address
    kind: Annotated[str, Field(examples=["ASSET"])]
    currency: Address
    price: Amount
    min_bid: Amount
    expires_at: int
    fee_bps: int
    license_kind: str | None
    license_duration: int | None
    terms_hash: Hash | None
    scope: str | None
    status: Annotated[str, Field(examples=["OPEN"])]
    created_block: int
    created_at: int
    closed_block: int | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class BidView:
    """A counter-bid, escrowed in the market while OPEN (or EXPIRED, until the bidder takes it
    back); CANCELLED bids were refunded, ACCEPTED bids paid for a trade."""

    bid_id: int
    offer_id: int
    asset_id: Hash
    bidder: Address
    currency: Address
    amount: Amount
    expires_at: int
    status: Annotated[str, Field(examples=["OPEN"])]
    placed_block: int
    placed_at: int
    closed_block: int | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class TradeView:
    """A settled trade: the buyer paid ``price``; ``fee`` went to ``fee_recipient`` and
    ``seller_proceeds`` to the seller (both withdrawable from the market). For a license sale
    ``license_id`` is the license granted; ``bid_id`` is the accepted bid, if any."""

    trade_id: int
    offer_id: int
    bid_id: int | None
    asset_id: Hash
    kind: Annotated[str, Field(examples=["ASSET"])]
    seller: Address
    buyer: Address
    currency: Address
    price: Amount
    fee: Amount
    fee_recipient: Address | None
    seller_proceeds: Amount
    license_id: int | None
    tx_hash: Hash
    log_index: int
    settled_at: int
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class MarketStat:
    """Trades of one category and grade in one currency: how many, their total price and the
    price of the latest."""

    category: int
    category_name: str
    grade: int
    currency: Address
    trades: int
    volume: Amount
    last_price: Amount
    last_trade_id: int


def parse_amount(text: str | None, field: str) -> int | None:
    """A price filter: a whole number in the currency's smallest unit, 0 to 2**128 - 1, in
    ASCII decimal digits (the HTTP API takes no units; :func:`provledger.units.parse_amount`
    reads it)."""
    if text is None:
        return None
    try:
        return units.parse_amount(text, None, what=field, allow_zero=True)
    except units.AmountError as error:
        raise InvalidParameterError(field, error.detail) from None


def parse_kind(text: str | None) -> str | None:
    """An offer kind: asset or license (any case)."""
    if text is None:
        return None
    kind = text.strip().upper()
    if kind not in ("ASSET", "LICENSE"):
        raise InvalidParameterError("kind", "asset or license")
    return kind


_BY_TRADE: Final = (("trade_id", int),)


def _currency(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A market view's currency, checksummed (elsewhere a currency is an ISO code)."""
    return {"currency": checksum(row["currency"])}


def _market_view(kind: type[T], row: Mapping[Any, Any], finality: Finality, **extra: Any) -> T:
    """:func:`~provledger.services.reads.view` with the currency checksummed."""
    return view(kind, row, finality, **_currency(row), **extra)


def _status(row: Mapping[Any, Any], now: int) -> str:
    """An offer's or a bid's stored status, EXPIRED for an open one past its expiry."""
    status = str(row["status"])
    return "EXPIRED" if status == "OPEN" and row["expires_at"] <= now else status


def offer_view(row: Mapping[Any, Any], now: int, finality: Finality) -> OfferView:
    """An offer's view from its row (with ``sellable``), its status as of unix time ``now``."""
    status = _status(row, now)
    if status == "OPEN" and not row["sellable"]:
        status = "UNAVAILABLE"
    return _market_view(OfferView, row, finality, status=status)


def bid_view(row: Mapping[Any, Any], now: int, finality: Finality) -> BidView:
    """A bid's view from its row, its status as of unix time ``now``."""
    return _market_view(BidView, row, finality, status=_status(row, now))


def trade_view(row: Mapping[Any, Any], finality: Finality) -> TradeView:
    """A trade's view from its row."""
    return _market_view(TradeView, row, finality)


class Market:
    """The market's records over one index, with the finality rules of ``provenance``."""

    def __init__(self, engine: Engine, provenance: Provenance) -> None:
        self.engine = engine
        self.provenance = provenance

    def _now(self, conn: Connection) -> int:
        return queries.indexed_time(conn, queries.index_position(conn))

    def open_offers(self, where: OfferFilter, cursor: str | None, limit: int) -> Page[OfferView]:
        """Open, unexpired offers matching ``where``, by id."""
        if (where.min_price is not None or where.max_price is not None) and not where.currency:
            raise InvalidParameterError(
                "currency",
                "a price range needs a currency (prices in different currencies do not compare)",
            )
        if (
            where.min_price is not None
            and where.max_price is not None
            and where.min_price > where.max_price
        ):
            raise InvalidParameterError("min_price", "above max_price")
        after = first(decode_cursor(cursor, (int,)))
        with self.engine.connect() as conn:
            now = self._now(conn)
            rows = queries.open_offers(conn, where, now, after, limit)
            finality = self.provenance.finality_now(conn)
        items = [offer_view(row, now, finality(row["block_number"])) for row in rows]
        return paged(items, rows, limit, id_key("offer_id"))

    def offer(self, offer_id: int) -> OfferView:
        """One offer."""
        with self.engine.connect() as conn:
            row = queries.get_offer(conn, offer_id)
            if row is None:
                raise NotFoundError("offer", str(offer_id))
            now = self._now(conn)
            finality = self.provenance.finality_now(conn)
        return offer_view(row, now, finality(row["block_number"]))

    def offers_of(self, asset_id: int, cursor: str | None, limit: int) -> Page[OfferView]:
        """Every offer made on an asset, by id."""
        after = first(decode_cursor(cursor, (int,)))
        with self.engine.connect() as conn:
            key = require_asset(conn, asset_id)
            rows = queries.offers_of(conn, key, after, limit)
            now = self._now(conn)
            finality = self.provenance.finality_now(conn)
        items = [offer_view(row, now, finality(row["block_number"])) for row in rows]
        return paged(items, rows, limit, id_key("offer_id"))

    def bids(self, offer_id: int, cursor: str | None, limit: int) -> Page[BidView]:
        """The bids on an offer, by id."""
        after = first(decode_cursor(cursor, (int,)))
        with self.engine.connect() as conn:
            if queries.get_offer(conn, offer_id) is None:
                raise NotFoundError("offer", str(offer_id))
            rows = queries.bids_on(conn, offer_id, after, limit)
            now = self._now(conn)
            finality = self.provenance.finality_now(conn)
        items = [bid_view(row, now, finality(row["block_number"])) for row in rows]
        return paged(items, rows, limit, id_key("bid_id"))

    def trades_of(self, asset_id: int, cursor: str | None, limit: int) -> Page[TradeView]:
        """The trades of an asset, by id."""

        def read(conn: Connection, after: int | None) -> list[RowMapping]:
            return queries.trades_of(conn, require_asset(conn, asset_id), after, limit)

        return self.provenance.page(TradeView, _BY_TRADE, cursor, limit, read, extra=_currency)

    def trades_by(self, account: str, cursor: str | None, limit: int) -> Page[TradeView]:
        """The trades in which an account sold or bought, by id."""

        def read(conn: Connection, after: int | None) -> list[RowMapping]:
            return queries.trades_by(conn, account, after, limit)

        return self.provenance.page(TradeView, _BY_TRADE, cursor, limit, read, extra=_currency)

    def statistics(self) -> list[MarketStat]:
        """Trade count, volume and last price per category, grade and currency."""
        with self.engine.connect() as conn:
            rows = queries.market_stats(conn)
        return [
            MarketStat(
                category=row["category"],
                category_name=category_name(row["category"]),
                grade=row["grade"],
                currency=checksum(row["currency"]),
                trades=row["trades"],
                volume=row["volume"],
                last_price=row["last_price"],
                last_trade_id=row["last_trade_id"],
            )
            for row in rows
        ]
