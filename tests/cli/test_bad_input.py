"""Bad input gets one line naming what to fix and the documented exit code; nothing is sent.

Every case runs on anvil and on Hardhat 3's node (EDR), with the same expected lines: a node's
way of answering a refusal must not change what the user reads (issue 19).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.conftest import BUYER, HOLDER, Cli, deployed_cli
from helpers.required import start_anvil, start_hardhat
from helpers.writers import MIB, ConcurrentWriter, settled_file
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import free_port
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.cli import registrant
from provledger.hashing import FolderManifest, ProgressCallback, folder_manifest, sha256_file

pytestmark = pytest.mark.anvil


@pytest.fixture(
    scope="module",
    params=[pytest.param("anvil"), pytest.param("hardhat", marks=pytest.mark.hardhat)],
)
def cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """The deployed chain of :func:`cli.conftest.deployed_cli`, on anvil and on Hardhat."""
    start = start_hardhat if request.param == "hardhat" else start_anvil
    yield from deployed_cli(start(), tmp_path_factory)


HOLDER_FLAGS = ("--dev-account", str(HOLDER))


def _nonce(cli: Cli) -> int:
    return int(cli.w3.eth.get_transaction_count(dev_account(HOLDER).address))


def test_missing_and_special_inputs(cli: Cli, tmp_path: Path) -> None:
    before = _nonce(cli)
    missing = tmp_path / "missing.csv"
    line = cli.fails(2, "register", str(missing), "--category", "301", *HOLDER_FLAGS)
    assert line == f"error: {missing} does not exist"
    assert cli.fails(2, "hash", str(missing)) == f"error: {missing} does not exist"
    line = cli.fails(2, "hash", "/dev/null")
    assert line.startswith("error: ")
    assert "/dev/null" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    line = cli.fails(2, "anchor", str(empty), *HOLDER_FLAGS)
    assert line.startswith(f"error: Folder {str(empty)!r} holds no files")
    assert _nonce(cli) == before  # nothing was sent


def test_malformed_arguments(cli: Cli, tmp_path: Path) -> None:
    before = _nonce(cli)
    data = tmp_path / "data.csv"
    data.write_text("x\n")
    line = cli.fails(2, "transfer", "0x12", cli.address(BUYER), *HOLDER_FLAGS)
    assert line == "error: asset '0x12' is not an asset id (0x and 64 hex digits, or a number)"
    asset = asset_id_hex(asset_id(sha256_file(data)))
    line = cli.fails(2, "transfer", asset, "0xnope", *HOLDER_FLAGS)
    assert line == "error: recipient '0xnope' is not an address (0x and 40 hex digits)"
    typo = "0x70997970c51812dc3A010C7d01b50e0d17dc79C8"  # one letter's case off
    line = cli.fails(2, "transfer", asset, typo, *HOLDER_FLAGS)
    assert line == (
        f"error: recipient '{typo}' does not match its mixed-case (EIP-55) checksum: "
        "check it for a typo"
    )
    line = cli.fails(2, "license", "grant", asset, cli.address(BUYER), "--kind", "resale")
    assert line == "error: --kind 'resale' is not one of: processing-use, product-operation"
    line = cli.fails(2, "appraise", asset, "--amount", "12.345", "--currency", "CNY")
    assert line == "error: --amount '12.345' has too many decimals: CNY takes at most 2 decimals"
    line = cli.fails(2, "appraise", asset, "--amount", "10", "--currency", "yuan")
    assert line == "error: --currency 'yuan' is not a three-letter ISO 4217 code"
    line = cli.fails(2, "register", str(data), "--category", "301", "--parent", "0x1:cousin-of")
    assert line.startswith("error: --parent relation 'cousin-of' is not one of: derived-from")
    not_object = tmp_path / "meta.json"
    not_object.write_text("[1, 2]")
    line = cli.fails(
        2, "register", str(data), "--category", "301", "--metadata", str(not_object), *HOLDER_FLAGS
    )
    assert line == f"error: metadata file {not_object} must hold a JSON object"
    line = cli.fails(2, "roles", "grant", "king", cli.address(BUYER), "--dev-account", "0")
    assert line.startswith("error: role 'king' is not one of: admin, registrar")
    assert _nonce(cli) == before


def test_a_revert_is_decoded_into_words(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "twice.csv"
    data.write_text("registered twice\n")
    cli.ok("register", str(data), "--category", "301", *HOLDER_FLAGS)
    content = sha256_file(data)
    line = cli.fails(2, "register", str(data), "--category", "301", *HOLDER_FLAGS)
    asset = asset_id_hex(asset_id(content))
    assert line == (
        f"error: the contract refused: this content is already registered, as asset {asset} by "
        f"you (`provledger verify 0x{content.hex()}` shows it) [AssetAlreadyRegistered]"
    )
    line = cli.fails(2, "transfer", asset, cli.address(HOLDER), "--dev-account", str(BUYER))
    assert line == (
        f"error: the contract refused: you ({cli.address(BUYER)}) do not hold asset {asset}: "
        f"party {HOLDER} ({cli.address(HOLDER)}) holds it now and has not approved you "
        "[ERC721InsufficientApproval]"
    )
    line = cli.fails(2, "certify", asset, "--dev-account", str(BUYER))
    assert "AccessControlUnauthorizedAccount" in line


def test_no_node_or_a_node_that_does_not_answer(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "offline.csv"
    data.write_text("offline\n")
    closed = f"http://127.0.0.1:{free_port()}"
    line = cli.fails(3, "register", str(data), "--category", "301", "--rpc-url", closed)
    assert (
        line == f"error: cannot reach the chain at {closed}: connection refused or host unreachable"
    )
    url = cli.env.pop("PROVLEDGER_RPC_URL")
    try:
        line = cli.fails(2, "roles", "list")
    finally:
        cli.env["PROVLEDGER_RPC_URL"] = url
    assert line == (
        "error: this command needs a node: give --rpc-url or set PROVLEDGER_RPC_URL "
        "(`provledger chain` starts a local one)"
    )


def test_dev_keys_and_missing_keys(cli: Cli, tmp_path: Path) -> None:
    line = cli.fails(2, "cancel", asset_id_hex(1), "--dev-account", "42")
    assert line == "error: dev account index 42 is outside 0..19"
    line = cli.fails(2, "cancel", asset_id_hex(1))
    assert line.startswith("error: no signing key: give --keystore FILE")
    missing = tmp_path / "nokey.json"
    line = cli.fails(2, "cancel", asset_id_hex(1), "--keystore", str(missing), input="pw\n")
    assert line == f"error: keystore {missing} does not exist"


def _changed(path: Path, reason: str) -> str:
    return (
        f"error: {str(path)!r} changed while it was being hashed ({reason}); "
        "hash it again once nothing is writing to it"
    )


def test_a_file_rewritten_while_it_is_hashed_is_refused_in_one_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI hashes through hashing.sha256_file; a second thread rewrites the file in place
    # once 3 MiB of its 24 MiB are read, the file still open mid-read.
    writers: list[ConcurrentWriter] = []

    def rewritten_while_hashed(
        path: str | os.PathLike[str], *, progress: ProgressCallback | None = None
    ) -> bytes:
        writers.append(ConcurrentWriter(Path(path), "rewrite", after_bytes=3 * MIB))
        return sha256_file(path, progress=writers[-1].chained(progress))

    monkeypatch.setattr(registrant, "sha256_file", rewritten_while_hashed)
    data = settled_file(tmp_path / "large.bin", 24 * MIB)
    old = sha256_file(data)
    before = _nonce(cli)
    line = cli.fails(2, "register", str(data), "--category", "301", *HOLDER_FLAGS)
    assert line == _changed(data, "it was modified")
    assert [writer.done for writer in writers] == [True]
    assert _nonce(cli) == before  # nothing was sent
    for content in (old, sha256_file(data)):
        assert cli.ledger().registry.asset_by_hash(content) is None

    settled_file(data, 24 * MIB)
    assert cli.fails(2, "hash", str(data)) == _changed(data, "it was modified")
    assert cli.fails(2, "hash", str(data), "--json") == _changed(data, "it was modified")
    assert [writer.done for writer in writers] == [True] * 3


def test_a_folder_changed_while_it_is_hashed_is_refused_in_one_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "dataset"
    settled_file(folder / "a.csv", 1000)
    settled_file(folder / "b.bin", 24 * MIB)

    def changed_while_hashed(
        path: str | os.PathLike[str], *, progress: ProgressCallback | None = None
    ) -> FolderManifest:
        writer = ConcurrentWriter(folder / "a.csv", "append", after_bytes=1000 + 3 * MIB)
        return folder_manifest(path, progress=writer.chained(progress))

    monkeypatch.setattr(registrant, "folder_manifest", changed_while_hashed)
    before = _nonce(cli)
    line = cli.fails(2, "register", str(folder), "--category", "301", *HOLDER_FLAGS)
    assert line == _changed(folder / "a.csv", "its size went from 1,000 to 5,096 bytes")
    assert _nonce(cli) == before
    manifest = tmp_path / "manifest.json"
    settled_file(folder / "a.csv", 1000)
    line = cli.fails(2, "hash", str(folder), "--manifest", str(manifest))
    assert line == _changed(folder / "a.csv", "its size went from 1,000 to 5,096 bytes")
    assert not manifest.exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--category", "70000"), "error: category '70000' is outside 0..65535"),
        (("--category", "-1"), "error: category '-1' is outside 0..65535"),
        (("--category", "301", "--grade", "256"), "error: grade '256' is outside 0..255"),
        (("--category", "301", "--grade", "-1"), "error: grade '-1' is outside 0..255"),
    ],
)
@pytest.mark.parametrize("command", ["register", "sign"])
def test_a_category_or_grade_the_chain_cannot_hold_is_one_line(
    cli: Cli, tmp_path: Path, command: str, flags: tuple[str, ...], message: str
) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a category out of range\n")
    before = _nonce(cli)
    assert cli.fails(2, command, str(data), *flags, *HOLDER_FLAGS) == message
    assert _nonce(cli) == before
    assert cli.ledger().registry.asset_by_hash(sha256_file(data)) is None
