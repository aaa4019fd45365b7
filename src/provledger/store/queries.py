"""Read queries over the index. Every SQL statement the readers run lives here.

Lists are keyset-paginated: a caller passes the key of the last row it saw (``after``) and a
limit, and gets the rows that follow in key order. Rows come back as SQLAlchemy
``RowMapping`` (as plain dicts from the hot-path reads of :class:`DriverStatement`); turning
them into answers is the services' work.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    RowMapping,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)

from provledger.store import schema


class DriverStatement:
    """A read on the gateway's hottest paths, run on the driver's own cursor.

    SQLAlchemy's execution path (compiled-cache lookup, parameter processing, the result
    proxy) costs about three times what SQLite spends on a lookup by key. A read of a few rows
    through an index needs none of it: the statement is compiled once per driver, and the only
    type processing its columns need is SQLite's 0/1 booleans. The engine's cursor listeners
    still run before it (the SQLite statement deadline) and driver errors are handled as
    SQLAlchemy handles them (a cancelled statement becomes QueryTimeoutError).
    """

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        columns = list(statement.selected_columns)
        self.names = tuple(str(column.key) for column in columns)
        self.booleans = tuple(
            number for number, column in enumerate(columns) if isinstance(column.type, Boolean)
        )
        self._compiled: dict[tuple[str, str], tuple[str, Sequence[str] | None, dict[str, Any]]] = {}

    def _sql(self, conn: Connection) -> tuple[str, Sequence[str] | None, dict[str, Any]]:
        """The SQL text, the order of its positional parameters (None: named) and the values
        of the parameters the statement binds itself (literals such as the 1 of ``x + 1``)."""
        dialect = conn.dialect
        found = self._compiled.get((dialect.name, dialect.driver))
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            own = {key: bind.value for key, bind in compiled.binds.items() if not bind.required}
            found = (compiled.string, compiled.positiontup, own)
            self._compiled[(dialect.name, dialect.driver)] = found
        return found

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row, as a dict by column name."""
        sql, order, own = self._sql(conn)
        bound = {**own, **params}
        args = bound if order is None else [bound[name] for name in order]
        cursor = conn.connection.cursor()
        try:
            conn.dispatch.before_cursor_execute(conn, cursor, sql, args, None, False)
            cursor.execute(sql, args)
            found = cursor.fetchall()
        except conn.dialect.loaded_dbapi.Error as error:
            # SQLAlchemy's own handling: the engine's handle_error listeners and its wrapping
            conn._handle_dbapi_exception(error, sql, args, cursor, None)
        finally:
            with contextlib.suppress(conn.dialect.loaded_dbapi.Error):  # a lost connection
                cursor.close()
        names, booleans = self.names, self.booleans
        if not booleans:
            return [dict(zip(names, row, strict=True)) for row in found]
        rows = []
        for row in found:
            values = list(row)
            for number in booleans:
                if values[number] is not None:
                    values[number] = bool(values[number])
            rows.append(dict(zip(names, values, strict=True)))
        return rows

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row, or None."""
        rows = self.rows(conn, params)
        return rows[0] if rows else None


def _page(
    query: Select[Any], key: Sequence[Column[Any]], after: Sequence[Any] | None, limit: int
) -> Select[Any]:
    """``query`` ordered by ``key``, starting after the key ``after``, at most ``limit`` rows
    (:func:`_keyset` with the values bound)."""
    return _keyset(query, key, after is not None).params(_keyset_params(after, limit))


def _page_by(query: Select[Any], column: Column[Any], after: Any | None, limit: int) -> Select[Any]:
    """:func:`_page` for a key of one column."""
    return _page(query, [column], None if after is None else [after], limit)


def _all(conn: Connection, query: Select[Any]) -> list[RowMapping]:
    return list(conn.execute(query).mappings())


# The hottest reads (verification, history) use statements built once per shape, with bound
# parameters: building a statement costs more than executing it from the compiled cache.


def _keyset(query: Select[Any], key: Sequence[Column[Any]], paged: bool) -> Select[Any]:
    """``query`` ordered by ``key``, after the key in parameters ``after_0``… (when ``paged``),
    at most ``limit`` (a parameter) rows."""
    if paged:
        after: list[Any] = [bindparam(f"after_{number}") for number in range(len(key))]
        query = query.where(tuple_(*key) > tuple_(*after))
    return query.order_by(*key).limit(bindparam("limit", type_=Integer))


def _keyset_params(after: Sequence[Any] | None, limit: int, **params: Any) -> dict[str, Any]:
    params["limit"] = limit
    for number, value in enumerate(after or ()):
        params[f"after_{number}"] = value
    return params


# ------------------------------------------------------------------ index status


@dataclass(frozen=True)
class IndexPosition:
    """Where the index stands: the last indexed block and the head the indexer last saw."""

    indexed_block: int
    indexed_hash: str
    head_block: int
    updated_at: int


_CHECKPOINT: Final = DriverStatement(select(schema.checkpoint))


def index_position(conn: Connection) -> IndexPosition | None:
    """The checkpoint, or None before the first batch."""
    row = _CHECKPOINT.first(conn, {})
    if row is None:
        return None
    return IndexPosition(
        int(row["block_number"]), str(row["block_hash"]), int(row["head_block"]), row["updated_at"]
    )


_BLOCK_TIME: Final = select(schema.blocks.c.timestamp).where(
    schema.blocks.c.block_number == bindparam("block")
)
_LATEST_EVENT_TIME: Final = (
    select(schema.events.c.block_time).order_by(schema.events.c.block_number.desc()).limit(1)
)


def indexed_time(conn: Connection, position: IndexPosition | None) -> int:
    """The timestamp of the last indexed block at ``position`` (0 before the first batch)."""
    if position is None:
        return 0
    stamp = conn.execute(_BLOCK_TIME, {"block": position.indexed_block}).scalar()
    if stamp is None:  # the window was not stored (a bulk load): the last event's block time
        stamp = conn.execute(_LATEST_EVENT_TIME).scalar()
    return int(stamp or 0)


def index_meta(conn: Connection) -> dict[str, str]:
    """The ``meta`` table: schema version, chain id, deployment."""
    return {str(key): str(value) for key, value in conn.execute(select(schema.meta)).all()}


def event_count(conn: Connection) -> int:
    """How many events the index holds."""
    return int(conn.execute(select(func.count()).select_from(schema.events)).scalar_one())


# ------------------------------------------------------------------ assets


@dataclass(frozen=True)
class AssetFilter:
    """Equality filters of an asset list; None means any."""

    holder: str | None = None
    registrant: str | None = None
    category: int | None = None
    grade: int | None = None
    status: str | None = None
    title_words: tuple[str, ...] = ()
    """Words the title of the asset's current metadata document must all hold."""


