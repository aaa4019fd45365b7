"""The relay routes: relay signed registrations, and follow a relayed request.

Who may relay (the API key) and which requests a key may read are the relay service's to
decide (:class:`~provledger.services.relay.Relayer`); these routes read the headers and map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from pydantic import Field

from provledger.api import problems
from provledger.api.examples import EXAMPLE_ASSET, EXAMPLE_HASH, EXAMPLE_REQUEST_ID, RELAY_BODY
from provledger.api.gateway import Gateway
from provledger.api.streams import read_capped
from provledger.store.relay_schema import ApiKey, RelayRequest


@dataclass(frozen=True)
class RelayStatus:
    """A relayed request and where its transaction stands."""

    request_id: Annotated[str, Field(examples=[EXAMPLE_REQUEST_ID])]
    status: Annotated[
        str,
        Field(
            description="queued, submitted, mined, confirmed (deep enough to be safe) or failed",
            examples=["submitted"],
        ),
    ]
    asset_ids: Annotated[list[str], Field(examples=[[EXAMPLE_ASSET]])]
    transaction: Annotated[str | None, Field(examples=[EXAMPLE_HASH])]
    relayer_nonce: Annotated[int | None, Field(examples=[12])]
    replacements: Annotated[int, Field(description="Times sent again with more fee.")]
    block_number: Annotated[int | None, Field(examples=[None])]
    gas_used: Annotated[int | None, Field(examples=[None])]
    error: Annotated[str | None, Field(examples=[None])]
    created_at: Annotated[int, Field(description="Milliseconds since 1970 (UTC).")]
    updated_at: int

    @classmethod
    def of(cls, request: RelayRequest) -> RelayStatus:
        """The answer for ``request``."""
        return cls(
            request.request_id,
            request.status,
            request.asset_ids,
            request.tx_hash,
            request.nonce,
            request.replacements,
            request.block_number,
            request.gas_used,
            request.error,
            request.created_at,
            request.updated_at,
        )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None for another scheme."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The relay routes, on ``router``."""
    relay_errors: dict[int | str, dict[str, Any]] = {
        401: problems.documented("No API key, or an unknown, wrong or revoked one."),
        409: problems.documented(
            "The idempotency key was used before, or the content hash or registrant nonce is "
            "being relayed by another request."
        ),
        429: problems.documented("Over the API key's rate or daily gas budget (Retry-After)."),
    }

    def api_key(authorization: str | None) -> ApiKey:
        return gateway.relayer().authenticate(bearer_token(authorization))

    @router.post(
        "/relay/registrations",
        status_code=202,
        response_model=RelayStatus,
        tags=["relay"],
        responses=relay_errors,
        openapi_extra=RELAY_BODY,
    )
    async def relay_registrations(
        request: Request,
        authorization: Annotated[
            str | None, Header(description="`Bearer` and an API key from `provledger apikey`.")
        ] = None,
        idempotency_key: Annotated[
            str | None,
            Header(
                max_length=200,
                description="Any unique text; a request sent again with it is refused (409) "
                "and names the first, so a retry never relays twice.",
            ),
        ] = None,
    ) -> RelayStatus:
        """Relay EIP-712 signed registrations: checked (signature, nonce, deadline, active
        registrant, content hash not registered, simulation) before any gas is spent, then
        sent with the gateway's relayer key. Follow it at `/relay/requests/{request_id}`."""
        relayer = await gateway.node_work.run(gateway.relayer)
        key = await gateway.node_work.run(relayer.authenticate, bearer_token(authorization))
        body = await read_capped(request, gateway.settings.relay_body_max_bytes, "body")
        relayed = await gateway.node_work.run(relayer.submit, key, body, idempotency_key)
        return RelayStatus.of(relayed)

    @router.get(
        "/relay/requests/{request_id}",
        response_model=RelayStatus,
        tags=["relay"],
        responses=relay_errors,
    )
    async def relay_request(
        request_id: Annotated[str, Path(max_length=64, examples=[EXAMPLE_REQUEST_ID])],
        authorization: Annotated[str | None, Header()] = None,
    ) -> RelayStatus:
        """A relayed request made with this API key: queued, submitted, mined, confirmed or
        failed (with the decoded revert), its transaction, block and gas."""

        def look_up() -> RelayRequest:
            return gateway.relayer().request(api_key(authorization), request_id)

        return RelayStatus.of(await gateway.node_work.run(look_up))
