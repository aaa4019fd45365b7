"""The older-EVM build: every contract compiles for shanghai, and its rewritten copies behave
like MCOPY (issue 19, item 3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from provledger.chain.artifacts import EVM_VERSIONS, artifact_names, load_artifact
from provledger.chain.connection import embedded_chain
from provledger.toolchain.compiler import RUNTIME, RUNTIME_OLDER, Target, compile_contracts
from provledger.toolchain.evm_compat import sources_for, without_mcopy
from provledger.toolchain.inputs import OLDER_EVM_VERSION
from provledger.toolchain.solc import REPO_ROOT, Solc

SourceWriter = Callable[[Path, dict[str, str]], Path]

COPIER = {
    "contracts/Copier.sol": """
        // SPDX-License-Identifier: Apache-2.0
        pragma solidity 0.8.37;

        contract Copier {
            /// `data` after MCOPY of `length` bytes from offset `source` to offset `target`.
            function copy(bytes memory data, uint256 target, uint256 source, uint256 length)
                external
                pure
                returns (bytes memory)
            {
                assembly ("memory-safe") {
                    let start := add(data, 0x20)
                    mcopy(add(start, target), add(start, source), length)
                }
                return data;
            }
        }
        """,
}


def test_the_older_target_is_a_packaged_set() -> None:
    assert OLDER_EVM_VERSION in EVM_VERSIONS
    assert RUNTIME_OLDER.artifacts_dir == f"{RUNTIME.artifacts_dir}/{OLDER_EVM_VERSION}"
    assert RUNTIME_OLDER.sources_dir == RUNTIME.sources_dir
    on_disk = sorted(path.stem for path in (REPO_ROOT / RUNTIME_OLDER.artifacts_dir).glob("*.json"))
    assert on_disk == list(artifact_names())
    for name in artifact_names():
        data = json.loads(
            (REPO_ROOT / RUNTIME_OLDER.artifacts_dir / f"{name}.json").read_text(encoding="utf-8")
        )
        assert data["compiler"]["settings"]["evmVersion"] == "shanghai"
        older, default = load_artifact(name, "shanghai"), load_artifact(name, "cancun")
        assert older.abi == default.abi
        assert older.bytecode != default.bytecode


def test_only_mcopy_statements_are_rewritten() -> None:
    source = "assembly { mcopy(add(a, 0x20), f(b, c), sub(e, s)) x := mcopyish(1) }"

    rewritten = without_mcopy(source)

    assert rewritten.startswith("assembly { { let mcN_ := sub(e, s) let mcS_ := f(b, c) ")
    assert "let mcD_ := add(a, 0x20)" in rewritten
    assert rewritten.endswith(" x := mcopyish(1) }")
    assert "mcopy(" not in rewritten
    assert sources_for({"A.sol": source}, "cancun") == {"A.sol": source}
    assert sources_for({"A.sol": source}, "shanghai") == {"A.sol": rewritten}


CASES = [
    # (target, origin, length) in a 100-byte buffer: apart, overlapping both ways, partial words.
    (0, 50, 0),
    (0, 50, 1),
    (3, 60, 31),
    (10, 40, 32),
    (1, 33, 33),
    (0, 10, 70),
    (10, 0, 70),
    (5, 6, 64),
    (6, 5, 64),
    (40, 7, 45),
    (99, 0, 1),
]


@pytest.mark.parametrize("evm_version", ["shanghai", "paris"])
def test_the_rewritten_copy_moves_bytes_like_mcopy(
    tmp_path: Path, write_sources: SourceWriter, node_modules: Path, solc: Solc, evm_version: str
) -> None:
    root = write_sources(tmp_path, COPIER)
    target = Target(evm_version, "contracts", "out", evm_version)
    artifact = compile_contracts(root, target=target, node_modules=node_modules, solc=solc)[
        "Copier"
    ]
    assert "mcopy" not in json.dumps(json.loads(artifact["metadata"])["sources"])
    w3 = embedded_chain()
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor().transact({"from": w3.eth.accounts[0]})
    )
    copier = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    data = bytes(range(1, 101))

    for destination, origin, length in CASES:
        expected = bytearray(data)
        expected[destination : destination + length] = data[origin : origin + length]
        result = copier.functions.copy(data, destination, origin, length).call()
        assert result == bytes(expected), (destination, origin, length)
