"""What the commands that record an act share: the chain's clock, and the act's document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final

import typer

from provledger.chain.client import Provledger
from provledger.chain.ids import asset_id_hex
from provledger.cli.session import act_document
from provledger.config import Settings

HOUR: Final = 3600
DAY: Final = 24 * HOUR

#: Why an act was done, in words: its SHA-256 is recorded (32 zero bytes when not given).
ReasonOption = Annotated[str | None, typer.Option(help="Why (its SHA-256 is recorded).")]


def document_option(document: str) -> Any:
    """The option naming the file of an act's ``document`` (``The certificate document``):
    its SHA-256 is recorded, the file kept; without it, a document of the act is generated."""
    return typer.Option(help=f"{document} (its SHA-256 is recorded) [default: a generated one].")


def chain_time(ledger: Provledger) -> int:
    """The latest block's time: expiries count from the chain's clock, the one the contracts
    check them against."""
    return int(ledger.w3.eth.get_block("latest")["timestamp"])


def asset_act(settings: Settings, given: Path | None, act: str, asset: int, **fields: Any) -> bytes:
    """The SHA-256 of the document of ``act`` on ``asset`` (:func:`act_document`): the file
    given, or else a JSON document of the act's ``fields``."""
    return act_document(settings, given, {"act": act, "asset_id": asset_id_hex(asset), **fields})
