"""Queries of a gateway's index: history, lineage, proof, status (``--gateway`` /
``PROVLEDGER_GATEWAY_URL``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_utils.address import is_address
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from provledger.chain.ids import asset_id_hex
from provledger.cli.arguments import AssetArgument, parse_asset
from provledger.cli.base import ExitCode, JsonOption, app, complete, guarded, out, settings_from
from provledger.cli.gateway import (
    GatewayOption,
    gateway_get,
    gateway_pages,
    party_names,
    require_gateway,
)
from provledger.cli.output import CurrencyBook, brief, print_json, readable_args, when
from provledger.errors import InputError


@app.command("history")
def history_command(
    asset: AssetArgument,
    raw: Annotated[
        bool, typer.Option("--raw", help="Amounts as integers in their smallest unit.")
    ] = False,
    gateway: GatewayOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every event of an asset in chain order, with block, time, transaction and finality.
    Times are ISO 8601; amounts are in ETH, an appraisal's currency, or a token's symbol when
    a node is set (PROVLEDGER_RPC_URL) to read it from.

    Example: provledger history 0x5f…e1 --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway)

    def run() -> list[Any]:
        target = asset_id_hex(parse_asset(asset))
        return gateway_pages(require_gateway(settings), f"/assets/{target}/history")

    events = guarded(run)
    if as_json:
        print_json(events)
        raise typer.Exit(ExitCode.OK)
    book = CurrencyBook.of(settings)
    base = require_gateway(settings)
    names = guarded(
        lambda: party_names(base, (value for event in events for value in event["args"].values()))
    )
    for event in events:
        args = event["args"]
        token = args.get("currency")
        if isinstance(token, str) and is_address(token):
            book(token)
        shown = readable_args(args, book.known, raw=raw)
        details = ", ".join(
            f"{key}={_named(value, names)}" for key, value in shown.items() if key != "asset_id"
        )
        out.print(
            f"[bold]{event['event']}[/] · block {event['block_number']} · "
            f"{when(event['block_time'])} · {event['finality']}",
            highlight=False,
        )
        out.print(Padding(Text(details), (0, 0, 0, 2)), highlight=False)
    raise typer.Exit(ExitCode.OK)


def _named(value: Any, names: dict[str, str]) -> str:
    """An event argument for people: an account by its name (``Name (CN) 0x9965…A4dc``),
    long hex shortened (:func:`brief`)."""
    if isinstance(value, str) and value in names:
        return f"{names[value]} {value[:6]}…{value[-4:]}"
    return brief(value)


@app.command("lineage")
def lineage_command(
    asset: AssetArgument,
    depth: Annotated[int, typer.Option(min=1, max=32, help="How many generations.")] = 3,
    direction: Annotated[str, typer.Option(help="up (ancestors), down or both.")] = "both",
    gateway: GatewayOption = None,
    as_json: JsonOption = False,
) -> None:
    """An asset's ancestors and descendants with relation kinds, as a tree.

    Example: provledger lineage 0x5f…e1 --depth 5 --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway)

    def run() -> Any:
        if direction not in ("up", "down", "both"):
            raise InputError(f"--direction {direction!r} is not up, down or both")
        target = asset_id_hex(parse_asset(asset))
        return gateway_get(
            require_gateway(settings),
            f"/assets/{target}/lineage",
            {"depth": depth, "direction": direction},
        )

    view = guarded(run)
    if as_json:
        print_json(view)
        raise typer.Exit(ExitCode.OK)
    out.print(lineage_tree(view))
    raise typer.Exit(ExitCode.OK)


def lineage_tree(view: dict[str, Any]) -> Tree:
    """The lineage as two trees under the root: parents (up) and children (down)."""
    root = view["root"]
    nodes = {node["asset_id"]: node for node in view["nodes"]}
    parents: dict[str, list[dict[str, Any]]] = {}
    children: dict[str, list[dict[str, Any]]] = {}
    for edge in view["edges"]:
        parents.setdefault(edge["child_id"], []).append(edge)
        children.setdefault(edge["parent_id"], []).append(edge)

    def label(asset: str, relation: str | None = None) -> str:
        node = nodes.get(asset, {})
        status = node.get("status") or "not indexed"
        prefix = f"{relation.lower().replace('_', ' ')}: " if relation else ""
        return f"{prefix}{asset} ({status.lower()})"

    tree = Tree(label(root))

    def grow(branch: Tree, asset: str, links: dict[str, list[dict[str, Any]]], key: str) -> None:
        for edge in links.get(asset, []):
            other = edge[key]
            if other in seen:
                continue
            seen.add(other)
            grow(branch.add(label(other, edge["relation"])), other, links, key)

    seen = {root}
    grow(tree.add("ancestors") if root in parents else tree, root, parents, "parent_id")
    seen = {root}
    grow(tree.add("descendants") if root in children else tree, root, children, "child_id")
    return tree


@app.command("proof")
def proof_command(
    asset: AssetArgument,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the proof bundle (JSON).")
    ] = Path("proof.json"),
    gateway: GatewayOption = None,
) -> None:
    """Fetch an asset's proof bundle; check it later with `provledger verify-proof`.

    Example: provledger proof 0x5f…e1 -o bundle.json --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway)

    def run() -> None:
        target = asset_id_hex(parse_asset(asset))
        bundle = gateway_get(require_gateway(settings), f"/assets/{target}/proof")
        output.write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")
        out.print(f"proof bundle of {target} written to {output}", highlight=False)

    complete(run)


@app.command("status")
def status_command(gateway: GatewayOption = None, as_json: JsonOption = False) -> None:
    """Chain head, indexed block, lag and finality settings, as the gateway sees them.

    Example: provledger status --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway)
    status = guarded(lambda: gateway_get(require_gateway(settings), "/status"))
    if as_json:
        print_json(status)
        raise typer.Exit(ExitCode.OK)
    table = Table(show_header=False, box=None)
    for key, value in status.items():
        shown = when(value) if key.endswith("_at") else "-" if value is None else str(value)
        table.add_row(key.replace("_", " "), shown)
    out.print(table)
    raise typer.Exit(ExitCode.OK)
