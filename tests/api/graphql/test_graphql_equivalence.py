"""Every REST read of the index has a GraphQL equivalent whose answer is equal, record by record.

Both faces are driven over the scenario chain of :mod:`api.conftest` (the real indexer's index,
on SQLite and on PostgreSQL): each REST list is read page by page, the GraphQL query that asks
the same question is read page by page (``first``/``after``), the GraphQL answer is put in REST
form by one function (:func:`rest_form`) and the two are compared record by record, every field.
Page sizes are small on both sides so that every list runs over several pages and cursors.

The routes compared (every GET route of the gateway that reads the index):

* ``/assets`` (no filter, ``holder``, ``registrant``, ``category``, ``grade``, ``status``,
  ``title``, several at once), ``/assets/recent``, ``/assets/by-hash/{hash}``,
  ``/assets/{id}`` (hex and decimal ids);
* ``/assets/{id}/history``, ``/holders``, ``/holder`` (``block`` and ``time``), ``/lineage``
  (``depth``, ``direction``), ``/licenses`` (all, ``valid_at``, ``valid_now``),
  ``/appraisals``, ``/objections``, ``/disputes``, ``/certificates``, ``/export-permits``,
  ``/offers``, ``/trades``;
* ``/accounts/{address}/licenses``, ``/accounts/{address}/trades``;
* ``/participants``, ``/participants/{address}``, ``/batches`` (and ``submitter``),
  ``/batches/{root}``;
* ``/market/offers`` (no filter, ``asset_id``, ``seller``, ``currency``, ``kind``,
  ``min_price``/``max_price``), ``/market/offers/{id}``, ``/market/offers/{id}/bids``;
* ``/status``;
* ``/market/stats``, ``/assets/{id}/access-batches``, ``/assets/{id}/disclosure``.

Out of scope (not reads of the index): ``/verify`` (a verdict computed over the chain),
``/relay/…`` (relaying), ``/data/…`` (the data room), ``/subscriptions…`` and ``/stream``
(notifications), ``/assets/{id}/proof`` (proofs read from the node), ``/assets/{id}/presentation``
and ``/access-manifests/{sha256}`` (documents from the blob folder, byte for byte),
``/checkpoints…`` (checkpoints), ``/rpc`` (the JSON-RPC face), ``/metrics``, ``/health`` and
``/ready`` (the service), the HTML pages and the docs. :func:`test_every_read_route_is_compared`
keeps these two lists equal to the app's GET routes.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterator, Sequence
from itertools import zip_longest
from typing import Any, Final

import pytest
from fastapi.routing import APIRoute

from api.conftest import Indexed
from provledger.chain.enums import AssetStatus
from provledger.chain.ids import asset_id_hex
from provledger.services.market import BidView, OfferView, TradeView
from provledger.services.views import (
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
    ParticipantView,
    StatusView,
)

#: The page size of both faces: small, so that every list runs over several pages.
PAGE: Final = 2
#: The scenario's assets (:func:`api.conftest.scenario`).
LABELS: Final = (
    "raw",
    "derived",
    "revised",
    "promoted",
    "objected",
    "sold",
    "licensed",
    "listed",
    "file",
)
NATIVE: Final = "0x0000000000000000000000000000000000000000"
#: An asset id the scenario never registered.
MISSING_ASSET: Final = asset_id_hex(0xDEAD)


# ------------------------------------------------------------------ the two faces


def rest(indexed: Indexed, path: str, **params: Any) -> Any:
    """The JSON of a REST read that must succeed."""
    response = indexed.client.get(path, params=params)
    assert response.status_code == 200, (path, params, response.text)
    return response.json()


def rest_problem(indexed: Indexed, path: str, status: int, **params: Any) -> dict[str, Any]:
    """The problem document of a REST read that must fail with ``status``."""
    response = indexed.client.get(path, params=params)
    assert response.status_code == status, (path, params, response.text)
    problem: dict[str, Any] = response.json()
    return problem


def rest_pages(indexed: Indexed, path: str, **params: Any) -> list[Any]:
    """Every item of a REST list, :data:`PAGE` at a time."""
    items: list[Any] = []
    cursor = None
    while True:
        extra: dict[str, str] = {} if cursor is None else {"cursor": cursor}
        page = rest(indexed, path, limit=PAGE, **extra, **params)
        assert len(page["items"]) <= PAGE
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def graphql_body(indexed: Indexed, query: str, **variables: Any) -> tuple[int, dict[str, Any]]:
    """The HTTP status and the body of a GraphQL request."""
    response = indexed.client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    return response.status_code, body


def graphql(indexed: Indexed, query: str, **variables: Any) -> dict[str, Any]:
    """The ``data`` of a GraphQL request that must succeed."""
    status, body = graphql_body(indexed, query, **variables)
    assert status == 200, (query, variables, body)
    assert "errors" not in body, (query, variables, body)
    data: dict[str, Any] = body["data"]
    return data


def graphql_pages(
    indexed: Indexed, query: str, path: Sequence[str], **variables: Any
) -> list[dict[str, Any]]:
    """Every node of the connection at ``path`` in ``query`` (which takes ``$first`` and
    ``$after`` and selects :func:`page_of`), page by page, in REST form. Each page's cursors
    and total count are checked on the way."""
    nodes: list[dict[str, Any]] = []
    after = None
    total = None
    while True:
        found: Any = graphql(indexed, query, first=PAGE, after=after, **variables)
        for key in path:
            found = found[key]
        assert found is not None, (path, variables)
        page = found["nodes"]
        assert len(page) <= PAGE
        assert [edge["node"] for edge in found["edges"]] == page
        cursors = [edge["cursor"] for edge in found["edges"]]
        assert found["pageInfo"]["endCursor"] == (cursors[-1] if cursors else None)
        assert total in (None, found["totalCount"]), "the total changed from page to page"
        total = found["totalCount"]
        nodes += page
        if not found["pageInfo"]["hasNextPage"]:
            assert total == len(nodes), (path, variables)
            return [rest_form(node) for node in nodes]
        assert len(page) == PAGE
        after = found["pageInfo"]["endCursor"]


def rest_form(value: Any, key: str = "") -> Any:
    """A GraphQL answer as REST says it: keys in snake_case, ``finality`` in lower case; the
    ``args`` of an event (JSON) as they are."""
    if isinstance(value, dict):
        return {
            _snake(name): item if name == "args" else rest_form(item, name)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [rest_form(item, key) for item in value]
    if key == "finality" and isinstance(value, str):
        return value.lower()
    return value


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _camel(name: str) -> str:
    head, *rest_ = name.split("_")
    return head + "".join(part.title() for part in rest_)


# ------------------------------------------------------------------ selections


def _nested_view(hint: Any) -> type | None:
    """The dataclass a field's type holds (alone, optional or in a list), if any."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _nested_view(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType, list, tuple):
        for part in typing.get_args(hint):
            found = _nested_view(part)
            if found is not None:
                return found
        return None
    return hint if isinstance(hint, type) and dataclasses.is_dataclass(hint) else None


