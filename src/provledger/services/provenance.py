"""Provenance answers over the index: assets, history, holders, lineage and the records of an
asset, each with its block and finality.

A :class:`Provenance` is bound to a store engine and the finality settings. Every answer is a
frozen dataclass in output form (checksummed addresses, ``0x`` hex, decimal text for amounts);
the gateway returns them as they are, the command line prints them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Final, Generic, TypeVar

import orjson
from eth_utils.address import to_checksum_address
from pydantic import Field
from sqlalchemy import Connection, Engine, RowMapping

from provledger.chain.deploy import AUTHORITY_ROLES
from provledger.chain.ids import asset_id as asset_id_of
from provledger.chain.ids import asset_id_hex, role_id
from provledger.errors import InputError, ProvledgerError
from provledger.indexer.rows import ROW_TYPES
from provledger.jsondoc import echo
from provledger.store import queries
from provledger.store.documents import words_of

T = TypeVar("T")

MAX_PAGE: Final = 1000
MAX_LINEAGE_DEPTH: Final = 32
#: The authority roles in words, by their ``0x`` hex role id (``registrar``, ``export approver``).
ROLE_WORDS: Final = {
    "0x" + role_id(role).hex(): short.replace("-", " ") for short, role in AUTHORITY_ROLES.items()
}
MAX_SEARCH_WORDS: Final = 8
#: The longest text part of a cursor (keys are hashes and addresses).
MAX_CURSOR_TEXT: Final = 130
_UINT256_MAX: Final = 2**256 - 1


# ------------------------------------------------------------------ errors


class NotFoundError(ProvledgerError):
    """A record that the index does not hold."""

    def __init__(self, what: str, key: str) -> None:
        self.what, self.key = what, key
        super().__init__(f"no {what} {key} in the index")


class InvalidParameterError(InputError):
    """A request parameter that does not parse; names the parameter and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")


# ------------------------------------------------------------------ parsing input


#: The most decimal digits a number may have (a uint256 has 78).
MAX_DIGITS: Final = 78
INT64_MAX: Final = 2**63 - 1
_HEX_NUMBER: Final = re.compile(r"0[xX][0-9a-fA-F]{1,64}")


def decimal_digits(text: str) -> int:
    """The whole number ``text`` writes in ASCII decimal digits (at most :data:`MAX_DIGITS`);
    ``ValueError`` for anything else. ``int()`` would also take ``+1``, ``1_000``, `` 1`` and
    other scripts' digits; one number is written one way."""
    if not (0 < len(text) <= MAX_DIGITS and text.isascii() and text.isdigit()):
        raise ValueError("not a whole number in ASCII decimal digits")
    return int(text)


def parse_uint(text: str, field: str, high: int = INT64_MAX) -> int:
    """A whole number from ``0`` to ``high`` in ASCII decimal digits."""
    try:
        number = decimal_digits(text)
    except ValueError as error:
        raise InvalidParameterError(field, f"{echo(text)} is {error}") from None
    if number > high:
        raise InvalidParameterError(field, f"must be at most {high}")
    return number


def parse_asset_id(text: str, field: str = "asset_id") -> int:
    """An asset id from ``0x`` + 1 to 64 hex digits or a decimal number (ASCII digits);
    nothing else, not even spaces around it."""
    value = text
    if _HEX_NUMBER.fullmatch(value):
        return int(value, 16)
    if value[:2].lower() == "0x" and len(value) > 66 and _HEX_NUMBER.fullmatch(value[:66]):
        raise InvalidParameterError(field, "more than 64 hex digits")
    try:
        number = decimal_digits(value)
    except ValueError:
        raise InvalidParameterError(
            field, f"{echo(text)} is neither 0x-prefixed hex nor a decimal number"
        ) from None
    if number > _UINT256_MAX:
        raise InvalidParameterError(field, "outside the uint256 range")
    return number


