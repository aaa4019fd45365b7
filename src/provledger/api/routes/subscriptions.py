"""The subscription routes: an API key's webhook subscriptions (see docs/notifications.md).

Who may subscribe (a live relay API key) and which subscriptions a key may read or remove are
the desk's to decide (:class:`~provledger.services.notify.desk.SubscriptionDesk`); these routes
read the body and the headers and map.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from provledger.api import problems
from provledger.api.gateway import Gateway
from provledger.api.routes.relay import bearer_token
from provledger.api.streams import read_capped
from provledger.jsondoc import parse_json
from provledger.params import InvalidParameterError
from provledger.services.notify.subscriptions import fields_of_options

#: Seconds between two looks at the outbox of an idle stream.
STREAM_POLL_SECONDS: Final = 0.25
#: Events one look at the outbox reads at the most.
STREAM_READ_LIMIT: Final = 200
#: The largest subscription body read (a filter of many assets fits).
BODY_MAX_BYTES: Final = 256 << 10

Authorization = Annotated[
    str | None, Header(description="`Bearer` and an API key from `provledger apikey create`.")
]
Values = Annotated[list[str] | None, Query()]
SubscriptionId = Annotated[str, Path(max_length=40, examples=["sub_3f9a1c2b7d4e5f6a7b8c9d0e"])]

SUBSCRIPTION_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "example": {
                    "url": "https://hooks.example.com/ledger",
                    "finality": "safe",
                    "filter": {
                        "holders": ["0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"],
                        "events": ["ObjectionLodged", "DisputeOpened", "LicenseExpiring"],
                    },
                    "remind_before": "14d",
                }
            }
        },
    }
}


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The subscription routes, on ``router``."""
    refused: dict[int | str, dict[str, Any]] = {
        401: problems.documented("No API key, or an unknown, wrong or revoked one."),
        404: problems.documented("This API key made no subscription of that id."),
    }

    @router.post(
        "/subscriptions",
        status_code=201,
        tags=["notifications"],
        responses={
            **refused,
            400: problems.documented(
                "A body that is not a subscription: an unknown field or filter field, an event "
                "that does not exist, a webhook URL that is not http(s), carries credentials or "
                "points at a loopback or private address (unless the operator allows it)."
            ),
            413: problems.documented(f"A body over {BODY_MAX_BYTES:,} bytes."),
            503: problems.documented("The gateway has no notifications master key."),
        },
        openapi_extra=SUBSCRIPTION_BODY,
    )
    async def subscribe(request: Request, authorization: Authorization = None) -> Any:
        """Subscribe a webhook to the events that match every field of `filter` (assets,
        holders, registrants, licensees, participants, events, categories, grades; none: every
        event), at a `finality` (pending, safe or final). The events `LicenseExpiring` and
        `ExportPermitExpiring` are reminders, `remind_before` (7d unless given) before a
        licence or export permit expires. The answer carries the secret that signs its
        deliveries (`secret`, shown this once)."""
        desk = gateway.subscriptions()
        token = bearer_token(authorization)
        await gateway.node_work.run(desk.owner, token)  # 401 before the body is read
        body = await read_capped(request, BODY_MAX_BYTES, "body")
        given = parse_json(body, what="the subscription", max_bytes=BODY_MAX_BYTES)
        if not isinstance(given, dict):
            raise InvalidParameterError("body", "a JSON object: {url, finality, filter, ...}")
        return await gateway.node_work.run(desk.create, token, given)

    @router.get("/subscriptions", tags=["notifications"], responses=refused)
    async def subscriptions(authorization: Authorization = None) -> Any:
        """The subscriptions this API key made (never their secrets)."""
        return await gateway.node_work.run(
            gateway.subscriptions().listed, bearer_token(authorization)
        )

    @router.get("/subscriptions/{subscription_id}", tags=["notifications"], responses=refused)
    async def subscription(
        subscription_id: SubscriptionId, authorization: Authorization = None
    ) -> Any:
        """One of this API key's subscriptions, with where its delivery stands: failed attempts
        at the delivery it is on, its last error, and its dead letters."""
        return await gateway.node_work.run(
            gateway.subscriptions().status, bearer_token(authorization), subscription_id
        )

    @router.delete(
        "/subscriptions/{subscription_id}",
        status_code=204,
        tags=["notifications"],
        responses=refused,
    )
    async def unsubscribe(
        subscription_id: SubscriptionId, authorization: Authorization = None
    ) -> Response:
        """Remove one of this API key's subscriptions: nothing more is announced to it."""
        await gateway.node_work.run(
            gateway.subscriptions().remove, bearer_token(authorization), subscription_id
        )
        return Response(status_code=204)

    @router.get(
        "/stream",
        tags=["notifications"],
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."},
            400: problems.documented("A filter that is not one (as for POST /subscriptions)."),
            401: problems.documented("No API key, or an unknown, wrong or revoked one."),
            409: problems.documented("A new stream past the key's 1,000 subscriptions."),
            410: problems.documented(
                "A Last-Event-ID from before the oldest notification the stream still keeps."
            ),
            429: problems.documented("The API key holds as many streams open as one may."),
        },
    )
    async def stream(
        request: Request,
        authorization: Authorization = None,
        last_event_id: Annotated[
            str | None,
            Header(
                alias="Last-Event-ID",
                description="The id of the last event received: the stream goes on after it.",
            ),
        ] = None,
        finality: Annotated[str, Query(description="pending, safe or final")] = "pending",
        remind_before: Annotated[
            str | None,
            Query(description="How long before an expiry to remind: 7d (the default), 36h, 90m."),
        ] = None,
        asset: Values = None,
        holder: Values = None,
        registrant: Values = None,
        licensee: Values = None,
        participant: Values = None,
        event: Values = None,
        category: Values = None,
        grade: Values = None,
    ) -> StreamingResponse:
        """Server-sent events of what the index records that matches every filter given
        (repeatable; none: every event), once at the `finality` asked: `announce` events,
        `remind` events for licences and export permits that expire within `remind_before`, and
        `retract` events for announced ones a reorg removed. Each event's `id` is its outbox
        position: reconnect with `Last-Event-ID` and the stream goes on after it, with no gap
        and no repeat. Without it, the stream starts with what is indexed next. An idle stream
        sends a `: heartbeat` comment every `PROVLEDGER_NOTIFY_HEARTBEAT_SECONDS`."""
        desk = gateway.subscriptions()
        token = bearer_token(authorization)
        fields = fields_of_options(locals())
        opened = await gateway.node_work.run(
            desk.open_stream, token, fields, finality, remind_before
        )
        start = await gateway.node_work.run(desk.start_of, opened, last_event_id)
        await gateway.node_work.run(desk.seen, opened)
        holding = desk.streaming(opened.owner)
        holding.__enter__()  # 429 here, before the response starts

        async def events() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 2000\n\n"
                seq = start
                quiet_since = touched = time.monotonic()
                heartbeat = gateway.settings.notify_heartbeat_seconds
                while not await request.is_disconnected():
                    if time.monotonic() - touched >= heartbeat:  # busy or quiet: kept
                        await gateway.node_work.run(desk.seen, opened)
                        touched = time.monotonic()
                    ready, seq = await gateway.node_work.run(
                        desk.stream_after, opened, seq, STREAM_READ_LIMIT
                    )
                    for position, kind, body in ready:
                        yield b"id: %d\nevent: %s\ndata: %s\n\n" % (position, kind.encode(), body)
                    if ready:
                        quiet_since = time.monotonic()
                        continue
                    if time.monotonic() - quiet_since >= heartbeat:
                        yield b": heartbeat\n\n"
                        quiet_since = time.monotonic()
                    await asyncio.sleep(STREAM_POLL_SECONDS)
            finally:
                holding.__exit__(None, None, None)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