def fields_of(view: type) -> str:
    """A selection of every field of a REST view, nested views included."""
    hints = typing.get_type_hints(view, include_extras=True)
    chosen = []
    for item in dataclasses.fields(view):
        nested = _nested_view(hints[item.name])
        name = _camel(item.name)
        chosen.append(name if nested is None else f"{name} {{ {fields_of(nested)} }}")
    return " ".join(chosen)


def page_of(view: type) -> str:
    """The selection of a connection of ``view``: its nodes, edges, page info and count."""
    node = fields_of(view)
    return (
        f"{{ nodes {{ {node} }} edges {{ cursor node {{ {node} }} }} "
        "pageInfo { hasNextPage endCursor } totalCount }"
    )


#: The arguments every paged query passes to its connection.
PAGED: Final = "first: $first, after: $after"


def root_list(field: str, kind: str, view: type) -> str:
    """The query of the root list ``field`` of ``kind`` records, filtered by ``$where``, a page
    (``$first``, ``$after``) at a time."""
    return (
        f"query($where: {kind}Where, $first: Int!, $after: String) "
        f"{{ {field}(where: $where, {PAGED}) {page_of(view)} }}"
    )


def assert_same(expected: Sequence[Any], got: Sequence[Any], what: object) -> None:
    """``got`` (GraphQL, in REST form) is ``expected`` (REST), record by record."""
    for index, (want, have) in enumerate(zip_longest(expected, got)):
        assert have == want, f"{what}: record {index} differs"


# ------------------------------------------------------------------ who and what


def accounts(indexed: Indexed) -> dict[str, str]:
    """The scenario's accounts by name: the five participants, a stranger and the admin."""
    world = indexed.world
    people = (world.alice, world.bob, world.carol, world.dave, world.erin, world.stranger)
    names = ("alice", "bob", "carol", "dave", "erin", "stranger")
    found: dict[str, str] = {name: who.address for name, who in zip(names, people, strict=True)}
    found["admin"] = world.admin.address
    return found


def chain_time(indexed: Indexed) -> int:
    """The time of the latest indexed block, the clock REST judges "now" by: the block from
    GraphQL's ``status``, its time from the node (``Status`` does not say it)."""
    block = graphql(indexed, "{ status { indexedBlock } }")["status"]["indexedBlock"]
    return int(indexed.world.w3.eth.get_block(block)["timestamp"])


# ------------------------------------------------------------------ assets