# Statements of the hottest lookups, built once (building costs more than the cached compile).
_ASSET_BY_ID: Final = DriverStatement(
    select(schema.assets).where(schema.assets.c.asset_id == bindparam("key"))
)
_ASSET_AT_HEAD: Final = DriverStatement(
    select(
        schema.assets,
        select(schema.checkpoint.c.head_block).scalar_subquery().label("index_head"),
    ).where(schema.assets.c.asset_id == bindparam("key"))
)


def get_asset(conn: Connection, asset_id: str) -> Mapping[str, Any] | None:
    """The asset row of ``asset_id`` (0x + 64 hex digits)."""
    return _ASSET_BY_ID.first(conn, {"key": asset_id})


def get_asset_at_head(conn: Connection, asset_id: str) -> Mapping[str, Any] | None:
    """The asset row of ``asset_id`` with ``index_head``, the chain head the index last saw
    (None before the first batch), in one statement: the lookup's finality needs it."""
    return _ASSET_AT_HEAD.first(conn, {"key": asset_id})


def get_assets(conn: Connection, asset_ids: Sequence[str]) -> dict[str, RowMapping]:
    """The asset rows of ``asset_ids`` that exist, by id."""
    found: dict[str, RowMapping] = {}
    for start in range(0, len(asset_ids), 500):
        chunk = list(asset_ids[start : start + 500])
        for row in conn.execute(_ASSETS_BY_IDS, {"keys": chunk}).mappings():
            found[str(row["asset_id"])] = row
    return found


_ASSETS_BY_IDS: Final = select(schema.assets).where(
    schema.assets.c.asset_id.in_(bindparam("keys", expanding=True))
)


