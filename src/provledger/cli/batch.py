"""Many registrations at once: register-many from a CSV or JSONL list; sign and relay."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any, BinaryIO, Final

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from provledger.categories import parse_category, parse_code
from provledger.chain.client import Provledger
from provledger.chain.eip712 import signed_from_json, signed_to_json
from provledger.chain.events import AssetRegistered
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.chain.reverts import ContractRevert
from provledger.chain.serialize import hex_bytes
from provledger.chain.types import Registration, SignedRegistration
from provledger.cli.base import EXIT_USAGE, app, err, explain_revert, out
from provledger.cli.registrant import (
    GRADE_MAX,
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
#: Refusals that concern the signer or the registry, not one entry: the run stops at them.
RUN_REFUSALS: Final = frozenset({"EnforcedPause", "ParticipantNotActive"})
#: Failed line numbers the summary names; the rest are counted.
SUMMARY_LINES: Final = 10


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
            parse_category(category),
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


#: Entry: a line number and the registration of that line.
Entry = tuple[int, Registration]


class RegistrationStopped(ProvledgerError):
    """The registry refused a chunk for a reason no entry can change (it is paused, or the
    signer is not an active participant): nothing more is sent."""

    def __init__(self, refusal: ContractRevert, unsent: int) -> None:
        self.refusal = refusal
        self.unsent = unsent
        super().__init__(
            f"the contract refused: {explain_revert(refusal)}; stopped with {unsent:,} line(s) "
            "not sent "
            "(run again with --skip-registered once it is resolved)"
        )


@dataclass
class RunReport:
    """What register-many did with each line of its list."""

    registered: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self, stopped: RegistrationStopped | None) -> dict[str, Any]:
        """Every line's outcome, each list in line order."""
        return {
            "registered": sorted(self.registered, key=lambda item: int(item["line"])),
            "skipped": sorted(self.skipped, key=lambda item: int(item["line"])),
            "failed": [{"line": line, "error": reason} for line, reason in sorted(self.failed)],
            "stopped": None if stopped is None else str(stopped),
        }

    def summary(self, *, atomic: bool) -> str:
        """``1,997 registered, 3 failed (lines 17, 1202, 1999), 0 skipped``."""
        lines = sorted(line for line, _ in self.failed)
        failed = f"{len(lines):,} failed"
        if lines:
            named = ", ".join(str(line) for line in lines[:SUMMARY_LINES])
            more = len(lines) - SUMMARY_LINES
            tail = f" and {more:,} more" if more > 0 else ""
            failed += f" ({'line' if len(lines) == 1 else 'lines'} {named}{tail})"
        registered = (
            "nothing registered (--atomic)"
            if atomic and lines
            else f"{len(self.registered):,} registered"
        )
        return f"{registered}, {failed}, {len(self.skipped):,} skipped"