ASSETS_QUERY: Final = root_list("assets", "Asset", AssetView)


LICENSES_QUERY: Final = root_list("licenses", "License", LicenseView)


def asset_filters(indexed: Indexed, name: str) -> Iterator[tuple[dict[str, Any], Any]]:
    """(REST query parameters, GraphQL ``where``) pairs asking for the same assets."""
    people = accounts(indexed).values()
    match name:
        case "none":
            yield {}, None
        case "holder" | "registrant":
            for address in people:
                yield {name: address}, {name: {"eq": address}}
                yield {name: address.lower()}, {name: {"eq": address.lower()}}
        case "category":
            for category in sorted(
                {a["category"] for a in rest_pages(indexed, "/assets")} | {9999}
            ):
                yield {"category": category}, {"category": {"eq": category}}
        case "grade":
            for grade in range(4):
                yield {"grade": grade}, {"grade": {"eq": grade}}
        case "status":
            for status in AssetStatus:
                if status != AssetStatus.NONE:
                    yield {"status": status.name}, {"status": {"eq": status.name}}
        case "title":
            for words in ("air quality", "RAW, huangpu", "Huangpu", "quality nowhere", "42"):
                yield {"title": words}, {"title": {"contains": words}}
        case "several":
            world = indexed.world
            yield (
                {"holder": world.alice.address, "category": 201, "grade": 1},
                {
                    "holder": {"eq": world.alice.address},
                    "category": {"eq": 201},
                    "grade": {"eq": 1},
                },
            )
            yield (
                {"registrant": world.alice.address, "status": "CERTIFIED", "title": "air"},
                {
                    "registrant": {"eq": world.alice.address},
                    "status": {"eq": "CERTIFIED"},
                    "title": {"contains": "air"},
                },
            )
            yield (
                {"holder": world.dave.address, "grade": 2},
                {"holder": {"eq": world.dave.address}, "grade": {"eq": 2}},
            )


@pytest.mark.parametrize(
    "name", ["none", "holder", "registrant", "category", "grade", "status", "title", "several"]
)
def test_assets_by_filter(indexed: Indexed, name: str) -> None:
    """``GET /assets?…`` is ``assets(where: …)``, in asset id order."""
    compared = 0
    for params, where in asset_filters(indexed, name):
        expected = rest_pages(indexed, "/assets", **params)
        got = graphql_pages(indexed, ASSETS_QUERY, ["assets"], where=where)
        assert_same(expected, got, params)
        compared += len(expected)
    assert compared > 0, "the scenario must give this filter something to find"


@pytest.mark.parametrize("limit", [None, 1, 3, 100])
def test_recent_assets(indexed: Indexed, limit: int | None) -> None:
    """``GET /assets/recent?limit=n`` is ``assets(orderBy: REGISTERED_BLOCK, orderDirection:
    DESC, first: n)`` (REST's default is 10)."""
    expected = rest(indexed, "/assets/recent", **({} if limit is None else {"limit": limit}))
    query = (
        "query($first: Int!) { assets(orderBy: REGISTERED_BLOCK, orderDirection: DESC, "
        f"first: $first) {{ nodes {{ {fields_of(AssetView)} }} }} }}"
    )
    got = graphql(indexed, query, first=10 if limit is None else limit)["assets"]["nodes"]
    assert len(expected) == min(len(LABELS), 10 if limit is None else limit)
    assert_same(expected, rest_form(got), ("recent", limit))


ASSET_QUERY: Final = f"query($id: String!) {{ asset(id: $id) {{ {fields_of(AssetView)} }} }}"


@pytest.mark.parametrize("label", LABELS)
def test_asset_by_id(indexed: Indexed, label: str) -> None:
    """``GET /assets/{id}`` is ``asset(id:)``, the id in hex or in decimal alike."""
    asset = indexed.assets[label]
    for form in (asset_id_hex(asset), str(asset)):
        expected = rest(indexed, f"/assets/{form}")
        got = graphql(indexed, ASSET_QUERY, id=form)["asset"]
        assert rest_form(got) == expected, form


def test_an_asset_never_registered(indexed: Indexed) -> None:
    """An asset the index does not hold: REST's 404 is GraphQL's null, by id and by hash."""
    rest_problem(indexed, f"/assets/{MISSING_ASSET}", 404)
    assert graphql(indexed, ASSET_QUERY, id=MISSING_ASSET) == {"asset": None}
    missing_hash = "0x" + "00" * 32
    rest_problem(indexed, f"/assets/by-hash/{missing_hash}", 404)
    query = "query($hash: String!) { asset(contentHash: $hash) { assetId } }"
    assert graphql(indexed, query, hash=missing_hash) == {"asset": None}


