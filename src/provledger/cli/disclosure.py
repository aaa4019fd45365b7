"""Disclosure commands: disclose (chosen fields of a committed registration, as a presentation
anyone can check) and verify-disclosure (check one against a node, with no gateway).

A presentation (``provledger-disclosure/1``, :class:`~provledger.commitments.Presentation`)
names the chain, the registry and the asset; its disclosed fields carry their salts and a
multiproof to the root the asset anchors as its metadata hash. Exit codes: a presentation or a
committed document that does not read, or is not the asset's, exits 1 with the part named, as
a presentation that fails a check does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from provledger.chain.client import Provledger
from provledger.chain.ids import asset_id_hex
from provledger.cli.arguments import AssetArgument, parse_asset
from provledger.cli.base import ExitCode, app, fail, out
from provledger.cli.committed import (
    check_content,
    commitment_on_chain,
    read_committed,
    read_document,
)
from provledger.cli.data import room_gateway, signature_deadline, signing_account
from provledger.cli.gateway import GatewayOption, gateway_request
from provledger.cli.output import print_json, print_verdict
from provledger.cli.session import ChainRun, chain_command
from provledger.commitments import Presentation
from provledger.errors import InputError
from provledger.params import to_hex32
from provledger.services.delivery.requests import SIGNATURE_HEADER, Domain, sign_disclosure
from provledger.services.disclosure import DisclosureVerdict, verify_presentation

DocumentOption = Annotated[
    Path,
    typer.Option(
        "--document", help="The committed metadata document (register --committed wrote it)."
    ),
]
OutputOption = Annotated[
    Path, typer.Option("--output", "-o", help="Where to write the presentation (JSON).")
]
FieldsOption = Annotated[
    str | None,
    typer.Option(
        "--fields",
        metavar="NAME,...",
        help="The fields to disclose, by name, comma-separated; the others stay withheld "
        "[default: none, which proves the root alone].",
    ),
]
ContentOption = Annotated[
    bool,
    typer.Option(
        "--content",
        help="Disclose the content hash too (its SHA-256 and salt), of a registration whose "
        "content hash is confidential.",
    ),
]
PublishOption = Annotated[
    bool,
    typer.Option(
        "--publish",
        help="Also post the presentation to the gateway, signed as the asset's holder: it then "
        "shows the disclosed fields on the asset and finds it by a disclosed title.",
    ),
]


def field_names(fields: str | None) -> list[str]:
    """The names of ``--fields``: comma-separated, spaces around them dropped."""
    return [name.strip() for name in (fields or "").split(",") if name.strip()]


@chain_command(app, "disclose")
def disclose_command(
    run: ChainRun,
    asset: AssetArgument,
    document: DocumentOption,
    output: OutputOption,
    fields: FieldsOption = None,
    content: ContentOption = False,
    publish: PublishOption = False,
    gateway: GatewayOption = None,
) -> None:
    """Disclose chosen fields of an asset's committed metadata: write a presentation (the
    fields with their salts and a multiproof to the root on chain) that anyone checks with
    provledger verify-disclosure. The document is first checked to be the asset's: its root is
    the asset's metadata hash on chain (exit 1 if not). The signing account is needed only to
    --publish, as the asset's holder.

    Example: provledger disclose 0x5f…e1 --document data.csv.committed.json --fields
    title,category -o disclosure.json
    """
    target = parse_asset(asset)
    names = field_names(fields)
    if gateway is not None and not publish:
        raise InputError("--gateway is for --publish")
    base = room_gateway(run.settings, gateway) if publish else None
    committed = read_document(document)
    ledger = run.ledger(sign=publish)
    record = commitment_on_chain(ledger, target, run.settings.max_block_range)
    if record.metadata_hash != committed.root:
        fail(
            f"committed document {document}: root {to_hex32(committed.root)} is not asset "
            f"{asset_id_hex(target)}'s metadata hash {to_hex32(record.metadata_hash)}: the "
            "document is another asset's, or not its newest revision",
            ExitCode.NEGATIVE,
        )
    check_content(committed, document, record)
    presentation = committed.present(
        names,
        chain_id=ledger.deployment.chain_id,
        registry=ledger.registry.address,
        asset_id=target,
        content=content,
    )
    data = presentation.to_json()
    output.write_bytes(data)
    published = None if base is None else publish_presentation(ledger, base, target, data)
    shown = [field.name for field in presentation.own_fields]
    if run.as_json:
        print_json(
            {
                "asset_id": asset_id_hex(target),
                "output": str(output),
                "root": to_hex32(presentation.root),
                "disclosed": shown,
                "withheld": list(presentation.withheld),
                "content": presentation.content is not None,
                "published": published,
            }
        )
        return
    out.print(
        f"presentation of asset {asset_id_hex(target)} written to {output}: disclosed "
        f"{', '.join(shown) or 'no field'}{' and the content hash' if content else ''}; "
        f"withheld {', '.join(presentation.withheld) or 'no field'}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if published is not None:
        out.print(
            f"published at {base}: the asset shows {len(published.get('fields', []))} "
            "disclosed field(s)",
            highlight=False,
            soft_wrap=True,
        )


def publish_presentation(ledger: Provledger, base: str, asset: int, data: bytes) -> Any:
    """POST the presentation ``data`` to the disclosures of ``asset`` on the gateway ``base``,
    signed by the command's account (the holder); the gateway's view of the asset's
    disclosure."""
    header = sign_disclosure(
        signing_account(ledger),
        Domain.of(ledger),
        asset,
        data,
        deadline=signature_deadline(ledger)(),
    )
    response = gateway_request(
        "POST",
        base,
        f"/assets/{asset_id_hex(asset)}/disclosures",
        data=data,
        headers={SIGNATURE_HEADER: header, "Content-Type": "application/json"},
    )
    return response.json()


def verdict_json(verdict: DisclosureVerdict) -> dict[str, Any]:
    """A disclosure's verdict as JSON: its checks, and what it discloses and withholds."""
    presentation = verdict.presentation
    content = presentation.content
    return {
        "ok": verdict.ok,
        "asset_id": presentation.asset_hex,
        "chain_id": presentation.chain_id,
        "registry": presentation.registry,
        "root": to_hex32(presentation.root),
        "disclosed": {field.name: field.value for field in presentation.own_fields},
        "withheld": list(presentation.withheld),
        "content": None if content is None else content.to_json(),
        "checks": verdict.checks_json(),
    }