class _RateColumn(ProgressColumn):
    """Lines per second, over rich's recent samples."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f} lines/s")


class _Run:
    """One register-many run: checks entries against the chain, sends them in chunks, takes
    each refused entry out of its chunk with its own reason, and advances the bar."""

    def __init__(
        self,
        ledger: Provledger,
        report: RunReport,
        bar: Progress,
        *,
        skip_registered: bool,
        total: int,
        atomic: bool,
    ) -> None:
        self.ledger = ledger
        self.report = report
        self.bar = bar
        self.task = bar.add_task("checking" if atomic else "registering", total=total)
        self.skip_registered = skip_registered
        self.total = total
        self.signer = ledger.address
        assert ledger.sender is not None  # open_ledger signs
        self.sender = ledger.sender
        self.registry = ledger.registry.address
        # calldata encoded once per attempt by the fast encoder, for sending and simulating
        self.encode = ledger.registry.encoder("registerMany")

    def _advance(self, count: int = 1) -> None:
        self.bar.advance(self.task, count)

    def unsent(self) -> int:
        """Lines without an outcome yet."""
        report = self.report
        return self.total - len(report.registered) - len(report.skipped) - len(report.failed)

    def fail(self, line: int, reason: str) -> None:
        """Report ``line`` as failed."""
        self.report.failed.append((line, reason))
        self._advance()

    def _skip(self, line: int, registration: Registration) -> None:
        self.report.skipped.append(
            {
                "line": line,
                "asset_id": asset_id_hex(asset_id(registration.content_hash)),
                "content_hash": hex_bytes(registration.content_hash),
            }
        )
        self._advance()

    def entries(self, settings: Settings, source: Path, kind: str) -> Iterator[Entry]:
        """The entries of the list that hash and read well; the others are reported."""
        seen: set[bytes] = set()
        for line, fields in _rows(source, kind):
            if isinstance(fields, str):
                self.fail(line, fields)
                continue
            try:
                yield line, _registration(settings, source.parent, fields, seen)
            except ProvledgerError as error:
                self.fail(line, str(error))

    def unregistered(self, entries: Sequence[Entry]) -> list[Entry]:
        """``entries`` less those already registered: skipped with --skip-registered when this
        account registered them, failed otherwise."""
        found = self.ledger.registry.registrants_of([item.content_hash for _, item in entries])
        left: list[Entry] = []
        for (line, registration), registrant in zip(entries, found, strict=True):
            if registrant is None:
                left.append((line, registration))
            elif self.skip_registered and registrant == self.signer:
                self._skip(line, registration)
            else:
                self.fail(line, _registered_reason(registration, registrant, self.signer))
        return left

    def send(self, part: Sequence[Entry]) -> None:
        """Register ``part`` in one transaction; an entry the registry refuses is taken out
        (found by simulating ever shorter prefixes) and the rest sent again."""
        pending = list(part)
        passing = 0  # pending[:passing] is known to pass
        while pending:
            try:
                receipt = self.sender.send(self.registry, self._calldata(pending))
            except ContractRevert as refusal:
                if refusal.name in RUN_REFUSALS:
                    raise RegistrationStopped(refusal, self.unsent()) from None
                passing, refusal = self._first_refused(pending, passing, refusal)
                line, registration = pending.pop(passing)
                self._refused(line, registration, refusal)
                continue
            events = receipt.events_of(AssetRegistered)
            for (line, _), event in zip(pending, events, strict=True):
                self.report.registered.append(
                    {
                        "line": line,
                        "asset_id": asset_id_hex(event.asset_id),
                        "content_hash": hex_bytes(event.content_hash),
                        "transaction": hex_bytes(receipt.tx_hash),
                    }
                )
            self._advance(len(pending))
            return

    def _first_refused(
        self, pending: Sequence[Entry], passing: int, refusal: ContractRevert
    ) -> tuple[int, ContractRevert]:
        """The index of the first entry of ``pending`` the registry refuses, and why.

        The contract registers in order and stops at the first refusal, so a prefix passes
        exactly when that entry lies beyond it: bisect on the prefix length, from
        ``pending[:passing]`` (passes) and all of ``pending`` (refused with ``refusal``).
        """
        low, high = passing, len(pending)
        while high - low > 1:
            middle = (low + high) // 2
            found = self._refusal(pending[:middle])
            if found is None:
                low = middle
            else:
                high, refusal = middle, found
        return high - 1, refusal

    def _calldata(self, part: Sequence[Entry]) -> bytes:
        return self.encode([item.as_tuple() for _, item in part])

    def _refusal(self, part: Sequence[Entry]) -> ContractRevert | None:
        """Why the registry would refuse ``registerMany(part)`` from the signer, if it would."""
        try:
            self.sender.estimate(self.registry, self._calldata(part))
        except ContractRevert as refusal:
            return refusal
        return None

    def _refused(self, line: int, registration: Registration, refusal: ContractRevert) -> None:
        # registered since the check (another run of the same list): done, with the flag
        existing = refusal.args_by_name.get("registrant")
        if (
            self.skip_registered
            and refusal.name == "AssetAlreadyRegistered"
            and existing == self.signer
        ):
            self._skip(line, registration)
        else:
            self.fail(line, f"the contract refused: {explain_revert(refusal)}")


def _registered_reason(registration: Registration, registrant: str, signer: str) -> str:
    """Why an entry already on chain fails."""
    reason = f"already registered as asset {asset_id_hex(asset_id(registration.content_hash))}"
    return reason if registrant == signer else f"{reason} by {registrant}, another account"


def _chunks(entries: Iterable[Entry], size: int) -> Iterator[list[Entry]]:
    """``entries`` in lists of ``size`` (the last may be shorter)."""
    part: list[Entry] = []
    for entry in entries:
        part.append(entry)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part


def _progress(*, enabled: bool) -> Progress:
    """The bar of a run, on standard error: lines done, rate, time spent and left."""
    return Progress(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines ·"),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not enabled,
        transient=False,
    )


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
    skip_registered: Annotated[
        bool,
        typer.Option(
            "--skip-registered",
            help="Count an entry this account already registered as done (skipped), not failed.",
        ),
    ] = False,
    chunk: Annotated[int, typer.Option(min=1, max=200, help="Registrations per transaction.")] = 50,
) -> None:
    """Register every file or folder of a list: columns path, category, grade, title,
    description, metadata_uri, parents (ID[:relation];...). Paths are relative to the list's
    folder and stay inside it; category is a code (0..65535) or a published name (provledger
    categories), grade 0..255 in digits. A bad entry
    fails alone, with its line number and reason (a chunk the contract refuses is sent again
    without the entries it refuses), and the others are registered, unless --atomic. Prints a
    summary (--json: every line's outcome); exit 2 if any entry failed.

    Example: provledger register-many assets.csv --skip-registered --dev-account 5
    """
    kind = "jsonl" if source.suffix.lower() in (".jsonl", ".ndjson") else "csv"
    total = sum(1 for _ in _rows(source, kind))  # a first pass, for the bar's total
    ledger = open_ledger(settings)
    report = RunReport()
    stopped: RegistrationStopped | None = None
    with _progress(enabled=not as_json and err.is_terminal) as bar:
        run = _Run(ledger, report, bar, skip_registered=skip_registered, total=total, atomic=atomic)
        outbox: list[Entry] = []
        try:
            for part in _chunks(run.entries(settings, source, kind), chunk):
                left = run.unregistered(part)
                outbox.extend(left)
                if atomic:  # checked; sent only once every line is
                    bar.advance(run.task, len(left))
                while not atomic and len(outbox) >= chunk:
                    run.send(outbox[:chunk])
                    del outbox[:chunk]
            if atomic and not report.failed:
                bar.reset(run.task, total=len(outbox), description="registering")
            if not (atomic and report.failed):
                for part in _chunks(outbox, chunk):
                    run.send(part)
        except RegistrationStopped as error:
            stopped = error
    if as_json:
        print_json(report.to_json(stopped))
    else:
        for line, reason in sorted(report.failed):
            err.print(f"{source}:{line}: {reason}", markup=False, highlight=False, soft_wrap=True)
        out.print(report.summary(atomic=atomic), markup=False, highlight=False)
    if stopped is not None:
        raise stopped
    if report.failed:
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