@pytest.mark.parametrize("label", LABELS)
def test_asset_by_content_hash(indexed: Indexed, label: str) -> None:
    """``GET /assets/by-hash/{hash}`` is ``asset(contentHash:)``."""
    content_hash = rest(indexed, f"/assets/{asset_id_hex(indexed.assets[label])}")["content_hash"]
    expected = rest(indexed, f"/assets/by-hash/{content_hash}")
    query = f"query($hash: String!) {{ asset(contentHash: $hash) {{ {fields_of(AssetView)} }} }}"
    assert rest_form(graphql(indexed, query, hash=content_hash)["asset"]) == expected


# ------------------------------------------------------------------ an asset's lists


@dataclasses.dataclass(frozen=True)
class AssetList:
    """One list of an asset's records: on REST a path segment under ``/assets/{id}``; on
    GraphQL a field of ``Asset`` and, where its kind has ``assetId``, the root list filtered by
    it."""

    link: str
    view: type
    root: str | None = None
    kind: str = ""
    paged: bool = True
    """Whether REST answers it a page at a time (else a plain list)."""


ASSET_LISTS: Final = {
    "history": AssetList("history", EventView),
    "holders": AssetList("holdings", HoldingView),
    "licenses": AssetList("licenses", LicenseView, "licenses", "License"),
    "appraisals": AssetList("appraisals", AppraisalView, "appraisals", "Appraisal"),
    "objections": AssetList("objections", ObjectionView, "objections", "Objection"),
    "disputes": AssetList("disputes", DisputeView, "disputes", "Dispute"),
    "certificates": AssetList("certificates", CertificateView, "certificates", "Certificate"),
    "export-permits": AssetList(
        "exportPermits", ExportPermitView, "exportPermits", "ExportPermit", paged=False
    ),
    "offers": AssetList("offers", OfferView, "offers", "Offer"),
    "trades": AssetList("trades", TradeView, "trades", "Trade"),
}


@pytest.mark.parametrize(
    ("segment", "label"),
    [
        pytest.param(segment, label, id=f"{segment}-{label}")
        for segment in ASSET_LISTS
        for label in LABELS
    ],
)
def test_an_assets_list(indexed: Indexed, segment: str, label: str) -> None:
    """``GET /assets/{id}/<segment>`` is the asset's link field (``asset(id:) { licenses }``)
    and the root list filtered by ``assetId`` where the kind has it."""
    listed = ASSET_LISTS[segment]
    key = asset_id_hex(indexed.assets[label])
    path = f"/assets/{key}/{segment}"
    expected = rest_pages(indexed, path) if listed.paged else rest(indexed, path)
    linked = (
        "query($id: String!, $first: Int!, $after: String) "
        f"{{ asset(id: $id) {{ {listed.link}({PAGED}) {page_of(listed.view)} }} }}"
    )
    assert_same(expected, graphql_pages(indexed, linked, ["asset", listed.link], id=key), path)
    if listed.root is not None:
        rooted = root_list(listed.root, listed.kind, listed.view)
        where = {"assetId": {"eq": key}}
        assert_same(expected, graphql_pages(indexed, rooted, [listed.root], where=where), path)


def test_the_scenario_fills_every_list(indexed: Indexed) -> None:
    """Each list of an asset compared above holds records for some asset of the scenario (so
    that no comparison is of empty lists alone)."""
    for segment, listed in ASSET_LISTS.items():
        sizes = []
        for label in LABELS:
            path = f"/assets/{asset_id_hex(indexed.assets[label])}/{segment}"
            sizes.append(len(rest_pages(indexed, path) if listed.paged else rest(indexed, path)))
        assert max(sizes) > 0, segment


@pytest.mark.parametrize("label", LABELS)
def test_licenses_valid_at(indexed: Indexed, label: str) -> None:
    """``GET /assets/{id}/licenses?valid_at=t`` is ``licenses(where: {assetId, grantedAt <= t,
    expiresAt > t, or: [revokedAt is null, revokedAt > t]})``, at each edge of every license of
    the asset and at the chain's time; ``valid_now`` is ``valid_at`` at the chain's time."""
    key = asset_id_hex(indexed.assets[label])
    path = f"/assets/{key}/licenses"
    licenses = rest_pages(indexed, path)
    now = chain_time(indexed)
    moments = {now}
    for item in licenses:
        for moment in (item["granted_at"], item["expires_at"], item["revoked_at"]):
            if moment is not None:
                moments |= {moment - 1, moment, moment + 1}
    valid = 0
    for moment in sorted(moments):
        expected = rest_pages(indexed, path, valid_at=moment)
        where = {
            "assetId": {"eq": key},
            "grantedAt": {"lte": moment},
            "expiresAt": {"gt": moment},
            "or": [{"revokedAt": {"isNull": True}}, {"revokedAt": {"gt": moment}}],
        }
        got = graphql_pages(indexed, LICENSES_QUERY, ["licenses"], where=where)
        assert_same(expected, got, (label, moment))
        valid += len(expected)
    assert valid > 0 or not licenses, "some license of the asset must be valid at some edge"
    assert rest_pages(indexed, path, valid_now="true") == rest_pages(indexed, path, valid_at=now)