def list_assets(
    conn: Connection, where: AssetFilter, after: str | None, limit: int
) -> list[RowMapping]:
    """Assets matching ``where`` in asset id order, after the id ``after``."""
    assets = schema.assets
    query = select(assets)
    for column, value in (
        (assets.c.holder, where.holder),
        (assets.c.registrant, where.registrant),
        (assets.c.category, where.category),
        (assets.c.grade, where.grade),
        (assets.c.status, where.status),
    ):
        if value is not None:
            query = query.where(column == value)
    words = schema.title_words
    for word in where.title_words:
        titled = select(words.c.metadata_hash).where(words.c.word == word)
        query = query.where(assets.c.metadata_hash.in_(titled))
    return _all(conn, _page_by(query, assets.c.asset_id, after, limit))


def asset_of_registration(conn: Connection, registration_number: int) -> str | None:
    """The asset certified under ``registration_number``, if any."""
    certificates = schema.certificates
    query = select(certificates.c.asset_id).where(
        certificates.c.registration_number == registration_number
    )
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def metadata_title(conn: Connection, metadata_hash: str) -> str | None:
    """The title of the metadata document ``metadata_hash``, if the blob folder had it."""
    titles = schema.metadata_titles
    found = conn.execute(
        select(titles.c.title).where(titles.c.metadata_hash == metadata_hash)
    ).scalar()
    return None if found is None else str(found)


def asset_titles(conn: Connection, asset_ids: Sequence[str]) -> dict[str, str]:
    """The titles of the current metadata documents of ``asset_ids``, by asset id, for those
    whose document the blob folder had."""
    found: dict[str, str] = {}
    for start in range(0, len(asset_ids), 500):
        chunk = list(asset_ids[start : start + 500])
        for asset, title in conn.execute(_TITLES_BY_IDS, {"keys": chunk}):
            found[str(asset)] = str(title)
    return found


_TITLES_BY_IDS: Final = (
    select(schema.assets.c.asset_id, schema.metadata_titles.c.title)
    .select_from(
        schema.assets.join(
            schema.metadata_titles,
            schema.metadata_titles.c.metadata_hash == schema.assets.c.metadata_hash,
        )
    )
    .where(schema.assets.c.asset_id.in_(bindparam("keys", expanding=True)))
)


def recent_assets(conn: Connection, limit: int) -> list[RowMapping]:
    """The latest registrations, newest first."""
    assets = schema.assets
    query = select(assets).order_by(assets.c.registered_block.desc(), assets.c.asset_id.desc())
    return _all(conn, query.limit(limit))


# ------------------------------------------------------------------ history and holders


def asset_events(
    conn: Connection, asset_id: str, after: Sequence[int] | None, limit: int
) -> list[RowMapping]:
    """The events concerning ``asset_id`` in chain order, after (block, log index)."""
    statement = _asset_events_statement(after is not None)
    rows = conn.execute(statement, _keyset_params(after, limit, asset_id=asset_id))
    return list(rows.mappings())


@functools.cache
def _asset_events_statement(paged: bool) -> Select[Any]:
    events = schema.events
    query = select(events).where(events.c.asset_id == bindparam("asset_id"))
    return _keyset(query, [events.c.block_number, events.c.log_index], paged)


def holdings_of(
    conn: Connection, asset_id: str, after: Sequence[int] | None, limit: int
) -> list[RowMapping]:
    """The holder periods of ``asset_id`` in chain order."""
    holdings = schema.holdings
    query = select(holdings).where(holdings.c.asset_id == asset_id)
    key = [holdings.c.from_block, holdings.c.from_log]
    return _all(conn, _page(query, key, after, limit))


def _holding_covering(
    conn: Connection, asset_id: str, start: Column[Any], end: Column[Any], point: int
) -> RowMapping | None:
    holdings = schema.holdings
    query = (
        select(holdings)
        .where(
            and_(
                holdings.c.asset_id == asset_id,
                start <= point,
                or_(end.is_(None), end > point),
            )
        )
        .order_by(holdings.c.from_block.desc(), holdings.c.from_log.desc())
        .limit(1)
    )
    return conn.execute(query).mappings().first()


def holding_at_block(conn: Connection, asset_id: str, block: int) -> RowMapping | None:
    """The holder period of ``asset_id`` that covers the end of ``block``."""
    holdings = schema.holdings
    return _holding_covering(conn, asset_id, holdings.c.from_block, holdings.c.to_block, block)


def holding_at_time(conn: Connection, asset_id: str, timestamp: int) -> RowMapping | None:
    """The holder period of ``asset_id`` that covers unix time ``timestamp``."""
    holdings = schema.holdings
    return _holding_covering(conn, asset_id, holdings.c.from_time, holdings.c.to_time, timestamp)


