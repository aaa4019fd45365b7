"""The typer application and the error handling every command shares."""

from __future__ import annotations

import _thread
import functools
import gc
import inspect
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, Final, NoReturn, TypeVar

import typer
from requests.exceptions import RequestException
from rich.console import Console
from rich.markup import escape
from typer._click import Context, HelpFormatter  # typer's vendored click: its types live here
from typer.core import TyperGroup
from web3.exceptions import (
    BadFunctionCallOutput,
    BadResponseFormat,
    BlockNumberOutOfRange,
    ContractLogicError,
    MultipleFailedRequests,
    ProviderConnectionError,
    TimeExhausted,
    TooManyRequests,
    Web3RPCError,
)

from provledger import __version__
from provledger.chain.calls import CallLog
from provledger.chain.explain import explain
from provledger.chain.reverts import ContractRevertError, revert_from_exception
from provledger.config import CONFIG_ENV, Settings, load_settings, mask_url, set_config_file
from provledger.errors import ProvledgerError, ServiceUnavailableError


class ExitCode(IntEnum):
    """A command's exit status: 0 ok, 1 a negative verification result, 2 bad usage or input
    (a revert among them), 3 a chain or network failure, 130 interrupted."""

    OK = 0
    NEGATIVE = 1
    USAGE = 2
    CHAIN = 3
    INTERRUPTED = 130


STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
STOP_GRACE_SECONDS: Final = 1.0
"""How long a long-running command's work may take to end after a stop signal before the
command ends without it: every command then exits within 2 s, whatever its node does."""
_SIGNAL_POLL_SECONDS: Final = 0.1

T = TypeVar("T")
Action = TypeVar("Action", bound=Callable[..., None])

#: The top-level help's sections, by who runs the commands, and the commands of each in the
#: order they are listed. A command missing here is listed under "Other".
HELP_SECTIONS: Final[dict[str, tuple[str, ...]]] = {
    "Register (data holders)": (
        "hash", "register", "register-many", "sign", "relay", "anchor", "categories",
        "metadata", "disclose", "license", "transfer", "cancel", "data",
    ),
    "Authority (registrar, appraiser, arbiter, export approver, admin)": (
        "participants", "review", "object", "certify", "appraise", "dispute", "export", "roles",
    ),
    "Market": ("market",),
    "Verify": (
        "verify", "history", "lineage", "proof", "verify-proof", "verify-receipt",
        "verify-disclosure", "status", "witness", "watch",
    ),
    "Operate": (
        "demo", "chain", "deploy", "compile", "index", "serve", "graphql-schema", "blobs", "db",
        "apikey",
        "account", "config", "checkpoint", "notify",
    ),
}  # fmt: skip


class RoleSections(TyperGroup):
    """The root command: its help lists the commands in sections by role
    (:data:`HELP_SECTIONS`), in the plain layout of the rest of the help."""

    def invoke(self, ctx: Context) -> object:
        """Run the command with one-line errors (:func:`guarded`): whatever a command lets
        through, a node's or the network's failure included, ends in one line, not a
        traceback."""
        return guarded(lambda: super(RoleSections, self).invoke(ctx))

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Write the commands' one-line help, section by section."""
        commands = {
            name: command
            for name in self.list_commands(ctx)
            if (command := self.get_command(ctx, name)) is not None and not command.hidden
        }
        column = max((len(name) for name in commands), default=0)
        width = formatter.width - 6 - column
        placed = {name for names in HELP_SECTIONS.values() for name in names}
        sections = [*HELP_SECTIONS.items(), ("Other", tuple(sorted(set(commands) - placed)))]
        for title, names in sections:
            rows = [  # names padded alike, so that every section lines up
                (name.ljust(column), commands[name].get_short_help_str(limit=width))
                for name in names
                if name in commands
            ]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


