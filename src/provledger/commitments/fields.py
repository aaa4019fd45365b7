"""The parts of committed metadata: field names and values, leaves, the header, the content
commitment, and the readers of their JSON form (:mod:`provledger.commitments` explains it all)."""

from __future__ import annotations

import json
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Final

from provledger.merkle import keccak256
from provledger.params import InvalidParameterError, parse_hex, to_hex32

METADATA_KIND: Final = "provledger-fields/1"
"""Salted ``(name, salt, value_hash)`` leaves under a StandardMerkleTree root."""
CONTENT_KIND: Final = "provledger-salted-sha256/1"
"""``keccak256(sha256 || salt)`` in place of the content hash."""
DOCUMENT_FORMAT: Final = "provledger-committed-metadata/1"
PRESENTATION_FORMAT: Final = "provledger-disclosure/1"
FIELD_LEAF_TYPES: Final = ("string", "bytes32", "bytes32")
URI_SCHEME: Final = "commitment:"
HEADER_FIELD: Final = "@registration"
"""The field every committed document has and every presentation discloses: the content hash
the registration records and the names of the document's own fields, so a presentation proves
which asset it is of and which fields it withholds."""
#: Characters a field name may not hold: controls, format and invisible marks, surrogates,
#: private and unassigned code points, line and paragraph separators.
_NOT_IN_NAMES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
MAX_FIELDS: Final = 256
MAX_NAME: Final = 64
SALT_BYTES: Final = 32
MAX_SAFE_INTEGER: Final = (1 << 53) - 1
PRESENTATION_MAX_BYTES: Final = 1 << 20


def commitment_uri(content: bool) -> str:
    """The ``metadataURI`` of a committed registration: the kinds it commits with."""
    kinds = URI_SCHEME + METADATA_KIND
    return kinds + (f";content={CONTENT_KIND}" if content else "")


def commitment_kinds(uri: str) -> tuple[str, str | None] | None:
    """``(metadata kind, content kind or None)`` of a committed registration's URI; ``None``
    for any other URI (a plain metadata document)."""
    if not uri.startswith(URI_SCHEME):
        return None
    metadata, _, rest = uri[len(URI_SCHEME) :].partition(";")
    content = rest.removeprefix("content=") if rest.startswith("content=") else None
    return metadata, content


# ------------------------------------------------------------------ values


def check_value(value: object, field: str) -> None:
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if abs(item) > MAX_SAFE_INTEGER:
                raise InvalidParameterError(field, "integers past 2^53 - 1 must be written as text")
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        else:
            raise InvalidParameterError(
                field, f"a {type(item).__name__} is no field value; write fractions as text"
            )


def check_metadata(metadata: Mapping[str, Any]) -> None:
    """Refuse, naming the field, a metadata document that cannot be committed: no fields, more
    than :data:`MAX_FIELDS`, a name :func:`read_name` refuses, or a value :func:`check_value`
    refuses."""
    if not metadata:
        raise InvalidParameterError("metadata", "a committed document needs at least one field")
    if len(metadata) > MAX_FIELDS:
        raise InvalidParameterError("metadata", f"more than {MAX_FIELDS} fields")
    for name, value in metadata.items():
        check_value(value, read_name(name, f"metadata field {name!r}"))


def canonical_json(value: object, field: str = "value") -> bytes:
    """The canonical JSON of a field value (see the module's notes), UTF-8.

    Raises:
        InvalidParameterError: ``value`` holds a fraction, a too large integer or no JSON.
    """
    check_value(value, field)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParameterError(field, "holds text that is not valid Unicode") from None


def value_hash(value: object, field: str = "value") -> bytes:
    """keccak-256 of the value's canonical JSON: the third part of its leaf."""
    return keccak256(canonical_json(value, field))


# ------------------------------------------------------------------ fields and the header


@dataclass(frozen=True)
class CommittedField:
    """One field of a committed document, with its salt."""

    name: str
    salt: bytes
    value: Any

    @property
    def leaf(self) -> tuple[str, bytes, bytes]:
        """The field's leaf values, in :data:`FIELD_LEAF_TYPES`."""
        return (self.name, self.salt, value_hash(self.value, self.name))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "salt": to_hex32(self.salt), "value": self.value}


@dataclass(frozen=True)
class ContentCommitment:
    """A confidential content hash: the file's SHA-256 and the salt that hides it."""

    kind: ClassVar[str] = CONTENT_KIND
    sha256: bytes
    salt: bytes

    @property
    def commitment(self) -> bytes:
        """What the chain records as the content hash: ``keccak256(sha256 || salt)``."""
        return keccak256(self.sha256 + self.salt)

    @classmethod
    def new(cls, sha256: bytes) -> ContentCommitment:
        return cls(sha256, secrets.token_bytes(SALT_BYTES))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "sha256": to_hex32(self.sha256),
            "salt": to_hex32(self.salt),
            "commitment": to_hex32(self.commitment),
        }


