"""What every chain command shares: its options, the signer, the deployment, the output.

A chain command needs a node (``--rpc-url``), the deployment record of that node's chain and,
to write, a signing key: a keystore file or an account of the keystore folder by address
(``--keystore``), or a well-known dev key on a development chain (``--dev-account``).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar, get_type_hints

import orjson
import typer
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address
from rich.table import Table
from web3 import Web3

from provledger import params
from provledger.categories import category_name, grade_words
from provledger.chain.accounts import KEYSTORE_MAX_BYTES, resolve_signer
from provledger.chain.calls import CallLog
from provledger.chain.client import Provledger
from provledger.chain.connection import rpc_chain
from provledger.chain.deployments import load_deployment
from provledger.chain.events import Event
from provledger.chain.serialize import event_args, fixed_text, hex_bytes
from provledger.chain.transactions import Receipt
from provledger.cli.base import (
    EXIT_OK,
    BlobDirOption,
    JsonOption,
    State,
    guarded,
    out,
    settings_from,
)
from provledger.config import Settings
from provledger.errors import InputError
from provledger.jsondoc import JsonDocumentError, read_json_file
from provledger.params import InvalidParameterError
from provledger.store.blobs import BlobStore
from provledger.units import NATIVE, Currency, fiat, format_amount, iso_time, read_currency

E = TypeVar("E", bound=IntEnum)
Action = TypeVar("Action", bound=Callable[..., None])

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


AssetArgument = Annotated[str, typer.Argument(help="Asset id.")]
#: The longest span in days a command gives an expiry (licenses, permits, offers): 100 years,
#: within the contracts' 40-bit times.
MAX_DAYS: Final = 100 * 365
LicenseKindOption = Annotated[str, typer.Option(help="processing-use or product-operation.")]
TermsOption = Annotated[
    Path | None,
    typer.Option(help="The terms document (its SHA-256 is recorded) [default: a generated one]."),
]

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
    "as_json": JsonOption,
}


def chain_command(
    group: typer.Typer, name: str, *, sign: bool = True, blobs: bool = False
) -> Callable[[Action], Action]:
    """Register ``action(settings, as_json, ...its own parameters)`` as command ``name``.

    The command takes the action's own arguments and options, then the node and deployment
    options, the signer's (``sign``) and the blob folder (``blobs``), and ``--json``; it builds
    the settings from them, runs the action with one-line errors, and exits 0.
    """

    def register(action: Action) -> Action:
        hints = get_type_hints(action, include_extras=True)
        own = [
            parameter.replace(annotation=hints[parameter.name])
            for parameter in inspect.signature(action).parameters.values()
            if parameter.name not in ("settings", "as_json")
        ]
        shared = [*(_SIGN_OPTIONS if sign else _READ_OPTIONS), *(["blob_dir"] if blobs else [])]
        added = [
            inspect.Parameter(
                option,
                inspect.Parameter.KEYWORD_ONLY,
                default=False if option == "as_json" else None,
                annotation=_OPTION_TYPES[option],
            )
            for option in (*shared, "as_json")
        ]

        @functools.wraps(action)
        def command(**values: Any) -> None:
            settings = settings_from(**{option: values.pop(option) for option in shared})
            as_json = bool(values.pop("as_json"))
            guarded(lambda: action(settings, as_json, **values))
            raise typer.Exit(EXIT_OK)

        signature = inspect.Signature([*own, *added])
        command.__signature__ = signature  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
        del command.__wrapped__  # typer must read the signature above, not the action's
        group.command(name)(command)
        return action

    return register


def require_node(settings: Settings) -> str:
    """The node URL; the embedded chain does not outlive one command, so it is refused."""
    if settings.rpc_url is None:
        raise InputError(
            "this command needs a node: give --rpc-url or set PROVLEDGER_RPC_URL "
            "(`provledger chain` starts a local one)"
        )
    return settings.rpc_url


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
    w3 = rpc_chain(require_node(settings))
    chain_id = int(w3.eth.chain_id)
    deployment = load_deployment(settings.deployments_dir, chain_id)
    names = {str(contract.address): name for name, contract in deployment.contracts.items()}
    first = min((contract.block_number for contract in deployment.contracts.values()), default=0)
    # a revert is explained by the call it answers, and by logs no older than the deployment
    State.call_log = CallLog(names, from_block=first).attach(w3)
    account: LocalAccount | None = None
    if sign:
        account = resolve_signer(
            chain_id=chain_id,
            embedded=False,
            keystore=keystore_file(settings),
            password_file=settings.password_file,
            dev_index=settings.dev_account,
            prompt_password=prompt_secret,
        )
    return Provledger(w3, deployment, account)


# ------------------------------------------------------------------ parsing arguments
def parse_asset(text: str) -> int:
    """An asset id (:func:`provledger.params.parse_asset_id`) with all 64 hex digits, as commands
    print them, or a decimal number."""
    try:
        return params.parse_asset_id(text, "asset", exact_width=True)
    except InvalidParameterError:
        raise InputError(
            f"asset {text!r} is not an asset id (0x and 64 hex digits, or a number)"
        ) from None


def parse_address(text: str, what: str = "address") -> str:
    """An address (:func:`provledger.params.parse_address`) checksummed, or :class:`InputError`
    naming ``what``."""
    try:
        return params.checksum(params.parse_address(text, what))
    except InvalidParameterError:
        raise InputError(f"{what} {text!r} is not an address (0x and 40 hex digits)") from None


def parse_choice(kind: type[E], text: str, option: str) -> E:
    """The member of ``kind`` named ``text`` (any case, ``-`` for ``_``); NONE is refused."""
    name = text.strip().upper().replace("-", "_")
    if name in kind.__members__ and name != "NONE":
        return kind[name]
    choices = ", ".join(
        member.name.lower().replace("_", "-") for member in kind if member.name != "NONE"
    )
    raise InputError(f"{option} {text!r} is not one of: {choices}")


def text_hash(text: str | None) -> bytes:
    """The SHA-256 of a reason, grounds or evidence text (32 zero bytes for none)."""
    return b"\x00" * 32 if not text else hashlib.sha256(text.encode()).digest()


def kept_text(settings: Settings, text: str | None) -> bytes:
    """:func:`text_hash` of ``text``, with the text kept in the blob folder, so that the index
    and the pages can show what the hash stands for (a participant's name)."""
    if not text:
        return text_hash(text)
    return bytes.fromhex(BlobStore(settings.blob_dir).put(text.encode())[2:])


def act_document(settings: Settings, given: Path | None, act: dict[str, Any]) -> bytes:
    """The SHA-256 an act records (terms, certificate, report, ruling), with the document kept
    in the blob folder: the file given, or else a JSON document describing the act."""
    if given is not None:
        try:
            data = given.read_bytes()
        except OSError as error:
            raise InputError(f"cannot read {given}: {error.strerror}") from None
    else:
        data = orjson.dumps({"generated_by": "provledger", **act}, option=orjson.OPT_SORT_KEYS)
    return bytes.fromhex(BlobStore(settings.blob_dir).put(data)[2:])


# ------------------------------------------------------------------ output
def receipt_json(receipt: Receipt) -> dict[str, Any]:
    """A receipt as JSON: transaction, block, gas and every decoded event."""
    return {
        "transaction": hex_bytes(receipt.tx_hash),
        "block_number": receipt.block_number,
        "block_hash": hex_bytes(receipt.block_hash),
        "gas_used": receipt.gas_used,
        "sender": receipt.sender,
        "events": [event_json(event) for event in receipt.events],
    }


def event_json(event: Event) -> dict[str, Any]:
    """One event as ``{"event": name, "args": {...}}``."""
    return {"event": type(event).__name__, "args": event_args(event)}


def show_receipt(
    receipt: Receipt,
    summary: str,
    as_json: bool,
    *,
    currencies: Mapping[str, Currency] | None = None,
    raw: bool = False,
    **extra: Any,
) -> None:
    """Print what a transaction did: a summary line and its events, or JSON with ``extra``.

    The events show times in ISO 8601 and amounts in their currency's units (ETH, an
    appraisal's ISO 4217 code, a token of ``currencies`` by address), or raw with ``raw``;
    the JSON keeps the events' numbers as they are.
    """
    if as_json:
        print_json({**extra, **receipt_json(receipt)})
        return
    out.print(summary, highlight=False, soft_wrap=True)
    show_events(receipt.events, currencies=currencies, raw=raw)
    out.print(
        f"transaction {hex_bytes(receipt.tx_hash)} in block {receipt.block_number}, "
        f"gas {receipt.gas_used:,}",
        highlight=False,
        soft_wrap=True,
    )


class CurrencyBook:
    """The market's currencies by address: ETH for the zero address, a token by the symbol and
    decimals its contract answers through ``w3``, each read once. Without a node (``w3`` None:
    a command that asks only a gateway), a token is known by its address alone and its amounts
    are given and shown in its smallest unit."""

    def __init__(self, w3: Web3 | None) -> None:
        self.w3 = w3
        self.known: dict[str, Currency] = {}

    @classmethod
    def of(cls, settings: Settings) -> CurrencyBook:
        """The book of a gateway command: tokens read through the configured node, if any."""
        if settings.rpc_url is None:
            return cls(None)
        return cls(rpc_chain(settings.rpc_url, check=False))

    def __call__(self, address: str) -> Currency:
        """The currency at ``address``."""
        if int(address, 16) == 0:
            return NATIVE
        key = params.checksum(address)
        if key not in self.known:
            self.known[key] = (
                read_currency(self.w3, key) if self.w3 is not None else Currency(key, "", 0)
            )
        return self.known[key]

    def of_receipt(self, receipt: Receipt) -> dict[str, Currency]:
        """The currencies the events of ``receipt`` name (for :func:`show_receipt`)."""
        for event in receipt.events:
            value = event_args(event).get("currency")
            if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
                self(value)
        return self.known


#: Event arguments that are a jurisdiction's two letters (``bytes2``).
JURISDICTION_ARGS: Final = frozenset({"jurisdiction", "destination"})
#: Event arguments that are amounts in the event's ``currency``.
AMOUNT_ARGS: Final = frozenset({"price", "min_bid", "amount", "fee", "refund"})


def readable_args(
    args: Mapping[str, Any],
    currencies: Mapping[str, Currency] | None = None,
    *,
    raw: bool = False,
) -> dict[str, Any]:
    """An event's JSON arguments for people: times (``*_at``) in ISO 8601, categories and
    grades with their names, jurisdictions as their letters (``HK``), amounts in their
    currency's units when the currency is known (ETH; an appraisal's ISO 4217 code; a token
    of ``currencies``), unless ``raw``."""
    shown = dict(args)
    for key, value in args.items():
        if key.endswith("_at") and isinstance(value, int):
            shown[key] = iso_time(value)
        elif key == "category" and isinstance(value, int):
            shown[key] = f"{value} ({category_name(value)})"
        elif key == "grade" and isinstance(value, int):
            shown[key] = grade_words(value)
        elif key in JURISDICTION_ARGS and isinstance(value, str) and len(value) == 6:
            letters = fixed_text(value)
            shown[key] = letters if letters.isalpha() else value
    currency = _event_currency(args.get("currency"), currencies or {})
    if currency is None or raw:
        return shown
    if currency.fixed:  # an appraisal's ISO 4217 code, by its letters
        shown["currency"] = currency.symbol
    for key in AMOUNT_ARGS & set(args):
        shown[key] = format_amount(args[key], currency)
    return shown


def _event_currency(value: Any, currencies: Mapping[str, Currency]) -> Currency | None:
    if not isinstance(value, str) or not value.startswith("0x"):
        return None
    if len(value) == 8:  # an appraisal's bytes3 ISO 4217 code
        code = fixed_text(value)
        return fiat(code) if code.isalpha() and code.isupper() else None
    if int(value, 16) == 0:
        return NATIVE
    return currencies.get(value)


def show_events(
    events: Sequence[Event],
    *,
    currencies: Mapping[str, Currency] | None = None,
    raw: bool = False,
) -> None:
    """The events as a table of name and arguments (see :func:`readable_args`)."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("event", no_wrap=True)
    table.add_column("arguments", overflow="fold")  # hashes are read in full, never cut
    for event in events:
        args = readable_args(event_args(event), currencies, raw=raw)
        table.add_row(
            f"[bold]{type(event).__name__}[/]",
            ", ".join(f"{key}={value}" for key, value in args.items()),
        )
    out.print(table, soft_wrap=True)


def print_json(value: Any) -> None:
    """Machine-readable output: one JSON document, nothing else on stdout."""
    out.print_json(json.dumps(value), highlight=False)
