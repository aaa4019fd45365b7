"""The projector's declarations: every event of the ABIs is handled or ignored with a reason, and
the bulk load derived from what handlers declare is the one the indexer always made."""

from __future__ import annotations

from typing import Any, get_type_hints

import pytest
from eth_utils.abi import event_abi_to_log_topic

from provledger.chain.artifacts import artifact_names, load_artifact
from provledger.indexer import projector
from provledger.indexer import rows as ev
from provledger.indexer.handling import HANDLERS, handles, ignores
from provledger.store.records import LogRecord
from provledger.store.workingset import Key


def _abi_events() -> dict[str, str]:
    """topic0 (``0x`` hex) -> event name, for every event of every packaged artifact."""
    return {
        "0x" + event_abi_to_log_topic(entry).hex(): str(entry["name"])
        for name in artifact_names()
        for entry in load_artifact(name).abi
        if entry["type"] == "event"
    }


def test_every_event_of_the_abis_is_handled_or_ignored_with_a_reason() -> None:
    events = _abi_events()
    assert len(events) == 47
    for topic, name in events.items():
        assert ev.ROW_DECODERS[topic][0] == name
        kind = ev.ROW_TYPES[name]
        if kind in HANDLERS:
            assert kind not in projector.EVENTS_ONLY, name
        else:
            assert len(projector.EVENTS_ONLY.get(kind, "")) > 20, f"{name}: no handler, no reason"
    assert projector.unhandled_row_types() == set()
    # Nothing is declared for an event the contracts no longer emit.
    declared = {kind.__name__.removesuffix("Row") for kind in (*HANDLERS, *projector.EVENTS_ONLY)}
    assert declared == set(events.values())


def test_the_ignored_events_are_those_that_change_no_projection() -> None:
    assert set(projector.EVENTS_ONLY) == {
        ev.ApprovalRow,
        ev.ApprovalForAllRow,
        ev.RoleAdminChangedRow,
        ev.EIP712DomainChangedRow,
        ev.RegistrationRejectedRow,
        # the Checkpoint contract's, on another chain than the registry's: never fetched
        ev.CheckpointSubmittedRow,
        ev.CheckpointWitnessedRow,
    }


def test_an_event_is_declared_once() -> None:
    with pytest.raises(ValueError, match="TransferRow is declared twice"):
        handles(ev.TransferRow)(lambda ws, r, e: None)
    with pytest.raises(ValueError, match="ApprovalRow is declared twice"):
        ignores(ev.ApprovalRow, "again")
    assert HANDLERS[ev.TransferRow].handler.__name__ == "_transfer"


# ---------------------------------------------------------------- the derived bulk load

A = "0x" + "aa" * 32  # asset ids
B = "0x" + "bb" * 32
C = "0x" + "cc" * 32
ALICE = "0x" + "11" * 20
BOB = "0x" + "22" * 20
ZERO = "0x" + "00" * 20
ROLE = "0x" + "33" * 32
ROOT = "0x" + "44" * 32
EUR = "0x455552"


def _row(kind: type[Any], **fields: Any) -> Any:
    """A row of ``kind``: the given fields, zeros and empty values elsewhere."""
    blank = {str: "0x00", int: 0, bool: False}
    hints = get_type_hints(kind)
    return kind(**{name: fields.get(name, blank[hint]) for name, hint in hints.items()})


def _keys(*rows: Any) -> dict[str, set[Key]]:
    return projector.touched_keys(
        LogRecord(7, i, "0x01", 1_700_000_000, "0x02", 0, "0x03", "event", row)
        for i, row in enumerate(rows)
    )


