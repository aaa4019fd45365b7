"""``create_app(settings)``: the gateway over one index.

Handlers are thin: parse, call one service, return its answer. Errors become problem+json in
:mod:`provledger.api.problems`.

Handlers that read only the index are ``async`` and query on the event loop: every query is a
bounded keyed read (a page is at most 1,000 rows), and a worker's throughput is bound by its CPU,
which a thread hop per request would only spend. Work that waits on the node (readiness, the
relay) or is CPU-heavy (folder manifests, proof bundles) runs on the daemon threads of
:mod:`provledger.api.heavy`, the heavy kind limited per route; the pages are plain functions,
run in the thread pool.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import Field
from sqlalchemy import Engine
from web3 import Web3

from provledger.api import problems
from provledger.api.heavy import HeavyWork, WorkPool
from provledger.api.metrics import GatewayMetrics
from provledger.api.pages import install_pages
from provledger.api.params import (
    EXAMPLE_ASSET,
    INT64_MAX,
    AssetIdPath,
    Cursor,
    Digits,
    Limit,
)
from provledger.api.security import REDOC_POLICY, docs_policy, install_security
from provledger.api.streams import read_capped, stream_upload
from provledger.chain.accounts import resolve_signer
from provledger.chain.client import Provledger
from provledger.chain.deployments import Deployment, load_deployment
from provledger.chain.ids import asset_id_hex
from provledger.config import Settings
from provledger.errors import ConfigurationError, ProvledgerError
from provledger.services.market import (
    BidView,
    Market,
    MarketStat,
    OfferView,
    TradeView,
    parse_amount,
    parse_kind,
)
from provledger.services.proofs import ProofUnavailableError, build_proof_bundle
from provledger.services.provenance import (
    MAX_LINEAGE_DEPTH,
    AppraisalView,
    AssetView,
    BatchView,
    CertificateView,
    DisputeView,
    EventView,
    ExportPermitView,
    HolderAtView,
    HoldingView,
    LicenseView,
    LineageView,
    ObjectionView,
    Page,
    ParticipantView,
    Provenance,
    StatusView,
    page_limit,
    parse_address,
    parse_asset_id,
    parse_hash,
    parse_title,
)
from provledger.services.relay import Relayer, RelayNotConfigured
from provledger.services.verification import (
    ManifestVerdict,
    Verdict,
    Verifier,
)
from provledger.store import queries
from provledger.store.blobs import BlobStore
from provledger.store.documents import MAX_TITLE
from provledger.store.engine import IndexNotBuilt, create_store_engine
from provledger.store.queries import OfferFilter
from provledger.store.relay import (
    ApiKey,
    RelayRequest,
    RelayStore,
    Unauthorized,
    UnknownRelayRequest,
)

log = logging.getLogger(__name__)
#: Threads per worker for requests that wait on the node (readiness, the relay).
NODE_THREADS: Final = 16

EXAMPLE_HASH: Final = "0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
EXAMPLE_ADDRESS: Final = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
PROOF_EXAMPLE: Final = {
    "version": "provledger-proof/1",
    "chain_id": 31337,
    "asset_id": EXAMPLE_ASSET,
    "content_hash": EXAMPLE_HASH,
    "channel": "DIRECT",
    "contracts": {"DataAssetRegistry": {"address": EXAMPLE_ADDRESS, "code_hash": EXAMPLE_HASH}},
    "registration": {
        "contract": "DataAssetRegistry",
        "event": "AssetRegistered",
        "transaction_hash": EXAMPLE_HASH,
        "block_number": 35,
        "block_hash": EXAMPLE_HASH,
        "log_index": 0,
        "topics": [EXAMPLE_HASH],
        "data": "0x",
        "args": {"asset_id": EXAMPLE_ASSET},
    },
    "state": {"block_number": 38, "block_hash": EXAMPLE_HASH, "asset": {"status": "APPLIED"}},
}


@dataclass(frozen=True)
class Health:
    """The process answers."""

    status: str


@dataclass(frozen=True)
class Readiness:
    """Whether the index is close enough to the head to answer."""

    ready: bool
    indexed_block: int | None
    head_block: int | None
    lag_blocks: int | None
    max_lag: int


class Gateway:
    """The services one app answers from."""

    def __init__(self, settings: Settings, engine: Engine, w3: Web3 | None) -> None:
        self.settings = settings
        self.engine = engine
        self.w3 = w3
        self.provenance = Provenance(
            engine, confirmations=settings.confirmations, finality_depth=settings.finality_depth
        )
        self.verifier = Verifier(self.provenance, BlobStore(settings.blob_dir))
        self.market = Market(engine, self.provenance)
        self.metrics = GatewayMetrics(self.provenance)
        self.heavy = HeavyWork(settings.heavy_threads, settings.heavy_requests)
        self.node_work = WorkPool(NODE_THREADS, "node")
        self._deployment: Deployment | None = None
        self._relayer: Relayer | None = None
        self._relay_lock = threading.Lock()

    def deployment(self, w3: Web3) -> Deployment:
        """The deployment record of the node's chain."""
        if self._deployment is None:
            chain_id = int(w3.eth.chain_id)
            self._deployment = load_deployment(self.settings.deployments_dir, chain_id)
        return self._deployment

    @property
    def relays(self) -> bool:
        """Whether relaying is configured (a node and a relayer key)."""
        settings = self.settings
        has_key = settings.relayer_keystore is not None or settings.relayer_dev_account is not None
        return self.w3 is not None and has_key

    def relayer(self) -> Relayer:
        """The relayer, made on first use (and its tracking thread started)."""
        if not self.relays:
            raise RelayNotConfigured()
        with self._relay_lock:
            if self._relayer is None:
                assert self.w3 is not None
                settings = self.settings
                deployment = self.deployment(self.w3)
                account = resolve_signer(
                    chain_id=deployment.chain_id,
                    embedded=False,
                    keystore=settings.relayer_keystore,
                    password_file=settings.relayer_password_file,
                    dev_index=settings.relayer_dev_account,
                    prompt_password=_no_prompt,
                )
                relayer = Relayer(
                    RelayStore.open(settings.relay_database_url),
                    Provledger(self.w3, deployment),
                    account,
                    confirmations=settings.confirmations,
                    replace_after=settings.relay_replace_after,
                )
                relayer.start()
                self._relayer = relayer
            return self._relayer

    def close(self) -> None:
        """Stop the heavy work's threads, and the relay's tracking thread and close its
        records, if it runs."""
        self.heavy.close()
        self.node_work.close()
        if self._relayer is not None:
            self._relayer.stop()
            self._relayer.store.close()

    def proof(self, asset_id: int) -> dict[str, Any]:
        """The proof bundle of an asset, built from the index and the node."""
        if self.w3 is None:
            raise ProofUnavailableError(
                asset_id_hex(asset_id),
                "proof bundles read the node: start the gateway with PROVLEDGER_RPC_URL set",
            )
        return build_proof_bundle(self.engine, self.w3, self.deployment(self.w3), asset_id)

    def limit(self, value: int | None) -> int:
        """A requested page size, or the default."""
        return page_limit(value, self.settings.page_size)

    def readiness(self) -> Readiness:
        """Ready when indexed and within ``ready_max_lag`` blocks of the head."""
        with self.engine.connect() as conn:
            position = queries.index_position(conn)
        max_lag = self.settings.ready_max_lag
        if position is None:
            return Readiness(False, None, None, None, max_lag)
        head = position.head_block
        if self.w3 is not None:
            head = max(head, int(self.w3.eth.block_number))
        lag = max(0, head - position.indexed_block)
        return Readiness(lag <= max_lag, position.indexed_block, head, lag, max_lag)


