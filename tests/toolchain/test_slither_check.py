"""scripts/slither_check.py: finding keys, and a finding without triage or a stale entry fails."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "slither_check.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slither_check", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finding(check: str, element: dict[str, Any]) -> dict[str, Any]:
    return {"check": check, "elements": [element], "description": f"{check} found\nmore"}


FUNCTION = {
    "type": "function",
    "name": "revoke",
    "type_specific_fields": {"parent": {"name": "LicenseRegistry"}, "signature": "revoke(uint256)"},
}
VARIABLE = {
    "type": "variable",
    "name": "_parents",
    "type_specific_fields": {"parent": {"name": "R"}},
}


def test_keys_name_the_detector_and_the_member_without_line_numbers() -> None:
    script = _script()
    assert script.finding_key(_finding("timestamp", FUNCTION)) == (
        "timestamp LicenseRegistry.revoke(uint256)"
    )
    assert script.finding_key(_finding("uninitialized-state", VARIABLE)) == (
        "uninitialized-state R._parents"
    )
    assert script.finding_key(_finding("pragma", {"type": "pragma", "name": "^0.8.20"})) == (
        "pragma ^0.8.20"
    )


def test_untriaged_findings_and_stale_entries_are_problems() -> None:
    script = _script()
    findings = [_finding("timestamp", FUNCTION), _finding("uninitialized-state", VARIABLE)]
    triage = {"timestamp LicenseRegistry.revoke(uint256)": "days-long expiries", "gone X.y": "old"}
    assert script.check(findings, triage) == [
        "untriaged: uninitialized-state R._parents\n    uninitialized-state found",
        "stale triage entry (no such finding): gone X.y",
    ]
    assert script.check(findings[:1], {"timestamp LicenseRegistry.revoke(uint256)": "ok"}) == []


def test_every_triage_entry_gives_a_reason() -> None:
    triage = tomllib.loads(SCRIPT.with_name("slither-triage.toml").read_text())
    assert triage["findings"]
    for key, reason in triage["findings"].items():
        assert len(reason) > 40, key
