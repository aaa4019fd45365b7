"""Running the JavaScript proof-bundle verifier (``api/static/verify-proof.mjs``) under Node.js
beside the Python one, and comparing what they say.

:func:`js_verify` checks many bundles in one Node.js process (a small driver imports the module
and calls ``verifyBundle`` on each); :func:`js_cli` runs the module as the command-line tool.
An :class:`Outcome` is what either verifier made of one bundle: a report, or a refusal of the
bundle's form naming the field, or a node that could not be reached.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from web3 import Web3

from helpers.required import unavailable
from provledger.errors import ServiceUnavailableError
from provledger.services.proofs import (
    MalformedProofBundleError,
    WitnessPolicy,
    verify_proof_bundle,
)

ROOT: Final = Path(__file__).resolve().parents[2]
#: The committed test vectors, the script that writes them, and their manifest.
VECTORS: Final = ROOT / "docs" / "proof-vectors"
GENERATOR: Final = ROOT / "scripts" / "proof_vectors.py"
MANIFEST: Final[dict[str, Any]] = json.loads((VECTORS / "vectors.json").read_text("utf-8"))
SOURCE_CHAIN: Final[int] = MANIFEST["chains"]["source"]["chain_id"]
TARGET_CHAIN: Final[int] = MANIFEST["chains"]["target"]["chain_id"]
VERIFIER: Final = ROOT / "src" / "provledger" / "api" / "static" / "verify-proof.mjs"

#: Reads a JSON list of jobs ({text, options}) on stdin; writes a JSON list of outcomes.
_DRIVER: Final = """
import { verifyBundle, writeJson, MalformedBundle, NodeUnreachable, BadOptions } from %s;
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const jobs = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const outcomes = [];
for (const { text, options } of jobs) {
  try {
    outcomes.push({ report: await verifyBundle(text, options) });
  } catch (error) {
    if (error instanceof MalformedBundle) {
      outcomes.push({ refused: error.path, message: error.message });
    }
    else if (error instanceof NodeUnreachable) outcomes.push({ unreachable: error.message });
    else if (error instanceof BadOptions) outcomes.push({ bad_options: error.message });
    else outcomes.push({ crashed: String(error && error.stack || error) });
  }
}
process.stdout.write(writeJson(outcomes));
"""


def node_binary() -> str:
    """Node.js (20 or later), or skip."""
    found = shutil.which("node")
    if found is None:
        unavailable("node (Node.js) is not on PATH")
    return found


@dataclass(frozen=True)
class Outcome:
    """What a verifier made of one bundle."""

    report: Mapping[str, Any] | None = None
    refused: str | None = None
    """The field the refusal of a malformed bundle names ("" for the whole bundle)."""
    message: str = ""
    unreachable: bool = False

    @property
    def verdicts(self) -> list[tuple[str, bool]] | None:
        """(check, passed) in order, for a report."""
        if self.report is None:
            return None
        return [(check["name"], check["passed"]) for check in self.report["checks"]]

    @property
    def verified(self) -> bool:
        return self.report is not None and bool(self.report["ok"])


@dataclass(frozen=True)
class Job:
    """One bundle (its JSON text) and the verifier's options (camelCase, as verifyBundle
    takes them)."""

    text: str
    options: Mapping[str, Any]


def js_verify(jobs: Sequence[Job], timeout: float = 600) -> list[Outcome]:
    """Each job checked by ``verifyBundle`` in one Node.js process."""
    driver = _DRIVER % json.dumps(VERIFIER.as_uri())
    payload = json.dumps([{"text": job.text, "options": dict(job.options)} for job in jobs])
    done = subprocess.run(
        [node_binary(), "--input-type=module", "-e", driver],
        input=payload,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcomes = []
    for item in json.loads(done.stdout):
        assert "crashed" not in item, item["crashed"]
        assert "bad_options" not in item, item["bad_options"]
        if "report" in item:
            outcomes.append(Outcome(report=item["report"]))
        elif "refused" in item:
            outcomes.append(Outcome(refused=item["refused"], message=item["message"]))
        else:
            outcomes.append(Outcome(unreachable=True, message=item["unreachable"]))
    return outcomes


def py_verify(
    text: str, w3: Web3, *, target: Web3 | None = None, policy: WitnessPolicy | None = None
) -> Outcome:
    """The Python verifier's outcome on the bundle ``text`` (source node ``w3``, target chain
    node ``target``, witness ``policy``)."""
    try:
        report = verify_proof_bundle(json.loads(text), w3, target=target, policy=policy)
    except MalformedProofBundleError as error:
        return Outcome(refused=error.field, message=str(error))
    except ServiceUnavailableError as error:
        return Outcome(unreachable=True, message=str(error))
    return Outcome(report=report.to_json())


def js_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``node verify-proof.mjs ARGS`` (exit code, stdout, stderr)."""
    return subprocess.run(
        [node_binary(), str(VERIFIER), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def served_vectors(out: Path) -> Iterator[dict[int, str]]:
    """``scripts/proof_vectors.py --serve`` writing into ``out``: the URLs of its two chains
    by chain id, while they run (stopped at the end)."""
    errors = out.parent / f"{out.name}.stderr"
    command = [sys.executable, str(GENERATOR), "--out", str(out), "--serve"]
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        assert process.stdout is not None
        urls: dict[int, str] = {}
        for line in process.stdout:
            if line.startswith("serving chain"):
                _, _, chain, _, url = line.split()
                urls[int(chain)] = url
                if len(urls) == 2:
                    break
        assert set(urls) == {SOURCE_CHAIN, TARGET_CHAIN}, errors.read_text()
        yield urls
    finally:
        process.terminate()
        process.wait(timeout=60)