def _asset_routes(router: APIRouter, gateway: Gateway) -> None:
    service = gateway.provenance

    @router.get("/assets", response_model=Page[AssetView], tags=["assets"])
    async def list_assets(
        holder: Annotated[str | None, Query(examples=[EXAMPLE_ADDRESS])] = None,
        registrant: Annotated[str | None, Query(examples=[EXAMPLE_ADDRESS])] = None,
        category: Annotated[int | None, Digits, Query(ge=0, le=65535, examples=[301])] = None,
        grade: Annotated[int | None, Digits, Query(ge=0, le=255, examples=[1])] = None,
        status: Annotated[
            str | None,
            Query(
                pattern="^(APPLIED|NOTICED|CERTIFIED|REJECTED|CANCELLED)$",
                examples=["CERTIFIED"],
            ),
        ] = None,
        title: Annotated[
            str | None,
            Query(
                max_length=MAX_TITLE,
                description="Words the title of the asset's current metadata document must "
                "all hold (any order, any case); documents come from the blob folder.",
                examples=["air quality"],
            ),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Page[AssetView]:
        """Assets by holder, registrant, category and grade, status, or metadata title words,
        in asset id order."""
        where = queries.AssetFilter(
            holder=None if holder is None else parse_address(holder, "holder"),
            registrant=None if registrant is None else parse_address(registrant, "registrant"),
            category=category,
            grade=grade,
            status=status,
            title_words=() if title is None else parse_title(title),
        )
        return service.assets(where, cursor, gateway.limit(limit))

    @router.get("/assets/recent", response_model=list[AssetView], tags=["assets"])
    async def recent_assets(
        limit: Annotated[int, Digits, Query(ge=1, le=100, examples=[10])] = 10,
    ) -> list[AssetView]:
        """The latest registrations, newest first."""
        return service.recent(limit)

    @router.get("/assets/by-hash/{content_hash}", response_model=AssetView, tags=["assets"])
    async def asset_by_hash(
        content_hash: Annotated[str, Path(examples=[EXAMPLE_HASH])],
    ) -> AssetView:
        """The asset registered for a content hash (a file's SHA-256 or a folder's root)."""
        return service.asset_by_content(content_hash)

    @router.get("/assets/{asset_id}", response_model=AssetView, tags=["assets"])
    async def get_asset(asset_id: AssetIdPath) -> AssetView:
        """An asset: registration, current holder, status, grade and category, finality."""
        return service.asset(parse_asset_id(asset_id))

    @router.get(
        "/assets/{asset_id}/proof",
        response_model=dict[str, Any],
        tags=["proofs"],
        responses={
            200: {
                "description": "A self-contained proof bundle (format provledger-proof/1).",
                "content": {"application/json": {"example": PROOF_EXAMPLE}},
            }
        },
    )
    async def proof(asset_id: AssetIdPath) -> dict[str, Any]:
        """A proof bundle: chain id, contract and code hash, transaction, block number and hash,
        log index, the decoded event with its raw topics and data, the Merkle path of a batch
        leaf, and the on-chain state read at a stated block. Check it against any node with
        ``provledger verify-proof``, without this gateway."""
        number = parse_asset_id(asset_id)
        async with gateway.heavy.slot("proof"):
            return await gateway.heavy.run(gateway.proof, number)

    @router.get("/assets/{asset_id}/history", response_model=Page[EventView], tags=["history"])
    async def history(asset_id: AssetIdPath, cursor: Cursor = None, limit: Limit = None) -> Any:
        """Every event concerning the asset in chain order, with block, time and transaction."""
        return service.history(parse_asset_id(asset_id), cursor, gateway.limit(limit))

    @router.get("/assets/{asset_id}/holders", response_model=Page[HoldingView], tags=["history"])
    async def holders(asset_id: AssetIdPath, cursor: Cursor = None, limit: Limit = None) -> Any:
        """The holders of the asset over time, as block ranges."""
        return service.holders(parse_asset_id(asset_id), cursor, gateway.limit(limit))

    @router.get("/assets/{asset_id}/holder", response_model=HolderAtView, tags=["history"])
    async def holder_at(
        asset_id: AssetIdPath,
        block: Annotated[int | None, Digits, Query(ge=0, le=INT64_MAX, examples=[120])] = None,
        time: Annotated[
            int | None, Digits, Query(ge=0, le=INT64_MAX, examples=[1767225600])
        ] = None,
    ) -> HolderAtView:
        """Who held the asset at the end of a block, or at a unix time (give one of them)."""
        return service.holder_at(parse_asset_id(asset_id), block=block, timestamp=time)

    @router.get("/assets/{asset_id}/lineage", response_model=LineageView, tags=["lineage"])
    async def lineage(
        asset_id: AssetIdPath,
        depth: Annotated[int, Digits, Query(ge=1, le=MAX_LINEAGE_DEPTH, examples=[3])] = 3,
        direction: Annotated[str, Query(pattern="^(up|down|both)$", examples=["both"])] = "both",
    ) -> LineageView:
        """Ancestors and descendants with relation kinds, to a depth, as nodes and edges."""
        return service.lineage(parse_asset_id(asset_id), depth=depth, direction=direction)

    @router.get("/assets/{asset_id}/licenses", response_model=Page[LicenseView], tags=["records"])
    async def licenses(
        asset_id: AssetIdPath,
        valid_at: Annotated[
            int | None,
            Digits,
            Query(ge=0, le=INT64_MAX, description="Only licenses valid at this unix time."),
        ] = None,
        valid_now: Annotated[
            bool, Query(description="Only licenses valid at the latest indexed block's time.")
        ] = False,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Any:
        """Licenses on the asset: all, valid at a time, or valid now."""
        when = gateway.verifier.chain_time() if valid_now and valid_at is None else valid_at
        return service.licenses(
            parse_asset_id(asset_id), valid_at=when, cursor=cursor, limit=gateway.limit(limit)
        )

    @router.get(
        "/assets/{asset_id}/appraisals", response_model=Page[AppraisalView], tags=["records"]
    )
    async def appraisals(asset_id: AssetIdPath, cursor: Cursor = None, limit: Limit = None) -> Any:
        """Appraisals of the asset; ``current`` marks the one not superseded."""
        return service.appraisals(parse_asset_id(asset_id), cursor, gateway.limit(limit))

    @router.get(
        "/assets/{asset_id}/objections", response_model=Page[ObjectionView], tags=["records"]
    )
    async def objections(asset_id: AssetIdPath, cursor: Cursor = None, limit: Limit = None) -> Any:
        """Objections lodged against the registration during public notice."""
        return service.objections(parse_asset_id(asset_id), cursor, gateway.limit(limit))

    @router.get("/assets/{asset_id}/disputes", response_model=Page[DisputeView], tags=["records"])
    async def disputes(asset_id: AssetIdPath, cursor: Cursor = None, limit: Limit = None) -> Any:
        """Disputes over the asset, with freeze and ruling."""
        return service.disputes(parse_asset_id(asset_id), cursor, gateway.limit(limit))

    @router.get(
        "/assets/{asset_id}/certificates", response_model=Page[CertificateView], tags=["records"]
    )
    async def certificates(
        asset_id: AssetIdPath, cursor: Cursor = None, limit: Limit = None
    ) -> Any:
        """Certificates issued for the asset, with their registration numbers."""
        return service.certificates(parse_asset_id(asset_id), cursor, gateway.limit(limit))

    @router.get(
        "/assets/{asset_id}/export-permits",
        response_model=list[ExportPermitView],
        tags=["records"],
    )
    async def export_permits(asset_id: AssetIdPath) -> Any:
        """Export permits for the asset: issued, used or revoked."""
        return service.export_permits(parse_asset_id(asset_id))


def _other_routes(router: APIRouter, gateway: Gateway) -> None:
    service = gateway.provenance

    @router.get("/accounts/{address}/licenses", response_model=Page[LicenseView], tags=["records"])
    async def licenses_held(
        address: Annotated[str, Path(examples=[EXAMPLE_ADDRESS])],
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Any:
        """Licenses granted to an account."""
        return service.licenses_held(
            parse_address(address, "address"), cursor, gateway.limit(limit)
        )

    @router.get("/participants", response_model=Page[ParticipantView], tags=["participants"])
    async def participants(cursor: Cursor = None, limit: Limit = None) -> Any:
        """Registered participants with their jurisdictions, by address."""
        return service.participants(cursor, gateway.limit(limit))

    @router.get("/participants/{address}", response_model=ParticipantView, tags=["participants"])
    async def participant(address: Annotated[str, Path(examples=[EXAMPLE_ADDRESS])]) -> Any:
        """One participant."""
        return service.participant(parse_address(address, "address"))

    @router.get("/batches", response_model=Page[BatchView], tags=["batches"])
    async def batches(
        submitter: Annotated[str | None, Query(examples=[EXAMPLE_ADDRESS])] = None,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Any:
        """Merkle batch anchors by root, optionally of one submitter."""
        who = None if submitter is None else parse_address(submitter, "submitter")
        return service.batches(who, cursor, gateway.limit(limit))

    @router.get("/batches/{root}", response_model=BatchView, tags=["batches"])
    async def batch(root: Annotated[str, Path(examples=[EXAMPLE_HASH])]) -> Any:
        """One batch anchor."""
        return service.batch(parse_hash(root, "root"))

    @router.get("/status", response_model=StatusView, tags=["status"])
    async def status() -> StatusView:
        """Chain and index: head, indexed block, lag, finality settings, events held."""
        return service.status()


AmountQuery = Annotated[
    str | None,
    Query(
        description="An amount in the currency's smallest unit (decimal); needs currency.",
        examples=["1000000000000000000"],
    ),
]


def _market_routes(router: APIRouter, gateway: Gateway) -> None:
    market = gateway.market

    @router.get("/market/offers", response_model=Page[OfferView], tags=["market"])
    async def open_offers(
        asset_id: Annotated[str | None, Query(examples=[EXAMPLE_ASSET])] = None,
        seller: Annotated[str | None, Query(examples=[EXAMPLE_ADDRESS])] = None,
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

    @router.get("/assets/{asset_id}/offers", response_model=Page[OfferView], tags=["market"])
    async def offers_of(asset_id: AssetIdPath, cursor: Cursor = None, limit: Limit = None) -> Any:
        """Every offer made on the asset (open, expired, cancelled, filled), by offer id."""
        return market.offers_of(parse_asset_id(asset_id), cursor, gateway.limit(limit))

    @router.get("/assets/{asset_id}/trades", response_model=Page[TradeView], tags=["market"])
    async def trades_of(asset_id: AssetIdPath, cursor: Cursor = None, limit: Limit = None) -> Any:
        """The trades of the asset (sales of it and of licenses to it), by trade id."""
        return market.trades_of(parse_asset_id(asset_id), cursor, gateway.limit(limit))

    @router.get("/accounts/{address}/trades", response_model=Page[TradeView], tags=["market"])
    async def trades_by(
        address: Annotated[str, Path(examples=[EXAMPLE_ADDRESS])],
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Any:
        """The trades in which the account sold or bought, by trade id."""
        return market.trades_by(parse_address(address, "address"), cursor, gateway.limit(limit))


def _verify_routes(router: APIRouter, gateway: Gateway) -> None:
    verifier = gateway.verifier

    @router.get("/verify", response_model=Verdict, tags=["verify"])
    async def verify_hash(
        hash: Annotated[str, Query(examples=[EXAMPLE_HASH])],
        metadata: Annotated[
            str | None,
            Query(
                max_length=65536,
                description="A metadata document's text, checked against the anchored hash.",
            ),
        ] = None,
    ) -> Verdict:
        """Verify a content hash: registered or not, by whom, since when, holder, status,
        open disputes, valid licenses, and whether a metadata document matches."""
        return verifier.verify_hash(hash, metadata=None if metadata is None else metadata.encode())

    @router.post(
        "/verify",
        response_model=Verdict,
        tags=["verify"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "The file itself (application/octet-stream), or multipart "
                "form data with a `file` part and an optional `metadata` part.",
                "content": {
                    "application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"},
                        "example": "temperature,humidity\n21.5,40\n",
                    },
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "metadata": {"type": "string", "format": "binary"},
                            },
                            "required": ["file"],
                        }
                    },
                },
            }
        },
    )
    async def verify_file(request: Request) -> Verdict:
        """Verify an uploaded file: hashed as it streams in (SHA-256), never held whole, up to
        the configured size cap (413 above it)."""
        upload = await stream_upload(request, cap=gateway.settings.upload_max_bytes)
        verdict = verifier.verify_hash(upload.sha256, metadata=upload.metadata)
        return verdict

    @router.post(
        "/verify/manifest",
        response_model=ManifestVerdict,
        tags=["verify"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "A folder manifest as `provledger hash FOLDER` writes it.",
                "content": {
                    "application/json": {
                        "schema": {"type": "object"},
                        "example": {
                            "version": 1,
                            "kind": "provledger.folder-manifest",
                            "root": EXAMPLE_HASH,
                            "files": [
                                {"path": "a.csv", "size": 3, "sha256": EXAMPLE_HASH},
                            ],
                        },
                    }
                },
            }
        },
    )
    async def verify_manifest(request: Request) -> ManifestVerdict:
        """Verify a folder through its manifest: the files must hash to the manifest's root,
        and the root is looked up as a registered dataset."""
        async with gateway.heavy.slot("verify_manifest"):
            body = await read_capped(request, gateway.settings.manifest_max_bytes, "manifest")
            return await gateway.heavy.run(verifier.verify_manifest, body)


