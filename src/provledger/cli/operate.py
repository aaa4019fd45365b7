"""Operator commands: index, serve, blobs, db, apikey."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from provledger.chain.accounts import read_password_file
from provledger.chain.connection import connect, is_embedded
from provledger.chain.deployments import load_deployment
from provledger.cli.base import (
    EXIT_OK,
    BlobDirOption,
    JsonOption,
    RpcOption,
    app,
    command_group,
    err,
    guarded,
    out,
    run_until_signalled,
    settings_from,
    signals_end_cleanly,
)
from provledger.config import mask_url
from provledger.errors import InputError
from provledger.indexer.fetcher import tune_gc
from provledger.indexer.metrics import IndexerMetrics
from provledger.indexer.scanner import BatchReport, IndexerConfig, RunSummary, Scanner
from provledger.indexer.source import source_for
from provledger.store.blobs import BlobStore, normalise_hash
from provledger.store.documents import index_documents
from provledger.store.engine import (
    create_reader_role,
    create_schema,
    create_store_engine,
    sqlite_path,
)
from provledger.store.index import IndexStore
from provledger.store.relay import open_relay_store


@app.command("index")
def index_command(
    rpc_url: RpcOption = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Index database URL or SQLite path [env PROVLEDGER_DATABASE_URL]."),
    ] = None,
    deployments_dir: Annotated[
        Path | None, typer.Option(help="Folder of <chain-id>.json deployment records.")
    ] = None,
    blob_dir: BlobDirOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Stop when the head seen at the start is indexed.")
    ] = False,
    confirmations: Annotated[
        int | None, typer.Option(help="Depth after which records are reported safe.")
    ] = None,
    finality_depth: Annotated[
        int | None, typer.Option(help="Depth after which records are final (reorg window).")
    ] = None,
    max_range: Annotated[
        int | None,
        typer.Option(help="Most blocks per eth_getLogs request [env PROVLEDGER_MAX_BLOCK_RANGE]."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics."),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Index the deployment's events from its deployment block, then follow the chain.
    Ctrl-C or SIGTERM stops it within 2 s, node up or down: it prints its summary, exit 0.

    Example: provledger index --rpc-url http://127.0.0.1:8545 --once
    """
    settings = settings_from(
        rpc_url=rpc_url,
        database_url=database_url,
        deployments_dir=deployments_dir,
        blob_dir=blob_dir,
        confirmations=confirmations,
        finality_depth=finality_depth,
        max_block_range=max_range,
    )

    def run() -> None:
        started = time.monotonic()
        bar = Progress(
            TextColumn("[bold]indexing[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("blocks · {task.fields[events]:,} events · {task.fields[rate]:,.0f} ev/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not progress or as_json,
            transient=False,
        )
        task = bar.add_task("index", total=None, events=0, rate=0.0)
        totals = {"events": 0}
        scanners: list[Scanner] = []
        stopping = threading.Event()

        def index() -> RunSummary:
            w3 = connect(settings.rpc_url)
            deployment = load_deployment(settings.deployments_dir, int(w3.eth.chain_id))
            if is_embedded(w3):
                err.print(
                    "note: the embedded chain is empty in a new process; "
                    "index a node with --rpc-url"
                )
            metrics = IndexerMetrics()
            if metrics_port is not None:
                metrics.serve(metrics_port)
            config = IndexerConfig(
                confirmations=settings.confirmations,
                finality_depth=settings.finality_depth,
                initial_range=min(IndexerConfig.initial_range, settings.max_block_range),
                max_range=settings.max_block_range,
            )
            store = IndexStore(create_store_engine(settings.database_url))

            def on_batch(report: BatchReport) -> None:
                totals["events"] += report.events
                start = deployment.block_number
                bar.update(
                    task,
                    total=max(report.head - start + 1, 1),
                    completed=report.end - start + 1,
                    events=totals["events"],
                    rate=metrics.rate,
                )

            def documents() -> None:
                titles, batches = index_documents(store.engine, BlobStore(settings.blob_dir))
                if titles or batches:
                    err.print(
                        f"learned from the blob folder: {titles:,} metadata titles, "
                        f"{batches:,} batch manifests",
                        highlight=False,
                    )

            scanner = Scanner(
                source_for(settings.rpc_url, w3),
                store,
                deployment,
                config=config,
                metrics=metrics,
                on_batch=on_batch,
                on_note=lambda note: err.print(note, highlight=False),
                on_prepared=documents,
            )
            scanners.append(scanner)
            if stopping.is_set():  # the signal came while connecting
                scanner.stop()
            tune_gc()
            return scanner.run(once=once)

        def stop() -> None:
            stopping.set()
            for scanner in scanners:
                scanner.stop()

        with bar:
            summary = run_until_signalled(index, stop)
        if summary is None and scanners:  # a request to the node outlived the stop: so far
            summary = scanners[0].summary
            summary.stopped = True
            summary.seconds = time.monotonic() - started
        report_index_run(summary, scanners[0].deployment.chain_id if scanners else None, as_json)

    guarded(run)
    raise typer.Exit(EXIT_OK)


@app.command("serve")
def serve_command(
    rpc_url: RpcOption = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Index database URL or SQLite path [env PROVLEDGER_DATABASE_URL]."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Listen address [env PROVLEDGER_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port [env PROVLEDGER_PORT].")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes [env PROVLEDGER_WORKERS].")
    ] = None,
) -> None:
    """Serve the gateway (REST API, OpenAPI at /docs) over the index. Refuses, exit 2, a
    SQLite index that is not there and an address something listens on.

    Example: provledger serve --database-url .provledger/index.sqlite --port 8000 --workers 2
    """
    from provledger.api import server

    settings = settings_from(
        rpc_url=rpc_url, database_url=database_url, host=host, port=port, workers=workers
    )

    def run() -> None:
        # Opening a SQLite index that is not there would create an empty one and serve it.
        index = sqlite_path(settings.api_database_url or settings.database_url)
        if index is not None and not index.exists():
            raise InputError(f"no index at {index}: run provledger index first")
        # Workers are separate processes: they read their settings from the environment.
        for name, value in settings.model_dump(mode="json", exclude_none=True).items():
            text = value if isinstance(value, str) else json.dumps(value)
            os.environ[f"PROVLEDGER_{name.upper()}"] = text
        with signals_end_cleanly():
            server.run(
                settings.host,
                settings.port,
                settings.workers,
                announce=lambda address: out.print(
                    f"provledger gateway on {address} (docs at /docs)", highlight=False
                ),
            )

    guarded(run)


