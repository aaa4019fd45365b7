#!/usr/bin/env python3
"""Static analysis of the contracts with slither; every finding must be triaged.

    python scripts/slither_check.py [--list]

Compiles ``contracts/`` exactly as ``provledger compile`` does (the same sources and settings,
through the npm solc wrapper ``scripts/solc-npm``, given to slither's crytic-compile as its
standard-JSON platform), runs every slither detector, and compares the findings in the
project's own files with ``scripts/slither-triage.toml``: a table from a finding's key
(``<detector> <contract>.<function or variable>``) to the reason it is accepted. Findings in
``node_modules`` (OpenZeppelin, audited upstream) are out of scope.

Exit 1 when a finding has no triage entry (fix it, or record why it stands) or an entry no
longer matches any finding (remove it); ``--list`` prints every finding with its key.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TRIAGE = REPO / "scripts" / "slither-triage.toml"
#: What crytic-compile reads besides the AST (source maps included); bytecode is unchanged.
OUTPUTS = ["abi", "metadata", "devdoc", "userdoc", "evm.bytecode", "evm.deployedBytecode"]


def finding_key(finding: dict[str, Any]) -> str:
    """``<detector> <contract>.<member>`` of a finding's first element (no line numbers)."""
    element = finding["elements"][0] if finding["elements"] else {}
    name = str(element.get("name", ""))
    fields = element.get("type_specific_fields", {})
    parent = fields.get("parent", {}) if isinstance(fields, dict) else {}
    if element.get("type") == "function":
        name = f"{parent.get('name', '')}.{fields.get('signature', name)}"
    elif element.get("type") == "variable" and parent:
        name = f"{parent.get('name', '')}.{name}"
    return f"{finding['check']} {name}".strip()


def _own(finding: dict[str, Any]) -> bool:
    for element in finding["elements"]:
        path = str(element.get("source_mapping", {}).get("filename_relative", ""))
        if path.startswith("contracts/"):
            return True
    return False


def analyse() -> list[dict[str, Any]]:
    """Every slither finding that touches the project's own files."""
    from crytic_compile.crytic_compile import CryticCompile
    from crytic_compile.platform.solc_standard_json import SolcStandardJson
    from slither import Slither
    from slither.detectors import all_detectors
    from slither.detectors.abstract_detector import AbstractDetector

    from provledger.toolchain.compiler import RUNTIME
    from provledger.toolchain.inputs import collect_sources, standard_json_input
    from provledger.toolchain.solc import REPO_ROOT, find_solc

    sources = collect_sources(RUNTIME.entry_units(REPO_ROOT), REPO_ROOT, REPO_ROOT / "node_modules")
    data = standard_json_input(sources)
    data["settings"]["outputSelection"] = {"*": {"*": OUTPUTS, "": ["ast"]}}
    solc = find_solc()
    with tempfile.TemporaryDirectory(prefix="provledger-slither-") as folder:
        # crytic-compile runs the command `solc` from PATH: let that be the pinned compiler.
        os.symlink(Path(solc.path).resolve(), Path(folder) / "solc")
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = f"{folder}{os.pathsep}{path}"
        cwd = Path.cwd()
        os.chdir(REPO_ROOT)
        try:
            slither = Slither(CryticCompile(SolcStandardJson(data), solc="solc"))
        finally:
            os.chdir(cwd)
            os.environ["PATH"] = path
    for _, detector in inspect.getmembers(all_detectors, inspect.isclass):
        if issubclass(detector, AbstractDetector):
            slither.register_detector(detector)
    findings = [finding for group in slither.run_detectors() for finding in group]
    return [finding for finding in findings if _own(finding)]


def check(findings: Iterable[dict[str, Any]], triage: dict[str, str]) -> list[str]:
    """Problems: findings without a triage entry, entries without a finding."""
    keys = {finding_key(finding): finding for finding in findings}
    problems = [
        f"untriaged: {key}\n    {keys[key]['description'].strip().splitlines()[0]}"
        for key in sorted(keys)
        if key not in triage
    ]
    problems += [
        f"stale triage entry (no such finding): {key}" for key in sorted(triage) if key not in keys
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print every finding and its key")
    options = parser.parse_args(argv)
    findings = analyse()
    if options.list:
        for finding in findings:
            print(f"{finding_key(finding)}  [{finding['impact']}, {finding['confidence']}]")
        return 0
    triage = tomllib.loads(TRIAGE.read_text(encoding="utf-8")).get("findings", {})
    problems = check(findings, triage)
    for problem in problems:
        print(problem)
    print(
        f"slither: {len(findings)} finding(s) in contracts/, {len(triage)} triaged, "
        f"{len(problems)} problem(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
