"""The typer application and the error handling every command shares."""

from __future__ import annotations

import gc
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
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
EXIT_INTERRUPTED: Final = 130

STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
STOP_GRACE_SECONDS: Final = 1.0
"""How long a long-running command's work may take to end after a stop signal before the
command ends without it: every command then exits within 2 s, whatever its node does."""
_SIGNAL_POLL_SECONDS: Final = 0.1

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
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_until_signalled(
    work: Callable[[], T], stop: Callable[[], None], *, grace: float = STOP_GRACE_SECONDS
) -> T | None:
    """Run ``work`` in a thread until it returns, or until SIGINT or SIGTERM: then ``stop()``
    asks it to end, and it has ``grace`` seconds to.

    Returns what ``work`` returned (what it raised is raised here), or None if it had not ended
    in time: a request to a node that does not answer can outlast any stop request, so the
    thread is left to end with the process. The handlers only note the signal; ``stop`` runs
    in this thread, outside any handler, so it may take locks.
    """
    received: list[int] = []
    returned: list[T] = []
    raised: list[BaseException] = []

    def target() -> None:
        try:
            returned.append(work())
        except BaseException as error:  # raised again in the calling thread
            raised.append(error)

    def note(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in STOP_SIGNALS}
    try:
        worker = threading.Thread(target=target, name="provledger-work", daemon=True)
        worker.start()
        while worker.is_alive() and not received:
            worker.join(_SIGNAL_POLL_SECONDS)
        if received:
            stop()
            worker.join(grace)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if raised:
        raise raised[0]
    return returned[0] if returned else None


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
    """Entry point of the ``provledger`` console script.

    SIGTERM interrupts a command as Ctrl-C does, so that its cleanup runs (a node it started is
    stopped): "interrupted", exit 130. The long-running commands handle both signals themselves
    and end cleanly with 0 (``serve``, ``chain``, ``index``, ``demo`` once it serves).
    """
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as ended:
        if ended.code == EXIT_INTERRUPTED:  # typer's exit for an interrupt inside a command
            err.print("interrupted")
        raise
    finally:
        # Ending now: a late signal must not raise into the interpreter's shutdown, and that
        # shutdown need not collect garbage the exit frees anyway (it took ~0.4 s of a stop).
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        gc.freeze()


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
