"""Registrations signed now and sent later: sign (EIP-712, no gas) and relay (pay the gas)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from provledger.chain.client import Provledger
from provledger.chain.eip712 import signed_from_json, signed_to_json
from provledger.chain.events import AssetRegistered
from provledger.chain.ids import asset_id_hex
from provledger.chain.types import SignedRegistration
from provledger.cli.acts import HOUR, chain_time
from provledger.cli.base import app, out
from provledger.cli.committed import keep_note
from provledger.cli.output import print_json
from provledger.cli.registrant import RegistrationPlan, registration_options
from provledger.cli.session import MAX_DAYS, ChainRun, chain_command
from provledger.errors import InputError
from provledger.jsondoc import read_json_file


@chain_command(app, "sign", blobs=True)
@registration_options
def sign_command(
    run: ChainRun,
    plan: RegistrationPlan,
    hours: Annotated[
        int,
        typer.Option(
            "--valid-hours", min=1, max=MAX_DAYS * 24, help="Hours until the signature expires."
        ),
    ] = 24,
    nonce: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=2**256 - 1,
            help="Registry nonce to sign with [default: the account's next one].",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the signed registration here.")
    ] = None,
) -> None:
    """Sign a registration (EIP-712) without sending it: anyone can relay it, the signer
    stays the registrant and pays no gas.

    Example: provledger sign ./data.csv --category 301 -o signed.json --keystore 0x9965…A4dc
    """
    ledger = run.ledger()
    assert ledger.account is not None
    registration = plan.prepare(run.settings)
    deadline = chain_time(ledger) + hours * HOUR
    signed = ledger.registry.sign(registration, ledger.account, deadline=deadline, nonce=nonce)
    data = signed_to_json(
        signed, chain_id=ledger.deployment.chain_id, registry=ledger.registry.address
    )
    if output is None:
        print_json(data)
    else:
        output.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        if run.as_json:
            print_json(data)
        else:
            out.print(
                f"signed registration of {plan.path} by {signed.registrant} "
                f"(nonce {signed.nonce}) written to {output}{plan.committed_words}",
                highlight=False,
            )
    if plan.document_out is not None:
        keep_note(plan.document_out)


def read_signed(path: Path, ledger: Provledger) -> SignedRegistration:
    """A signed registration document, checked to be for this chain and registry."""
    try:
        data = read_json_file(path)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    try:
        signed, chain_id, registry = signed_from_json(data)
    except InputError as error:
        raise InputError(f"{path}: {error}") from None
    if (chain_id, registry) != (ledger.deployment.chain_id, ledger.registry.address):
        raise InputError(
            f"{path} is signed for registry {registry} on chain {chain_id}, not this deployment"
        )
    return signed


@chain_command(app, "relay")
def relay_command(
    run: ChainRun,
    files: Annotated[list[Path], typer.Argument(help="Signed registrations (provledger sign).")],
) -> None:
    """Submit signed registrations, paying their gas; each registrant stays the registrant.

    Example: provledger relay signed.json --dev-account 9
    """
    ledger = run.ledger()
    signed = [read_signed(path, ledger) for path in files]
    if len(signed) == 1:
        receipt = ledger.registry.register_with_signature(signed[0])
    else:
        receipt = ledger.registry.register_many_with_signatures(signed)
    assets = [asset_id_hex(event.asset_id) for event in receipt.events_of(AssetRegistered)]
    run.show(
        receipt,
        f"relayed {len(signed)} signed registration(s): {', '.join(assets)}",
        asset_ids=assets,
    )
