"""Web pages served by the gateway: search, verify by drop, asset, holder and batch pages.

Pages render on the server from the same services as the API and work without JavaScript;
``static/verify.js`` adds hashing in the browser (the file never leaves the machine); the
lineage picture is an SVG whose nodes are links. URLs:

* ``/`` home: search, recent registrations, index status;
* ``/search?q=`` an asset id, content hash, registration number, holder address or title words;
* ``/check`` (``?hash=``) the verify page and its verdict;
* ``/asset/{id}``, ``/holder/{address}``, ``/batch/{root}``.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from provledger.api.params import INT64_MAX, Digits
from provledger.categories import category_name
from provledger.chain.ids import asset_id
from provledger.errors import InputError
from provledger.services.market import format_amount, parse_amount, parse_kind
from provledger.services.provenance import (
    LineageView,
    NotFoundError,
    parse_address,
    parse_asset_id,
    parse_hash,
    parse_title,
)
from provledger.services.verification import asset_warnings
from provledger.store.queries import AssetFilter, OfferFilter

HERE: Final = Path(__file__).parent
MAX_TIMELINE: Final = 1000
LINEAGE_DEPTH: Final = 3
GRADES: Final = {1: "general", 2: "important", 3: "core"}
#: The longest search text read (and shown back in the search box).
MAX_QUERY: Final = 1000


def when(timestamp: int | None) -> str:
    """A unix time as UTC text."""
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def short(value: str | None) -> str:
    """A long hex value shortened for display (the full value goes in a title attribute)."""
    if not value:
        return "-"
    return value if len(value) <= 18 else f"{value[:10]}…{value[-6:]}"


def describe(event: str, args: dict[str, Any]) -> str | None:
    """A timeline entry in words, or None for events another entry already tells."""
    match event:
        case "AssetRegistered":
            return (
                f"Registered by {args['registrant']} ({category_name(args['category'])}, "
                f"grade {args['grade']} {GRADES.get(args['grade'], '')})"
            )
        case "RegistrationAccepted":
            return f"Accepted for review; public notice until {when(args['notice_ends_at'])}"
        case "RegistrationRejected":
            return "Registration rejected by the registrar"
        case "CertificateIssued":
            return f"Certificate issued: registration no. {args['registration_number']}"
        case "MetadataUpdated":
            return f"Metadata revised (version {args.get('version', '?')})"
        case "Transfer":
            if int(args["from"], 16) == 0:
                return None  # the registration's mint
            return f"Transferred from {args['from']} to {args['to']}"
        case "LicenseGranted":
            return (
                f"License #{args['license_id']} ({args['kind'].lower().replace('_', ' ')}) "
                f"granted to {args['licensee']} until {when(args['expires_at'])}"
            )
        case "LicenseRevoked":
            return f"License #{args['license_id']} revoked"
        case "AppraisalRecorded":
            return f"Appraised at {int(args['amount']) / 100:,.2f} ({args['method'].lower()})"
        case "ObjectionLodged":
            return f"Objection #{args['objection_id']} lodged by {args['objector']}"
        case "ObjectionResolved":
            return f"Objection #{args['objection_id']} resolved"
        case "DisputeOpened":
            return f"Dispute #{args['dispute_id']} opened by {args['claimant']}"
        case "DisputeFrozen":
            return f"Frozen during dispute #{args['dispute_id']}"
        case "DisputeRuled":
            ruling = str(args["ruling"]).lower().replace("_", " ")
            return f"Dispute #{args['dispute_id']} ruled: {ruling}"
        case "ExportPermitIssued":
            return f"Export permit to {args['recipient']} until {when(args['expires_at'])}"
        case "ExportPermitUsed":
            return f"Export permit used: transferred abroad to {args['recipient']}"
        case "ExportPermitRevoked":
            return f"Export permit to {args['recipient']} revoked"
        case "LineageLinked":
            relation = str(args["relation"]).lower().replace("_", " ")
            return f"Linked as {relation} {args['parent_id']}"
        case "LeafPromoted":
            return "Promoted from a batch anchor"
        case "OfferCreated":
            price = format_amount(args["price"], args["currency"])
            if args["kind"] == "LICENSE":
                kind = str(args["license_kind"]).lower().replace("_", " ")
                days = int(args["license_duration"]) // 86_400
                return (
                    f"Offer #{args['offer_id']}: {kind} licenses for {days} days at {price} each, "
                    f"until {when(args['expires_at'])}"
                )
            return (
                f"Offer #{args['offer_id']}: for sale at {price}, until {when(args['expires_at'])}"
            )
        case "OfferCancelled":
            return f"Offer #{args['offer_id']} cancelled"
        case "BidPlaced":
            return (
                f"Bid #{args['bid_id']} of {format_amount(args['amount'], args['currency'])} "
                f"on offer #{args['offer_id']} by {args['bidder']}"
            )
        case "TradeSettled":
            price = format_amount(args["price"], args["currency"])
            if args["kind"] == "LICENSE":
                return (
                    f"License #{args['license_id']} sold to {args['buyer']} for {price} "
                    f"(trade #{args['trade_id']})"
                )
            return f"Sold to {args['buyer']} for {price} (trade #{args['trade_id']})"
        case _:
            return None


@dataclass(frozen=True)
class GraphNode:
    """A node of the lineage picture."""

    asset_id: str
    label: str
    status: str
    x: int
    y: int
    root: bool


@dataclass(frozen=True)
class GraphEdge:
    """An edge of the lineage picture, from parent to child."""

    x1: int
    y1: int
    x2: int
    y2: int
    relation: str


@dataclass(frozen=True)
class Graph:
    """The lineage laid out in columns: ancestors left, the asset, descendants right."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    width: int
    height: int


