"""Committed metadata on the command line: the options of a registration or revision that
commits to its metadata field by field, and the document the holder keeps.

A committed registration anchors the root of the metadata's salted fields
(:class:`~provledger.commitments.CommittedDocument`) and a ``commitment:`` metadata URI naming
the kind; the document itself, every field with its salt, is written to a new file only its
owner may read, never to the blob folder. Without it no field can be disclosed, so it is
written before the transaction is sent, and removed only when the contract refused the
transaction (nothing on chain anchors it then).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

import typer

from provledger.chain.client import Provledger
from provledger.chain.ids import asset_id_hex
from provledger.chain.reverts import ContractRevertError
from provledger.chain.transactions import GasCapExceededError, TransactionFailedError
from provledger.cli.base import ExitCode, err, fail
from provledger.cli.session import ChainRun
from provledger.commitments import (
    CONTENT_KIND,
    METADATA_KIND,
    CommittedDocument,
    check_metadata,
    commitment_uri,
)
from provledger.errors import InputError
from provledger.jsondoc import JsonDocumentError, parse_json
from provledger.params import InvalidParameterError, to_hex32
from provledger.services.disclosure import RegisteredCommitment, registered_commitment

T = TypeVar("T")

#: What the name of a committed document written by default ends with.
DOCUMENT_SUFFIX: Final = ".committed.json"
#: A committed document is secret: its owner alone reads it.
DOCUMENT_MODE: Final = 0o600

CommittedOption = Annotated[
    bool,
    typer.Option(
        "--committed",
        help="Commit to each metadata field instead of publishing the document: only the root "
        "of its salted fields goes on chain, and the document with its salts is written to "
        "--document-out for you to keep (provledger disclose shows the fields you choose).",
    ),
]
ConfidentialContentOption = Annotated[
    bool,
    typer.Option(
        "--confidential-content",
        help="With --committed: record keccak256(sha256 || salt) on chain in place of the "
        "content hash, for data whose hash would give it away; the salt is in the document.",
    ),
]
DocumentOutOption = Annotated[
    Path | None,
    typer.Option(
        "--document-out",
        help="With --committed: where to write the committed document [default: "
        f"NAME{DOCUMENT_SUFFIX} in this folder]; an existing file is never overwritten.",
    ),
]

PreviousDocumentOption = Annotated[
    Path | None,
    typer.Option(
        "--document",
        help="With --committed: the asset's committed document, whose content salt a "
        "revision keeps (needed when the content hash is confidential).",
    ),
]


def document_target(path: Path | None, name: str) -> Path:
    """Where a committed document goes: ``path``, or ``NAME.committed.json`` here; refused if
    something is there already (checked before anything is hashed or sent)."""
    target = path if path is not None else Path(name + DOCUMENT_SUFFIX)
    if target.exists() or target.is_symlink():
        raise InputError(
            f"{target} exists: a committed document is never overwritten; give --document-out "
            "another path"
        )
    return target


def write_document(path: Path, document: CommittedDocument) -> None:
    """Write ``document`` to the new file ``path``, readable by its owner only, on disk before
    this returns."""
    write_private(path, document.to_json())


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``path``, readable by its owner only, on disk before this
    returns: a committed document holds every salt, withheld values too."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DOCUMENT_MODE)
    with os.fdopen(descriptor, "wb") as sink:
        sink.write(data)
        sink.flush()
        os.fsync(sink.fileno())


@contextmanager
def kept_unless_refused(path: Path | None) -> Iterator[None]:
    """Inside, the transaction that anchors the document at ``path`` is sent: if the contract
    refuses it, the document is removed (nothing anchors it); any other failure keeps it, since
    the transaction may have been mined."""
    try:
        yield
    except (ContractRevertError, TransactionFailedError, GasCapExceededError):
        if path is not None:
            path.unlink(missing_ok=True)
        raise


def keep_note(path: Path) -> None:
    """Tell the holder, on standard error, what the document is for."""
    err.print(
        f"note: keep {path} (and a copy) safe: the chain holds only its root, and no field "
        "can be disclosed without it",
        highlight=False,
        soft_wrap=True,
    )


def salted_fields(metadata: bytes) -> dict[str, Any]:
    """The fields of a metadata document (a JSON object), checked to be committable: a name or
    a value that cannot be (a fraction, a control character) is refused, named by its field."""
    fields = parse_json(metadata, what="metadata document")
    if not isinstance(fields, dict):
        raise InputError("the metadata document must hold a JSON object")
    check_metadata(fields)
    return fields


def read_committed(path: Path, what: str, parse: Callable[[bytes, str], T]) -> T:
    """The document in ``path`` read by ``parse`` (a committed document's or a presentation's
    ``parse``); one that does not read exits 1 with the part named (``fields[2].salt``)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {what} {path}: {error.strerror}") from None
    try:
        return parse(data, f"{what} {path}")
    except JsonDocumentError as error:
        fail(str(error), ExitCode.NEGATIVE)
    except InvalidParameterError as error:
        fail(f"{what} {path}: {error}", ExitCode.NEGATIVE)


