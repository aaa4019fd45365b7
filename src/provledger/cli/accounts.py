"""Accounts, settings and the local development chain: account, config, chain."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from eth_account import Account
from eth_account.signers.local import LocalAccount

from provledger.chain.accounts import DEV_ROLES, dev_account, read_password_file
from provledger.chain.anvil import AnvilNode
from provledger.cli.base import JsonOption, app, command_group, complete, out, settings_from
from provledger.cli.output import print_json, print_table
from provledger.cli.session import keystore_accounts, prompt_secret
from provledger.config import describe_settings
from provledger.errors import InputError

account_app = command_group("account", "Signing accounts: encrypted keystore files.")
config_app = command_group("config", "Settings: flags, PROVLEDGER_* variables, provledger.toml.")

KeystoreDirOption = Annotated[
    Path | None,
    typer.Option(
        help="Keystore folder [env PROVLEDGER_KEYSTORE_DIR, default .provledger/keystore]."
    ),
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(help="File holding the password (else prompted twice, never echoed)."),
]


def new_password(password_file: Path | None) -> str:
    """The password that encrypts a new keystore: from the file, or prompted for twice."""
    if password_file is not None:
        password = read_password_file(password_file)
    else:
        password = str(
            typer.prompt("password for the new keystore", hide_input=True, confirmation_prompt=True)
        )
    if not password:
        raise InputError("the keystore password must not be empty")
    return password


def write_keystore(folder: Path, account: LocalAccount, password: str) -> Path:
    """Encrypt ``account`` into ``folder`` under a geth-style name, readable by the owner only."""
    existing = {address for _, address in keystore_accounts(folder)}
    if account.address in existing:
        raise InputError(f"{folder} already holds a keystore of {account.address}")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%fZ")
    path = folder / f"UTC--{stamp}--{account.address[2:].lower()}.json"
    encrypted = Account.encrypt(account.key, password)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(encrypted, handle)
    return path


def _report_account(account: LocalAccount, path: Path, as_json: bool) -> None:
    if as_json:
        print_json({"address": account.address, "keystore": str(path)})
    else:
        out.print(f"{account.address}  {path}", highlight=False)


@account_app.command("new")
def account_new_command(
    keystore_dir: KeystoreDirOption = None,
    password_file: PasswordFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a new account in an encrypted keystore file.

    Example: provledger account new --password-file ./password.txt
    """
    settings = settings_from(keystore_dir=keystore_dir)

    def run() -> None:
        password = new_password(password_file)
        account: LocalAccount = Account.create()
        path = write_keystore(settings.keystore_dir, account, password)
        _report_account(account, path, as_json)

    complete(run)


def parse_private_key(text: str) -> LocalAccount:
    """The account of a private key (64 hex digits); the key itself is never shown."""
    digits = text.strip().lower().removeprefix("0x")
    if len(digits) != 64 or any(char not in "0123456789abcdef" for char in digits):
        raise InputError("that is not a private key (64 hex digits, optionally after 0x)")
    try:
        account: LocalAccount = Account.from_key(bytes.fromhex(digits))
    except ValueError:
        raise InputError("that private key is outside the secp256k1 range") from None
    return account


@account_app.command("import")
def account_import_command(
    key_file: Annotated[
        Path | None, typer.Option(help="File holding the private key (else prompted for).")
    ] = None,
    keystore_dir: KeystoreDirOption = None,
    password_file: PasswordFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a private key into an encrypted keystore file.

    Example: provledger account import --key-file ./key.hex --password-file ./password.txt
    """
    settings = settings_from(keystore_dir=keystore_dir)

    def run() -> None:
        if key_file is not None:
            try:
                text = key_file.read_text(encoding="utf-8")
            except OSError as error:
                raise InputError(f"cannot read key file {key_file}: {error.strerror}") from None
        else:
            text = prompt_secret("private key (hex)")
        account = parse_private_key(text)
        password = new_password(password_file)
        path = write_keystore(settings.keystore_dir, account, password)
        _report_account(account, path, as_json)

    complete(run)


@account_app.command("list")
def account_list_command(
    keystore_dir: KeystoreDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the accounts of the keystore folder (no password needed).

    Example: provledger account list --json
    """
    settings = settings_from(keystore_dir=keystore_dir)

    def run() -> None:
        found = keystore_accounts(settings.keystore_dir)
        if as_json:
            print_json([{"address": address, "keystore": str(path)} for path, address in found])
            return
        if not found:
            out.print(f"no keystore files in {settings.keystore_dir}", highlight=False)
        for path, address in found:
            out.print(f"{address}  {path}", highlight=False)

    complete(run)


@config_app.command("show")
def config_show_command(as_json: JsonOption = False) -> None:
    """Print the effective settings and where each comes from (passwords in URLs masked).
    With --json, values keep their types: numbers, lists, null when unset, paths as text.

    Example: provledger config show --json
    """
    settings = settings_from()

    def run() -> None:
        rows = describe_settings(settings)
        value = {row.name: {"value": row.value, "source": row.source} for row in rows}
        cells = ((row.name, row.text, row.source) for row in rows)
        print_table(value, as_json, ("setting", "value", "source"), cells)

    complete(run)


@app.command("chain")
def chain_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 8545,
    state: Annotated[
        Path, typer.Option(help="State file: loaded at start if present, written on exit.")
    ] = Path(".provledger/chain/state.json"),
    block_time: Annotated[
        float,
        typer.Option(
            min=0,
            help="Mine a block every N seconds, so that confirmations accrue while nothing "
            "happens; a transaction still mines at once. 0: mine only on transactions (the "
            "head then stands still after the last one).",
        ),
    ] = 1.0,
) -> None:
    """Run a local anvil chain (chain id 31337) whose state survives restarts; Ctrl-C stops it.
    It mines a block every second, and one for each transaction at once.

    Example: provledger chain --port 8545 --block-time 1
    """
    stopped: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopped.append(signum)  # no lock here: the main thread may hold one when it runs

    # Handled from the start: a Ctrl-C while anvil starts still stops it cleanly.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    state.parent.mkdir(parents=True, exist_ok=True)
    node = AnvilNode(port=port, state_file=state, block_time=block_time or None, mixed_mining=True)

    def run() -> None:
        node.start()
        roles = {name: dev_account(index).address for name, index in DEV_ROLES.items()}
        mining = (
            f"a block every {block_time:g} s and one per transaction"
            if block_time
            else "a block per transaction only"
        )
        out.print(
            f"anvil at {node.url} (chain 31337), state in {state}; {mining}",
            highlight=False,
            soft_wrap=True,
        )
        out.print(
            f"dev accounts 0-19 of the test mnemonic are funded; `provledger deploy --rpc-url "
            f"{node.url} --dev-account 0 --dev-roles` gives roles to {', '.join(roles)} "
            "(accounts 0-4)",
            highlight=False,
            soft_wrap=True,
        )
        try:
            while not stopped:
                if node.process is None or node.process.poll() is not None:
                    raise typer.Exit(3)  # anvil died under us
                time.sleep(0.2)
        finally:
            out.print("stopping: writing the chain state", highlight=False)
            node.stop()

    complete(run)
