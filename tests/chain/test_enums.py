"""The Python enum mirrors match the Solidity enums, name for name and in order."""

from __future__ import annotations

import re
from pathlib import Path

from provledger.chain.enums import SOLIDITY_ENUMS

INTERFACES = Path(__file__).resolve().parents[2] / "contracts" / "interfaces"
ENUM_RE = re.compile(r"enum\s+(\w+)\s*\{([^}]*)\}", re.DOTALL)


def _solidity_enums() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for source in sorted(INTERFACES.glob("*.sol")):
        text = re.sub(r"//[^\n]*", "", source.read_text())
        for name, body in ENUM_RE.findall(text):
            found[name] = [member.strip() for member in body.split(",") if member.strip()]
    return found


def _constant(member: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", member).upper()


def test_every_solidity_enum_has_an_identical_mirror() -> None:
    solidity = _solidity_enums()
    assert set(solidity) == set(SOLIDITY_ENUMS)
    for name, members in solidity.items():
        mirror = SOLIDITY_ENUMS[name]
        assert [item.name for item in mirror] == [_constant(member) for member in members], name
        assert [item.value for item in mirror] == list(range(len(members))), name
