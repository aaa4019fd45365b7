"""Verifier and operator queries: verify, history, lineage, proof, status.

They ask a gateway (``--gateway`` / ``PROVLEDGER_GATEWAY_URL``); ``verify`` can instead ask a
node directly (``--rpc-url``), with no gateway involved. A file is always hashed here: it is
never sent anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Final

import requests
import typer
from eth_utils.address import is_address
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from provledger.categories import category_name, grade_words
from provledger.chain.enums import AssetStatus
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.chain.serialize import hex_bytes
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
from provledger.cli.registrant import hash_input
from provledger.cli.session import (
    CurrencyBook,
    DeploymentsOption,
    open_ledger,
    parse_asset,
    print_json,
    readable_args,
)
from provledger.config import Settings
from provledger.errors import InputError, ServiceUnavailable
from provledger.hashing import parse_hash32
from provledger.jsondoc import JsonDocumentError, parse_json
from provledger.units import format_time

GatewayOption = Annotated[
    str | None,
    typer.Option("--gateway", help="Gateway URL [env PROVLEDGER_GATEWAY_URL]."),
]
#: Pages fetched at most when a command follows cursors (1,000 items each).
MAX_PAGES: Final = 100
TIMEOUT_SECONDS: Final = 30.0
#: The largest answer read from a gateway (a page of 1,000 events is about 2 MiB).
ANSWER_MAX_BYTES: Final = 64 << 20


class GatewayUnavailable(ServiceUnavailable):
    """The gateway cannot be reached or answered with a server error."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(f"cannot reach the gateway at {url}: {reason}")


class GatewayRefused(InputError):
    """The gateway answered 4xx; the message is its problem detail."""


def require_gateway(settings: Settings) -> str:
    """The gateway URL, without a trailing slash."""
    if settings.gateway_url is None:
        raise InputError(
            "this command asks a gateway: give --gateway or set PROVLEDGER_GATEWAY_URL"
        )
    return settings.gateway_url.rstrip("/")


def gateway_get(base: str, path: str, params: dict[str, Any] | None = None) -> Any:
    """GET ``path`` of the gateway and return its JSON; 4xx and 5xx become one-line errors."""
    try:
        response = requests.get(base + path, params=params, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as error:
        reason = (
            "connection refused or host unreachable"
            if isinstance(error, requests.ConnectionError)
            else str(error) or type(error).__name__
        )
        raise GatewayUnavailable(base, reason) from None
    if response.status_code >= 500:
        raise GatewayUnavailable(base, f"{path} answered {response.status_code}")
    if response.status_code >= 400:
        try:
            problem = parse_json(response.content, what=path, max_bytes=ANSWER_MAX_BYTES)
            detail = problem.get("detail") or problem.get("title")
        except (JsonDocumentError, AttributeError):
            detail = response.text[:200]
        raise GatewayRefused(f"the gateway refused {path}: {detail}")
    try:
        return parse_json(response.content, what=path, max_bytes=ANSWER_MAX_BYTES)
    except JsonDocumentError as error:
        raise GatewayUnavailable(base, f"its answer to {error}") from None


def gateway_pages(
    base: str, path: str, limit: int = 1000, query: dict[str, Any] | None = None
) -> list[Any]:
    """Every item of a paginated list (with the filters of ``query``), following its cursors."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {**(query or {}), "limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page = gateway_get(base, path, params)
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    return items


def brief(value: Any) -> str:
    """A value for a human table: long hex (hashes, ids) as ``0x1234abcd…9f8e``; --json has
    them whole."""
    text = str(value)
    if text.startswith("0x") and len(text) > 42:
        return f"{text[:10]}…{text[-4:]}"
    return text


def when(timestamp: int | None) -> str:
    """A unix time for a table: ISO 8601 with the zone and how far away it is,
    ``2026-12-06T07:30:00+00:00 (in 2 min)``; ``-`` for none. --json keeps the number."""
    if timestamp is None:
        return "-"
    return format_time(int(timestamp))


# ------------------------------------------------------------------ verify
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


@app.command("verify")
def verify_command(
    target: Annotated[str, typer.Argument(help="A file, a folder, or a content hash.")],
    gateway: GatewayOption = None,
    rpc_url: RpcOption = None,
    deployments_dir: DeploymentsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Is this file registered, by whom, since when, who holds it, is anything wrong with it?
    The file is hashed here and never sent. Exit 1 if it is neither registered nor anchored in
    a batch.

    Example: provledger verify ./huangpu-air-raw --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway, rpc_url=rpc_url, deployments_dir=deployments_dir)

    def run() -> dict[str, Any]:
        content, what = target_hash(target)
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
        return verdict

    verdict = guarded(run)
    names = verdict.pop("names", {})
    if as_json:
        print_json(verdict)
    else:
        show_verdict(verdict, names)
    known = verdict["registered"] or verdict.get("batch") is not None
    raise typer.Exit(EXIT_OK if known else EXIT_NEGATIVE)


def party_names(base: str, accounts: Iterable[Any]) -> dict[str, str]:
    """The names of those of ``accounts`` (addresses; other values are passed over) that the
    gateway knows as named participants, as ``Name (CN)``, by address."""
    names: dict[str, str] = {}
    for address in dict.fromkeys(accounts):
        if not (isinstance(address, str) and is_address(address)) or int(address, 16) == 0:
            continue
        try:
            party = gateway_get(base, f"/participants/{address}")
        except GatewayRefused:  # not a participant
            continue
        if party.get("name"):
            names[address] = f"{party['name']} ({party['jurisdiction']})"
    return names


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


# ------------------------------------------------------------------ history, lineage, proof
@app.command("history")
def history_command(
    asset: Annotated[str, typer.Argument(help="Asset id.")],
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
        raise typer.Exit(EXIT_OK)
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
    raise typer.Exit(EXIT_OK)


def _named(value: Any, names: dict[str, str]) -> str:
    """An event argument for people: an account by its name (``Name (CN) 0x9965…A4dc``),
    long hex shortened (:func:`brief`)."""
    if isinstance(value, str) and value in names:
        return f"{names[value]} {value[:6]}…{value[-4:]}"
    return brief(value)


@app.command("lineage")
def lineage_command(
    asset: Annotated[str, typer.Argument(help="Asset id.")],
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
        raise typer.Exit(EXIT_OK)
    out.print(lineage_tree(view))
    raise typer.Exit(EXIT_OK)


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
    asset: Annotated[str, typer.Argument(help="Asset id.")],
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

    guarded(run)
    raise typer.Exit(EXIT_OK)


@app.command("status")
def status_command(gateway: GatewayOption = None, as_json: JsonOption = False) -> None:
    """Chain head, indexed block, lag and finality settings, as the gateway sees them.

    Example: provledger status --gateway http://127.0.0.1:8000
    """
    settings = settings_from(gateway_url=gateway)
    status = guarded(lambda: gateway_get(require_gateway(settings), "/status"))
    if as_json:
        print_json(status)
        raise typer.Exit(EXIT_OK)
    table = Table(show_header=False, box=None)
    for key, value in status.items():
        shown = when(value) if key.endswith("_at") else "-" if value is None else str(value)
        table.add_row(key.replace("_", " "), shown)
    out.print(table)
    raise typer.Exit(EXIT_OK)