def holder_at(conn: Connection, asset_id: str, block: int) -> str | None:
    """Who held ``asset_id`` at the end of ``block`` (None if it did not exist yet)."""
    row = holding_at_block(conn, asset_id, block)
    return None if row is None else str(row["holder"])


# ------------------------------------------------------------------ lineage


def _walk_statement(*, upward: bool) -> Select[Any]:
    lineage = schema.lineage
    near, far = ("child_id", "parent_id") if upward else ("parent_id", "child_id")
    first = select(*lineage.c, literal_column("1").label("level")).where(
        lineage.c[near] == bindparam("root")
    )
    walk = first.cte("walk", recursive=True)
    step = (
        select(*lineage.c, (walk.c.level + 1).label("level"))
        .select_from(lineage.join(walk, lineage.c[near] == walk.c[far]))
        .where(walk.c.level <= bindparam("depth"))
    )
    walk = walk.union(step)
    return select(walk).order_by(walk.c.level)


_WALK: Final = {upward: DriverStatement(_walk_statement(upward=upward)) for upward in (True, False)}


def lineage_walk(conn: Connection, root: str, depth: int, *, upward: bool) -> list[dict[str, Any]]:
    """The lineage edges reachable from ``root`` toward parents (``upward``) or children, at
    most ``depth + 1`` links away (the extra level tells whether more lies beyond), in one
    recursive query. Each row is an edge with ``level``, its distance in links from ``root``;
    an edge reachable along several paths comes once per distinct level."""
    return _WALK[upward].rows(conn, {"root": root, "depth": depth})


# ------------------------------------------------------------------ records of an asset


def licenses_of(
    conn: Connection, asset_id: str, valid_at: int | None, after: int | None, limit: int
) -> list[RowMapping]:
    """The licenses on ``asset_id`` by id; with ``valid_at``, only those valid at that time."""
    statement = _licenses_statement(valid_at is not None, after is not None)
    params = _keyset_params(
        None if after is None else [after], limit, asset_id=asset_id, valid_at=valid_at
    )
    return list(conn.execute(statement, params).mappings())


@functools.cache
def _licenses_statement(valid: bool, paged: bool) -> Select[Any]:
    licenses = schema.licenses
    query = select(licenses).where(licenses.c.asset_id == bindparam("asset_id"))
    if valid:
        at: Any = bindparam("valid_at")
        query = query.where(
            and_(
                licenses.c.granted_at <= at,
                licenses.c.expires_at > at,
                or_(licenses.c.revoked_at.is_(None), licenses.c.revoked_at > at),
            )
        )
    return _keyset(query, [licenses.c.license_id], paged)


def licenses_to(conn: Connection, licensee: str, after: int | None, limit: int) -> list[RowMapping]:
    """The licenses granted to ``licensee`` by id."""
    licenses = schema.licenses
    query = select(licenses).where(licenses.c.licensee == licensee)
    return _all(conn, _page_by(query, licenses.c.license_id, after, limit))


def _records_of(
    conn: Connection, table_name: str, id_column: str, asset_id: str, after: int | None, limit: int
) -> list[RowMapping]:
    table = schema.metadata.tables[table_name]
    query = select(table).where(table.c.asset_id == asset_id)
    return _all(conn, _page_by(query, table.c[id_column], after, limit))


def appraisals_of(
    conn: Connection, asset_id: str, after: int | None, limit: int
) -> list[RowMapping]:
    """The appraisals of ``asset_id`` by id (current and superseded)."""
    return _records_of(conn, "appraisals", "appraisal_id", asset_id, after, limit)


def objections_of(
    conn: Connection, asset_id: str, after: int | None, limit: int
) -> list[RowMapping]:
    """The objections lodged against ``asset_id`` by id."""
    return _records_of(conn, "objections", "objection_id", asset_id, after, limit)


def disputes_of(conn: Connection, asset_id: str, after: int | None, limit: int) -> list[RowMapping]:
    """The disputes over ``asset_id`` by id, with their rulings."""
    return _records_of(conn, "disputes", "dispute_id", asset_id, after, limit)


def certificates_of(
    conn: Connection, asset_id: str, after: int | None, limit: int
) -> list[RowMapping]:
    """The certificates issued for ``asset_id`` by registration number."""
    return _records_of(conn, "certificates", "registration_number", asset_id, after, limit)