NODE_W, NODE_H, COL_GAP, ROW_GAP, PAD = 190, 44, 90, 26, 20


def layout(view: LineageView) -> Graph:
    """Place each node in the column of its generation (parents of the root at -1...)."""
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for edge in view.edges:
        parents.setdefault(edge.child_id, []).append(edge.parent_id)
        children.setdefault(edge.parent_id, []).append(edge.child_id)
    column = {view.root: 0}
    for links, step in ((parents, -1), (children, 1)):
        frontier = [view.root]
        while frontier:
            following = []
            for node in frontier:
                for other in links.get(node, []):
                    if other not in column:
                        column[other] = column[node] + step
                        following.append(other)
            frontier = following
    low = min(column.values())
    rows: dict[int, list[str]] = {}
    for node in sorted(column, key=lambda key: (column[key], key)):
        rows.setdefault(column[node], []).append(node)
    tallest = max(len(items) for items in rows.values())
    height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP
    place: dict[str, tuple[int, int]] = {}
    for col, items in rows.items():
        span = len(items) * NODE_H + (len(items) - 1) * ROW_GAP
        top = (height - span) // 2
        for index, node in enumerate(items):
            place[node] = (PAD + (col - low) * (NODE_W + COL_GAP), top + index * (NODE_H + ROW_GAP))
    statuses = {node.asset_id: (node.status or "not indexed") for node in view.nodes}
    nodes = [
        GraphNode(key, short(key), statuses.get(key, "not indexed").lower(), x, y, key == view.root)
        for key, (x, y) in place.items()
    ]
    edges = []
    for edge in view.edges:
        if edge.parent_id in place and edge.child_id in place:
            (px, py), (cx, cy) = place[edge.parent_id], place[edge.child_id]
            edges.append(
                GraphEdge(
                    px + NODE_W,
                    py + NODE_H // 2,
                    cx,
                    cy + NODE_H // 2,
                    edge.relation.lower().replace("_", " "),
                )
            )
    columns = max(column.values()) - low + 1
    width = PAD * 2 + columns * NODE_W + (columns - 1) * COL_GAP
    return Graph(nodes, edges, width, height)


