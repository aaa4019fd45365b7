"""Find the pinned Solidity compiler without downloading anything.

Resolution order, first match wins:

1. ``PROVLEDGER_SOLC``: the executable named there. It must report :data:`SOLC_VERSION`; any other
   version is an error, never a silent fallback, because whoever set it expects it to be used.
2. ``solc`` on ``PATH``, if it reports exactly :data:`SOLC_VERSION` (another version is skipped).
3. A solc of that version installed by py-solc-x (``~/.solcx`` or ``SOLCX_BINARY_PATH``).
   ``solcx.install_solc`` is never called: it downloads, and this machine has no internet.
4. ``scripts/solc-npm``: the npm package ``solc`` (pinned in ``package-lock.json``) behind a
   native-solc command line, run by ``node``.

All four give the same bytecode for the same standard-JSON input: the version, not the build
platform, decides the output. The platform suffix of the version (``.Linux.g++``,
``.Emscripten.clang``) is therefore dropped from :attr:`Solc.version`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from provledger.errors import ConfigurationError, SolcVersionMismatchError

SOLC_VERSION: Final = "0.8.37"
"""The one solc version provledger compiles with; package.json and package-lock.json pin it too."""

SOLC_ENV_VAR: Final = "PROVLEDGER_SOLC"

REPO_ROOT: Final = Path(__file__).resolve().parents[3]
"""The source checkout this module lives in (``<repo>/src/provledger/toolchain/solc.py``)."""

# What py-solc-x accepts: "0.8.37+commit.f401782d", optionally "-nightly.Y.M.D" after the number.
_VERSION_RE: Final = re.compile(
    r"(\d+\.\d+\.\d+)(?:-nightly\.\d+\.\d+\.\d+)?(\+commit\.[0-9a-fA-F]+)"
)
_VERSION_TIMEOUT_S: Final = 60


class SolcSource(StrEnum):
    """Where a compiler was found."""

    ENV = "env"
    PATH = "path"
    SOLCX = "solcx"
    NPM = "npm"

    @property
    def description(self) -> str:
        """A short phrase naming the source, for people."""
        return _SOURCE_DESCRIPTIONS[self]


_SOURCE_DESCRIPTIONS: Final = {
    SolcSource.ENV: f"${SOLC_ENV_VAR}",
    SolcSource.PATH: "solc on PATH",
    SolcSource.SOLCX: "solc installed by py-solc-x",
    SolcSource.NPM: "npm solc through scripts/solc-npm",
}


@dataclass(frozen=True)
class Solc:
    """A resolved compiler executable of the pinned version."""

    path: Path
    """The executable to give py-solc-x as ``solc_binary``."""
    version: str
    """The full version with its commit, without the platform: ``0.8.37+commit.f401782d``."""
    source: SolcSource
    """Which step of the resolution order found it."""

    def describe(self) -> str:
        """One line for people: version, where it came from, and the path."""
        return f"solc {self.version} ({self.source.description}: {self.path})"


def solc_version_of(executable: Path) -> str | None:
    """Run ``executable --version``; its version with commit, or None if it prints none."""
    try:
        completed = subprocess.run(
            [str(executable), "--version"],
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if completed.returncode != 0:
        return None
    match = _VERSION_RE.search(completed.stdout)
    return "".join(match.groups()) if match else None


def _is_pinned(version: str) -> bool:
    return version.split("+", 1)[0] == SOLC_VERSION


def _require_pinned(version: str, where: str, hint: str) -> None:
    # ``where`` names the executable as its user gave or installed it.
    if not _is_pinned(version):
        raise SolcVersionMismatchError(path=where, found=version, expected=SOLC_VERSION, hint=hint)


def _from_env(value: str) -> Solc:
    candidate = Path(value).expanduser()
    if os.sep not in value and not candidate.exists():
        found = shutil.which(value)
        if found is not None:
            candidate = Path(found)
    if not candidate.is_file():
        raise ConfigurationError(f"{SOLC_ENV_VAR}={value} does not name an existing file")
    if not os.access(candidate, os.X_OK):
        raise ConfigurationError(f"{SOLC_ENV_VAR}={value} is not executable")
    version = solc_version_of(candidate)
    if version is None:
        raise ConfigurationError(
            f"{SOLC_ENV_VAR}={value} did not print a solc version for `--version`; "
            f"it must be a solc {SOLC_VERSION} executable"
        )
    hint = f"point {SOLC_ENV_VAR} at a solc {SOLC_VERSION}, or unset it to use the npm one"
    _require_pinned(version, f"{SOLC_ENV_VAR}={value}", hint)
    return Solc(path=candidate, version=version, source=SolcSource.ENV)


def _from_path() -> Solc | None:
    found = shutil.which("solc")
    if found is None:
        return None
    version = solc_version_of(Path(found))
    if version is None or not _is_pinned(version):
        return None
    return Solc(path=Path(found), version=version, source=SolcSource.PATH)


def _from_solcx() -> Solc | None:
    # Imported here: py-solc-x imports requests and probes PATH when first imported.
    import solcx
    import solcx.install
    from packaging.version import InvalidVersion, Version

    try:
        installed = solcx.get_installed_solc_versions()
        if Version(SOLC_VERSION) not in installed:
            return None
        executable = Path(solcx.install.get_executable(SOLC_VERSION))
    except (OSError, InvalidVersion, solcx.exceptions.SolcNotInstalled):
        return None
    version = solc_version_of(executable)
    if version is None or not _is_pinned(version):
        return None
    return Solc(path=executable, version=version, source=SolcSource.SOLCX)


def npm_wrapper_path(repo_root: Path = REPO_ROOT) -> Path:
    """The ``scripts/solc-npm`` wrapper of a checkout."""
    return repo_root / "scripts" / "solc-npm"


def npm_solc(repo_root: Path = REPO_ROOT) -> Solc:
    """The npm compiler through ``scripts/solc-npm``, the last step of the resolution order.

    Raises:
        ConfigurationError: the wrapper, ``node`` or ``node_modules/solc`` is missing or broken.
    """
    wrapper = npm_wrapper_path(repo_root)
    node_modules = repo_root / "node_modules"
    fix = "run `npm ci` (or `make deps`) in the repository"
    if not wrapper.is_file():
        raise ConfigurationError(f"the npm compiler wrapper {wrapper} is missing")
    if not os.access(wrapper, os.X_OK):
        raise ConfigurationError(f"{wrapper} is not executable; run `chmod +x {wrapper}`")
    if shutil.which("node") is None:
        raise ConfigurationError(
            f"`node` is not on PATH, so the npm compiler cannot run; install Node.js >= 20, "
            f"then {fix}"
        )
    if not (node_modules / "solc" / "package.json").is_file():
        raise ConfigurationError(f"the npm package solc is not installed in {node_modules}; {fix}")
    version = solc_version_of(wrapper)
    if version is None:
        raise ConfigurationError(f"`{wrapper} --version` failed; {fix}")
    where = f"{node_modules / 'solc'} (run by {wrapper.name})"
    _require_pinned(version, where, f"package-lock.json pins {SOLC_VERSION}; {fix}")
    return Solc(path=wrapper, version=version, source=SolcSource.NPM)


def find_solc(repo_root: Path = REPO_ROOT) -> Solc:
    """Return the pinned compiler, trying the sources in the module's resolution order.

    Raises:
        SolcVersionMismatchError: ``PROVLEDGER_SOLC`` or ``node_modules/solc`` is another version.
        ConfigurationError: nothing usable was found; the message says what to install.
    """
    env_value = os.environ.get(SOLC_ENV_VAR, "")
    if env_value:
        return _from_env(env_value)
    found = _from_path() or _from_solcx()
    if found is not None:
        return found
    try:
        return npm_solc(repo_root)
    except SolcVersionMismatchError:
        raise
    except ConfigurationError as error:
        raise ConfigurationError(
            f"no solc {SOLC_VERSION} found: ${SOLC_ENV_VAR} is unset, there is none on PATH or "
            f"installed by py-solc-x, and {error}"
        ) from error
