"""The checkpoint routes: the gateway's chain's checkpoints on the target chain, and the
witnesses' co-signatures of them, which anyone may post.

A co-signature authenticates itself (an EIP-712 signature by its witness over the checkpoint),
so no key is asked for: one is kept only if it recovers to its witness over the checkpoint the
target chain holds, and which witnesses count is each verifier's policy. The routes exist only
when ``checkpoint_rpc_url`` and ``checkpoint_contract`` are set (like the data room's).
What is kept, and when, is the :class:`~provledger.api.gateway.CheckpointDesk`'s to decide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final, ParamSpec, TypeVar

from fastapi import APIRouter, Path, Request, Response
from pydantic import Field

from provledger.api import problems
from provledger.api.examples import (
    COSIGNATURE_BODY,
    EXAMPLE_ADDRESS,
    EXAMPLE_HASH,
    EXAMPLE_SIGNATURE,
)
from provledger.api.gateway import Gateway
from provledger.api.params import Cursor, Digits, Limit
from provledger.api.streams import read_capped
from provledger.chain.serialize import hex_bytes
from provledger.jsondoc import parse_json
from provledger.params import INT64_MAX
from provledger.services.checkpoints import Cosignature
from provledger.services.checkpoints.desk import CheckpointDesk, received_time
from provledger.store.checkpoints import StoredCosignature

P = ParamSpec("P")
R = TypeVar("R")
Responses = dict[int | str, dict[str, Any]]

#: The largest co-signature body taken: the JSON of one is under 250 bytes.
COSIGNATURE_MAX_BYTES: Final = 4096

SequencePath = Annotated[
    int,
    Digits,
    Path(
        ge=1, le=INT64_MAX, description="The checkpoint's sequence number (from 1).", examples=[3]
    ),
]
Hash = Annotated[str, Field(examples=[EXAMPLE_HASH])]
Address = Annotated[str, Field(examples=[EXAMPLE_ADDRESS])]


@dataclass(frozen=True)
class CosignatureView:
    """A witness's co-signature of a checkpoint, as the gateway keeps it."""

    witness: Address
    signature: Annotated[
        str, Field(description="65 bytes: r, s and v (27 or 28).", examples=[EXAMPLE_SIGNATURE])
    ]
    received_at: Annotated[
        str,
        Field(
            description="When the gateway was given it (ISO 8601, UTC).",
            examples=["2026-05-01T08:00:00.000Z"],
        ),
    ]

    @classmethod
    def of(cls, kept: StoredCosignature) -> CosignatureView:
        """The answer for ``kept``."""
        return cls(kept.witness, hex_bytes(kept.signature), received_time(kept))


@dataclass(frozen=True)
class CheckpointView:
    """A checkpoint of the gateway's chain, and where the target chain recorded it."""

    source_chain_id: Annotated[int, Field(examples=[31337])]
    sequence: Annotated[int, Field(examples=[3])]
    from_block: Annotated[int, Field(description="Its first source block.", examples=[17])]
    to_block: Annotated[int, Field(description="Its last source block.", examples=[32])]
    to_block_hash: Hash
    root: Annotated[
        str, Field(description="Root of the tree of its blocks' hashes.", examples=[EXAMPLE_HASH])
    ]
    target_chain_id: Annotated[int, Field(examples=[31338])]
    contract: Annotated[
        str, Field(description="The Checkpoint contract.", examples=[EXAMPLE_ADDRESS])
    ]
    transaction_hash: Hash
    block_number: Annotated[int, Field(description="The target chain's block.", examples=[7])]
    block_hash: Hash
    log_index: int
    submitter: Address
    time: Annotated[
        str,
        Field(
            description="The target block's time (ISO 8601, UTC).",
            examples=["2026-05-01T07:59:48Z"],
        ),
    ]
    cosignature_count: Annotated[int, Field(description="Co-signatures the gateway keeps of it.")]

    @classmethod
    def of(cls, described: dict[str, Any], count: int) -> CheckpointView:
        """The answer for a checkpoint ``described`` by the desk, with ``count``
        co-signatures."""
        return cls(**described, cosignature_count=count)


@dataclass(frozen=True)
class CheckpointDetailView(CheckpointView):
    """A checkpoint with the co-signatures the gateway keeps of it."""

    cosignatures: list[CosignatureView]


@dataclass(frozen=True)
class CheckpointPageView:
    """One page of checkpoints, newest first; pass ``next_cursor`` back as ``cursor``."""

    items: list[CheckpointView]
    next_cursor: Annotated[
        str | None, Field(description="Cursor of the next page; null on the last page.")
    ]


