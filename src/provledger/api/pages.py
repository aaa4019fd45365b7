"""Web pages served by the gateway: search, verify by drop, asset, participant and batch pages.

Pages render on the server from the same services as the API and work without JavaScript;
``static/verify.js`` adds hashing in the browser (the file never leaves the machine); the
lineage picture is an SVG whose boxes are links. URLs:

* ``/`` home: what the site is, search, recent registrations, index status;
* ``/search?q=`` an asset id, content hash, registration number, address or title words;
* ``/check`` (``?hash=``) the verify page and its verdict;
* ``/asset/{id}``, ``/participant/{address}`` (``/holder/{address}`` leads there),
  ``/batch/{root}``, ``/market``.

Names before hex: an asset is shown by its title and an account by its participant name and
jurisdiction wherever the index knows them, with the hex beside it, shortened (whole in a
``title`` attribute and on the record's own page). Every account links to its participant
page, and an authority's roles are said beside its address. Times are ISO 8601 in UTC with how
long ago they were; market amounts are in their currency's units with its symbol (ETH, or the
token's ``symbol()`` and ``decimals()`` read once through the gateway's node; a token without
them, or with no node, in its smallest units); appraisals carry their currency.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from provledger.api.params import INT64_MAX, Digits
from provledger.categories import GRADES, category_name
from provledger.chain.ids import asset_id
from provledger.chain.serialize import fixed_text
from provledger.errors import InputError
from provledger.services.market import parse_amount, parse_kind
from provledger.services.provenance import (
    LineageView,
    NotFoundError,
    PartyView,
    Provenance,
    checksum,
    parse_address,
    parse_asset_id,
    parse_hash,
    parse_title,
)
from provledger.services.verification import asset_warnings
from provledger.store.queries import AssetFilter, OfferFilter
from provledger.units import (
    NATIVE,
    Currency,
    fiat,
    format_amount,
    iso_time,
    read_currency,
    relative_time,
)

HERE: Final = Path(__file__).parent
MAX_TIMELINE: Final = 1000
LINEAGE_DEPTH: Final = 3
#: The longest search text read (and shown back in the search box).
MAX_QUERY: Final = 1000
#: The one sentence that says what the site is (the home page's lede).
ABOUT: Final = (
    "provledger is a public register of data assets: who registered a dataset, who holds it "
    "now, what it was made from and who may use it, recorded on a blockchain so that anyone "
    "can check a file against it."
)

# ------------------------------------------------------------------ words for values


@dataclass(frozen=True)
class Clock:
    """Writes the times of one page, relative to ``now``: the later of the wall clock and the
    chain's (a development chain may have been moved ahead; nothing recorded is later)."""

    now: int

    def __call__(self, timestamp: int | None) -> Markup:
        """A time as ``<time>`` in ISO 8601 and how long ago (``-`` for none)."""
        if not timestamp:
            return Markup("-")
        stamp = iso_time(timestamp)
        return Markup('<time datetime="{0}">{0}</time> <span class="ago">({1})</span>').format(
            stamp, relative_time(timestamp, self.now)
        )


def short(value: str | None) -> str:
    """A long hex value shortened for display (the full value goes in a title attribute)."""
    if not value:
        return "-"
    return value if len(value) <= 18 else f"{value[:10]}…{value[-6:]}"


def tiny(value: str) -> str:
    """A hex value shortened further, for the boxes of the lineage picture."""
    return value if len(value) <= 12 else f"{value[:6]}…{value[-4:]}"


def words(value: object) -> str:
    """An enum name in words: ``PROCESSING_USE`` -> ``processing use``."""
    return str(value).lower().replace("_", " ")


def amount(value: int | str, currency: Currency) -> Markup:
    """A market amount in ``currency``'s units with its symbol (the exact smallest units in a
    tooltip); for a token whose symbol is unknown, in its smallest units naming the token."""
    number = f"{int(value):,}"
    if currency.symbol:
        return Markup('<span class="amount" title="{} {}">{}</span>').format(
            number, currency.smallest_unit, format_amount(value, currency)
        )
    return Markup(
        '<span class="amount">{} smallest units of token <code title="{}">{}</code></span>'
    ).format(number, currency.address, short(currency.address))


