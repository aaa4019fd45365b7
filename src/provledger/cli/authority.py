"""Authority commands: review, object, certify, appraise, dispute, export permit, roles,
participants."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from provledger.chain.client import Provledger
from provledger.chain.deploy import AUTHORITY_ROLES
from provledger.chain.enums import RegistrationType, Ruling, ValuationMethod
from provledger.chain.events import (
    DECODERS,
    AppraisalRecorded,
    CertificateIssued,
    DisputeOpened,
    Event,
    ObjectionLodged,
    ParticipantRegistered,
    ParticipantReinstated,
    ParticipantSuspended,
    RoleGranted,
    RoleRevoked,
)
from provledger.chain.ids import asset_id_hex, role_id
from provledger.cli.base import (
    app,
    command_group,
    out,
)
from provledger.cli.session import (
    MAX_DAYS,
    AssetArgument,
    act_document,
    chain_command,
    kept_text,
    open_ledger,
    parse_address,
    parse_asset,
    parse_choice,
    print_json,
    show_receipt,
    text_hash,
)
from provledger.config import Settings
from provledger.errors import InputError
from provledger.units import fiat, format_amount, format_time, parse_amount

DAY = 24 * 3600

review_app = command_group("review", "Registrar: accept or reject a registration.")
dispute_app = command_group("dispute", "Arbiter and parties: disputes.")
export_app = command_group("export", "Export approver: cross-border permits.")
roles_app = command_group("roles", "Admin: authority roles.")
participants_app = command_group("participants", "Registrar: participants.")


@chain_command(review_app, "accept")
def review_accept_command(
    settings: Settings,
    as_json: bool,
    asset: AssetArgument,
) -> None:
    """Accept a registration: its public notice period starts.

    Example: provledger review accept 0x5f…e1 --dev-account 1
    """
    target = parse_asset(asset)
    ledger = open_ledger(settings)
    receipt = ledger.office.accept(target)
    ends = ledger.office.notice_ends_at(target)
    show_receipt(
        receipt,
        f"accepted {asset_id_hex(target)}; public notice until {format_time(ends)}",
        as_json,
        notice_ends_at=ends,
    )


@chain_command(review_app, "reject")
def review_reject_command(
    settings: Settings,
    as_json: bool,
    asset: AssetArgument,
    reason: Annotated[str, typer.Option(help="Why (its SHA-256 is recorded).")],
) -> None:
    """Reject a registration.

    Example: provledger review reject 0x5f…e1 --reason "sample data only" --dev-account 1
    """
    target = parse_asset(asset)
    receipt = open_ledger(settings).office.reject(target, text_hash(reason))
    show_receipt(receipt, f"rejected {asset_id_hex(target)}", as_json)


@chain_command(app, "object")
def object_command(
    settings: Settings,
    as_json: bool,
    asset: AssetArgument,
    grounds: Annotated[str, typer.Option(help="The grounds (their SHA-256 is recorded).")],
) -> None:
    """Lodge an objection against a registration during its public notice.

    Example: provledger object 0x5f…e1 --grounds "collected by us in 2025" --dev-account 7
    """
    target = parse_asset(asset)
    receipt = open_ledger(settings).office.object(target, text_hash(grounds))
    lodged = receipt.event(ObjectionLodged)
    show_receipt(
        receipt,
        f"objection #{lodged.objection_id} lodged against {asset_id_hex(target)}",
        as_json,
        objection_id=lodged.objection_id,
    )


@chain_command(app, "certify", blobs=True)
def certify_command(
    settings: Settings,
    as_json: bool,
    asset: AssetArgument,
    kind: Annotated[
        str,
        typer.Option(
            "--type", help="initial, license, transfer, change, cancellation or objection."
        ),
    ] = "initial",
    document: Annotated[
        Path | None,
        typer.Option(
            help="The certificate document (its SHA-256 is recorded) [default: a generated one]."
        ),
    ] = None,
) -> None:
    """Issue a certificate with the next registration number.

    Example: provledger certify 0x5f…e1 --type initial --dev-account 1
    """
    target = parse_asset(asset)
    registration_type = parse_choice(RegistrationType, kind, "--type")
    ledger = open_ledger(settings)
    certificate = act_document(
        settings,
        document,
        {
            "act": "certificate",
            "asset_id": asset_id_hex(target),
            "type": registration_type.name,
            "registrar": ledger.address,
        },
    )
    receipt = ledger.office.certify(target, certificate, registration_type)
    issued = receipt.event(CertificateIssued)
    show_receipt(
        receipt,
        f"certified {asset_id_hex(target)}: registration no. {issued.registration_number}",
        as_json,
        registration_number=issued.registration_number,
    )


def parse_appraisal(text: str, code: str) -> int:
    """``--amount`` in hundredths of ``code``: ``2,500,000.00`` or ``2500000 CNY`` ->
    250000000 (the one amount parser, with the currency's unit optional)."""
    return parse_amount(text, fiat(code), what="--amount", unit_optional=True)


@chain_command(app, "appraise", blobs=True)
def appraise_command(
    settings: Settings,
    as_json: bool,
    asset: AssetArgument,
    amount: Annotated[str, typer.Option(help="The value, e.g. 2500000.00.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code, e.g. CNY.")],
    method: Annotated[str, typer.Option(help="cost, income or market.")] = "market",
    report: Annotated[
        Path | None,
        typer.Option(
            help="The appraisal report (its SHA-256 is recorded) [default: a generated one]."
        ),
    ] = None,
) -> None:
    """Record a valuation; it supersedes the asset's previous one.

    Example: provledger appraise 0x5f…e1 --amount 2500000.00 --currency CNY --method market
    --dev-account 2
    """
    target = parse_asset(asset)
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise InputError(f"--currency {currency!r} is not a three-letter ISO 4217 code")
    value = parse_appraisal(amount, code)
    valuation = parse_choice(ValuationMethod, method, "--method")
    ledger = open_ledger(settings)
    report_hash = act_document(
        settings,
        report,
        {
            "act": "appraisal",
            "asset_id": asset_id_hex(target),
            "amount": f"{value // 100}.{value % 100:02d}",
            "currency": code,
            "method": valuation.name,
            "appraiser": ledger.address,
        },
    )
    receipt = ledger.appraisals.appraise(target, value, code, valuation, report_hash)
    recorded = receipt.event(AppraisalRecorded)
    show_receipt(
        receipt,
        f"appraisal #{recorded.appraisal_id}: {asset_id_hex(target)} valued at "
        f"{format_amount(value, fiat(code))} ({valuation.name.lower()} method)",
        as_json,
        appraisal_id=recorded.appraisal_id,
    )


@chain_command(dispute_app, "open")
def dispute_open_command(
    settings: Settings,
    as_json: bool,
    asset: AssetArgument,
    evidence: Annotated[str, typer.Option(help="The claim (its SHA-256 is recorded).")],
) -> None:
    """Open a dispute over an asset.

    Example: provledger dispute open 0x5f…e1 --evidence "prior collection" --dev-account 7
    """
    target = parse_asset(asset)
    receipt = open_ledger(settings).court.open(target, text_hash(evidence))
    opened = receipt.event(DisputeOpened)
    show_receipt(
        receipt,
        f"dispute #{opened.dispute_id} opened over {asset_id_hex(target)}",
        as_json,
        dispute_id=opened.dispute_id,
    )


@chain_command(dispute_app, "freeze")
def dispute_freeze_command(
    settings: Settings,
    as_json: bool,
    dispute: Annotated[int, typer.Argument(help="Dispute number.")],
) -> None:
    """Freeze the disputed asset until the ruling.

    Example: provledger dispute freeze 1 --dev-account 3
    """
    receipt = open_ledger(settings).court.freeze(dispute)
    show_receipt(receipt, f"dispute #{dispute}: asset frozen", as_json)


@chain_command(dispute_app, "rule", blobs=True)
def dispute_rule_command(
    settings: Settings,
    as_json: bool,
    dispute: Annotated[int, typer.Argument(help="Dispute number.")],
    ruling: Annotated[str, typer.Option(help="dismiss, transfer-to-claimant or cancel-asset.")],
    reason: Annotated[str, typer.Option(help="The grounds of the ruling, in words.")] = "",
    document: Annotated[
        Path | None,
        typer.Option(help="The ruling document (its SHA-256 is recorded) [default: generated]."),
    ] = None,
) -> None:
    """Rule on a dispute (and lift its freeze).

    Example: provledger dispute rule 1 --ruling dismiss --reason "claim unfounded" --dev-account 3
    """
    decision = parse_choice(Ruling, ruling, "--ruling")
    ledger = open_ledger(settings)
    act = {"act": "ruling", "dispute_id": dispute, "ruling": decision.name, "reason": reason}
    receipt = ledger.court.rule(dispute, decision, act_document(settings, document, act))
    show_receipt(
        receipt, f"dispute #{dispute} ruled: {decision.name.lower().replace('_', ' ')}", as_json
    )


@chain_command(export_app, "permit")
def export_permit_command(
    settings: Settings,
    as_json: bool,
    asset: AssetArgument,
    recipient: Annotated[str, typer.Argument(help="The foreign recipient's address.")],
    days: Annotated[
        int, typer.Option(min=1, max=MAX_DAYS, help="Days until the permit expires.")
    ] = 30,
) -> None:
    """Permit one cross-border transfer of an important or core asset to a recipient.

    Example: provledger export permit 0x5f…e1 0x90F7…b906 --days 30 --dev-account 4
    """
    target = parse_asset(asset)
    to = parse_address(recipient, "recipient")
    ledger = open_ledger(settings)
    expires = int(ledger.w3.eth.get_block("latest")["timestamp"]) + days * DAY
    receipt = ledger.export.issue_permit(target, to, expires)
    show_receipt(
        receipt,
        f"export of {asset_id_hex(target)} to {to} permitted until {format_time(expires)}",
        as_json,
        expires_at=expires,
    )


# ------------------------------------------------------------------ roles and participants
def registry_events(ledger: Provledger, *kinds: type[Event]) -> list[Event]:
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
        DECODERS[bytes(log["topics"][0])](
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
AccountArgument = Annotated[str, typer.Argument(help="The account's address.")]


@chain_command(roles_app, "grant")
def roles_grant_command(
    settings: Settings,
    as_json: bool,
    role: RoleArgument,
    account: AccountArgument,
) -> None:
    """Grant an authority role (admin only).

    Example: provledger roles grant registrar 0x7099…79C8 --dev-account 0
    """
    name, to = role_name(role), parse_address(account, "account")
    receipt = open_ledger(settings).registry.grant_role(name, to)
    show_receipt(receipt, f"{name} granted to {to}", as_json)


@chain_command(roles_app, "revoke")
def roles_revoke_command(
    settings: Settings,
    as_json: bool,
    role: RoleArgument,
    account: AccountArgument,
) -> None:
    """Revoke an authority role (admin only).

    Example: provledger roles revoke registrar 0x7099…79C8 --dev-account 0
    """
    name, target = role_name(role), parse_address(account, "account")
    receipt = open_ledger(settings).registry.revoke_role(name, target)
    show_receipt(receipt, f"{name} revoked from {target}", as_json)


@chain_command(roles_app, "list", sign=False)
def roles_list_command(
    settings: Settings,
    as_json: bool,
) -> None:
    """List who holds each authority role now (from the registry's role events).

    Example: provledger roles list --json
    """
    ledger = open_ledger(settings, sign=False)
    names = {role_id(name): name for name in AUTHORITY_ROLES.values()}
    held: dict[str, list[str]] = {name: [] for name in AUTHORITY_ROLES.values()}
    for event in registry_events(ledger, RoleGranted, RoleRevoked):
        assert isinstance(event, RoleGranted | RoleRevoked)
        name = names.get(event.role)
        if name is None:
            continue  # a module role (OFFICE_ROLE, …), held by contracts
        holders = held[name]
        if isinstance(event, RoleGranted) and event.account not in holders:
            holders.append(event.account)
        elif isinstance(event, RoleRevoked) and event.account in holders:
            holders.remove(event.account)
    if as_json:
        print_json(held)
        return
    table = Table("role", "holders")
    for name, holders in held.items():
        table.add_row(name, "\n".join(holders) or "-")
    out.print(table)


@chain_command(participants_app, "add", blobs=True)
def participants_add_command(
    settings: Settings,
    as_json: bool,
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
    receipt = open_ledger(settings).registry.register_participant(
        target, jurisdiction.strip().upper(), kept_text(settings, name)
    )
    show_receipt(receipt, f"{target} is a participant in {jurisdiction.upper()}", as_json)


@chain_command(participants_app, "suspend")
def participants_suspend_command(
    settings: Settings,
    as_json: bool,
    account: AccountArgument,
    reason: Annotated[str | None, typer.Option(help="Why (its SHA-256 is recorded).")] = None,
) -> None:
    """Suspend a participant: it can no longer register or receive assets (registrar).

    Example: provledger participants suspend 0x9965…A4dc --reason "licence lapsed" --dev-account 1
    """
    target = parse_address(account, "account")
    receipt = open_ledger(settings).registry.suspend_participant(target, text_hash(reason))
    show_receipt(receipt, f"{target} suspended", as_json)


@chain_command(participants_app, "list", sign=False)
def participants_list_command(
    settings: Settings,
    as_json: bool,
) -> None:
    """List every participant with its jurisdiction and status, as the registry holds them.

    Example: provledger participants list --json
    """
    ledger = open_ledger(settings, sign=False)
    accounts: dict[str, None] = {}
    kinds = (ParticipantRegistered, ParticipantSuspended, ParticipantReinstated)
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
    if as_json:
        print_json(rows)
        return
    table = Table("account", "jurisdiction", "status")
    for row in rows:
        table.add_row(row["account"], row["jurisdiction"], row["status"].lower())
    out.print(table)
