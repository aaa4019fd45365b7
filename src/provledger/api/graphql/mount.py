"""``/graphql`` on the gateway: the schema over the gateway's services, behind the limits, and
GraphiQL's files."""

from fastapi import FastAPI

from provledger.api.gateway import Gateway
from provledger.api.graphql.build import build_schema
from provledger.api.graphql.ide import add_ide_assets
from provledger.api.graphql.router import graphql_router
from provledger.api.graphql.schema import context_getter


def add_graphql(app: FastAPI, gateway: Gateway) -> None:
    """Serve the GraphQL API at ``/graphql`` (POST, and GET for queries and GraphiQL)."""
    settings = gateway.settings
    context = context_getter(gateway.engine, gateway.records, gateway.past_indexes)
    router = graphql_router(
        build_schema(),
        context,
        max_depth=settings.graphql_max_depth,
        max_cost=settings.graphql_max_cost,
    )
    routes = app.router.routes
    known = len(routes)
    app.include_router(router)
    # first in the list: a request is matched against each route before it in turn
    routes[:] = routes[known:] + routes[:known]
    add_ide_assets(app)
