"""Compile ``contracts/`` into the committed JSON artifacts, and detect drift from them.

Two build targets share one pipeline:

* **runtime**: every top-level ``contracts/*.sol`` (``contracts/interfaces/`` and OpenZeppelin
  come in as imports) into ``src/provledger/artifacts/<Contract>.json``, which the installed
  package loads through :mod:`provledger.chain.artifacts`;
* **harness**: every ``contracts/test/*.sol`` into ``tests/artifacts/<Contract>.json``, so the
  runtime package never ships test harnesses.

The standard-JSON input is built here, not by the compiler: every imported file is read into
``sources`` under its repository-relative source unit name (``contracts/X.sol``,
``@openzeppelin/contracts/...``), following imports the way solc resolves them. The input,
and so the bytecode and its metadata hash, is then the same whichever backend compiles it and
wherever the checkout lives; no absolute path can reach an artifact.

The pipeline is split so that other steps can hook in between: :func:`compile_contracts` returns
``{name: artifact}`` dicts; :func:`write_artifacts` writes them; :func:`check_artifacts` compares a
fresh in-memory build with the files on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final, TextIO

from eth_utils.crypto import keccak

from provledger.errors import CompilationError, ConfigurationError, ProvledgerError
from provledger.toolchain.codegen import render_events_module
from provledger.toolchain.rowgen import render_rows_module
from provledger.toolchain.solc import REPO_ROOT, Solc, find_solc

EVM_VERSION: Final = "cancun"
"""OpenZeppelin 5.x Strings/Bytes use MCOPY, so Cancun is the floor; eth-tester and anvil run it."""

OPTIMIZER_RUNS: Final = 200

CONTRACT_OUTPUTS: Final = (
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    # Where immutables sit in the runtime code: the deployed code has their values there, the
    # compiled code zeros, so a code-hash check must mask these ranges first.
    "evm.deployedBytecode.immutableReferences",
    "metadata",
    "storageLayout",
)

COMPILER_SETTINGS: Final[Mapping[str, Any]] = {
    "evmVersion": EVM_VERSION,
    "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
    "viaIR": False,
    # The AST tells contracts from abstract contracts, interfaces and libraries. Output selection
    # does not enter the metadata, so it cannot change bytecode.
    "outputSelection": {"*": {"*": list(CONTRACT_OUTPUTS), "": ["ast"]}},
}
"""The standard-JSON ``settings``, recorded verbatim in every artifact."""

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
TARGETS: Final = (RUNTIME, HARNESS)


# ---------------------------------------------------------------------------------------------
# Sources: read every file the entry points import, under solc's own source unit names.

_TOKEN_RE: Final = re.compile(
    r"""
      (?P<comment>//[^\n]*|/\*.*?\*/)
    | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
    | (?P<word>[A-Za-z_$][A-Za-z0-9_$]*)
    | (?P<semicolon>;)
    | (?P<space>\s+)
    | (?P<other>[^A-Za-z_$"'/;\s]+|/)
    """,
    re.VERBOSE | re.DOTALL,
)


def find_imports(source: str) -> list[str]:
    """Import paths of every ``import`` directive in Solidity ``source``, in order.

    Comments and string literals are tokenized first, so an ``import`` in NatSpec or inside a
    string is not taken for a directive.
    """
    paths: list[str] = []
    in_import = False
    found_path = False
    for match in _TOKEN_RE.finditer(source):
        kind = match.lastgroup
        if kind == "word" and match.group() == "import" and not in_import:
            in_import, found_path = True, False
        elif in_import and kind == "string" and not found_path:
            paths.append(match.group()[1:-1])
            found_path = True
        elif in_import and kind == "semicolon":
            in_import = False
    return paths


def resolve_import(importer: str, import_path: str) -> str:
    """The source unit name solc gives ``import_path`` when imported from unit ``importer``.

    Paths starting with ``./`` or ``../`` are relative to the importer's folder (``..`` above the
    top is dropped, as solc does); every other path is the source unit name as written.
    """
    segments = [segment for segment in import_path.split("/") if segment != ""]
    if not segments or segments[0] not in (".", ".."):
        return import_path
    result = importer.split("/")[:-1]
    for segment in segments:
        if segment == "..":
            if result:
                result.pop()
        elif segment != ".":
            result.append(segment)
    return "/".join(result)


def _locate(unit: str, root: Path, node_modules: Path) -> Path | None:
    posix = PurePosixPath(unit)
    if posix.is_absolute() or ".." in posix.parts or "\\" in unit:
        return None
    bases = [node_modules] if unit.startswith("@") else [root, node_modules]
    for base in bases:
        candidate = base.joinpath(*posix.parts)
        if candidate.is_file():
            return candidate
    return None


def collect_sources(entry_units: Iterable[str], root: Path, node_modules: Path) -> dict[str, str]:
    """Read ``entry_units`` and everything they import, transitively: ``{unit name: text}``.

    Project files resolve against ``root``, package paths (``@scope/...``) against
    ``node_modules``.

    Raises:
        CompilationError: an import names no file, or names one by an absolute path.
    """
    sources: dict[str, str] = {}
    missing: list[str] = []
    pending = [(unit, "") for unit in entry_units]
    while pending:
        unit, importer = pending.pop()
        if unit in sources:
            continue
        path = _locate(unit, root, node_modules)
        if path is None:
            where = f"imported by {importer}" if importer else "an entry point"
            missing.append(f'Source "{unit}" ({where}) not found in the project or node_modules')
            continue
        try:
            # Decoded as-is, without newline translation: the content hash is the file's.
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise CompilationError([f'Source "{unit}" is not UTF-8 ({error})']) from error
        sources[unit] = text
        pending.extend((resolve_import(unit, item), unit) for item in find_imports(text))
    if missing:
        raise CompilationError(sorted(set(missing)))
    return dict(sorted(sources.items()))


def _canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def standard_json_input(sources: Mapping[str, str]) -> dict[str, Any]:
    """The standard-JSON compiler input for ``sources`` with :data:`COMPILER_SETTINGS`."""
    return {
        "language": "Solidity",
        "sources": {unit: {"content": sources[unit]} for unit in sorted(sources)},
        "settings": json.loads(json.dumps(COMPILER_SETTINGS)),
    }


def source_hash(sources: Mapping[str, str]) -> str:
    """sha256 over the canonical JSON of the input's ``sources``: any source change changes it."""
    input_sources = {unit: {"content": text} for unit, text in sources.items()}
    return "0x" + hashlib.sha256(_canonical_json(input_sources)).hexdigest()


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
    name: str, unit: str, contract: Mapping[str, Any], version: str, sources_digest: str
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
        "compiler": {"version": version, "settings": json.loads(json.dumps(COMPILER_SETTINGS))},
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
        target: :data:`RUNTIME` or :data:`HARNESS`.
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
    sources = collect_sources(entry_units, root, modules)
    compiler = solc if solc is not None else find_solc()
    output = _run_solc(standard_json_input(sources), compiler, on_warning)
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
            artifacts[name] = _build_artifact(name, unit, contract, version, digest)
    return dict(sorted(artifacts.items()))


# ---------------------------------------------------------------------------------------------
# Writing and drift.


def artifact_json(artifact: Mapping[str, Any]) -> str:
    """The exact text of an artifact file: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(artifact, sort_keys=True, indent=2) + "\n"


def runtime_size(artifact: Mapping[str, Any]) -> int:
    """Bytes of runtime code (the EIP-170 limit applies to this)."""
    return len(str(artifact["deployedBytecode"]).removeprefix("0x")) // 2


_FILE_MODE: Final = 0o666


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_artifacts(artifacts: Mapping[str, Mapping[str, Any]], out_dir: Path) -> list[Path]:
    """Write ``<name>.json`` for each artifact and delete stale ``*.json`` files in ``out_dir``.

    Files whose text is already right are left untouched; others are replaced atomically.
    Returns the artifact paths, sorted by name.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in sorted(artifacts):
        path = out_dir / f"{name}.json"
        data = artifact_json(artifacts[name]).encode()
        if not (path.is_file() and path.read_bytes() == data):
            handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                # mkstemp makes the file private (0600); artifacts are ordinary package data.
                os.chmod(temporary, _FILE_MODE & ~_current_umask())
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        written.append(path)
    for stale in out_dir.glob("*.json"):
        if stale.stem not in artifacts:
            stale.unlink()
    return written


def _short(value: object) -> str | None:
    if isinstance(value, str | int | float | bool) and len(str(value)) <= 80:
        return str(value)
    return None


def _field_drift(prefix: str, committed: object, compiled: object) -> list[str]:
    if committed == compiled:
        return []
    if isinstance(committed, dict) and isinstance(compiled, dict):
        changes: list[str] = []
        for key in sorted(set(committed) | set(compiled)):
            if key not in compiled:
                changes.append(f"{prefix}.{key} is not produced any more")
            elif key not in committed:
                changes.append(f"{prefix}.{key} is new")
            else:
                changes.extend(_field_drift(f"{prefix}.{key}", committed[key], compiled[key]))
        return changes
    old, new = _short(committed), _short(compiled)
    if old is not None and new is not None:
        return [f"{prefix} changed: committed {old}, compiled {new}"]
    if prefix.endswith("ytecode") and isinstance(committed, str) and isinstance(compiled, str):
        sizes = f"{len(committed) // 2 - 1} -> {len(compiled) // 2 - 1} bytes"
        return [f"{prefix} changed ({sizes})"]
    return [f"{prefix} changed"]


def artifact_drift(
    compiled: Mapping[str, Mapping[str, Any]], out_dir: Path, label: str | None = None
) -> list[str]:
    """Differences between freshly ``compiled`` artifacts and the files in ``out_dir``."""
    where = label or str(out_dir)
    on_disk = {path.stem: path for path in out_dir.glob("*.json")} if out_dir.is_dir() else {}
    drift: list[str] = []
    for name in sorted(compiled.keys() - on_disk.keys()):
        drift.append(
            f"{where}/{name}.json is missing (contract {name} in {compiled[name]['sourceName']})"
        )
    for name in sorted(on_disk.keys() - compiled.keys()):
        drift.append(f"{where}/{name}.json is stale: no deployable contract {name} compiles to it")
    for name in sorted(compiled.keys() & on_disk.keys()):
        text = on_disk[name].read_text(encoding="utf-8")
        try:
            committed = json.loads(text)
        except json.JSONDecodeError as error:
            drift.append(f"{where}/{name}.json is not valid JSON ({error})")
            continue
        changes = _field_drift(name, committed, dict(compiled[name]))
        if changes:
            drift.extend(f"{where}/{name}.json: {change}" for change in changes)
        elif text != artifact_json(compiled[name]):
            drift.append(f"{where}/{name}.json is not in canonical form (rewrite it by compiling)")
    return drift


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

    An empty list means no drift. Covers ``src/provledger/artifacts`` and, when harnesses
    exist or their artifacts do, ``tests/artifacts``.
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


#: Modules generated from the runtime artifacts: path -> renderer.
GENERATED_MODULES: Final[dict[str, Callable[[Mapping[str, Mapping[str, Any]]], str]]] = {
    "src/provledger/chain/events.py": render_events_module,
    "src/provledger/indexer/rows.py": render_rows_module,
}


def _has_package(root: Path) -> bool:
    # Only the provledger tree has the package; throwaway test projects have an artifacts
    # folder under src/provledger but no package around it.
    return (root / "src" / "provledger" / "__init__.py").is_file()


def write_generated_modules(artifacts: Mapping[str, Mapping[str, Any]], root: Path) -> list[Path]:
    """Regenerate every module of :data:`GENERATED_MODULES` from ``artifacts``."""
    written = []
    for relative, render in GENERATED_MODULES.items():
        path = root / relative
        path.write_text(render(artifacts), encoding="utf-8")
        written.append(path)
    return written


def generated_modules_drift(artifacts: Mapping[str, Mapping[str, Any]], root: Path) -> list[str]:
    """One line per generated module that differs from what ``artifacts`` give."""
    drift = []
    for relative, render in GENERATED_MODULES.items():
        try:
            actual = (root / relative).read_text(encoding="utf-8")
        except FileNotFoundError:
            drift.append(f"{relative}: missing")
            continue
        if actual != render(artifacts):
            drift.append(f"{relative}: stale, regenerate it")
    return drift


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
