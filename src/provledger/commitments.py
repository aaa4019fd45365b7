"""Committed metadata and selective disclosure: salted field leaves under one Merkle root.

A **committed metadata document** (``"format": "provledger-committed-metadata/1"``) is what a
holder keeps: every field of its metadata with a fresh 256-bit salt. Each field is a leaf
``(string name, bytes32 salt, bytes32 value_hash)`` of an OpenZeppelin StandardMerkleTree, where
``value_hash`` is keccak-256 of the value's canonical JSON (:func:`canonical_json`); the tree's
root is the commitment, anchored on chain as the asset's ``metadataHash``. The chain records the
kind of commitment in the ``metadataURI`` (:func:`commitment_uri`), so a verifier knows how to
check it.

A **presentation** (``"format": "provledger-disclosure/1"``, :class:`Presentation`) discloses
some fields: their names, salts and values, with an OpenZeppelin multiproof from their leaves to
the root, and names the asset, chain and registry it speaks of. :meth:`Presentation.check`
recomputes the root from what it discloses; that the root is the asset's on-chain metadata hash
is checked against a node by :mod:`provledger.services.disclosure`.

A **confidential content hash** (:class:`ContentCommitment`) puts ``keccak256(sha256 || salt)``
on chain in place of the file's SHA-256: the file and the salt give the commitment back, and the
asset id is the registry's id of the commitment.

Field values are JSON: text, integers (up to 2^53 - 1 either way, so a browser reads them
exactly), true, false, null, and arrays and objects of those; a fraction is written as text.
The canonical JSON of a value has no white space, object keys sorted by code point and
non-ASCII text as UTF-8, which is also what a browser's ``JSON.stringify`` writes after sorting.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from provledger.jsondoc import parse_json
from provledger.merkle import StandardMerkleTree, keccak256, leaf_hash
from provledger.merkle.multiproof import InvalidMultiproofError, multiproof, process_multiproof
from provledger.params import (
    InvalidParameterError,
    parse_address,
    parse_asset_id,
    parse_hex,
    to_hex32,
)

__all__ = [
    "CONTENT_KIND",
    "DOCUMENT_FORMAT",
    "FIELD_LEAF_TYPES",
    "METADATA_KIND",
    "PRESENTATION_FORMAT",
    "CommittedDocument",
    "CommittedField",
    "ContentCommitment",
    "Presentation",
    "canonical_json",
    "commitment_kinds",
    "commitment_uri",
    "value_hash",
]

METADATA_KIND: Final = "provledger-fields/1"
"""Salted ``(name, salt, value_hash)`` leaves under a StandardMerkleTree root."""
CONTENT_KIND: Final = "provledger-salted-sha256/1"
"""``keccak256(sha256 || salt)`` in place of the content hash."""
DOCUMENT_FORMAT: Final = "provledger-committed-metadata/1"
PRESENTATION_FORMAT: Final = "provledger-disclosure/1"
FIELD_LEAF_TYPES: Final = ("string", "bytes32", "bytes32")
URI_SCHEME: Final = "commitment:"
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


def _check_value(value: object, field: str) -> None:
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


def canonical_json(value: object, field: str = "value") -> bytes:
    """The canonical JSON of a field value (see the module's notes), UTF-8.

    Raises:
        InvalidParameterError: ``value`` holds a fraction, a too large integer or no JSON.
    """
    _check_value(value, field)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParameterError(field, "holds text that is not valid Unicode") from None


def value_hash(value: object, field: str = "value") -> bytes:
    """keccak-256 of the value's canonical JSON: the third part of its leaf."""
    return keccak256(canonical_json(value, field))


# ------------------------------------------------------------------ the committed document


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
class CommittedDocument:
    """A holder's committed metadata: every field salted, and the content commitment if the
    registration hides its content hash."""

    fields: tuple[CommittedField, ...]
    content: ContentCommitment | None = None

    @classmethod
    def of(
        cls, metadata: Mapping[str, Any], content_sha256: bytes | None = None
    ) -> CommittedDocument:
        """Commit to ``metadata`` (a JSON object's fields) with fresh salts, and to the content
        hash ``content_sha256`` if given."""
        fields = tuple(
            CommittedField(_name(name, f"metadata field {name!r}"), secrets.token_bytes(32), value)
            for name, value in metadata.items()
        )
        if not fields:
            raise InvalidParameterError("metadata", "a committed document needs at least one field")
        for field in fields:
            _check_value(field.value, field.name)
        content = None if content_sha256 is None else ContentCommitment.new(content_sha256)
        return cls(_checked_fields(fields, "metadata"), content)

    @property
    def tree(self) -> StandardMerkleTree:
        return StandardMerkleTree.of([field.leaf for field in self.fields], FIELD_LEAF_TYPES)

    @property
    def root(self) -> bytes:
        """The commitment: the metadata hash the chain records."""
        return self.tree.root

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "format": DOCUMENT_FORMAT,
            "kind": METADATA_KIND,
            "root": to_hex32(self.root),
            "fields": [field.to_json() for field in self.fields],
        }
        if self.content is not None:
            document["content"] = self.content.to_json()
        return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"

    @classmethod
    def parse(cls, data: bytes, what: str = "committed metadata document") -> CommittedDocument:
        """Read a document :meth:`to_json` wrote; its ``root`` (and content commitment) must be
        what its fields give.

        Raises:
            InvalidParameterError: a part is missing or malformed, named by its path.
        """
        raw = _object(parse_json(data, what=what), what)
        _expect(raw, "format", DOCUMENT_FORMAT)
        _expect(raw, "kind", METADATA_KIND)
        fields = _fields(raw.get("fields"), "fields")
        content = None if raw.get("content") is None else _content(raw["content"], "content")
        document = cls(fields, content)
        if _hash(raw.get("root"), "root") != document.root:
            raise InvalidParameterError("root", "is not the root of the document's fields")
        if content is not None:
            stated = _hash(raw["content"].get("commitment"), "content.commitment")
            if stated != content.commitment:
                raise InvalidParameterError(
                    "content.commitment", "is not keccak256(sha256 || salt) of the content"
                )
        return document

    def field_names(self) -> list[str]:
        return [field.name for field in self.fields]

    def present(
        self,
        names: Sequence[str],
        *,
        chain_id: int,
        registry: str,
        asset_id: int,
        content: bool = False,
    ) -> Presentation:
        """A presentation of the fields ``names`` (and of the content hash with ``content``).

        Raises:
            InvalidParameterError: a name is not a field of the document, or is given twice.
        """
        index = {field.name: i for i, field in enumerate(self.fields)}
        for name in names:
            if name not in index:
                raise InvalidParameterError(
                    "fields", f"{name!r} is not a field (the fields: {', '.join(index)})"
                )
        if len(set(names)) != len(names):
            raise InvalidParameterError("fields", "a field is named twice")
        proof = multiproof(self.tree, [index[name] for name in names])
        shown = tuple(self.fields[i] for i in proof.value_indices)
        disclosed = {field.name for field in shown}
        if content and self.content is None:
            raise InvalidParameterError("content", "this registration's content hash is public")
        return Presentation(
            chain_id=chain_id,
            registry=registry,
            asset_id=asset_id,
            root=self.root,
            fields=shown,
            withheld=tuple(name for name in index if name not in disclosed),
            proof=proof.proof,
            flags=proof.flags,
            content=self.content if content else None,
        )


