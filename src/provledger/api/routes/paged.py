"""The shape many routes share: one asset's records a page at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from provledger.api.gateway import Gateway
from provledger.api.params import AssetIdPath, Cursor, Limit
from provledger.params import parse_asset_id

#: A service's read of one asset's records: (asset id, cursor, page size) to a page.
PageReader = Callable[[int, str | None, int], Any]


def add_asset_page(
    router: APIRouter,
    gateway: Gateway,
    segment: str,
    read: PageReader,
    response_model: Any,
    tag: str,
    description: str,
) -> None:
    """``GET /assets/{asset_id}/<segment>``: a page of the asset's records as ``read`` gives
    them. The route (and its OpenAPI operation) is named after ``read``."""

    async def asset_page(asset_id: AssetIdPath, cursor: Cursor = None, limit: Limit = None) -> Any:
        return read(parse_asset_id(asset_id), cursor, gateway.limit(limit))

    router.get(
        f"/assets/{{asset_id}}/{segment}",
        response_model=response_model,
        tags=[tag],
        name=read.__name__,
        description=description,
    )(asset_page)
