"""register-many from CSV and JSONL lists; sign and relay of EIP-712 registrations."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cli.conftest import HOLDER, Cli
from provledger.chain.accounts import dev_account
from provledger.chain.enums import Channel, Relation
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.hashing import folder_manifest, sha256_file
from provledger.jsondoc import echo
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
        {
            "line": 6,
            "error": "category 'abc' is neither a code nor a published name; "
            "`provledger categories` lists them all",
        },
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


def _good_files(folder: Path) -> tuple[Path, Path]:
    """Two files to register around a bad line, with content no other test registers."""
    first, last = folder / "first.csv", folder / "last.csv"
    first.write_text(f"first good row of {folder}\n")
    last.write_text(f"last good row of {folder}\n")
    return first, last


def _register_around(cli: Cli, listing: Path, bad: bytes) -> tuple[int, dict[str, object]]:
    """Run register-many on a list whose one line ``bad`` sits between two good ones; check
    the good ones are registered on chain (category 301, grade 1) and nothing crashed; the bad
    line's number and its failure."""
    first, last = _good_files(listing.parent)
    if listing.suffix == ".csv":
        lines = [b"path,category,grade,title", b"first.csv,301,1,", bad, b"last.csv,301,1,"]
    else:
        good = b'{"path": "%s", "category": 301}'
        lines = [good % b"first.csv", bad, good % b"last.csv"]
    listing.write_bytes(b"\n".join(lines) + b"\n")
    result = cli.run("register-many", str(listing), "--json", *HOLDER_FLAGS)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    report = json.loads(result.stdout)
    bad_line = lines.index(bad) + 1
    assert [item["line"] for item in report["registered"]] == [bad_line - 1, bad_line + 1]
    for path in (first, last):
        state = cli.ledger().registry.asset_by_hash(sha256_file(path))
        assert state is not None
        assert (state.category, state.grade, state.registrant) == (
            301,
            1,
            dev_account(HOLDER).address,
        )
    (failed,) = report["failed"]
    return bad_line, failed


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("-1", "category '-1' is outside 0..65535"),
        ("70000", "category '70000' is outside 0..65535"),
        ("65536", "category '65536' is outside 0..65535"),
        (str(10**23), f"category '{10**23}' is outside 0..65535"),
        ("1" * 5000, f"category {echo('1' * 5000)} is outside 0..65535"),
        ("+301", "category '+301' is not a whole number (digits 0-9)"),
        ("3_01", "category '3_01' is not a whole number (digits 0-9)"),
        ("\u0663\u0660\u0661", "category '\u0663\u0660\u0661' is not a whole number (digits 0-9)"),
        ("3 01", "category '3 01' is not a whole number (digits 0-9)"),
        ("301.0", "category '301.0' is not a whole number (digits 0-9)"),
        ("", "category is empty"),
    ],
)
def test_register_many_refuses_a_category_that_is_not_a_uint16(
    cli: Cli, tmp_path: Path, cell: str, reason: str
) -> None:
    row = f'data.csv,"{cell}",1,'.encode()
    (tmp_path / "data.csv").write_text("a row with a bad category\n")
    line, failed = _register_around(cli, tmp_path / "list.csv", row)
    assert failed == {"line": line, "error": reason}
    assert cli.ledger().registry.asset_by_hash(sha256_file(tmp_path / "data.csv")) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"category": -1', "category '-1' is outside 0..65535"),
        ('"category": 70000', "category '70000' is outside 0..65535"),
        ('"category": 100000000000000000000000', f"category '{10**23}' is outside 0..65535"),
        ('"category": 1e23', "category '1e+23' is not a whole number (digits 0-9)"),
        ('"category": true', "category 'True' is not a whole number (digits 0-9)"),
        ('"category": "+301"', "category '+301' is not a whole number (digits 0-9)"),
        ('"category": 301, "grade": 256', "grade '256' is outside 0..255"),
        ('"category": 301, "grade": -1', "grade '-1' is outside 0..255"),
        ('"category": 301, "grade": "1_0"', "grade '1_0' is not a whole number (digits 0-9)"),
    ],
)
def test_register_many_refuses_numbers_out_of_range_in_jsonl(
    cli: Cli, tmp_path: Path, value: str, reason: str
) -> None:
    (tmp_path / "data.csv").write_text("a row with a bad number\n")
    row = ('{"path": "data.csv", ' + value + "}").encode()
    line, failed = _register_around(cli, tmp_path / "list.jsonl", row)
    assert failed == {"line": line, "error": reason}


@pytest.mark.parametrize(
    ("name", "row", "reason"),
    [
        ("list.csv", b"caf\xe9.csv,301,1,", "not valid UTF-8"),
        ("list.csv", b"data.csv,301,1,Caf\xc3", "not valid UTF-8"),
        ("list.jsonl", b'{"path": "caf\xe9.csv", "category": 301}', "not valid UTF-8"),
        (
            "list.jsonl",
            b'{"path": "data.csv", "category": 301, "title": "\xff"}',
            "not valid UTF-8",
        ),
    ],
)
def test_register_many_reports_a_line_that_is_not_utf8(
    cli: Cli, tmp_path: Path, name: str, row: bytes, reason: str
) -> None:
    (tmp_path / "data.csv").write_text("a row that is not UTF-8\n")
    line, failed = _register_around(cli, tmp_path / name, row)
    assert failed == {"line": line, "error": reason}


