"""What the commands that record an act share: the chain's clock, the act's document, and the
hashes of the texts (reasons, grounds, names) an act records."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Final

import orjson
import typer

from provledger.chain.client import Provledger
from provledger.chain.events import Event
from provledger.chain.ids import asset_id_hex
from provledger.chain.transactions import Receipt
from provledger.cli.arguments import AssetArgument, parse_asset
from provledger.cli.session import ChainRun, chain_command
from provledger.config import Settings
from provledger.errors import InputError
from provledger.store.blobs import BlobStore

HOUR: Final = 3600
DAY: Final = 24 * HOUR

_REASON: Final = typer.Option("--reason", help="Why (its SHA-256 is recorded).")
#: Why an act was done, in words: its SHA-256 is recorded (32 zero bytes when not given).
ReasonOption = Annotated[str | None, _REASON]
#: Why an act was done, where the act needs a reason (a rejection).
RequiredReasonOption = Annotated[str, _REASON]


def document_option(document: str) -> Any:
    """The option naming the file of an act's ``document`` (``The certificate document``):
    its SHA-256 is recorded, the file kept; without it, a document of the act is generated."""
    return typer.Option(help=f"{document} (its SHA-256 is recorded) [default: a generated one].")


def text_hash(text: str | None) -> bytes:
    """The SHA-256 of a reason, grounds or evidence text (32 zero bytes for none)."""
    return b"\x00" * 32 if not text else hashlib.sha256(text.encode()).digest()


def kept_text(settings: Settings, text: str | None) -> bytes:
    """:func:`text_hash` of ``text``, with the text kept in the blob folder, so that the index
    and the pages can show what the hash stands for (a participant's name)."""
    if not text:
        return text_hash(text)
    return BlobStore(settings.blob_dir).keep(text.encode())


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
    return BlobStore(settings.blob_dir).keep(data)


def chain_time(ledger: Provledger) -> int:
    """The latest block's time: expiries count from the chain's clock, the one the contracts
    check them against."""
    return int(ledger.w3.eth.get_block("latest")["timestamp"])


def expiry(ledger: Provledger, days: int) -> int:
    """The time ``days`` whole days after the latest block's (:func:`chain_time`): when a
    license, permit, offer or bid given for ``days`` expires."""
    return chain_time(ledger) + days * DAY


def asset_act(settings: Settings, given: Path | None, act: str, asset: int, **fields: Any) -> bytes:
    """The SHA-256 of the document of ``act`` on ``asset`` (:func:`act_document`): the file
    given, or else a JSON document of the act's ``fields``."""
    return act_document(settings, given, {"act": act, "asset_id": asset_id_hex(asset), **fields})


def text_act_command(
    group: typer.Typer,
    name: str,
    text: Any,
    send: Callable[[Provledger], Callable[[int, bytes], Receipt]],
    done: str,
    doc: str,
    *,
    optional: bool = False,
    counted: tuple[type[Event], str] | None = None,
) -> None:
    """Register command ``name`` of ``group``, documented by ``doc``: an asset and a ``text``
    option (a reason, grounds, evidence: its type names its flag), required unless ``optional``,
    whose SHA-256 one contract call of the ledger, ``send``, records against the asset.

    It says ``done`` with the ``{asset}`` filled in; ``counted`` names the event that numbers
    the record the call made and the number's field, which ``done`` and the JSON then show.
    """

    def command(run: ChainRun, asset: AssetArgument, text: str | None) -> None:
        target = parse_asset(asset)
        receipt = send(run.ledger())(target, text_hash(text))
        numbers = (
            {} if counted is None else {counted[1]: getattr(receipt.event(counted[0]), counted[1])}
        )
        run.show(receipt, done.format(asset=asset_id_hex(target), **numbers), **numbers)

    signature = inspect.signature(command, eval_str=True)
    given = inspect.Parameter(
        "text",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None if optional else inspect.Parameter.empty,
        annotation=text,
    )
    own = [parameter for parameter in signature.parameters.values() if parameter.name != "text"]
    command.__signature__ = signature.replace(parameters=[*own, given])  # type: ignore[attr-defined]
    command.__name__ = command.__qualname__ = f"{name.replace('-', '_')}_command"
    command.__doc__ = doc
    chain_command(group, name)(command)
