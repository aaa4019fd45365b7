"""Signing keys: encrypted keystore files, and the well-known dev keys for dev chains only.

Keys never leave the process: nothing here prints, logs or returns a key in a string.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Final

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount

from provledger.errors import ConfigurationError, InputError
from provledger.jsondoc import JsonDocumentError, read_json_file

#: The mnemonic of anvil's, hardhat's and (here) eth-tester's funded dev accounts. Public
#: knowledge: anything these keys hold on a real network is lost.
DEV_MNEMONIC: Final = "test test test test test test test test test test test junk"
DEV_HD_PATH: Final = "m/44'/60'/0'/0"
DEV_ACCOUNT_COUNT: Final = 20
#: The largest keystore file read (an eth-account keystore is about 500 bytes).
KEYSTORE_MAX_BYTES: Final = 1 << 20

#: Chain ids of development chains, where the dev keys may be used: anvil/hardhat, geth --dev
#: and ganache, eth-tester, and 31338 for a second local anvil beside the first (the target
#: chain of checkpoints in development).
DEV_CHAIN_IDS: Final = frozenset({31337, 31338, 1337, 131277322940537})

#: Which dev account plays which part in the demo, the tests and `provledger deploy --dev-roles`.
DEV_ROLES: Final[dict[str, int]] = {
    "admin": 0,
    "registrar": 1,
    "appraiser": 2,
    "arbiter": 3,
    "export_approver": 4,
}


@functools.cache
def _dev_seed() -> bytes:
    return bytes(seed_from_mnemonic(DEV_MNEMONIC, ""))


@functools.cache
def dev_account(index: int) -> LocalAccount:
    """Dev account ``index`` (0-based) of :data:`DEV_MNEMONIC`, as anvil numbers them."""
    if not 0 <= index < DEV_ACCOUNT_COUNT:
        raise InputError(f"dev account index {index} is outside 0..{DEV_ACCOUNT_COUNT - 1}")
    key = key_from_seed(_dev_seed(), f"{DEV_HD_PATH}/{index}")
    account: LocalAccount = Account.from_key(key)
    return account


def is_dev_chain(chain_id: int) -> bool:
    """Whether ``chain_id`` belongs to a development chain."""
    return chain_id in DEV_CHAIN_IDS


def require_dev_chain(chain_id: int) -> None:
    """Refuse dev keys on anything but a development chain."""
    if not is_dev_chain(chain_id):
        raise ConfigurationError(
            f"chain {chain_id} is not a development chain; the well-known dev keys are "
            "refused here: give a keystore file (--keystore) instead"
        )


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypt an eth-account (Web3 Secret Storage) keystore file."""
    try:
        encrypted = read_json_file(path, max_bytes=KEYSTORE_MAX_BYTES)
    except FileNotFoundError as error:
        raise InputError(f"keystore {path} does not exist") from error
    except (OSError, JsonDocumentError) as error:
        raise InputError(f"keystore {path} is not a readable JSON keystore: {error}") from error
    try:
        key = Account.decrypt(encrypted, password)
    except ValueError as error:
        raise InputError(f"keystore {path} could not be decrypted: wrong password?") from error
    account: LocalAccount = Account.from_key(key)
    return account


def read_password_file(path: Path) -> str:
    """The password in ``path``, without its trailing newline."""
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise InputError(f"password file {path} cannot be read: {error.strerror}") from error


def resolve_signer(
    *,
    chain_id: int,
    embedded: bool,
    keystore: Path | None,
    password_file: Path | None,
    dev_index: int | None,
    prompt_password: Callable[[str], str],
) -> LocalAccount:
    """The account that signs: a keystore, a dev key (dev chains only), or on the embedded
    chain, dev account 0 by default."""
    if keystore is not None:
        password = (
            read_password_file(password_file)
            if password_file is not None
            else prompt_password(f"password for {keystore}")
        )
        return load_keystore(keystore, password)
    if dev_index is not None:
        require_dev_chain(chain_id)
        return dev_account(dev_index)
    if embedded:
        return dev_account(DEV_ROLES["admin"])
    raise ConfigurationError(
        "no signing key: give --keystore FILE (with --password-file or a prompt), "
        "or --dev-account N on a development chain"
    )