def export_permits_of(conn: Connection, asset_id: str) -> list[RowMapping]:
    """The export permits of ``asset_id`` by recipient."""
    permits = schema.export_permits
    query = select(permits).where(permits.c.asset_id == asset_id).order_by(permits.c.recipient)
    return _all(conn, query)


def open_dispute_count(conn: Connection, asset_id: str) -> int:
    """How many disputes over ``asset_id`` have no ruling yet."""
    return int(conn.execute(_OPEN_DISPUTES, {"asset_id": asset_id}).scalar_one())


_OPEN_DISPUTES: Final = select(func.count()).where(
    and_(schema.disputes.c.asset_id == bindparam("asset_id"), schema.disputes.c.status != "RULED")
)


# ------------------------------------------------------------------ participants and batches


def _named_participants() -> Select[Any]:
    """Participant rows with ``name``: the text whose SHA-256 is the recorded name hash, if the
    blob folder had it (else NULL)."""
    participants, names = schema.participants, schema.names
    return select(participants, names.c.name).select_from(
        participants.outerjoin(names, names.c.name_hash == participants.c.name_hash)
    )


def get_participant(conn: Connection, account: str) -> RowMapping | None:
    """The participant row of ``account`` (lowercase address), with ``name``."""
    participants = schema.participants
    query = _named_participants().where(participants.c.account == account)
    return conn.execute(query).mappings().first()


def list_participants(conn: Connection, after: str | None, limit: int) -> list[RowMapping]:
    """Participants by address, with ``name``."""
    participants = schema.participants
    return _all(conn, _page_by(_named_participants(), participants.c.account, after, limit))


def participants_among(conn: Connection, accounts: Sequence[str]) -> dict[str, RowMapping]:
    """The participant rows (with ``name``) of those of ``accounts`` (lowercase addresses) that
    are participants, by account."""
    participants = schema.participants
    query = _named_participants().where(
        participants.c.account.in_(bindparam("keys", expanding=True))
    )
    found: dict[str, RowMapping] = {}
    for start in range(0, len(accounts), 500):
        chunk = list(accounts[start : start + 500])
        for row in conn.execute(query, {"keys": chunk}).mappings():
            found[str(row["account"])] = row
    return found


def roles_among(conn: Connection, accounts: Sequence[str]) -> dict[str, list[str]]:
    """The roles (``0x`` hex role ids) held now by those of ``accounts`` (lowercase addresses)
    that hold any, by account."""
    roles = schema.roles
    query = (
        select(roles.c.account, roles.c.role)
        .where(roles.c.account.in_(bindparam("keys", expanding=True)), roles.c.granted)
        .order_by(roles.c.account, roles.c.role)
    )
    found: dict[str, list[str]] = {}
    for start in range(0, len(accounts), 500):
        chunk = list(accounts[start : start + 500])
        for account, role in conn.execute(query, {"keys": chunk}):
            found.setdefault(str(account), []).append(str(role))
    return found


def get_batch(conn: Connection, root: str) -> RowMapping | None:
    """The batch anchored under ``root``."""
    batches = schema.batches
    return conn.execute(select(batches).where(batches.c.root == root)).mappings().first()


def batches_holding(conn: Connection, leaf: str) -> list[RowMapping]:
    """The anchored batches whose manifest (in the blob folder) lists the content hash
    ``leaf``: each batch row with the leaf's ``position`` and the manifest's ``manifest``
    SHA-256, oldest anchor first."""
    batches, leaves, manifests = schema.batches, schema.batch_leaves, schema.batch_manifests
    query = (
        select(batches, leaves.c.position, manifests.c.sha256.label("manifest"))
        .join(leaves, leaves.c.root == batches.c.root)
        .join(manifests, manifests.c.root == batches.c.root)
        .where(leaves.c.leaf == leaf)
        .order_by(batches.c.block_number, batches.c.root)
    )
    return _all(conn, query)


def list_batches(
    conn: Connection, submitter: str | None, after: str | None, limit: int
) -> list[RowMapping]:
    """Batches by root, optionally of one submitter."""
    batches = schema.batches
    query = select(batches)
    if submitter is not None:
        query = query.where(batches.c.submitter == submitter)
    return _all(conn, _page_by(query, batches.c.root, after, limit))


# ------------------------------------------------------------------ market