class Labels:
    """The names of the accounts and the titles of the assets one page shows.

    :meth:`learn` looks many up in one query each; any other is looked up when first shown.
    """

    def __init__(
        self, service: Provenance, currencies: Callable[[str], Currency] = lambda _: NATIVE
    ) -> None:
        self._service = service
        self._currencies = currencies
        self._parties: dict[str, PartyView] = {}
        self._titles: dict[str, str | None] = {}

    def learn(self, accounts: Iterable[str | None] = (), assets: Iterable[str | None] = ()) -> None:
        """Look up the accounts and the assets (``0x`` hex ids) not known yet."""
        fresh = [key.lower() for key in accounts if key and key.lower() not in self._parties]
        if fresh:
            self._parties.update(self._service.parties(fresh))
        unknown = [key for key in dict.fromkeys(assets) if key and key not in self._titles]
        if unknown:
            found = self._service.titles(unknown)
            self._titles.update({key: found.get(key) for key in unknown})

    def party(self, account: str) -> PartyView:
        """How to name ``account``."""
        self.learn(accounts=[account])
        return self._parties[account.lower()]

    def title(self, asset: str) -> str | None:
        """The title of asset ``asset`` (``0x`` hex id), if the index knows it."""
        self.learn(assets=[asset])
        return self._titles[asset]

    def who(self, account: str | None, full: bool = False) -> Markup:
        """An account as a link to its participant page: the name, with the jurisdiction, the
        authority roles and the address beside it; or the address with its roles beside it
        (``full``: the address unshortened)."""
        if not account:
            return Markup("-")
        party = self.party(account)
        address = party.account
        link = f"/participant/{address}"
        hex_text = (
            Markup('<code class="whole">{}</code>').format(address)
            if full
            else (Markup("<code>{}</code>").format(short(address)))
        )
        beside = [part for part in (party.jurisdiction, ", ".join(party.roles)) if part]
        if party.name:
            return Markup('<a href="{}" title="{}">{}</a> <span class="sub">{}{}</span>').format(
                link, address, party.name, "".join(f"{part} · " for part in beside), hex_text
            )
        shown = Markup('<a href="{}" title="{}">{}</a>').format(link, address, hex_text)
        if beside:
            return shown + Markup(' <span class="sub">{}</span>').format(" · ".join(beside))
        return shown

    def money(self, value: int | str, currency: str) -> Markup:
        """A market amount in ``currency`` (an address: zero for the native currency)."""
        return amount(value, self._currencies(currency))

    def asset(self, asset: str) -> Markup:
        """An asset as a link to its page: the title with the shortened id beside it, or the
        shortened id (the whole id in the link's ``title``)."""
        title = self.title(asset)
        if title:
            return Markup(
                '<a href="/asset/{0}" title="{0}">{1}</a> <span class="sub"><code>{2}</code></span>'
            ).format(asset, title, short(asset))
        return Markup('<a href="/asset/{0}" title="{0}"><code>{1}</code></a>').format(
            asset, short(asset)
        )


#: The accounts an event names, and the assets (besides the one whose timeline it is in).
_ACCOUNT_ARGS: Final = (
    "registrant",
    "registrar",
    "from",
    "to",
    "licensee",
    "appraiser",
    "objector",
    "claimant",
    "arbiter",
    "recipient",
    "approver",
    "seller",
    "buyer",
    "bidder",
)


