"""A page of a hundred assets with their holder, licences and last trade is a handful of SQL
statements, however many assets the page holds: the GraphQL links are read for all the
parents of a page at once.

How statements are counted: at the database driver, below SQLAlchemy. On SQLite every
connection of the gateway's engine gets a ``sqlite3`` trace callback, which the SQLite library
calls for each statement it runs (implicit ``BEGIN`` included); on PostgreSQL every
connection's ``cursor_factory`` (psycopg 3) is a cursor class that records each ``execute`` and
``executemany``. Both are put on a connection when the pool opens it (before the engine's own
``connect`` listeners, whose pragmas and schema check would count too) and each time the pool
hands it out. The hottest reads bypass SQLAlchemy's execution path
(:class:`~provledger.store.queries.statements.DriverStatement`) but run on a cursor of the same
driver connection, so the driver sees them; the count is checked against SQLAlchemy's
``before_cursor_execute`` event, which those reads dispatch themselves, so that a read which
slipped past the engine's listeners (its statement deadline) would show as a difference.

The chain: the provenance scenario (licences, a revoked one, trades of assets and of licences)
topped up with assets registered in four ``registerMany`` transactions to exactly
:data:`ASSETS`, some licensed, some sold, one sold twice; so ``assets(first: 100)`` is every
asset, whatever ids the content hashes give. Names of the participants are in the blob folder.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, event

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from api.conftest import gateway_settings
from helpers.builders import doc, registration
from helpers.indexing import index
from helpers.scenarios import provenance_scenario
from helpers.stores import database, engine_for
from helpers.world import PARTICIPANTS, World, build_world
from provledger.api.app import create_app
from provledger.chain.connection import embedded_chain
from provledger.chain.enums import LicenseKind
from provledger.chain.events import AssetRegistered, LicenseGranted, OfferCreated
from provledger.chain.ids import asset_id_hex
from provledger.store.blobs import BlobStore
from provledger.store.documents import index_documents

#: Assets on the chain: the page of a hundred is all of them.
ASSETS: Final = 100
#: Gas of one registration of ``registerMany`` (a batch of 25 uses about 83,000 each).
GAS_PER_REGISTRATION: Final = 150_000
#: The most statements the page of a hundred assets with its links may take.
MOST_STATEMENTS: Final = 6

LINKED = """
  assetId holder
  holderParticipant { account name }
  licenses { nodes { licenseId licensee expiresAt } }
  lastTrade { tradeId price }
