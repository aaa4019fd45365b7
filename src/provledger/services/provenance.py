"""Provenance answers over the index: assets, history, holders, lineage and the records of an
asset, each with its block and finality.

A :class:`Provenance` is bound to a store engine and the finality settings. Every answer is a
view of :mod:`provledger.services.views` in output form (checksummed addresses, ``0x`` hex,
decimal text for amounts); the gateway returns them as they are, the command line prints them.
Parameters are parsed by :mod:`provledger.params`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Connection, Engine, RowMapping

from provledger.chain.deploy import AUTHORITY_ROLES
from provledger.chain.ids import asset_id as asset_id_of
from provledger.chain.ids import asset_id_hex, role_id
from provledger.params import (
    MAX_PAGE,
    InvalidParameterError,
    checksum,
    decode_cursor,
    parse_hash_bytes,
)
from provledger.services.reads import (
    NotFoundError,
    event_args,
    first,
    paged,
    require_asset,
    view,
)
from provledger.services.status import chain_head, lag_of
from provledger.services.views import (
    AppraisalView,
    AssetView,
    BatchView,
    CertificateView,
    DisputeView,
    EventView,
    ExportPermitView,
    Finality,
    HolderAtView,
    HoldingView,
    LicenseView,
    LineageEdge,
    LineageNode,
    LineageView,
    ObjectionView,
    Page,
    ParticipantView,
    PartyView,
    Standing,
    StatusView,
    T,
)
from provledger.store import queries
from provledger.store.documents import words_of

MAX_LINEAGE_DEPTH: Final = 32
#: The authority roles in words, by their ``0x`` hex role id (``registrar``, ``export approver``).
ROLE_WORDS: Final = {
    "0x" + role_id(role).hex(): short.replace("-", " ") for short, role in AUTHORITY_ROLES.items()
}
MAX_SEARCH_WORDS: Final = 8


def parse_title(value: str) -> tuple[str, ...]:
    """The words of a title search, or :class:`InvalidParameterError` naming ``title``."""
    words = words_of(value)
    if not words:
        raise InvalidParameterError("title", "give at least one word (letters or digits)")
    if len(words) > MAX_SEARCH_WORDS:
        raise InvalidParameterError("title", f"at most {MAX_SEARCH_WORDS} words")
    return tuple(words)


#: The records of an asset listed by a numeric id: that id's column, by the view.
RECORD_IDS: Final[Mapping[type, str]] = {
    LicenseView: "license_id",
    AppraisalView: "appraisal_id",
    ObjectionView: "objection_id",
    DisputeView: "dispute_id",
    CertificateView: "registration_number",
}
#: The fields of a record's view that its row does not hold.
RECORD_EXTRAS: Final[Mapping[type, Callable[[RowMapping], dict[str, Any]]]] = {
    AppraisalView: lambda row: {"current": row["superseded_by"] is None},
}


def _with_args(row: RowMapping) -> dict[str, Any]:
    """An event view's decoded arguments."""
    return {"args": event_args(row)}


