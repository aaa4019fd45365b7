"""The typer application and the error handling every command shares."""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Final, NoReturn, TypeVar

import typer
from requests.exceptions import ConnectionError as RequestsConnectionError
from rich.console import Console

from provledger.chain.reverts import ContractRevert
from provledger.config import CONFIG_ENV, Settings, load_settings, set_config_file
from provledger.errors import ProvledgerError, ServiceUnavailable

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
    rich_markup_mode=None,  # help texts hold literal [brackets]: [env PROVLEDGER_RPC_URL]
)


def command_group(name: str, help: str) -> typer.Typer:
    """A group of subcommands (``provledger NAME ...``) registered on the app."""
    group = typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(group, name=name)
    return group


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
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar=CONFIG_ENV,
            help="TOML settings file [default: ./provledger.toml if present].",
        ),
    ] = None,
) -> None:
    State.debug = debug
    set_config_file(config)


@contextmanager
def signals_end_cleanly() -> Iterator[None]:
    """Inside the block, Ctrl-C and SIGTERM only end what handles them (uvicorn stops, then
    raises the signal again for the handler it found): the command then exits 0, not 130."""
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one error line and exit with ``code``."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_code_for(error: BaseException) -> int:
    """The exit code of an error: 3 for chain and network failures, 2 for everything else."""
    if isinstance(error, ServiceUnavailable | RequestsConnectionError | ConnectionError):
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


RpcOption = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        help="JSON-RPC URL of the chain [env PROVLEDGER_RPC_URL]; unset: the embedded chain.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
BlobDirOption = Annotated[
    Path | None,
    typer.Option(help="Folder of off-chain documents by SHA-256 [env PROVLEDGER_BLOB_DIR]."),
]


def settings_from(**overrides: object) -> Settings:
    """The settings: the flags that were given over the environment over provledger.toml.

    A bad value exits with one line naming the setting and where it came from.
    """
    return guarded(lambda: load_settings(overrides))
