"""Accounts in encrypted keystores, and the settings with their sources."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from cli.conftest import Cli
from provledger.chain.accounts import DEV_ROLES, dev_account, load_keystore
from provledger.chain.ids import asset_id
from provledger.hashing import sha256_file

pytestmark = pytest.mark.anvil

IMPORTED = 11  # a dev key imported into a keystore and made a participant


def _password(tmp_path: Path, text: str = "correct horse battery") -> Path:
    path = tmp_path / "password.txt"
    path.write_text(text + "\n")
    return path


def test_account_new_writes_an_encrypted_keystore_readable_only_by_its_owner(
    cli: Cli, tmp_path: Path
) -> None:
    password = _password(tmp_path)
    created = cli.json("account", "new", "--password-file", str(password))
    path = Path(created["keystore"])
    assert path.parent == cli.home / "keystore"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keystore(path, "correct horse battery").address == created["address"]
    listed = cli.json("account", "list")
    assert {"address": created["address"], "keystore": str(path)} in listed
    assert "correct horse" not in path.read_text()


def test_account_new_prompts_twice_and_never_echoes(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("account", "new", "--keystore-dir", str(tmp_path), input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    (path,) = tmp_path.iterdir()
    assert load_keystore(path, "s3cret").address in result.stdout


def test_account_import_and_sign_with_the_keystore_by_address(cli: Cli, tmp_path: Path) -> None:
    key = dev_account(IMPORTED).key.hex()
    key_file = tmp_path / "key.hex"
    key_file.write_text(key + "\n")
    password = _password(tmp_path)
    imported = cli.json(
        "account", "import", "--key-file", str(key_file), "--password-file", str(password)
    )
    address = dev_account(IMPORTED).address
    assert imported["address"] == address
    line = cli.fails(
        2, "account", "import", "--key-file", str(key_file), "--password-file", str(password)
    )
    assert line == f"error: {cli.home / 'keystore'} already holds a keystore of {address}"

    registrar = str(DEV_ROLES["registrar"])
    cli.ok("participants", "add", address, "--jurisdiction", "CN", "--dev-account", registrar)
    data = tmp_path / "signed.csv"
    data.write_text("signed with a keystore\n")
    report = cli.json(
        "register", str(data), "--category", "305", "--keystore", address,
        "--password-file", str(password),
    )  # fmt: skip
    state = cli.ledger().registry.asset(asset_id(sha256_file(data)))
    assert state is not None
    assert state.registrant == address == report["sender"]

    wrong = _password(tmp_path, "wrong")
    line = cli.fails(
        2, "cancel", report["asset_id"], "--keystore", address, "--password-file", str(wrong)
    )
    assert line.startswith("error: keystore ")
    assert line.endswith("could not be decrypted: wrong password?")
    prompted = cli.run("cancel", report["asset_id"], "--keystore", address, input="bad\n")
    assert prompted.exit_code == 2
    assert "bad" not in prompted.stdout


def test_account_import_refuses_a_malformed_key_without_echoing_it(
    cli: Cli, tmp_path: Path
) -> None:
    line = cli.fails(2, "account", "import", "--keystore-dir", str(tmp_path), input="0x1234zz\n")
    assert line == "error: that is not a private key (64 hex digits, optionally after 0x)"
    assert list(tmp_path.iterdir()) == []


def test_config_show_names_each_source_and_masks_passwords(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "provledger.toml"
    config.write_text(
        "[provledger]\n"
        'gateway_url = "https://reader:hunter2@gw.example/api?key=abc123"\n'
        "port = 8100\n"
        "workers = 3\n"
    )
    cli.env["PROVLEDGER_CONFIG"] = str(config)
    cli.env["PROVLEDGER_WORKERS"] = "2"
    try:
        shown = cli.json("config", "show")
        flagged = cli.json("--config", str(config), "config", "show")
    finally:
        del cli.env["PROVLEDGER_CONFIG"], cli.env["PROVLEDGER_WORKERS"]
    assert shown["gateway_url"] == {
        "value": "https://reader:***@gw.example/api?key=***",
        "source": str(config),
    }
    assert shown["port"] == {"value": 8100, "source": str(config)}
    assert shown["workers"] == {"value": 2, "source": "env PROVLEDGER_WORKERS"}
    assert shown["rpc_url"] == {"value": cli.node.url, "source": "env PROVLEDGER_RPC_URL"}
    assert shown["confirmations"] == {"value": 12, "source": "default"}
    assert flagged == shown
    assert "hunter2" not in json.dumps(shown)
    assert "abc123" not in json.dumps(shown)


def test_flags_win_over_the_environment_and_the_file(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "provledger.toml"
    config.write_text('[provledger]\nrpc_url = "http://127.0.0.1:1"\n')
    cli.env["PROVLEDGER_CONFIG"] = str(config)
    try:
        roles = cli.json("roles", "list", "--rpc-url", cli.node.url)  # the flag wins
    finally:
        del cli.env["PROVLEDGER_CONFIG"]
    assert roles["REGISTRAR_ROLE"] == [dev_account(DEV_ROLES["registrar"]).address]


def test_a_bad_settings_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "provledger.toml"
    config.write_text("[provledger]\nrpc_ur = 'http://x'\n")
    line = cli.fails(2, "--config", str(config), "config", "show")
    assert (
        line == f"error: settings file {config}: unknown setting 'rpc_ur'; did you mean 'rpc_url'?"
    )
    config.write_text("[provledger]\nport = 'eighty'\n")
    line = cli.fails(2, "--config", str(config), "config", "show")
    assert line.startswith(f"error: setting port ({config}): ")
    config.write_text("[provledger\n")
    line = cli.fails(2, "--config", str(config), "config", "show")
    assert line.startswith(f"error: settings file {config} is not valid TOML")
    line = cli.fails(2, "--config", str(tmp_path / "missing.toml"), "config", "show")
    assert line == f"error: settings file {tmp_path / 'missing.toml'} does not exist"


def test_account_list_reads_no_secret(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    account = Account.create()
    (folder / "a.json").write_text(json.dumps(Account.encrypt(account.key, "pw")))
    (folder / "notes.txt").write_text("not a keystore")
    assert cli.json("account", "list", "--keystore-dir", str(folder)) == [
        {"address": account.address, "keystore": str(folder / "a.json")}
    ]
