"""The npm solc wrapper and the pinned-compiler resolution order."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import solcx
from packaging.version import Version
from solcx.exceptions import SolcError, UnknownOption

from provledger.errors import ConfigurationError, SolcVersionMismatchError
from provledger.toolchain.inputs import (
    COMPILER_SETTINGS,
    collect_sources,
    standard_json_input,
)
from provledger.toolchain.solc import (
    REPO_ROOT,
    SOLC_ENV_VAR,
    SOLC_VERSION,
    Solc,
    SolcSource,
    find_solc,
    npm_wrapper_path,
)

WRAPPER = npm_wrapper_path()
NODE_MODULES = REPO_ROOT / "node_modules"
NATIVE_VERSION_RE = re.compile(
    r"\Asolc, the solidity compiler commandline interface\n"
    r"Version: (?P<version>\d+\.\d+\.\d+\+commit\.[0-9a-f]{8})\.\S+\n\Z"
)

USES_OZ = {
    "contracts/Roles.sol": """
        // SPDX-License-Identifier: Apache-2.0
        pragma solidity 0.8.37;

        import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
        import {Answer} from "./lib/Answer.sol";

        contract Roles is AccessControl {
            function answer() external pure returns (uint256) {
                return Answer.VALUE;
            }
        }
        """,
    "contracts/lib/Answer.sol": """
        // SPDX-License-Identifier: Apache-2.0
        pragma solidity 0.8.37;

        library Answer {
            uint256 internal constant VALUE = 42;
        }
        """,
}


def run_wrapper(
    *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WRAPPER), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def fake_solc(folder: Path, name: str, version_line: str) -> Path:
    """A shell script that answers ``--version`` like a native solc and fails otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then\n'
        "  printf 'solc, the solidity compiler commandline interface\\n"
        f"Version: {version_line}\\n'\n"
        "  exit 0\n"
        "fi\n"
        "exit 1\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