@dataclass(frozen=True)
class Header:
    """What the :data:`HEADER_FIELD` of a committed document says: the content hash the
    registration records, and the names of the document's own fields, sorted."""

    content_hash: bytes
    names: tuple[str, ...]

    @classmethod
    def of(cls, fields: Sequence[CommittedField], where: str) -> Header:
        """The header among ``fields``; :class:`InvalidParameterError` naming ``where`` if there
        is none or it is malformed."""
        found = next((field for field in fields if field.name == HEADER_FIELD), None)
        if found is None:
            raise InvalidParameterError(where, f"the {HEADER_FIELD} field is missing")
        at = f"{where}.{HEADER_FIELD}"
        value = read_object(found.value, at)
        if set(value) != {"content_hash", "fields"}:
            raise InvalidParameterError(at, "holds content_hash and fields, nothing else")
        names = read_names(value["fields"], f"{at}.fields")
        if list(names) != sorted(names):
            raise InvalidParameterError(f"{at}.fields", "must be sorted")
        return cls(read_hash(value["content_hash"], f"{at}.content_hash"), names)

    def value(self) -> dict[str, Any]:
        return {"content_hash": to_hex32(self.content_hash), "fields": list(self.names)}


class FieldSet:
    """Committed fields with the :data:`HEADER_FIELD` among them: a whole document's, or the
    fields a presentation discloses."""

    fields: tuple[CommittedField, ...]

    @cached_property
    def header(self) -> Header:
        return Header.of(self.fields, "fields")

    @property
    def content_hash(self) -> bytes:
        """The content hash the registration records (the file's SHA-256, or its commitment),
        as the header says."""
        return self.header.content_hash

    @property
    def own_fields(self) -> tuple[CommittedField, ...]:
        """The fields of the document itself, without the header."""
        return tuple(field for field in self.fields if field.name != HEADER_FIELD)


# ------------------------------------------------------------------ reading parts


def read_object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParameterError(what, "must be a JSON object")
    return value


def read_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidParameterError(field, "is missing or not text")
    return value


def read_list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidParameterError(field, "is missing or not a list")
    return value


def expect(raw: Mapping[str, Any], key: str, wanted: str, where: str = "") -> None:
    if raw.get(key) != wanted:
        raise InvalidParameterError(
            where + key, f"{raw.get(key)!r} is not a known {key}: this reader knows {wanted!r}"
        )


def read_hash(value: object, field: str) -> bytes:
    return parse_hex(read_text(value, field), field, 32)


def read_name(value: object, field: str, *, header: bool = False) -> str:
    """A field name: 1 to 64 characters of NFC text with no control, format or invisible
    character and no space at either end; names starting with ``@`` are reserved (the
    :data:`HEADER_FIELD` where ``header`` allows it)."""
    name = read_text(value, field)
    if not 0 < len(name) <= MAX_NAME:
        raise InvalidParameterError(field, f"a field name has 1 to {MAX_NAME} characters")
    if any(unicodedata.category(char) in _NOT_IN_NAMES for char in name):
        raise InvalidParameterError(field, "a field name holds no control or invisible character")
    if name != name.strip() or unicodedata.normalize("NFC", name) != name:
        raise InvalidParameterError(field, "a field name is NFC text with no space at its ends")
    if name.startswith("@") and not (header and name == HEADER_FIELD):
        raise InvalidParameterError(field, f"names starting with @ are reserved ({name!r})")
    return name


def read_names(value: object, field: str) -> tuple[str, ...]:
    names = tuple(
        read_name(name, f"{field}[{i}]") for i, name in enumerate(read_list(value, field))
    )
    if len(set(names)) != len(names):
        raise InvalidParameterError(field, "names a field twice")
    return names


def read_fields(value: object, field: str) -> tuple[CommittedField, ...]:
    parsed = []
    for i, item in enumerate(read_list(value, field)):
        where = f"{field}[{i}]"
        raw = read_object(item, where)
        if "value" not in raw:
            raise InvalidParameterError(f"{where}.value", "is missing")
        name = read_name(raw.get("name"), f"{where}.name", header=True)
        check_value(raw["value"], f"{where}.value")
        parsed.append(
            CommittedField(name, read_hash(raw.get("salt"), f"{where}.salt"), raw["value"])
        )
    return checked_fields(tuple(parsed), field)


def checked_fields(fields: tuple[CommittedField, ...], field: str) -> tuple[CommittedField, ...]:
    if len(fields) > MAX_FIELDS:
        raise InvalidParameterError(field, f"more than {MAX_FIELDS} fields")
    seen: set[str] = set()
    for field_ in fields:
        if field_.name in seen:
            raise InvalidParameterError(field, f"the field {field_.name!r} appears twice")
        seen.add(field_.name)
    return fields


def read_content(value: object, field: str) -> ContentCommitment:
    raw = read_object(value, field)
    expect(raw, "kind", CONTENT_KIND, f"{field}.")
    return ContentCommitment(
        read_hash(raw.get("sha256"), f"{field}.sha256"), read_hash(raw.get("salt"), f"{field}.salt")
    )
