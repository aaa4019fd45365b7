"""Registrant commands: hash, categories, register, anchor; and the options and plan that
describe one registration (register, sign)."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar, cast, get_type_hints

import orjson
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from provledger.categories import CATEGORIES, category_name, parse_category, parse_code
from provledger.chain.enums import Relation
from provledger.chain.events import AssetRegistered, BatchAnchored
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.chain.serialize import hex_bytes
from provledger.chain.types import ParentLink, Registration
from provledger.cli.arguments import parse_asset, parse_choice
from provledger.cli.base import ExitCode, JsonOption, app, complete, err, out
from provledger.cli.committed import (
    CommittedOption,
    CommittedPlan,
    ConfidentialContentOption,
    DocumentOutOption,
    keep_note,
    kept_unless_refused,
    plan_commitment,
)
from provledger.cli.output import print_json
from provledger.cli.session import ChainRun, chain_command
from provledger.commitments import commitment_uri
from provledger.config import Settings
from provledger.errors import InputError
from provledger.hashing import FolderManifest, folder_manifest, sha256_file
from provledger.store.blobs import BlobStore
from provledger.store.documents import BatchManifest

#: Inputs at least this large get a progress bar while they are hashed.
PROGRESS_BYTES = 64 << 20
#: The largest grade: the chain keeps it as a uint8. Which grades are known is for the
#: contract to say; the CLI only keeps web3 from being handed a value it cannot encode.
GRADE_MAX: Final = 0xFF

Action = TypeVar("Action", bound=Callable[..., None])


# ------------------------------------------------------------------ hashing
def _input_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # reported by the hashing itself
    return total


def hash_input(path: Path) -> tuple[bytes, FolderManifest | None]:
    """The content hash of a file or folder (with the folder's manifest), with a progress bar
    on a terminal for large inputs."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    size = _input_size(path)
    bar = Progress(
        TextColumn(f"hashing {path.name}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
        disable=size < PROGRESS_BYTES or not err.is_terminal,
    )
    with bar:
        task = bar.add_task("hash", total=size)

        def advance(length: int) -> None:
            bar.advance(task, length)

        if path.is_dir():
            manifest = folder_manifest(path, progress=advance)
            return manifest.root, manifest
        return sha256_file(path, progress=advance), None


@app.command("hash")
def hash_command(
    path: Annotated[Path, typer.Argument(help="A file, or a folder (hashed as a Merkle root).")],
    manifest_out: Annotated[
        Path | None,
        typer.Option("--manifest", "-m", help="Write a folder's manifest (JSON) to this file."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the content hash of a file (SHA-256) or a folder (Merkle root of its files) and
    the asset id it registers as.

    Example: provledger hash ./huangpu-air-raw --manifest raw.manifest.json
    """

    def run() -> None:
        content, manifest = hash_input(path)
        if manifest is not None and manifest_out is not None:
            manifest_out.write_text(manifest.to_json(), encoding="utf-8")
        result: dict[str, Any] = {
            "path": str(path),
            "kind": "folder" if manifest else "file",
            "content_hash": hex_bytes(content),
            "asset_id": asset_id_hex(asset_id(content)),
        }
        if manifest is not None:
            result["files"] = len(manifest.entries)
            result["bytes"] = sum(entry.size for entry in manifest.entries)
        if as_json:
            print_json(result)
            return
        what = f"folder of {result['files']:,} files" if manifest else "file"
        out.print(f"{result['content_hash']}  {path} ({what})", highlight=False)
        out.print(f"asset id {result['asset_id']}", highlight=False)
        if manifest is not None and manifest_out is not None:
            out.print(f"manifest written to {manifest_out}", highlight=False)

    complete(run)


@app.command("categories")
def categories_command(as_json: JsonOption = False) -> None:
    """List the published category codes and names.

    --category (register, sign) and the category column of register-many lists take a code
    or a name, in any case, whole or the start of only one name.

    Example: provledger categories --json
    """
    if as_json:
        print_json([{"code": code, "name": name} for code, name in sorted(CATEGORIES.items())])
        raise typer.Exit(ExitCode.OK)
    width = max(len("code"), *(len(str(code)) for code in CATEGORIES))
    out.print(f"{'code'.ljust(width)}  name", highlight=False)
    for code, name in sorted(CATEGORIES.items()):
        out.print(f"{str(code).ljust(width)}  {name}", highlight=False, soft_wrap=True)
    raise typer.Exit(ExitCode.OK)


# ------------------------------------------------------------------ metadata documents
def metadata_document(
    metadata_file: Path | None, title: str | None, description: str | None, fallback: str
) -> bytes:
    """The metadata document: a JSON object file, or one built from the flags."""
    if metadata_file is not None:
        if title is not None or description is not None:
            raise InputError("give --metadata FILE or --title/--description, not both")
        try:
            document = metadata_file.read_bytes()
        except OSError as error:
            raise InputError(
                f"cannot read metadata file {metadata_file}: {error.strerror}"
            ) from None
        try:
            parsed = orjson.loads(document)
        except orjson.JSONDecodeError as error:
            raise InputError(f"metadata file {metadata_file} is not JSON: {error}") from None
        if not isinstance(parsed, dict):
            raise InputError(f"metadata file {metadata_file} must hold a JSON object")
        return document
    fields = {"title": title if title is not None else fallback}
    if description is not None:
        fields["description"] = description
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def store_metadata(settings: Settings, document: bytes, uri: str | None) -> tuple[bytes, str]:
    """Keep the document in the blob folder; return its hash and the URI to anchor."""
    sha256 = BlobStore(settings.blob_dir).put(document)
    return bytes.fromhex(sha256[2:]), uri if uri is not None else f"sha256:{sha256[2:]}"


@dataclass(frozen=True)
class RegistrationPlan:
    """A registration as the user described it, checked: what :meth:`prepare` hashes."""

    path: Path
    category: int
    grade: int
    parents: tuple[ParentLink, ...]
    document: bytes
    metadata_uri: str | None
    committed: CommittedPlan | None = None

    @property
    def document_out(self) -> Path | None:
        """Where a committed registration's document goes; None for a plain one."""
        return None if self.committed is None else self.committed.out

    @property
    def committed_words(self) -> str:
        """What a summary adds for a committed registration: where its document is."""
        out = self.document_out
        return "" if out is None else f"; its metadata is committed, the document is in {out}"

    def prepare(self, settings: Settings) -> Registration:
        """Hash the file or folder and keep the metadata document (and a folder's manifest, so
        that one file of it can be verified later) in the blob folder; a committed document is
        written to its own file instead, and a folder's manifest kept only if the content hash
        is public."""
        content, manifest = hash_input(self.path)
        hidden = self.committed is not None and self.committed.confidential_content
        if manifest is not None and not hidden:
            BlobStore(settings.blob_dir).put(manifest.to_json().encode())
        if self.committed is None:
            meta_hash, uri = store_metadata(settings, self.document, self.metadata_uri)
            return Registration(content, uri, meta_hash, self.category, self.grade, self.parents)
        document = self.committed.keep(content)
        on_chain = content if document.content is None else document.content.commitment
        uri = commitment_uri(document.content is not None)
        return Registration(on_chain, uri, document.root, self.category, self.grade, self.parents)


def plan_registration(
    path: Path,
    category: int | str,
    grade: int,
    *,
    parents: Sequence[str] = (),
    metadata_file: Path | None = None,
    title: str | None = None,
    description: str | None = None,
    metadata_uri: str | None = None,
    committed: bool = False,
    confidential_content: bool = False,
    document_out: Path | None = None,
) -> RegistrationPlan:
    """Check the category (a code or a published name), grade and parents (``ID[:relation]``)
    and build the metadata document (from a file, or from the title and description), salted
    field by field when ``committed``, before any node is asked or anything hashed."""
    code = parse_category(category)
    parse_code(grade, "grade", GRADE_MAX)
    links = tuple(parse_parent(item) for item in parents)
    document = metadata_document(metadata_file, title, description, path.name)
    commitment = plan_commitment(
        document,
        path.resolve().name,
        committed=committed,
        confidential_content=confidential_content,
        document_out=document_out,
        metadata_uri=metadata_uri,
    )
    return RegistrationPlan(path, code, grade, links, document, metadata_uri, commitment)


def parse_parent(text: str) -> ParentLink:
    """``ID`` or ``ID:relation`` (derived-from by default)."""
    asset, _, relation = text.partition(":")
    kind = parse_choice(Relation, relation, "--parent relation") if relation else None
    return ParentLink(parse_asset(asset), kind or Relation.DERIVED_FROM)


TitleOption = Annotated[str | None, typer.Option(help="Title of the metadata document.")]
DescriptionOption = Annotated[
    str | None, typer.Option(help="Description in the metadata document.")
]
MetadataFileOption = Annotated[
    Path | None, typer.Option("--metadata", help="Metadata document: a JSON object file.")
]
ParentOption = Annotated[
    list[str] | None,
    typer.Option(help="A parent asset: ID or ID:derived-from|version-of|aggregate-of; repeatable."),
]
CategoryOption = Annotated[
    str,
    typer.Option(
        metavar="CODE|NAME",
        help="Category: a code or a published name, any case, or the start of one "
        "(provledger categories lists them).",
    ),
]
GradeOption = Annotated[int, typer.Option(help="1 general, 2 important, 3 core.")]
MetadataUriOption = Annotated[
    str | None,
    typer.Option(help="Where the metadata document lives [default: sha256:<its hash>]."),
]


def read_plan(
    path: Annotated[Path, typer.Argument(help="The file or folder to register.")],
    category: CategoryOption,
    grade: GradeOption = 1,
    title: TitleOption = None,
    description: DescriptionOption = None,
    metadata_file: MetadataFileOption = None,
    metadata_uri: MetadataUriOption = None,
    parent: ParentOption = None,
    committed: CommittedOption = False,
    confidential_content: ConfidentialContentOption = False,
    document_out: DocumentOutOption = None,
) -> RegistrationPlan:
    """The plan of the options that describe a registration (:func:`plan_registration`)."""
    return plan_registration(
        path,
        category,
        grade,
        parents=parent or (),
        metadata_file=metadata_file,
        title=title,
        description=description,
        metadata_uri=metadata_uri,
        committed=committed,
        confidential_content=confidential_content,
        document_out=document_out,
    )


def registration_options(action: Action) -> Action:
    """Give ``action(run, plan, ...its own options)``, a :func:`chain_command`, the options of
    :func:`read_plan` in place of ``plan``: the command lists them before its own, and the plan
    is read from them (checked, nothing hashed yet) before the action runs."""
    hints = get_type_hints(action, include_extras=True)
    first, _plan, *own = (
        parameter.replace(annotation=hints[parameter.name])
        for parameter in inspect.signature(action).parameters.values()
    )
    options = inspect.signature(read_plan, eval_str=True).parameters

    @functools.wraps(action)
    def command(run: ChainRun, **values: Any) -> None:
        plan = read_plan(**{name: values.pop(name) for name in options})
        action(run, plan, **values)

    signature = inspect.Signature([first, *options.values(), *own])
    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    del command.__wrapped__  # chain_command must read the signature above, not the action's
    return cast(Action, command)


@chain_command(app, "register", blobs=True)
@registration_options
def register_command(run: ChainRun, plan: RegistrationPlan) -> None:
    """Register a file or folder as a data asset held by the signing account.

    The metadata document (from --metadata, or built from --title and --description) is kept
    in the blob folder and its SHA-256 anchored with the asset. The category is a code or a
    published name (provledger categories): --category 301 and --category industrial are one.
    With --committed only the root of the document's salted fields is anchored, and the
    document goes to a file you keep (--document-out), never to the blob folder.

    Example: provledger register ./huangpu-air-raw --category 301 --grade 2 --title "Huangpu
    air quality, raw" --dev-account 5
    """
    ledger = run.ledger()
    registration = plan.prepare(run.settings)
    with kept_unless_refused(plan.document_out):
        receipt = ledger.registry.register(registration)
    registered = receipt.event(AssetRegistered)
    run.show(
        receipt,
        f"registered {plan.path} as asset {asset_id_hex(registered.asset_id)} "
        f"({category_name(plan.category)}, grade {plan.grade}){plan.committed_words}",
        asset_id=asset_id_hex(registered.asset_id),
        content_hash=hex_bytes(registration.content_hash),
        metadata_hash=hex_bytes(registration.metadata_hash),
        metadata_uri=registration.metadata_uri,
        **({} if plan.document_out is None else {"document": str(plan.document_out)}),
    )
    if plan.document_out is not None:
        keep_note(plan.document_out)


@chain_command(app, "anchor", blobs=True)
def anchor_command(
    run: ChainRun,
    folder: Annotated[Path, typer.Argument(help="A folder whose files are anchored as a batch.")],
) -> None:
    """Anchor every file of a folder in one transaction: a Merkle root over their SHA-256s.

    The batch manifest (provledger-batch/1) goes to the blob folder, so that the gateway can
    verify any file of the batch and hand out its inclusion proof.

    Example: provledger anchor ./daily-files --dev-account 5
    """
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder")
    _, manifest = hash_input(folder)
    assert manifest is not None
    leaves = sorted({hex_bytes(entry.sha256) for entry in manifest.entries})
    batch = BatchManifest(tuple(leaves))
    manifest_hash = BlobStore(run.settings.blob_dir).put(batch.to_json())
    root = batch.tree.root
    ledger = run.ledger()
    receipt = ledger.anchor.anchor(root, len(leaves), f"sha256:{manifest_hash[2:]}")
    anchored = receipt.event(BatchAnchored)
    run.show(
        receipt,
        f"anchored {len(leaves):,} distinct files of {folder} as batch {hex_bytes(root)}",
        root=hex_bytes(anchored.root),
        leaves=len(leaves),
        manifest_hash=manifest_hash,
    )