# ------------------------------------------------------------------ presentations


@dataclass(frozen=True)
class Presentation:
    """Disclosed fields of a committed document, with the multiproof to its root.

    ``withheld`` names the fields not disclosed, as the holder states them; only the
    disclosed fields are proved.
    """

    chain_id: int
    registry: str
    asset_id: int
    root: bytes
    fields: tuple[CommittedField, ...]
    withheld: tuple[str, ...]
    proof: tuple[bytes, ...]
    flags: tuple[bool, ...]
    content: ContentCommitment | None = None

    def check(self) -> Presentation:
        """This presentation if its fields and proof give its root (and, if it discloses the
        content hash, nothing more to check here: the commitment is the chain's content hash).

        Raises:
            InvalidParameterError: the proof does not give the root, or does not fit the fields.
        """
        try:
            computed = process_multiproof(
                [leaf_hash(FIELD_LEAF_TYPES, field.leaf) for field in self.fields],
                self.proof,
                self.flags,
            )
        except InvalidMultiproofError as error:
            raise InvalidParameterError("proof", error.reason) from None
        if computed != self.root:
            raise InvalidParameterError(
                "proof",
                "the disclosed fields and the proof do not give the root: a name, salt, value "
                "or proof element is not the committed one",
            )
        return self

    @property
    def asset_hex(self) -> str:
        return f"0x{self.asset_id:064x}"

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "format": PRESENTATION_FORMAT,
            "kind": METADATA_KIND,
            "chain_id": self.chain_id,
            "registry": self.registry,
            "asset_id": self.asset_hex,
            "root": to_hex32(self.root),
            "fields": [field.to_json() for field in self.fields],
            "withheld": list(self.withheld),
            "proof": [to_hex32(node) for node in self.proof],
            "proof_flags": list(self.flags),
        }
        if self.content is not None:
            document["content"] = self.content.to_json()
        return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"

    @classmethod
    def parse(cls, data: bytes | str, what: str = "presentation") -> Presentation:
        """Read a presentation; every part is checked for shape (not yet against the root:
        :meth:`check`).

        Raises:
            InvalidParameterError: a part is missing, malformed, duplicated or of an unknown
                kind, named by its path (``fields[2].salt``).
        """
        raw = _object(parse_json(data, what=what, max_bytes=PRESENTATION_MAX_BYTES), what)
        _expect(raw, "format", PRESENTATION_FORMAT)
        _expect(raw, "kind", METADATA_KIND)
        chain_id = raw.get("chain_id")
        if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
            raise InvalidParameterError("chain_id", "must be a positive integer")
        fields = _fields(raw.get("fields"), "fields")
        withheld = _names(raw.get("withheld"), "withheld")
        clash = {field.name for field in fields} & set(withheld)
        if clash:
            raise InvalidParameterError("withheld", f"{sorted(clash)[0]!r} is also disclosed")
        proof = _list(raw.get("proof"), "proof")
        flags = _list(raw.get("proof_flags"), "proof_flags")
        if not all(isinstance(flag, bool) for flag in flags):
            raise InvalidParameterError("proof_flags", "must be a list of true and false")
        if len(fields) + len(proof) != len(flags) + 1:
            raise InvalidParameterError(
                "proof",
                f"{len(fields)} fields and {len(proof)} proof elements need "
                f"{len(fields) + len(proof) - 1} flags, got {len(flags)}",
            )
        content = None if raw.get("content") is None else _content(raw["content"], "content")
        return cls(
            chain_id=chain_id,
            registry=parse_address(_text(raw.get("registry"), "registry"), "registry"),
            asset_id=parse_asset_id(_text(raw.get("asset_id"), "asset_id"), "asset_id"),
            root=_hash(raw.get("root"), "root"),
            fields=fields,
            withheld=withheld,
            proof=tuple(_hash(node, f"proof[{i}]") for i, node in enumerate(proof)),
            flags=tuple(flags),
            content=content,
        )


