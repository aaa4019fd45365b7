"""Many registrations at once: register-many sends a list's entries in chunks, each refused
entry taken out with its own reason, with a progress bar."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

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

from provledger.chain.client import Provledger
from provledger.chain.events import AssetRegistered
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.chain.reverts import ContractRevertError
from provledger.chain.serialize import hex_bytes
from provledger.chain.transactions import GasCapExceededError
from provledger.chain.types import Registration
from provledger.cli.base import ExitCode, app, err, explain_revert, out
from provledger.cli.batch_list import entry_registration, read_rows
from provledger.cli.output import print_json
from provledger.cli.session import ChainRun, chain_command
from provledger.config import Settings
from provledger.errors import ProvledgerError

#: Refusals that concern the signer or the registry, not one entry: the run stops at them.
RUN_REFUSALS: Final = frozenset({"EnforcedPause", "ParticipantNotActive"})
#: Failed line numbers the summary names; the rest are counted.
SUMMARY_LINES: Final = 10


#: Entry: a line number and the registration of that line.
Entry = tuple[int, Registration]


class RegistrationStoppedError(ProvledgerError):
    """The registry refused a chunk for a reason no entry can change (it is paused, or the
    signer is not an active participant): nothing more is sent."""

    refusal: ContractRevertError
    unsent: int

    def _message(self) -> str:
        return (
            f"the contract refused: {explain_revert(self.refusal)}; stopped with "
            f"{self.unsent:,} line(s) not sent (run again with --skip-registered once it is "
            "resolved)"
        )


@dataclass
class RunReport:
    """What register-many did with each line of its list."""

    registered: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    #: Chunks split because they needed more gas than one transaction may use, and that cap.
    splits: int = 0
    gas_cap: int = 0

    def to_json(self, stopped: RegistrationStoppedError | None) -> dict[str, Any]:
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

    def split_note(self) -> str | None:
        """Why there were more transactions than chunks, if there were."""
        if not self.splits:
            return None
        chunks = "chunk" if self.splits == 1 else "chunks"
        return (
            f"note: {self.splits:,} {chunks} needed more than the {self.gas_cap:,} gas one "
            "transaction may use on this chain, so they were sent as smaller transactions"
        )


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
        for line, fields in read_rows(source, kind):
            if isinstance(fields, str):
                self.fail(line, fields)
                continue
            try:
                yield line, entry_registration(settings, source.parent, fields, seen)
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
            except GasCapExceededError as too_big:
                self._split(pending, too_big)
                return
            except ContractRevertError as refusal:
                if refusal.name in RUN_REFUSALS:
                    raise RegistrationStoppedError(refusal, self.unsent()) from None
                try:
                    passing, refusal = self._first_refused(pending, passing, refusal)
                except GasCapExceededError as too_big:  # a passing prefix that cannot fit
                    self._split(pending, too_big)
                    return
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

    def _split(self, pending: Sequence[Entry], too_big: GasCapExceededError) -> None:
        """Send ``pending`` as two transactions, as it needs more gas than one may use (one
        registration that cannot fit alone fails with the reason)."""
        if len(pending) == 1:
            self.fail(pending[0][0], str(too_big))
            return
        self.report.splits += 1
        self.report.gas_cap = too_big.cap
        half = len(pending) // 2
        self.send(pending[:half])
        self.send(pending[half:])

    def _first_refused(
        self, pending: Sequence[Entry], passing: int, refusal: ContractRevertError
    ) -> tuple[int, ContractRevertError]:
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

    def _refusal(self, part: Sequence[Entry]) -> ContractRevertError | None:
        """Why the registry would refuse ``registerMany(part)`` from the signer, if it would."""
        try:
            self.sender.estimate(self.registry, self._calldata(part))
        except ContractRevertError as refusal:
            return refusal
        return None

    def _refused(self, line: int, registration: Registration, refusal: ContractRevertError) -> None:
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
    run: ChainRun,
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
    without the entries it refuses), and the others are registered, unless --atomic. A chunk
    that needs more gas than one transaction may use (16,777,216 under EIP-7825, or the block
    gas limit) is sent as smaller transactions, with a note. Prints a summary (--json: every
    line's outcome); exit 2 if any entry failed.

    Example: provledger register-many assets.csv --skip-registered --dev-account 5
    """
    kind = "jsonl" if source.suffix.lower() in (".jsonl", ".ndjson") else "csv"
    total = sum(1 for _ in read_rows(source, kind))  # a first pass, for the bar's total
    ledger = run.ledger()
    report = RunReport()
    stopped: RegistrationStoppedError | None = None
    with _progress(enabled=not run.as_json and err.is_terminal) as bar:
        job = _Run(ledger, report, bar, skip_registered=skip_registered, total=total, atomic=atomic)
        outbox: list[Entry] = []
        try:
            for part in _chunks(job.entries(run.settings, source, kind), chunk):
                left = job.unregistered(part)
                outbox.extend(left)
                if atomic:  # checked; sent only once every line is
                    bar.advance(job.task, len(left))
                while not atomic and len(outbox) >= chunk:
                    job.send(outbox[:chunk])
                    del outbox[:chunk]
            if atomic and not report.failed:
                bar.reset(job.task, total=len(outbox), description="registering")
            if not (atomic and report.failed):
                for part in _chunks(outbox, chunk):
                    job.send(part)
        except RegistrationStoppedError as error:
            stopped = error
    if run.as_json:
        print_json(report.to_json(stopped))
    else:
        for line, reason in sorted(report.failed):
            err.print(f"{source}:{line}: {reason}", markup=False, highlight=False, soft_wrap=True)
        note = report.split_note()
        if note is not None:
            err.print(note, markup=False, highlight=False, soft_wrap=True)
        out.print(report.summary(atomic=atomic), markup=False, highlight=False)
    if stopped is not None:
        raise stopped
    if report.failed:
        raise typer.Exit(ExitCode.USAGE)
