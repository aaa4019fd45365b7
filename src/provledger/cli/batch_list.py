"""The list register-many reads: a CSV (with a header) or a JSONL file, one registration a line.

A line that is malformed fails alone, with its reason; the others are still read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, Final

from provledger.categories import parse_category, parse_code
from provledger.chain.types import Registration
from provledger.cli.registrant import GRADE_MAX, plan_registration
from provledger.config import Settings
from provledger.errors import InputError
from provledger.jsondoc import JsonDocumentError, echo, parse_json

#: Columns of a registration list; ``path`` and ``category`` are required.
COLUMNS: Final = ("path", "category", "grade", "title", "description", "metadata_uri", "parents")
HOUR: Final = 3600
#: The longest line of a JSONL list (1 MiB); a CSV cell is limited by ``csv.field_size_limit()``.
LINE_MAX_BYTES: Final = 1 << 20


def read_rows(source: Path, kind: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
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


def entry_registration(
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