def show_disclosed(verdict: DisclosureVerdict) -> None:
    """The disclosed fields as ``name = value`` (the value's JSON), and the withheld names."""
    presentation = verdict.presentation
    proved = "proved against the on-chain commitment" if verdict.ok else "NOT proved"
    out.print(f"disclosed fields ({proved}):", highlight=False)
    for field in presentation.own_fields:
        value = json.dumps(field.value, ensure_ascii=False)
        out.print(f"  {field.name} = {value}", highlight=False, markup=False, soft_wrap=True)
    if not presentation.own_fields:
        out.print("  none", highlight=False)
    if presentation.content is not None:
        out.print(
            f"  content SHA-256 = {to_hex32(presentation.content.sha256)} "
            f"(salt {to_hex32(presentation.content.salt)})",
            highlight=False,
            soft_wrap=True,
        )
    withheld = ", ".join(presentation.withheld) or "none"
    out.print(f"withheld: {withheld}", highlight=False, markup=False, soft_wrap=True)


@chain_command(app, "verify-disclosure", sign=False)
def verify_disclosure_command(
    run: ChainRun,
    presentation: Annotated[
        Path,
        typer.Argument(help="A presentation (provledger disclose, GET /assets/{id}/presentation)."),
    ],
) -> None:
    """Check a presentation of disclosed fields against a node, with no gateway: the node's
    chain, the trusted registry of the deployment, the asset's commitment kind, the multiproof
    from the fields to the root, the root as the asset's metadata hash (and a disclosed content
    hash against the registered one); exit 1 if any check fails or the presentation does not
    read.

    Example: provledger verify-disclosure disclosure.json --rpc-url http://127.0.0.1:8545
    """
    parsed = read_committed(presentation, "presentation", Presentation.parse)
    ledger = run.ledger(sign=False)
    ledger.w3.eth.get_block_number()  # a node that cannot tell its head gives no verdict
    verdict = verify_presentation(
        parsed,
        ledger.w3,
        ledger.registry.address,
        ledger.deployment.block_number,
        run.settings.max_block_range,
    )
    if run.as_json:
        print_json(verdict_json(verdict))
    else:
        print_verdict(
            verdict, f"disclosure of asset {parsed.asset_hex}", f" on chain {parsed.chain_id}"
        )
        show_disclosed(verdict)
    raise typer.Exit(ExitCode.OK if verdict.ok else ExitCode.NEGATIVE)
