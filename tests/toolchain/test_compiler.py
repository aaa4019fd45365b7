"""Compiling a throwaway project into artifacts: selection, content, determinism, drift, errors."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak

from provledger.errors import CompilationError
from provledger.toolchain.compiler import (
    HARNESS,
    RUNTIME,
    RUNTIME_OLDER,
    build,
    check_artifacts,
    compile_contracts,
    run_compile,
)
from provledger.toolchain.files import artifact_json, write_artifacts
from provledger.toolchain.inputs import (
    COMPILER_SETTINGS,
    collect_sources,
    find_imports,
    resolve_import,
)
from provledger.toolchain.solc import REPO_ROOT, SOLC_ENV_VAR, SOLC_VERSION, Solc, SolcSource

SourceWriter = Callable[[Path, dict[str, str]], Path]

ARTIFACT_KEYS = {
    "abi",
    "bytecode",
    "compiler",
    "contractName",
    "deployedBytecode",
    "deployedBytecodeHash",
    "immutableReferences",
    "metadata",
    "sourceHash",
    "sourceName",
    "storageLayout",
}


@pytest.fixture(scope="module")
def token_project(
    tmp_path_factory: pytest.TempPathFactory,
    write_sources: SourceWriter,
    token_project_files: dict[str, str],
    node_modules: Path,
    solc: Solc,
) -> Path:
    """The token project, built once for the module (runtime and harness artifacts written)."""
    root = write_sources(tmp_path_factory.mktemp("token-project"), token_project_files)
    build(root, node_modules=node_modules, solc=solc)
    return root


def read_artifact(root: Path, name: str, folder: str = RUNTIME.artifacts_dir) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / folder / f"{name}.json").read_text(encoding="utf-8"))
    return data


def artifact_files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for folder in (RUNTIME.artifacts_dir, HARNESS.artifacts_dir)
        for path in sorted((root / folder).glob("*.json"))
    }


# --- import resolution (no compiler needed) ----------------------------------------------------


@pytest.mark.parametrize(
    ("importer", "import_path", "unit"),
    [
        ("contracts/Token.sol", "./interfaces/IToken.sol", "contracts/interfaces/IToken.sol"),
        ("contracts/test/Harness.sol", "../Token.sol", "contracts/Token.sol"),
        (
            "@openzeppelin/contracts/access/AccessControl.sol",
            "../utils/introspection/ERC165.sol",
            "@openzeppelin/contracts/utils/introspection/ERC165.sol",
        ),
        (
            "contracts/Token.sol",
            "@openzeppelin/contracts/token/ERC721/ERC721.sol",
            "@openzeppelin/contracts/token/ERC721/ERC721.sol",
        ),
        ("contracts/Token.sol", "contracts/Other.sol", "contracts/Other.sol"),
        ("contracts/a/b/C.sol", "./../.././x//Y.sol", "contracts/x/Y.sol"),
        ("Top.sol", "../../Up.sol", "Up.sol"),
    ],
)
def test_resolve_import_follows_solc(importer: str, import_path: str, unit: str) -> None:
    assert resolve_import(importer, import_path) == unit


def test_find_imports_reads_every_directive_form_and_ignores_comments_and_strings() -> None:
    source = """
        pragma solidity ^0.8.24;
        import "./A.sol";
        import './B.sol' as B;
        import * as C from "./C.sol";
        import {D, E as F} from
            "../D.sol";
        import{G}from"./G.sol";
        // import "./InLineComment.sol";
        /* import "./InBlockComment.sol";
           import "./StillInComment.sol"; */
        /// @dev import {H} from "./InNatSpec.sol";
        contract X { string s = "import \\"./InString.sol\\";"; }
    """

    assert find_imports(source) == ["./A.sol", "./B.sol", "./C.sol", "../D.sol", "./G.sol"]


def test_missing_import_is_a_compilation_error(
    tmp_path: Path, write_sources: SourceWriter, node_modules: Path
) -> None:
    write_sources(
        tmp_path,
        {"contracts/A.sol": 'pragma solidity 0.8.37;\nimport "./Nope.sol";\ncontract A {}\n'},
    )

    with pytest.raises(
        CompilationError, match=r"contracts/Nope\.sol.*imported by contracts/A\.sol"
    ):
        collect_sources(RUNTIME.entry_units(tmp_path), tmp_path, node_modules)


def test_no_contracts_compile_to_nothing_without_a_compiler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "contracts" / "interfaces").mkdir(parents=True)
    monkeypatch.setenv(SOLC_ENV_VAR, str(tmp_path / "no-such-solc"))

    assert compile_contracts(tmp_path) == {}
    assert check_artifacts(tmp_path) == []


def test_write_artifacts_is_canonical_and_removes_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "artifacts"
    out.mkdir()
    (out / "__init__.py").write_text("", encoding="utf-8")
    (out / "Gone.json").write_text("{}\n", encoding="utf-8")

    written = write_artifacts({"B": {"z": 1, "a": [1, 2]}, "A": {"k": "v"}}, out)

    assert written == [out / "A.json", out / "B.json"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert (out / "A.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(path.name for path in out.iterdir()) == ["A.json", "B.json", "__init__.py"]
    assert (out / "B.json").read_text(encoding="utf-8") == (
        '{\n  "a": [\n    1,\n    2\n  ],\n  "z": 1\n}\n'
    )


# --- compiling the token project ---------------------------------------------------------------


def test_artifacts_exist_only_for_deployable_contracts(token_project: Path) -> None:
    assert artifact_files(token_project).keys() == {
        "src/provledger/artifacts/Token.json",
        "tests/artifacts/TokenHarness.json",
    }


def test_artifact_content(token_project: Path) -> None:
    token = read_artifact(token_project, "Token")

    assert set(token) == ARTIFACT_KEYS
    assert (token["contractName"], token["sourceName"]) == ("Token", "contracts/Token.sol")
    assert re.fullmatch(
        rf"{re.escape(SOLC_VERSION)}\+commit\.[0-9a-f]{{8}}", token["compiler"]["version"]
    )
    assert token["compiler"]["settings"] == COMPILER_SETTINGS
    assert token["compiler"]["settings"]["evmVersion"] == "cancun"
    assert token["compiler"]["settings"]["optimizer"] == {"enabled": True, "runs": 200}
    assert re.fullmatch(r"0x([0-9a-f]{2})+", token["bytecode"])
    assert re.fullmatch(r"0x([0-9a-f]{2})+", token["deployedBytecode"])
    runtime = bytes.fromhex(token["deployedBytecode"][2:])
    assert token["deployedBytecodeHash"] == "0x" + keccak(runtime).hex()
    assert {item["name"] for item in token["abi"] if item["type"] == "event"} >= {
        "Minted",
        "Transfer",
        "RoleGranted",
    }
    # The immutable deployedAt is recorded so an on-chain code check can mask it.
    assert [len(refs) for refs in token["immutableReferences"].values()] == [1]
    metadata = json.loads(token["metadata"])
    assert metadata["settings"]["compilationTarget"] == {"contracts/Token.sol": "Token"}
    assert "@openzeppelin/contracts/token/ERC721/ERC721.sol" in metadata["sources"]
    assert "contracts/interfaces/IToken.sol" in metadata["sources"]


def test_source_hash_covers_every_source_of_the_input(
    token_project: Path, node_modules: Path
) -> None:
    token = read_artifact(token_project, "Token")
    sources = collect_sources(RUNTIME.entry_units(token_project), token_project, node_modules)
    canonical = json.dumps(
        {unit: {"content": text} for unit, text in sources.items()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )

    assert "@openzeppelin/contracts/utils/Strings.sol" in sources
    assert "contracts/test/TokenHarness.sol" not in sources
    assert token["sourceHash"] == "0x" + hashlib.sha256(canonical.encode()).hexdigest()


def test_artifacts_hold_no_machine_paths(token_project: Path) -> None:
    for name, data in artifact_files(token_project).items():
        text = data.decode()
        for machine_path in {str(token_project), str(REPO_ROOT), "/work", "/tmp", "node_modules"}:
            assert machine_path not in text, f"{name} mentions {machine_path}"


def test_harness_is_built_apart_from_the_runtime(token_project: Path) -> None:
    harness = read_artifact(token_project, "TokenHarness", HARNESS.artifacts_dir)
    token = read_artifact(token_project, "Token")

    assert harness["sourceName"] == "contracts/test/TokenHarness.sol"
    assert harness["sourceHash"] != token["sourceHash"]
    assert "fakeNow" in {item.get("name") for item in harness["abi"]}


def test_build_is_deterministic_and_independent_of_the_checkout_path(
    token_project: Path, tmp_path: Path, node_modules: Path
) -> None:
    elsewhere = tmp_path / "a" / "different" / "checkout"
    shutil.copytree(token_project / "contracts", elsewhere / "contracts")
    out = io.StringIO()

    status = run_compile(root=elsewhere, node_modules=node_modules, out=out)

    assert status == 0
    assert artifact_files(elsewhere) == artifact_files(token_project)
    lines = out.getvalue().splitlines()
    assert re.fullmatch(rf"compiler: solc {re.escape(SOLC_VERSION)}\+commit\.\w+ \(.+\)", lines[0])
    size = len(read_artifact(elsewhere, "Token")["deployedBytecode"]) // 2 - 1
    assert re.fullmatch(rf"src/provledger/artifacts/Token\.json +runtime +{size:,} bytes", lines[1])
    assert re.fullmatch(r"tests/artifacts/TokenHarness\.json +runtime +[\d,]+ bytes", lines[2])
    assert re.fullmatch(
        r"src/provledger/artifacts/shanghai/Token\.json +runtime +[\d,]+ bytes", lines[3]
    )
    assert (
        read_artifact(elsewhere, "Token", RUNTIME_OLDER.artifacts_dir)["compiler"]["settings"][
            "evmVersion"
        ]
        == "shanghai"
    )


def test_fresh_build_has_no_drift(token_project: Path, node_modules: Path, solc: Solc) -> None:
    assert check_artifacts(token_project, node_modules=node_modules, solc=solc) == []


def test_drift_is_described(token_project: Path, tmp_path: Path, node_modules: Path) -> None:
    root = tmp_path / "drifted"
    shutil.copytree(token_project, root)
    token_sol = root / "contracts" / "Token.sol"
    token_sol.write_text(
        token_sol.read_text(encoding="utf-8").replace("function mint(", "function mintOne("),
        encoding="utf-8",
    )
    (root / "src/provledger/artifacts/Stale.json").write_text("{}\n", encoding="utf-8")
    (root / "tests/artifacts/TokenHarness.json").unlink()
    out = io.StringIO()

    status = run_compile(check=True, root=root, node_modules=node_modules, out=out)

    report = out.getvalue()
    assert status == 1
    assert "drift: src/provledger/artifacts/Token.json: Token.abi changed" in report
    assert "drift: src/provledger/artifacts/Token.json: Token.deployedBytecode changed" in report
    assert "drift: src/provledger/artifacts/Token.json: Token.sourceHash changed" in report
    assert "drift: src/provledger/artifacts/Stale.json is stale" in report
    assert "drift: tests/artifacts/TokenHarness.json is missing" in report
    # --check writes nothing.
    assert not (root / "tests/artifacts/TokenHarness.json").exists()


def test_hand_reformatted_artifact_is_drift(
    token_project: Path, tmp_path: Path, node_modules: Path, solc: Solc
) -> None:
    root = tmp_path / "reformatted"
    shutil.copytree(token_project, root)
    path = root / "src/provledger/artifacts/Token.json"
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")

    drift = check_artifacts(root, node_modules=node_modules, solc=solc)

    assert drift == [
        "src/provledger/artifacts/Token.json is not in canonical form (rewrite it by compiling)"
    ]


def test_compile_error_carries_solc_messages(
    tmp_path: Path, write_sources: SourceWriter, node_modules: Path, solc: Solc
) -> None:
    write_sources(
        tmp_path,
        {
            "contracts/Broken.sol": """
                // SPDX-License-Identifier: Apache-2.0
                pragma solidity 0.8.37;

                contract Broken {
                    function f() external pure returns (uint256) {
                        return undefinedThing;
                    }
                }
                """
        },
    )

    with pytest.raises(CompilationError) as caught:
        compile_contracts(tmp_path, node_modules=node_modules, solc=solc)

    assert len(caught.value.messages) == 1
    assert "Undeclared identifier" in caught.value.messages[0]
    assert "contracts/Broken.sol" in caught.value.messages[0]
    assert "Undeclared identifier" in str(caught.value)


def test_warnings_are_reported(
    tmp_path: Path, write_sources: SourceWriter, node_modules: Path, solc: Solc
) -> None:
    write_sources(
        tmp_path,
        {
            "contracts/Noisy.sol": """
                // SPDX-License-Identifier: Apache-2.0
                pragma solidity 0.8.37;

                contract Noisy {
                    function f(uint256 unused) external pure returns (uint256) {
                        return 1;
                    }
                }
                """
        },
    )
    warnings: list[str] = []

    artifacts = compile_contracts(
        tmp_path, node_modules=node_modules, solc=solc, on_warning=warnings.append
    )

    assert list(artifacts) == ["Noisy"]
    assert any("Unused function parameter" in warning for warning in warnings)


def test_a_native_looking_backend_gives_identical_artifacts(
    token_project: Path,
    tmp_path: Path,
    node_modules: Path,
    npm_compiler: Solc,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A "native" solc on PATH: reports a Linux build, compiles with the npm one. The artifact
    # records the version without its platform, so only the compiler output can differ.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    native = bin_dir / "solc"
    version = npm_compiler.version
    native.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then\n'
        "  printf 'solc, the solidity compiler commandline interface\\n"
        f"Version: {version}.Linux.g++\\n'\n"
        "  exit 0\n"
        "fi\n"
        f'exec "{npm_compiler.path}" "$@"\n',
        encoding="utf-8",
    )
    native.chmod(0o755)
    monkeypatch.delenv(SOLC_ENV_VAR, raising=False)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    from provledger.toolchain.solc import find_solc

    backend = find_solc()
    compiled = compile_contracts(token_project, node_modules=node_modules, solc=backend)

    assert backend.source is SolcSource.PATH
    assert (
        artifact_json(compiled["Token"]).encode()
        == artifact_files(token_project)["src/provledger/artifacts/Token.json"]
    )
