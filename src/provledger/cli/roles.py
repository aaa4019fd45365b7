"""Admin and registrar commands: who holds the authority roles, and the participants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from provledger.chain import events
from provledger.chain.client import Provledger, RegistryClient
from provledger.chain.deploy import AUTHORITY_ROLES
from provledger.chain.ids import role_id
from provledger.chain.transactions import Receipt
from provledger.cli.acts import ReasonOption, kept_text, text_hash
from provledger.cli.arguments import parse_address
from provledger.cli.base import command_group
from provledger.cli.output import print_table
from provledger.cli.session import ChainRun, address_argument, chain_command
from provledger.errors import InputError

roles_app = command_group("roles", "Admin: authority roles.")
participants_app = command_group("participants", "Registrar: participants.")


def registry_events(ledger: Provledger, *kinds: type[events.Event]) -> list[events.Event]:
    """Every event of ``kinds`` the registry emitted since its deployment, in chain order."""
    address = ledger.deployment.address("DataAssetRegistry")
    logs = ledger.w3.eth.get_logs(
        {
            "address": address,
            "fromBlock": ledger.deployment.block_number,
            "toBlock": "latest",
            "topics": [["0x" + kind.TOPIC0.hex() for kind in kinds]],
        }
    )
    return [
        events.DECODERS[bytes(log["topics"][0])](
            [bytes(topic) for topic in log["topics"]], bytes(log["data"])
        )
        for log in logs
    ]


def role_name(text: str) -> str:
    """The contract's role name of ``registrar``, ``export-approver``, ``admin``…"""
    key = text.strip().lower().replace("_", "-")
    if key not in AUTHORITY_ROLES:
        raise InputError(f"role {text!r} is not one of: {', '.join(AUTHORITY_ROLES)}")
    return AUTHORITY_ROLES[key]


RoleArgument = Annotated[
    str, typer.Argument(help="admin, registrar, appraiser, arbiter or export-approver.")
]
AccountArgument = Annotated[str, address_argument("account")]


def role_holders(ledger: Provledger) -> dict[str, list[str]]:
    """Who holds each authority role now, by the registry's role events."""
    names = {role_id(name): name for name in AUTHORITY_ROLES.values()}
    held: dict[str, list[str]] = {name: [] for name in AUTHORITY_ROLES.values()}
    for event in registry_events(ledger, events.RoleGranted, events.RoleRevoked):
        assert isinstance(event, events.RoleGranted | events.RoleRevoked)
        name = names.get(event.role)
        if name is None:
            continue  # a module role (OFFICE_ROLE, …), held by contracts
        holders = held[name]
        if isinstance(event, events.RoleGranted) and event.account not in holders:
            holders.append(event.account)
        elif isinstance(event, events.RoleRevoked) and event.account in holders:
            holders.remove(event.account)
    return held


def role_change_command(
    verb: str, change: Callable[[RegistryClient, str, str], Receipt], done: str
) -> None:
    """Register ``roles VERB``, the twin of grant and revoke: ``change`` an account's authority
    role (admin only), then say the role was ``done`` (``granted to``) the account."""

    def command(run: ChainRun, role: RoleArgument, account: AccountArgument) -> None:
        name, target = role_name(role), parse_address(account, "account")
        receipt = change(run.ledger().registry, name, target)
        run.show(receipt, f"{name} {done} {target}")

    command.__name__ = command.__qualname__ = f"roles_{verb}_command"
    command.__doc__ = (
        f"{verb.capitalize()} an authority role (admin only).\n\n"
        f"Example: provledger roles {verb} registrar 0x7099…79C8 --dev-account 0"
    )
    chain_command(roles_app, verb)(command)


role_change_command("grant", RegistryClient.grant_role, "granted to")
role_change_command("revoke", RegistryClient.revoke_role, "revoked from")


@chain_command(roles_app, "list", sign=False)
def roles_list_command(run: ChainRun) -> None:
    """List who holds each authority role now (from the registry's role events).

    Example: provledger roles list --json
    """
    held = role_holders(run.ledger(sign=False))
    rows = ((name, "\n".join(holders) or "-") for name, holders in held.items())
    print_table(held, run.as_json, ("role", "holders"), rows)


@chain_command(participants_app, "add", blobs=True)
def participants_add_command(
    run: ChainRun,
    account: AccountArgument,
    jurisdiction: Annotated[str, typer.Option(help="ISO 3166 country code, e.g. CN.")],
    name: Annotated[
        str | None,
        typer.Option(
            help="The participant's name: its SHA-256 is recorded, the text kept in the blob "
            "folder for the index and the pages."
        ),
    ] = None,
) -> None:
    """Register an account as an active participant in a jurisdiction (registrar).

    Example: provledger participants add 0x9965…A4dc --jurisdiction CN --name "Pudong Sensor
    Networks Co." --dev-account 1
    """
    target = parse_address(account, "account")
    receipt = run.ledger().registry.register_participant(
        target, jurisdiction.strip().upper(), kept_text(run.settings, name)
    )
    run.show(receipt, f"{target} is a participant in {jurisdiction.upper()}")


@chain_command(participants_app, "suspend")
def participants_suspend_command(
    run: ChainRun,
    account: AccountArgument,
    reason: ReasonOption = None,
) -> None:
    """Suspend a participant: it can no longer register or receive assets (registrar).

    Example: provledger participants suspend 0x9965…A4dc --reason "licence lapsed" --dev-account 1
    """
    target = parse_address(account, "account")
    receipt = run.ledger().registry.suspend_participant(target, text_hash(reason))
    run.show(receipt, f"{target} suspended")


def participant_rows(ledger: Provledger) -> list[dict[str, Any]]:
    """Every participant the registry's events name, with its jurisdiction and status now."""
    accounts: dict[str, None] = {}
    kinds = (
        events.ParticipantRegistered,
        events.ParticipantSuspended,
        events.ParticipantReinstated,
    )
    for event in registry_events(ledger, *kinds):
        assert isinstance(event, kinds)
        accounts.setdefault(event.account, None)
    rows: list[dict[str, Any]] = []
    for account in accounts:
        state = ledger.registry.participant(account)
        rows.append(
            {
                "account": account,
                "jurisdiction": state.jurisdiction,
                "status": state.status.name,
            }
        )
    return rows


@chain_command(participants_app, "list", sign=False)
def participants_list_command(run: ChainRun) -> None:
    """List every participant with its jurisdiction and status, as the registry holds them.

    Example: provledger participants list --json
    """
    rows = participant_rows(run.ledger(sign=False))
    cells = ((row["account"], row["jurisdiction"], row["status"].lower()) for row in rows)
    print_table(rows, run.as_json, ("account", "jurisdiction", "status"), cells)
