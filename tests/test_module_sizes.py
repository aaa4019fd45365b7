"""No hand-written module of the package passes 500 lines (issue 18): a longer one is two
modules. The generated ones are named here, and say so in their first line."""

from __future__ import annotations

from pathlib import Path
from typing import Final

SOURCE: Final = Path(__file__).parents[1] / "src" / "provledger"
MAX_LINES: Final = 500
#: Written by ``provledger compile`` from the contracts' ABIs.
GENERATED: Final = ("chain/events.py", "indexer/rows.py")


def test_no_hand_written_module_passes_500_lines() -> None:
    long = {
        str(path.relative_to(SOURCE)): count
        for path in SOURCE.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert set(long) == set(GENERATED), long


def test_the_generated_modules_say_so() -> None:
    for name in GENERATED:
        first = (SOURCE / name).read_text(encoding="utf-8").splitlines()[:3]
        assert any("generated" in line.lower() for line in first), (name, first)
