"""register-many at scale: a 2,000-line list with three bad lines, then the rerun (issue 17)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from eth_utils.crypto import keccak
from web3 import Web3

from cli.conftest import HOLDER, Cli
from provledger.chain.accounts import dev_account
from provledger.chain.events import AssetRegistered
from provledger.chain.ids import asset_id, asset_id_hex

pytestmark = pytest.mark.anvil

ROWS = 2_000
#: List lines (the header is line 1) of the three bad rows.
UNLISTED_CATEGORY, MISSING_FILE, UNKNOWN_PARENT = 17, 1202, 1999
UNKNOWN_ID = asset_id(keccak(b"registered by nobody"))


def _contents(folder: Path) -> dict[int, bytes]:
    """The content of each data row's file, by list line."""
    return {line: f"row {line} of {folder}\n".encode() for line in range(2, ROWS + 2)}


def _write_list(folder: Path, contents: dict[int, bytes], *, fixed: bool) -> Path:
    """The files and the list; unless ``fixed``, three lines are bad for three reasons."""
    first = asset_id_hex(asset_id(hashlib.sha256(contents[2]).digest()))
    rows = ["path,category,parents"]
    for line, content in contents.items():
        name = f"f{line}.txt"
        category, parents = "301", ""
        if line == UNLISTED_CATEGORY and not fixed:
            category = "999"  # in range, but not in the registry's published list
        if line == UNKNOWN_PARENT:
            parents = first if fixed else asset_id_hex(UNKNOWN_ID)
        if line != MISSING_FILE or fixed:
            (folder / name).write_bytes(content)
        rows.append(f"{name},{category},{parents}")
    listing = folder / "assets.csv"
    listing.write_text("\n".join(rows) + "\n")
    return listing


def _registered_by_holder(cli: Cli, since: int) -> set[bytes]:
    """The content hashes the chain registered for HOLDER from block ``since`` on."""
    logs = cli.w3.eth.get_logs(
        {
            "address": cli.ledger().registry.address,
            "fromBlock": since,
            "toBlock": "latest",
            "topics": [
                Web3.to_hex(AssetRegistered.TOPIC0),
                None,  # any asset id
                Web3.to_hex(bytes(12) + bytes.fromhex(dev_account(HOLDER).address[2:])),
            ],
        }
    )
    return {bytes(log["topics"][3]) for log in logs}


def test_register_many_registers_all_but_the_bad_lines_then_the_rerun_skips_them(
    cli: Cli, tmp_path: Path
) -> None:
    contents = _contents(tmp_path)
    hashes = {line: hashlib.sha256(content).digest() for line, content in contents.items()}
    bad = (UNLISTED_CATEGORY, MISSING_FILE, UNKNOWN_PARENT)
    listing = _write_list(tmp_path, contents, fixed=False)
    start = cli.w3.eth.block_number + 1

    result = cli.run("register-many", str(listing), "--chunk", "100", "--dev-account", str(HOLDER))

    assert result.exit_code == 2, result.output
    assert result.stdout.strip() == "1,997 registered, 3 failed (lines 17, 1202, 1999), 0 skipped"
    assert result.stderr.splitlines() == [
        f"{listing}:17: the contract refused: category 999 is not on the published list "
        "(`provledger categories` lists it) [UnknownCategory]",
        f"{listing}:1202: {tmp_path / 'f1202.txt'} does not exist",
        f"{listing}:1999: the contract refused: parent 0x{UNKNOWN_ID:064x} is not registered "
        "[UnknownParent]",
    ]
    good = {hashes[line] for line in hashes if line not in bad}
    assert _registered_by_holder(cli, start) == good

    listing = _write_list(tmp_path, contents, fixed=True)
    start = cli.w3.eth.block_number + 1
    rerun = cli.run(
        "register-many", str(listing), "--skip-registered", "--json",
        "--dev-account", str(HOLDER),
    )  # fmt: skip

    assert rerun.exit_code == 0, rerun.output
    report = json.loads(rerun.stdout)
    assert report["failed"] == []
    assert report["stopped"] is None
    assert [item["line"] for item in report["registered"]] == list(bad)
    assert [(item["line"], item["asset_id"]) for item in report["skipped"]] == [
        (line, asset_id_hex(asset_id(hashes[line]))) for line in hashes if line not in bad
    ]
    assert _registered_by_holder(cli, start) == {hashes[line] for line in bad}
    (link,) = cli.ledger().registry.parents_of(asset_id(hashes[UNKNOWN_PARENT]))
    assert link.parent_id == asset_id(hashes[2])
