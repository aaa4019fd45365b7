"""``create_app(settings)``: the gateway over one index, assembled from its parts.

Handlers are thin: parse, call one service, return its answer. They live by area in
:mod:`provledger.api.routes`, over the services of :class:`~provledger.api.gateway.Gateway`;
errors become problem+json in :mod:`provledger.api.problems`.

Handlers that read only the index are ``async`` and query on the event loop: every query is a
bounded keyed read (a page is at most 1,000 rows), and a worker's throughput is bound by its CPU,
which a thread hop per request would only spend. Work that waits on the node (readiness, the
relay) or is CPU-heavy (folder manifests, proof bundles) runs on the daemon threads of
:mod:`provledger.api.heavy`, the heavy kind limited per route; the pages are plain functions,
run in the thread pool.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from fastapi import FastAPI
from sqlalchemy import Engine
from web3 import Web3

from provledger.api import problems
from provledger.api.docs import add_docs_routes
from provledger.api.gateway import Gateway
from provledger.api.graphql.mount import add_graphql
from provledger.api.pages import install_pages
from provledger.api.routes import (
    access,
    assets,
    checkpoints,
    data,
    disclosures,
    market,
    records,
    relay,
    rpc,
    service,
    subscriptions,
    verify,
)
from provledger.api.security import install_security
from provledger.config import Settings
from provledger.errors import ProvledgerError
from provledger.store.engine import create_store_engine

log = logging.getLogger(__name__)

#: The route modules' routes, in the order the app matches them and the OpenAPI document lists
#: them.
ROUTES: Final = (
    service.add_routes,
    assets.add_routes,
    records.add_routes,
    service.add_status_route,
    market.add_routes,
    verify.add_routes,
    relay.add_routes,
    subscriptions.add_routes,
    data.add_routes,
    access.add_routes,
    disclosures.add_routes,
    checkpoints.add_routes,
    rpc.add_routes,
)


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, w3: Web3 | None = None
) -> FastAPI:
    """The gateway over the index of ``settings.database_url`` (or ``engine``); ``w3`` is the
    node that proofs and readiness read, if any."""
    settings = settings or Settings()
    engine = engine or create_store_engine(
        settings.api_database_url or settings.database_url,
        read_only=True,
        query_timeout=settings.query_timeout_ms / 1000,
    )
    gateway = Gateway(settings, engine, w3)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if gateway.relays:  # follow what an earlier run sent, without waiting for a request
            try:
                await gateway.node_work.run(gateway.relayer)
            except ProvledgerError as error:
                log.warning("relay not started yet: %s", error)
        gateway.start_upkeep()
        yield
        gateway.close()

    app = FastAPI(
        lifespan=lifespan,
        title="provledger gateway",
        summary="Provenance of registered data assets: queries, verification, proofs.",
        version="1",
        responses=problems.ERROR_RESPONSES,
        docs_url=None,  # served by add_docs_routes from local assets
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # The gateway exports its own Prometheus metrics (/metrics); FastAPI's OpenTelemetry
        # bridge would otherwise look up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    add_docs_routes(app)
    app.state.gateway = gateway
    problems.install(app)
    gateway.metrics.install(app)
    # Routes go on the app's own router: an included router is matched twice per request.
    for add_routes in ROUTES:
        add_routes(app.router, gateway)
    add_graphql(app, gateway)
    install_pages(app, gateway)
    install_security(app, list(settings.cors_origins))
    problems.add_problem_schema(app)
    return app


def app_from_environment() -> FastAPI:
    """The app of ``provledger serve``'s workers: settings from ``PROVLEDGER_*`` variables,
    and the node of ``PROVLEDGER_RPC_URL`` (if set) for readiness and proofs."""
    from provledger.api.server import quiet_cancellations
    from provledger.chain.connection import rpc_chain

    quiet_cancellations()
    settings = Settings()
    # Unchecked: a node that is down now answers 503 on the routes that need it, while the
    # index goes on being served.
    w3 = (
        None
        if settings.rpc_url is None
        else rpc_chain(settings.rpc_url, timeout=settings.rpc_timeout, check=False)
    )
    app = create_app(settings, w3=w3)
    # What the worker made to serve (the schemas, routes, compiled statements) lives as long as
    # it does: out of the collector's sight, a full collection walks the few objects the
    # requests make instead of these hundreds of thousands (a pause of about 130 ms otherwise).
    gc.collect()
    gc.freeze()
    return app
