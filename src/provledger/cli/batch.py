"""Many registrations at once: register-many from a CSV or JSONL list; sign and relay."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.table import Table

from provledger.chain.client import Provledger
from provledger.chain.eip712 import signed_from_json, signed_to_json
from provledger.chain.events import AssetRegistered
from provledger.chain.ids import asset_id_hex
from provledger.chain.reverts import ContractRevert
from provledger.chain.serialize import hex_bytes
from provledger.chain.types import Registration, SignedRegistration
from provledger.cli.base import EXIT_USAGE, app, err, out
from provledger.cli.registrant import (
    CategoryOption,
    DescriptionOption,
    GradeOption,
    MetadataFileOption,
    MetadataUriOption,
    ParentOption,
    TitleOption,
    plan_registration,
)
from provledger.cli.session import (
    chain_command,
    open_ledger,
    print_json,
    show_receipt,
)
from provledger.config import Settings
from provledger.errors import InputError, ProvledgerError

#: Columns of a registration list; ``path`` and ``category`` are required.
COLUMNS: Final = ("path", "category", "grade", "title", "description", "metadata_uri", "parents")
HOUR: Final = 3600


@dataclass(frozen=True)
class Row:
    """One line of a registration list, parsed."""

    line: int
    path: Path
    fields: dict[str, str]


def _rows(source: Path, kind: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(line, fields)`` for each entry of the list, or ``(line, reason)`` if it is malformed."""
    try:
        handle = source.open(encoding="utf-8", newline="")
    except OSError as error:
        raise InputError(f"cannot read {source}: {error.strerror}") from None
    with handle:
        if kind == "csv":
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"path", "category"} <= set(reader.fieldnames):
                raise InputError(f"{source}: the header must name at least path and category")
            unknown = sorted(set(reader.fieldnames) - set(COLUMNS))
            if unknown:
                raise InputError(f"{source}: unknown column {unknown[0]!r} (known: {COLUMNS})")
            for record in reader:
                if None in record:  # more cells than the header names
                    yield reader.line_num, "more cells than the header has columns"
                else:
                    yield reader.line_num, {key: value or "" for key, value in record.items()}
            return
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as error:
                yield number, f"not JSON: {error.msg}"
                continue
            if not isinstance(parsed, dict):
                yield number, "not a JSON object"
            elif unknown := sorted(set(parsed) - set(COLUMNS)):
                yield number, f"unknown field {unknown[0]!r}"
            else:
                yield number, {key: "" if value is None else value for key, value in parsed.items()}


def _registration(
    settings: Settings, base: Path, fields: dict[str, Any], seen: set[bytes]
) -> Registration:
    """The registration of one list entry (its file hashed, its metadata kept)."""
    path_text = str(fields.get("path", "")).strip()
    if not path_text:
        raise InputError("path is empty")
    try:
        category = int(str(fields.get("category", "")).strip())
        grade = int(str(fields.get("grade") or 1).strip())
    except ValueError:
        raise InputError("category and grade must be whole numbers") from None
    path = (base / path_text) if not Path(path_text).is_absolute() else Path(path_text)
    parents = [item.strip() for item in str(fields.get("parents") or "").split(";")]
    registration = plan_registration(
        path,
        category,
        grade,
        parents=[item for item in parents if item],
        title=str(fields.get("title") or "") or None,
        description=str(fields.get("description") or "") or None,
        metadata_uri=str(fields.get("metadata_uri") or "") or None,
    ).prepare(settings)
    if registration.content_hash in seen:
        raise InputError(f"{path_text} has the same content as an earlier entry")
    seen.add(registration.content_hash)
    return registration


def _already_registered(ledger: Provledger, registration: Registration) -> str | None:
    state = ledger.registry.asset_by_hash(registration.content_hash)
    return None if state is None else f"already registered as asset {asset_id_hex(state.asset_id)}"


