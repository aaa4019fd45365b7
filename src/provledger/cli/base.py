"""The typer application and the error handling every command shares."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Annotated, Final, NoReturn, TypeVar

import typer
from requests.exceptions import ConnectionError as RequestsConnectionError
from rich.console import Console

from provledger.chain.connection import ChainUnavailable
from provledger.chain.reverts import ContractRevert
from provledger.errors import ProvledgerError

EXIT_OK: Final = 0
EXIT_NEGATIVE: Final = 1
EXIT_USAGE: Final = 2
EXIT_CHAIN: Final = 3

T = TypeVar("T")

app = typer.Typer(
    name="provledger",
    help="A ledger for data asset provenance: contracts, indexer and gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


class State:
    """Options given before the command."""

    debug: bool = False


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")
    ] = False,
) -> None:
    State.debug = debug


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one error line and exit with ``code``."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_code_for(error: BaseException) -> int:
    """The exit code of an error: 3 for chain and network failures, 2 for everything else."""
    if isinstance(error, ChainUnavailable | RequestsConnectionError | ConnectionError):
        return EXIT_CHAIN
    return EXIT_USAGE


def guarded(action: Callable[[], T]) -> T:
    """Run ``action``; turn provledger and network errors into one line and an exit code."""
    try:
        return action()
    except typer.Exit:
        raise
    except (ProvledgerError, RequestsConnectionError, ConnectionError, OSError) as error:
        if State.debug:
            traceback.print_exc()
        message = str(error)
        if isinstance(error, ContractRevert):
            message = f"the contract refused: {message}"
        fail(message, exit_code_for(error))


def main() -> None:
    """Entry point of the ``provledger`` console script."""

    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
