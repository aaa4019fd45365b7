"""The market routes: open offers, an offer and its counter-bids, statistics, and the offers
and trades of an asset or an account."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query

from provledger.api.examples import EXAMPLE_ASSET
from provledger.api.gateway import Gateway
from provledger.api.params import AddressPath, AddressQuery, Cursor, Digits, Limit
from provledger.api.routes.paged import add_asset_page
from provledger.chain.ids import asset_id_hex
from provledger.params import INT64_MAX, parse_address, parse_asset_id
from provledger.services.market import (
    BidView,
    MarketStat,
    OfferView,
    TradeView,
    parse_amount,
    parse_kind,
)
from provledger.services.views import Page
from provledger.store.queries import OfferFilter

AmountQuery = Annotated[
    str | None,
    Query(
        description="An amount in the currency's smallest unit (decimal); needs currency.",
        examples=["1000000000000000000"],
    ),
]


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The market routes, on ``router``."""
    market = gateway.market

    @router.get("/market/offers", response_model=Page[OfferView], tags=["market"])
    async def open_offers(
        asset_id: Annotated[str | None, Query(examples=[EXAMPLE_ASSET])] = None,
        seller: AddressQuery = None,
        currency: Annotated[
            str | None,
            Query(
                description="An ERC-20 token address, or the zero address for the native currency.",
                examples=["0x0000000000000000000000000000000000000000"],
            ),
        ] = None,
        kind: Annotated[str | None, Query(description="asset or license.")] = None,
        min_price: AmountQuery = None,
        max_price: AmountQuery = None,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Any:
        """Open offers (not cancelled, filled or expired at the latest indexed block's time),
        filtered by asset, seller, currency, kind and price range, by offer id."""
        where = OfferFilter(
            asset_id=None if asset_id is None else asset_id_hex(parse_asset_id(asset_id)),
            seller=None if seller is None else parse_address(seller, "seller"),
            currency=None if currency is None else parse_address(currency, "currency"),
            kind=parse_kind(kind),
            min_price=parse_amount(min_price, "min_price"),
            max_price=parse_amount(max_price, "max_price"),
        )
        return market.open_offers(where, cursor, gateway.limit(limit))

    @router.get("/market/offers/{offer_id}", response_model=OfferView, tags=["market"])
    async def offer(offer_id: Annotated[int, Digits, Path(ge=1, le=INT64_MAX)]) -> Any:
        """One offer, whatever its status."""
        return market.offer(offer_id)

    @router.get("/market/offers/{offer_id}/bids", response_model=Page[BidView], tags=["market"])
    async def bids(
        offer_id: Annotated[int, Digits, Path(ge=1, le=INT64_MAX)],
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Any:
        """The counter-bids on an offer, by bid id."""
        return market.bids(offer_id, cursor, gateway.limit(limit))

    @router.get("/market/stats", response_model=list[MarketStat], tags=["market"])
    async def statistics() -> Any:
        """Trade count, volume and last price per category, grade and currency."""
        return market.statistics()

    for segment, read, model in (
        ("offers", market.offers_of, Page[OfferView]),
        ("trades", market.trades_of, Page[TradeView]),
    ):
        add_asset_page(router, gateway, segment, read, model, "market", MARKET_PAGES[segment])

    @router.get("/accounts/{address}/trades", response_model=Page[TradeView], tags=["market"])
    async def trades_by(
        address: AddressPath,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Any:
        """The trades in which the account sold or bought, by trade id."""
        return market.trades_by(parse_address(address, "address"), cursor, gateway.limit(limit))


#: The descriptions of the pages of an asset's market records, by path segment.
MARKET_PAGES: Final = {
    "offers": "Every offer made on the asset (open, expired, cancelled, filled), by offer id.",
    "trades": "The trades of the asset (sales of it and of licenses to it), by trade id.",
}