@chain_command(app, "register-many", blobs=True)
def register_many_command(
    settings: Settings,
    as_json: bool,
    source: Annotated[
        Path, typer.Argument(help="A CSV (with a header) or JSONL list of registrations.")
    ],
    atomic: Annotated[
        bool, typer.Option("--atomic", help="Register nothing if any entry is bad.")
    ] = False,
    chunk: Annotated[int, typer.Option(min=1, max=200, help="Registrations per transaction.")] = 50,
) -> None:
    """Register every file or folder of a list: columns path, category, grade, title,
    description, metadata_uri, parents (ID[:relation];...). Paths are relative to the list.
    A bad entry is reported with its line number and the others are registered, unless
    --atomic; exit 2 if any entry failed.

    Example: provledger register-many assets.csv --dev-account 5
    """
    kind = "jsonl" if source.suffix.lower() in (".jsonl", ".ndjson") else "csv"
    ledger = open_ledger(settings)
    good: list[tuple[int, Registration]] = []
    failed: list[tuple[int, str]] = []
    seen: set[bytes] = set()
    for line, fields in _rows(source, kind):
        if isinstance(fields, str):
            failed.append((line, fields))
            continue
        try:
            registration = _registration(settings, source.parent, fields, seen)
        except ProvledgerError as error:
            failed.append((line, str(error)))
            continue
        problem = _already_registered(ledger, registration)
        if problem is None:
            good.append((line, registration))
        else:
            failed.append((line, problem))
    registered: list[dict[str, Any]] = []
    if not (atomic and failed):
        for start in range(0, len(good), chunk):
            part = good[start : start + chunk]
            try:
                receipt = ledger.registry.register_many([item for _, item in part])
            except ContractRevert as error:
                failed.extend((line, f"the contract refused: {error}") for line, _ in part)
                continue
            for (line, _), event in zip(part, receipt.events_of(AssetRegistered), strict=True):
                registered.append(
                    {
                        "line": line,
                        "asset_id": asset_id_hex(event.asset_id),
                        "content_hash": hex_bytes(event.content_hash),
                        "transaction": hex_bytes(receipt.tx_hash),
                    }
                )
    failed.sort()
    if as_json:
        print_json(
            {
                "registered": registered,
                "failed": [{"line": line, "error": reason} for line, reason in failed],
            }
        )
    else:
        table = Table("line", "asset", "transaction")
        for item in registered:
            table.add_row(str(item["line"]), item["asset_id"], item["transaction"])
        if registered:
            out.print(table)
        for line, reason in failed:
            err.print(f"{source}:{line}: {reason}", highlight=False, soft_wrap=True)
        verb = "nothing registered (--atomic)" if atomic and failed else "registered"
        out.print(f"{len(registered)} {verb}, {len(failed)} failed", highlight=False)
    if failed:
        raise typer.Exit(EXIT_USAGE)


@chain_command(app, "sign", blobs=True)
def sign_command(
    settings: Settings,
    as_json: bool,
    path: Annotated[Path, typer.Argument(help="The file or folder to register.")],
    category: CategoryOption,
    grade: GradeOption = 1,
    title: TitleOption = None,
    description: DescriptionOption = None,
    metadata_file: MetadataFileOption = None,
    metadata_uri: MetadataUriOption = None,
    parent: ParentOption = None,
    hours: Annotated[
        int, typer.Option("--valid-hours", min=1, help="Hours until the signature expires.")
    ] = 24,
    nonce: Annotated[
        int | None,
        typer.Option(help="Registry nonce to sign with [default: the account's next one]."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the signed registration here.")
    ] = None,
) -> None:
    """Sign a registration (EIP-712) without sending it: anyone can relay it, the signer
    stays the registrant and pays no gas.

    Example: provledger sign ./data.csv --category 301 -o signed.json --keystore 0x9965…A4dc
    """
    plan = plan_registration(
        path,
        category,
        grade,
        parents=parent or (),
        metadata_file=metadata_file,
        title=title,
        description=description,
        metadata_uri=metadata_uri,
    )
    ledger = open_ledger(settings)
    assert ledger.account is not None
    registration = plan.prepare(settings)
    deadline = int(ledger.w3.eth.get_block("latest")["timestamp"]) + hours * HOUR
    signed = ledger.registry.sign(registration, ledger.account, deadline=deadline, nonce=nonce)
    data = signed_to_json(
        signed, chain_id=ledger.deployment.chain_id, registry=ledger.registry.address
    )
    if output is None:
        print_json(data)
        return
    output.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if as_json:
        print_json(data)
    else:
        out.print(
            f"signed registration of {path} by {signed.registrant} (nonce {signed.nonce}) "
            f"written to {output}",
            highlight=False,
        )


def read_signed(path: Path, ledger: Provledger) -> SignedRegistration:
    """A signed registration document, checked to be for this chain and registry."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise InputError(f"{path} is not JSON: {error}") from None
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
    settings: Settings,
    as_json: bool,
    files: Annotated[list[Path], typer.Argument(help="Signed registrations (provledger sign).")],
) -> None:
    """Submit signed registrations, paying their gas; each registrant stays the registrant.

    Example: provledger relay signed.json --dev-account 9
    """
    ledger = open_ledger(settings)
    signed = [read_signed(path, ledger) for path in files]
    if len(signed) == 1:
        receipt = ledger.registry.register_with_signature(signed[0])
    else:
        receipt = ledger.registry.register_many_with_signatures(signed)
    assets = [asset_id_hex(event.asset_id) for event in receipt.events_of(AssetRegistered)]
    show_receipt(
        receipt,
        f"relayed {len(signed)} signed registration(s): {', '.join(assets)}",
        as_json,
        asset_ids=assets,
    )
