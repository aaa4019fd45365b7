"""The service routes: liveness, readiness, metrics, and the index's status."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from provledger.api.gateway import Gateway
from provledger.services.status import Readiness
from provledger.services.views import StatusView


@dataclass(frozen=True)
class Health:
    """The process answers."""

    status: str


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """Liveness, readiness and metrics, on ``router``."""

    @router.get("/health", response_model=Health, tags=["service"])
    async def health() -> Health:
        """The process is up."""
        return Health("ok")

    @router.get(
        "/ready",
        response_model=Readiness,
        tags=["service"],
        responses={503: {"model": Readiness, "description": "Not ready yet."}},
    )
    async def ready() -> Any:
        """503 until the index is within the configured lag of the head."""
        readiness = await gateway.node_work.run(gateway.readiness)
        if readiness.ready:
            return readiness
        return JSONResponse(asdict(readiness), status_code=503)

    @router.get("/metrics", tags=["service"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics: requests and latencies per route, and the index's position."""
        return Response(gateway.metrics.render(), media_type="text/plain; version=0.0.4")


def add_status_route(router: APIRouter, gateway: Gateway) -> None:
    """``GET /status``, on ``router``."""
    service = gateway.provenance

    @router.get("/status", response_model=StatusView, tags=["status"])
    async def status() -> StatusView:
        """Chain and index: head, indexed block, lag, finality settings, events held."""
        return service.status()