blobs_app = command_group(
    "blobs", "Off-chain documents (metadata documents, manifests) by SHA-256."
)


@blobs_app.command("add")
def blobs_add_command(
    files: Annotated[list[Path], typer.Argument(help="Documents to store.")],
    blob_dir: BlobDirOption = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Index database whose title search learns the documents' titles."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Store documents in the blob folder under their SHA-256 (the hash the chain anchors);
    index metadata titles for search and batch manifests for verifying batch files.

    Example: provledger blobs add meta.json manifest.json
    """
    settings = settings_from(blob_dir=blob_dir, database_url=database_url)

    def run() -> None:
        blobs = BlobStore(settings.blob_dir)
        stored = {str(path): blobs.put(read_document(path)) for path in files}
        engine = create_store_engine(settings.database_url)
        create_schema(engine)
        titles, batches = index_documents(engine, blobs, stored.values())
        engine.dispose()
        if as_json:
            report = {"stored": stored, "metadata_titles": titles, "batch_manifests": batches}
            out.print_json(json.dumps(report))
            return
        for path, sha256 in stored.items():
            out.print(f"{sha256}  {path}", highlight=False, soft_wrap=True)
        out.print(
            f"{len(stored)} stored in {settings.blob_dir}; learned {titles} metadata titles, "
            f"{batches} batch manifests",
            highlight=False,
            soft_wrap=True,
        )

    guarded(run)
    raise typer.Exit(EXIT_OK)


@blobs_app.command("get")
def blobs_get_command(
    sha256: Annotated[str, typer.Argument(help="The document's SHA-256 (0x and 64 hex digits).")],
    blob_dir: BlobDirOption = None,
) -> None:
    """Write a stored document to standard output.

    Example: provledger blobs get 0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    """
    settings = settings_from(blob_dir=blob_dir)

    def run() -> None:
        data = BlobStore(settings.blob_dir).get(normalise_hash(sha256))
        if data is None:
            raise InputError(f"no document {sha256} in {settings.blob_dir}")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()

    guarded(run)
    raise typer.Exit(EXIT_OK)


def report_index_run(summary: RunSummary | None, chain_id: int | None, as_json: bool) -> None:
    """Print what an index run did in one line (or JSON); ``summary`` None: it was stopped
    before it began."""
    if summary is None:
        if as_json:
            out.print_json(json.dumps({"stopped": True}))
        else:
            out.print("stopped before indexing began", highlight=False)
        return
    rate = round(summary.events / summary.seconds) if summary.seconds else 0
    if as_json:
        result = {
            "chain_id": chain_id,
            "indexed_block": summary.last_block,
            "batches": summary.batches,
            "events": summary.events,
            "skipped_logs": summary.skipped,
            "reorgs": summary.reorgs,
            "rpc_errors": summary.rpc_errors,
            "seconds": round(summary.seconds, 3),
            "events_per_second": rate,
            "stopped": summary.stopped,
        }
        out.print_json(json.dumps(result))
        return
    out.print(
        f"indexed to block {summary.last_block}{' (stopped)' if summary.stopped else ''}: "
        f"{summary.events:,} events in {summary.batches} batches, {summary.seconds:.1f} s "
        f"({rate:,} events/s); {summary.skipped} logs skipped, {summary.reorgs} reorgs, "
        f"{summary.rpc_errors} node errors",
        highlight=False,
    )


def read_document(path: Path) -> bytes:
    """A document's bytes, or :class:`InputError` with the reason."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error


db_app = command_group("db", "The index database: roles for the gateway.")


@db_app.command("reader")
def db_reader_command(
    name: Annotated[str, typer.Argument(help="Role name (lowercase letters, digits, _).")],
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The index's PostgreSQL URL, as the indexer uses it [env PROVLEDGER_DATABASE_URL]."
        ),
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(help="File holding the role's password; none: log in by other means."),
    ] = None,
) -> None:
    """Create (or update) a PostgreSQL role that can only read the index, for the gateway's
    api_database_url: SELECT on every index table, now and after rebuilds; no writes.

    Example: provledger db reader provledger_api --password-file api.pw
    """
    settings = settings_from(database_url=database_url)

    def run() -> None:
        password = None if password_file is None else read_password_file(password_file)
        if password == "":
            raise InputError(f"password file {password_file} is empty")
        engine = create_store_engine(settings.database_url)
        try:
            create_schema(engine)
            create_reader_role(engine, name, password)
        finally:
            engine.dispose()
        out.print(
            f"role {name} may read the index at {mask_url(settings.database_url)}; "
            f"serve with PROVLEDGER_API_DATABASE_URL naming it",
            highlight=False,
            soft_wrap=True,
        )

    guarded(run)
    raise typer.Exit(EXIT_OK)


