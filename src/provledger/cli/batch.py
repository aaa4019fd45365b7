"""Many registrations at once: register-many from a CSV or JSONL list; sign and relay."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, BinaryIO, Final

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
    CATEGORY_MAX,
    GRADE_MAX,
    CategoryOption,
    DescriptionOption,
    GradeOption,
    MetadataFileOption,
    MetadataUriOption,
    ParentOption,
    TitleOption,
    parse_code,
    plan_registration,
)
from provledger.cli.session import (
    MAX_DAYS,
    chain_command,
    open_ledger,
    print_json,
    show_receipt,
)
from provledger.config import Settings
from provledger.errors import InputError, ProvledgerError
from provledger.jsondoc import JsonDocumentError, echo, parse_json, read_json_file

#: Columns of a registration list; ``path`` and ``category`` are required.
COLUMNS: Final = ("path", "category", "grade", "title", "description", "metadata_uri", "parents")
HOUR: Final = 3600
#: The longest line of a JSONL list (1 MiB); a CSV cell is limited by ``csv.field_size_limit()``.
LINE_MAX_BYTES: Final = 1 << 20


@dataclass(frozen=True)
class Row:
    """One line of a registration list, parsed."""

    line: int
    path: Path
    fields: dict[str, str]


def _rows(source: Path, kind: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(line, fields)`` for each entry of the list, or ``(line, reason)`` if it is malformed.

    A line that is not UTF-8, not CSV or not JSON fails alone; the others are still read.
    """
    try:
        handle = source.open("rb")
    except OSError as error:
        raise InputError(f"cannot read {source}: {error.strerror}") from None
    with handle:
        if kind == "csv":
            text = io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline="")
            yield from _csv_rows(source, text)
        else:
            yield from _jsonl_rows(handle)


def _is_utf8(text: str) -> bool:
    """Whether ``text`` was decoded from valid UTF-8 (surrogateescape keeps bad bytes as lone
    surrogates, which no valid UTF-8 decodes to)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _csv_rows(source: Path, text: IO[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """The entries of a CSV list read with ``surrogateescape``; a bad header fails the list."""
    reader = csv.DictReader(text)
    try:
        names = reader.fieldnames
    except csv.Error as error:
        raise InputError(f"{source}: the header is not CSV: {error}") from None
    if names is not None and not all(_is_utf8(name) for name in names):
        raise InputError(f"{source}: the header is not valid UTF-8")
    if names is None or not {"path", "category"} <= set(names):
        raise InputError(f"{source}: the header must name at least path and category")
    unknown = sorted(set(names) - set(COLUMNS))
    if unknown:
        raise InputError(f"{source}: unknown column {echo(unknown[0])} (known: {COLUMNS})")
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # the reader goes on at the next line
            if str(error).startswith("field larger than field limit"):
                reason = f"a cell is longer than {csv.field_size_limit():,} characters"
            else:
                reason = f"not CSV: {error}"
            # DictReader.line_num moves on success only; its reader's counts the line read
            yield reader.reader.line_num, reason
            continue
        if None in record:  # more cells than the header names
            yield reader.line_num, "more cells than the header has columns"
        elif not all(_is_utf8(value) for value in record.values() if value):
            yield reader.line_num, "not valid UTF-8"
        else:
            yield reader.line_num, {key: value or "" for key, value in record.items()}


def _jsonl_rows(handle: BinaryIO) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """The entries of a JSONL list, each line read as bytes, its length bounded."""
    number = 0
    while raw := handle.readline(LINE_MAX_BYTES + 1):
        number += 1
        if len(raw) - raw.endswith(b"\n") > LINE_MAX_BYTES:
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                raw = handle.readline(LINE_MAX_BYTES)
            yield number, f"longer than {LINE_MAX_BYTES:,} bytes"
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, "not valid UTF-8"
            continue
        if not line.strip():
            continue
        try:
            parsed = parse_json(line, what="line", max_bytes=LINE_MAX_BYTES)
        except JsonDocumentError as error:
            yield number, error.reason
            continue
        if not isinstance(parsed, dict):
            yield number, "not a JSON object"
        elif unknown := sorted(set(parsed) - set(COLUMNS)):
            yield number, f"unknown field {echo(unknown[0])}"
        else:
            yield number, {key: "" if value is None else value for key, value in parsed.items()}


def _entry_path(base: Path, text: str) -> Path:
    """The file or folder a list entry names: a relative path that stays inside ``base``, the
    list's folder, once resolved (links included)."""
    if "\x00" in text:
        raise InputError(f"path {echo(text)} contains a NUL character")
    given = Path(text)
    if given.is_absolute():
        raise InputError(f"path {echo(text)} is absolute; paths are relative to the list")
    if ".." in given.parts:
        raise InputError(f"path {echo(text)} has a '..' segment; paths stay in the list's folder")
    path = base / given
    try:
        folder, resolved = base.resolve(), path.resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a loop of links
        raise InputError(f"path {echo(text)} cannot be resolved: {error}") from None
    if resolved == folder:
        raise InputError(f"path {echo(text)} is the list's own folder; name what is in it")
    if not resolved.is_relative_to(folder):
        raise InputError(f"path {echo(text)} leads out of the list's folder")
    return path


def _registration(
    settings: Settings, base: Path, fields: dict[str, Any], seen: set[bytes]
) -> Registration:
    """The registration of one list entry (its file hashed, its metadata kept)."""
    given = fields.get("path", "")
    if not isinstance(given, str):
        raise InputError(f"path must be text, not {type(given).__name__}")
    path_text = given.strip()
    if not path_text:
        raise InputError("path is empty")
    category = fields.get("category", "")
    if isinstance(category, str) and not category.strip():
        raise InputError("category is empty")
    grade = fields.get("grade", "")
    if isinstance(grade, str) and not grade.strip():
        grade = 1
    path = _entry_path(base, path_text)
    parents = [item.strip() for item in str(fields.get("parents") or "").split(";")]
    try:
        registration = plan_registration(
            path,
            parse_code(category, "category", CATEGORY_MAX),
            parse_code(grade, "grade", GRADE_MAX),
            parents=[item for item in parents if item],
            title=str(fields.get("title") or "") or None,
            description=str(fields.get("description") or "") or None,
            metadata_uri=str(fields.get("metadata_uri") or "") or None,
        ).prepare(settings)
    except OSError as error:
        raise InputError(f"cannot read {echo(path_text)}: {error.strerror or error}") from None
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
    description, metadata_uri, parents (ID[:relation];...). Paths are relative to the list's
    folder and stay inside it; category is 0..65535, grade 0..255, in digits. A bad entry is
    reported with its line number and the others are registered, unless --atomic; exit 2 if
    any entry failed.

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
