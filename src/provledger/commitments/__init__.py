"""Committed metadata and selective disclosure: salted field leaves under one Merkle root.

A **committed metadata document** (``"format": "provledger-committed-metadata/1"``) is what a
holder keeps: every field of its metadata with a fresh 256-bit salt. Each field is a leaf
``(string name, bytes32 salt, bytes32 value_hash)`` of an OpenZeppelin StandardMerkleTree, where
``value_hash`` is keccak-256 of the value's canonical JSON (:func:`canonical_json`); the tree's
root is the commitment, anchored on chain as the asset's ``metadataHash``. The chain records the
kind of commitment in the ``metadataURI`` (:func:`commitment_uri`), so a verifier knows how to
check it.

Every document also has one header field, ``@registration`` (:data:`HEADER_FIELD`,
:class:`Header`): the content hash the registration records and the sorted names of the
document's own fields. A presentation always discloses it, so it proves which registration it is
of (a copy of the root anchored by another asset does not carry its fields over) and which fields
it withholds (their names, never their values). The parts live in
:mod:`provledger.commitments.fields`.

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
from functools import cached_property
from typing import Any

from provledger.commitments.fields import (
    CONTENT_KIND,
    DOCUMENT_FORMAT,
    FIELD_LEAF_TYPES,
    HEADER_FIELD,
    MAX_SAFE_INTEGER,
    METADATA_KIND,
    PRESENTATION_FORMAT,
    PRESENTATION_MAX_BYTES,
    SALT_BYTES,
    CommittedField,
    ContentCommitment,
    FieldSet,
    Header,
    canonical_json,
    check_metadata,
    commitment_kinds,
    commitment_uri,
    expect,
    read_content,
    read_fields,
    read_hash,
    read_list,
    read_names,
    read_object,
    read_text,
    value_hash,
)
from provledger.jsondoc import parse_json
from provledger.merkle import StandardMerkleTree, leaf_hash
from provledger.merkle.multiproof import InvalidMultiproofError, multiproof, process_multiproof
from provledger.params import (
    InvalidParameterError,
    checksum,
    parse_address,
    parse_asset_id,
    to_hex32,
)

__all__ = [
    "CONTENT_KIND",
    "DOCUMENT_FORMAT",
    "FIELD_LEAF_TYPES",
    "HEADER_FIELD",
    "MAX_SAFE_INTEGER",
    "METADATA_KIND",
    "PRESENTATION_FORMAT",
    "PRESENTATION_MAX_BYTES",
    "SALT_BYTES",
    "CommittedDocument",
    "CommittedField",
    "ContentCommitment",
    "FieldSet",
    "Header",
    "Presentation",
    "canonical_json",
    "check_metadata",
    "commitment_kinds",
    "commitment_uri",
    "value_hash",
]


@dataclass(frozen=True)
class CommittedDocument(FieldSet):
    """A holder's committed metadata: every field salted, the :data:`HEADER_FIELD` that binds
    them to the registration's content hash, and the content commitment if the registration
    hides its content hash."""

    fields: tuple[CommittedField, ...]
    content: ContentCommitment | None = None

    @classmethod
    def of(
        cls,
        metadata: Mapping[str, Any],
        content_sha256: bytes,
        *,
        confidential: bool = False,
        commitment: ContentCommitment | None = None,
    ) -> CommittedDocument:
        """Commit to ``metadata`` (a JSON object's fields, :func:`check_metadata`) with fresh
        salts, for the content whose SHA-256 (or folder root) is ``content_sha256``;
        ``confidential`` hides that too behind a salted commitment, which is then the content
        hash the chain records (a revision keeps the registration's ``commitment``)."""
        check_metadata(metadata)
        own = tuple(
            CommittedField(name, secrets.token_bytes(SALT_BYTES), value)
            for name, value in metadata.items()
        )
        content = commitment
        if content is None and confidential:
            content = ContentCommitment.new(content_sha256)
        if content is not None and content.sha256 != content_sha256:
            raise ValueError("the content commitment is of another content hash")
        registered = content.commitment if content is not None else content_sha256
        header = Header(registered, tuple(sorted(metadata)))
        first = CommittedField(HEADER_FIELD, secrets.token_bytes(SALT_BYTES), header.value())
        return cls((first, *own), content)

    @cached_property
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
        raw = read_object(parse_json(data, what=what), what)
        expect(raw, "format", DOCUMENT_FORMAT)
        expect(raw, "kind", METADATA_KIND)
        fields = read_fields(raw.get("fields"), "fields")
        content = None if raw.get("content") is None else read_content(raw["content"], "content")
        document = cls(fields, content)
        own = sorted(field.name for field in document.own_fields)
        if list(document.header.names) != own:
            raise InvalidParameterError(
                f"fields.{HEADER_FIELD}.fields", "does not name exactly the document's fields"
            )
        if content is not None and content.commitment != document.content_hash:
            raise InvalidParameterError(
                f"fields.{HEADER_FIELD}.content_hash", "is not the content commitment"
            )
        if read_hash(raw.get("root"), "root") != document.root:
            raise InvalidParameterError("root", "is not the root of the document's fields")
        if content is not None:
            stated = read_hash(raw["content"].get("commitment"), "content.commitment")
            if stated != content.commitment:
                raise InvalidParameterError(
                    "content.commitment", "is not keccak256(sha256 || salt) of the content"
                )
        return document

    def field_names(self) -> list[str]:
        """The names of the document's own fields, in its order."""
        return [field.name for field in self.own_fields]

    def present(
        self,
        names: Sequence[str],
        *,
        chain_id: int,
        registry: str,
        asset_id: int,
        content: bool = False,
    ) -> Presentation:
        """A presentation of the fields ``names`` (and of the content hash with ``content``);
        the header is always disclosed.

        Raises:
            InvalidParameterError: a name is not a field of the document, or is given twice.
        """
        index = {field.name: i for i, field in enumerate(self.fields)}
        own = self.field_names()
        for name in names:
            if name not in own:
                raise InvalidParameterError(
                    "fields", f"{name!r} is not a field (the fields: {', '.join(own)})"
                )
        if len(set(names)) != len(names):
            raise InvalidParameterError("fields", "a field is named twice")
        proof = multiproof(self.tree, [index[HEADER_FIELD], *(index[name] for name in names)])
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
            withheld=tuple(name for name in own if name not in disclosed),
            proof=proof.proof,
            flags=proof.flags,
            content=self.content if content else None,
        )


# ------------------------------------------------------------------ presentations


@dataclass(frozen=True)
class Presentation(FieldSet):
    """Disclosed fields of a committed document, with the multiproof to its root.

    ``fields`` are the disclosed leaves, the :data:`HEADER_FIELD` among them, in the multiproof's
    order; ``withheld`` names the fields not disclosed, which the header proves (their values
    stay hidden).
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
        """This presentation if its fields and proof give its root and the header names exactly
        the fields disclosed and withheld (a disclosed content hash is checked against the
        chain's, :mod:`provledger.services.disclosure`).

        Raises:
            InvalidParameterError: the proof does not give the root, or does not fit the fields;
                the names do not fit the header.
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
        header = self.header
        stated = sorted([*(field.name for field in self.own_fields), *self.withheld])
        if list(header.names) != stated:
            raise InvalidParameterError(
                "withheld",
                f"the committed fields are {', '.join(header.names)}; the presentation discloses "
                f"and withholds {', '.join(stated)}",
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
        raw = read_object(parse_json(data, what=what, max_bytes=PRESENTATION_MAX_BYTES), what)
        expect(raw, "format", PRESENTATION_FORMAT)
        expect(raw, "kind", METADATA_KIND)
        chain_id = raw.get("chain_id")
        if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
            raise InvalidParameterError("chain_id", "must be a positive integer")
        fields = read_fields(raw.get("fields"), "fields")
        Header.of(fields, "fields")
        withheld = read_names(raw.get("withheld"), "withheld")
        clash = {field.name for field in fields} & set(withheld)
        if clash:
            raise InvalidParameterError("withheld", f"{sorted(clash)[0]!r} is also disclosed")
        proof = read_list(raw.get("proof"), "proof")
        flags = read_list(raw.get("proof_flags"), "proof_flags")
        if not all(isinstance(flag, bool) for flag in flags):
            raise InvalidParameterError("proof_flags", "must be a list of true and false")
        if len(fields) + len(proof) != len(flags) + 1:
            raise InvalidParameterError(
                "proof",
                f"{len(fields)} fields and {len(proof)} proof elements need "
                f"{len(fields) + len(proof) - 1} flags, got {len(flags)}",
            )
        content = None if raw.get("content") is None else read_content(raw["content"], "content")
        return cls(
            chain_id=chain_id,
            registry=checksum(
                parse_address(read_text(raw.get("registry"), "registry"), "registry")
            ),
            asset_id=parse_asset_id(read_text(raw.get("asset_id"), "asset_id"), "asset_id"),
            root=read_hash(raw.get("root"), "root"),
            fields=fields,
            withheld=withheld,
            proof=tuple(read_hash(node, f"proof[{i}]") for i, node in enumerate(proof)),
            flags=tuple(flags),
            content=content,
        )
