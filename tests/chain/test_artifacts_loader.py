"""provledger.chain.artifacts: loading packaged artifacts without the compile toolchain."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_typing import HexStr

from provledger.chain import artifacts as loader
from provledger.chain.artifacts import Artifact, artifact_names, load_artifact
from provledger.errors import ConfigurationError, UnknownArtifactError

RUNTIME = HexStr("0x6080604052" + "5f" * 40)
RUNTIME_HASH = HexStr("0x" + "ab" * 32)
SOURCE_HASH = HexStr("0x" + "cd" * 32)


def artifact_document(name: str) -> dict[str, object]:
    return {
        "contractName": name,
        "sourceName": f"contracts/{name}.sol",
        "abi": [{"type": "event", "name": "Registered", "inputs": [], "anonymous": False}],
        "bytecode": "0x6080",
        "deployedBytecode": RUNTIME,
        "deployedBytecodeHash": RUNTIME_HASH,
        "immutableReferences": {"12": [{"start": 40, "length": 32}, {"start": 7, "length": 32}]},
        "metadata": "{}",
        "storageLayout": {"storage": [], "types": None},
        "compiler": {"version": "0.8.37+commit.f401782d", "settings": {"evmVersion": "cancun"}},
        "sourceHash": "0x" + "cd" * 32,
    }


@pytest.fixture
def packaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throwaway artifacts package in place of provledger.artifacts."""
    package = tmp_path / "fake_artifacts_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    for name in ("DataAssetRegistry", "LicenseRegistry"):
        (package / f"{name}.json").write_text(json.dumps(artifact_document(name)), encoding="utf-8")
    (package / "notes.txt").write_text("not an artifact", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(loader, "ARTIFACTS_PACKAGE", "fake_artifacts_pkg")
    loader.clear_artifact_cache()
    yield package
    loader.clear_artifact_cache()
    sys.modules.pop("fake_artifacts_pkg", None)


def test_names_are_the_json_files(packaged: Path) -> None:
    assert artifact_names() == ("DataAssetRegistry", "LicenseRegistry")


def test_load_artifact(packaged: Path) -> None:
    artifact = load_artifact("LicenseRegistry")

    assert artifact == Artifact(
        name="LicenseRegistry",
        source_name="contracts/LicenseRegistry.sol",
        abi=({"type": "event", "name": "Registered", "inputs": [], "anonymous": False},),
        bytecode=HexStr("0x6080"),
        deployed_bytecode=RUNTIME,
        deployed_bytecode_hash=RUNTIME_HASH,
        immutable_ranges=((7, 32), (40, 32)),
        compiler_version="0.8.37+commit.f401782d",
        source_hash=SOURCE_HASH,
    )
    assert load_artifact("LicenseRegistry") is artifact


def test_unknown_name_suggests_close_ones(packaged: Path) -> None:
    with pytest.raises(UnknownArtifactError, match=r"Did you mean 'LicenseRegistry'\?") as caught:
        load_artifact("LicenceRegistry")

    assert caught.value.name == "LicenceRegistry"
    assert caught.value.known == ("DataAssetRegistry", "LicenseRegistry")


def test_unknown_name_without_close_match_lists_known(packaged: Path) -> None:
    with pytest.raises(UnknownArtifactError, match="Known artifacts: DataAssetRegistry, "):
        load_artifact("../../etc/passwd")


def test_malformed_artifact_is_a_configuration_error(packaged: Path) -> None:
    document = artifact_document("DataAssetRegistry")
    del document["deployedBytecodeHash"]
    (packaged / "DataAssetRegistry.json").write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(ConfigurationError, match=r"DataAssetRegistry\.json .* malformed"):
        load_artifact("DataAssetRegistry")


def test_every_packaged_artifact_loads_and_its_hash_matches() -> None:
    from eth_utils.crypto import keccak

    loader.clear_artifact_cache()
    for name in artifact_names():
        artifact = load_artifact(name)
        runtime = bytes.fromhex(artifact.deployed_bytecode.removeprefix("0x"))
        assert artifact.name == name
        assert artifact.deployed_bytecode_hash == "0x" + keccak(runtime).hex()


def test_loader_does_not_import_the_compile_toolchain() -> None:
    code = (
        "import sys, provledger.chain.artifacts as a; a.artifact_names(); "
        "bad = sorted(m for m in sys.modules if m == 'solcx' or m.startswith('solcx.') "
        "or m.startswith('provledger.toolchain')); print(bad); sys.exit(1 if bad else 0)"
    )

    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
