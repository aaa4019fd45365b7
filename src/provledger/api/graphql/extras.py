"""The fields that are not lists of one table: an asset's lineage, disclosure and access
batches, and the market's statistics; each answers as its REST route does, from the reading
(live, or a past block) its record came from."""

from typing import Any

import strawberry

from provledger.api.graphql.schema import (
    DEFAULT_FIRST,
    ConnectionValue,
    GraphContext,
    first_of,
)
from provledger.api.graphql.types import connection_type, summary, view_type
from provledger.params import MAX_PAGE, encode_cursor
from provledger.services.delivery.accesslog import AccessBatchView, access_batches
from provledger.services.disclosed import DisclosureView, disclosure_of
from provledger.services.market import Market, MarketStat
from provledger.services.reads import NotFoundError
from provledger.services.records import Found
from provledger.services.views import LineageView

#: The depth of a lineage when not given, as REST's.
DEFAULT_DEPTH = 3


def _lineage(
    root: Any, info: strawberry.Info, depth: int = DEFAULT_DEPTH, direction: str = "both"
) -> Any:
    ctx: GraphContext = info.context
    provenance = ctx.of(root).provenance
    return provenance.lineage(int(root.asset_id, 16), depth=depth, direction=direction)


def _disclosure(root: Any, info: strawberry.Info) -> Any:
    ctx: GraphContext = info.context
    try:
        return disclosure_of(ctx.of(root).provenance, int(root.asset_id, 16))
    except NotFoundError:
        return None


def _access_batches(
    root: Any, info: strawberry.Info, first: int = DEFAULT_FIRST, after: str | None = None
) -> Any:
    ctx: GraphContext = info.context
    provenance = ctx.of(root).provenance
    asset_id = int(root.asset_id, 16)
    size = first_of(first)
    page = access_batches(provenance, asset_id, after, max(size, 1))
    items = page.items[:size]
    cursors = [encode_cursor([item.anchored_at, item.root]) for item in items]
    more = page.next_cursor is not None if size else bool(page.items)

    async def count() -> int:
        counted, cursor = 0, None
        while True:  # a few batches an asset: counted by reading them
            whole = access_batches(provenance, asset_id, cursor, MAX_PAGE)
            counted += len(whole.items)
            if whole.next_cursor is None:
                return counted
            cursor = whole.next_cursor

    return ConnectionValue(Found(items, cursors, more), count)


def asset_fields() -> dict[str, Any]:
    """The asset's fields beside its columns and its links to other tables."""
    _lineage.__annotations__ = {
        "info": strawberry.Info,
        "depth": int,
        "direction": str,
        "return": view_type(LineageView, "Lineage"),
    }
    _disclosure.__annotations__ = {
        "info": strawberry.Info,
        "return": view_type(DisclosureView, "Disclosure") | None,
    }
    _access_batches.__annotations__ = {
        "info": strawberry.Info,
        "first": int,
        "after": str | None,
        "return": connection_type("AccessBatch", view_type(AccessBatchView, "AccessBatch")),
    }
    return {
        "lineage": strawberry.field(
            resolver=_lineage,
            description="Ancestors (up), descendants (down) or both, to depth links away.",
        ),
        "disclosure": strawberry.field(
            resolver=_disclosure,
            description=summary(DisclosureView.__doc__) + " Null if none.",
        ),
        "access_batches": strawberry.field(
            resolver=_access_batches,
            description="The data room's anchored access batches that hold requests for the "
            "asset, by anchoring time (then root).",
        ),
    }


async def _market_stats(info: strawberry.Info, block: Any = None) -> Any:
    ctx: GraphContext = info.context
    reading = await ctx.reading(block)
    return Market(reading.engine, reading.provenance).statistics()


def market_stats_field(block_type: Any) -> Any:
    """The root field of the market's statistics."""
    _market_stats.__annotations__ = {
        "info": strawberry.Info,
        "block": block_type | None,
        "return": list[view_type(MarketStat, "MarketStat")],  # type: ignore[misc]
    }
    return strawberry.field(
        resolver=_market_stats,
        description="Per category, grade and currency: trade count, volume and the latest price.",
    )