apikey_app = command_group("apikey", "API keys of the gateway's relay (POST /relay/registrations).")
RelayDatabaseOption = Annotated[
    str | None,
    typer.Option(help="The relay's database [env PROVLEDGER_RELAY_DATABASE_URL]."),
]


@apikey_app.command("create")
def apikey_create_command(
    name: Annotated[str, typer.Argument(help="Who the key is for (shown in the list).")],
    rate: Annotated[
        int, typer.Option(min=1, max=1_000_000_000, help="Requests a minute the key may send.")
    ] = 60,
    daily_gas: Annotated[
        int,
        typer.Option(
            min=1, max=2**63 - 1, help="Gas the key's relayed transactions may use a day (UTC)."
        ),
    ] = 50_000_000,
    relay_database_url: RelayDatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key for the relay; the key is printed once (only its hash is kept).

    Example: provledger apikey create "data exchange A" --rate 120 --daily-gas 100000000
    """
    settings = settings_from(relay_database_url=relay_database_url)

    def run() -> None:
        with open_relay_store(settings.relay_database_url) as store:
            key_id, token = store.create_key(name, rate_per_minute=rate, daily_gas=daily_gas)
        if as_json:
            out.print_json(json.dumps({"key_id": key_id, "api_key": token, "name": name}))
            return
        out.print(f"API key {key_id} for {name}: {token}", highlight=False, soft_wrap=True)
        out.print("keep it now: only its hash is stored", highlight=False)

    guarded(run)
    raise typer.Exit(EXIT_OK)


@apikey_app.command("revoke")
def apikey_revoke_command(
    key_id: Annotated[str, typer.Argument(help="The key's id (as `apikey list` shows).")],
    relay_database_url: RelayDatabaseOption = None,
) -> None:
    """Revoke an API key: requests with it are refused from now on (401).

    Example: provledger apikey revoke 3f9a1c2b7d4e
    """
    settings = settings_from(relay_database_url=relay_database_url)

    def run() -> None:
        with open_relay_store(settings.relay_database_url) as store:
            store.revoke_key(key_id)
        out.print(f"API key {key_id} revoked", highlight=False)

    guarded(run)
    raise typer.Exit(EXIT_OK)


@apikey_app.command("list")
def apikey_list_command(
    relay_database_url: RelayDatabaseOption = None, as_json: JsonOption = False
) -> None:
    """List the relay's API keys (ids, names, limits, revocation; never the secrets).

    Example: provledger apikey list --json
    """
    settings = settings_from(relay_database_url=relay_database_url)

    def run() -> None:
        with open_relay_store(settings.relay_database_url) as store:
            keys = store.keys()
        if as_json:
            out.print_json(json.dumps([dataclasses.asdict(key) for key in keys]))
            return
        for key in keys:
            state = "revoked" if key.revoked_at is not None else "live"
            out.print(
                f"{key.key_id}  {state:7}  {key.rate_per_minute}/min  "
                f"{key.daily_gas:,} gas/day  {key.name}",
                highlight=False,
                soft_wrap=True,
            )
        if not keys:
            out.print("no API keys", highlight=False)

    guarded(run)
    raise typer.Exit(EXIT_OK)
