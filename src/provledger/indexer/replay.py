"""An index of the chain as it stood at a past block, replayed from another index's events log:
every event up to that block goes through the projector again, in chain order, into a store of
its own. What the blob folder taught the source index (names, titles, manifests) is copied.

The answer is what a fresh index of the chain cut at that block holds, read from the source
index's log instead of from a node: the GraphQL API's queries ``as of`` a block read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import Connection, Engine, and_, or_, select

from provledger.indexer import projector
from provledger.indexer.decoding import event_rows, stored_row
from provledger.store import document_tables, schema
from provledger.store.eventargs import unpack_args
from provledger.store.index import (
    META_CHAIN,
    META_DEPLOYMENT,
    META_START,
    Checkpoint,
    Identity,
    IndexStore,
)
from provledger.store.records import LogRecord

#: Events read and projected per transaction.
CHUNK: Final = 5_000

#: The tables of what the blob folder taught an index: copied as they are.
DOCUMENT_TABLES: Final = (
    document_tables.documents,
    document_tables.metadata_titles,
    document_tables.title_words,
    document_tables.names,
    document_tables.batch_manifests,
    document_tables.batch_leaves,
    document_tables.access_manifests,
    document_tables.access_batch_assets,
    document_tables.committed_fields,
)


def _identity(conn: Connection) -> Identity:
    meta = dict(conn.execute(select(schema.meta.c.key, schema.meta.c.value)).all())
    return Identity(int(meta[META_CHAIN]), str(meta[META_DEPLOYMENT]), int(meta[META_START]))


def _record(row: Any) -> LogRecord:
    values = unpack_args(row["args"], row["asset_id"])
    return LogRecord(
        row["block_number"],
        row["log_index"],
        row["block_hash"],
        row["block_time"],
        row["tx_hash"],
        row["tx_index"],
        row["contract"],
        row["event"],
        stored_row(row["event"], values),
    )


#: The checkpoint's hash where the source index knows none at or before the block.
NO_HASH: Final = "0x" + "00" * 32


def last_event_block_hash(conn: Connection, block: int) -> str | None:
    """The hash of the last block with events at or before ``block`` (None before the first):
    the block whose state a replay to ``block`` ends with."""
    event_blocks = schema.event_blocks
    found = conn.execute(
        select(event_blocks.c.block_hash)
        .where(event_blocks.c.block_number <= block)
        .order_by(event_blocks.c.block_number.desc())
        .limit(1)
    ).scalar()
    return None if found is None else str(found)


def _block_hash(conn: Connection, block: int) -> str:
    """The hash of ``block`` if the source index knows it (its unfinalized window), else that
    of the last block with events at or before it."""
    blocks = schema.blocks
    found = conn.execute(select(blocks.c.block_hash).where(blocks.c.block_number == block)).scalar()
    if found is None:
        found = last_event_block_hash(conn, block)
    return NO_HASH if found is None else str(found)


def replay(
    source: Engine,
    target: Engine,
    block: int,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Fill ``target`` (an empty store) with the index of the chain at ``block``, replayed
    from the events ``source`` holds; return the events replayed. ``on_progress`` hears the
    running count after each chunk."""
    store = IndexStore(target)
    events = schema.events
    done = 0
    with source.connect() as conn:
        store.prepare(_identity(conn))
        end_hash = _block_hash(conn, block)
        after: tuple[int, int] | None = None
        while True:
            query = schema.positioned_events().where(events.c.block_number <= block)
            if after is not None:
                query = query.where(
                    or_(
                        events.c.block_number > after[0],
                        and_(events.c.block_number == after[0], events.c.log_index > after[1]),
                    )
                )
            query = query.order_by(events.c.block_number, events.c.log_index).limit(CHUNK)
            records = [_record(row) for row in conn.execute(query).mappings()]
            last = len(records) < CHUNK
            store.write_batch(
                records,
                event_rows(records),
                project=projector.project,
                checkpoint=Checkpoint(
                    block if last else records[-1].block_number,
                    end_hash if last else records[-1].block_hash,
                    block,
                ),
                headers=(),
                undo_from_block=None,
                prune_below=block + 1,
            )
            done += len(records)
            if on_progress is not None:
                on_progress(done)
            if last:
                break
            after = (records[-1].block_number, records[-1].log_index)
        _copy_documents(conn, target)
    return done


def _copy_documents(source: Connection, target: Engine) -> None:
    with target.begin() as conn:
        for table in DOCUMENT_TABLES:
            rows = [dict(row) for row in source.execute(select(table)).mappings()]
            if rows:
                conn.execute(table.insert(), rows)