def read_document(path: Path) -> CommittedDocument:
    """The committed document in ``path`` (:func:`read_committed`); its root must be what its
    fields give."""
    return read_committed(path, "committed document", CommittedDocument.parse)


def registration_on_chain(ledger: Provledger, asset: int, max_range: int) -> RegisteredCommitment:
    """What the chain says of the registration of ``asset`` (:func:`registered_commitment`, logs
    read ``max_range`` blocks at a time); not registered is a usage error."""
    record = registered_commitment(
        ledger.w3, ledger.registry.address, ledger.deployment.block_number, asset, max_range
    )
    if record is None:
        raise InputError(
            f"asset {asset_id_hex(asset)} is not registered on chain {ledger.deployment.chain_id}"
        )
    return record


def commitment_on_chain(ledger: Provledger, asset: int, max_range: int) -> RegisteredCommitment:
    """What the chain says of the committed registration of ``asset``; not registered is a
    usage error, registered without a field commitment exits 1."""
    record = registration_on_chain(ledger, asset, max_range)
    if record.kinds is None or record.kinds[0] != METADATA_KIND:
        fail(
            f"asset {asset_id_hex(asset)} has no committed metadata: its metadata URI is "
            f"{record.metadata_uri!r}, not a {METADATA_KIND} commitment",
            ExitCode.NEGATIVE,
        )
    return record


def check_content(document: CommittedDocument, path: Path, record: RegisteredCommitment) -> None:
    """Exit 1 if ``document`` commits to a content hash that is not the asset's."""
    if document.content is not None and document.content.commitment != record.content_hash:
        fail(
            f"committed document {path}: content.commitment "
            f"{to_hex32(document.content.commitment)} is not asset "
            f"{asset_id_hex(record.asset_id)}'s content hash {to_hex32(record.content_hash)}",
            ExitCode.NEGATIVE,
        )


@dataclass(frozen=True)
class CommittedPlan:
    """A committed registration as planned: its fields and where the document goes."""

    metadata: dict[str, Any]
    out: Path
    confidential_content: bool

    def keep(self, content: bytes) -> CommittedDocument:
        """The document of the content whose hash is ``content``, every field salted (and the
        content hash too if it is confidential), written to :attr:`out`."""
        document = CommittedDocument.of(
            self.metadata, content, confidential=self.confidential_content
        )
        write_document(self.out, document)
        return document


def plan_commitment(
    metadata: bytes,
    name: str,
    *,
    committed: bool,
    confidential_content: bool,
    document_out: Path | None,
    metadata_uri: str | None,
) -> CommittedPlan | None:
    """The committed plan of a registration's options (``name``: the default document's
    name), or None for a plain registration; options that need ``--committed`` are refused
    without it."""
    if not committed:
        if confidential_content:
            raise InputError("--confidential-content needs --committed")
        if document_out is not None:
            raise InputError("--document-out needs --committed")
        return None
    if metadata_uri is not None:
        raise InputError(
            "--metadata-uri does not go with --committed: a committed registration's metadata "
            "URI names its kind of commitment"
        )
    return CommittedPlan(
        salted_fields(metadata), document_target(document_out, name), confidential_content
    )


def revise_committed(
    run: ChainRun,
    asset: int,
    metadata: bytes,
    *,
    previous: Path | None,
    document_out: Path | None,
    metadata_uri: str | None,
) -> None:
    """Anchor a committed revision of ``asset``'s metadata (``metadata update --committed``):
    new salts for every field; a confidential content hash keeps its salt, read from the
    ``previous`` document."""
    plan = plan_commitment(
        metadata,
        asset_id_hex(asset),
        committed=True,
        confidential_content=False,
        document_out=document_out,
        metadata_uri=metadata_uri,
    )
    assert plan is not None
    kept = None if previous is None else read_document(previous)
    ledger = run.ledger()
    record = registration_on_chain(ledger, asset, run.settings.max_block_range)
    content = None
    if previous is not None and kept is not None and kept.content is not None:
        check_content(kept, previous, record)
        content = kept.content
    if content is None and record.content_kind == CONTENT_KIND:
        raise InputError(
            f"asset {asset_id_hex(asset)}'s content hash is confidential: give --document with "
            "its committed document, so that the revision keeps the content's salt"
        )
    sha256 = record.content_hash if content is None else content.sha256
    revision = CommittedDocument.of(plan.metadata, sha256, commitment=content)
    uri = commitment_uri(content is not None)
    write_document(plan.out, revision)
    with kept_unless_refused(plan.out):
        receipt = ledger.registry.update_metadata(asset, uri, revision.root)
    run.show(
        receipt,
        f"metadata of {asset_id_hex(asset)} is now committed to {to_hex32(revision.root)}; "
        f"the document is in {plan.out}",
        metadata_hash=to_hex32(revision.root),
        metadata_uri=uri,
        document=str(plan.out),
    )
    keep_note(plan.out)