def describe(event: str, args: dict[str, Any], labels: Labels, when: Clock) -> Markup | None:
    """A timeline entry in words, or None for events another entry already tells."""
    who, say = labels.who, Markup
    match event:
        case "AssetRegistered":
            return say("Registered by {} ({}, grade {} {})").format(
                who(args["registrant"]),
                category_name(args["category"]),
                args["grade"],
                GRADES.get(args["grade"], ""),
            )
        case "RegistrationAccepted":
            return say("Accepted for review by {}; public notice until {}").format(
                who(args["registrar"]), when(args["notice_ends_at"])
            )
        case "RegistrationRejected":
            return say("Registration rejected by {}").format(who(args["registrar"]))
        case "CertificateIssued":
            return say("Certificate issued: registration no. {} ({}), by {}").format(
                args["registration_number"],
                words(args["registration_type"]),
                who(args["registrar"]),
            )
        case "MetadataUpdated":
            return say("Metadata revised (version {})").format(args.get("version", "?"))
        case "Transfer":
            if int(args["from"], 16) == 0:
                return None  # the registration's mint
            return say("Transferred from {} to {}").format(who(args["from"]), who(args["to"]))
        case "LicenseGranted":
            return say("License #{} ({}) granted to {} until {}").format(
                args["license_id"],
                words(args["kind"]),
                who(args["licensee"]),
                when(args["expires_at"]),
            )
        case "LicenseRevoked":
            return say("License #{} revoked").format(args["license_id"])
        case "AppraisalRecorded":
            return say("Appraised at {} ({} method) by {}").format(
                format_amount(args["amount"], fiat(fixed_text(args["currency"]))),
                words(args["method"]),
                who(args["appraiser"]),
            )
        case "ObjectionLodged":
            return say("Objection #{} lodged by {}").format(
                args["objection_id"], who(args["objector"])
            )
        case "ObjectionResolved":
            verdict = "upheld" if args.get("upheld") else "dismissed"
            return say("Objection #{} {} by {}").format(
                args["objection_id"], verdict, who(args["registrar"])
            )
        case "DisputeOpened":
            return say("Dispute #{} opened by {}").format(args["dispute_id"], who(args["claimant"]))
        case "DisputeFrozen":
            return say("Frozen during dispute #{} by {}").format(
                args["dispute_id"], who(args["arbiter"])
            )
        case "DisputeRuled":
            return say("Dispute #{} ruled: {} (by {})").format(
                args["dispute_id"], words(args["ruling"]), who(args["arbiter"])
            )
        case "ExportPermitIssued":
            return say("Export permit to {} ({}) until {}, by {}").format(
                who(args["recipient"]),
                fixed_text(args["destination"]),
                when(args["expires_at"]),
                who(args["approver"]),
            )
        case "ExportPermitUsed":
            return say("Export permit used: transferred abroad to {}").format(
                who(args["recipient"])
            )
        case "ExportPermitRevoked":
            return say("Export permit to {} revoked").format(who(args["recipient"]))
        case "LineageLinked":
            return say("{} {}").format(
                words(args["relation"]).capitalize(), labels.asset(args["parent_id"])
            )
        case "LeafPromoted":
            return say("Promoted from a batch anchor")
        case "OfferCreated":
            price = labels.money(args["price"], args["currency"])
            if args["kind"] == "LICENSE":
                days = int(args["license_duration"]) // 86_400
                return say("Offer #{}: {} licenses for {} days at {} each, until {}").format(
                    args["offer_id"],
                    words(args["license_kind"]),
                    days,
                    price,
                    when(args["expires_at"]),
                )
            return say("Offer #{}: for sale at {}, until {}").format(
                args["offer_id"], price, when(args["expires_at"])
            )
        case "OfferCancelled":
            return say("Offer #{} cancelled").format(args["offer_id"])
        case "BidPlaced":
            return say("Bid #{} of {} on offer #{} by {}").format(
                args["bid_id"],
                labels.money(args["amount"], args["currency"]),
                args["offer_id"],
                who(args["bidder"]),
            )
        case "TradeSettled":
            price = labels.money(args["price"], args["currency"])
            if args["kind"] == "LICENSE":
                return say("License #{} sold to {} for {} (trade #{})").format(
                    args["license_id"], who(args["buyer"]), price, args["trade_id"]
                )
            return say("Sold to {} for {} (trade #{})").format(
                who(args["buyer"]), price, args["trade_id"]
            )
        case _:
            return None


# ------------------------------------------------------------------ the lineage picture