def install_pages(app: FastAPI, gateway: Any) -> None:
    """Add the pages and their static files to ``app``."""
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(
        when=when, short=short, category_name=category_name, amount=format_amount
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    router = APIRouter(include_in_schema=False)
    service = gateway.provenance

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        status = service.status()
        lag = status.lag_blocks or 0
        catching_up = status.indexed_block is None or lag > gateway.settings.ready_max_lag
        return templates.TemplateResponse(
            request,
            name,
            {"status": status, "catching_up": catching_up, **context},
            status_code=status_code,
        )

    def missing(request: Request, what: str, detail: str) -> Response:
        return page(request, "missing.html", 404, what=what, detail=detail)

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        return page(request, "home.html", recent=service.recent(10))

    @router.get("/search", response_class=HTMLResponse)
    def search(request: Request, q: str = "") -> Response:
        text = q.strip()[:MAX_QUERY]
        if not text:
            return RedirectResponse("/", status_code=303)
        if re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
            return RedirectResponse(f"/holder/{text}", status_code=303)
        if re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", text):
            key = parse_hash(text, "q")
            for candidate in (int(key, 16), asset_id(bytes.fromhex(key[2:]))):  # id, content
                try:
                    found = service.asset(candidate)
                except NotFoundError:
                    continue
                return RedirectResponse(f"/asset/{found.asset_id}", status_code=303)
            return RedirectResponse(f"/check?hash={key}", status_code=303)
        if text.isascii() and text.isdigit():  # a registration number (a 64-bit column)
            fits = len(text) <= len(str(INT64_MAX)) and int(text) <= INT64_MAX
            found = service.asset_of_registration(int(text)) if fits else None
            if found is not None:
                return RedirectResponse(f"/asset/{found}", status_code=303)
            return missing(request, "registration", f"no registration number {text}")
        try:
            words = parse_title(text)
        except InputError as error:
            return page(request, "search.html", 400, query=text, results=[], error=str(error))
        results = service.assets(AssetFilter(title_words=words), None, 100).items
        return page(request, "search.html", query=text, results=results, error=None)

    @router.get("/check", response_class=HTMLResponse)
    def check(
        request: Request,
        hash: str = "",
        batch: str = "",
        files: Annotated[int, Digits, Query(ge=0, le=INT64_MAX)] = 0,
    ) -> Response:
        blank: dict[str, Any] = {"verdict": None, "batch": None, "batch_query": "", "files": files}
        if not hash:
            return page(request, "check.html", **blank, error=None, query="")
        try:
            verdict = gateway.verifier.verify_hash(hash)
            anchored = None
            if batch:
                with suppress(NotFoundError):  # not anchored as a batch: said on the page
                    anchored = service.batch(parse_hash(batch, "batch"))
        except InputError as error:
            return page(request, "check.html", 400, **blank, error=str(error), query=hash)
        return page(
            request,
            "check.html",
            verdict=verdict,
            batch=anchored,
            batch_query=batch,
            files=files,
            error=None,
            query=hash,
        )

    @router.get("/asset/{asset_id}", response_class=HTMLResponse)
    def asset_page(request: Request, asset_id: str) -> Response:
        try:
            number = parse_asset_id(asset_id)
            asset = service.asset(number)
        except (InputError, NotFoundError) as error:
            return missing(request, "asset", str(error))
        standing = service.standing(number)
        history = service.history(number, None, MAX_TIMELINE).items
        timeline = []
        for event in history:
            text = describe(event.event, event.args)
            if text is not None:
                timeline.append((event, text))
        lineage = service.lineage(number, depth=LINEAGE_DEPTH, direction="both")
        return page(
            request,
            "asset.html",
            asset=asset,
            title=service.title(asset.metadata_hash),
            standing=standing,
            timeline=timeline,
            lineage=lineage,
            graph=layout(lineage),
            holders=service.holders(number, None, 1000).items,
            certificates=service.certificates(number, None, 100).items,
            offers=gateway.market.offers_of(number, None, 100).items,
            trades=gateway.market.trades_of(number, None, 1000).items,
            standing_warnings=asset_warnings(asset, standing.open_disputes),
            proof_available=gateway.w3 is not None,
        )

    @router.get("/market", response_class=HTMLResponse)
    def market_page(
        request: Request,
        currency: str = "",
        kind: str = "",
        min_price: str = "",
        max_price: str = "",
        seller: str = "",
    ) -> Response:
        form = {
            "currency": currency.strip(),
            "kind": kind.strip().lower(),
            "min_price": min_price.strip(),
            "max_price": max_price.strip(),
            "seller": seller.strip(),
        }
        try:
            where = OfferFilter(
                currency=parse_address(form["currency"], "currency") if form["currency"] else None,
                kind=parse_kind(form["kind"] or None),
                min_price=parse_amount(form["min_price"] or None, "min_price"),
                max_price=parse_amount(form["max_price"] or None, "max_price"),
                seller=parse_address(form["seller"], "seller") if form["seller"] else None,
            )
            offers = gateway.market.open_offers(where, None, MAX_TIMELINE).items
        except InputError as error:
            return page(
                request, "market.html", 400, form=form, offers=[], stats=[], error=str(error)
            )
        stats = gateway.market.statistics()
        return page(request, "market.html", form=form, offers=offers, stats=stats, error=None)

    @router.get("/holder/{address}", response_class=HTMLResponse)
    def holder_page(request: Request, address: str) -> Response:
        try:
            key = parse_address(address, "address")
        except InputError as error:
            return missing(request, "holder", str(error))
        return page(
            request,
            "holder.html",
            address=key,
            held=service.assets(AssetFilter(holder=key), None, 1000).items,
            registered=service.assets(AssetFilter(registrant=key), None, 1000).items,
            licensed=service.licenses_held(key, None, 1000).items,
        )

    @router.get("/batch/{root}", response_class=HTMLResponse)
    def batch_page(request: Request, root: str, leaf: str = "") -> Response:
        try:
            batch = service.batch(parse_hash(root, "root"))
        except (InputError, NotFoundError) as error:
            return missing(request, "batch", str(error))
        verdict, refusal = None, None
        if leaf:
            try:
                verdict = gateway.verifier.verify_hash(leaf)
            except InputError as problem:
                refusal = str(problem)
        return page(request, "batch.html", batch=batch, leaf=leaf, verdict=verdict, error=refusal)

    app.router.routes.extend(router.routes)