# ------------------------------------------------------------------ holders at a moment, lineage


def graphql_refusal(indexed: Indexed, query: str, **variables: Any) -> str:
    """The message of the one error a GraphQL request must answer (no 5xx, no data)."""
    status, body = graphql_body(indexed, query, **variables)
    assert status < 500, body
    assert body.get("data") is None, body
    (error,) = body["errors"]
    message: str = error["message"]
    return message


def holder_at_query(key: str, *, block: int | None = None, time: int | None = None) -> str:
    moment = f"block: {block}" if block is not None else f"timestamp: {time}"
    return f'{{ holderAt(assetId: "{key}", {moment}) {{ {fields_of(HolderAtView)} }} }}'


@pytest.mark.parametrize("label", LABELS)
def test_holder_at_a_block_or_a_time(indexed: Indexed, label: str) -> None:
    """``GET /assets/{id}/holder?block=b`` (``time=t``) is ``holderAt(assetId:, block: b)``
    (``timestamp: t``), at each edge of every holding period; where REST answers 404 GraphQL
    answers an error with the same message."""
    key = asset_id_hex(indexed.assets[label])
    periods = rest_pages(indexed, f"/assets/{key}/holders")
    blocks: set[int] = set()
    times: set[int] = set()
    for period in periods:
        for block in (period["from_block"], period["to_block"]):
            if block is not None:
                blocks |= {block - 1, block, block + 1}
        for moment in (period["from_time"], period["to_time"]):
            if moment is not None:
                times |= {moment - 1, moment, moment + 1}
    found = 0
    for params, query in [
        *(({"block": b}, holder_at_query(key, block=b)) for b in sorted(blocks)),
        *(({"time": t}, holder_at_query(key, time=t)) for t in sorted(times)),
    ]:
        response = indexed.client.get(f"/assets/{key}/holder", params=params)
        if response.status_code == 404:
            assert graphql_refusal(indexed, query) == response.json()["detail"], params
            continue
        assert response.status_code == 200, response.text
        assert rest_form(graphql(indexed, query)["holderAt"]) == response.json(), params
        found += 1
    assert found >= 2 * len(periods)


def test_holder_at_a_time_past_2038(indexed: Indexed) -> None:
    """``GET /assets/{id}/holder?time=2147483648`` (any unix time up to 2^63 - 1) is
    ``holderAt(timestamp: 2147483648)``."""
    key = asset_id_hex(indexed.assets["raw"])
    expected = rest(indexed, f"/assets/{key}/holder", time=2**31)
    got = graphql(indexed, holder_at_query(key, time=2**31))["holderAt"]
    assert rest_form(got) == expected


@pytest.mark.parametrize("label", LABELS)
def test_lineage(indexed: Indexed, label: str) -> None:
    """``GET /assets/{id}/lineage?depth=d&direction=x`` is ``lineage(assetId:, depth: d,
    direction: x)``, and the asset's own ``lineage`` field."""
    key = asset_id_hex(indexed.assets[label])
    view = fields_of(LineageView)
    for depth in (1, 2, 3, 32):
        for direction in ("up", "down", "both"):
            expected = rest(indexed, f"/assets/{key}/lineage", depth=depth, direction=direction)
            arguments = f'depth: {depth}, direction: "{direction}"'
            root = f'{{ lineage(assetId: "{key}", {arguments}) {{ {view} }} }}'
            linked = f'{{ asset(id: "{key}") {{ lineage({arguments}) {{ {view} }} }} }}'
            assert rest_form(graphql(indexed, root)["lineage"]) == expected, (depth, direction)
            got = graphql(indexed, linked)["asset"]["lineage"]
            assert rest_form(got) == expected, (depth, direction)


# ------------------------------------------------------------------ accounts, participants, batches


def test_licenses_held_by_an_account(indexed: Indexed) -> None:
    """``GET /accounts/{address}/licenses`` is ``licenses(where: {licensee})``, and the
    participant's ``licensesHeld``."""
    participants = {item["account"] for item in rest_pages(indexed, "/participants")}
    linked = (
        "query($account: String!, $first: Int!, $after: String) "
        f"{{ participant(account: $account) {{ licensesHeld({PAGED}) {page_of(LicenseView)} }} }}"
    )
    compared = 0
    for address in accounts(indexed).values():
        expected = rest_pages(indexed, f"/accounts/{address}/licenses")
        where = {"licensee": {"eq": address}}
        assert_same(
            expected, graphql_pages(indexed, LICENSES_QUERY, ["licenses"], where=where), address
        )
        if address in participants:
            got = graphql_pages(indexed, linked, ["participant", "licensesHeld"], account=address)
            assert_same(expected, got, address)
        compared += len(expected)
    assert compared > 0


