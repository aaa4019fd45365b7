"""`provledger demo`: play the scenario, index it, serve the gateway until Ctrl-C."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.table import Table
from web3 import Web3

from provledger.chain.anvil import AnvilNode
from provledger.chain.connection import connect
from provledger.chain.ids import asset_id_hex
from provledger.cli.base import (
    app,
    complete,
    err,
    out,
    signals_end_cleanly,
)
from provledger.config import Settings, load_settings
from provledger.demo import (
    INDEX_DATABASE,
    ROOM_DATABASE,
    ROOM_KEY,
    ROOM_STORAGE,
    Demo,
    DemoResult,
)
from provledger.demo_disclosure import COMMITTED_LABEL, PRESENTATION_FILE
from provledger.errors import InputError, ProvledgerError
from provledger.indexer.scanner import IndexerConfig, Scanner
from provledger.indexer.source import source_for
from provledger.store.blobs import BlobStore
from provledger.store.documents import index_documents
from provledger.store.engine import create_store_engine
from provledger.store.index import IndexStore
from provledger.store.outbox import ActiveSubscriptions

#: The demo's index reports records safe after 1 block and final after 4.
DEMO_CONFIRMATIONS: Final = 1
DEMO_FINALITY: Final = 4


@contextmanager
def demo_chain(kind: str) -> Iterator[tuple[Web3, str | None]]:
    """The chain the demo plays on: ``(web3, JSON-RPC URL or None for the embedded chain)``."""
    if kind == "embedded":
        out.print("embedded chain (eth-tester, in-process)")
        yield connect(None), None
        return
    if kind != "anvil":
        raise InputError(f"--chain {kind!r} is not 'embedded' or 'anvil'")
    with AnvilNode(block_time=1, mixed_mining=True) as node:  # confirmations keep coming
        out.print(f"anvil started at {node.url}", highlight=False)
        yield node.web3(), node.url


def demo_settings(folder: Path, rpc_url: str | None, port: int) -> Settings:
    """The settings of the demo's index and gateway, all inside ``folder``."""
    return load_settings(
        {
            "rpc_url": rpc_url,
            "database_url": str(folder / INDEX_DATABASE),
            "deployments_dir": folder / "deployments",
            "blob_dir": folder / "blobs",
            "confirmations": DEMO_CONFIRMATIONS,
            "finality_depth": DEMO_FINALITY,
            "port": port,
            "data_room": True,
            "data_room_storage": str(folder / ROOM_STORAGE),
            "data_room_database_url": f"sqlite:///{folder / ROOM_DATABASE}",
            "data_room_master_key_file": folder / ROOM_KEY,
        }
    )


def demo_scanner(settings: Settings, w3: Web3, result: DemoResult) -> Scanner:
    """An indexer of the demo's deployment into the demo's database, announcing to the
    subscriptions (``provledger watch`` against the demo's gateway hears of what it indexes)."""
    config = IndexerConfig(confirmations=DEMO_CONFIRMATIONS, finality_depth=DEMO_FINALITY)
    store = IndexStore(
        create_store_engine(settings.database_url),
        subscriptions=ActiveSubscriptions(settings.notify_database_url),
    )

    blobs = BlobStore(settings.blob_dir)

    def documents() -> None:  # titles for search, the batch manifest for /verify
        index_documents(store.engine, blobs)

    return Scanner(
        source_for(settings.rpc_url, w3, timeout=settings.rpc_timeout),
        store,
        result.deployment,
        config=config,
        on_prepared=documents,
        blobs=blobs,
    )


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _summary(result: DemoResult, folder: Path) -> None:
    table = Table("asset", "id", "registration no.")
    table.columns[1].overflow = "fold"  # ids are read and copied whole
    for label, asset in result.assets.items():
        number = result.registration_numbers.get(label)
        table.add_row(label, asset_id_hex(asset), str(number) if number else "-")
    out.print(table)
    out.print(
        f"{result.transactions} transactions, {result.events} events, "
        f"{result.gas_used:,} gas; sample data in {folder}",
        highlight=False,
    )


def venv_to_activate() -> Path | None:
    """The activate script a new terminal must source before ``provledger`` runs this very
    program, if any: none when the name on PATH is this program outside an activated virtual
    environment (an install, pipx); else this program's virtual environment's (`make demo`
    runs ``.venv/bin/provledger``, which a new shell does not find)."""
    script = Path(sys.executable).with_name("provledger")
    found = shutil.which("provledger")
    if found and Path(found).resolve() == script.resolve() and "VIRTUAL_ENV" not in os.environ:
        return None
    activate = Path(sys.prefix) / "bin" / "activate"
    return activate if sys.prefix != sys.base_prefix and activate.is_file() else None


