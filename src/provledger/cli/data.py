"""``provledger data``: put an asset's bytes in a gateway's data room, get what the chain allows
you, read your assets' access log, and check access receipts.

Every request to the room is signed here with the command's account (EIP-712, valid five
minutes of chain time); a download is checked against the asset's content hash, which the asset
id commits to, before it is renamed into place, and an interrupted one resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import IO, Annotated, Any, Final

import requests
import typer
from eth_account.signers.local import LocalAccount
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from provledger.chain.client import Provledger
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.chain.types import AssetState
from provledger.cli.acts import chain_time
from provledger.cli.arguments import AssetArgument, parse_asset
from provledger.cli.base import (
    command_group,
    err,
    out,
    settings_from,
)
from provledger.cli.gateway import (
    GatewayOption,
    gateway_request,
    require_gateway,
)
from provledger.cli.registrant import hash_input
from provledger.cli.session import ChainRun, chain_command
from provledger.config import Settings
from provledger.errors import InputError, ServiceUnavailableError
from provledger.hashing import sha256_file
from provledger.hashing.folders import verify_file_membership
from provledger.params import parse_hash_bytes, to_hex32
from provledger.services.delivery.requests import (
    SIGNATURE_HEADER,
    SIGNATURE_LIFETIME,
    Domain,
    sign_access,
    sign_upload,
)
from provledger.services.delivery.streams import TAR

data_app = command_group(
    "data", "The data room: put an asset's bytes in a gateway, get what the chain allows you."
)

#: Bytes read or written at a time.
CHUNK: Final = 1 << 20
#: Bytes of a download read at a time: a link that drops loses what it was reading, the rest
#: stays in the part file to resume from.
RECEIVE_BLOCK: Final = 64 << 10
#: Seconds a transfer may stall before it is given up.
TRANSFER_TIMEOUT: Final = 60.0
PARTIAL_CONTENT: Final = HTTPStatus.PARTIAL_CONTENT
RANGE_NOT_SATISFIABLE: Final = HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE


class DataRoomRefusedError(InputError):
    """The data room answered 4xx: the request's signer, asset or range is refused."""

    template = "the data room refused ({status}): {detail}"
    status: int
    detail: str


class TransferBrokenError(ServiceUnavailableError):
    """A download ended before its last byte; what came is kept to resume from."""

    template = (
        "cannot reach the gateway at {url}: the download of {target} broke off after "
        "{received:,} of {total:,} bytes; run the command again to resume"
    )
    url: str
    target: str
    received: int
    total: int


class DownloadMismatchError(ServiceUnavailableError):
    """The bytes downloaded are not the asset's: they were discarded."""

    template = (
        "the bytes downloaded into {target} hash to {actual}, not to the asset's {expected}: "
        "discarded; run the command again to download them anew"
    )
    target: str
    actual: str
    expected: str


PurposeOption = Annotated[
    str,
    typer.Option(help="Why you want the data; signed, and kept in the access log."),
]
OutputOption = Annotated[
    Path, typer.Option("--output", "-o", help="Where to write the file (or the folder).")
]


def room_gateway(settings: Settings, gateway: str | None) -> str:
    return require_gateway(settings_from(gateway_url=gateway) if gateway else settings)


def signing_account(ledger: Provledger) -> LocalAccount:
    """The command's account (:func:`open_ledger` with ``sign`` always has one)."""
    assert ledger.account is not None
    return ledger.account


def signature_deadline(ledger: Provledger) -> Callable[[], int]:
    """The deadline of a request signed at any moment from now: the chain's time, read once,
    advanced by the time since, plus the lifetime (a folder's files each need a signature;
    the node is not asked for each)."""
    head, started = chain_time(ledger), time.monotonic()
    return lambda: head + int(time.monotonic() - started) + SIGNATURE_LIFETIME


def signed_now(ledger: Provledger, sign: Callable[..., str], *fields: Any) -> str:
    """The request ``sign`` makes of ``fields`` (``sign_upload``, ``sign_access``, ...), signed
    by the command's account for this deployment, valid from the chain's time now."""
    deadline = signature_deadline(ledger)()
    return sign(signing_account(ledger), Domain.of(ledger), *fields, deadline=deadline)


def room_request(method: str, base: str, path: str, **options: Any) -> requests.Response:
    """One request to the room; a network failure or 5xx is exit 3, a 4xx its problem's
    detail (exit 2)."""
    return gateway_request(
        method, base, path, refused=DataRoomRefusedError, timeout=TRANSFER_TIMEOUT, **options
    )


