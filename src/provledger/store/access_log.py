"""The data room's access log: one record per delivery decision, and the batches that anchor
them on chain.

Every request for an asset's bytes leaves a record, granted or refused, in the database of the
gateway (apart from the index, which the indexer alone writes). Records are later gathered into
Merkle batches whose roots are anchored through ``BatchAnchor``
(:mod:`provledger.services.delivery.accesslog`); a record in a batch is evidence and never
changes again, which :meth:`AccessLogStore.finish` and :meth:`AccessLogStore.assign_batch`
enforce.

A record's ``bytes`` is what was sent: zero until a granted download finishes, and a download
cut off before it finishes is anchored with what the record held then.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    insert,
    or_,
    select,
    update,
)

from provledger.errors import InputError, ProvledgerError
from provledger.params import checksum, parse_address
from provledger.store import schema
from provledger.store.columns import address, block, column, hex_hash
from provledger.store.write_turns import TurnTakingStore

Decision = Literal["granted", "refused"]
DECISIONS: Final[frozenset[str]] = frozenset({"granted", "refused"})

#: The access log's tables, with the index's naming convention.
metadata = schema.new_metadata()


def _millis(name: str) -> Column[int]:
    """A time in milliseconds since 1970 (UTC)."""
    return column(name, BigInteger)


access_records = Table(
    "access_records",
    metadata,
    column("record_id", String(32), primary_key=True),  # uuid4, hex
    column("requester", String(42)),  # checksummed
    hex_hash("asset_id"),
    column("licence_id", BigInteger, nullable=True),  # the licence a grant relied on
    column("purpose", Text),
    column("ranges", Text),  # the Range header asked, e.g. "bytes=0-99"; "" for the whole
    column("path", Text),  # the file inside a folder asset; "" for a file asset
    column("bytes", BigInteger),  # bytes sent
    column("decision", String(8)),  # granted | refused
    column("rule", String(64)),  # "holder", "licensee" or the refusal's name
    column("reason", Text),
    _millis("at_ms"),
    block(),  # the head the decision read the contracts at
    column("finished", Boolean),  # the response was sent to its end (refusals: at once)
    hex_hash("batch_root", nullable=True),
    column("leaf_index", Integer, nullable=True),
    Index(None, "asset_id", "at_ms", "record_id"),
    Index(None, "batch_root", "at_ms"),
    Index(None, "batch_root", "leaf_index"),
)

access_batches = Table(
    "access_batches",
    metadata,
    hex_hash("root", primary_key=True),
    column("leaf_count", Integer),
    hex_hash("tx_hash"),
    block(),
    _millis("anchored_at"),  # the anchoring block's time
    address("submitter"),  # checksummed
    column("chain_id", BigInteger),
    address("contract"),  # the BatchAnchor, checksummed
)


@dataclass(frozen=True)
class AccessRecord:
    """One delivery decision and what was sent."""

    record_id: str
    requester: str
    """Checksummed."""
    asset_id: str
    """``0x`` and 64 lowercase hex digits."""
    licence_id: int | None
    purpose: str
    ranges: str
    path: str
    bytes: int
    decision: str
    """``granted`` or ``refused``."""
    rule: str
    reason: str
    at_ms: int
    block_number: int
    finished: bool
    batch_root: str | None
    leaf_index: int | None

    @property
    def page_key(self) -> tuple[int, str]:
        """Where a page that ends with this record ends (``after`` of the next page)."""
        return self.at_ms, self.record_id


@dataclass(frozen=True)
class AccessBatch:
    """A batch of access records anchored on chain."""

    root: str
    leaf_count: int
    tx_hash: str
    block_number: int
    anchored_at: int
    """The anchoring block's time, in milliseconds."""
    submitter: str
    chain_id: int
    contract: str
    """The ``BatchAnchor`` that holds the root."""


class AccessBatchConflictError(ProvledgerError):
    """A batch names a record that is already in a batch, or changed since it was read; the
    batch is not stored and its records stay pending."""

    template = "access record {record_id} is in another batch or changed since it was read"
    record_id: str


def now_ms() -> int:
    """Wall-clock milliseconds."""
    return int(time.time() * 1000)


def _record_of(row: Any) -> AccessRecord:
    return AccessRecord(**row._mapping)


def _batch_of(row: Any) -> AccessBatch:
    return AccessBatch(**row._mapping)