def _service_routes(router: APIRouter, gateway: Gateway) -> None:
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
        body = {
            "ready": False,
            "indexed_block": readiness.indexed_block,
            "head_block": readiness.head_block,
            "lag_blocks": readiness.lag_blocks,
            "max_lag": readiness.max_lag,
        }
        return JSONResponse(body, status_code=503)

    @router.get("/metrics", tags=["service"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics: requests and latencies per route, and the index's position."""
        return Response(gateway.metrics.render(), media_type="text/plain; version=0.0.4")


def _no_prompt(question: str) -> str:
    raise ConfigurationError(f"the gateway cannot ask for a {question}: set the password file")


@dataclass(frozen=True)
class RelayStatus:
    """A relayed request and where its transaction stands."""

    request_id: Annotated[str, Field(examples=["9c0f3e1b2a4d5c6e7f8091a2b3c4d5e6"])]
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


RELAY_EXAMPLE: Final = {
    "format": "provledger-signed-registration/1",
    "chain_id": 31337,
    "registry": EXAMPLE_ADDRESS,
    "registrant": EXAMPLE_ADDRESS,
    "nonce": 0,
    "deadline": 1800000000,
    "signature": "0x" + "11" * 65,
    "registration": {
        "content_hash": EXAMPLE_HASH,
        "metadata_uri": "ipfs://bafy.../meta.json",
        "metadata_hash": EXAMPLE_HASH,
        "category": 101,
        "grade": 1,
        "parents": [],
    },
}


def _relay_routes(router: APIRouter, gateway: Gateway) -> None:
    relay_errors: dict[int | str, dict[str, Any]] = {
        401: problems.documented("No API key, or an unknown, wrong or revoked one."),
        409: problems.documented(
            "The idempotency key was used before, or the content hash or registrant nonce is "
            "being relayed by another request."
        ),
        429: problems.documented("Over the API key's rate or daily gas budget (Retry-After)."),
    }

    def api_key(authorization: str | None) -> ApiKey:
        relayer = gateway.relayer()
        scheme, _, token = (authorization or "").partition(" ")
        key = relayer.store.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            raise Unauthorized()
        return key

    @router.post(
        "/relay/registrations",
        status_code=202,
        response_model=RelayStatus,
        tags=["relay"],
        responses=relay_errors,
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "One signed registration document (`provledger sign` writes "
                'them), or `{"registrations": [...]}` with up to 100.',
                "content": {
                    "application/json": {"schema": {"type": "object"}, "example": RELAY_EXAMPLE}
                },
            }
        },
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
        key = await gateway.node_work.run(api_key, authorization)
        body = await read_capped(request, gateway.settings.relay_body_max_bytes, "body")
        relayer = await gateway.node_work.run(gateway.relayer)
        relayed = await gateway.node_work.run(relayer.submit, key, body, idempotency_key)
        return RelayStatus.of(relayed)

    @router.get(
        "/relay/requests/{request_id}",
        response_model=RelayStatus,
        tags=["relay"],
        responses=relay_errors,
    )
    async def relay_request(
        request_id: Annotated[
            str, Path(max_length=64, examples=["9c0f3e1b2a4d5c6e7f8091a2b3c4d5e6"])
        ],
        authorization: Annotated[str | None, Header()] = None,
    ) -> RelayStatus:
        """A relayed request made with this API key: queued, submitted, mined, confirmed or
        failed (with the decoded revert), its transaction, block and gas."""

        def look_up() -> RelayRequest | None:
            key = api_key(authorization)
            found = gateway.relayer().store.get(request_id)
            return found if found is not None and found.key_id == key.key_id else None

        found = await gateway.node_work.run(look_up)
        if found is None:
            raise UnknownRelayRequest(request_id)
        return RelayStatus.of(found)


#: Where the documentation pages' assets are served: Swagger UI and ReDoc as the pinned
#: ``fastapi-offline`` package ships them, so the pages work without any other site.
DOCS_ASSETS: Final = "/docs/static"


def _docs_routes(app: FastAPI) -> None:
    """The API's documentation: Swagger UI at ``/docs`` and ReDoc at ``/redoc``, over
    ``/openapi.json``, each with the content security policy its UI needs."""
    app.mount(
        DOCS_ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-static"
    )
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = bytes(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        ).body
    )
    swagger_policy = docs_policy(swagger).decode()
    redoc = bytes(
        get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        ).body
    )

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger, headers={"Content-Security-Policy": swagger_policy})

    @app.get("/redoc", include_in_schema=False)
    async def redoc_ui() -> HTMLResponse:
        return HTMLResponse(redoc, headers={"Content-Security-Policy": REDOC_POLICY.decode()})


