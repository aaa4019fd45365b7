"""The provable access log (:mod:`provledger.services.delivery.accesslog`) on anvil: record
hashes, batches anchored through ``BatchAnchor`` by a participant, receipts that verify, and
every altered field of a receipt failing the check that reads it."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from hexbytes import HexBytes
from sqlalchemy import update

from helpers.assertions import reverts
from helpers.world import World
from provledger.chain.enums import ParticipantStatus
from provledger.chain.events import decode_batch_anchored
from provledger.merkle import StandardMerkleTree, batch_leaf_hash
from provledger.services.delivery.accesslog import (
    RECEIPT_FORMAT,
    AccessLogAlteredError,
    AnchoredBatch,
    ReceiptNotReadyError,
    UnknownAccessRecordError,
    anchor_pending,
    iso_millis,
    receipt_of,
    record_hash,
)
from provledger.services.delivery.receipts import CHECKS, ReceiptVerdict, verify_receipt
from provledger.store.access_log import (
    AccessLogStore,
    AccessRecord,
    access_records,
    now_ms,
)
from provledger.store.documents import access_log_uri

ASSET: Final = 0x1234
OTHER_ADDRESS: Final = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"
NOWHERE: Final = "0x" + "77" * 32


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AccessLogStore]:
    """An access log in a fresh SQLite file (the store suite runs both backends)."""
    with AccessLogStore.open(f"sqlite:///{tmp_path / 'access.sqlite'}") as opened:
        yield opened


def _record(store: AccessLogStore, world: World, **overrides: Any) -> AccessRecord:
    values: dict[str, Any] = {
        "requester": world.bob.address,
        "asset_id": ASSET,
        "licence_id": 3,
        "purpose": "training a model",
        "ranges": "bytes=0-1023",
        "path": "",
        "decision": "granted",
        "rule": "licensee",
        "reason": "licence 3 is valid until 2027",
        "block_number": world.w3.eth.block_number,
    }
    return store.record(**(values | overrides))


def _download(store: AccessLogStore, world: World, size: int, **overrides: Any) -> AccessRecord:
    record = _record(store, world, **overrides)
    assert store.finish(record.record_id, size)
    finished = store.record_of(record.record_id)
    assert finished is not None
    return finished


@dataclass
class Anchored:
    """Three records anchored by erin in one batch, and their receipts."""

    world: World
    store: AccessLogStore
    batch: AnchoredBatch
    receipts: dict[str, dict[str, Any]]

    @property
    def anchor_address(self) -> str:
        return self.world.erin.anchor.address

    def receipt(self, index: int = 0) -> dict[str, Any]:
        """A fresh copy of the receipt of the batch's record ``index``, free to alter."""
        return copy.deepcopy(self.receipts[self.batch.record_ids[index]])

    def verify(self, receipt: dict[str, Any]) -> ReceiptVerdict:
        return verify_receipt(receipt, self.world.w3, self.anchor_address)


@pytest.fixture
def anchored(anvil_world: World, store: AccessLogStore) -> Anchored:
    world = anvil_world
    _download(store, world, 1024)
    _record(store, world, decision="refused", rule="NoValidLicence", reason="no licence")
    _download(store, world, 10, path="data/ä.csv", ranges="", purpose="audit — 2025")
    batch = anchor_pending(store, world.erin)
    assert batch is not None
    receipts = {record_id: receipt_of(store, record_id) for record_id in batch.record_ids}
    return Anchored(world, store, batch, receipts)


def test_a_record_hash_is_sha256_of_its_canonical_evidence() -> None:
    record = AccessRecord(
        record_id="0123456789abcdef0123456789abcdef",
        requester=OTHER_ADDRESS,
        asset_id="0x" + "00" * 31 + "2a",
        licence_id=None,
        purpose="étude",
        ranges="bytes=0-99",
        path="a/b.csv",
        bytes=100,
        decision="granted",
        rule="holder",
        reason="the requester holds the asset",
        at_ms=1_700_000_000_123,
        block_number=7,
        finished=True,
        batch_root=None,
        leaf_index=None,
    )
    canonical = (
        '{"asset_id":"0x000000000000000000000000000000000000000000000000000000000000002a",'
        '"at":"2023-11-14T22:13:20.123Z","block_number":7,"bytes":100,"decision":"granted",'
        '"licence_id":null,"path":"a/b.csv","purpose":"étude","ranges":"bytes=0-99",'
        '"reason":"the requester holds the asset","record_id":"0123456789abcdef0123456789abcdef",'
        '"requester":"0x5B38Da6a701c568545dCfcB03FcB875f56beddC4","rule":"holder"}'
    )
    assert record_hash(record) == hashlib.sha256(canonical.encode("utf-8")).digest()
    assert iso_millis(0) == "1970-01-01T00:00:00.000Z"
    assert iso_millis(86_400_000 - 1) == "1970-01-01T23:59:59.999Z"


def test_nothing_pending_anchors_nothing(anvil_world: World, store: AccessLogStore) -> None:
    _record(store, anvil_world)  # a download still running
    assert anchor_pending(store, anvil_world.erin) is None


