"""Compile ``contracts/`` into the committed JSON artifacts, and detect drift from them.

Three build targets share one pipeline:

* **runtime**: every top-level ``contracts/*.sol`` (``contracts/interfaces/`` and OpenZeppelin
  come in as imports) into ``src/provledger/artifacts/<Contract>.json``, which the installed
  package loads through :mod:`provledger.chain.artifacts`;
* **harness**: every ``contracts/test/*.sol`` into ``tests/artifacts/<Contract>.json``, so the
  runtime package never ships test harnesses;
* **runtime-shanghai**: the runtime again for the older EVM target
  (:data:`~provledger.toolchain.inputs.OLDER_EVM_VERSION`) into
  ``src/provledger/artifacts/shanghai/``, for nodes that lack cancun's opcodes.

The pipeline is split so that other steps can hook in between: :mod:`provledger.toolchain.inputs`
builds the standard-JSON input; :func:`compile_contracts` returns ``{name: artifact}`` dicts;
:mod:`provledger.toolchain.files` writes them and compares a fresh in-memory build with the files
on disk (:func:`check_artifacts`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from eth_utils.crypto import keccak

from provledger.errors import CompilationError, ConfigurationError, ProvledgerError
from provledger.toolchain.evm_compat import sources_for
from provledger.toolchain.files import (
    artifact_drift,
    generated_modules_drift,
    write_artifacts,
    write_generated_modules,
)
from provledger.toolchain.inputs import (
    EVM_VERSION,
    OLDER_EVM_VERSION,
    collect_sources,
    compiler_settings,
    source_hash,
    standard_json_input,
)
from provledger.toolchain.solc import REPO_ROOT, Solc, find_solc

MAX_RUNTIME_SIZE: Final = 24_576
"""EIP-170: the largest runtime code a contract may deploy."""

WarningSink = Callable[[str], None]


def print_warning(message: str) -> None:
    """Default warning sink: print the compiler's formatted warning to stderr."""
    print(message.rstrip(), file=sys.stderr)


@dataclass(frozen=True)
class Target:
    """One build: which files are entry points and where their artifacts go."""

    name: str
    sources_dir: str
    """Repository-relative folder whose ``*.sol`` files (not subfolders) are entry points."""
    artifacts_dir: str
    """Repository-relative folder the artifacts are written to."""
    evm_version: str = EVM_VERSION
    """solc's ``evmVersion`` for this build."""

    def entry_units(self, root: Path) -> list[str]:
        """Source unit names of this target's entry files under ``root``, sorted."""
        folder = root / self.sources_dir
        if not folder.is_dir():
            return []
        return sorted(
            f"{self.sources_dir}/{path.name}" for path in folder.glob("*.sol") if path.is_file()
        )


RUNTIME: Final = Target("runtime", "contracts", "src/provledger/artifacts")
HARNESS: Final = Target("harness", "contracts/test", "tests/artifacts")
RUNTIME_OLDER: Final = Target(
    f"runtime-{OLDER_EVM_VERSION}",
    "contracts",
    f"src/provledger/artifacts/{OLDER_EVM_VERSION}",
    OLDER_EVM_VERSION,
)
TARGETS: Final = (RUNTIME, HARNESS, RUNTIME_OLDER)


# ---------------------------------------------------------------------------------------------
# Compiling.


def _run_solc(input_data: dict[str, Any], solc: Solc, on_warning: WarningSink) -> dict[str, Any]:
    import solcx
    from solcx.exceptions import SolcError

    try:
        output: dict[str, Any] = solcx.compile_standard(input_data, solc_binary=solc.path)
    except SolcError as error:
        if error.error_dict:
            messages = [
                str(item.get("formattedMessage") or item.get("message"))
                for item in error.error_dict
                if item.get("severity") == "error"
            ]
        else:
            messages = [f"{solc.describe()} failed: {error.message}\n{error.stderr_data or ''}"]
        raise CompilationError(messages) from error
    for item in output.get("errors", []):
        if item.get("severity") != "error":
            on_warning(str(item.get("formattedMessage") or item.get("message")))
    return output