_NOT_BUILT_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not ready yet · provledger</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<header class="top"><a class="brand" href="/">provledger</a></header>
<main id="main">
<h1>Not ready yet</h1>
<p>{detail}.</p>
<p>This page will answer once the indexer has read the chain.</p>
</main>
</body>
</html>
"""


async def _index_not_built(request: Request, error: Exception) -> Response:
    """The answer while the database holds no index: a page for the pages (whose routes answer
    HTML), problem+json for the API; 503 either way, in the same words."""
    route = request.scope.get("route")
    kind = getattr(route, "response_class", None)
    if isinstance(kind, type) and issubclass(kind, HTMLResponse):
        detail = str(error)
        sentence = html.escape(detail[:1].upper() + detail[1:])
        return HTMLResponse(_NOT_BUILT_PAGE.format(detail=sentence), 503)
    return problems.problem(request, 503, str(error))


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
        yield
        gateway.close()

    app = FastAPI(
        lifespan=lifespan,
        title="provledger gateway",
        summary="Provenance of registered data assets: queries, verification, proofs.",
        version="1",
        responses=problems.ERROR_RESPONSES,
        docs_url=None,  # served by _docs_routes from local assets
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        exception_handlers={IndexNotBuilt: _index_not_built},
    )
    _docs_routes(app)
    app.state.gateway = gateway
    problems.install(app)
    gateway.metrics.install(app)
    # Routes go on the app's own router: an included router is matched twice per request.
    for add_routes in (
        _service_routes,
        _asset_routes,
        _other_routes,
        _market_routes,
        _verify_routes,
        _relay_routes,
    ):
        add_routes(app.router, gateway)
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
    w3 = None if settings.rpc_url is None else rpc_chain(settings.rpc_url, check=False)
    return create_app(settings, w3=w3)
