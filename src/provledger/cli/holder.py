"""What the holder of an asset does with it: transfer it, cancel it, revise its metadata, grant
and revoke licenses on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provledger.chain.enums import LicenseKind
from provledger.chain.events import LicenseGranted
from provledger.chain.ids import asset_id_hex
from provledger.chain.serialize import hex_bytes
from provledger.cli.acts import (
    ReasonOption,
    asset_act,
    document_option,
    expiry,
    text_act_command,
    text_hash,
)
from provledger.cli.arguments import AssetArgument, parse_address, parse_asset, parse_choice
from provledger.cli.base import app, command_group
from provledger.cli.committed import (
    CommittedOption,
    DocumentOutOption,
    PreviousDocumentOption,
    revise_committed,
)
from provledger.cli.registrant import (
    DescriptionOption,
    MetadataFileOption,
    MetadataUriOption,
    TitleOption,
    metadata_document,
    store_metadata,
)
from provledger.cli.session import ChainRun, address_argument, chain_command, days_option
from provledger.errors import InputError
from provledger.units import format_time

license_app = command_group("license", "Grant or revoke licenses on assets you hold.")
metadata_app = command_group("metadata", "Revise an asset's metadata.")

LicenseKindOption = Annotated[str, typer.Option(help="processing-use or product-operation.")]
ScopeOption = Annotated[str, typer.Option(help="What the license covers, in words.")]
TermsOption = Annotated[Path | None, document_option("The terms document")]


@chain_command(app, "transfer")
def transfer_command(
    run: ChainRun,
    asset: AssetArgument,
    to: Annotated[str, address_argument("new holder")],
) -> None:
    """Transfer an asset you hold (sale, gift, or cross-border under an export permit).

    Example: provledger transfer 0x5f…e1 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --dev-account 6
    """
    target, recipient = parse_asset(asset), parse_address(to, "recipient")
    receipt = run.ledger().registry.transfer(target, recipient)
    run.show(receipt, f"transferred {asset_id_hex(target)} to {recipient}")


text_act_command(
    app,
    "cancel",
    ReasonOption,
    lambda ledger: ledger.registry.cancel,
    "cancelled {asset}",
    """Cancel the registration of an asset you hold.

    Example: provledger cancel 0x5f…e1 --reason "withdrawn by the holder" --dev-account 5
    """,
    optional=True,
)


@chain_command(metadata_app, "update", blobs=True)
def metadata_update_command(
    run: ChainRun,
    asset: AssetArgument,
    title: TitleOption = None,
    description: DescriptionOption = None,
    metadata_file: MetadataFileOption = None,
    metadata_uri: MetadataUriOption = None,
    committed: CommittedOption = False,
    previous: PreviousDocumentOption = None,
    document_out: DocumentOutOption = None,
) -> None:
    """Anchor a revised metadata document for an asset you hold.

    With --committed the revision commits to its fields, as register --committed does: new
    salts, and the document written to --document-out. A confidential content hash keeps its
    salt, read from the asset's committed document (--document).

    Example: provledger metadata update 0x5f…e1 --title "Huangpu air quality, v2" --dev-account 5
    """
    target = parse_asset(asset)
    if metadata_file is None and title is None and description is None:
        raise InputError("give the new metadata: --metadata FILE, or --title/--description")
    document = metadata_document(metadata_file, title, description, "")
    if committed:
        revise_committed(
            run,
            target,
            document,
            previous=previous,
            document_out=document_out,
            metadata_uri=metadata_uri,
        )
        return
    if previous is not None or document_out is not None:
        raise InputError("--document and --document-out need --committed")
    ledger = run.ledger()
    meta_hash, uri = store_metadata(run.settings, document, metadata_uri)
    receipt = ledger.registry.update_metadata(target, uri, meta_hash)
    run.show(
        receipt,
        f"metadata of {asset_id_hex(target)} is now {hex_bytes(meta_hash)}",
        metadata_hash=hex_bytes(meta_hash),
        metadata_uri=uri,
    )


@chain_command(license_app, "grant", blobs=True)
def license_grant_command(
    run: ChainRun,
    asset: AssetArgument,
    licensee: Annotated[str, address_argument("licensee")],
    kind: LicenseKindOption = "processing-use",
    days: Annotated[int, days_option("Days until the license expires.")] = 365,
    scope: ScopeOption = "",
    terms: TermsOption = None,
) -> None:
    """Grant a license on an asset you hold.

    Example: provledger license grant 0x5f…e1 0x3C44…93BC --kind processing-use --days 365
    --scope cleaning --dev-account 5
    """
    target = parse_asset(asset)
    to = parse_address(licensee, "licensee")
    license_kind = parse_choice(LicenseKind, kind, "--kind")
    ledger = run.ledger()
    expires = expiry(ledger, days)
    terms_hash = asset_act(
        run.settings,
        terms,
        "license terms",
        target,
        licensee=to,
        kind=license_kind.name,
        scope=scope,
        expires_at=expires,
    )
    receipt = ledger.licenses.grant(target, to, license_kind, expires, terms_hash, scope)
    granted = receipt.event(LicenseGranted)
    summary = (
        f"license #{granted.license_id} on {asset_id_hex(target)} granted to {to} until "
        f"{format_time(granted.expires_at)}"
    )
    run.show(receipt, summary, license_id=granted.license_id, expires_at=expires)


@chain_command(license_app, "revoke")
def license_revoke_command(
    run: ChainRun,
    license_id: Annotated[int, typer.Argument(help="License number.")],
    reason: ReasonOption = None,
) -> None:
    """Revoke a license on an asset you hold.

    Example: provledger license revoke 1 --reason "terms breached" --dev-account 5
    """
    receipt = run.ledger().licenses.revoke(license_id, text_hash(reason))
    run.show(receipt, f"license #{license_id} revoked")
