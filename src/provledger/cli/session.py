"""What every chain command shares: its options, the signer, the deployment, and the
:class:`ChainRun` it is given.

A chain command needs a node (``--rpc-url``), the deployment record of that node's chain and,
to write, a signing key: a keystore file or an account of the keystore folder by address
(``--keystore``), or a well-known dev key on a development chain (``--dev-account``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address

from provledger import params
from provledger.chain.accounts import KEYSTORE_MAX_BYTES, resolve_signer
from provledger.chain.calls import CallLog
from provledger.chain.client import Provledger
from provledger.chain.connection import rpc_chain
from provledger.chain.deployments import load_deployment
from provledger.chain.transactions import Receipt
from provledger.cli.arguments import parse_address
from provledger.cli.base import Action, BlobDirOption, State, add_command
from provledger.cli.output import show_receipt
from provledger.config import Settings
from provledger.errors import InputError
from provledger.jsondoc import JsonDocumentError, read_json_file
from provledger.params import InvalidParameterError

KeystoreOption = Annotated[
    str | None,
    typer.Option(
        "--keystore",
        help="Signing account: a keystore file, or the address of an account in the keystore "
        "folder [env PROVLEDGER_KEYSTORE].",
    ),
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(help="File holding the keystore password (else prompted, never echoed)."),
]
DevAccountOption = Annotated[
    int | None,
    typer.Option("--dev-account", help="Sign with well-known dev key N (dev chains only)."),
]
DeploymentsOption = Annotated[
    Path | None,
    typer.Option(help="Folder of <chain-id>.json deployment records [default: deployments]."),
]

#: The longest span in days a command gives an expiry (licenses, permits, offers): 100 years,
#: within the contracts' 40-bit times.
MAX_DAYS: Final = 100 * 365


def days_option(help: str) -> Any:
    """An option counting whole days, 1 to :data:`MAX_DAYS` (an expiry, a license's term)."""
    return typer.Option(min=1, max=MAX_DAYS, help=help)


def address_argument(whose: str) -> Any:
    """The argument of an address, ``whose`` it is (``licensee``): 0x and 40 hex digits, read
    with :func:`parse_address`."""
    return typer.Argument(help=f"The {whose}'s address.")


#: Options every chain command takes, in this order, after its own arguments and options.
_READ_OPTIONS: Final = ("rpc_url", "deployments_dir")
_SIGN_OPTIONS: Final = ("rpc_url", "keystore", "password_file", "dev_account", "deployments_dir")
NodeOption = Annotated[
    str | None,
    typer.Option("--rpc-url", help="JSON-RPC URL of the node [env PROVLEDGER_RPC_URL]; required."),
]
_OPTION_TYPES: Final[dict[str, Any]] = {
    "rpc_url": NodeOption,
    "keystore": KeystoreOption,
    "password_file": PasswordFileOption,
    "dev_account": DevAccountOption,
    "deployments_dir": DeploymentsOption,
    "blob_dir": BlobDirOption,
}


@dataclass(frozen=True)
class ChainRun:
    """What a chain command runs with: its settings, whether it prints JSON (``--json``), and
    through them its ledger and the way it shows a transaction."""

    settings: Settings
    as_json: bool

    def ledger(self, *, sign: bool = True) -> Provledger:
        """The deployment on the command's node, signing as its account (:func:`open_ledger`)."""
        return open_ledger(self.settings, sign=sign)

    def show(self, receipt: Receipt, summary: str, **extra: Any) -> None:
        """Print what the transaction did, or JSON with ``extra`` (:func:`show_receipt`)."""
        show_receipt(receipt, summary, self.as_json, **extra)


def chain_command(
    group: typer.Typer, name: str, *, sign: bool = True, blobs: bool = False
) -> Callable[[Action], Action]:
    """Register ``action(run, ...its own parameters)`` as command ``name`` (:func:`add_command`):
    after its own arguments and options, it takes the node and deployment options, the
    signer's (``sign``), the blob folder (``blobs``) and ``--json``, and gives the action the
    :class:`ChainRun` of them."""
    shared = [*(_SIGN_OPTIONS if sign else _READ_OPTIONS), *(["blob_dir"] if blobs else [])]
    options = {option: _OPTION_TYPES[option] for option in shared}

    def register(action: Action) -> Action:
        def call(settings: Settings, as_json: bool, **values: Any) -> None:
            action(ChainRun(settings, as_json), **values)

        add_command(group, name, action, options, json=True, call=call)
        return action

    return register


def required(value: str | None, what: str, flag: str, setting: str, hint: str = "") -> str:
    """A setting a command cannot do without: ``value``, or an error naming ``what`` it is,
    its ``flag``, its environment variable (``setting`` in capitals) and a ``hint``."""
    if value is None:
        env = f"PROVLEDGER_{setting.upper()}"
        raise InputError(f"this command needs {what}: give {flag} or set {env}{hint}")
    return value


def require_node(settings: Settings) -> str:
    """The node URL; the embedded chain does not outlive one command, so it is refused."""
    hint = " (`provledger chain` starts a local one)"
    return required(settings.rpc_url, "a node", "--rpc-url", "rpc_url", hint)


def keystore_file(settings: Settings) -> Path | None:
    """The keystore file of ``--keystore``: a path, or an address looked up in the folder;
    checked to be a file before any password is asked for."""
    named = settings.keystore
    if named is None:
        return None
    text = str(named)
    if _is_address(text) and not Path(text).exists():
        wanted = parse_address(text)
        for path, address in keystore_accounts(settings.keystore_dir):
            if address == wanted:
                return path
        raise InputError(f"no keystore of {wanted} in {settings.keystore_dir}")
    return existing_keystore(Path(text))


def _is_address(text: str) -> bool:
    try:
        params.parse_address(text, "keystore")
    except InvalidParameterError:
        return False
    return True


def existing_keystore(path: Path) -> Path:
    """``path`` if it is a file; else :class:`InputError`, before a password is prompted for."""
    if not path.exists():
        raise InputError(f"keystore {path} does not exist")
    if not path.is_file():
        raise InputError(f"keystore {path} is not a file")
    return path


def keystore_accounts(folder: Path) -> list[tuple[Path, str]]:
    """``(file, checksummed address)`` of every keystore file in ``folder``, sorted by file."""
    if not folder.is_dir():
        return []
    found: list[tuple[Path, str]] = []
    for path in sorted(folder.iterdir()):
        try:
            address = read_json_file(path, max_bytes=KEYSTORE_MAX_BYTES)["address"]
        except (OSError, JsonDocumentError, KeyError, TypeError):
            continue  # not a keystore file
        if isinstance(address, str) and is_address(address):
            found.append((path, to_checksum_address(address)))
    return found


def prompt_secret(text: str) -> str:
    """Ask for a secret on the terminal without echoing it."""
    return str(typer.prompt(text, hide_input=True))


def open_ledger(settings: Settings, *, sign: bool = True) -> Provledger:
    """The deployment on the node of ``settings``, signing as the configured account."""
    w3 = rpc_chain(require_node(settings), timeout=settings.rpc_timeout)
    chain_id = int(w3.eth.chain_id)
    deployment = load_deployment(settings.deployments_dir, chain_id)
    names = {str(contract.address): name for name, contract in deployment.contracts.items()}
    first = min((contract.block_number for contract in deployment.contracts.values()), default=0)
    # a revert is explained by the call it answers, and by logs no older than the deployment
    State.call_log = CallLog(names, from_block=first).attach(w3)
    account = command_signer(settings, chain_id) if sign else None
    return Provledger(w3, deployment, account)


def command_signer(settings: Settings, chain_id: int) -> LocalAccount:
    """The command's account (``--keystore``, its password, or ``--dev-account``), for
    transactions on chain ``chain_id`` (dev keys only on a development chain)."""
    return resolve_signer(
        chain_id=chain_id,
        embedded=False,
        keystore=keystore_file(settings),
        password_file=settings.password_file,
        dev_index=settings.dev_account,
        prompt_password=prompt_secret,
    )
