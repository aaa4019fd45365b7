"""Committed documents and presentations as files: round trips, and each kind of bad input
refused with the field it is about."""

from __future__ import annotations

import json
from typing import Any

import pytest

from provledger.commitments import (
    CommittedDocument,
    Header,
    Presentation,
    canonical_json,
    commitment_kinds,
    commitment_uri,
)
from provledger.params import InvalidParameterError

METADATA = {"title": "Tide gauges", "source": "harbour office", "scale": 42, "tags": ["a", "é"]}
REGISTRY = "0x" + "ab" * 20
SHA256 = bytes(range(32))


def _presentation(names: list[str] | None = None) -> dict[str, Any]:
    document = CommittedDocument.of(METADATA, SHA256)
    shown = document.present(
        names if names is not None else ["title", "scale"],
        chain_id=31337,
        registry=REGISTRY,
        asset_id=7,
    )
    return dict(json.loads(shown.to_json()))


def test_document_round_trip_keeps_salts_and_root() -> None:
    document = CommittedDocument.of(METADATA, SHA256, confidential=True)
    again = CommittedDocument.parse(document.to_json())
    assert again == document
    assert again.root == document.root
    assert len({field.salt for field in document.fields}) == len(METADATA) + 1
    assert CommittedDocument.of(METADATA, SHA256).root != document.root  # fresh salts
    assert document.header == Header(document.content_hash, tuple(sorted(METADATA)))
    assert document.content is not None
    assert document.content_hash == document.content.commitment
    assert CommittedDocument.of(METADATA, SHA256).content_hash == SHA256


def test_canonical_json_sorts_keys_and_keeps_unicode() -> None:
    assert canonical_json({"b": [1, "é"], "a": None}) == '{"a":null,"b":[1,"é"]}'.encode()


@pytest.mark.parametrize("value", [1.5, 1 << 60, {"a": float("nan")}])
def test_values_a_browser_cannot_read_exactly_are_refused(value: object) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        CommittedDocument.of({"title": "x", "bad": value}, SHA256)
    assert raised.value.field == "bad"


def test_uri_records_the_kinds() -> None:
    assert commitment_kinds(commitment_uri(False)) == ("provledger-fields/1", None)
    assert commitment_kinds(commitment_uri(True)) == (
        "provledger-fields/1",
        "provledger-salted-sha256/1",
    )
    assert commitment_kinds("sha256:ab") is None


def _mutate(raw: dict[str, Any], case: str) -> tuple[dict[str, Any], str]:
    own = next(i for i, field in enumerate(raw["fields"]) if field["name"] != "@registration")
    if case == "duplicate field":
        raw["fields"].append(dict(raw["fields"][own]))
        raw["proof_flags"].append(True)
        return raw, "fields"
    if case == "unknown kind":
        raw["kind"] = "provledger-fields/9"
        return raw, "kind"
    if case == "proof length":
        raw["proof"].append("0x" + "00" * 32)
        return raw, "proof"
    if case == "short salt":
        raw["fields"][own]["salt"] = "0x" + "00" * 31
        return raw, f"fields[{own}].salt"
    if case == "withheld also disclosed":
        raw["withheld"].append(raw["fields"][own]["name"])
        return raw, "withheld"
    if case == "no header":
        raw["fields"] = [f for f in raw["fields"] if f["name"] != "@registration"]
        raw["proof_flags"].pop()
        return raw, "fields"
    if case == "control character in a name":
        raw["withheld"].append("title\u001b[2J")
        return raw, "withheld[2]"
    if case == "unknown format":
        raw["format"] = "provledger-disclosure/0"
        return raw, "format"
    raw["fields"][own]["value"] = 0.5
    return raw, f"fields[{own}].value"


@pytest.mark.parametrize(
    "case",
    [
        "duplicate field",
        "unknown kind",
        "proof length",
        "short salt",
        "withheld also disclosed",
        "no header",
        "control character in a name",
        "unknown format",
        "fraction",
    ],
)
def test_bad_presentations_name_their_field(case: str) -> None:
    raw, field = _mutate(_presentation(), case)
    with pytest.raises(InvalidParameterError) as raised:
        Presentation.parse(json.dumps(raw))
    assert raised.value.field == field


def test_a_document_whose_root_does_not_match_is_refused() -> None:
    raw = json.loads(CommittedDocument.of(METADATA, SHA256).to_json())
    raw["fields"][-1]["value"] = "changed"  # a field of its own: the header comes first
    with pytest.raises(InvalidParameterError) as raised:
        CommittedDocument.parse(json.dumps(raw).encode())
    assert raised.value.field == "root"


def test_a_presentation_of_an_unknown_field_is_refused() -> None:
    with pytest.raises(InvalidParameterError) as raised:
        _presentation(["title", "nope"])
    assert raised.value.field == "fields"
    assert "'nope' is not a field" in str(raised.value)


@pytest.mark.parametrize("name", ["@title", "tit\u200ble", " title", "e\u0301", "a\nb"])
def test_field_names_that_could_mislead_are_refused(name: str) -> None:
    with pytest.raises(InvalidParameterError):
        CommittedDocument.of({"title": "x", name: "y"}, SHA256)


def test_withheld_names_are_proved_by_the_header() -> None:
    raw = _presentation()
    raw["withheld"] = [name for name in raw["withheld"] if name != "source"]
    with pytest.raises(InvalidParameterError) as raised:
        Presentation.parse(json.dumps(raw)).check()
    assert raised.value.field == "withheld"