app = typer.Typer(
    name="provledger",
    help="A ledger for data asset provenance: contracts, indexer and gateway.",
    cls=RoleSections,
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
    """Options given before the command, and what the command did that an error explains."""

    debug: bool = False
    #: The calls of the command's chain connection: the call a revert answers.
    call_log: CallLog | None = None
    #: The node of the command's settings (its password masked): the node an error names.
    node_url: str | None = None


def _show_version(value: bool) -> None:
    if value:
        out.print(f"provledger {__version__}", highlight=False)
        raise typer.Exit(ExitCode.OK)


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
    _version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    State.debug = debug
    State.call_log = None
    State.node_url = None
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


def fail(message: str, code: int = ExitCode.USAGE) -> NoReturn:
    """Print one error line and exit with ``code``."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def complete(action: Callable[[], object]) -> NoReturn:
    """Run ``action`` with one-line errors (:func:`guarded`), then end the command: exit 0."""
    guarded(action)
    raise typer.Exit(ExitCode.OK)


#: What web3 raises when a node answers with an error, an answer that is not JSON-RPC, or
#: nothing in time: a failure of the node, not of the command's input (a revert among them is
#: told apart by :func:`revert_from_exception`).
NODE_FAILURES: Final = (
    Web3RPCError,  # a JSON-RPC error object; BlockNotFound, TransactionNotFound, MethodUnavailable
    ContractLogicError,  # web3 raises it for any error answered to eth_call or eth_estimateGas
    BadResponseFormat,
    BadFunctionCallOutput,  # a call answered with no data: no contract there on this chain
    BlockNumberOutOfRange,
    MultipleFailedRequests,
    ProviderConnectionError,
    TimeExhausted,  # no receipt in time
    TooManyRequests,
    RequestException,  # HTTP errors, timeouts, refused and reset connections (requests)
    ConnectionError,
)
#: The longest node message an error line quotes.
NODE_MESSAGE_MAX: Final = 200


def one_line(text: str, limit: int = NODE_MESSAGE_MAX) -> str:
    """``text`` on one line (runs of white space as one space), cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def node_answer(error: BaseException) -> str:
    """What the node answered, in its own words, on one line: a JSON-RPC error's message and
    code, else the exception's message."""
    response = getattr(error, "rpc_response", None)
    answered = response.get("error") if isinstance(response, dict) else None
    if isinstance(answered, dict) and isinstance(answered.get("message"), str):
        code = answered.get("code")
        return one_line(answered["message"]) + ("" if code is None else f" (code {code})")
    if isinstance(error, RequestException | ConnectionError):
        return one_line(f"{type(error).__name__}: {error}")
    return one_line(str(error) or type(error).__name__)


def error_line(error: BaseException) -> tuple[str, int]:
    """The one line an error prints and its exit code: a revert in words (2), a node's
    failure with the node's URL and its answer (3), else the error's own message (3 for a
    chain or network failure, 2 for everything else). A node's error is decoded once."""
    revert = error if isinstance(error, ContractRevertError) else None
    if revert is None and isinstance(error, NODE_FAILURES):
        revert = revert_from_exception(error)
        if revert is None:
            node = "the node" if State.node_url is None else f"the node at {State.node_url}"
            return f"{node} failed: {node_answer(error)}", ExitCode.CHAIN
    if revert is not None:
        return f"the contract refused: {explain_revert(revert)}", ExitCode.USAGE
    code = ExitCode.CHAIN if isinstance(error, ServiceUnavailableError) else ExitCode.USAGE
    return str(error), code


def guarded(action: Callable[[], T]) -> T:
    """Run ``action``; turn provledger errors and a node's or the network's failures into one
    line and an exit code (:func:`error_line`); ``--debug`` prints the traceback first."""
    try:
        return action()
    except typer.Exit:
        raise
    except (ProvledgerError, OSError, *NODE_FAILURES) as error:
        if State.debug:
            traceback.print_exc()
        fail(*error_line(error))


def explain_revert(revert: ContractRevertError) -> str:
    """A revert in words, with the call it answers, the chain's clock, the holders and the
    participants' names (from the blob folder) when known."""
    log = State.call_log
    if log is None:
        return explain(revert)
    call = log.last  # before the look-ups below, which the log does not note anyway
    if log.name_text is None:
        log.name_text = _blob_names()
    return explain(revert, call, log.chain_time(), log)


def _blob_names() -> Callable[[bytes], str | None] | None:
    """Name hash -> name, from the blob folder of the settings (None if they do not load)."""
    from provledger.store.blobs import BlobStore
    from provledger.store.documents import name_of

    try:
        blobs = BlobStore(load_settings({}).blob_dir)
    except (ProvledgerError, OSError):
        return None

    def lookup(name_hash: bytes) -> str | None:
        try:
            document = blobs.get("0x" + name_hash.hex())
        except OSError:
            return None
        return None if document is None else name_of(document)

    return lookup


#: How long after a stop signal a finalizer swallowed the main thread is interrupted again.
REDELIVERY_SECONDS: Final = 0.001


def redeliver_swallowed_interrupts() -> None:
    """Make a stop signal that lands inside a finalizer stop the command all the same.

    Ctrl-C and SIGTERM raise KeyboardInterrupt in whatever Python code runs on the main
    thread; if that is a ``weakref.finalize`` callback or a ``__del__`` that garbage collection
    happened to run, Python prints it as "Exception ignored" and goes on, and the command ran on
    as if never interrupted. This hook interrupts the main thread again a millisecond later,
    once it is back in the code the finalizer interrupted (interrupting it at once would land in
    the hook itself, which swallows it the same way).
    """
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if unraisable.exc_type is KeyboardInterrupt:
            again = threading.Timer(REDELIVERY_SECONDS, _thread.interrupt_main)
            again.daemon = True
            again.start()
            return
        previous(unraisable)

    sys.unraisablehook = hook


def main() -> None:
    """Entry point of the ``provledger`` console script.

    SIGTERM interrupts a command as Ctrl-C does, so that its cleanup runs (a node it started is
    stopped): "interrupted", exit 130. The long-running commands handle both signals themselves
    and end cleanly with 0 (``serve``, ``chain``, ``index``, ``demo`` once it serves).
    """
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    redeliver_swallowed_interrupts()
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except SystemExit as ended:
        if ended.code == ExitCode.INTERRUPTED:  # typer's exit for an interrupt inside a command
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
CheckpointRpcOption = Annotated[
    str | None,
    typer.Option(
        "--checkpoint-rpc-url",
        help="JSON-RPC URL of the target chain, which holds the checkpoints "
        "[env PROVLEDGER_CHECKPOINT_RPC_URL].",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
BlobDirOption = Annotated[
    Path | None,
    typer.Option(help="Folder of off-chain documents by SHA-256 [env PROVLEDGER_BLOB_DIR]."),
]
#: The deployment records of a command that reads a deployment outside ``chain_command``.
DeploymentRecordsOption = Annotated[
    Path | None, typer.Option(help="Folder of <chain-id>.json deployment records.")
]


def settings_from(**overrides: object) -> Settings:
    """The settings: the flags that were given over the environment over provledger.toml.

    A bad value exits with one line naming the setting and where it came from.
    """
    settings = guarded(lambda: load_settings(overrides))
    if settings.rpc_url is not None:
        State.node_url = mask_url(settings.rpc_url)
    return settings


def settings_command(group: typer.Typer, name: str, **options: Any) -> Callable[[Action], Action]:
    """Register ``action(settings, [as_json,] ...its own parameters)`` as command ``name``
    (:func:`add_command`), with ``--json`` if the action takes ``as_json``."""

    def register(action: Action) -> Action:
        given = inspect.signature(action, eval_str=True).parameters
        add_command(group, name, action, options, json="as_json" in given, call=action)
        return action

    return register


def add_command(
    group: typer.Typer,
    name: str,
    action: Callable[..., None],
    options: dict[str, Any],
    *,
    json: bool,
    call: Callable[..., None],
) -> None:
    """Register command ``name`` of ``group``, named and documented by ``action``.

    The command takes the action's own arguments and options (its parameters after the first,
    which the command gives it, less ``as_json``), then an option for each setting of
    ``options`` (the setting's name: its option's type, ``blob_dir=BlobDirOption``), then
    ``--json`` if ``json``; it builds the settings from those options (an option left out keeps
    the environment's or the file's value), runs ``call(settings, [as_json,] ...the values of
    the action's own parameters)`` with one-line errors (:func:`guarded`), and exits 0.
    """
    given = inspect.signature(action, eval_str=True).parameters
    _, *own = (parameter for key, parameter in given.items() if key != "as_json")
    types = {**options, **({"as_json": JsonOption} if json else {})}
    added = [
        inspect.Parameter(
            option,
            inspect.Parameter.KEYWORD_ONLY,
            default=False if option == "as_json" else None,
            annotation=annotation,
        )
        for option, annotation in types.items()
    ]

    @functools.wraps(action)
    def command(**values: Any) -> None:
        settings = settings_from(**{option: values.pop(option) for option in options})
        if json:
            values["as_json"] = bool(values.pop("as_json"))
        complete(lambda: call(settings, **values))

    signature = inspect.Signature([*own, *added])
    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    del command.__wrapped__  # typer must read the signature above, not the action's
    group.command(name)(command)
