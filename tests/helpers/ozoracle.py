"""The JS reference, @openzeppelin/merkle-tree run under node by tests/helpers/ozmerkle.mjs, for
tests outside tests/test_merkle.py (which has its own fixture)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from helpers.required import unavailable

REPO = Path(__file__).resolve().parents[2]
ORACLE = REPO / "tests" / "helpers" / "ozmerkle.mjs"


def oz_jobs(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run ``jobs`` (see ozmerkle.mjs) in one node process; one result per job. Skips (fails
    under CI=true) without node or the npm packages."""
    if shutil.which("node") is None:
        unavailable("`node` is not on PATH")
    if not (REPO / "node_modules" / "@openzeppelin" / "merkle-tree" / "package.json").is_file():
        unavailable("node_modules/@openzeppelin/merkle-tree is missing (run `npm ci`)")
    completed = subprocess.run(
        ["node", str(ORACLE)],
        cwd=REPO,
        input=json.dumps({"jobs": jobs}),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results: list[dict[str, Any]] = json.loads(completed.stdout)["results"]
    assert len(results) == len(jobs)
    return results