# Each expected value below is what the hand-written isinstance chain of touched_keys returned
# for the same rows before the read sets were declared beside the handlers.
SINGLE_EVENTS = [
    pytest.param(_row(ev.TransferRow, from_=ALICE, to=BOB, token_id=A), {"assets": {(A,)}}),
    pytest.param(_row(ev.AssetRegisteredRow, asset_id=A), {"assets": set()}),
    pytest.param(_row(ev.LineageLinkedRow, asset_id=A, parent_id=B), {"assets": {(A,), (B,)}}),
    pytest.param(_row(ev.MetadataUpdatedRow, asset_id=A), {"assets": {(A,)}}),
    pytest.param(_row(ev.LicenseGrantedRow, license_id=5, asset_id=A), {"assets": set()}),
    pytest.param(
        _row(ev.LicenseRevokedRow, license_id=5, asset_id=A),
        {"assets": {(A,)}, "licenses": {(5,)}},
    ),
    pytest.param(
        _row(ev.AppraisalRecordedRow, appraisal_id=3, asset_id=A, supersedes=2),
        {"assets": {(A,)}, "appraisals": {(2,)}},
    ),
    pytest.param(
        _row(ev.AppraisalRecordedRow, appraisal_id=3, asset_id=A, supersedes=0),
        {"assets": {(A,)}},
    ),
    pytest.param(_row(ev.ObjectionLodgedRow, objection_id=4, asset_id=A), {"assets": {(A,)}}),
    pytest.param(
        _row(ev.ObjectionResolvedRow, objection_id=4, asset_id=A),
        {"assets": {(A,)}, "objections": {(4,)}},
    ),
    pytest.param(_row(ev.CertificateIssuedRow, asset_id=A), {"assets": {(A,)}}),
    pytest.param(
        _row(ev.DisputeRuledRow, dispute_id=9, asset_id=A),
        {"assets": {(A,)}, "disputes": {(9,)}},
    ),
    pytest.param(
        _row(ev.ExportPermitIssuedRow, asset_id=A, recipient=BOB),
        {"assets": {(A,)}, "export_permits": {(A, BOB)}},
    ),
    pytest.param(
        _row(ev.ExportPermitUsedRow, asset_id=A, recipient=BOB, from_=ALICE),
        {"assets": {(A,)}, "export_permits": {(A, BOB)}},
    ),
    pytest.param(
        _row(ev.LeafPromotedRow, root=ROOT, asset_id=A),
        {"assets": {(A,)}, "batches": {(ROOT,)}},
    ),
    pytest.param(
        _row(ev.ParticipantSuspendedRow, account=ALICE),
        {"assets": set(), "participants": {(ALICE,)}},
    ),
    pytest.param(_row(ev.ParticipantRegisteredRow, account=ALICE), {"assets": set()}),
    pytest.param(
        _row(ev.CategoryListingChangedRow, category=12), {"assets": set(), "categories": {(12,)}}
    ),
    pytest.param(
        _row(ev.RoleRevokedRow, role=ROLE, account=BOB),
        {"assets": set(), "roles": {(ROLE, BOB)}},
    ),
    pytest.param(_row(ev.PausedRow, account=ALICE), {"assets": set()}),
    pytest.param(_row(ev.OfferCreatedRow, offer_id=6, asset_id=A), {"assets": set()}),
    pytest.param(
        _row(ev.OfferCancelledRow, offer_id=6, asset_id=A),
        {"assets": {(A,)}, "offers": {(6,)}},
    ),
    pytest.param(_row(ev.BidPlacedRow, bid_id=8, offer_id=6, asset_id=A), {"assets": set()}),
    pytest.param(_row(ev.BidCancelledRow, bid_id=8, offer_id=6), {"assets": set(), "bids": {(8,)}}),
    pytest.param(
        _row(ev.TradeSettledRow, trade_id=1, asset_id=A, offer_id=6, bid_id=8),
        {"assets": {(A,)}, "offers": {(6,)}, "bids": {(8,)}},
    ),
    pytest.param(
        _row(ev.TradeSettledRow, trade_id=1, asset_id=A, offer_id=6, bid_id=0),
        {"assets": {(A,)}, "offers": {(6,)}},
    ),
    pytest.param(_row(ev.ProceedsWithdrawnRow, account=ALICE), {"assets": set()}),
    pytest.param(
        _row(ev.CurrencyListingChangedRow, currency=EUR),
        {"assets": set(), "market_currencies": {(EUR,)}},
    ),
    pytest.param(_row(ev.ApprovalRow, owner=ALICE, approved=BOB, token_id=A), {"assets": set()}),
]


@pytest.mark.parametrize(("row", "expected"), SINGLE_EVENTS)
def test_the_read_set_of_an_event_is_the_one_the_indexer_always_loaded(
    row: Any, expected: dict[str, set[Key]]
) -> None:
    assert _keys(row) == expected


def test_a_rejected_registration_loads_nothing() -> None:
    # The one change from the isinstance chain, which loaded the asset of every event naming
    # one: RegistrationRejected changes no projection, and the AssetStatusChanged event that
    # follows it in the same transaction declares the asset read itself.
    assert _keys(_row(ev.RegistrationRejectedRow, asset_id=A)) == {"assets": set()}
    rejected = [
        _row(ev.RegistrationRejectedRow, asset_id=A),
        _row(ev.AssetStatusChangedRow, asset_id=A, previous_status=0, new_status=4),
    ]
    assert _keys(*rejected) == {"assets": {(A,)}}


def test_assets_registered_in_the_batch_are_not_loaded() -> None:
    batch = [
        _row(ev.TransferRow, from_=ALICE, to=BOB, token_id=B),  # before B's registration
        _row(ev.AssetRegisteredRow, asset_id=B),
        _row(ev.TransferRow, from_=ZERO, to=ALICE, token_id=B),
        _row(ev.LineageLinkedRow, asset_id=B, parent_id=C),
        _row(ev.MetadataUpdatedRow, asset_id=B),
        _row(ev.LicenseRevokedRow, license_id=5, asset_id=A),
        _row(ev.TradeSettledRow, trade_id=1, asset_id=C, offer_id=6, bid_id=0),
    ]
    keys = _keys(*batch)
    assert keys == {"assets": {(B,), (C,), (A,)}, "licenses": {(5,)}, "offers": {(6,)}}
    assert list(keys) == ["assets", "licenses", "offers"]
