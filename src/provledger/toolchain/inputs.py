"""The standard-JSON compiler input: the pinned settings and every source file it needs.

The input is built here, not by the compiler: every imported file is read into ``sources``
under its repository-relative source unit name (``contracts/X.sol``,
``@openzeppelin/contracts/...``), following imports the way solc resolves them. The input, and
so the bytecode and its metadata hash, is then the same whichever backend compiles it and
wherever the checkout lives; no absolute path can reach an artifact.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Final

from provledger.errors import CompilationError

EVM_VERSION: Final = "cancun"
"""The default target. Solidity 0.8.25+ copies memory with MCOPY for cancun, and eth-tester and
anvil run it; nodes that do not get the :data:`OLDER_EVM_VERSION` build."""

OLDER_EVM_VERSION: Final = "shanghai"
"""The older target, for nodes without cancun. No target before cancun compiles the sources as
they are (OpenZeppelin's ``Bytes.sol``, which ``Strings.sol`` imports, has ``mcopy`` in inline
assembly); :mod:`provledger.toolchain.evm_compat` rewrites those copies for it. Shanghai keeps
PUSH0; paris compiles the same way, but no current node runs paris and not shanghai."""

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


def compiler_settings(evm_version: str = EVM_VERSION) -> dict[str, Any]:
    """A fresh deep copy of :data:`COMPILER_SETTINGS` as plain JSON values (lists, dicts),
    targeting ``evm_version``."""
    settings: dict[str, Any] = json.loads(json.dumps(COMPILER_SETTINGS))
    settings["evmVersion"] = evm_version
    return settings


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


def standard_json_input(
    sources: Mapping[str, str], evm_version: str = EVM_VERSION
) -> dict[str, Any]:
    """The standard-JSON compiler input for ``sources`` with :data:`COMPILER_SETTINGS`,
    targeting ``evm_version``."""
    return {
        "language": "Solidity",
        "sources": {unit: {"content": sources[unit]} for unit in sorted(sources)},
        "settings": compiler_settings(evm_version),
    }


def source_hash(sources: Mapping[str, str]) -> str:
    """sha256 over the canonical JSON of the input's ``sources``: any source change changes it."""
    input_sources = {unit: {"content": text} for unit, text in sources.items()}
    return "0x" + hashlib.sha256(_canonical_json(input_sources)).hexdigest()
