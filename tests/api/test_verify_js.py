"""The browser's incremental SHA-256 (static/verify.js) agrees with hashlib, fed in any slices."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "src/provledger/api/static/verify.js"

RUNNER = """
const { Sha256 } = require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = cases.map(([hex, slices]) => {
  const bytes = Buffer.from(hex, "hex");
  const sha = new Sha256();
  let offset = 0;
  for (const size of slices) {
    sha.update(new Uint8Array(bytes.subarray(offset, offset + size)));
    offset += size;
  }
  sha.update(new Uint8Array(bytes.subarray(offset)));
  return sha.hex();
});
process.stdout.write(JSON.stringify(out));
"""


def test_incremental_sha256_matches_hashlib() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    rng = random.Random(6)
    sizes = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 4096 + 7, 100_003]
    cases = []
    for size in sizes:
        data = rng.randbytes(size)
        slices = [rng.randint(0, 200) for _ in range(rng.randint(0, 6))]
        cases.append((data, slices))
    done = subprocess.run(
        [node, "-e", RUNNER, str(SCRIPT)],
        input=json.dumps([[data.hex(), slices] for data, slices in cases]),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == [hashlib.sha256(data).hexdigest() for data, _ in cases]
