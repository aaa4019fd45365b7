"""Every kind of record the index holds, listed with filters on any of its fields, in any
indexed order, a page at a time, and counted: the read service behind the GraphQL API.

Each :class:`RecordKind` names its table, its unique key, the orders it may be listed in (the
indexed columns) and how a row becomes the same view the REST routes answer, so that the two
faces show a record alike. A request reads the index's position once (:class:`Snapshot`): every
record in one answer has its finality as of the same head, and an offer's status the same clock.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, get_args, get_type_hints

from sqlalchemy import Engine

from provledger.chain.ids import asset_id_hex
from provledger.params import (
    ForeignCursorError,
    InvalidParameterError,
    decode_cursor,
    encode_cursor,
    parse_address,
    parse_asset_id,
    parse_hash,
)
from provledger.services import views
from provledger.services.market import (
    BidView,
    OfferView,
    TradeView,
    bid_view,
    offer_view,
    parse_amount,
)
from provledger.services.market import trade_view as _trade
from provledger.services.provenance import Provenance
from provledger.services.reads import ADDRESS_FIELDS, event_args, view
from provledger.services.views import Address, Finality, Hash
from provledger.store import queries
from provledger.store.queries.listing import (
    Condition,
    Listing,
    column_names,
    count_of_parents,
    count_rows,
    integer_bounds,
    list_rows,
    rows_of_parents,
)

#: The fields that hold an asset id: given as ``0x`` hex (1 to 64 digits) or decimal.
ASSET_ID_FIELDS: Final = frozenset({"asset_id", "child_id", "parent_id"})

#: A row of the store as a record kind reads it (SQLAlchemy's, or a driver statement's dict).
Row = Mapping[Any, Any]
Make = Callable[[Row, Finality, "Snapshot"], Any]
"""A view from a row, its finality, and the answer's snapshot (whose clock an offer's status
reads)."""


class Snapshot:
    """The index's position for one answer: the finality of a block, and the chain's clock
    (read when first needed: only offers and bids have a status that depends on it)."""

    def __init__(self, engine: Engine, provenance: Provenance, head: int | None = None) -> None:
        """Read the position now, or take the chain ``head`` a read just gave with its rows
        (the position is then read only if the clock is asked for)."""
        self._engine = engine
        self._position: queries.IndexPosition | None = None
        self._read = head is None
        if head is None:
            with engine.connect() as conn:
                self._position = queries.index_position(conn)
            self.finality = provenance.finality_of(self._position)
        else:
            self.finality = provenance.finality_at(head)
        self._now: int | None = None

    @property
    def now(self) -> int:
        """The time of the latest indexed block (unix time)."""
        if self._now is None:
            with self._engine.connect() as conn:
                if not self._read:
                    self._position = queries.index_position(conn)
                    self._read = True
                self._now = queries.indexed_time(conn, self._position)
        return self._now


@dataclass(frozen=True)
class RecordKind:
    """One kind of record: its table, key, orders and view."""

    name: str
    table: str
    key: tuple[str, ...]
    view: type
    orders: tuple[str, ...] = ()
    """Columns it may be ordered by besides its key (indexed, never NULL)."""
    make: Make | None = None
    """How a row becomes its view; None: the view's fields from the row's columns."""
    finality_block: str = "block_number"
    """The column of the block a record's finality is reckoned from (a holder period's is the
    block it began in, as REST shows it)."""
    filters: Mapping[str, str] = field(default_factory=dict)
    """Filterable fields and their form (``int``, ``bool``, ``text``, ``hash``, ``address``,
    ``asset``): the view's fields that are columns of the table."""

    def to_view(self, row: Row, snapshot: Snapshot) -> Any:
        """The view of ``row``."""
        finality = snapshot.finality(row[self.finality_block])
        if self.make is not None:
            return self.make(row, finality, snapshot)
        return view(self.view, row, finality)


def _forms(kind: type, table: str) -> dict[str, str]:
    """The form of each field of ``kind`` that is a column of ``table``."""
    hints = get_type_hints(kind, include_extras=True)
    columns = column_names(table)
    forms = {}
    for name, hint in hints.items():
        if name not in columns or typing.get_origin(hint) is dict:  # an event's packed args
            continue
        options = [part for part in get_args(hint) if part is not type(None)] or [hint]
        base = options[0] if hint is not Hash and hint is not Address else hint
        if name in ASSET_ID_FIELDS:
            forms[name] = "asset"
        elif name in ADDRESS_FIELDS or base is Address:
            forms[name] = "address"
        elif base is Hash:
            forms[name] = "hash"
        elif base is bool:
            forms[name] = "bool"
        elif base is int:
            forms[name] = "int"
        elif name in ("price", "min_bid", "amount", "fee", "seller_proceeds"):
            forms[name] = "amount"
        elif name == "status" and table in ("offers", "bids"):
            forms[name] = "status"
        else:
            forms[name] = "text"
    return forms