@dataclass(frozen=True)
class OfferFilter:
    """Which open offers to list; every field is optional. Prices are in the currency's
    smallest unit and make sense only with ``currency``."""

    asset_id: str | None = None
    seller: str | None = None
    currency: str | None = None
    kind: str | None = None
    min_price: int | None = None
    max_price: int | None = None


#: Asset statuses in which nothing can be sold.
_UNSELLABLE: Final = ("REJECTED", "CANCELLED")


def _sellable() -> Any:
    """Whether an open offer's seller could deliver now, time aside: the seller still holds the
    asset and is an active participant, and the asset is neither rejected, cancelled, frozen
    nor under objection (the participant table is outer-joined: NULL is not active)."""
    offers, assets, participants = schema.offers, schema.assets, schema.participants
    return and_(
        offers.c.status == "OPEN",
        assets.c.holder == offers.c.seller,
        assets.c.status.not_in(_UNSELLABLE),
        assets.c.frozen.is_(False),
        assets.c.under_objection.is_(False),
        participants.c.status == "ACTIVE",
    )


def _offers_with_standing() -> Select[Any]:
    """Offers with ``sellable`` (:func:`_sellable`), over the asset and the seller's standing."""
    offers, assets, participants = schema.offers, schema.assets, schema.participants
    sellable = case((_sellable(), True), else_=False)
    return select(offers, sellable.label("sellable")).select_from(
        offers.join(assets, assets.c.asset_id == offers.c.asset_id).outerjoin(
            participants, participants.c.account == offers.c.seller
        )
    )


def open_offers(
    conn: Connection, where: OfferFilter, now: int, after: int | None, limit: int
) -> list[RowMapping]:
    """Offers that can fill at unix time ``now`` and match ``where``, by id: sellable
    (:func:`_sellable`) and unexpired."""
    offers = schema.offers
    query = _offers_with_standing().where(_sellable(), offers.c.expires_at > now)
    if where.asset_id is not None:
        query = query.where(offers.c.asset_id == where.asset_id)
    if where.seller is not None:
        query = query.where(offers.c.seller == where.seller)
    if where.currency is not None:
        query = query.where(offers.c.currency == where.currency)
    if where.kind is not None:
        query = query.where(offers.c.kind == where.kind)
    if where.min_price is not None:
        query = query.where(offers.c.price_key >= schema.price_key(where.min_price))
    if where.max_price is not None:
        query = query.where(offers.c.price_key <= schema.price_key(where.max_price))
    return _all(conn, _page_by(query, offers.c.offer_id, after, limit))


def offers_of(conn: Connection, asset_id: str, after: int | None, limit: int) -> list[RowMapping]:
    """Every offer ever made on ``asset_id``, by id, with ``sellable``."""
    offers = schema.offers
    query = _offers_with_standing().where(offers.c.asset_id == asset_id)
    return _all(conn, _page_by(query, offers.c.offer_id, after, limit))


def get_offer(conn: Connection, offer_id: int) -> RowMapping | None:
    """One offer, with ``sellable`` (:func:`_sellable`)."""
    offers = schema.offers
    query = _offers_with_standing().where(offers.c.offer_id == offer_id)
    return conn.execute(query).mappings().first()


def bids_on(conn: Connection, offer_id: int, after: int | None, limit: int) -> list[RowMapping]:
    """The bids on an offer, by id."""
    bids = schema.bids
    query = select(bids).where(bids.c.offer_id == offer_id)
    return _all(conn, _page_by(query, bids.c.bid_id, after, limit))


def trades_of(conn: Connection, asset_id: str, after: int | None, limit: int) -> list[RowMapping]:
    """The trades of ``asset_id`` (asset sales and license sales), by id."""
    trades = schema.trades
    query = select(trades).where(trades.c.asset_id == asset_id)
    return _all(conn, _page_by(query, trades.c.trade_id, after, limit))


def trades_by(conn: Connection, account: str, after: int | None, limit: int) -> list[RowMapping]:
    """The trades in which ``account`` sold or bought, by id."""
    trades = schema.trades
    query = select(trades).where(or_(trades.c.seller == account, trades.c.buyer == account))
    return _all(conn, _page_by(query, trades.c.trade_id, after, limit))


def market_stats(conn: Connection) -> list[RowMapping]:
    """Trade count, volume and last price per category, grade and currency."""
    stats = schema.market_stats
    query = select(stats).order_by(stats.c.category, stats.c.grade, stats.c.currency)
    return _all(conn, query)