#: The boxes: width, gaps between boxes of a row and between rows, the picture's margin.
BOX_W, BOX_GAP, ROW_GAP, PAD = 190, 16, 64, 8
#: Type sizes and line height in the boxes; the most title lines a box shows.
TITLE_SIZE, META_SIZE, LINE, MAX_LINES = 13, 11, 17, 3
#: Rows of at most this many boxes are centred; wider pictures keep every row at the left, so
#: that the asset's own box (alone in its row) stays in view on a narrow screen.
CENTRED_UP_TO: Final = 3
#: Room above a row for the arcs of links inside it.
ARC_ROOM: Final = 44
#: The relations as the arrows (from a source to what was made from it) read them, and as a
#: sentence from what was made says them ("B is derived from A").
FLOWS: Final = {
    "DERIVED_FROM": "derived into",
    "AGGREGATE_OF": "aggregated into",
    "VERSION_OF": "new version",
}
SENTENCES: Final = {
    "DERIVED_FROM": "derived from",
    "AGGREGATE_OF": "an aggregate of",
    "VERSION_OF": "a version of",
}
_NARROW_CHARS: Final = frozenset("iljI.,:;'!|")
_THIN_CHARS: Final = frozenset(" ftr()[]-/")
_WIDE_CHARS: Final = frozenset("mwMW@%")


def text_width(text: str, size: float) -> float:
    """About how wide ``text`` sets at ``size`` px in a sans-serif such as DejaVu Sans (on
    the generous side: boxes are sized from it, and SVG text does not wrap)."""
    em = 0.0
    for char in text:
        if char in _NARROW_CHARS:
            em += 0.3
        elif char in _THIN_CHARS:
            em += 0.42
        elif char in _WIDE_CHARS:
            em += 0.95
        elif ord(char) >= 0x2E80:  # CJK and beyond: full width
            em += 1.0
        elif char.isupper():
            em += 0.72
        else:
            em += 0.64
    return em * size


def wrap(text: str, width: float, size: float, most: int) -> list[str]:
    """``text`` in lines that fit ``width`` at ``size`` px, at most ``most`` of them (the last
    cut with an ellipsis if more were needed); a word too long for a line is broken."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while word:
            cut = len(word)
            while cut > 1 and text_width(word[:cut], size) > width:
                cut -= 1
            piece, word = word[:cut], word[cut:]
            candidate = f"{current} {piece}" if current else piece
            if text_width(candidate, size) <= width:
                current = candidate
            else:
                lines.append(current)
                current = piece
    if current:
        lines.append(current)
    if len(lines) > most:
        last = lines[most - 1]
        while last and text_width(last + "…", size) > width:
            last = last[:-1].rstrip()
        lines = [*lines[: most - 1], last + "…"]
    return lines


@dataclass(frozen=True)
class GraphNode:
    """A box of the lineage picture: the asset's title (or id) in lines, then status and id."""

    asset_id: str
    lines: tuple[str, ...]
    meta: str
    status: str
    label: str
    x: int
    y: int
    height: int
    root: bool


@dataclass(frozen=True)
class GraphEdge:
    """An arrow of the lineage picture, from a source to what was made from it."""

    parent: str
    child: str
    path: str
    relation: str
    label_x: int
    label_y: int
    sentence: str