def _kind(
    name: str,
    table: str,
    key: tuple[str, ...],
    kind: type,
    orders: tuple[str, ...] = (),
    make: Make | None = None,
    finality_block: str = "block_number",
) -> RecordKind:
    return RecordKind(name, table, key, kind, orders, make, finality_block, _forms(kind, table))


def _event(row: Row, finality: Finality, snapshot: Snapshot) -> views.EventView:
    return view(views.EventView, row, finality, args=event_args(row))


def _appraisal(row: Row, finality: Finality, snapshot: Snapshot) -> views.AppraisalView:
    return view(views.AppraisalView, row, finality, current=row["superseded_by"] is None)


def _offer(row: Row, finality: Finality, snapshot: Snapshot) -> OfferView:
    return offer_view(row, snapshot.now, finality)


def _bid(row: Row, finality: Finality, snapshot: Snapshot) -> BidView:
    return bid_view(row, snapshot.now, finality)


def _trade_view(row: Row, finality: Finality, snapshot: Snapshot) -> TradeView:
    return _trade(row, finality)


#: Every kind, by its GraphQL name.
KINDS: Final = {
    kind.name: kind
    for kind in (
        _kind(
            "Asset",
            "assets",
            ("asset_id",),
            views.AssetView,
            ("registered_block", "category", "status", "holder", "registrant"),
        ),
        _kind("Event", "events", ("block_number", "log_index"), views.EventView, make=_event),
        _kind(
            "Holding",
            "holdings",
            ("asset_id", "from_block", "from_log"),
            views.HoldingView,
            finality_block="from_block",
        ),
        _kind("License", "licenses", ("license_id",), views.LicenseView, ("expires_at",)),
        _kind("Appraisal", "appraisals", ("appraisal_id",), views.AppraisalView, make=_appraisal),
        _kind("Objection", "objections", ("objection_id",), views.ObjectionView),
        _kind("Dispute", "disputes", ("dispute_id",), views.DisputeView),
        _kind("Certificate", "certificates", ("registration_number",), views.CertificateView),
        _kind(
            "ExportPermit",
            "export_permits",
            ("asset_id", "recipient"),
            views.ExportPermitView,
            ("expires_at",),
        ),
        _kind("Participant", "participants", ("account",), views.ParticipantView),
        _kind("Batch", "batches", ("root",), views.BatchView),
        _kind("Offer", "offers", ("offer_id",), OfferView, ("expires_at",), make=_offer),
        _kind("Bid", "bids", ("bid_id",), BidView, make=_bid),
        _kind("Trade", "trades", ("trade_id",), TradeView, make=_trade_view),
    )
}


def parse_value(kind: RecordKind, name: str, value: Any) -> Any:
    """A filter value of field ``name`` in its stored form (hex lowercase, asset ids as 64 hex
    digits); :class:`InvalidParameterError` where it does not parse."""
    form = kind.filters.get(name)
    if form is None:
        raise InvalidParameterError(name, f"{kind.name} has no filterable field {name}")
    if isinstance(value, str) and not _storable(value):
        raise InvalidParameterError(
            name, "text with a NUL or an unpaired surrogate matches nothing"
        )
    bound = integer_bounds(kind.table).get(name)
    if bound is not None and isinstance(value, int) and not -bound - 1 <= value <= bound:
        raise InvalidParameterError(name, f"{value} is beyond what the index holds (±{bound:,})")
    if value is None or form in ("int", "bool", "text", "status"):
        return value
    if form == "amount":
        return str(parse_amount(value, name))
    if form == "asset":
        return asset_id_hex(parse_asset_id(value, name))
    if form == "address":
        return parse_address(value, name)
    return parse_hash(value, name)


def _storable(text: str) -> bool:
    """Whether ``text`` is text a database holds: UTF-8 without NUL (PostgreSQL's text has
    none; a lone surrogate has no UTF-8 form)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: The store's operator of each comparison, by form (amounts compare as numbers in text).
_AMOUNT_OPS: Final = {
    "gt": "amount_gt",
    "gte": "amount_gte",
    "lt": "amount_lt",
    "lte": "amount_lte",
}


def condition(
    kind: RecordKind, name: str, op: str, value: Any, now: Callable[[], int]
) -> Condition:
    """The store's condition ``name op value`` on ``kind`` (``op``: eq, ne, in, gt, gte, lt,
    lte, is_null), the value parsed to its stored form; an offer's or a bid's ``status`` is
    matched as shown at unix time ``now()`` (expired, unavailable), not as stored."""
    form = kind.filters.get(name)
    if form is None:
        raise InvalidParameterError(name, f"{kind.name} has no filterable field {name}")
    if op == "is_null":
        return Condition(name, op, bool(value))
    if form == "status":
        if op not in ("eq", "ne", "in"):
            raise InvalidParameterError(name, f"a status takes eq, ne or in, not {op}")
        given = value if op == "in" else [value]
        statuses = tuple(parse_value(kind, name, each) for each in given)
        return Condition(name, "market_status", (statuses, now(), op == "ne"))
    if op == "in":
        # a tuple: a listing is a key of the request's loaders
        return Condition(name, op, tuple(parse_value(kind, name, each) for each in value))
    if form == "amount" and op in _AMOUNT_OPS:
        return Condition(name, _AMOUNT_OPS[op], parse_value(kind, name, value))
    return Condition(name, op, parse_value(kind, name, value))


@dataclass(frozen=True)
class Found:
    """One page of records: the views, each one's cursor, and whether more follow."""

    items: list[Any]
    cursors: list[str]
    has_next: bool


