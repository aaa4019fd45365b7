"""The data room's access log (:mod:`provledger.store.access_log`) on SQLite and PostgreSQL:
records as stored, finishing, the pending selection, batch assignment and its conflicts, and
newest-first paging by cursor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers.stores import database
from provledger.errors import InputError
from provledger.params import InvalidParameterError
from provledger.store.access_log import (
    AccessBatch,
    AccessBatchConflictError,
    AccessLogStore,
    AccessRecord,
    now_ms,
)

ASSET = 0xAB
OTHER_ASSET = 0xCD
REQUESTER = "0x5b38da6a701c568545dcfcb03fcb875f56beddc4"
REQUESTER_CHECKSUMMED = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"
HOUR_MS = 3_600_000


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AccessLogStore]:
    """An access log on a fresh database."""
    with database(request.param, tmp_path, "access") as url, AccessLogStore.open(url) as opened:
        yield opened


def _grant(store: AccessLogStore, **overrides: Any) -> AccessRecord:
    values: dict[str, Any] = {
        "requester": REQUESTER,
        "asset_id": ASSET,
        "licence_id": 7,
        "purpose": "research",
        "ranges": "bytes=0-99",
        "path": "",
        "decision": "granted",
        "rule": "licensee",
        "reason": "licence 7 is valid",
        "block_number": 42,
    }
    return store.record(**(values | overrides))


def _refuse(store: AccessLogStore, **overrides: Any) -> AccessRecord:
    values: dict[str, Any] = {
        "decision": "refused",
        "rule": "NoValidLicence",
        "reason": "no licence",
        "licence_id": None,
        "ranges": "",
    }
    return _grant(store, **(values | overrides))


def _batch(root_byte: int, count: int) -> AccessBatch:
    return AccessBatch(
        root="0x" + f"{root_byte:02x}" * 32,
        leaf_count=count,
        tx_hash="0x" + "ee" * 32,
        block_number=99,
        anchored_at=1_700_000_000_000,
        submitter=REQUESTER_CHECKSUMMED,
        chain_id=31337,
        contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    )


def test_a_record_is_stored_as_given_with_the_requester_checksummed(
    store: AccessLogStore,
) -> None:
    granted = _grant(store, at_ms=1_700_000_000_123, path="data/a.csv")
    assert len(granted.record_id) == 32
    assert int(granted.record_id, 16) >= 0
    assert granted == AccessRecord(
        record_id=granted.record_id,
        requester=REQUESTER_CHECKSUMMED,
        asset_id="0x" + "0" * 62 + "ab",
        licence_id=7,
        purpose="research",
        ranges="bytes=0-99",
        path="data/a.csv",
        bytes=0,
        decision="granted",
        rule="licensee",
        reason="licence 7 is valid",
        at_ms=1_700_000_000_123,
        block_number=42,
        finished=False,
        batch_root=None,
        leaf_index=None,
    )
    assert store.record_of(granted.record_id) == granted
    refused = _refuse(store)
    assert (refused.finished, refused.bytes, refused.licence_id) == (True, 0, None)
    assert store.record_of(refused.record_id) == refused
    assert store.record_of("0" * 32) is None


def test_a_record_refuses_an_unknown_decision_and_a_bad_requester(store: AccessLogStore) -> None:
    with pytest.raises(InputError, match="granted or refused, not 'maybe'"):
        _grant(store, decision="maybe")
    with pytest.raises(InvalidParameterError, match="requester: an address is 0x and 40 hex"):
        _grant(store, requester="0x1234")


def test_finish_sets_the_bytes_sent_once(store: AccessLogStore) -> None:
    granted = _grant(store)
    assert store.finish(granted.record_id, 100)
    stored = store.record_of(granted.record_id)
    assert stored is not None
    assert (stored.finished, stored.bytes) == (True, 100)
    assert not store.finish(granted.record_id, 5)  # already finished
    assert not store.finish(_refuse(store).record_id, 5)  # a refusal is finished at once
    assert not store.finish("0" * 32, 5)  # unknown
    again = store.record_of(granted.record_id)
    assert again is not None
    assert again.bytes == 100


def test_pending_holds_finished_records_and_downloads_cut_off(store: AccessLogStore) -> None:
    now = now_ms()
    running = _grant(store, at_ms=now - 1000)  # begun a second ago: still running
    cut_off = _grant(store, at_ms=now - 2 * HOUR_MS)  # begun two hours ago, never finished
    refused = _refuse(store, at_ms=now - 500)
    done = _grant(store, at_ms=now - 3 * HOUR_MS)
    store.finish(done.record_id, 64)
    found = store.pending(10, older_than_ms=HOUR_MS)
    assert [record.record_id for record in found] == [
        done.record_id,
        cut_off.record_id,
        refused.record_id,
    ]
    assert [record.record_id for record in store.pending(2, older_than_ms=HOUR_MS)] == [
        done.record_id,
        cut_off.record_id,
    ]
    everything = store.pending(10, older_than_ms=0)
    assert running.record_id in [record.record_id for record in everything]


def test_assign_batch_stores_it_and_sets_the_leaf_indices(store: AccessLogStore) -> None:
    first, second = _refuse(store, at_ms=1), _refuse(store, at_ms=2)
    later = _refuse(store, at_ms=3)
    batch = _batch(0x11, 2)
    store.assign_batch(batch, [second, first])
    assert store.batch_of(batch.root) == batch
    assert store.batch_of("0x" + "22" * 32) is None
    members = store.records_of_batch(batch.root)
    assert [(r.record_id, r.leaf_index, r.batch_root) for r in members] == [
        (second.record_id, 0, batch.root),
        (first.record_id, 1, batch.root),
    ]
    assert [record.record_id for record in store.pending(10, 0)] == [later.record_id]


def test_a_record_in_a_batch_no_longer_changes(store: AccessLogStore) -> None:
    now = now_ms()
    cut_off = _grant(store, at_ms=now - 2 * HOUR_MS)
    (selected,) = store.pending(10, older_than_ms=HOUR_MS)
    store.assign_batch(_batch(0x11, 1), [selected])
    assert not store.finish(cut_off.record_id, 100)
    stored = store.record_of(cut_off.record_id)
    assert stored is not None
    assert (stored.finished, stored.bytes, stored.leaf_index) == (False, 0, 0)


def test_a_record_already_batched_refuses_the_whole_batch(store: AccessLogStore) -> None:
    first, second = _refuse(store, at_ms=1), _refuse(store, at_ms=2)
    store.assign_batch(_batch(0x11, 1), [second])
    with pytest.raises(AccessBatchConflictError, match=f"record {second.record_id} is in another"):
        store.assign_batch(_batch(0x22, 2), [first, second])
    assert store.batch_of("0x" + "22" * 32) is None
    assert [record.record_id for record in store.pending(10, 0)] == [first.record_id]


def test_a_download_finished_after_it_was_read_refuses_the_batch(store: AccessLogStore) -> None:
    now = now_ms()
    cut_off = _grant(store, at_ms=now - 2 * HOUR_MS)
    (selected,) = store.pending(10, older_than_ms=HOUR_MS)
    assert store.finish(cut_off.record_id, 100)  # it finished after all, while being batched
    with pytest.raises(AccessBatchConflictError):
        store.assign_batch(_batch(0x11, 1), [selected])
    assert store.batch_of("0x" + "11" * 32) is None
    (pending,) = store.pending(10, older_than_ms=HOUR_MS)
    assert (pending.bytes, pending.batch_root) == (100, None)


def test_a_batch_needs_one_record_per_leaf(store: AccessLogStore) -> None:
    with pytest.raises(InputError, match="a batch of 2 leaves was given 1 records"):
        store.assign_batch(_batch(0x11, 2), [_refuse(store)])


def test_records_of_an_asset_page_newest_first(store: AccessLogStore) -> None:
    made = [_refuse(store, at_ms=at) for at in (10, 20, 20, 20, 30)]
    _refuse(store, asset_id=OTHER_ASSET, at_ms=25)
    expected = sorted(made, key=lambda record: record.page_key, reverse=True)
    pages: list[list[str]] = []
    after = None
    while True:
        page = store.records_of_asset(ASSET, after, 2)
        if not page:
            break
        pages.append([record.record_id for record in page])
        after = page[-1].page_key
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [rid for page in pages for rid in page] == [record.record_id for record in expected]
    assert [r.at_ms for r in store.records_of_assets([ASSET, OTHER_ASSET], None, 3)] == [
        30,
        25,
        20,
    ]
    assert store.records_of_asset(0xEF, None, 10) == []