"""
#: The acceptance query.
HUNDRED = "{ assets(first: 100) { nodes {" + LINKED + "} } }"
#: The same links over the first ``first`` assets by registration: the scenario's assets, with
#: their licences and trades, come first, so a short page reads every link a long one does.
BY_REGISTRATION = (
    "query($first: Int!) { assets(first: $first, orderBy: REGISTERED_BLOCK) {"
    " pageInfo { hasNextPage } nodes {" + LINKED + "} } }"
)


@dataclass
class Statements:
    """The statements an engine's driver runs while :meth:`counting`, and those SQLAlchemy's
    ``before_cursor_execute`` event saw."""

    engine: Engine
    driver: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    _on: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        event.listen(self.engine, "connect", self._hook, insert=True)
        event.listen(self.engine, "checkout", self._checkout)
        event.listen(self.engine, "before_cursor_execute", self._seen)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """Count from nothing for the duration of the block; yields the driver's list."""
        self.driver.clear()
        self.events.clear()
        self._on.set()
        try:
            yield self.driver
        finally:
            self._on.clear()

    def _ran(self, sql: str) -> None:
        if self._on.is_set():
            self.driver.append(sql)

    def _seen(self, conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        if self._on.is_set():
            self.events.append(sql)

    def _hook(self, dbapi_connection: Any, _: Any) -> None:
        if self.engine.dialect.name == "sqlite":
            dbapi_connection.set_trace_callback(self._ran)
            return
        factory = dbapi_connection.cursor_factory
        if getattr(factory, "counted_by", None) is self:
            return
        counter, ran = self, self._ran

        class Counted(factory):  # type: ignore[valid-type,misc]
            counted_by = counter

            def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
                ran(str(query))
                return super().execute(query, *args, **kwargs)

            def executemany(self, query: Any, *args: Any, **kwargs: Any) -> None:
                ran(str(query))
                super().executemany(query, *args, **kwargs)

        assert issubclass(Counted, psycopg.Cursor)
        dbapi_connection.cursor_factory = Counted

    def _checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        self._hook(dbapi_connection, record)


@dataclass(frozen=True)
class Hundred:
    """The chain of a hundred assets, and what the test needs to know of it."""

    world: World
    licensed: frozenset[int]
    traded: frozenset[int]
    sold_twice: int


@dataclass(frozen=True)
class Served:
    """The hundred assets indexed, served by the app, its engine's statements counted."""

    hundred: Hundred
    client: TestClient
    app: FastAPI
    statements: Statements


def _top_up(world: World, registered: int) -> Hundred:
    """Register alice's assets up to :data:`ASSETS` (four transactions), license six of them
    (two twice, one of those licences revoked), sell three to bob at different prices, and one
    of them on to carol."""
    alice, bob, carol = world.alice, world.bob, world.carol
    wanted = ASSETS - registered
    mine: list[int] = []
    for start in range(0, wanted, 25):
        batch = [registration() for _ in range(min(25, wanted - start))]
        # the gas given: py-evm's estimate replays the transaction a score of times
        receipt = alice.registry.register_many(batch, gas=GAS_PER_REGISTRATION * len(batch))
        mine.extend(found.asset_id for found in receipt.events_of(AssetRegistered))
    assert len(mine) == wanted
    expires = world.now() + 60 * 24 * 3600
    licensed = mine[:6]
    for number, asset in enumerate(licensed):
        alice.licenses.grant(
            asset, bob.address, LicenseKind.PROCESSING_USE, expires + number, doc(f"t{number}")
        )
    for number, asset in enumerate(licensed[:2]):
        grant = alice.licenses.grant(
            asset, carol.address, LicenseKind.PRODUCT_OPERATION, expires - number, doc(f"c{number}")
        )
    alice.licenses.revoke(grant.event(LicenseGranted).license_id, doc("revoked"))
    market = world.deployment.address("DataMarket")
    sold = mine[40:43]
    for number, asset in enumerate(sold):
        alice.registry.approve(market, asset)
        listed = alice.market.list_asset(asset, 1_000 + 37 * number, expires)
        bob.market.buy(listed.event(OfferCreated).offer_id, value=1_000 + 37 * number)
    bob.registry.approve(market, sold[0])
    listed = bob.market.list_asset(sold[0], 4_321, expires)
    carol.market.buy(listed.event(OfferCreated).offer_id, value=4_321)
    return Hundred(world, frozenset(licensed), frozenset(sold), sold[0])


@pytest.fixture(scope="module")
def hundred() -> Hundred:
    """The scenario on a fresh eth-tester chain, topped up to a hundred assets."""
    world = build_world(embedded_chain())
    scenario = provenance_scenario(world)
    return _top_up(world, len(scenario))


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql")],
)
def served(
    request: pytest.FixtureRequest, hundred: Hundred, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The hundred assets indexed into SQLite or PostgreSQL (participant names known), served
    by the app in process."""
    world = hundred.world
    folder: Path = tmp_path_factory.mktemp("graphql-statements")
    with database(request.param, folder) as url:
        index(world.w3, world.deployment, url)
        blobs = BlobStore(folder / "blobs")
        names = [
            blobs.put(f"document:legal name of {name}".encode())
            for name, _ in PARTICIPANTS.values()
        ]
        index_documents(engine_for(url), blobs, names)
        world.deployment.save(folder / "deployments")
        app = create_app(gateway_settings(url, folder / "deployments"), w3=world.w3)
        statements = Statements(app.state.gateway.engine)
        with TestClient(app) as client:
            yield Served(hundred, client, app, statements)
        app.state.gateway.engine.dispose()


def _graphql(served: Served, query: str, **variables: Any) -> dict[str, Any]:
    response = served.client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def _counted(served: Served, query: str, **variables: Any) -> tuple[dict[str, Any], list[str]]:
    """The answer to ``query`` and the statements it ran, in the steady state: the same query
    has just run, so the pool's connection is open and was in use a moment ago (a new
    connection's pragmas, or the ping of one idle for a second, are not the query's)."""
    _graphql(served, query, **variables)
    with served.statements.counting() as driver:
        answer = _graphql(served, query, **variables)
    assert len(driver) == len(served.statements.events), (driver, served.statements.events)
    return answer, list(driver)


def _rest(served: Served, path: str) -> Any:
    response = served.client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_hundred_assets_with_holder_licences_and_last_trade_take_at_most_six_statements(
    served: Served,
) -> None:
    answer, ran = _counted(served, HUNDRED)
    assert len(ran) <= MOST_STATEMENTS, "\n".join(ran)
    nodes = answer["assets"]["nodes"]
    assert len(nodes) == ASSETS
    hundred = served.hundred
    shown = {int(node["assetId"], 16): node for node in nodes}
    assert len(shown) == ASSETS
    assert hundred.licensed | hundred.traded <= shown.keys()
    licensed = traded = 0
    for asset, node in shown.items():
        path = f"/assets/{asset_id_hex(asset)}"
        rest = _rest(served, path)
        assert node["holder"] == rest["holder"]
        participant = _rest(served, f"/participants/{rest['holder']}")
        assert node["holderParticipant"] == {
            "account": participant["account"],
            "name": participant["name"],
        }
        licences = _rest(served, f"{path}/licenses")
        assert licences["next_cursor"] is None
        assert node["licenses"]["nodes"] == [
            {
                "licenseId": item["license_id"],
                "licensee": item["licensee"],
                "expiresAt": item["expires_at"],
            }
            for item in licences["items"]
        ]
        trades = _rest(served, f"{path}/trades")
        assert trades["next_cursor"] is None
        last = trades["items"][-1] if trades["items"] else None
        assert node["lastTrade"] == (
            None if last is None else {"tradeId": last["trade_id"], "price": last["price"]}
        )
        licensed += bool(licences["items"])
        traded += last is not None
    # besides, the scenario's raw asset (a revoked licence) and its licensed asset (licences
    # bought) have licences; its revised, sold and licensed assets have trades
    assert (licensed, traded) == (len(hundred.licensed) + 2, len(hundred.traded) + 3)
    resold = shown[hundred.sold_twice]
    assert resold["holder"] == hundred.world.carol.address
    assert resold["holderParticipant"]["name"] == "document:legal name of carol"
    assert resold["lastTrade"]["price"] == "4321"


def test_the_statements_do_not_grow_with_the_page(served: Served) -> None:
    ten, ran_for_ten = _counted(served, BY_REGISTRATION, first=10)
    hundred, ran_for_hundred = _counted(served, BY_REGISTRATION, first=ASSETS)
    short, long = ten["assets"], hundred["assets"]
    assert (len(short["nodes"]), short["pageInfo"]["hasNextPage"]) == (10, True)
    assert (len(long["nodes"]), long["pageInfo"]["hasNextPage"]) == (ASSETS, False)
    assert short["nodes"] == long["nodes"][:10]
    # the short page reads every link the long one does (so neither skips a statement)
    assert any(node["licenses"]["nodes"] for node in short["nodes"])
    assert any(node["lastTrade"] for node in short["nodes"])
    assert len(ran_for_ten) == len(ran_for_hundred) <= MOST_STATEMENTS, (
        ran_for_ten,
        ran_for_hundred,
    )


#: One asset by its content hash with its holder and licences (the benchmark's question).
ONE = (
    "query($h: String!) { asset(contentHash: $h) { assetId holder "
    "holderParticipant { account name } licenses { nodes { licenseId licensee expiresAt } } } }"
)


def test_one_asset_with_holder_and_licences_takes_three_statements(served: Served) -> None:
    # the asset with the index's head, its holder, its licences: read at once (one parent,
    # no loader), the position taken from the asset's own read
    for asset in sorted(served.hundred.licensed)[:3]:
        path = f"/assets/{asset_id_hex(asset)}"
        rest = _rest(served, path)
        answer, ran = _counted(served, ONE, h=rest["content_hash"])
        assert len(ran) == 3, "\n".join(ran)
        licences = _rest(served, f"{path}/licenses")["items"]
        participant = _rest(served, f"/participants/{rest['holder']}")
        assert answer["asset"] == {
            "assetId": rest["asset_id"],
            "holder": rest["holder"],
            "holderParticipant": {"account": participant["account"], "name": participant["name"]},
            "licenses": {
                "nodes": [
                    {
                        "licenseId": item["license_id"],
                        "licensee": item["licensee"],
                        "expiresAt": item["expires_at"],
                    }
                    for item in licences
                ]
            },
        }
        assert licences