def _deployable_contracts(ast: Mapping[str, Any]) -> list[str]:
    return [
        str(node["name"])
        for node in ast.get("nodes", [])
        if node.get("nodeType") == "ContractDefinition"
        and node.get("contractKind") == "contract"
        and not node.get("abstract", False)
    ]


def _hex(code: str) -> str:
    return "0x" + code.removeprefix("0x")


def _build_artifact(
    name: str,
    unit: str,
    contract: Mapping[str, Any],
    version: str,
    sources_digest: str,
    evm_version: str,
) -> dict[str, Any]:
    evm = contract["evm"]
    bytecode = _hex(evm["bytecode"]["object"])
    deployed = _hex(evm["deployedBytecode"]["object"])
    if "__$" in bytecode:
        raise CompilationError(
            [
                f"{unit}:{name} calls external library functions, which need linking; provledger "
                "deploys no libraries, so make the library functions internal"
            ]
        )
    return {
        "contractName": name,
        "sourceName": unit,
        "abi": contract["abi"],
        "bytecode": bytecode,
        "deployedBytecode": deployed,
        "immutableReferences": evm["deployedBytecode"].get("immutableReferences", {}),
        "metadata": contract["metadata"],
        "storageLayout": contract.get("storageLayout", {}),
        "compiler": {"version": version, "settings": compiler_settings(evm_version)},
        "sourceHash": sources_digest,
        "deployedBytecodeHash": "0x" + keccak(hexstr=deployed).hex(),
    }


def compile_contracts(
    root: Path = REPO_ROOT,
    *,
    target: Target = RUNTIME,
    node_modules: Path | None = None,
    solc: Solc | None = None,
    on_warning: WarningSink = print_warning,
) -> dict[str, dict[str, Any]]:
    """Compile one target's entry files under ``root``: ``{contract name: artifact dict}``.

    Only non-abstract contracts defined in the entry files get an artifact; interfaces,
    libraries, abstract contracts and anything imported are compiled as dependencies only.

    Args:
        root: the project root holding ``contracts/`` (the real repository by default).
        target: :data:`RUNTIME`, :data:`HARNESS` or :data:`RUNTIME_OLDER`.
        node_modules: where ``@openzeppelin/...`` resolves; ``root / "node_modules"`` by default.
        solc: the compiler; :func:`~provledger.toolchain.solc.find_solc` by default (only
            called when there is something to compile).
        on_warning: receives each formatted compiler warning; printed to stderr by default.

    Raises:
        CompilationError: an import is missing, or solc reported errors (their text included).
        ConfigurationError: no compiler, or two entry files define contracts of one name.
    """
    entry_units = target.entry_units(root)
    if not entry_units:
        return {}
    modules = node_modules if node_modules is not None else root / "node_modules"
    sources = sources_for(collect_sources(entry_units, root, modules), target.evm_version)
    compiler = solc if solc is not None else find_solc()
    output = _run_solc(standard_json_input(sources, target.evm_version), compiler, on_warning)
    digest = source_hash(sources)

    artifacts: dict[str, dict[str, Any]] = {}
    for unit in entry_units:
        compiled = output.get("contracts", {}).get(unit, {})
        for name in _deployable_contracts(output["sources"][unit]["ast"]):
            if name in artifacts:
                raise ConfigurationError(
                    f"contract {name} is defined in both {artifacts[name]['sourceName']} and "
                    f"{unit}; artifact names must be unique"
                )
            contract = compiled[name]
            version = json.loads(contract["metadata"])["compiler"]["version"]
            artifacts[name] = _build_artifact(
                name, unit, contract, version, digest, target.evm_version
            )
    return dict(sorted(artifacts.items()))


# ---------------------------------------------------------------------------------------------
# Whole builds: every target, written or checked.


def runtime_size(artifact: Mapping[str, Any]) -> int:
    """Bytes of runtime code (the EIP-170 limit applies to this)."""
    return len(str(artifact["deployedBytecode"]).removeprefix("0x")) // 2