def test_trades_of_an_account(indexed: Indexed) -> None:
    """``GET /accounts/{address}/trades`` is ``trades(where: {or: [{seller}, {buyer}]})``."""
    query = root_list("trades", "Trade", TradeView)
    compared = 0
    for address in accounts(indexed).values():
        expected = rest_pages(indexed, f"/accounts/{address}/trades")
        where = {"or": [{"seller": {"eq": address}}, {"buyer": {"eq": address}}]}
        assert_same(expected, graphql_pages(indexed, query, ["trades"], where=where), address)
        compared += len(expected)
    assert compared > 0


def test_participants(indexed: Indexed) -> None:
    """``GET /participants`` is ``participants``; ``GET /participants/{address}`` is
    ``participant(account:)``, REST's 404 GraphQL's null."""
    query = (
        "query($first: Int!, $after: String) "
        f"{{ participants({PAGED}) {page_of(ParticipantView)} }}"
    )
    expected = rest_pages(indexed, "/participants")
    assert len(expected) == 5
    assert_same(expected, graphql_pages(indexed, query, ["participants"]), "/participants")
    one = (
        "query($account: String!) "
        f"{{ participant(account: $account) {{ {fields_of(ParticipantView)} }} }}"
    )
    for name, address in accounts(indexed).items():
        got = graphql(indexed, one, account=address)["participant"]
        if name in ("stranger", "admin"):
            rest_problem(indexed, f"/participants/{address}", 404)
            assert got is None, name
        else:
            assert rest_form(got) == rest(indexed, f"/participants/{address}"), name


def test_batches(indexed: Indexed) -> None:
    """``GET /batches`` (``?submitter=``) is ``batches(where: {submitter})``; ``GET
    /batches/{root}`` is ``batch(root:)``, REST's 404 GraphQL's null."""
    query = root_list("batches", "Batch", BatchView)
    every = rest_pages(indexed, "/batches")
    assert every
    assert_same(every, graphql_pages(indexed, query, ["batches"], where=None), "/batches")
    for address in accounts(indexed).values():
        expected = rest_pages(indexed, "/batches", submitter=address)
        where = {"submitter": {"eq": address}}
        assert_same(expected, graphql_pages(indexed, query, ["batches"], where=where), address)
    one = f"query($root: String!) {{ batch(root: $root) {{ {fields_of(BatchView)} }} }}"
    for item in every:
        assert rest_form(graphql(indexed, one, root=item["root"])["batch"]) == rest(
            indexed, f"/batches/{item['root']}"
        )
    rest_problem(indexed, "/batches/0x" + "11" * 32, 404)
    assert graphql(indexed, one, root="0x" + "11" * 32) == {"batch": None}


def test_status(indexed: Indexed) -> None:
    """``GET /status`` is ``status``."""
    got = graphql(indexed, f"{{ status {{ {fields_of(StatusView)} }} }}")["status"]
    assert rest_form(got) == rest(indexed, "/status")


# ------------------------------------------------------------------ the market


#: Filters of ``GET /market/offers``: (REST parameter, which value) of each case.
OPEN_OFFER_CASES: Final = (
    ("none", ""),
    *(("asset_id", label) for label in LABELS),
    *(("seller", name) for name in ("alice", "bob", "carol", "dave", "erin", "stranger")),
    ("currency", "native"),
    ("currency", "bob"),
    ("kind", "asset"),
    ("kind", "LICENSE"),
    ("price", "300-300"),
    ("price", "301-"),
    ("price", "-1999"),
    ("price", "2001-"),
)


