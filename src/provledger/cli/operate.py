"""Operator commands: index the chain, serve the gateway."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Annotated, Final

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
    BlobDirOption,
    DeploymentRecordsOption,
    JsonOption,
    RpcOption,
    app,
    complete,
    err,
    guarded,
    out,
    run_until_signalled,
    settings_from,
    signals_end_cleanly,
)
from provledger.config import mask_url
from provledger.errors import InputError, ServiceUnavailableError
from provledger.indexer.fetcher import tune_gc
from provledger.indexer.metrics import IndexerMetrics
from provledger.indexer.scanner import BatchReport, IndexerConfig, RunSummary, Scanner
from provledger.indexer.source import RpcError, source_for
from provledger.store.blobs import BlobStore
from provledger.store.documents import index_documents
from provledger.store.engine import create_store_engine, sqlite_path
from provledger.store.index import IndexStore
from provledger.store.outbox import ActiveSubscriptions

#: Failed attempts of one request after which ``index --once`` gives up (7.5 s of backoff);
#: a following index retries until it is stopped.
ONCE_ATTEMPTS: Final = 5


class IndexGaveUpError(ServiceUnavailableError):
    """``index --once`` met the same node error :data:`ONCE_ATTEMPTS` times in a row."""

    template = (
        "the node at {url} failed {attempts} times in a row ({error}); index --once gives up "
        "(a following index keeps retrying)"
    )
    url: str
    attempts: int
    error: str


DatabaseOption = Annotated[
    str | None,
    typer.Option(help="Index database URL or SQLite path [env PROVLEDGER_DATABASE_URL]."),
]


@app.command("index")
def index_command(
    rpc_url: RpcOption = None,
    database_url: DatabaseOption = None,
    deployments_dir: DeploymentRecordsOption = None,
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
            w3 = connect(settings.rpc_url, timeout=settings.rpc_timeout)
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
                give_up_after=ONCE_ATTEMPTS if once else 0,
            )
            subscriptions = ActiveSubscriptions(
                settings.notify_database_url,
                stream_keep_ms=int(settings.notify_stream_keep_days * 86_400_000),
                prune_ms=int(settings.notify_prune_seconds * 1000),
            )
            store = IndexStore(
                create_store_engine(settings.database_url), subscriptions=subscriptions
            )

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

            blobs = BlobStore(settings.blob_dir)

            def documents() -> None:
                titles, batches = index_documents(store.engine, blobs)
                if titles or batches:
                    err.print(
                        f"learned from the blob folder: {titles:,} metadata titles, "
                        f"{batches:,} batch manifests",
                        highlight=False,
                    )

            scanner = Scanner(
                source_for(settings.rpc_url, w3, timeout=settings.rpc_timeout),
                store,
                deployment,
                config=config,
                metrics=metrics,
                on_batch=on_batch,
                on_note=lambda note: err.print(note, highlight=False),
                on_prepared=documents,
                blobs=blobs,
            )
            scanners.append(scanner)
            if stopping.is_set():  # the signal came while connecting
                scanner.stop()
            tune_gc()
            try:
                return scanner.run(once=once)
            except RpcError as error:
                if not once:
                    raise
                url = "the embedded chain" if settings.rpc_url is None else settings.rpc_url
                raise IndexGaveUpError(mask_url(url), ONCE_ATTEMPTS, str(error)) from error

        def stop() -> None:
            stopping.set()
            for scanner in scanners:
                scanner.stop()

        with bar:
            try:
                summary = run_until_signalled(index, stop)
            except BaseException:
                bar.update(task, visible=False)  # the error's line stands alone, no empty bar
                raise
        if summary is None and scanners:  # a request to the node outlived the stop: so far
            summary = scanners[0].summary
            summary.stopped = True
            summary.seconds = time.monotonic() - started
        report_index_run(summary, scanners[0].deployment.chain_id if scanners else None, as_json)

    complete(run)


@app.command("serve")
def serve_command(
    rpc_url: RpcOption = None,
    database_url: DatabaseOption = None,
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