def try_commands(
    folder: Path,
    url: str,
    raw: str,
    product: str,
    cwd: Path | None = None,
    rpc_url: str | None = None,
) -> list[str]:
    """The lines the demo suggests for another terminal, each runnable in a new shell: going
    to ``cwd`` when a path is relative to it and activating the virtual environment when
    ``provledger`` needs it, then commands against the demo's gateway at ``url``, and against
    its node at ``rpc_url`` if it has one (the embedded chain has none)."""
    here = Path.cwd() if cwd is None else cwd
    setup: list[str] = []
    activate = venv_to_activate()
    if activate is not None:
        shown = activate.relative_to(here) if activate.is_relative_to(here) else activate
        setup.append(f"source {shlex.quote(str(shown))}")
    if setup or not folder.is_absolute():  # a relative path, or a new shell's first line
        setup.insert(0, f"cd {shlex.quote(str(here))}")
    examples = [
        f"provledger verify {shlex.quote(str(folder / 'huangpu-air-raw'))} --gateway {url}",
        f"provledger lineage {product} --depth 3 --gateway {url}",
        f"provledger history {raw} --gateway {url}",
    ]
    if rpc_url is not None:
        presentation = shlex.quote(str(folder / PRESENTATION_FILE))
        deployments = shlex.quote(str(folder / "deployments"))
        examples.append(
            f"provledger verify-disclosure {presentation} --rpc-url {rpc_url} "
            f"--deployments-dir {deployments}"
        )
    return [" && ".join(setup), *examples] if setup else examples


def _follow(scanner: Scanner) -> None:
    """Run the demo's indexer until stopped; an error ends it with one line, not a traceback."""
    try:
        scanner.run()
    except ProvledgerError as error:
        err.print(f"the demo's indexer stopped: {error}", highlight=False, soft_wrap=True)


def serve_demo(settings: Settings, w3: Web3, result: DemoResult, folder: Path) -> None:
    """Serve the gateway over the demo's index (following a node's chain) until Ctrl-C."""
    import uvicorn

    from provledger.api import server
    from provledger.api.app import create_app

    follower: Scanner | None = None
    if settings.rpc_url is not None:  # a node outlives its transactions: keep the index current
        follower = demo_scanner(settings, w3, result)
        threading.Thread(target=_follow, args=(follower,), name="demo-indexer", daemon=True).start()
    url = f"http://127.0.0.1:{settings.port}"
    raw = asset_id_hex(result.assets["raw dataset"])
    product = asset_id_hex(result.assets["air-quality index product"])
    committed = asset_id_hex(result.assets[COMMITTED_LABEL])
    out.print(
        f"\ngateway   {url}\nverify    {url}/check\nan asset  {url}/asset/{raw}\n"
        f"committed {url}/asset/{committed}#metadata\nnotices   {url}/notices\n"
        f"API docs  {url}/docs",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"\nthe disclosure {folder / PRESENTATION_FILE}: drop it on the verify page (or choose "
        "it there) to check it in your browser",
        highlight=False,
        soft_wrap=True,
    )
    out.print("\ntry, in another terminal:", highlight=False)
    for line in try_commands(folder, url, raw, product, rpc_url=settings.rpc_url):
        out.print(f"  {line}", highlight=False, soft_wrap=True)
    out.print("\nCtrl-C stops the demo.", highlight=False)
    server.quiet_cancellations()
    config = uvicorn.Config(
        create_app(settings, w3=w3),
        host="127.0.0.1",
        port=settings.port,
        **server.options(settings),
    )
    try:
        with signals_end_cleanly():
            uvicorn.Server(config).run()
    finally:
        if follower is not None:
            follower.stop()
    out.print("demo stopped", highlight=False)


@app.command("demo")
def demo_command(
    chain: Annotated[
        str,
        typer.Option(
            envvar="DEMO_CHAIN",
            help="embedded (in-process eth-tester) or anvil (a local node started for the demo).",
        ),
    ] = "embedded",
    workdir: Annotated[
        Path, typer.Option(help="Where the sample data, the index and the blobs are written.")
    ] = Path(".provledger/demo"),
    serve: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Serve the gateway after the scenario."),
    ] = True,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port of the demo gateway on 127.0.0.1.")
    ] = 8000,
) -> None:
    """Play the demo scenario (register, certify, derive, license, appraise, sell, export,
    anchor, dispute, deliver through the data room, register with committed metadata and
    disclose), index it, and serve the gateway over it until Ctrl-C.

    Example: provledger demo --chain anvil --port 8000
    """

    def play() -> None:
        if serve and not _port_is_free(port):
            raise InputError(f"port {port} is in use: give --port")
        workdir.mkdir(parents=True, exist_ok=True)
        for old in workdir.glob("index.sqlite*"):
            old.unlink()  # a new chain: a new index
        with demo_chain(chain) as (w3, rpc_url):

            def say(line: str) -> None:
                out.print(f"  • {line}", highlight=False, soft_wrap=True)

            result = Demo(w3, workdir, say).run()
            settings = demo_settings(workdir, rpc_url, port)
            result.deployment.save(settings.deployments_dir)
            _summary(result, workdir)
            indexed = demo_scanner(settings, w3, result).run(once=True)
            out.print(
                f"indexed {indexed.events} events to block {indexed.last_block} "
                f"into {settings.database_url}",
                highlight=False,
            )
            if serve:
                serve_demo(settings, w3, result, workdir)
            else:
                out.print(
                    "the demo's chain is gone with it: run `provledger demo` without "
                    "--no-serve to browse the gateway and check the disclosure "
                    f"{workdir / PRESENTATION_FILE} on its verify page",
                    highlight=False,
                    soft_wrap=True,
                )

    complete(play)