def test_register_many_reports_a_csv_cell_over_the_field_limit(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a row with a huge title\n")
    row = b"data.csv,301,1," + b"t" * (csv.field_size_limit() + 1)
    line, failed = _register_around(cli, tmp_path / "list.csv", row)
    assert failed == {"line": line, "error": "a cell is longer than 131,072 characters"}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (b'{"path": "data.csv", "category": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         "nested deeper than 64 levels"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),
        (b'{"path": "data.csv", "category": 301, "title": "' + b"t" * (1 << 20) + b'"}',
         "longer than 1,048,576 bytes"),
        (b'{"path": ["data.csv"], "category": 301}', "path must be text, not list"),
    ],
)  # fmt: skip
def test_register_many_reports_a_jsonl_line_too_deep_or_too_long(
    cli: Cli, tmp_path: Path, row: bytes, reason: str
) -> None:
    (tmp_path / "data.csv").write_text("a row that is too deep\n")
    line, failed = _register_around(cli, tmp_path / "list.jsonl", row)
    assert failed == {"line": line, "error": reason}


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("{outside}", "is absolute; paths are relative to the list"),
        ("{inside}", "is absolute; paths are relative to the list"),
        (".", "is the list's own folder; name what is in it"),
        ("./", "is the list's own folder; name what is in it"),
        ("../outside.csv", "has a '..' segment; paths stay in the list's folder"),
        ("sub/../data.csv", "has a '..' segment; paths stay in the list's folder"),
        ("link.csv", "leads out of the list's folder"),
        ("linked-folder/outside.csv", "leads out of the list's folder"),
    ],
)
def test_register_many_keeps_paths_inside_the_list_folder(
    cli: Cli, tmp_path: Path, given: str, reason: str
) -> None:
    folder = tmp_path / "list"
    folder.mkdir()
    outside = tmp_path / "outside.csv"
    outside.write_text(f"outside the list folder, {given}\n")
    (folder / "data.csv").write_text(f"inside the list folder, {given}\n")
    (folder / "sub").mkdir()
    (folder / "link.csv").symlink_to(outside)
    (folder / "linked-folder").symlink_to(tmp_path)
    path = given.format(outside=outside, inside=folder / "data.csv")
    line, failed = _register_around(cli, folder / "list.csv", f"{path},301,1,".encode())
    assert failed == {"line": line, "error": f"path {echo(path)} {reason}"}
    for refused in (outside, folder / "data.csv"):
        assert cli.ledger().registry.asset_by_hash(sha256_file(refused)) is None


def test_register_many_prints_each_bad_line_with_the_list_and_its_number(
    cli: Cli, tmp_path: Path
) -> None:
    first, last = _good_files(tmp_path)
    listing = tmp_path / "mixed.csv"
    listing.write_bytes(
        b"path,category,grade,title\n"
        b"first.csv,301,1,\n"
        b"first.csv,70000,1,\n"
        b"caf\xe9.csv,301,1,\n"
        b"/etc/hostname,301,1,\n"
        b"last.csv,301,1,\n"
    )
    result = cli.run("register-many", str(listing), *HOLDER_FLAGS)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        f"{listing}:3: category '70000' is outside 0..65535",
        f"{listing}:4: not valid UTF-8",
        f"{listing}:5: path '/etc/hostname' is absolute; paths are relative to the list",
    ]
    assert "2 registered, 3 failed" in result.stdout
    for path in (first, last):
        assert cli.ledger().registry.asset_by_hash(sha256_file(path)) is not None


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
    assert line.startswith("error: the contract refused: ")
    assert line.endswith("[InvalidAccountNonce]")
    signed = json.loads((tmp_path / "s1.json").read_text())
    signed["registration"]["category"] = 305
    (tmp_path / "altered.json").write_text(json.dumps(signed))
    line = cli.fails(2, "relay", str(tmp_path / "altered.json"), "--dev-account", str(RELAYER))
    assert line.startswith("error: the contract refused: ")
    assert line.endswith("[InvalidRegistrationSignature]")
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


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),
        (b'{"format": ' + b"[" * 65 + b"]" * 65 + b"}", "nested deeper than 64 levels"),
        (b"{not json", "not JSON: "),
        (b'{"format": "\xff"}', "not JSON: "),
    ],
)
def test_relay_refuses_a_signed_file_that_is_not_bounded_json_in_one_line(
    cli: Cli, tmp_path: Path, content: bytes, reason: str
) -> None:
    signed = tmp_path / "signed.json"
    signed.write_bytes(content)
    before = _nonce(cli, RELAYER)
    line = cli.fails(2, "relay", str(signed), "--dev-account", str(RELAYER))
    assert line.startswith(f"error: {signed} is {reason}")
    assert len(line) < 200
    assert _nonce(cli, RELAYER) == before