@dataclass(frozen=True)
class Graph:
    """The lineage laid out in rows: sources above, the asset, what was made from it below."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    width: int
    height: int
    span: int
    """The most boxes in a row (the stylesheet keeps pictures this wide readable)."""
    summary: str


def _generations(view: LineageView) -> dict[str, int]:
    """Each asset's generation: the asset at 0, its parents at -1, its children at 1, and so
    on (the shortest way there)."""
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for edge in view.edges:
        parents.setdefault(edge.child_id, []).append(edge.parent_id)
        children.setdefault(edge.parent_id, []).append(edge.child_id)
    generation = {view.root: 0}
    for links, step in ((parents, -1), (children, 1)):
        frontier = [view.root]
        while frontier:
            following = []
            for node in frontier:
                for other in links.get(node, []):
                    if other not in generation:
                        generation[other] = generation[node] + step
                        following.append(other)
            frontier = following
    return generation


def _columns(
    view: LineageView, rows: dict[int, list[str]], width: int, centred: bool, names: dict[str, str]
) -> dict[str, int]:
    """The left edge of each box: the asset's own box centred (or at the left), then each row
    outward from it, its boxes side by side in the order and around the middle of the boxes
    they link to in the row nearer the asset (then by title), kept inside the picture."""
    linked: dict[str, list[str]] = {}
    for edge in view.edges:
        linked.setdefault(edge.child_id, []).append(edge.parent_id)
        linked.setdefault(edge.parent_id, []).append(edge.child_id)
    x = {view.root: (width - BOX_W) // 2 if centred else PAD}
    for step in (-1, 1):
        level = step
        while level in rows:
            nearer = set(rows[level - step])

            def wanted(node: str, nearer: set[str] = nearer) -> float:
                spots = [x[other] for other in linked.get(node, []) if other in nearer]
                return sum(spots) / len(spots) if spots else float(PAD)

            members = sorted(rows[level], key=lambda node: (wanted(node), names[node], node))
            rows[level] = members
            pitch = BOX_W + BOX_GAP
            used = len(members) * pitch - BOX_GAP
            middle = sum(wanted(node) for node in members) / len(members) + BOX_W / 2
            left = round(middle - used / 2)
            left = max(PAD, min(left, width - PAD - used))
            for index, node in enumerate(members):
                x[node] = left + index * pitch
            level += step
    return x


def layout(view: LineageView, titles: dict[str, str]) -> Graph:
    """The lineage picture of ``view``, its boxes titled from ``titles`` (by asset id)."""
    generation = _generations(view)
    rows: dict[int, list[str]] = {}
    for node, level in sorted(generation.items(), key=lambda item: (item[1], item[0])):
        rows.setdefault(level, []).append(node)
    statuses = {node.asset_id: words(node.status or "not indexed") for node in view.nodes}
    text: dict[str, tuple[list[str], str, str]] = {}
    for key in generation:
        status = statuses.get(key, "not indexed")
        title = titles.get(key)
        if title:
            lines = wrap(title, BOX_W - 20, TITLE_SIZE, MAX_LINES)
            text[key] = (lines, f"{status} · {tiny(key)}", title)
        else:
            text[key] = ([short(key)], status, f"untitled asset {short(key)}")
    span = max(len(members) for members in rows.values())
    width = 2 * PAD + span * BOX_W + (span - 1) * BOX_GAP
    names = {key: named for key, (_, _, named) in text.items()}
    x = _columns(view, rows, width, span <= CENTRED_UP_TO, names)
    arcs = {  # rows with a link inside them: an arc above the row needs room
        generation[edge.child_id]
        for edge in view.edges
        if edge.child_id in generation
        and generation.get(edge.parent_id) == generation[edge.child_id]
    }
    place: dict[str, tuple[int, int]] = {}  # top, height
    nodes = []
    top = PAD
    for level in sorted(rows):
        members = rows[level]
        top += ARC_ROOM if level in arcs else 0
        height = 30 + LINE * max(len(text[node][0]) for node in members)
        for node in members:
            place[node] = (top, height)
            lines, meta, named = text[node]
            root = node == view.root
            label = (
                f"{'this asset' if root else 'asset'}: {named}, {statuses.get(node, 'not indexed')}"
            )
            nodes.append(
                GraphNode(
                    node,
                    tuple(lines),
                    meta,
                    statuses.get(node, "not indexed"),
                    label,
                    x[node],
                    top,
                    height,
                    root,
                )
            )
        top += height + ROW_GAP
    # Arrows leave and enter a box at points spread along its edge, one per arrow.
    ends: dict[tuple[str, str], list[str]] = {}
    for edge in view.edges:
        ends.setdefault((edge.parent_id, "out"), []).append(edge.child_id)
        ends.setdefault((edge.child_id, "in"), []).append(edge.parent_id)

    def spot(node: str, side: str, other: str) -> int:
        others = sorted(ends[(node, side)], key=lambda key: (x.get(key, 0), key))
        return x[node] + BOX_W * (others.index(other) + 1) // (len(others) + 1)

    edges = []
    for link in view.edges:
        if link.parent_id not in place or link.child_id not in place:
            continue
        (py, ph), (cy, ch) = place[link.parent_id], place[link.child_id]
        x1 = spot(link.parent_id, "out", link.child_id)
        x2 = spot(link.child_id, "in", link.parent_id)
        if cy > py:  # downwards, the usual way
            y1, y2 = py + ph, cy - 2
            bend = (y2 - y1) // 2
            path = f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2}"
            label_x, label_y = x1, y1 + 20  # under the source, where its arrow leaves
        elif cy < py:  # a source drawn below what was made from it
            y1, y2 = py, cy + ch + 2
            bend = (y1 - y2) // 2
            path = f"M{x1},{y1} C{x1},{y1 - bend} {x2},{y2 + bend} {x2},{y2}"
            label_x, label_y = (x1 + x2) // 2, (y1 + y2) // 2
        else:  # both in one row: an arc above it
            y1 = py
            lift = ARC_ROOM - 4
            path = f"M{x1},{y1} C{x1},{y1 - lift} {x2},{y1 - lift} {x2},{y1 - 2}"
            label_x, label_y = (x1 + x2) // 2, y1 - lift + 12
        flow = FLOWS.get(link.relation, words(link.relation))
        relation = SENTENCES.get(link.relation, words(link.relation))
        sentence = f"{text[link.child_id][2]} is {relation} {text[link.parent_id][2]}"
        edges.append(
            GraphEdge(link.parent_id, link.child_id, path, flow, label_x, label_y, sentence)
        )
    summary = f"{len(generation)} assets, {len(view.edges)} links"
    return Graph(nodes, edges, width, top - ROW_GAP + PAD, span, summary)


# ------------------------------------------------------------------ the routes


def install_pages(app: FastAPI, gateway: Any) -> None:
    """Add the pages and their static files to ``app``."""
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(
        short=short, category_name=category_name, grades=GRADES, words=words
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    router = APIRouter(include_in_schema=False)
    service: Provenance = gateway.provenance
    known: dict[str, Currency] = {}

    def currency_of(address: str) -> Currency:
        """A market currency with its symbol and decimals, read from the token once. A token
        whose symbol cannot be read (no node configured, the node away, no ``symbol()``) shows
        in its smallest units, and is asked again next time."""
        key = address.lower()
        if int(key, 16) == 0:
            return NATIVE
        if key in known:
            return known[key]
        plain = Currency(checksum(key) or address, "", 0)
        if gateway.w3 is None:
            return plain
        try:
            found = read_currency(gateway.w3, plain.address)
        except Exception:  # the node is away: the smallest units for now
            return plain
        if found.symbol:
            known[key] = found
        return found

    def labelled() -> Labels:
        return Labels(service, currency_of)

    def clock() -> Clock:
        return Clock(max(int(time.time()), gateway.verifier.chain_time()))

    def page(
        request: Request,
        name: str,
        status_code: int = 200,
        labels: Labels | None = None,
        when: Clock | None = None,
        **context: Any,
    ) -> Response:
        status = service.status()
        lag = status.lag_blocks or 0
        catching_up = status.indexed_block is None or lag > gateway.settings.ready_max_lag
        when = when or clock()
        named = labels or labelled()
        return templates.TemplateResponse(
            request,
            name,
            {
                "status": status,
                "catching_up": catching_up,
                "when": when,
                "now": iso_time(when.now),
                "who": named.who,
                "asset_link": named.asset,
                "amount": named.money,
                **context,
            },
            status_code=status_code,
        )

    def missing(request: Request, what: str, detail: str) -> Response:
        return page(request, "missing.html", 404, what=what, detail=detail)

    def listed(labels: Labels, assets: Iterable[Any]) -> None:
        """Look up the titles and the people of a list of assets at once."""
        items = list(assets)
        labels.learn(
            accounts=[account for item in items for account in (item.registrant, item.holder)],
            assets=[item.asset_id for item in items],
        )

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        labels = labelled()
        recent = service.recent(10)
        listed(labels, recent)
        return page(request, "home.html", labels=labels, recent=recent, about=ABOUT)

    @router.get("/search", response_class=HTMLResponse)
    def search(request: Request, q: str = "") -> Response:
        text = q.strip()[:MAX_QUERY]
        if not text:
            return RedirectResponse("/", status_code=303)
        if re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
            return RedirectResponse(f"/participant/{text}", status_code=303)
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
            certified = service.asset_of_registration(int(text)) if fits else None
            if certified is not None:
                return RedirectResponse(f"/asset/{certified}", status_code=303)
            return missing(request, "registration", f"no registration number {text}")
        try:
            terms = parse_title(text)
        except InputError as error:
            return page(request, "search.html", 400, query=text, results=[], error=str(error))
        results = service.assets(AssetFilter(title_words=terms), None, 100).items
        labels = labelled()
        listed(labels, results)
        return page(request, "search.html", labels=labels, query=text, results=results, error=None)

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
        lineage = service.lineage(number, depth=LINEAGE_DEPTH, direction="both")
        holders = service.holders(number, None, 1000).items
        offers = gateway.market.offers_of(number, None, 100).items
        trades = gateway.market.trades_of(number, None, 1000).items
        appraisals = service.appraisals(number, None, 100).items
        labels = labelled()
        labels.learn(
            accounts=[
                asset.registrant,
                asset.holder,
                *(period.holder for period in holders),
                *(item.licensee for item in standing.valid_licenses),
                *(offer.seller for offer in offers),
                *(party for trade in trades for party in (trade.seller, trade.buyer)),
                *(item.appraiser for item in appraisals),
                *(
                    str(event.args[name])
                    for event in history
                    for name in _ACCOUNT_ARGS
                    if isinstance(event.args.get(name), str)
                ),
            ],
            assets=[
                asset.asset_id,
                *(node.asset_id for node in lineage.nodes),
                *(str(event.args["parent_id"]) for event in history if "parent_id" in event.args),
            ],
        )
        when = clock()
        timeline = []
        for event in history:
            told = describe(event.event, event.args, labels, when)
            if told is not None:
                timeline.append((event, told))
        titles = {
            node.asset_id: title
            for node in lineage.nodes
            if (title := labels.title(node.asset_id)) is not None
        }
        current = [item for item in appraisals if item.current]
        return page(
            request,
            "asset.html",
            labels=labels,
            when=when,
            asset=asset,
            title=labels.title(asset.asset_id),
            standing=standing,
            timeline=timeline,
            lineage=lineage,
            graph=layout(lineage, titles),
            holders=holders,
            certificates=service.certificates(number, None, 100).items,
            valuation=current[-1] if current else None,
            valuation_text=(
                format_amount(current[-1].amount, fiat(current[-1].currency)) if current else None
            ),
            offers=offers,
            trades=trades,
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
        labels = labelled()
        labels.learn(
            accounts=[offer.seller for offer in offers],
            assets=[offer.asset_id for offer in offers],
        )
        stats = gateway.market.statistics()
        return page(
            request, "market.html", labels=labels, form=form, offers=offers, stats=stats, error=None
        )

    @router.get("/participant/{address}", response_class=HTMLResponse)
    def participant_page(request: Request, address: str) -> Response:
        try:
            key = parse_address(address, "address")
        except InputError as error:
            return missing(request, "participant", str(error))
        record = None
        with suppress(NotFoundError):  # an account that is not a participant: said on the page
            record = service.participant(key)
        held = service.assets(AssetFilter(holder=key), None, 1000).items
        registered = service.assets(AssetFilter(registrant=key), None, 1000).items
        licensed = service.licenses_held(key, None, 1000).items
        labels = labelled()
        listed(labels, [*held, *registered])
        labels.learn(
            accounts=[item.licensor for item in licensed],
            assets=[item.asset_id for item in licensed],
        )
        return page(
            request,
            "participant.html",
            labels=labels,
            address=checksum(key),
            party=labels.party(key),
            participant=record,
            held=held,
            registered=registered,
            licensed=licensed,
        )

    @router.get("/holder/{address}", response_class=HTMLResponse)
    def holder_page(request: Request, address: str) -> Response:
        """The former holder page: its account's participant page now."""
        try:
            key = parse_address(address, "address")
        except InputError as error:
            return missing(request, "holder", str(error))
        return RedirectResponse(f"/participant/{checksum(key)}", status_code=301)

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