def _label(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def check_artifacts(
    root: Path = REPO_ROOT,
    *,
    node_modules: Path | None = None,
    solc: Solc | None = None,
    on_warning: WarningSink = print_warning,
) -> list[str]:
    """Recompile every target in memory and describe how the files on disk differ.

    An empty list means no drift. Covers ``src/provledger/artifacts`` (and its older-EVM
    subfolder) and, when harnesses exist or their artifacts do, ``tests/artifacts``.
    """
    drift: list[str] = []
    on_warning = _once(on_warning)
    for target in TARGETS:
        compiled = compile_contracts(
            root, target=target, node_modules=node_modules, solc=solc, on_warning=on_warning
        )
        out_dir = root / target.artifacts_dir
        drift.extend(artifact_drift(compiled, out_dir, _label(out_dir, root)))
        if target is RUNTIME and compiled and _has_package(root):
            drift.extend(generated_modules_drift(compiled, root))
    return drift


def _has_package(root: Path) -> bool:
    # Only the provledger tree has the package; throwaway test projects have an artifacts
    # folder under src/provledger but no package around it.
    return (root / "src" / "provledger" / "__init__.py").is_file()


def _once(sink: WarningSink) -> WarningSink:
    # Harnesses import the runtime contracts, so both builds report their warnings.
    seen: set[str] = set()

    def report(message: str) -> None:
        if message not in seen:
            seen.add(message)
            sink(message)

    return report


def build(
    root: Path = REPO_ROOT,
    *,
    node_modules: Path | None = None,
    solc: Solc | None = None,
    on_warning: WarningSink = print_warning,
) -> dict[Target, dict[str, dict[str, Any]]]:
    """Compile every target and write its artifacts; returns what was written, per target.

    A target with no entry files gets its stale artifacts removed, but no folder is created.
    """
    built: dict[Target, dict[str, dict[str, Any]]] = {}
    on_warning = _once(on_warning)
    for target in TARGETS:
        artifacts = compile_contracts(
            root, target=target, node_modules=node_modules, solc=solc, on_warning=on_warning
        )
        out_dir = root / target.artifacts_dir
        if artifacts or out_dir.is_dir():
            write_artifacts(artifacts, out_dir)
        if target is RUNTIME and artifacts and _has_package(root):
            write_generated_modules(artifacts, root)
        built[target] = artifacts
    return built


def run_compile(
    check: bool = False,
    *,
    root: Path = REPO_ROOT,
    node_modules: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Compile and write the artifacts, or with ``check`` report drift; returns an exit status.

    What ``scripts/compile.py`` and ``provledger compile`` run. Prints the compiler used and
    one line per artifact with its runtime size; errors print and return 1.
    """
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr

    def warn(message: str) -> None:
        print(message.rstrip(), file=stderr)

    try:
        solc = find_solc()
        print(f"compiler: {solc.describe()}", file=stdout)
        if check:
            drift = check_artifacts(root, node_modules=node_modules, solc=solc, on_warning=warn)
            for line in drift:
                print(f"drift: {line}", file=stdout)
            if drift:
                print(f"{len(drift)} artifact difference(s); run scripts/compile.py", file=stdout)
                return 1
            print("artifacts are up to date", file=stdout)
            return 0
        built = build(root, node_modules=node_modules, solc=solc, on_warning=warn)
    except ProvledgerError as error:
        print(f"error: {error}", file=stderr)
        return 1
    for target, artifacts in built.items():
        for name, artifact in artifacts.items():
            size = runtime_size(artifact)
            over = f"  OVER the {MAX_RUNTIME_SIZE:,}-byte limit" if size > MAX_RUNTIME_SIZE else ""
            path = f"{target.artifacts_dir}/{name}.json"
            print(f"{path:<60} runtime {size:>6,} bytes{over}", file=stdout)
    if not any(built.values()):
        print("no contracts to compile", file=stdout)
    return 0
