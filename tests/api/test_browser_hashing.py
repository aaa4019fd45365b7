"""The browser's hashing agrees with Python: the incremental SHA-256 of static/verify.js (fed
in any slices) with hashlib, the Merkle roots of static/merkle.js with provledger.merkle."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from provledger.merkle import StandardMerkleTree

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


MERKLE = SCRIPT.with_name("merkle.js")

MERKLE_RUNNER = """
const m = require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
const bytes = (hex) => Uint8Array.from(Buffer.from(hex, "hex"));
process.stdout.write(JSON.stringify(cases.map(([files, batch]) => [
  m.toHex(m.folderRoot(files.map(([path, hex]) => ({ path, sha256: bytes(hex) })))),
  m.toHex(m.batchRoot(batch.map(bytes))),
])));
"""


def test_folder_and_batch_roots_match_the_python_trees() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    rng = random.Random(7)
    names = ["README.txt", "a/b.csv", "ünïcode/名前.csv", "x" * 70, ".hidden", "z/9.bin"]
    cases = []
    for count in (1, 2, 3, 5, 6, 17):
        files = [(names[i % len(names)] + f"-{i}", rng.randbytes(32)) for i in range(count)]
        cases.append((files, [digest for _, digest in files]))
    done = subprocess.run(
        [node, "-e", MERKLE_RUNNER, str(MERKLE)],
        input=json.dumps(
            [
                [[[path, digest.hex()] for path, digest in files], [d.hex() for d in batch]]
                for files, batch in cases
            ]
        ),
        capture_output=True,
        text=True,
        check=True,
    )
    expected = [
        [StandardMerkleTree.folder(files).root.hex(), StandardMerkleTree.batch(batch).root.hex()]
        for files, batch in cases
    ]
    assert json.loads(done.stdout) == expected