def open_offer_filter(indexed: Indexed, name: str, value: str) -> tuple[dict[str, Any], Any]:
    """(REST query parameters, GraphQL ``where``) of a case of :data:`OPEN_OFFER_CASES`."""
    people = accounts(indexed)
    match name:
        case "asset_id":
            key = asset_id_hex(indexed.assets[value])
            return {"asset_id": key}, {"assetId": {"eq": key}}
        case "seller":
            return {"seller": people[value]}, {"seller": {"eq": people[value]}}
        case "currency":
            address = NATIVE if value == "native" else people[value]
            return {"currency": address}, {"currency": {"eq": address}}
        case "kind":
            return {"kind": value}, {"kind": {"eq": value.upper()}}
        case "price":
            low, high = value.split("-")
            params: dict[str, Any] = {"currency": NATIVE}
            where: dict[str, Any] = {"currency": {"eq": NATIVE}, "price": {}}
            if low:
                params["min_price"] = low
                where["price"]["gte"] = low
            if high:
                params["max_price"] = high
                where["price"]["lte"] = high
            return params, where
    return {}, {}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param(name, value, id=f"{name}-{value}" if value else name)
        for name, value in OPEN_OFFER_CASES
    ],
)
def test_open_offers(indexed: Indexed, name: str, value: str) -> None:
    """``GET /market/offers?…`` (open: not cancelled, filled or expired, and able to fill) is
    ``offers(where: {status: {eq: "OPEN"}, …})``."""
    params, where = open_offer_filter(indexed, name, value)
    expected = rest_pages(indexed, "/market/offers", **params)
    query = root_list("offers", "Offer", OfferView)
    where = {**where, "status": {"eq": "OPEN"}}
    assert_same(expected, graphql_pages(indexed, query, ["offers"], where=where), params)


@pytest.mark.parametrize(
    "status",
    [
        "OPEN",
        "UNAVAILABLE",
        "EXPIRED",
        "CANCELLED",
        "FILLED",
    ],
)
def test_an_offer_status_filter_finds_the_offers_whose_status_reads_so(
    indexed: Indexed, status: str
) -> None:
    """``offers(where: {status: {eq: s}})`` lists exactly the offers whose ``status`` is s (the
    filter and the field tell one status)."""
    every = graphql_pages(
        indexed,
        f"query($first: Int!, $after: String) {{ offers({PAGED}) {page_of(OfferView)} }}",
        ["offers"],
    )
    assert len(every) == 6
    query = root_list("offers", "Offer", OfferView)
    got = graphql_pages(indexed, query, ["offers"], where={"status": {"eq": status}})
    assert got == [offer for offer in every if offer["status"] == status]


OFFER_QUERY: Final = f"query($id: Long!) {{ offer(id: $id) {{ {fields_of(OfferView)} }} }}"


def test_offers_by_id_and_their_bids(indexed: Indexed) -> None:
    """``GET /market/offers/{id}`` is ``offer(id:)`` (REST's 404 GraphQL's null); ``GET
    /market/offers/{id}/bids`` is the offer's ``bids`` and ``bids(where: {offerId})``."""
    linked = (
        "query($id: Long!, $first: Int!, $after: String) "
        f"{{ offer(id: $id) {{ bids({PAGED}) {page_of(BidView)} }} }}"
    )
    rooted = root_list("bids", "Bid", BidView)
    bids = 0
    for offer_id in range(1, 7):
        expected = rest(indexed, f"/market/offers/{offer_id}")
        assert rest_form(graphql(indexed, OFFER_QUERY, id=offer_id)["offer"]) == expected
        listed = rest_pages(indexed, f"/market/offers/{offer_id}/bids")
        assert_same(
            listed, graphql_pages(indexed, linked, ["offer", "bids"], id=offer_id), offer_id
        )
        where = {"offerId": {"eq": offer_id}}
        assert_same(listed, graphql_pages(indexed, rooted, ["bids"], where=where), offer_id)
        bids += len(listed)
    assert bids == 2
    rest_problem(indexed, "/market/offers/99", 404)
    rest_problem(indexed, "/market/offers/99/bids", 404)
    assert graphql(indexed, OFFER_QUERY, id=99) == {"offer": None}


# ------------------------------------------------------------------ the other reads


def test_market_statistics(indexed: Indexed) -> None:
    """``GET /market/stats`` is ``marketStats``."""
    expected = rest(indexed, "/market/stats")
    assert expected
    query = (
        "{ marketStats { category categoryName grade currency trades volume lastPrice "
        "lastTradeId } }"
    )
    assert rest_form(graphql(indexed, query)["marketStats"]) == expected


def test_access_batches(indexed: Indexed) -> None:
    """``GET /assets/{id}/access-batches`` is the asset's ``accessBatches``."""
    from provledger.services.delivery.accesslog import AccessBatchView

    key = asset_id_hex(indexed.assets["file"])
    expected = rest_pages(indexed, f"/assets/{key}/access-batches")
    query = (
        "query($id: String!, $first: Int!, $after: String) "
        f"{{ asset(id: $id) {{ accessBatches({PAGED}) {page_of(AccessBatchView)} }} }}"
    )
    assert_same(expected, graphql_pages(indexed, query, ["asset", "accessBatches"], id=key), key)


def test_disclosure(indexed: Indexed) -> None:
    """``GET /assets/{id}/disclosure`` is the asset's ``disclosure`` (null where REST
    answers 404: the scenario discloses nothing)."""
    key = asset_id_hex(indexed.assets["file"])
    rest_problem(indexed, f"/assets/{key}/disclosure", 404)
    got = graphql(indexed, f'{{ asset(id: "{key}") {{ disclosure {{ assetId }} }} }}')
    assert got == {"asset": {"disclosure": None}}