def test_a_batch_is_anchored_by_the_participant_and_stored(anchored: Anchored) -> None:
    world, batch = anchored.world, anchored.batch.batch
    records = [anchored.store.record_of(rid) for rid in anchored.batch.record_ids]
    assert [record.leaf_index if record else None for record in records] == [0, 1, 2]
    tree = StandardMerkleTree.batch([record_hash(record) for record in records if record])
    assert batch.root == "0x" + tree.root.hex()
    assert (batch.leaf_count, batch.submitter, batch.contract) == (
        3,
        world.erin.address,
        world.erin.anchor.address,
    )
    assert batch.chain_id == world.w3.eth.chain_id
    on_chain = world.erin.anchor.batch(tree.root)
    assert on_chain is not None
    assert (on_chain.submitter, on_chain.leaf_count) == (world.erin.address, 3)
    assert batch.anchored_at == on_chain.anchored_at * 1000
    tx = world.w3.eth.get_transaction_receipt(HexBytes(batch.tx_hash))
    assert int(tx["blockNumber"]) == batch.block_number
    (log,) = tx["logs"]
    event = decode_batch_anchored([bytes(t) for t in log["topics"]], bytes(log["data"]))
    assert (event.root, event.submitter, event.leaf_count, event.manifest_uri) == (
        tree.root,
        world.erin.address,
        3,
        access_log_uri(anchored.batch.manifest),
    )
    assert anchored.store.pending(10, 0) == []
    assert anchor_pending(anchored.store, world.erin) is None


def test_every_receipt_of_the_batch_verifies(anchored: Anchored) -> None:
    for index, record_id in enumerate(anchored.batch.record_ids):
        receipt = anchored.receipt(index)
        assert receipt["format"] == RECEIPT_FORMAT
        assert receipt["record"]["record_id"] == record_id
        assert receipt["root"] == anchored.batch.batch.root
        verdict = anchored.verify(json.loads(json.dumps(receipt)))
        assert verdict.ok, verdict.to_json()
        assert [check.name for check in verdict.checks] == list(CHECKS)
        assert verdict.record_id == record_id
    shape = anchored.receipt(2)
    assert shape["record"]["path"] == "data/ä.csv"
    assert shape["anchor"] == {
        "chain_id": anchored.world.w3.eth.chain_id,
        "contract": anchored.anchor_address,
        "transaction": anchored.batch.batch.tx_hash,
        "block_number": anchored.batch.batch.block_number,
        "submitter": anchored.world.erin.address,
    }
    record = anchored.store.record_of(anchored.batch.record_ids[2])
    assert record is not None
    assert shape["leaf"] == "0x" + batch_leaf_hash(record_hash(record)).hex()


def test_a_single_record_is_a_batch_of_one_leaf(anvil_world: World, store: AccessLogStore) -> None:
    record = _record(store, anvil_world, decision="refused", rule="NotLicensed", reason="none")
    batch = anchor_pending(store, anvil_world.erin)
    assert batch is not None
    assert (batch.batch.leaf_count, batch.record_ids) == (1, (record.record_id,))
    receipt = receipt_of(store, record.record_id)
    assert receipt["proof"] == []
    assert receipt["root"] == receipt["leaf"]
    assert verify_receipt(receipt, anvil_world.w3, anvil_world.erin.anchor.address).ok


def test_a_download_cut_off_is_anchored_as_it_stands(
    anvil_world: World, store: AccessLogStore
) -> None:
    cut_off = _record(store, anvil_world, at_ms=now_ms() - 2 * 3_600_000)
    running = _record(store, anvil_world)
    batch = anchor_pending(store, anvil_world.erin, older_than_ms=3_600_000)
    assert batch is not None
    assert batch.record_ids == (cut_off.record_id,)
    assert not store.finish(cut_off.record_id, 500)  # anchored: it no longer changes
    receipt = receipt_of(store, cut_off.record_id)
    assert receipt["record"]["bytes"] == 0
    assert verify_receipt(receipt, anvil_world.w3, anvil_world.erin.anchor.address).ok
    with pytest.raises(ReceiptNotReadyError, match=f"record {running.record_id} is not anchored"):
        receipt_of(store, running.record_id)


def test_a_receipt_waits_for_its_batch(anvil_world: World, store: AccessLogStore) -> None:
    record = _download(store, anvil_world, 1)
    with pytest.raises(ReceiptNotReadyError) as info:
        receipt_of(store, record.record_id)
    assert info.value.record_id == record.record_id
    with pytest.raises(UnknownAccessRecordError, match="no access record ffff"):
        receipt_of(store, "ffff")


def test_only_an_active_participant_anchors(anvil_world: World, store: AccessLogStore) -> None:
    record = _download(store, anvil_world, 1)
    stranger = anvil_world.stranger
    with reverts("ParticipantNotActive", account=stranger.address, status=ParticipantStatus.NONE):
        anchor_pending(store, stranger)
    assert [pending.record_id for pending in store.pending(10, 0)] == [record.record_id]


