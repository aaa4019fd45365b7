"""Operator commands: index."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
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
    settings_from,
    signals_end_cleanly,
)
from provledger.errors import InputError
from provledger.indexer.fetcher import tune_gc
from provledger.indexer.metrics import IndexerMetrics
from provledger.indexer.scanner import BatchReport, IndexerConfig, Scanner
from provledger.indexer.source import source_for
from provledger.store.blobs import BlobStore, normalise_hash
from provledger.store.documents import index_documents
from provledger.store.engine import create_schema, create_store_engine
from provledger.store.index import IndexStore


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
        int | None, typer.Option(help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics.")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Index the deployment's events from its deployment block, then follow the chain.

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
        w3 = connect(settings.rpc_url)
        deployment = load_deployment(settings.deployments_dir, int(w3.eth.chain_id))
        if is_embedded(w3):
            err.print(
                "note: the embedded chain is empty in a new process; index a node with --rpc-url"
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

        def interrupt(_signal: int, _frame: FrameType | None) -> None:
            scanner.stop()

        signal.signal(signal.SIGTERM, interrupt)
        tune_gc()
        with bar:
            summary = scanner.run(once=once)
        result = {
            "chain_id": deployment.chain_id,
            "indexed_block": summary.last_block,
            "batches": summary.batches,
            "events": summary.events,
            "skipped_logs": summary.skipped,
            "reorgs": summary.reorgs,
            "rpc_errors": summary.rpc_errors,
            "seconds": round(summary.seconds, 3),
            "events_per_second": round(summary.events / summary.seconds) if summary.seconds else 0,
        }
        if as_json:
            out.print_json(json.dumps(result))
        else:
            out.print(
                f"indexed to block {summary.last_block}: {summary.events:,} events in "
                f"{summary.batches} batches, {summary.seconds:.1f} s "
                f"({result['events_per_second']:,} events/s); {summary.skipped} logs skipped, "
                f"{summary.reorgs} reorgs, {summary.rpc_errors} node errors",
                highlight=False,
            )

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
    """Serve the gateway (REST API, OpenAPI at /docs) over the index.

    Example: provledger serve --database-url .provledger/index.sqlite --port 8000 --workers 2
    """
    import uvicorn

    settings = settings_from(
        rpc_url=rpc_url, database_url=database_url, host=host, port=port, workers=workers
    )

    def run() -> None:
        # Workers are separate processes: they read their settings from the environment.
        for name, value in settings.model_dump(mode="json", exclude_none=True).items():
            text = value if isinstance(value, str) else json.dumps(value)
            os.environ[f"PROVLEDGER_{name.upper()}"] = text
        out.print(f"provledger gateway on http://{settings.host}:{settings.port} (docs at /docs)")
        with signals_end_cleanly():
            uvicorn.run(
                "provledger.api.app:app_from_environment",
                factory=True,
                host=settings.host,
                port=settings.port,
                workers=settings.workers,
                log_level="warning",
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


def read_document(path: Path) -> bytes:
    """A document's bytes, or :class:`InputError` with the reason."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error
