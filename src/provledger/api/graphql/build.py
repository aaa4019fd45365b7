"""The schema made: the record kinds' types, their connections and links, and the root
``Query`` (a list and a lookup of each kind, lineage, holder at a block, the index's status)."""

from functools import cache
from typing import Annotated, Any

import strawberry
from strawberry.schema.config import StrawberryConfig

from provledger.api.graphql.executor import LeafExecutor
from provledger.api.graphql.extras import DEFAULT_DEPTH, asset_fields, market_stats_field
from provledger.api.graphql.links import LINKS
from provledger.api.graphql.schema import (
    BlockAt,
    GraphContext,
    Reading,
    at_reading,
    link_field,
    list_field,
)
from provledger.api.graphql.types import (
    SCALARS,
    Long,
    connection_type,
    order_type,
    summary,
    view_type,
    where_type,
)
from provledger.chain.ids import asset_id as asset_id_of
from provledger.params import InvalidParameterError, parse_asset_id, parse_hash_bytes
from provledger.services.reads import NotFoundError
from provledger.services.records import KINDS, RecordKind, parse_value
from provledger.services.views import HolderAtView, LineageView, StatusView
from provledger.store.queries.listing import Condition

#: The root field of each kind's list, and of its lookup by key (with the key's argument).
PLURALS = {
    "Asset": "assets",
    "Event": "events",
    "Holding": "holdings",
    "License": "licenses",
    "Appraisal": "appraisals",
    "Objection": "objections",
    "Dispute": "disputes",
    "Certificate": "certificates",
    "ExportPermit": "export_permits",
    "Participant": "participants",
    "Batch": "batches",
    "Offer": "offers",
    "Bid": "bids",
    "Trade": "trades",
}
LOOKUPS = {
    "License": ("license", "id", int),
    "Appraisal": ("appraisal", "id", int),
    "Objection": ("objection", "id", int),
    "Dispute": ("dispute", "id", int),
    "Certificate": ("certificate", "registrationNumber", int),
    "Participant": ("participant", "account", str),
    "Batch": ("batch", "root", str),
    "Offer": ("offer", "id", int),
    "Bid": ("bid", "id", int),
    "Trade": ("trade", "id", int),
}


def _lookup(kind: RecordKind, argument: str, form: type, node: Any) -> Any:
    """The root field of one record of ``kind`` by its key (null if the index has none)."""
    column = kind.key[0]

    def resolve(info: strawberry.Info, key: Any, block: BlockAt | None = None) -> Any:
        value = parse_value(kind, column, key)
        return at_reading(info, block, lambda reading: _one(reading, kind, column, value))

    resolve.__annotations__ = {
        "info": strawberry.Info,
        "key": Annotated[Long if form is int else str, strawberry.argument(name=argument)],
        "block": BlockAt | None,
        "return": node | None,
    }
    return strawberry.field(resolver=resolve, description=f"One {kind.name} by its key.")


def _one(reading: Reading, kind: RecordKind, column: str, value: Any) -> Any:
    """The record of ``kind`` whose ``column`` is ``value`` (a key), or None."""
    listing = reading.records.listing(kind, (Condition(column, "eq", value),), None, False)
    found = reading.placed(reading.records.page(reading.snapshot, kind, listing, None, 1))
    return found.items[0] if found.items else None


@cache
def build_schema() -> strawberry.Schema:
    """The GraphQL schema of the index (made once: its types are named once)."""
    types: dict[str, Any] = {}
    for kind in KINDS.values():
        types[f"{kind.name}Where"] = where_type(kind)
        types[f"{kind.name}OrderBy"] = order_type(kind)
    lineage_type = view_type(LineageView, "Lineage")
    for kind in KINDS.values():
        links = {link.name: link_field(link, types) for link in LINKS.get(kind.name, ())}
        if kind.name == "Asset":
            links.update(asset_fields())
        types[kind.name] = view_type(kind.view, kind.name, links)
    for kind in KINDS.values():
        types[f"{kind.name}Connection"] = connection_type(kind.name, types[kind.name])
    namespace: dict[str, Any] = {}
    for name, field_name in PLURALS.items():
        namespace[field_name] = list_field(KINDS[name], types)
    for name, (field_name, argument, form) in LOOKUPS.items():
        namespace[field_name] = _lookup(KINDS[name], argument, form, types[name])
    asset_type = types["Asset"]
    holder_at_type = view_type(HolderAtView, "HolderAt")
    status_type = view_type(StatusView, "Status")

    def asset(
        info: strawberry.Info,
        id: str | None = None,
        content_hash: str | None = None,
        block: BlockAt | None = None,
    ) -> Any:
        """One asset, by id (0x hex or decimal) or by the hash of its content."""
        if (id is None) == (content_hash is None):
            raise InvalidParameterError("id", "give either id or contentHash")
        key = (
            parse_asset_id(id, "id")
            if id is not None
            else asset_id_of(parse_hash_bytes(content_hash or "", "contentHash"))
        )

        def answer(reading: Reading) -> Any:
            try:  # the REST lookup: one statement, the asset with the index's head
                found, head = reading.provenance.asset_and_head(key)
            except NotFoundError:
                return None
            reading.seen_head(head)
            return reading.place(found)

        return at_reading(info, block, answer)

    asset.__annotations__["return"] = asset_type | None
    namespace["asset"] = strawberry.field(resolver=asset, description=summary(asset.__doc__))

    def lineage(
        info: strawberry.Info,
        asset_id: str,
        depth: int = DEFAULT_DEPTH,
        direction: str = "both",
        block: BlockAt | None = None,
    ) -> Any:
        """Ancestors (up), descendants (down) or both of an asset, to depth links away."""
        key = parse_asset_id(asset_id)
        return at_reading(
            info,
            block,
            lambda reading: reading.provenance.lineage(key, depth=depth, direction=direction),
        )

    lineage.__annotations__["return"] = lineage_type
    namespace["lineage"] = strawberry.field(resolver=lineage, description=summary(lineage.__doc__))

    def holder_at(
        info: strawberry.Info,
        asset_id: str,
        block: Long | None = None,
        timestamp: Long | None = None,
    ) -> Any:
        """Who held an asset at a block or a unix time."""
        ctx: GraphContext = info.context
        return ctx.live.provenance.holder_at(
            parse_asset_id(asset_id), block=block, timestamp=timestamp
        )

    holder_at.__annotations__["return"] = holder_at_type
    namespace["holder_at"] = strawberry.field(
        resolver=holder_at, description=summary(holder_at.__doc__)
    )

    def status(info: strawberry.Info) -> Any:
        """The chain and the index: head, indexed block, lag, finality settings."""
        ctx: GraphContext = info.context
        return ctx.live.provenance.status()

    status.__annotations__["return"] = status_type
    namespace["market_stats"] = market_stats_field(BlockAt)
    namespace["status"] = strawberry.field(resolver=status, description=summary(status.__doc__))
    query = strawberry.type(
        type("Query", (), namespace),
        name="Query",
        description="The index of the provledger contracts: every kind of record, listed with "
        "filters, ordered, a page at a time, counted; each by its key; as of any past block.",
    )
    return strawberry.Schema(
        query=query,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=LeafExecutor,
    )
