"""Verifier commands: verify (is this file registered?) and verify-proof (does this bundle hold?).

``verify`` asks a gateway (``--gateway`` / ``PROVLEDGER_GATEWAY_URL``) or a node directly
(``--rpc-url``), with no gateway involved; ``verify-proof`` asks only a node. A file is always
hashed here: it is never sent anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from provledger.categories import category_name, grade_words
from provledger.chain.connection import rpc_chain
from provledger.chain.enums import AssetStatus
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.chain.serialize import hex_bytes
from provledger.cli.arguments import parse_address
from provledger.cli.base import (
    CheckpointRpcOption,
    ExitCode,
    JsonOption,
    RpcOption,
    app,
    guarded,
    out,
    settings_from,
)
from provledger.cli.gateway import GatewayOption, gateway_get, party_names, require_gateway
from provledger.cli.output import print_json, print_verdict, when
from provledger.cli.registrant import hash_input
from provledger.cli.session import DeploymentsOption, open_ledger
from provledger.commitments import SALT_BYTES, ContentCommitment
from provledger.config import Settings
from provledger.errors import InputError
from provledger.hashing import parse_hash32
from provledger.jsondoc import JsonDocumentError, read_json_file
from provledger.params import parse_hex
from provledger.services.proofs import (
    MalformedProofBundleError,
    ProofReport,
    WitnessPolicy,
    parse_proof_bundle,
    verify_proof_bundle,
)


def target_hash(target: str) -> tuple[bytes, str]:
    """The content hash of ``target`` (a file, a folder or a hash) and what it was."""
    path = Path(target)
    if path.exists():
        content, manifest = hash_input(path)
        return content, f"folder {path}" if manifest else f"file {path}"
    if target.startswith("0x") or len(target) == 64:
        return parse_hash32(target), "hash"
    raise InputError(f"{target} is neither a file, a folder nor a hash (0x and 64 hex digits)")


def verify_on_chain(settings: Settings, content: bytes) -> dict[str, Any]:
    """The verdict read from the registry on a node: no gateway, no index."""
    ledger = open_ledger(settings, sign=False)
    state = ledger.registry.asset_by_hash(content)
    verdict: dict[str, Any] = {
        "content_hash": hex_bytes(content),
        "asset_id": asset_id_hex(asset_id(content)),
        "registered": state is not None,
        "source": f"node {settings.rpc_url}",
        "asset": None,
        "warnings": [],
    }
    if state is None:
        return verdict
    verdict["asset"] = {
        "registrant": state.registrant,
        "holder": state.holder,
        "status": state.status.name,
        "category": state.category,
        "grade": state.grade,
        "registered_at": state.registered_at,
        "frozen": state.frozen,
        "under_objection": state.under_objection,
    }
    if state.frozen:
        verdict["warnings"].append("frozen: an arbiter froze this asset during a dispute")
    if state.under_objection:
        verdict["warnings"].append("objected: an objection is open")
    if state.status is AssetStatus.CANCELLED:
        verdict["warnings"].append("cancelled: the registration was cancelled")
    return verdict


SaltOption = Annotated[
    str | None,
    typer.Option(
        "--salt",
        help="The salt of a confidential content hash (0x and 64 hex digits, from the "
        "committed document or a presentation): keccak256(sha256 || salt) is looked up.",
    ),
]


@app.command("verify")
def verify_command(
    target: Annotated[str, typer.Argument(help="A file, a folder, or a content hash.")],
    salt: SaltOption = None,
    gateway: GatewayOption = None,
    rpc_url: RpcOption = None,
    deployments_dir: DeploymentsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Is this file registered, by whom, since when, who holds it, is anything wrong with it?
    The file is hashed here and never sent. Exit 1 if it is neither registered nor anchored in
    a batch. With --salt the file's SHA-256 is looked up as the confidential content hash it
    gives, keccak256(sha256 || salt).

    Example: provledger verify ./huangpu-air-raw --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway, rpc_url=rpc_url, deployments_dir=deployments_dir)

    def run() -> dict[str, Any]:
        salted = None if salt is None else parse_hex(salt, "--salt", SALT_BYTES)
        content, what = target_hash(target)
        sha256 = content
        if salted is not None:
            content = ContentCommitment(sha256, salted).commitment
            what += f" (SHA-256 {hex_bytes(sha256)}, salted)"
        verdict: dict[str, Any]
        if settings.gateway_url is not None and rpc_url is None:
            verdict = gateway_get(
                require_gateway(settings), "/verify", {"hash": hex_bytes(content)}
            )
            verdict["source"] = f"gateway {settings.gateway_url}"
            asset = verdict.get("asset") or {}
            verdict["names"] = party_names(
                require_gateway(settings), (asset.get("registrant"), asset.get("holder"))
            )
        elif settings.rpc_url is not None:
            verdict = verify_on_chain(settings, content)
        else:
            raise InputError("verify asks a gateway (--gateway) or a node (--rpc-url): give one")
        verdict["target"] = what
        if salted is not None:
            verdict["sha256"] = hex_bytes(sha256)
        return verdict

    verdict = guarded(run)
    names = verdict.pop("names", {})
    if as_json:
        print_json(verdict)
    else:
        show_verdict(verdict, names)
    known = verdict["registered"] or verdict.get("batch") is not None
    raise typer.Exit(ExitCode.OK if known else ExitCode.NEGATIVE)


def show_verdict(verdict: dict[str, Any], names: dict[str, str] | None = None) -> None:
    """A verdict in words; accounts by their ``names`` where given, categories by name."""
    asset = verdict.get("asset")
    batch = verdict.get("batch")
    out.print(f"{verdict['target']}: content hash {verdict['content_hash']}", highlight=False)
    if not verdict["registered"] and batch is None:
        out.print(f"[bold red]not registered[/] (asked the {verdict['source']})", highlight=False)
        return
    if asset is None and batch is not None:
        out.print(
            f"[bold green]anchored[/] as leaf {batch.get('position')} of batch {batch.get('root')}",
            highlight=False,
            soft_wrap=True,
        )
    elif asset is not None:
        out.print(f"[bold green]registered[/] as asset {verdict['asset_id']}", highlight=False)
        table = Table(show_header=False, box=None)
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")
        names = names or {}
        for key in ("registrant", "holder", "status", "category", "grade", "registration_number"):
            value = asset.get(key)
            if value is None:
                continue
            shown = str(value)
            if key == "category":
                shown = f"{value} {category_name(int(value))}"
            elif key == "grade":
                shown = grade_words(int(value))
            elif value in names:
                shown = f"{names[value]} {value}"
            table.add_row(key.replace("_", " "), shown)
        table.add_row("registered", when(asset.get("registered_at")))
        out.print(table)
    for warning in verdict.get("warnings", []):
        out.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    out.print(f"(asked the {verdict['source']})", highlight=False)


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


WitnessOption = Annotated[
    list[str] | None,
    typer.Option(
        "--witness",
        help="Address of a witness you trust (repeat for each); co-signatures by others do "
        "not count.",
    ),
]
WitnessesRequiredOption = Annotated[
    int | None,
    typer.Option(
        "--witnesses-required",
        min=0,
        help="How many of the --witness addresses must have co-signed the checkpoint "
        "(default: all of them).",
    ),
]


def witness_policy(witnesses: list[str] | None, required: int | None) -> WitnessPolicy:
    """The policy the flags give: the known witnesses, and how many must have co-signed."""
    known = frozenset(parse_address(text, "--witness") for text in witnesses or ())
    return WitnessPolicy(known, len(known) if required is None else required)


@app.command("verify-proof")
def verify_proof_command(
    bundle: Annotated[
        Path, typer.Argument(help="A proof bundle JSON file (GET /assets/{id}/proof).")
    ],
    rpc_url: RpcOption = None,
    checkpoint_rpc_url: CheckpointRpcOption = None,
    witness: WitnessOption = None,
    witnesses_required: WitnessesRequiredOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-check a proof bundle against a node, with no gateway involved; exit 1 if any check
    fails. A bundle with checkpoint evidence (provledger-proof/2) is also checked against a
    node of the target chain, and its co-signatures against the witnesses you name.

    Example: provledger verify-proof proof.json --rpc-url http://127.0.0.1:8545
    --checkpoint-rpc-url http://127.0.0.1:8546 --witness 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    settings = settings_from(rpc_url=rpc_url, checkpoint_rpc_url=checkpoint_rpc_url)

    def run() -> ProofReport:
        policy = witness_policy(witness, witnesses_required)
        data = read_bundle(bundle)
        url = settings.rpc_url
        if url is None:  # the embedded chain is empty in a new process: nothing to check against
            raise InputError("verify-proof needs a node: give --rpc-url or set PROVLEDGER_RPC_URL")
        target_url = settings.checkpoint_rpc_url
        target = None if target_url is None else rpc_chain(target_url, timeout=settings.rpc_timeout)
        node = rpc_chain(url, timeout=settings.rpc_timeout)
        return verify_proof_bundle(data, node, target=target, policy=policy)

    report = guarded(run)
    if as_json:
        out.print_json(json.dumps(report.to_json()))
    else:
        print_verdict(report, f"proof of asset {report.asset_id}", f" on chain {report.chain_id}")
    raise typer.Exit(ExitCode.OK if report.ok else ExitCode.NEGATIVE)
