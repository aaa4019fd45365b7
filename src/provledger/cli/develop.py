"""Developer and operator commands: compile, deploy, demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from provledger.chain.accounts import require_dev_chain, resolve_signer
from provledger.chain.connection import connect, is_embedded
from provledger.chain.deploy import (
    DEFAULT_NOTICE_PERIOD,
    deploy,
    dev_role_grants,
    parse_role_grants,
)
from provledger.cli.base import EXIT_OK, JsonOption, RpcOption, app, guarded, out, settings_from
from provledger.cli.session import MAX_DAYS


@app.command("compile")
def compile_command(
    check: Annotated[
        bool, typer.Option("--check", help="Recompile in memory; exit 1 if artifacts drifted.")
    ] = False,
) -> None:
    """Compile contracts/ with the pinned solc into src/provledger/artifacts/.

    Example: provledger compile --check
    """
    from provledger.toolchain.compiler import run_compile

    raise typer.Exit(run_compile(check=check))


@app.command("deploy")
def deploy_command(
    rpc_url: RpcOption = None,
    keystore: Annotated[
        Path | None, typer.Option(help="Encrypted keystore of the deployer.")
    ] = None,
    password_file: Annotated[
        Path | None, typer.Option(help="File with the keystore password (else prompted).")
    ] = None,
    dev_account_index: Annotated[
        int | None,
        typer.Option("--dev-account", help="Deploy with well-known dev key N (dev chains only)."),
    ] = None,
    grant: Annotated[
        list[str] | None,
        typer.Option(
            help="ROLE=ADDRESS to grant (registrar, appraiser, arbiter, export-approver, admin); "
            "repeatable."
        ),
    ] = None,
    dev_roles: Annotated[
        bool,
        typer.Option(help="Grant the authority roles to dev accounts 1-4 (dev chains only)."),
    ] = False,
    admin: Annotated[
        str | None,
        typer.Option(help="Hand DEFAULT_ADMIN_ROLE to this address; the deployer renounces it."),
    ] = None,
    notice_period: Annotated[
        int, typer.Option(min=0, max=MAX_DAYS * 86_400, help="Public notice period in seconds.")
    ] = DEFAULT_NOTICE_PERIOD,
    deployments_dir: Annotated[
        Path | None, typer.Option(help="Where to write <chain-id>.json [default: deployments].")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy every contract, wire them, grant roles and write deployments/<chain-id>.json.

    Example: provledger deploy --rpc-url http://127.0.0.1:8545 --dev-account 0 --dev-roles
    """
    settings = settings_from(
        rpc_url=rpc_url,
        keystore=keystore,
        password_file=password_file,
        dev_account=dev_account_index,
        deployments_dir=deployments_dir,
    )

    def run() -> None:
        grants = parse_role_grants(grant or [])
        w3 = connect(settings.rpc_url)
        chain_id = int(w3.eth.chain_id)
        signer = resolve_signer(
            chain_id=chain_id,
            embedded=is_embedded(w3),
            keystore=settings.keystore,
            password_file=settings.password_file,
            dev_index=settings.dev_account,
            prompt_password=lambda text: str(typer.prompt(text, hide_input=True)),
        )
        if dev_roles:
            require_dev_chain(chain_id)
            grants.extend(dev_role_grants())
        report = (lambda _: None) if as_json else (lambda line: out.print(line, highlight=False))
        deployment = deploy(
            w3,
            signer,
            notice_period=notice_period,
            grants=grants,
            admin=None if admin is None else w3.to_checksum_address(admin),
            progress=report,
        )
        path = deployment.save(settings.deployments_dir)
        if as_json:
            out.print_json(json.dumps(deployment.to_json()))
            return
        table = Table("contract", "address", "block", title=f"chain {chain_id}")
        for name, item in deployment.contracts.items():
            table.add_row(name, item.address, str(item.block_number))
        out.print(table)
        out.print(f"deployment written to {path}")
        if is_embedded(w3):
            out.print(
                "note: the embedded chain lives only inside this command; use --rpc-url "
                "(e.g. a local anvil) for a deployment that lasts"
            )

    guarded(run)
    raise typer.Exit(EXIT_OK)