def test_records_changed_after_anchoring_give_no_receipt(anchored: Anchored) -> None:
    altered = anchored.batch.record_ids[1]
    with anchored.store.engine.begin() as conn:
        conn.execute(
            update(access_records).where(access_records.c.record_id == altered).values(bytes=9)
        )
    with pytest.raises(AccessLogAlteredError, match=anchored.batch.batch.root):
        receipt_of(anchored.store, anchored.batch.record_ids[0])


#: An evidence field and a value of the same JSON type it could be altered to.
RECORD_ALTERATIONS: Final[dict[str, Any]] = {
    "record_id": "0" * 32,
    "requester": OTHER_ADDRESS,
    "asset_id": "0x" + "00" * 31 + "01",
    "licence_id": 4,
    "purpose": "marketing",
    "ranges": "bytes=0-1024",
    "path": "other.csv",
    "bytes": 1025,
    "decision": "refused",
    "rule": "holder",
    "reason": "licence 3 is valid until 2028",
    "at": "2020-01-01T00:00:00.000Z",
    "block_number": 1,
}


@pytest.mark.parametrize(("field", "value"), RECORD_ALTERATIONS.items())
def test_an_altered_record_field_fails_the_record_check(
    anchored: Anchored, field: str, value: Any
) -> None:
    receipt = anchored.receipt(0)
    assert receipt["record"][field] != value
    receipt["record"][field] = value
    verdict = anchored.verify(receipt)
    assert verdict.failed == ("record",)
    (failed,) = [check for check in verdict.checks if not check.passed]
    assert f"not the stated {receipt['leaf']}" in failed.reason


def test_a_licence_dropped_from_the_record_fails_the_record_check(anchored: Anchored) -> None:
    receipt = anchored.receipt(0)
    receipt["record"]["licence_id"] = None
    assert anchored.verify(receipt).failed == ("record",)


def _set(receipt: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target: Any = receipt
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


@pytest.mark.parametrize(
    ("path", "value", "failed"),
    [
        ("anchor.chain_id", 1, ("chain",)),
        ("anchor.contract", OTHER_ADDRESS, ("contract",)),
        ("anchor.transaction", NOWHERE, ("transaction",)),
        ("anchor.block_number", 1, ("transaction",)),
        ("anchor.submitter", OTHER_ADDRESS, ("batch",)),
        ("leaf", NOWHERE, ("record", "proof")),
        ("proof.0", NOWHERE, ("proof",)),
        ("root", NOWHERE, ("proof", "batch", "transaction")),
        ("format", "provledger-access-receipt/2", ("format",)),
        ("record.bytes", "1024", ("format",)),
        ("record.decision", "maybe", ("format",)),
        ("record.at", "2025-01-01T00:00:00Z", ("format",)),
        ("anchor.block_number", -1, ("format",)),
        ("anchor.contract", "0x1234", ("format",)),
        ("root", "77" * 32, ("format",)),
    ],
)
def test_an_altered_field_fails_the_check_that_reads_it(
    anchored: Anchored, path: str, value: Any, failed: tuple[str, ...]
) -> None:
    receipt = anchored.receipt(0)
    _set(receipt, path, value)
    verdict = anchored.verify(receipt)
    assert verdict.failed == failed, verdict.to_json()
    assert not verdict.ok


def test_a_real_transaction_that_anchored_another_root_fails(anchored: Anchored) -> None:
    world, store = anchored.world, anchored.store
    _download(store, world, 5)
    other = anchor_pending(store, world.erin)
    assert other is not None
    receipt = anchored.receipt(1)
    receipt["anchor"]["transaction"] = other.batch.tx_hash
    receipt["anchor"]["block_number"] = other.batch.block_number
    verdict = anchored.verify(receipt)
    assert verdict.failed == ("transaction",)
    assert "emitted no BatchAnchored of root" in verdict.checks[-1].reason


def test_fields_missing_or_added_fail_the_format_check(anchored: Anchored) -> None:
    missing = anchored.receipt(0)
    del missing["record"]["path"]
    verdict = anchored.verify(missing)
    assert [(c.name, c.passed, c.reason) for c in verdict.checks] == [
        ("format", False, "record has no path")
    ]
    assert verdict.record_id == anchored.batch.record_ids[0]
    added = anchored.receipt(0)
    added["anchor"]["note"] = "trust me"
    assert anchored.verify(added).checks[0].reason == "anchor has unknown field(s) note"
    assert verify_receipt([], anchored.world.w3, anchored.anchor_address).to_json() == {  # type: ignore[arg-type]
        "ok": False,
        "record_id": None,
        "checks": [
            {
                "name": "format",
                "title": CHECKS["format"],
                "passed": False,
                "reason": "the receipt must be an object",
            }
        ],
    }


def test_a_verifier_trusting_another_contract_rejects_the_receipt(anchored: Anchored) -> None:
    registry = anchored.world.erin.registry.address
    verdict = verify_receipt(anchored.receipt(0), anchored.world.w3, registry)
    assert verdict.failed == ("contract", "batch", "transaction")