def report(run: ChainRun, answer: Any, text: str) -> None:
    """What a data command did: ``answer`` as JSON with ``--json``, else the sentence ``text``."""
    if run.as_json:
        out.print_json(json.dumps(answer))
    else:
        out.print(text, highlight=False, soft_wrap=True)


def _bar(label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


# ------------------------------------------------------------------ put


def _file_chunks(path: Path, advance: Any) -> Iterator[bytes]:
    with path.open("rb") as source:
        while block := source.read(CHUNK):
            advance(len(block))
            yield block


def _tar_stream(folder: Path, paths: list[str], advance: Any) -> IO[bytes]:
    """A pipe a thread writes the folder's files into as an uncompressed tar stream."""
    read_end, write_end = os.pipe()

    def write() -> None:
        with os.fdopen(write_end, "wb") as sink:
            try:
                with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                    for path in paths:
                        source = folder / path
                        info = tarfile.TarInfo(path)
                        info.size = source.stat().st_size
                        with source.open("rb") as reader:
                            archive.addfile(info, _Counted(reader, advance))
            except (BrokenPipeError, OSError):
                return  # the upload ended first; its error is the one reported

    threading.Thread(target=write, name="tar-writer", daemon=True).start()
    return os.fdopen(read_end, "rb")


class _Counted:
    """A file whose reads advance a progress bar."""

    def __init__(self, reader: IO[bytes], advance: Any) -> None:
        self._reader, self._advance = reader, advance

    def read(self, size: int = -1) -> bytes:
        block = self._reader.read(size)
        self._advance(len(block))
        return block


@chain_command(data_app, "put")
def data_put_command(
    run: ChainRun,
    asset: AssetArgument,
    path: Annotated[Path, typer.Argument(help="The asset's file, or its dataset folder.")],
    gateway: GatewayOption = None,
) -> None:
    """Put an asset's bytes in the gateway's data room, as its holder: they must hash to the
    asset's content hash; they are kept encrypted and replace any earlier upload.

    Example: provledger data put 0x5f…e1 ./huangpu-air-raw --dev-account 5
    """
    target = parse_asset(asset)
    shown = asset_id_hex(target)
    base = room_gateway(run.settings, gateway)
    content, manifest = hash_input(path)
    if asset_id(content) != target:
        raise InputError(
            f"{path} is not asset {shown}: it hashes to {to_hex32(content)}, the content of "
            f"asset {asset_id_hex(asset_id(content))}"
        )
    ledger = run.ledger()
    account = signing_account(ledger)
    # checked here, before any byte is sent: the room refuses at the head too, but a refusal
    # answered while a large body is still streaming reaches the client as a broken connection
    state = _registered(ledger, target)
    if state.holder != account.address:
        raise InputError(
            f"{account.address} does not hold asset {shown}: its holder is {state.holder}, "
            "who alone may put its data"
        )
    header = signed_now(ledger, sign_upload, target, content)
    total = path.stat().st_size if manifest is None else manifest.total_size
    with _bar(f"uploading {path.name}") as bar:
        task = bar.add_task("put", total=total)

        def advance(length: int) -> None:
            bar.advance(task, length)

        headers = {SIGNATURE_HEADER: header}
        body: Any
        if manifest is None:
            headers["Content-Type"] = "application/octet-stream"
            body = _file_chunks(path, advance)
        else:
            headers["Content-Type"] = TAR
            body = _tar_stream(path, [item.path for item in manifest.entries], advance)
        stored = room_request("PUT", base, f"/data/{shown}", data=body, headers=headers).json()
    files = "1 file" if stored["kind"] == "file" else f"{stored['file_count']:,} files"
    report(
        run,
        stored,
        f"stored {stored['size']:,} bytes ({files}) of asset {stored['asset_id']} in the data "
        f"room at {base}, encrypted",
    )


def _registered(ledger: Provledger, asset: int) -> AssetState:
    state = ledger.registry.asset(asset)
    if state is None:
        raise InputError(
            f"asset {asset_id_hex(asset)} is not registered on chain {ledger.deployment.chain_id}"
        )
    return state


# ------------------------------------------------------------------ get


def _part_of(target: Path) -> Path:
    """Where the download of ``target`` collects until it is checked."""
    return target.with_name(target.name + ".part")


def _download(base: str, path: str, header: str, target: Path, expected: bytes) -> int:
    """Download ``path`` of the room into ``target``: resumes ``target.part`` with a range
    request, and renames it into place only once its SHA-256 is ``expected``. The bytes
    downloaded."""
    partial = _part_of(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    have = 0
    if partial.exists():
        with partial.open("rb") as done:
            while block := done.read(CHUNK):
                digest.update(block)
                have += len(block)
    headers = {SIGNATURE_HEADER: header}
    if have:
        headers["Range"] = f"bytes={have}-"
    fetched = 0
    try:
        response: requests.Response | None = room_request(
            "GET", base, path, headers=headers, stream=True
        )
    except DataRoomRefusedError as error:
        if not (have and error.status == RANGE_NOT_SATISFIABLE):
            raise
        response = None  # the part holds every byte already
    if response is not None:
        if response.status_code != PARTIAL_CONTENT:  # the whole, from the first byte
            digest, have = hashlib.sha256(), 0
        total = have + int(response.headers.get("Content-Length", "0"))
        with (
            response,
            _bar(target.name) as bar,
            partial.open("ab" if have else "wb") as sink,
        ):
            task = bar.add_task("get", total=total, completed=have)
            try:
                for block in response.iter_content(RECEIVE_BLOCK):
                    sink.write(block)
                    digest.update(block)
                    fetched += len(block)
                    bar.advance(task, len(block))
            except requests.RequestException:
                pass  # told below, with the bytes kept
        if have + fetched < total:
            raise TransferBrokenError(base, str(target), have + fetched, total)
    if digest.digest() != expected:
        partial.unlink()
        raise DownloadMismatchError(str(target), "0x" + digest.hexdigest(), to_hex32(expected))
    partial.replace(target)
    return fetched


@chain_command(data_app, "get")
def data_get_command(
    run: ChainRun,
    asset: AssetArgument,
    output: OutputOption,
    purpose: PurposeOption = "use under licence",
    gateway: GatewayOption = None,
) -> None:
    """Get an asset's bytes from the gateway's data room, if the chain allows you (the holder,
    or a licensee of a valid licence): checked against the asset's content hash before the
    rename; an interrupted download resumes. A folder is written file by file, each checked
    against its Merkle path to the registered root.

    Example: provledger data get 0x5f…e1 -o air.csv --dev-account 6
    """
    target = parse_asset(asset)
    shown = asset_id_hex(target)
    base = room_gateway(run.settings, gateway)
    ledger = run.ledger()
    account = signing_account(ledger)
    _registered(ledger, target)
    status = room_request("GET", base, f"/data/{shown}/status").json()
    if not status.get("stored"):
        raise InputError(f"the data room at {base} holds no data of asset {shown}")
    # the asset id commits to the content hash: the room cannot name other content
    content = parse_hash_bytes(str(status.get("content_hash")), "content_hash")
    if asset_id(content) != target:
        raise InputError(f"the data room names content {to_hex32(content)}, not asset {shown}'s")

    domain, deadline = Domain.of(ledger), signature_deadline(ledger)

    def sign() -> str:
        return sign_access(account, domain, target, purpose, deadline=deadline())

    if status.get("kind") == "file":
        fetched = _download(base, f"/data/{shown}", sign(), output, content)
        files = 1
    else:
        fetched, files = _download_folder(base, shown, sign, output, content)
    answer = {"asset_id": shown, "output": str(output), "files": files, "bytes": fetched}
    report(
        run,
        answer,
        f"got asset {shown} into {output} ({files:,} file{'s' if files != 1 else ''}, "
        f"{fetched:,} bytes downloaded), checked against its content hash",
    )


def _download_folder(
    base: str, shown: str, sign: Callable[[], str], output: Path, root: bytes
) -> tuple[int, int]:
    """Download a folder asset's files into ``output``, each checked against its Merkle path
    to ``root`` first and its SHA-256 after; a file already there and whole is kept. The
    bytes downloaded and the files."""
    listing = room_request("GET", base, f"/data/{shown}/files", headers={SIGNATURE_HEADER: sign()})
    manifest = listing.json()
    if parse_hash_bytes(str(manifest["root"]), "root") != root:
        raise InputError(f"the data room's listing is not of asset {shown}'s folder")
    fetched = 0
    for item in manifest["files"]:
        sha = parse_hash_bytes(str(item["sha256"]), "sha256")
        proof = [parse_hash_bytes(str(node), "proof") for node in item["proof"]]
        if not verify_file_membership(root, item["path"], sha, proof):
            raise InputError(f"{item['path']!r} is not a file of asset {shown}'s folder")
        destination = output / item["path"]
        if not destination.resolve().is_relative_to(output.resolve()):
            raise InputError(f"{item['path']!r} would be written outside {output}")
        if destination.is_file() and sha256_file(destination) == sha:
            continue
        fetched += _download(base, f"/data/{shown}/files/{item['path']}", sign(), destination, sha)
    return fetched, len(manifest["files"])