def parse_title(value: str) -> tuple[str, ...]:
    """The words of a title search, or :class:`InvalidParameterError` naming ``title``."""
    words = words_of(value)
    if not words:
        raise InvalidParameterError("title", "give at least one word (letters or digits)")
    if len(words) > MAX_SEARCH_WORDS:
        raise InvalidParameterError("title", f"at most {MAX_SEARCH_WORDS} words")
    return tuple(words)


def parse_hash(text: str, field: str) -> str:
    """A 32-byte hash as stored: ``0x`` + 64 lowercase hex digits."""
    value = text.strip()
    digits = value[2:] if value[:2].lower() == "0x" else value
    if len(digits) != 64:
        raise InvalidParameterError(field, f"a 32-byte hash has 64 hex digits, got {len(digits)}")
    try:
        bytes.fromhex(digits)
    except ValueError:
        raise InvalidParameterError(field, "not hexadecimal") from None
    return "0x" + digits.lower()


def parse_address(text: str, field: str) -> str:
    """An address as stored: ``0x`` + 40 lowercase hex digits (checksum checked if mixed case)."""
    value = text.strip()
    digits = value[2:] if value[:2].lower() == "0x" else ""
    if len(digits) != 40:
        raise InvalidParameterError(field, "an address is 0x and 40 hex digits")
    try:
        bytes.fromhex(digits)
    except ValueError:
        raise InvalidParameterError(field, "not hexadecimal") from None
    mixed = digits != digits.lower() and digits != digits.upper()
    if mixed and to_checksum_address(value) != value:
        raise InvalidParameterError(field, "the mixed-case checksum does not match")
    return "0x" + digits.lower()


def page_limit(limit: int | None, default: int) -> int:
    """A page size within 1..MAX_PAGE."""
    if limit is None:
        return default
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidParameterError("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
    return limit


def encode_cursor(key: Sequence[Any]) -> str:
    """An opaque cursor for a page key."""
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str | None, shape: Sequence[type]) -> list[Any] | None:
    """The key a cursor carries, checked against ``shape`` (the types of its parts)."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidParameterError("cursor", "not a cursor this gateway issued") from None
    if (
        not isinstance(key, list)
        or len(key) != len(shape)
        or not all(_fits(part, kind) for part, kind in zip(key, shape, strict=True))
    ):
        raise InvalidParameterError("cursor", "not a cursor of this list")
    return key


def _fits(part: object, kind: type) -> bool:
    """Whether a cursor part is of ``kind`` and fits the column it is compared with (a
    signed 64-bit integer, a hex key)."""
    if type(part) is not kind:
        return False
    if isinstance(part, int):
        return -INT64_MAX - 1 <= part <= INT64_MAX
    return not isinstance(part, str) or len(part) <= MAX_CURSOR_TEXT


# ------------------------------------------------------------------ output forms


class Finality(StrEnum):
    """How settled a record is, from its block's depth below the head."""

    PENDING = "pending"
    SAFE = "safe"
    FINAL = "final"


def checksum(address: str | None) -> str | None:
    """An address as output: EIP-55 checksummed."""
    return None if address is None else _checksummed(address)


@functools.lru_cache(maxsize=65_536)
def _checksummed(address: str) -> str:
    # eth_utils hashes and validates on every call (about 0.2 ms); the same few thousand
    # addresses (holders, registrants, contracts) come back in almost every answer.
    return to_checksum_address(address)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: Annotated[
        str | None, Field(description="Cursor of the next page; null on the last page.")
    ]


