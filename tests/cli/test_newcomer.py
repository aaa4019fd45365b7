"""A newcomer's path (issue 17): the category list and category names, typed settings, the
demo's port and the commands it suggests, and a keystore that is not there."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.conftest import HOLDER, Cli
from provledger import __version__
from provledger.categories import CATEGORIES
from provledger.chain.accounts import dev_account
from provledger.chain.ids import asset_id
from provledger.cli import app
from provledger.cli.demo import try_commands
from provledger.hashing import sha256_file
from provledger.store.blobs import BlobStore

pytestmark = pytest.mark.anvil

HOLDER_FLAGS = ("--dev-account", str(HOLDER))
PROJECT = Path(__file__).resolve().parents[2]
LISTED_BY = "`provledger categories` lists them all"


def _nonce(cli: Cli) -> int:
    return int(cli.w3.eth.get_transaction_count(dev_account(HOLDER).address))


def _data(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text(f"the content of {name} in {folder}\n")
    return path


# ------------------------------------------------------------------ provledger categories
def test_categories_lists_every_code_and_name_in_code_order(cli: Cli) -> None:
    shown = cli.ok("categories")
    header, *rows = shown.splitlines()
    assert header.split() == ["code", "name"]
    assert [(int(row[:3]), row[6:]) for row in rows] == sorted(CATEGORIES.items())
    assert all(row[3:6] == "   " for row in rows)  # names in a column, no trailing spaces


def test_categories_json_is_a_list_of_code_and_name(cli: Cli) -> None:
    assert cli.json("categories") == [
        {"code": code, "name": name} for code, name in sorted(CATEGORIES.items())
    ]
    assert cli.json("categories")[6] == {
        "code": 301,
        "name": "Industrial equipment and IoT sensor data",
    }


# ------------------------------------------------------------------ --category by name
@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("Scientific research data", 305),  # whole
        ("SCIENTIFIC   research DATA", 305),  # any case and spacing
        ("industrial", 301),  # the start of one name only
        ("de-ident", 401),
        ("303", 303),  # a code as before
    ],
)
def test_register_takes_a_category_code_or_name(
    cli: Cli, tmp_path: Path, given: str, code: int
) -> None:
    data = _data(tmp_path, "named.csv")
    result = cli.run("register", str(data), "--category", given, *HOLDER_FLAGS)
    assert result.exit_code == 0, result.output
    assert f"({CATEGORIES[code]}, grade 1)" in result.stdout.replace("\n", " ")
    state = cli.ledger().registry.asset_by_hash(sha256_file(data))
    assert state is not None
    assert (state.category, state.registrant) == (code, dev_account(HOLDER).address)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "Sientific",
            "error: category 'Sientific' is not a published name; did you mean "
            f"305 'Scientific research data'? {LISTED_BY}",
        ),
        (
            "sensor",
            "error: category 'sensor' is not a published name; did you mean "
            f"301 'Industrial equipment and IoT sensor data'? {LISTED_BY}",
        ),
        (
            "e",
            "error: category 'e' is the start of several names: 201 'Enterprise operations and "
            f"production data' or 303 'Energy and utilities data'; {LISTED_BY}",
        ),
        (
            "weather",
            f"error: category 'weather' is neither a code nor a published name; {LISTED_BY}",
        ),
        ("", f"error: category is empty: give a code or a name; {LISTED_BY}"),
    ],
)
@pytest.mark.parametrize("command", ["register", "sign"])
def test_an_unknown_category_name_is_one_line_naming_the_closest(
    cli: Cli, tmp_path: Path, command: str, given: str, message: str
) -> None:
    data = _data(tmp_path, "unknown.csv")
    before = _nonce(cli)
    assert cli.fails(2, command, str(data), "--category", given, *HOLDER_FLAGS) == message
    assert _nonce(cli) == before  # nothing was sent
    assert cli.ledger().registry.asset_by_hash(sha256_file(data)) is None


def test_sign_takes_a_category_name(cli: Cli, tmp_path: Path) -> None:
    data = _data(tmp_path, "signed.csv")
    signed = cli.json("sign", str(data), "--category", "transport", *HOLDER_FLAGS)
    assert signed["registration"]["category"] == 302
    assert signed["registration"]["content_hash"] == "0x" + sha256_file(data).hex()
    assert signed["registrant"] == dev_account(HOLDER).address


def test_register_many_takes_category_names_in_csv_and_jsonl(cli: Cli, tmp_path: Path) -> None:
    contents = {name: _data(tmp_path, name) for name in ("n1.txt", "n2.txt", "n3.txt", "n4.txt")}
    csv_list = tmp_path / "named.csv"
    csv_list.write_text(
        "path,category,grade\n"
        'n1.txt,"Supply chain and logistics data",1\n'
        "n2.txt,healthcare,2\n"
        "n3.txt,finacial,1\n"
    )
    result = cli.run("register-many", str(csv_list), "--json", *HOLDER_FLAGS)
    assert result.exit_code == 2, result.output  # one bad line: it fails alone
    report = json.loads(result.stdout)
    assert [item["line"] for item in report["registered"]] == [2, 3]
    assert report["failed"] == [
        {
            "line": 4,
            "error": "category 'finacial' is not a published name; did you mean "
            f"203 'Financial and credit data'? {LISTED_BY}",
        }
    ]
    jsonl_list = tmp_path / "named.jsonl"
    jsonl_list.write_text(
        '{"path": "n3.txt", "category": "Financial and credit data"}\n'
        '{"path": "n4.txt", "category": "energy", "grade": 2}\n'
    )
    report = cli.json("register-many", str(jsonl_list), *HOLDER_FLAGS)
    assert [item["line"] for item in report["registered"]] == [1, 2]
    assert report["failed"] == []
    registry = cli.ledger().registry
    for name, (code, grade) in {
        "n1.txt": (202, 1),
        "n2.txt": (304, 2),
        "n3.txt": (203, 1),
        "n4.txt": (303, 2),
    }.items():
        state = registry.asset(asset_id(sha256_file(contents[name])))
        assert state is not None, name
        assert (state.category, state.grade) == (code, grade), name


def test_an_unlisted_code_is_refused_by_the_contract_with_the_listing_command(
    cli: Cli, tmp_path: Path
) -> None:
    data = _data(tmp_path, "unlisted.csv")
    line = cli.fails(2, "register", str(data), "--category", "999", *HOLDER_FLAGS)
    assert line.startswith("error: the contract refused: ")
    assert "category 999 is not on the published list (`provledger categories`" in line


# ------------------------------------------------------------------ config show --json
def test_config_show_json_keeps_each_value_s_type(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "provledger.toml"
    config.write_text(
        "[provledger]\n"
        "port = 8100\n"
        'cors_origins = ["https://a.example", "https://b.example"]\n'
        "relay_replace_after = 7.5\n"
    )
    shown = cli.json("--config", str(config), "config", "show")
    assert shown["port"] == {"value": 8100, "source": str(config)}
    assert shown["confirmations"] == {"value": 12, "source": "default"}
    assert shown["relay_replace_after"] == {"value": 7.5, "source": str(config)}
    assert shown["cors_origins"] == {
        "value": ["https://a.example", "https://b.example"],
        "source": str(config),
    }
    assert shown["keystore"] == {"value": None, "source": "default"}  # unset
    assert shown["dev_account"]["value"] is None
    assert shown["deployments_dir"] == {
        "value": str(cli.home / "deployments"),
        "source": "env PROVLEDGER_DEPLOYMENTS_DIR",
    }
    assert shown["rpc_url"]["value"] == cli.node.url
    table = cli.ok("--config", str(config), "config", "show")
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in table.splitlines()]
    assert ["keystore", "-", "default"] in rows  # unset, in the table
    assert ["port", "8100"] in [row[:2] for row in rows]  # the source is cut at 80 columns


# ------------------------------------------------------------------ --keystore
def test_a_missing_keystore_is_refused_before_any_password_prompt(cli: Cli, tmp_path: Path) -> None:
    data = _data(tmp_path, "keyless.csv")
    result = cli.run("register", str(data), "--category", "301", "--keystore", "/nonexistent")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == "error: keystore /nonexistent does not exist"
    assert "password" not in result.output.lower()
    assert result.stdout == ""


# ------------------------------------------------------------------ the demo
@pytest.mark.parametrize("port", ["0", "65536"])
def test_demo_port_is_range_checked(tmp_path: Path, port: str) -> None:
    result = CliRunner().invoke(app, ["demo", "--port", port, "--workdir", str(tmp_path)])
    assert result.exit_code == 2
    bound = "greater than or equal to 1" if port == "0" else "less than or equal to 65535"
    assert f"Error: Invalid value for '--port': Input should be {bound}" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing played


def test_make_demo_passes_port_through() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    runs = {"PORT=8900": ".venv/bin/provledger demo --port 8900", "": ".venv/bin/provledger demo"}
    # as from a shell: not as a sub-make of `make test` (which would print its directory)
    env = {key: value for key, value in os.environ.items() if "MAKE" not in key}
    for args, expected in runs.items():
        shown = subprocess.run(
            [make, "--no-print-directory", "-n", "demo", *args.split()],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert shown.stdout.splitlines()[-1] == expected


def _fresh_shell(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``line`` in a new login-less bash: no virtual environment, a PATH without it."""
    env = {"PATH": os.defpath, "HOME": str(cwd), "LANG": "C.UTF-8"}
    return subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", line],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_demo_suggests_commands_that_run_in_a_fresh_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after `make demo`: the project's venv is not on PATH; the lines the demo prints run
    in a new shell, started elsewhere."""
    monkeypatch.setenv("PATH", os.defpath)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    raw, product = "0x" + "ab" * 32, "0x" + "cd" * 32
    workdir = Path(".provledger/demo")  # the demo's default: relative to where it ran
    lines = try_commands(workdir, "http://127.0.0.1:8900", raw, product, cwd=PROJECT)
    setup, *examples = lines
    assert examples == [
        f"provledger verify {workdir / 'huangpu-air-raw'} --gateway http://127.0.0.1:8900",
        f"provledger lineage {product} --depth 3 --gateway http://127.0.0.1:8900",
        f"provledger history {raw} --gateway http://127.0.0.1:8900",
    ]
    if sys.prefix == sys.base_prefix:
        pytest.skip("provledger is not installed in a virtual environment here")
    assert setup == f"cd {PROJECT} && source .venv/bin/activate"
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    assert _fresh_shell("provledger --version", elsewhere).returncode == 127  # not found
    ran = _fresh_shell(f"{setup} && provledger --version && pwd", elsewhere)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [f"provledger {__version__}", str(PROJECT)]
    # each example's program and options parse there (--help stops before any request)
    for example in examples:
        helped = _fresh_shell(f"{setup} && {example} --help", elsewhere)
        assert helped.returncode == 0, (example, helped.stderr)


def test_the_demo_names_paths_as_given_when_absolute(tmp_path: Path) -> None:
    lines = try_commands(tmp_path, "http://127.0.0.1:8000", "0x01", "0x02", cwd=PROJECT)
    assert f"provledger verify {tmp_path / 'huangpu-air-raw'} --gateway" in " ".join(lines)


# ------------------------------------------------------------------ participants' names
def test_participants_add_keeps_the_name_whose_hash_the_chain_records(cli: Cli) -> None:
    # the module's participants were added with --name "party N" (tests/cli/conftest.py)
    recorded = cli.ledger().registry.participant(cli.address(HOLDER)).name_hash
    blob = BlobStore(cli.home / "blobs").path("0x" + recorded.hex())
    assert blob.read_bytes() == f"party {HOLDER}".encode()
    assert hashlib.sha256(blob.read_bytes()).digest() == recorded