class AccessLogStore(TurnTakingStore):
    """The access log in one database (SQLite or PostgreSQL); its tables are created on open."""

    metadata = metadata

    # ------------------------------------------------------------ records
    def record(
        self,
        *,
        requester: str,
        asset_id: int,
        licence_id: int | None,
        purpose: str,
        ranges: str,
        path: str,
        decision: Decision,
        rule: str,
        reason: str,
        block_number: int,
        bytes_sent: int = 0,
        at_ms: int | None = None,
    ) -> AccessRecord:
        """Log one decision; a refusal is finished at once, a grant when :meth:`finish` says
        its bytes were sent."""
        if decision not in DECISIONS:
            raise InputError(f"an access decision is granted or refused, not {decision!r}")
        values: dict[str, Any] = {
            "record_id": uuid.uuid4().hex,
            "requester": checksum(parse_address(requester, "requester")),
            "asset_id": f"0x{asset_id:064x}",
            "licence_id": licence_id,
            "purpose": purpose,
            "ranges": ranges,
            "path": path,
            "bytes": bytes_sent,
            "decision": decision,
            "rule": rule,
            "reason": reason,
            "at_ms": now_ms() if at_ms is None else at_ms,
            "block_number": block_number,
            "finished": decision == "refused",
            "batch_root": None,
            "leaf_index": None,
        }
        with self._transaction() as conn:
            conn.execute(insert(access_records).values(**values))
        return AccessRecord(**values)

    def finish(self, record_id: str, bytes_sent: int) -> bool:
        """Record that a granted response ended having sent ``bytes_sent`` bytes; False (and
        nothing changed) if the record is unknown, finished or already in a batch."""
        with self._transaction() as conn:
            changed = conn.execute(
                update(access_records)
                .where(
                    access_records.c.record_id == record_id,
                    access_records.c.finished.is_(False),
                    access_records.c.batch_root.is_(None),
                )
                .values(finished=True, bytes=bytes_sent)
            ).rowcount
        return bool(changed)

    def record_of(self, record_id: str) -> AccessRecord | None:
        """The record ``record_id``, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(access_records).where(access_records.c.record_id == record_id)
            ).first()
        return None if row is None else _record_of(row)

    def pending(self, limit: int, older_than_ms: int) -> list[AccessRecord]:
        """Up to ``limit`` records in no batch yet, oldest first: the finished ones, and the
        unfinished ones begun more than ``older_than_ms`` ago (a download cut off is logged
        too, with the bytes its record holds)."""
        cutoff = now_ms() - older_than_ms
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(access_records)
                .where(
                    access_records.c.batch_root.is_(None),
                    or_(access_records.c.finished.is_(True), access_records.c.at_ms < cutoff),
                )
                .order_by(access_records.c.at_ms, access_records.c.record_id)
                .limit(limit)
            )
            return [_record_of(row) for row in rows]

    def records_of_asset(
        self, asset_id: int, after: tuple[int, str] | None, limit: int
    ) -> list[AccessRecord]:
        """The records of one asset, newest first; ``after`` is the :attr:`~AccessRecord.page_key`
        of the last record of the page before."""
        return self.records_of_assets((asset_id,), after, limit)

    def records_of_assets(
        self, asset_ids: Collection[int], after: tuple[int, str] | None, limit: int
    ) -> list[AccessRecord]:
        """The records of any of ``asset_ids`` (a holder's assets), newest first; ``after`` as
        in :meth:`records_of_asset`."""
        table = access_records.c
        conditions: list[ColumnElement[bool]] = [
            table.asset_id.in_([f"0x{asset:064x}" for asset in asset_ids])
        ]
        if after is not None:
            at_ms, record_id = after
            conditions.append(
                or_(table.at_ms < at_ms, and_(table.at_ms == at_ms, table.record_id < record_id))
            )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(access_records)
                .where(*conditions)
                .order_by(table.at_ms.desc(), table.record_id.desc())
                .limit(limit)
            )
            return [_record_of(row) for row in rows]

    # ------------------------------------------------------------ batches
    def assign_batch(self, batch: AccessBatch, records: Sequence[AccessRecord]) -> None:
        """Store ``batch`` and put ``records`` in it, the leaf index of each its position.

        ``records`` are as they were read and hashed: if one has gone into another batch or its
        bytes changed since (a download that finished meanwhile), nothing is stored
        (:class:`AccessBatchConflictError`) and the records stay pending for the next batch.
        """
        if len(records) != batch.leaf_count:
            raise InputError(
                f"a batch of {batch.leaf_count} leaves was given {len(records)} records"
            )
        table = access_records.c
        with self._transaction() as conn:
            for index, record in enumerate(records):
                changed = conn.execute(
                    update(access_records)
                    .where(
                        table.record_id == record.record_id,
                        table.batch_root.is_(None),
                        table.bytes == record.bytes,
                    )
                    .values(batch_root=batch.root, leaf_index=index)
                ).rowcount
                if not changed:
                    raise AccessBatchConflictError(record.record_id)
            conn.execute(insert(access_batches).values(**vars(batch)))

    def batch_of(self, root: str) -> AccessBatch | None:
        """The batch with ``root`` (``0x`` and 64 lowercase hex digits), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(access_batches).where(access_batches.c.root == root)).first()
        return None if row is None else _batch_of(row)

    def records_of_batch(self, root: str) -> list[AccessRecord]:
        """The records of the batch ``root``, in leaf order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(access_records)
                .where(access_records.c.batch_root == root)
                .order_by(access_records.c.leaf_index)
            )
            return [_record_of(row) for row in rows]