# ------------------------------------------------------------------ refusals


def assets_cursor(indexed: Indexed) -> str:
    """The cursor of the first asset of ``assets`` (by asset id)."""
    page = graphql(indexed, "{ assets(first: 1) { pageInfo { endCursor } } }")["assets"]
    cursor: str = page["pageInfo"]["endCursor"]
    assert cursor
    return cursor


def test_a_cursor_of_another_list_is_refused(indexed: Indexed) -> None:
    """An ``after`` cursor of the assets passed to licenses, at the root and through a link,
    is a GraphQL error naming ``after``, not a 5xx."""
    raw = asset_id_hex(indexed.assets["raw"])
    for query, data in (
        ("query($after: String) { licenses(after: $after) { totalCount } }", {"licenses": None}),
        (
            "query($after: String) "
            f'{{ asset(id: "{raw}") {{ licenses(after: $after) {{ totalCount }} }} }}',
            {"asset": None},
        ),
    ):
        status, body = graphql_body(indexed, query, after=assets_cursor(indexed))
        assert status < 500, body
        (error,) = body["errors"]
        assert error["message"] == "after: a cursor of another list", body
        assert body["data"] == data, body


def test_a_cursor_of_another_order_is_refused(indexed: Indexed) -> None:
    """An ``after`` cursor of the assets by id passed to the assets by category is a GraphQL
    error naming ``after``, not a 5xx."""
    query = "query($after: String) { assets(orderBy: CATEGORY, after: $after) { totalCount } }"
    status, body = graphql_body(indexed, query, after=assets_cursor(indexed))
    assert status < 500, body
    (error,) = body["errors"]
    assert error["message"] == "after: a cursor of another list", body


def test_an_unknown_field_is_refused(indexed: Indexed) -> None:
    """A field the schema does not have is a GraphQL error naming it, before anything runs."""
    for query, field, on in (
        ("{ assets { nodes { assetId nosuch } } }", "nosuch", "Asset"),
        ("{ nosuch }", "nosuch", "Query"),
        ("{ status { chainId headblock } }", "headblock", "Status"),
    ):
        message = graphql_refusal(indexed, query)
        assert message.startswith(f"Cannot query field '{field}' on type '{on}'."), message
    message = graphql_refusal(indexed, "{ assets(where: {nosuch: {eq: 1}}) { totalCount } }")
    assert "nosuch" in message, message
    assert "AssetWhere" in message, message


# ------------------------------------------------------------------ the routes


#: The GET routes compared above.
COMPARED: Final = frozenset(
    {
        "/assets",
        "/assets/recent",
        "/market/stats",
        "/assets/{asset_id}/access-batches",
        "/assets/{asset_id}/disclosure",
        "/assets/by-hash/{content_hash}",
        "/assets/{asset_id}",
        "/assets/{asset_id}/holder",
        "/assets/{asset_id}/lineage",
        *(f"/assets/{{asset_id}}/{segment}" for segment in ASSET_LISTS),
        "/accounts/{address}/licenses",
        "/accounts/{address}/trades",
        "/participants",
        "/participants/{address}",
        "/batches",
        "/batches/{root}",
        "/market/offers",
        "/market/offers/{offer_id}",
        "/market/offers/{offer_id}/bids",
        "/status",
    }
)
#: The GET routes that do not read the index (see the module's docstring).
OUT_OF_SCOPE: Final = frozenset(
    {
        "/verify",
        "/relay/requests/{request_id}",
        "/subscriptions",
        "/subscriptions/{subscription_id}",
        "/stream",
        "/assets/{asset_id}/proof",
        "/assets/{asset_id}/presentation",
        "/access-manifests/{sha256}",
        "/data/{asset_id}",
        "/data/{asset_id}/status",
        "/data/{asset_id}/files",
        "/data/{asset_id}/files/{path:path}",
        "/data/{asset_id}/metadata",
        "/data/{asset_id}/log",
        "/data/receipts/{record_id}",
        "/checkpoints",
        "/checkpoints/{sequence}",
        "/checkpoints/{sequence}/cosignatures",
        "/health",
        "/ready",
        "/metrics",
    }
)


def test_every_read_route_is_compared(indexed: Indexed) -> None:
    """Every GET route of the app's API is compared, a known gap, or out of scope."""
    served = {
        route.path
        for route in indexed.app.routes
        if isinstance(route, APIRoute)
        and "GET" in (route.methods or ())
        and route.include_in_schema
    }
    assert served - COMPARED - OUT_OF_SCOPE == set()
    assert served >= COMPARED
