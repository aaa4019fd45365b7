"""The records views return (:mod:`provledger.chain.types`): their fields follow the compiled
ABIs, and the one ``from_abi`` reads each value as its field's type says."""

from __future__ import annotations

import enum
from dataclasses import fields
from typing import Annotated, Any, get_args, get_origin, get_type_hints

import pytest
from eth_utils.address import to_checksum_address

from provledger.chain.artifacts import abi_items
from provledger.chain.enums import AssetStatus, LicenseKind, OfferKind, OfferStatus, ValuationMethod
from provledger.chain.types import (
    AppraisalState,
    AssetState,
    BatchState,
    BidState,
    CertificateState,
    CheckpointHead,
    DisputeState,
    ExportPermitState,
    LicenseState,
    ObjectionState,
    OfferState,
    ParticipantState,
    ViewRecord,
    currency_text,
    jurisdiction_text,
)
from provledger.errors import RecordShapeError
from provledger.toolchain.codegen import snake_case

#: record, contract, view, fields before the struct's members, fields after them.
RECORDS: list[tuple[type[ViewRecord], str, str, list[str], list[str]]] = [
    (AssetState, "DataAssetRegistry", "assetOf", ["asset_id"], ["holder", "metadata_hash"]),
    (ParticipantState, "DataAssetRegistry", "participant", ["account"], []),
    (LicenseState, "LicenseRegistry", "licenseOf", ["license_id"], []),
    (OfferState, "DataMarket", "offerOf", ["offer_id"], []),
    (BidState, "DataMarket", "bidOf", ["bid_id"], []),
    (ExportPermitState, "ExportControl", "permitOf", [], []),
    (ObjectionState, "RegistrationOffice", "objectionOf", ["objection_id"], []),
    (CertificateState, "RegistrationOffice", "certificateOf", ["registration_number"], []),
    (AppraisalState, "AppraisalRegistry", "appraisalOf", ["appraisal_id"], []),
    (DisputeState, "DisputeCourt", "disputeOf", ["dispute_id"], []),
    (BatchState, "BatchAnchor", "batchOf", ["root"], []),
    (CheckpointHead, "Checkpoint", "headOf", [], []),
]

#: Fields the contract keeps as a plain uint8 that the record reads as an enum.
ENUM_OF_UINT8: dict[tuple[type[ViewRecord], str], type[enum.Enum]] = {
    (OfferState, "license_kind"): LicenseKind
}

A = "0x" + "ab" * 20
B = "0x" + "0c" * 20
H = bytes(range(32))


def _struct(contract: str, view: str) -> list[dict[str, Any]]:
    found = [
        item for name, item in abi_items("function") if name == contract and item["name"] == view
    ]
    assert len(found) == 1, f"{contract}.{view}"
    (output,) = found[0]["outputs"]
    components: list[dict[str, Any]] = output["components"]
    return components


def _expected_reader(record: type[ViewRecord], name: str, member: dict[str, Any]) -> object:
    abi_type, internal = member["type"], member["internalType"]
    if internal.startswith("enum "):
        return internal.rsplit(".", 1)[-1]
    if (record, name) in ENUM_OF_UINT8:
        return ENUM_OF_UINT8[record, name].__name__
    return {
        "address": to_checksum_address,
        "bool": bool,
        "bytes2": jurisdiction_text,
        "bytes3": currency_text,
        "bytes32": bytes,
        "string": str,
    }.get(abi_type, int if abi_type.startswith("uint") else abi_type)


def _reader_of(hint: Any) -> object:
    if get_origin(hint) is Annotated:
        return get_args(hint)[1]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint.__name__
    return hint


@pytest.mark.parametrize(
    ("record", "contract", "view", "keys", "extras"),
    RECORDS,
    ids=[record.__name__ for record, *_ in RECORDS],
)
def test_record_fields_follow_the_abi(
    record: type[ViewRecord], contract: str, view: str, keys: list[str], extras: list[str]
) -> None:
    members = _struct(contract, view)
    names = [item.name for item in fields(record)]
    assert names == [*keys, *(snake_case(member["name"]) for member in members), *extras]
    hints = get_type_hints(record, include_extras=True)
    readers = [_reader_of(hints[name]) for name in names[len(keys) : len(keys) + len(members)]]
    expected = [_expected_reader(record, snake_case(member["name"]), member) for member in members]
    assert readers == expected


def test_every_record_is_checked() -> None:
    assert {record for record, *_ in RECORDS} == set(ViewRecord.__subclasses__())


def test_from_abi_reads_each_field_as_its_type() -> None:
    state = AssetState.from_abi(7, (A, 100, 3, 2, 1, 1, 0, 4), B, bytearray(H))
    assert state == AssetState(
        asset_id=7,
        registrant=to_checksum_address(A),
        registered_at=100,
        category=3,
        grade=2,
        status=AssetStatus.APPLIED,
        under_objection=True,
        frozen=False,
        metadata_version=4,
        holder=to_checksum_address(B),
        metadata_hash=H,
    )
    assert type(state.status) is AssetStatus
    assert type(state.under_objection) is bool
    assert type(state.metadata_hash) is bytes


def test_from_abi_reads_codes_as_text_and_uint8_as_enum() -> None:
    offer = OfferState.from_abi(3, [A, 10, 0, 1, 1, 250, 7, B, 99, 10**20, 5, H, "scope"])
    assert (offer.kind, offer.status, offer.license_kind) == (
        OfferKind(0),
        OfferStatus(1),
        LicenseKind(1),
    )
    assert offer.currency == to_checksum_address(B)
    appraisal = AppraisalState.from_abi(5, (7, 1000, b"CNY", 1, 6, A, 0, H))
    assert (appraisal.currency, appraisal.method) == ("CNY", ValuationMethod(1))
    participant = ParticipantState.from_abi(A.upper().replace("0X", "0x"), (b"CN", 1, 55, H))
    assert (participant.account, participant.jurisdiction) == (to_checksum_address(A), "CN")
    permit = ExportPermitState.from_abi((b"US", 1, 2, True, False, A))
    assert (permit.destination, permit.approver) == ("US", to_checksum_address(A))


@pytest.mark.parametrize("raw", [(3, B, 10, 1), (3, B, 10, 1, 500, 0)])
def test_from_abi_refuses_values_that_are_not_the_fields(raw: tuple[Any, ...]) -> None:
    with pytest.raises(RecordShapeError) as caught:
        BidState.from_abi(4, raw)
    error = caught.value
    assert (error.record, error.expected, error.given) == ("BidState", 6, 1 + len(raw))
    assert str(error) == f"cannot build BidState from {1 + len(raw)} values: it has 6 fields"