class Records:
    """Lists, counts and children of every kind of record over one index."""

    def __init__(self, engine: Engine, provenance: Provenance) -> None:
        self.engine = engine
        self.provenance = provenance

    def snapshot(self) -> Snapshot:
        """The index's position now.

        Each read below takes a connection of its own and gives it back at once: a GraphQL
        answer waits between its reads (its loaders gather the keys of a whole page), and a
        connection held across the wait would starve the pool under load."""
        return Snapshot(self.engine, self.provenance)

    def snapshot_at(self, head: int) -> Snapshot:
        """The index's position given the chain ``head`` a read has just given."""
        return Snapshot(self.engine, self.provenance, head)

    def listing(
        self,
        kind: RecordKind,
        conditions: Sequence[Condition],
        order: str | None,
        descending: bool,
    ) -> Listing:
        """The listing of ``kind``; :class:`InvalidParameterError` for an order it has not."""
        if order is not None and order not in kind.orders and order not in kind.key:
            raise InvalidParameterError("orderBy", f"{kind.name} is not ordered by {order}")
        if order is not None and (order,) == kind.key:
            order = None
        return Listing(kind.table, kind.key, tuple(conditions), order, descending)

    def page(
        self,
        snapshot: Snapshot,
        kind: RecordKind,
        listing: Listing,
        after: str | None,
        first: int,
    ) -> Found:
        """Up to ``first`` records of ``listing`` past the cursor ``after``."""
        key = self._decode(kind, listing, after)
        with self.engine.connect() as conn:
            rows = list_rows(conn, listing, key, first + 1)
        return self._found(kind, listing, snapshot, rows, first)

    def count(self, listing: Listing) -> int:
        """How many records ``listing`` holds."""
        with self.engine.connect() as conn:
            return count_rows(conn, listing)

    def counts(self, listing: Listing, parent: str, parents: Sequence[Any]) -> dict[Any, int]:
        """How many records ``listing`` holds for each of ``parents`` (values of ``parent``)."""
        with self.engine.connect() as conn:
            return count_of_parents(conn, listing, parent, parents)

    def children(
        self,
        snapshot: Snapshot,
        kind: RecordKind,
        listing: Listing,
        parent: str,
        parents: Sequence[Any],
        first: int,
    ) -> dict[Any, Found]:
        """The first page of ``listing`` for each of ``parents`` (values of ``parent``), in one
        read."""
        with self.engine.connect() as conn:
            found = rows_of_parents(conn, listing, parent, parents, first + 1)
        return {
            value: self._found(kind, listing, snapshot, rows, first)
            for value, rows in found.items()
        }

    def _found(
        self,
        kind: RecordKind,
        listing: Listing,
        snapshot: Snapshot,
        rows: Sequence[Row],
        first: int,
    ) -> Found:
        shown = rows[:first]
        tag = [kind.name, listing.order or "", listing.descending]
        return Found(
            [kind.to_view(row, snapshot) for row in shown],
            [encode_cursor([*tag, *(row[name] for name in listing.columns())]) for row in shown],
            len(rows) > first,
        )

    @staticmethod
    def _decode(kind: RecordKind, listing: Listing, cursor: str | None) -> list[Any] | None:
        """The key a cursor of this very list carries: one of another kind, order or
        direction is refused."""
        if cursor is None:
            return None
        columns = listing.columns()
        try:
            raw = decode_cursor(cursor, [str, str, bool, *(object for _ in columns)])
        except ForeignCursorError:  # another order's: a key of another shape
            raise InvalidParameterError("after", "a cursor of another list") from None
        except InvalidParameterError as error:
            raise InvalidParameterError("after", error.reason) from None
        assert raw is not None
        if raw[:3] != [kind.name, listing.order or "", listing.descending]:
            raise InvalidParameterError("after", "a cursor of another list")
        return raw[3:]
