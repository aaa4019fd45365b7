"""The committed artifacts, the older-EVM set included, are exactly what the committed contracts
compile to."""

from __future__ import annotations

import json
from pathlib import Path

from provledger.toolchain.compiler import (
    HARNESS,
    MAX_RUNTIME_SIZE,
    RUNTIME,
    RUNTIME_OLDER,
    check_artifacts,
)
from provledger.toolchain.solc import REPO_ROOT, Solc


def committed_artifacts() -> list[Path]:
    return sorted(
        path
        for folder in (RUNTIME.artifacts_dir, HARNESS.artifacts_dir, RUNTIME_OLDER.artifacts_dir)
        for path in (REPO_ROOT / folder).glob("*.json")
    )


def test_committed_artifacts_match_a_fresh_compile(solc: Solc) -> None:
    drift = check_artifacts(REPO_ROOT, solc=solc)

    assert drift == [], "artifacts drifted; run `python scripts/compile.py`:\n" + "\n".join(drift)


def test_runtime_code_fits_the_eip170_limit() -> None:
    sizes = {
        path.relative_to(REPO_ROOT).as_posix(): len(
            json.loads(path.read_text(encoding="utf-8"))["deployedBytecode"].removeprefix("0x")
        )
        // 2
        for path in committed_artifacts()
    }
    too_big = {name: size for name, size in sizes.items() if size > MAX_RUNTIME_SIZE}

    assert too_big == {}, (
        f"runtime code over the {MAX_RUNTIME_SIZE:,}-byte limit (split along capability lines): "
        + ", ".join(f"{name} {size:,} bytes" for name, size in too_big.items())
    )
    assert all(size > 0 for size in sizes.values()), sizes
