"""register-many from CSV and JSONL lists; sign and relay of EIP-712 registrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.conftest import HOLDER, Cli
from provledger.chain.accounts import dev_account
from provledger.chain.enums import Channel, Relation
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.hashing import folder_manifest, sha256_file
from provledger.store.blobs import BlobStore

pytestmark = pytest.mark.anvil

HOLDER_FLAGS = ("--dev-account", str(HOLDER))
RELAYER = 12  # pays the gas of relayed registrations; not a participant


def _nonce(cli: Cli, index: int = HOLDER) -> int:
    return int(cli.w3.eth.get_transaction_count(dev_account(index).address))


def _files(folder: Path, **contents: str) -> None:
    for name, text in contents.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_register_many_from_csv_reports_bad_rows_and_registers_the_rest(
    cli: Cli, tmp_path: Path
) -> None:
    parent_file = tmp_path / "parent.csv"
    parent_file.write_text("the parent\n")
    parent = cli.json("register", str(parent_file), "--category", "301", *HOLDER_FLAGS)
    _files(tmp_path, **{"a.csv": "alpha\n", "b.csv": "beta\n", "c.csv": "alpha\n"})
    _files(tmp_path / "set", **{"x.csv": "x\n", "y.csv": "y\n"})
    listing = tmp_path / "assets.csv"
    listing.write_text(
        "path,category,grade,title,parents\n"
        "a.csv,301,1,Alpha,\n"
        f"b.csv,301,2,Beta,{parent['asset_id']}:version-of\n"
        "missing.csv,301,1,,\n"
        "c.csv,301,1,,\n"
        "a.csv,abc,1,,\n"
        '"set",305,1,"A set, with a comma",\n'
        "b.csv,301,1,,,extra\n"
    )
    result = cli.run("register-many", str(listing), "--json", *HOLDER_FLAGS)
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert [item["line"] for item in report["registered"]] == [2, 3, 7]
    assert report["failed"] == [
        {"line": 4, "error": f"{tmp_path / 'missing.csv'} does not exist"},
        {"line": 5, "error": "c.csv has the same content as an earlier entry"},
        {"line": 6, "error": "category and grade must be whole numbers"},
        {"line": 8, "error": "more cells than the header has columns"},
    ]
    ledger = cli.ledger()
    expected = {
        2: (sha256_file(tmp_path / "a.csv"), 301, 1, {"title": "Alpha"}),
        3: (sha256_file(tmp_path / "b.csv"), 301, 2, {"title": "Beta"}),
        7: (folder_manifest(tmp_path / "set").root, 305, 1, {"title": "A set, with a comma"}),
    }
    transactions = {item["transaction"] for item in report["registered"]}
    assert len(transactions) == 1  # one registerMany
    for item in report["registered"]:
        content, category, grade, document = expected[item["line"]]
        assert item["asset_id"] == asset_id_hex(asset_id(content))
        state = ledger.registry.asset(asset_id(content))
        assert state is not None
        assert (state.category, state.grade, state.registrant) == (
            category,
            grade,
            dev_account(HOLDER).address,
        )
        stored = BlobStore(cli.home / "blobs").get("0x" + state.metadata_hash.hex())
        assert stored is not None
        assert json.loads(stored) == document
    (link,) = ledger.registry.parents_of(asset_id(sha256_file(tmp_path / "b.csv")))
    assert (asset_id_hex(link.parent_id), link.relation) == (
        parent["asset_id"],
        Relation.VERSION_OF,
    )

    human = cli.run("register-many", str(listing), *HOLDER_FLAGS)  # again: all refused
    assert human.exit_code == 2
    assert f"{listing}:2: already registered as asset " in human.stderr
    assert "0 registered, 7 failed" in human.stdout


def test_register_many_atomic_sends_nothing_when_a_row_is_bad(cli: Cli, tmp_path: Path) -> None:
    _files(tmp_path, **{"good.csv": "good atomic\n"})
    listing = tmp_path / "atomic.csv"
    listing.write_text("path,category\ngood.csv,301\nnope.csv,301\n")
    before = _nonce(cli)
    result = cli.run("register-many", str(listing), "--atomic", "--json", *HOLDER_FLAGS)
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["registered"] == []
    assert [item["line"] for item in report["failed"]] == [3]
    assert _nonce(cli) == before
    assert cli.ledger().registry.asset_by_hash(sha256_file(tmp_path / "good.csv")) is None


def test_register_many_from_jsonl(cli: Cli, tmp_path: Path) -> None:
    _files(tmp_path, **{"j1.csv": "jsonl one\n", "j2.csv": "jsonl two\n"})
    listing = tmp_path / "assets.jsonl"
    listing.write_text(
        '{"path": "j1.csv", "category": 303, "grade": 2, "description": "meter reads"}\n'
        "\n"
        "{not json\n"
        "[1, 2]\n"
        '{"path": "j2.csv", "category": 303, "colour": "red"}\n'
        '{"path": "j2.csv", "category": 303}\n'
    )
    result = cli.run("register-many", str(listing), "--json", *HOLDER_FLAGS)
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [item["line"] for item in report["registered"]] == [1, 6]
    assert [(item["line"], item["error"].split(":")[0]) for item in report["failed"]] == [
        (3, "not JSON"),
        (4, "not a JSON object"),
        (5, "unknown field 'colour'"),
    ]
    state = cli.ledger().registry.asset_by_hash(sha256_file(tmp_path / "j1.csv"))
    assert state is not None
    assert (state.category, state.grade) == (303, 2)


def test_a_list_without_the_required_columns_is_one_line(cli: Cli, tmp_path: Path) -> None:
    listing = tmp_path / "bad.csv"
    listing.write_text("file,kind\na.csv,301\n")
    line = cli.fails(2, "register-many", str(listing), *HOLDER_FLAGS)
    assert line == f"error: {listing}: the header must name at least path and category"


def test_sign_then_relay_keeps_the_signer_as_registrant(cli: Cli, tmp_path: Path) -> None:
    _files(tmp_path, **{"s1.csv": "signed one\n", "s2.csv": "signed two\n", "s3.csv": "three\n"})
    holder = dev_account(HOLDER).address
    first = cli.ledger().registry.nonce(holder)
    for index, name in enumerate(("s1", "s2")):
        cli.ok(
            "sign", str(tmp_path / f"{name}.csv"), "--category", "301", "--title", name,
            "--nonce", str(first + index), "-o", str(tmp_path / f"{name}.json"), *HOLDER_FLAGS,
        )  # fmt: skip
    before = _nonce(cli)
    document = json.loads((tmp_path / "s1.json").read_text())
    assert document["format"] == "provledger-signed-registration/1"
    assert (document["chain_id"], document["registrant"]) == (31337, holder)
    relayed = cli.json(
        "relay", str(tmp_path / "s1.json"), str(tmp_path / "s2.json"), "--dev-account", str(RELAYER)
    )
    assert _nonce(cli) == before  # the signer sent nothing
    assert relayed["sender"] == dev_account(RELAYER).address
    for name in ("s1", "s2"):
        content = sha256_file(tmp_path / f"{name}.csv")
        state = cli.ledger().registry.asset(asset_id(content))
        assert state is not None
        assert state.registrant == state.holder == holder
        assert asset_id_hex(asset_id(content)) in relayed["asset_ids"]
    registered = [item["args"] for item in relayed["events"] if item["event"] == "AssetRegistered"]
    assert [args["channel"] for args in registered] == [Channel.SIGNED.name] * 2
    assert {args["submitter"] for args in registered} == {dev_account(RELAYER).address}

    # a replayed or altered signature is refused by the contract; a foreign one before sending
    line = cli.fails(2, "relay", str(tmp_path / "s1.json"), "--dev-account", str(RELAYER))
    assert line.startswith("error: the contract refused: reverted with ")
    signed = json.loads((tmp_path / "s1.json").read_text())
    signed["registration"]["category"] = 305
    (tmp_path / "altered.json").write_text(json.dumps(signed))
    line = cli.fails(2, "relay", str(tmp_path / "altered.json"), "--dev-account", str(RELAYER))
    assert line.startswith("error: the contract refused: reverted with ")
    signed["chain_id"] = 1
    (tmp_path / "foreign.json").write_text(json.dumps(signed))
    line = cli.fails(2, "relay", str(tmp_path / "foreign.json"), "--dev-account", str(RELAYER))
    assert line.endswith("on chain 1, not this deployment")
    del signed["signature"]
    (tmp_path / "torn.json").write_text(json.dumps(signed))
    line = cli.fails(2, "relay", str(tmp_path / "torn.json"), "--dev-account", str(RELAYER))
    assert (
        line == f"error: {tmp_path / 'torn.json'}: signed registration: missing field 'signature'"
    )