@pytest.fixture
def isolated_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH holds only ``node`` (for the npm wrapper) and an empty bin folder the test fills.

    Also empties py-solc-x's install folder and unsets ``PROVLEDGER_SOLC``.
    """
    node = shutil.which("node")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    node_dir = tmp_path / "node-only"
    node_dir.mkdir()
    if node is not None:
        (node_dir / "node").symlink_to(node)
    solcx_dir = tmp_path / "solcx"
    solcx_dir.mkdir()
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), str(node_dir)]))
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(solcx_dir))
    monkeypatch.delenv(SOLC_ENV_VAR, raising=False)
    return bin_dir


# --- the pin -----------------------------------------------------------------------------------


def test_pinned_version_matches_package_json_and_lock() -> None:
    package = json.loads((REPO_ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text(encoding="utf-8"))

    assert package["dependencies"]["solc"] == SOLC_VERSION
    assert lock["packages"][""]["dependencies"]["solc"] == SOLC_VERSION
    assert lock["packages"]["node_modules/solc"]["version"] == SOLC_VERSION


# --- the wrapper -------------------------------------------------------------------------------


def test_wrapper_prints_version_like_native_solc(npm_compiler: Solc) -> None:
    completed = run_wrapper("--version")

    assert completed.returncode == 0, completed.stderr
    match = NATIVE_VERSION_RE.match(completed.stdout)
    assert match is not None, completed.stdout
    assert match["version"].startswith(f"{SOLC_VERSION}+commit.")
    assert match["version"] == npm_compiler.version
    assert solcx.wrapper.get_solc_version(WRAPPER) == Version(SOLC_VERSION)
    with_commit = solcx.wrapper.get_solc_version(WRAPPER, with_commit_hash=True)
    assert str(with_commit) == npm_compiler.version


def test_wrapper_standard_json_resolves_imports_through_its_callback(
    npm_compiler: Solc, tmp_path: Path, write_sources: Callable[[Path, dict[str, str]], Path]
) -> None:
    project = tmp_path / "project"
    write_sources(project, USES_OZ)
    entry = "contracts/Roles.sol"
    # Only the entry file: OpenZeppelin comes from node_modules, ./lib/Answer.sol from base path.
    input_data = {
        "language": "Solidity",
        "sources": {entry: {"content": (project / entry).read_text(encoding="utf-8")}},
        "settings": dict(COMPILER_SETTINGS),
    }

    completed = run_wrapper(
        "--standard-json",
        "--base-path",
        str(project),
        "--allow-paths",
        f"{project},{NODE_MODULES}",
        stdin=json.dumps(input_data),
        cwd=tmp_path,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("{")
    output = json.loads(completed.stdout)
    assert [e for e in output.get("errors", []) if e["severity"] == "error"] == []
    assert "@openzeppelin/contracts/access/AccessControl.sol" in output["sources"]
    assert "@openzeppelin/contracts/utils/introspection/ERC165.sol" in output["sources"]
    assert "contracts/lib/Answer.sol" in output["sources"]
    assert output["contracts"][entry]["Roles"]["evm"]["deployedBytecode"]["object"]


def test_callback_and_python_resolution_give_identical_bytecode(
    npm_compiler: Solc, tmp_path: Path, write_sources: Callable[[Path, dict[str, str]], Path]
) -> None:
    project = tmp_path / "project"
    write_sources(project, USES_OZ)
    entry = "contracts/Roles.sol"
    via_callback: dict[str, Any] = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {entry: {"content": (project / entry).read_text(encoding="utf-8")}},
            "settings": dict(COMPILER_SETTINGS),
        },
        base_path=project,
        allow_paths=[project, NODE_MODULES],
        solc_binary=npm_compiler.path,
    )
    sources = collect_sources([entry], project, NODE_MODULES)
    in_python: dict[str, Any] = solcx.compile_standard(
        standard_json_input(sources), solc_binary=npm_compiler.path
    )

    assert sorted(via_callback["sources"]) == sorted(sources)
    callback_roles = via_callback["contracts"][entry]["Roles"]
    python_roles = in_python["contracts"][entry]["Roles"]
    assert callback_roles["evm"]["bytecode"] == python_roles["evm"]["bytecode"]
    assert callback_roles["metadata"] == python_roles["metadata"]


def test_wrapper_reports_compile_errors_in_json_not_exit_status(
    npm_compiler: Solc, tmp_path: Path
) -> None:
    source = 'pragma solidity 0.8.37;\nimport "./Missing.sol";\ncontract A {}\n'
    input_data = {"language": "Solidity", "sources": {"contracts/A.sol": {"content": source}}}

    completed = run_wrapper("--standard-json", stdin=json.dumps(input_data), cwd=tmp_path)

    assert completed.returncode == 0, completed.stderr
    errors = json.loads(completed.stdout)["errors"]
    assert any(
        e["severity"] == "error" and "contracts/Missing.sol" in e["formattedMessage"]
        for e in errors
    )
    with pytest.raises(SolcError, match=r"contracts/Missing\.sol"):
        solcx.compile_standard(input_data, solc_binary=npm_compiler.path)


def test_wrapper_rejects_unknown_flag(npm_compiler: Solc) -> None:
    completed = run_wrapper("--standard-json", "--bogus-flag")

    assert completed.returncode != 0
    assert completed.stdout == ""
    assert "unrecognised option '--bogus-flag'" in completed.stderr
    with pytest.raises(UnknownOption, match="--bogus-flag"):
        solcx.wrapper.solc_wrapper(solc_binary=WRAPPER, standard_json=True, bogus_flag=True)


def test_wrapper_rejects_malformed_json(npm_compiler: Solc) -> None:
    completed = run_wrapper("--standard-json", stdin="{not json")

    assert completed.returncode != 0
    assert completed.stdout == ""
    assert "not valid JSON" in completed.stderr


def test_wrapper_needs_a_mode(npm_compiler: Solc) -> None:
    completed = run_wrapper("--base-path", ".")

    assert completed.returncode != 0
    assert completed.stdout == ""
    assert "--standard-json" in completed.stderr


# --- resolution order --------------------------------------------------------------------------


def test_env_var_names_the_compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_solc(tmp_path, "my-solc", f"{SOLC_VERSION}+commit.f401782d.Linux.g++")
    monkeypatch.setenv(SOLC_ENV_VAR, str(fake))

    found = find_solc()

    assert found == Solc(
        path=fake, version=f"{SOLC_VERSION}+commit.f401782d", source=SolcSource.ENV
    )


def test_env_var_with_another_version_is_an_error_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_solc(tmp_path, "old-solc", "0.8.20+commit.a1b79de6.Linux.g++")
    monkeypatch.setenv(SOLC_ENV_VAR, str(fake))

    with pytest.raises(SolcVersionMismatchError) as caught:
        find_solc()

    message = str(caught.value)
    assert "0.8.20+commit.a1b79de6" in message
    assert SOLC_VERSION in message
    assert SOLC_ENV_VAR in message
    assert isinstance(caught.value, ConfigurationError)
    assert (caught.value.found, caught.value.expected) == ("0.8.20+commit.a1b79de6", SOLC_VERSION)


def test_env_var_naming_no_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SOLC_ENV_VAR, str(tmp_path / "missing-solc"))

    with pytest.raises(ConfigurationError, match="does not name an existing file"):
        find_solc()


def test_env_var_naming_something_that_is_not_solc_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = tmp_path / "impostor"
    impostor.write_text("#!/bin/sh\necho hello\n", encoding="utf-8")
    impostor.chmod(0o755)
    monkeypatch.setenv(SOLC_ENV_VAR, str(impostor))

    with pytest.raises(ConfigurationError, match="did not print a solc version"):
        find_solc()


def test_solc_on_path_of_the_pinned_version_wins(isolated_path: Path) -> None:
    fake = fake_solc(isolated_path, "solc", f"{SOLC_VERSION}+commit.f401782d.Linux.g++")

    found = find_solc()

    assert (found.source, found.path) == (SolcSource.PATH, fake)


def test_solcx_install_of_the_pinned_version_is_used(isolated_path: Path, tmp_path: Path) -> None:
    installed = fake_solc(
        tmp_path / "solcx", f"solc-v{SOLC_VERSION}", f"{SOLC_VERSION}+commit.f401782d.Linux.g++"
    )

    found = find_solc()

    assert (found.source, found.path) == (SolcSource.SOLCX, installed)


def test_other_versions_on_path_and_in_solcx_fall_through_to_npm(
    isolated_path: Path, tmp_path: Path, npm_compiler: Solc
) -> None:
    fake_solc(isolated_path, "solc", "0.8.20+commit.a1b79de6.Linux.g++")
    fake_solc(tmp_path / "solcx", "solc-v0.8.20", "0.8.20+commit.a1b79de6.Linux.g++")

    found = find_solc()

    assert found == npm_compiler
    assert found.source is SolcSource.NPM
    assert found.path == WRAPPER


def test_missing_npm_compiler_says_to_run_npm_ci(isolated_path: Path, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(WRAPPER, checkout / "scripts" / "solc-npm")

    with pytest.raises(ConfigurationError) as caught:
        find_solc(repo_root=checkout)

    message = str(caught.value)
    assert "npm ci" in message
    assert f"no solc {SOLC_VERSION} found" in message


def test_wrapper_callback_honours_allow_paths(npm_compiler: Solc, tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "Shared.sol"
    outside.parent.mkdir()
    outside.write_text("pragma solidity 0.8.37;\nlibrary Shared {}\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    source = f'pragma solidity 0.8.37;\nimport "{outside}";\ncontract A {{}}\n'
    stdin = json.dumps(
        {"language": "Solidity", "sources": {"contracts/A.sol": {"content": source}}}
    )

    refused = run_wrapper("--standard-json", "--base-path", str(project), stdin=stdin)
    allowed = run_wrapper(
        "--standard-json",
        "--base-path",
        str(project),
        "--allow-paths",
        str(outside.parent),
        stdin=stdin,
    )

    refusals = [e["formattedMessage"] for e in json.loads(refused.stdout).get("errors", [])]
    assert any("outside of the allowed directories" in message for message in refusals)
    assert [e for e in json.loads(allowed.stdout)["errors"] if e["severity"] == "error"] == []
    assert str(outside) in json.loads(allowed.stdout)["sources"]