Hash = Annotated[str, Field(examples=["0x" + "ab" * 32])]
Address = Annotated[str, Field(examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"])]


@dataclass(frozen=True)
class AssetView:
    """An asset as indexed: identity, registration, current holder and status."""

    asset_id: Hash
    content_hash: Hash
    registrant: Address
    holder: Address
    holder_since_block: int
    category: int
    grade: int
    status: Annotated[str, Field(examples=["CERTIFIED"])]
    under_objection: bool
    frozen: bool
    metadata_uri: str
    metadata_hash: Hash
    metadata_version: int
    channel: Annotated[str, Field(examples=["DIRECT"])]
    submitter: Address
    batch_root: Hash | None
    notice_ends_at: int | None
    registration_number: int | None
    registered_block: int
    registered_at: int
    registered_tx: Hash
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class EventView:
    """One event in chain order, with its position and decoded arguments."""

    block_number: int
    log_index: int
    block_hash: Hash
    block_time: int
    tx_hash: Hash
    contract: Address
    event: Annotated[str, Field(examples=["AssetRegistered"])]
    args: dict[str, Any]
    finality: Finality


@dataclass(frozen=True)
class HoldingView:
    """A period during which one account held an asset."""

    holder: Address
    from_block: int
    from_log: int
    from_time: int
    from_tx: Hash
    to_block: int | None
    to_time: int | None
    via: Annotated[str, Field(examples=["TRANSFER"])]
    finality: Finality


@dataclass(frozen=True)
class LineageNode:
    """An asset in a lineage graph; ``depth`` is negative for ancestors, positive below."""

    asset_id: Hash
    depth: int
    indexed: bool
    registrant: Address | None
    holder: Address | None
    status: str | None
    category: int | None
    grade: int | None


@dataclass(frozen=True)
class LineageEdge:
    """``child`` was derived from ``parent`` by ``relation``."""

    child_id: Hash
    parent_id: Hash
    relation: Annotated[str, Field(examples=["DERIVED_FROM"])]
    position: int
    license_id: int | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class LineageView:
    """Ancestors and descendants of an asset up to a depth, as nodes and edges."""

    root: Hash
    depth: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: Annotated[
        bool, Field(description="True when the graph goes on beyond the requested depth.")
    ]


@dataclass(frozen=True)
class LicenseView:
    """A license on an asset."""

    license_id: int
    asset_id: Hash
    licensor: Address
    licensee: Address
    kind: Annotated[str, Field(examples=["PROCESSING_USE"])]
    expires_at: int
    terms_hash: Hash
    scope: str
    granted_block: int
    granted_at: int
    revoked_block: int | None
    revoked_at: int | None
    revocation_reason: Hash | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class AppraisalView:
    """A valuation of an asset; ``superseded_by`` names the appraisal that replaced it."""

    appraisal_id: int
    asset_id: Hash
    appraiser: Address
    amount: Annotated[str, Field(description="Decimal, minor units", examples=["1250000"])]
    currency: Annotated[str, Field(examples=["CNY"])]
    method: str
    report_hash: Hash
    supersedes: int | None
    superseded_by: int | None
    current: bool
    appraised_at: int
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class ObjectionView:
    """An objection lodged during public notice."""

    objection_id: int
    asset_id: Hash
    objector: Address
    grounds_hash: Hash
    open: bool
    upheld: bool | None
    resolution_hash: Hash | None
    resolved_by: Address | None
    lodged_block: int
    lodged_at: int
    resolved_block: int | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class DisputeView:
    """A dispute over an asset and its ruling, if any."""

    dispute_id: int
    asset_id: Hash
    claimant: Address
    evidence_hash: Hash
    status: Annotated[str, Field(examples=["FROZEN"])]
    ruling: str | None
    ruling_hash: Hash | None
    arbiter: Address | None
    opened_block: int
    opened_at: int
    frozen_block: int | None
    ruled_block: int | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class CertificateView:
    """A registration certificate with its sequential number."""

    registration_number: int
    asset_id: Hash
    registration_type: Annotated[str, Field(examples=["INITIAL"])]
    certificate_hash: Hash
    registrar: Address
    issued_at: int
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class ExportPermitView:
    """A single-use permit to transfer a grade 2 asset across a border."""

    asset_id: Hash
    recipient: Address
    destination: Annotated[str, Field(examples=["HK"])]
    expires_at: int
    approver: Address
    issued_block: int
    state: Annotated[str, Field(examples=["ISSUED"])]
    closed_block: int | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class ParticipantView:
    """A registered participant and its jurisdiction."""

    account: Address
    jurisdiction: Annotated[str, Field(examples=["CN"])]
    name_hash: Hash
    name: Annotated[
        str | None,
        Field(
            description="The name whose SHA-256 is name_hash, when the gateway's blob folder "
            "holds its text; null otherwise.",
            examples=["Pudong Sensor Networks Co."],
        ),
    ]
    status: Annotated[str, Field(examples=["ACTIVE"])]
    registered_block: int
    registered_at: int
    suspension_reason: Hash | None
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class PartyView:
    """How to name an account: its participant name and jurisdiction, when it has them, and
    its authority roles. ``status`` is None for an account that is not a registered
    participant."""

    account: Address
    name: str | None
    jurisdiction: str | None
    status: str | None
    roles: tuple[str, ...] = ()
    """The authority roles it holds now, in words (``registrar``, ``export approver``)."""


@dataclass(frozen=True)
class BatchView:
    """A Merkle batch anchor."""

    root: Hash
    submitter: Address
    leaf_count: int
    manifest_uri: str
    anchored_at: int
    anchored_tx: Hash
    promoted_count: int
    block_number: int
    finality: Finality


@dataclass(frozen=True)
class Standing:
    """An asset (None if unregistered) and what a verifier weighs, as of ``checked_at``."""

    asset: AssetView | None
    open_disputes: int
    valid_licenses: list[LicenseView]
    checked_at: int


@dataclass(frozen=True)
class StatusView:
    """The chain and the index: head, indexed block, lag, finality settings."""

    chain_id: int | None
    head_block: int | None
    indexed_block: int | None
    indexed_block_hash: Hash | None
    lag_blocks: int | None
    confirmations: int
    finality_depth: int
    events: int
    updated_at: int | None


@dataclass(frozen=True)
class HolderAtView:
    """Who held an asset at a block or a time, and the period that covers it."""

    asset_id: Hash
    block_number: int | None
    timestamp: int | None
    holder: Address
    period: HoldingView


# ------------------------------------------------------------------ the service


_ADDRESS_FIELDS: Final = frozenset(
    {
        "registrant",
        "holder",
        "submitter",
        "licensor",
        "licensee",
        "appraiser",
        "objector",
        "resolved_by",
        "claimant",
        "arbiter",
        "registrar",
        "recipient",
        "approver",
        "account",
        "seller",
        "buyer",
        "bidder",
        "fee_recipient",
    }
)


def _view(kind: type[T], row: Mapping[Any, Any], finality: Finality, **extra: Any) -> T:
    """``kind`` from a row: the fields it declares, addresses checksummed."""
    values: dict[str, Any] = {}
    for name in kind.__dataclass_fields__:  # type: ignore[attr-defined]
        if name == "finality":
            values[name] = finality
        elif name in extra:
            values[name] = extra[name]
        else:
            value = row[name]
            values[name] = checksum(value) if name in _ADDRESS_FIELDS else value
    return kind(**values)


def _event_args(row: RowMapping) -> dict[str, Any]:
    fields = ROW_TYPES[str(row["event"])]._fields
    values = orjson.loads(row["args"])
    args = {}
    for name, value in zip(fields, values, strict=True):
        is_address = type(value) is str and len(value) == 42 and value.startswith("0x")
        args[name.rstrip("_")] = checksum(value) if is_address else value
    return args


def _first(after: list[Any] | None) -> Any | None:
    """The key of a one-column cursor, or None."""
    return None if after is None else after[0]


def _paged(
    items: list[T], rows: list[RowMapping], limit: int, key: Callable[[RowMapping], list[Any]]
) -> Page[T]:
    """A page of ``items``; a full page gets the cursor of its last row's ``key``."""
    more = len(rows) == limit and rows
    return Page(items, encode_cursor(key(rows[-1])) if more else None)


def _id_key(column: str) -> Callable[[RowMapping], list[Any]]:
    return lambda row: [row[column]]


class Provenance:
    """Read-side answers over one index."""

    def __init__(self, engine: Engine, *, confirmations: int, finality_depth: int) -> None:
        self.engine = engine
        self.confirmations = confirmations
        self.finality_depth = finality_depth

    # -------------------------------------------------------------- finality
    def finality_now(self, conn: Connection) -> Callable[[int], Finality]:
        """The finality of a block, as of the index's position on ``conn``."""
        return self._finality(queries.index_position(conn))

    def _finality(self, position: queries.IndexPosition | None) -> Callable[[int], Finality]:
        return self._finality_at(position.head_block if position is not None else 0)

    def _finality_at(self, head: int) -> Callable[[int], Finality]:
        """The finality of a block with the chain's head at ``head``."""

        def finality(block: int) -> Finality:
            depth = head - block
            if depth >= self.finality_depth:
                return Finality.FINAL
            if depth >= self.confirmations:
                return Finality.SAFE
            return Finality.PENDING

        return finality

    # -------------------------------------------------------------- status
    def status(self) -> StatusView:
        """Head, indexed block, lag and the finality settings."""
        with self.engine.connect() as conn:
            position = queries.index_position(conn)
            meta = queries.index_meta(conn)
            events = queries.event_count(conn)
        chain_id = int(meta["chain_id"]) if "chain_id" in meta else None
        if position is None:
            return StatusView(
                chain_id, None, None, None, None, self.confirmations, self.finality_depth, 0, None
            )
        return StatusView(
            chain_id=chain_id,
            head_block=position.head_block,
            indexed_block=position.indexed_block,
            indexed_block_hash=position.indexed_hash,
            lag_blocks=max(0, position.head_block - position.indexed_block),
            confirmations=self.confirmations,
            finality_depth=self.finality_depth,
            events=events,
            updated_at=position.updated_at,
        )

    # -------------------------------------------------------------- assets
    def asset(self, asset_id: int) -> AssetView:
        """The asset ``asset_id``; :class:`NotFoundError` if it was never registered."""
        key = asset_id_hex(asset_id)
        with self.engine.connect() as conn:
            row = queries.get_asset_at_head(conn, key)
        if row is None:
            raise NotFoundError("asset", key)
        finality = self._finality_at(row["index_head"] or 0)
        return _view(AssetView, row, finality(row["block_number"]))

    def asset_by_content(self, content_hash: str) -> AssetView:
        """The asset registered for a content hash (its id is derived from the hash)."""
        return self.asset(asset_id_of(bytes.fromhex(parse_hash(content_hash, "hash")[2:])))

    def assets(self, where: queries.AssetFilter, cursor: str | None, limit: int) -> Page[AssetView]:
        """Assets matching ``where``, by asset id."""
        after = _first(decode_cursor(cursor, (str,)))
        with self.engine.connect() as conn:
            rows = queries.list_assets(conn, where, after, limit)
            finality = self.finality_now(conn)
        items = [_view(AssetView, row, finality(row["block_number"])) for row in rows]
        return _paged(items, rows, limit, _id_key("asset_id"))

    def standing(self, asset_id: int) -> Standing:
        """The asset with its open disputes and the licenses valid at the latest indexed
        block's time, read on one connection (the verification path)."""
        key = asset_id_hex(asset_id)
        with self.engine.connect() as conn:
            position = queries.index_position(conn)
            now = queries.indexed_time(conn, position)
            row = queries.get_asset(conn, key)
            if row is None:
                return Standing(None, 0, [], now)
            disputes = queries.open_dispute_count(conn, key)
            licenses = queries.licenses_of(conn, key, now, None, MAX_PAGE)
        finality = self._finality(position)
        return Standing(
            _view(AssetView, row, finality(row["block_number"])),
            disputes,
            [_view(LicenseView, item, finality(item["block_number"])) for item in licenses],
            now,
        )

    def asset_of_registration(self, registration_number: int) -> str | None:
        """The id of the asset certified under ``registration_number``, if any."""
        with self.engine.connect() as conn:
            return queries.asset_of_registration(conn, registration_number)

    def title(self, metadata_hash: str) -> str | None:
        """The title of a metadata document the index learned from the blob folder."""
        with self.engine.connect() as conn:
            return queries.metadata_title(conn, metadata_hash)

    def titles(self, asset_ids: Iterable[str]) -> dict[str, str]:
        """The titles of assets (by ``0x`` hex id) whose current metadata document the index
        learned; assets without one are left out."""
        keys = list(dict.fromkeys(asset_ids))
        if not keys:
            return {}
        with self.engine.connect() as conn:
            return queries.asset_titles(conn, keys)

    def recent(self, limit: int) -> list[AssetView]:
        """The latest registrations, newest first."""
        with self.engine.connect() as conn:
            rows = queries.recent_assets(conn, limit)
            finality = self.finality_now(conn)
        return [_view(AssetView, row, finality(row["block_number"])) for row in rows]

    def _require_asset(self, conn: Connection, asset_id: int) -> str:
        key = asset_id_hex(asset_id)
        if queries.get_asset(conn, key) is None:
            raise NotFoundError("asset", key)
        return key

    # -------------------------------------------------------------- history and holders
    def history(self, asset_id: int, cursor: str | None, limit: int) -> Page[EventView]:
        """Every event concerning the asset, in chain order."""
        after = decode_cursor(cursor, (int, int))
        with self.engine.connect() as conn:
            key = self._require_asset(conn, asset_id)
            rows = queries.asset_events(conn, key, after, limit)
            finality = self.finality_now(conn)
        items = [
            _view(EventView, row, finality(row["block_number"]), args=_event_args(row))
            for row in rows
        ]
        return _paged(items, rows, limit, lambda row: [row["block_number"], row["log_index"]])

    def holders(self, asset_id: int, cursor: str | None, limit: int) -> Page[HoldingView]:
        """The holder periods of the asset, in chain order."""
        after = decode_cursor(cursor, (int, int))
        with self.engine.connect() as conn:
            key = self._require_asset(conn, asset_id)
            rows = queries.holdings_of(conn, key, after, limit)
            finality = self.finality_now(conn)
        items = [_view(HoldingView, row, finality(row["from_block"])) for row in rows]
        return _paged(items, rows, limit, lambda row: [row["from_block"], row["from_log"]])

    def holder_at(self, asset_id: int, *, block: int | None, timestamp: int | None) -> HolderAtView:
        """Who held the asset at the end of ``block``, or at unix time ``timestamp``."""
        if (block is None) == (timestamp is None):
            raise InvalidParameterError("block", "give exactly one of block and time")
        with self.engine.connect() as conn:
            key = self._require_asset(conn, asset_id)
            if block is not None:
                row = queries.holding_at_block(conn, key, block)
            else:
                assert timestamp is not None
                row = queries.holding_at_time(conn, key, timestamp)
            finality = self.finality_now(conn)
        if row is None:
            when = f"block {block}" if block is not None else f"time {timestamp}"
            raise NotFoundError("holder of the asset at", when)
        period = _view(HoldingView, row, finality(row["from_block"]))
        return HolderAtView(key, block, timestamp, period.holder, period)

    # -------------------------------------------------------------- lineage
    def lineage(self, asset_id: int, *, depth: int, direction: str = "both") -> LineageView:
        """Ancestors (``up``), descendants (``down``) or both, to ``depth`` links away."""
        if not 1 <= depth <= MAX_LINEAGE_DEPTH:
            raise InvalidParameterError(
                "depth", f"must be between 1 and {MAX_LINEAGE_DEPTH}, got {depth}"
            )
        if direction not in ("up", "down", "both"):
            raise InvalidParameterError("direction", "one of up, down, both")
        root = asset_id_hex(asset_id)
        with self.engine.connect() as conn:
            finality = self.finality_now(conn)
            depths: dict[str, int] = {root: 0}
            edges: dict[tuple[str, str], Mapping[str, Any]] = {}
            truncated = False
            for sign, far in ((-1, "parent_id"), (1, "child_id")):
                if direction == ("down" if sign < 0 else "up"):
                    continue
                near = "child_id" if far == "parent_id" else "parent_id"
                rows = queries.lineage_walk(conn, root, depth, upward=sign < 0)
                # Breadth-first semantics from the per-level rows: a node's depth is its
                # shortest distance; the walk is truncated if a node exactly ``depth`` away
                # still has links beyond it.
                distance = {root: 0}
                for row in rows:
                    if row["level"] <= depth:
                        distance.setdefault(row[far], row["level"])
                for row in rows:
                    level = row["level"]
                    if level > depth:
                        truncated = truncated or distance.get(row[near]) == depth
                        continue
                    edges[(row["child_id"], row["parent_id"])] = row
                    depths.setdefault(row[far], sign * distance[row[far]])
            assets = queries.get_assets(conn, list(depths))  # the root among them
        if root not in assets:
            raise NotFoundError("asset", root)
        nodes = [self._node(key, level, assets.get(key)) for key, level in depths.items()]
        nodes.sort(key=lambda node: (node.depth, node.asset_id))
        return LineageView(
            root=root,
            depth=depth,
            nodes=nodes,
            edges=[
                _view(LineageEdge, row, finality(row["block_number"]))
                for _, row in sorted(edges.items())
            ],
            truncated=truncated,
        )

    @staticmethod
    def _node(key: str, depth: int, row: RowMapping | None) -> LineageNode:
        if row is None:  # a parent the index does not hold (registered before the deployment)
            return LineageNode(key, depth, False, None, None, None, None, None)
        return LineageNode(
            key,
            depth,
            True,
            checksum(row["registrant"]),
            checksum(row["holder"]),
            row["status"],
            row["category"],
            row["grade"],
        )

    # -------------------------------------------------------------- records of an asset
    def licenses(
        self, asset_id: int, *, valid_at: int | None, cursor: str | None, limit: int
    ) -> Page[LicenseView]:
        """Licenses on the asset; with ``valid_at`` (unix time) only those valid then."""

        def read(conn: Connection, key: str, after: int | None, size: int) -> list[RowMapping]:
            return queries.licenses_of(conn, key, valid_at, after, size)

        return self._records(asset_id, cursor, limit, read, LicenseView, "license_id")

    def licenses_held(self, licensee: str, cursor: str | None, limit: int) -> Page[LicenseView]:
        """Licenses granted to an account."""
        after = _first(decode_cursor(cursor, (int,)))
        with self.engine.connect() as conn:
            rows = queries.licenses_to(conn, licensee, after, limit)
            finality = self.finality_now(conn)
        items = [_view(LicenseView, row, finality(row["block_number"])) for row in rows]
        return _paged(items, rows, limit, _id_key("license_id"))

    def appraisals(self, asset_id: int, cursor: str | None, limit: int) -> Page[AppraisalView]:
        """Appraisals of the asset, current and superseded."""
        return self._records(
            asset_id,
            cursor,
            limit,
            queries.appraisals_of,
            AppraisalView,
            "appraisal_id",
            extra=lambda row: {"current": row["superseded_by"] is None},
        )

    def objections(self, asset_id: int, cursor: str | None, limit: int) -> Page[ObjectionView]:
        """Objections lodged against the asset."""
        return self._records(
            asset_id, cursor, limit, queries.objections_of, ObjectionView, "objection_id"
        )

    def disputes(self, asset_id: int, cursor: str | None, limit: int) -> Page[DisputeView]:
        """Disputes over the asset and their rulings."""
        return self._records(
            asset_id, cursor, limit, queries.disputes_of, DisputeView, "dispute_id"
        )

    def certificates(self, asset_id: int, cursor: str | None, limit: int) -> Page[CertificateView]:
        """Certificates issued for the asset."""
        return self._records(
            asset_id,
            cursor,
            limit,
            queries.certificates_of,
            CertificateView,
            "registration_number",
        )

    def export_permits(self, asset_id: int) -> list[ExportPermitView]:
        """Export permits of the asset."""
        with self.engine.connect() as conn:
            key = self._require_asset(conn, asset_id)
            rows = queries.export_permits_of(conn, key)
            finality = self.finality_now(conn)
        return [_view(ExportPermitView, row, finality(row["block_number"])) for row in rows]

    def _records(
        self,
        asset_id: int,
        cursor: str | None,
        limit: int,
        read: Callable[[Connection, str, int | None, int], list[RowMapping]],
        kind: type[T],
        id_field: str,
        extra: Callable[[RowMapping], dict[str, Any]] = lambda row: {},
    ) -> Page[T]:
        """A page of one kind of record of an asset, keyed by its numeric id."""
        after = _first(decode_cursor(cursor, (int,)))
        with self.engine.connect() as conn:
            key = self._require_asset(conn, asset_id)
            rows = read(conn, key, after, limit)
            finality = self.finality_now(conn)
        items = [_view(kind, row, finality(row["block_number"]), **extra(row)) for row in rows]
        return _paged(items, rows, limit, _id_key(id_field))

    # -------------------------------------------------------------- participants and batches
    def participant(self, account: str) -> ParticipantView:
        """The participant ``account``."""
        with self.engine.connect() as conn:
            row = queries.get_participant(conn, account)
            if row is None:
                raise NotFoundError("participant", checksum(account) or account)
            return _view(ParticipantView, row, self.finality_now(conn)(row["block_number"]))

    def participants(self, cursor: str | None, limit: int) -> Page[ParticipantView]:
        """Participants by address."""
        after = _first(decode_cursor(cursor, (str,)))
        with self.engine.connect() as conn:
            rows = queries.list_participants(conn, after, limit)
            finality = self.finality_now(conn)
        items = [_view(ParticipantView, row, finality(row["block_number"])) for row in rows]
        return _paged(items, rows, limit, _id_key("account"))

    def parties(self, accounts: Iterable[str]) -> dict[str, PartyView]:
        """How to name each of ``accounts`` (addresses, any case), by lowercase address: every
        account gets a :class:`PartyView`, named if it is a participant whose name the index
        learned."""
        keys = list(dict.fromkeys(account.lower() for account in accounts))
        if not keys:
            return {}
        with self.engine.connect() as conn:
            rows = queries.participants_among(conn, keys)
            held = queries.roles_among(conn, keys)
        found = {}
        for key in keys:
            row = rows.get(key)
            found[key] = PartyView(
                _checksummed(key),
                None if row is None else row["name"],
                None if row is None else row["jurisdiction"],
                None if row is None else row["status"],
                tuple(ROLE_WORDS[role] for role in held.get(key, ()) if role in ROLE_WORDS),
            )
        return found

    def batch(self, root: str) -> BatchView:
        """The batch anchored under ``root``."""
        with self.engine.connect() as conn:
            row = queries.get_batch(conn, root)
            if row is None:
                raise NotFoundError("batch", root)
            return _view(BatchView, row, self.finality_now(conn)(row["block_number"]))

    def batches(self, submitter: str | None, cursor: str | None, limit: int) -> Page[BatchView]:
        """Batches by root, optionally of one submitter."""
        after = _first(decode_cursor(cursor, (str,)))
        with self.engine.connect() as conn:
            rows = queries.list_batches(conn, submitter, after, limit)
            finality = self.finality_now(conn)
        items = [_view(BatchView, row, finality(row["block_number"])) for row in rows]
        return _paged(items, rows, limit, _id_key("root"))