def add_routes(router: APIRouter, gateway: Gateway) -> None:
    """The checkpoint routes, on ``router`` (when checkpoints are configured)."""
    desk = gateway.checkpoints
    if desk is None:
        return
    unknown: Responses = {404: problems.documented("The target chain holds no such checkpoint.")}
    unavailable: Responses = {503: problems.documented("The target chain's node does not answer.")}

    async def on_node(route: str, action: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        # Each read scans the target chain's logs: a few at a time per worker, as proofs.
        async with gateway.heavy.slot(route):
            return await gateway.node_work.run(action, *args, **kwargs)

    @router.get(
        "/checkpoints",
        response_model=CheckpointPageView,
        tags=["checkpoints"],
        responses=unavailable,
    )
    async def checkpoints(cursor: Cursor = None, limit: Limit = None) -> CheckpointPageView:
        """The checkpoints of this gateway's chain that the target chain holds, newest first:
        the source blocks each covers, the root of their hashes, the target chain's
        transaction and block, and how many witnesses' co-signatures the gateway keeps."""
        page = await on_node("checkpoints", desk.page, cursor, gateway.limit(limit))
        items = [CheckpointView.of(described, count) for described, count in page.items]
        return CheckpointPageView(items, page.next_cursor)

    @router.get(
        "/checkpoints/{sequence}",
        response_model=CheckpointDetailView,
        tags=["checkpoints"],
        responses={**unknown, **unavailable},
    )
    async def checkpoint(sequence: SequencePath) -> CheckpointDetailView:
        """One checkpoint, with the witnesses' co-signatures the gateway keeps of it."""
        return await on_node("checkpoints", _detail, desk, sequence)

    @router.get(
        "/checkpoints/{sequence}/cosignatures",
        response_model=list[CosignatureView],
        tags=["checkpoints"],
        responses={**unknown, **unavailable},
    )
    async def cosignatures(sequence: SequencePath) -> list[CosignatureView]:
        """The witnesses' co-signatures of a checkpoint the gateway keeps, oldest first (each
        recovers to its witness over the checkpoint; whose count is the verifier's policy)."""
        return await on_node("checkpoints", _kept, desk, sequence)

    @router.post(
        "/checkpoints/{sequence}/cosignatures",
        status_code=201,
        response_model=CosignatureView,
        tags=["checkpoints"],
        responses={
            200: {"description": "The same co-signature was kept already."},
            400: problems.documented("A body that is not a witness and a 65-byte signature."),
            409: problems.documented("The witness's other co-signature of it is kept."),
            413: problems.documented(f"A body over {COSIGNATURE_MAX_BYTES} bytes."),
            422: problems.documented(
                "A signature that does not recover to the witness over the checkpoint the "
                "target chain holds; nothing is kept."
            ),
            **unknown,
            **unavailable,
        },
        openapi_extra=COSIGNATURE_BODY,
    )
    async def post_cosignature(
        request: Request, response: Response, sequence: SequencePath
    ) -> CosignatureView:
        """Publish a witness's co-signature of a checkpoint (`provledger witness` posts them):
        `{"witness", "signature"}`, the witness's EIP-712 signature of the checkpoint (domain
        `provledger checkpoint`, the target chain and its Checkpoint contract). Anyone may post
        one; it is kept if it recovers to its witness over the checkpoint the target chain
        holds (201), and answered 200 if it was kept already."""
        body = await read_capped(request, COSIGNATURE_MAX_BYTES, "body")
        given = Cosignature.parse(
            parse_json(body, what="the co-signature", max_bytes=COSIGNATURE_MAX_BYTES), "body"
        )
        kept, new = await on_node("cosignatures", desk.accept, sequence, given)
        if not new:
            response.status_code = 200
        return CosignatureView.of(kept)


def _kept(desk: CheckpointDesk, sequence: int) -> list[CosignatureView]:
    return [CosignatureView.of(item) for item in desk.cosignatures(desk.get(sequence).checkpoint)]


def _detail(desk: CheckpointDesk, sequence: int) -> CheckpointDetailView:
    recorded = desk.get(sequence)
    kept = [CosignatureView.of(item) for item in desk.cosignatures(recorded.checkpoint)]
    return CheckpointDetailView(
        **desk.describe(recorded), cosignature_count=len(kept), cosignatures=kept
    )
