"""Developer and operator commands: compile, deploy, demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from provledger.chain.accounts import require_dev_chain, resolve_signer
from provledger.chain.artifacts import (
    DEFAULT_EVM_VERSION,
    EVM_VERSIONS,
    check_evm_version,
)
from provledger.chain.connection import rpc_chain
from provledger.chain.deploy import (
    DEFAULT_NOTICE_PERIOD,
    deploy,
    dev_role_grants,
    parse_role_grants,
)
from provledger.chain.deployments import refuse_recorded, set_aside
from provledger.chain.probe import choose_evm_version
from provledger.cli.base import JsonOption, app, complete, err, out, settings_from
from provledger.cli.session import MAX_DAYS, prompt_secret
from provledger.config import mask_url
from provledger.errors import ConfigurationError


class NoNodeToDeployToError(ConfigurationError):
    """``deploy`` was given no node: the embedded chain would end with the command, and the
    record written would name contracts that no longer exist."""

    template = (
        "deploy needs a node: give --rpc-url URL or set PROVLEDGER_RPC_URL "
        "(`provledger chain` starts a local one)"
    )


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
    rpc_url: Annotated[
        str | None,
        typer.Option(
            "--rpc-url",
            help="JSON-RPC URL of the chain to deploy to [env PROVLEDGER_RPC_URL]; required "
            "(`provledger chain` starts a local one).",
        ),
    ] = None,
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
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Deploy even though the chain has a record; the old record is kept beside the "
            "new one as <chain-id>.json.replaced-<time>.",
        ),
    ] = False,
    evm_version: Annotated[
        str,
        typer.Option(
            "--evm-version",
            help=f"Which build to deploy: {', '.join(EVM_VERSIONS)} (for nodes without cancun), "
            "or auto: the newest the node runs. The node is probed first either way.",
        ),
    ] = DEFAULT_EVM_VERSION,
    as_json: JsonOption = False,
) -> None:
    """Deploy every contract, wire them, grant roles and write deployments/<chain-id>.json.
    Refuses (exit 2) without a node, a node whose EVM lacks what the build needs, and a chain
    whose record exists unless --replace.

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
        requested = evm_version if evm_version == "auto" else check_evm_version(evm_version)
        if settings.rpc_url is None:
            raise NoNodeToDeployToError()
        w3 = rpc_chain(settings.rpc_url, timeout=settings.rpc_timeout)
        chain_id = int(w3.eth.chain_id)
        if not replace:  # before any key is asked for or any gas spent
            refuse_recorded(settings.deployments_dir, chain_id)
        chosen = choose_evm_version(w3, mask_url(settings.rpc_url), requested)
        if requested == "auto":
            err.print(f"the node runs {chosen}: deploying the {chosen} build", highlight=False)
        signer = resolve_signer(
            chain_id=chain_id,
            embedded=False,
            keystore=settings.keystore,
            password_file=settings.password_file,
            dev_index=settings.dev_account,
            prompt_password=prompt_secret,
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
            evm_version=chosen,
        )
        kept = set_aside(settings.deployments_dir, chain_id)  # never overwrite a record
        path = deployment.save(settings.deployments_dir)
        if as_json:
            out.print_json(json.dumps(deployment.to_json()))
            return
        table = Table("contract", "address", "block", title=f"chain {chain_id}")
        for name, item in deployment.contracts.items():
            table.add_row(name, item.address, str(item.block_number))
        out.print(table)
        out.print(f"deployment written to {path}", highlight=False, soft_wrap=True)
        if kept is not None:
            out.print(f"the previous record is kept as {kept}", highlight=False, soft_wrap=True)

    complete(run)


@app.command("graphql-schema")
def graphql_schema_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write it to FILE (else print it).")
    ] = None,
) -> None:
    """Print the gateway's GraphQL schema (SDL), as served at /graphql.

    Example: provledger graphql-schema -o docs/schema.graphql
    """
    from provledger.api.graphql.build import build_schema

    text = build_schema().as_str() + "\n"
    if output is None:
        out.print(text, end="", markup=False, highlight=False, soft_wrap=True)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote the GraphQL schema to {output}")