class Provenance:
    """Read-side answers over one index."""

    def __init__(self, engine: Engine, *, confirmations: int, finality_depth: int) -> None:
        self.engine = engine
        self.confirmations = confirmations
        self.finality_depth = finality_depth

    # -------------------------------------------------------------- finality
    def finality_now(self, conn: Connection) -> Callable[[int], Finality]:
        """The finality of a block, as of the index's position on ``conn``."""
        return self.finality_of(queries.index_position(conn))

    def finality_of(self, position: queries.IndexPosition | None) -> Callable[[int], Finality]:
        return self.finality_at(position.head_block if position is not None else 0)

    def finality_at(self, head: int) -> Callable[[int], Finality]:
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
            head_block=chain_head(position),
            indexed_block=position.indexed_block,
            indexed_block_hash=position.indexed_hash,
            lag_blocks=lag_of(position),
            confirmations=self.confirmations,
            finality_depth=self.finality_depth,
            events=events,
            updated_at=position.updated_at,
        )

    # -------------------------------------------------------------- assets
    def asset(self, asset_id: int) -> AssetView:
        """The asset ``asset_id``; :class:`NotFoundError` if it was never registered."""
        return self.asset_and_head(asset_id)[0]

    def asset_and_head(self, asset_id: int) -> tuple[AssetView, int]:
        """:meth:`asset`, with the chain head its finality was reckoned at (read with it)."""
        key = asset_id_hex(asset_id)
        with self.engine.connect() as conn:
            row = queries.get_asset_at_head(conn, key)
        if row is None:
            raise NotFoundError("asset", key)
        head = row["index_head"] or 0
        return view(AssetView, row, self.finality_at(head)(row["block_number"])), head

    def asset_by_content(self, content_hash: str) -> AssetView:
        """The asset registered for a content hash (its id is derived from the hash)."""
        return self.asset(asset_id_of(parse_hash_bytes(content_hash, "hash")))

    def assets(self, where: queries.AssetFilter, cursor: str | None, limit: int) -> Page[AssetView]:
        """Assets matching ``where``, by asset id."""

        def read(conn: Connection, after: str | None) -> list[RowMapping]:
            return queries.list_assets(conn, where, after, limit)

        return self.page(AssetView, (("asset_id", str),), cursor, limit, read)

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
        finality = self.finality_of(position)
        return Standing(
            view(AssetView, row, finality(row["block_number"])),
            disputes,
            [view(LicenseView, item, finality(item["block_number"])) for item in licenses],
            now,
        )

    def asset_of_registration(self, registration_number: int) -> str | None:
        """The id of the asset certified under ``registration_number``, if any."""
        with self.engine.connect() as conn:
            return queries.asset_of_registration(conn, registration_number)

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
        return [view(AssetView, row, finality(row["block_number"])) for row in rows]

    # -------------------------------------------------------------- history and holders
    def history(self, asset_id: int, cursor: str | None, limit: int) -> Page[EventView]:
        """Every event concerning the asset, in chain order."""

        def read(conn: Connection, after: list[int] | None) -> list[RowMapping]:
            return queries.asset_events(conn, require_asset(conn, asset_id), after, limit)

        order = (("block_number", int), ("log_index", int))
        return self.page(EventView, order, cursor, limit, read, extra=_with_args)

    def holders(self, asset_id: int, cursor: str | None, limit: int) -> Page[HoldingView]:
        """The holder periods of the asset, in chain order."""

        def read(conn: Connection, after: list[int] | None) -> list[RowMapping]:
            return queries.holdings_of(conn, require_asset(conn, asset_id), after, limit)

        order = (("from_block", int), ("from_log", int))
        return self.page(HoldingView, order, cursor, limit, read, block="from_block")

    def holder_at(self, asset_id: int, *, block: int | None, timestamp: int | None) -> HolderAtView:
        """Who held the asset at the end of ``block``, or at unix time ``timestamp``."""
        if (block is None) == (timestamp is None):
            raise InvalidParameterError("block", "give exactly one of block and time")
        with self.engine.connect() as conn:
            key = require_asset(conn, asset_id)
            if block is not None:
                row = queries.holding_at_block(conn, key, block)
            else:
                assert timestamp is not None
                row = queries.holding_at_time(conn, key, timestamp)
            finality = self.finality_now(conn)
        if row is None:
            when = f"block {block}" if block is not None else f"time {timestamp}"
            raise NotFoundError("holder of the asset at", when)
        period = view(HoldingView, row, finality(row["from_block"]))
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
            depths: dict[str, int] = {root: 0}
            edges: dict[tuple[str, str], Mapping[str, Any]] = {}
            truncated = False
            walked = queries.lineage_walks(
                conn, root, depth, up=direction != "down", down=direction != "up"
            )
            for upward, rows in walked.items():
                sign, far, near = (
                    (-1, "parent_id", "child_id") if upward else (1, "child_id", "parent_id")
                )
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
        finality = self.finality_at(assets[root]["index_head"] or 0)
        nodes = [self._node(key, level, assets.get(key)) for key, level in depths.items()]
        nodes.sort(key=lambda node: (node.depth, node.asset_id))
        return LineageView(
            root=root,
            depth=depth,
            nodes=nodes,
            edges=[
                view(LineageEdge, row, finality(row["block_number"]))
                for _, row in sorted(edges.items())
            ],
            truncated=truncated,
        )

    @staticmethod
    def _node(key: str, depth: int, row: Mapping[str, Any] | None) -> LineageNode:
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

        return self._records(LicenseView, asset_id, cursor, limit, read)

    def licenses_held(self, licensee: str, cursor: str | None, limit: int) -> Page[LicenseView]:
        """Licenses granted to an account."""

        def read(conn: Connection, after: int | None) -> list[RowMapping]:
            return queries.licenses_to(conn, licensee, after, limit)

        return self.page(LicenseView, (("license_id", int),), cursor, limit, read)

    def appraisals(self, asset_id: int, cursor: str | None, limit: int) -> Page[AppraisalView]:
        """Appraisals of the asset, current and superseded."""
        return self._records(AppraisalView, asset_id, cursor, limit, queries.appraisals_of)

    def objections(self, asset_id: int, cursor: str | None, limit: int) -> Page[ObjectionView]:
        """Objections lodged against the asset."""
        return self._records(ObjectionView, asset_id, cursor, limit, queries.objections_of)

    def disputes(self, asset_id: int, cursor: str | None, limit: int) -> Page[DisputeView]:
        """Disputes over the asset and their rulings."""
        return self._records(DisputeView, asset_id, cursor, limit, queries.disputes_of)

    def certificates(self, asset_id: int, cursor: str | None, limit: int) -> Page[CertificateView]:
        """Certificates issued for the asset."""
        return self._records(CertificateView, asset_id, cursor, limit, queries.certificates_of)

    def export_permits(self, asset_id: int) -> list[ExportPermitView]:
        """Export permits of the asset."""
        with self.engine.connect() as conn:
            key = require_asset(conn, asset_id)
            rows = queries.export_permits_of(conn, key)
            finality = self.finality_now(conn)
        return [view(ExportPermitView, row, finality(row["block_number"])) for row in rows]

    def _records(
        self,
        kind: type[T],
        asset_id: int,
        cursor: str | None,
        limit: int,
        read: Callable[[Connection, str, int | None, int], list[RowMapping]],
    ) -> Page[T]:
        """A page of one kind of record of an asset (:data:`RECORD_IDS`), by its numeric id."""

        def rows(conn: Connection, after: int | None) -> list[RowMapping]:
            return read(conn, require_asset(conn, asset_id), after, limit)

        order = ((RECORD_IDS[kind], int),)
        return self.page(kind, order, cursor, limit, rows, extra=RECORD_EXTRAS.get(kind))

    # -------------------------------------------------------------- participants and batches
    def participant(self, account: str) -> ParticipantView:
        """The participant ``account``."""
        with self.engine.connect() as conn:
            row = queries.get_participant(conn, account)
            if row is None:
                raise NotFoundError("participant", checksum(account))
            return view(ParticipantView, row, self.finality_now(conn)(row["block_number"]))

    def participants(self, cursor: str | None, limit: int) -> Page[ParticipantView]:
        """Participants by address."""

        def read(conn: Connection, after: str | None) -> list[RowMapping]:
            return queries.list_participants(conn, after, limit)

        return self.page(ParticipantView, (("account", str),), cursor, limit, read)

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
                checksum(key),
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
            return view(BatchView, row, self.finality_now(conn)(row["block_number"]))

    def batches(self, submitter: str | None, cursor: str | None, limit: int) -> Page[BatchView]:
        """Batches by root, optionally of one submitter."""

        def read(conn: Connection, after: str | None) -> list[RowMapping]:
            return queries.list_batches(conn, submitter, after, limit)

        return self.page(BatchView, (("root", str),), cursor, limit, read)

    # -------------------------------------------------------------- pages
    def page(
        self,
        kind: type[T],
        order: Sequence[tuple[str, type]],
        cursor: str | None,
        limit: int,
        read: Callable[[Connection, Any], list[RowMapping]],
        *,
        block: str = "block_number",
        extra: Callable[[RowMapping], dict[str, Any]] | None = None,
    ) -> Page[T]:
        """A page of ``kind`` in ``order`` (its key columns and their types): ``read(conn,
        after)`` reads up to ``limit`` rows past the cursor's key (the key's one value when
        ``order`` has one column); each view has the finality of its row's ``block``, and the
        fields ``extra(row)`` gives."""
        after = decode_cursor(cursor, [kind_of for _, kind_of in order])
        with self.engine.connect() as conn:
            rows = read(conn, after if len(order) > 1 else first(after))
            finality = self.finality_now(conn)
        items = [
            view(kind, row, finality(row[block]), **(extra(row) if extra else {})) for row in rows
        ]
        return paged(items, rows, limit, lambda row: [row[column] for column, _ in order])
