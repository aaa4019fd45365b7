"""Authority commands: review, object, certify, appraise, dispute, export permit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provledger.chain import events
from provledger.chain.enums import RegistrationType, Ruling, ValuationMethod
from provledger.chain.ids import asset_id_hex
from provledger.cli import acts
from provledger.cli.arguments import AssetArgument, parse_address, parse_asset, parse_choice
from provledger.cli.base import app, command_group
from provledger.cli.session import ChainRun, address_argument, chain_command, days_option
from provledger.errors import InputError
from provledger.units import fiat, format_amount, format_time, parse_amount

review_app = command_group("review", "Registrar: accept or reject a registration.")
dispute_app = command_group("dispute", "Arbiter and parties: disputes.")
export_app = command_group("export", "Export approver: cross-border permits.")

DisputeArgument = Annotated[int, typer.Argument(help="Dispute number.")]


@chain_command(review_app, "accept")
def review_accept_command(run: ChainRun, asset: AssetArgument) -> None:
    """Accept a registration: its public notice period starts.

    Example: provledger review accept 0x5f…e1 --dev-account 1
    """
    target = parse_asset(asset)
    ledger = run.ledger()
    receipt = ledger.office.accept(target)
    ends = ledger.office.notice_ends_at(target)
    run.show(
        receipt,
        f"accepted {asset_id_hex(target)}; public notice until {format_time(ends)}",
        notice_ends_at=ends,
    )


acts.text_act_command(
    review_app,
    "reject",
    acts.RequiredReasonOption,
    lambda ledger: ledger.office.reject,
    "rejected {asset}",
    """Reject a registration.

    Example: provledger review reject 0x5f…e1 --reason "sample data only" --dev-account 1
    """,
)
acts.text_act_command(
    app,
    "object",
    Annotated[str, typer.Option("--grounds", help="The grounds (their SHA-256 is recorded).")],
    lambda ledger: ledger.office.object,
    "objection #{objection_id} lodged against {asset}",
    """Lodge an objection against a registration during its public notice.

    Example: provledger object 0x5f…e1 --grounds "collected by us in 2025" --dev-account 7
    """,
    counted=(events.ObjectionLodged, "objection_id"),
)


@chain_command(app, "certify", blobs=True)
def certify_command(
    run: ChainRun,
    asset: AssetArgument,
    kind: Annotated[
        str,
        typer.Option(
            "--type", help="initial, license, transfer, change, cancellation or objection."
        ),
    ] = "initial",
    document: Annotated[Path | None, acts.document_option("The certificate document")] = None,
) -> None:
    """Issue a certificate with the next registration number.

    Example: provledger certify 0x5f…e1 --type initial --dev-account 1
    """
    target = parse_asset(asset)
    registration_type = parse_choice(RegistrationType, kind, "--type")
    ledger = run.ledger()
    act = {"type": registration_type.name, "registrar": ledger.address}
    certificate = acts.asset_act(run.settings, document, "certificate", target, **act)
    receipt = ledger.office.certify(target, certificate, registration_type)
    issued = receipt.event(events.CertificateIssued)
    run.show(
        receipt,
        f"certified {asset_id_hex(target)}: registration no. {issued.registration_number}",
        registration_number=issued.registration_number,
    )


def parse_appraisal(text: str, code: str) -> int:
    """``--amount`` in hundredths of ``code``: ``2,500,000.00`` or ``2500000 CNY`` ->
    250000000 (the one amount parser, with the currency's unit optional)."""
    return parse_amount(text, fiat(code), what="--amount", unit_optional=True)


@chain_command(app, "appraise", blobs=True)
def appraise_command(
    run: ChainRun,
    asset: AssetArgument,
    amount: Annotated[str, typer.Option(help="The value, e.g. 2500000.00.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code, e.g. CNY.")],
    method: Annotated[str, typer.Option(help="cost, income or market.")] = "market",
    report: Annotated[Path | None, acts.document_option("The appraisal report")] = None,
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
    ledger = run.ledger()
    report_hash = acts.asset_act(
        run.settings,
        report,
        "appraisal",
        target,
        amount=f"{value // 100}.{value % 100:02d}",
        currency=code,
        method=valuation.name,
        appraiser=ledger.address,
    )
    receipt = ledger.appraisals.appraise(target, value, code, valuation, report_hash)
    recorded = receipt.event(events.AppraisalRecorded)
    run.show(
        receipt,
        f"appraisal #{recorded.appraisal_id}: {asset_id_hex(target)} valued at "
        f"{format_amount(value, fiat(code))} ({valuation.name.lower()} method)",
        appraisal_id=recorded.appraisal_id,
    )


acts.text_act_command(
    dispute_app,
    "open",
    Annotated[str, typer.Option("--evidence", help="The claim (its SHA-256 is recorded).")],
    lambda ledger: ledger.court.open,
    "dispute #{dispute_id} opened over {asset}",
    """Open a dispute over an asset.

    Example: provledger dispute open 0x5f…e1 --evidence "prior collection" --dev-account 7
    """,
    counted=(events.DisputeOpened, "dispute_id"),
)


@chain_command(dispute_app, "freeze")
def dispute_freeze_command(run: ChainRun, dispute: DisputeArgument) -> None:
    """Freeze the disputed asset until the ruling.

    Example: provledger dispute freeze 1 --dev-account 3
    """
    receipt = run.ledger().court.freeze(dispute)
    run.show(receipt, f"dispute #{dispute}: asset frozen")


@chain_command(dispute_app, "rule", blobs=True)
def dispute_rule_command(
    run: ChainRun,
    dispute: DisputeArgument,
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
    ledger = run.ledger()
    act = {"act": "ruling", "dispute_id": dispute, "ruling": decision.name, "reason": reason}
    receipt = ledger.court.rule(dispute, decision, acts.act_document(run.settings, document, act))
    run.show(receipt, f"dispute #{dispute} ruled: {decision.name.lower().replace('_', ' ')}")


@chain_command(export_app, "permit")
def export_permit_command(
    run: ChainRun,
    asset: AssetArgument,
    recipient: Annotated[str, address_argument("foreign recipient")],
    days: Annotated[int, days_option("Days until the permit expires.")] = 30,
) -> None:
    """Permit one cross-border transfer of an important or core asset to a recipient.

    Example: provledger export permit 0x5f…e1 0x90F7…b906 --days 30 --dev-account 4
    """
    target = parse_asset(asset)
    to = parse_address(recipient, "recipient")
    ledger = run.ledger()
    expires = acts.expiry(ledger, days)
    receipt = ledger.export.issue_permit(target, to, expires)
    run.show(
        receipt,
        f"export of {asset_id_hex(target)} to {to} permitted until {format_time(expires)}",
        expires_at=expires,
    )