# ------------------------------------------------------------------ reading parts


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParameterError(what, "must be a JSON object")
    return value


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidParameterError(field, "is missing or not text")
    return value


def _list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidParameterError(field, "is missing or not a list")
    return value


def _expect(raw: Mapping[str, Any], key: str, wanted: str, where: str = "") -> None:
    if raw.get(key) != wanted:
        raise InvalidParameterError(
            where + key, f"{raw.get(key)!r} is not a known {key}: this reader knows {wanted!r}"
        )


def _hash(value: object, field: str) -> bytes:
    return parse_hex(_text(value, field), field, 32)


def _name(value: object, field: str) -> str:
    name = _text(value, field)
    if not 0 < len(name) <= MAX_NAME:
        raise InvalidParameterError(field, f"a field name has 1 to {MAX_NAME} characters")
    return name


def _names(value: object, field: str) -> tuple[str, ...]:
    names = tuple(_name(name, f"{field}[{i}]") for i, name in enumerate(_list(value, field)))
    if len(set(names)) != len(names):
        raise InvalidParameterError(field, "names a field twice")
    return names


def _fields(value: object, field: str) -> tuple[CommittedField, ...]:
    parsed = []
    for i, item in enumerate(_list(value, field)):
        where = f"{field}[{i}]"
        raw = _object(item, where)
        if "value" not in raw:
            raise InvalidParameterError(f"{where}.value", "is missing")
        name = _name(raw.get("name"), f"{where}.name")
        _check_value(raw["value"], f"{where}.value")
        parsed.append(CommittedField(name, _hash(raw.get("salt"), f"{where}.salt"), raw["value"]))
    return _checked_fields(tuple(parsed), field)


def _checked_fields(fields: tuple[CommittedField, ...], field: str) -> tuple[CommittedField, ...]:
    if len(fields) > MAX_FIELDS:
        raise InvalidParameterError(field, f"more than {MAX_FIELDS} fields")
    seen: set[str] = set()
    for field_ in fields:
        if field_.name in seen:
            raise InvalidParameterError(field, f"the field {field_.name!r} appears twice")
        seen.add(field_.name)
    return fields


def _content(value: object, field: str) -> ContentCommitment:
    raw = _object(value, field)
    _expect(raw, "kind", CONTENT_KIND, f"{field}.")
    return ContentCommitment(
        _hash(raw.get("sha256"), f"{field}.sha256"), _hash(raw.get("salt"), f"{field}.salt")
    )
