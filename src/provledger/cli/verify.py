"""Verifier commands: verify-proof."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from provledger.chain.connection import rpc_chain
from provledger.cli.base import (
    EXIT_NEGATIVE,
    EXIT_OK,
    JsonOption,
    RpcOption,
    app,
    guarded,
    out,
    settings_from,
)
from provledger.errors import InputError
from provledger.jsondoc import JsonDocumentError, read_json_file
from provledger.services.proofs import (
    MalformedProofBundleError,
    ProofReport,
    parse_proof_bundle,
    verify_proof_bundle,
)


def read_bundle(path: Path) -> Any:
    """The JSON of a proof bundle file, checked for form before any node is asked."""
    try:
        data = read_json_file(path)
    except OSError as error:
        raise InputError(f"cannot read proof bundle {path}: {error.strerror}") from None
    except JsonDocumentError as error:
        raise MalformedProofBundleError("", str(error)) from None
    parse_proof_bundle(data)
    return data


def _print_report(report: ProofReport) -> None:
    table = Table(title=f"proof of asset {report.asset_id}")
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("reason", overflow="fold")  # fold, not cut: hashes are read in full
    for check in report.checks:
        result = "[green]pass[/]" if check.passed else "[bold red]FAIL[/]"
        table.add_row(check.name, result, check.reason)
    out.print(table)
    if report.ok:
        out.print(f"verified: all {len(report.checks)} checks passed on chain {report.chain_id}")
    else:
        out.print(
            f"[bold red]not verified[/]: {len(report.failed)} of {len(report.checks)} checks "
            f"failed ({', '.join(report.failed)})",
            highlight=False,
        )


@app.command("verify-proof")
def verify_proof_command(
    bundle: Annotated[
        Path, typer.Argument(help="A proof bundle JSON file (GET /assets/{id}/proof).")
    ],
    rpc_url: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-check a proof bundle against a node, with no gateway involved; exit 1 if any check
    fails.

    Example: provledger verify-proof proof.json --rpc-url http://127.0.0.1:8545
    """
    settings = settings_from(rpc_url=rpc_url)

    def run() -> ProofReport:
        data = read_bundle(bundle)
        url = settings.rpc_url
        if url is None:  # the embedded chain is empty in a new process: nothing to check against
            raise InputError("verify-proof needs a node: give --rpc-url or set PROVLEDGER_RPC_URL")
        return verify_proof_bundle(data, rpc_chain(url))

    report = guarded(run)
    if as_json:
        out.print_json(json.dumps(report.to_json()))
    else:
        _print_report(report)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_NEGATIVE)
