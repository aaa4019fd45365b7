"""``provledger data`` for the room's records: an asset's committed metadata document, a
holder's access log, access receipts and their check against a node (``verify-receipt``),
anchoring the log, and the master keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Final

import typer

from provledger.chain.enums import ParticipantStatus
from provledger.chain.ids import asset_id_hex
from provledger.cli.arguments import AssetArgument, parse_asset
from provledger.cli.base import (
    DeploymentRecordsOption,
    ExitCode,
    JsonOption,
    app,
    guarded,
    out,
    settings_from,
)
from provledger.cli.committed import write_private
from provledger.cli.data import (
    OutputOption,
    PurposeOption,
    data_app,
    report,
    room_gateway,
    room_request,
    signed_now,
)
from provledger.cli.gateway import (
    GatewayOption,
    gateway_get,
    party_names,
    require_gateway,
)
from provledger.cli.output import print_table, print_verdict
from provledger.cli.session import ChainRun, chain_command, open_ledger
from provledger.commitments import CommittedDocument
from provledger.errors import InputError, ServiceUnavailableError
from provledger.jsondoc import read_json_file
from provledger.params import to_hex32
from provledger.services.delivery.accesslog import anchor_pending
from provledger.services.delivery.envelope import (
    MasterKeyRing,
    generate_master_key,
)
from provledger.services.delivery.keys import master_keys
from provledger.services.delivery.metadata import MAX_DOCUMENT_BYTES
from provledger.services.delivery.receipts import ReceiptVerdict, verify_receipt
from provledger.services.delivery.requests import (
    SIGNATURE_HEADER,
    sign_access,
    sign_log_read,
    sign_upload,
)
from provledger.services.delivery.service import rotate_keys
from provledger.store.access_log import AccessLogStore
from provledger.store.blobs import BlobStore
from provledger.store.dataroom import DataRoomStore

#: The largest receipt read back.
RECEIPT_MAX_BYTES: Final = 1 << 20


class MetadataMismatchError(ServiceUnavailableError):
    """The data room sent a document that is not the asset's committed metadata now."""

    template = "the data room's metadata document of asset {asset} {flaw}: {target} not written"
    asset: str
    flaw: str
    target: str


# ------------------------------------------------------------------ the committed metadata


@chain_command(data_app, "put-metadata")
def data_put_metadata_command(
    run: ChainRun,
    asset: AssetArgument,
    document: Annotated[
        Path,
        typer.Argument(help="The committed metadata document the asset was registered with."),
    ],
    gateway: GatewayOption = None,
) -> None:
    """Put an asset's committed metadata document (every field with its salt) in the gateway's
    data room, as its holder: its root must be the asset's metadata hash on chain. It is kept
    encrypted and replaces an earlier one; the holder, a registrar reviewing the application,
    an arbiter of an open dispute and licensees may read it.

    Example: provledger data put-metadata 0x5f…e1 air.metadata.json --dev-account 5
    """
    target = parse_asset(asset)
    shown = asset_id_hex(target)
    base = room_gateway(run.settings, gateway)
    with document.open("rb") as source:
        body = source.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise InputError(f"{document} is larger than {MAX_DOCUMENT_BYTES:,} bytes")
    committed = CommittedDocument.parse(body, what=str(document))
    ledger = run.ledger()
    header = signed_now(ledger, sign_upload, target, committed.root)
    headers = {SIGNATURE_HEADER: header, "Content-Type": "application/json"}
    path = f"/data/{shown}/metadata"
    stored = room_request("PUT", base, path, data=body, headers=headers).json()
    report(
        run,
        stored,
        f"stored the committed metadata document of asset {shown} "
        f"({len(committed.field_names())} "
        f"fields, root {stored['root']}) in the data room at {base}, encrypted",
    )


@chain_command(data_app, "get-metadata")
def data_get_metadata_command(
    run: ChainRun,
    asset: AssetArgument,
    output: OutputOption,
    purpose: PurposeOption = "read the committed metadata",
    gateway: GatewayOption = None,
) -> None:
    """Get an asset's committed metadata document (every field with its salt, withheld ones
    too) from the gateway's data room, if the chain allows you: the holder, a registrar while
    the application is under review, an arbiter while a dispute over the asset is open, or a
    licensee. Its root is checked against the asset's metadata hash on chain before it is
    written.

    Example: provledger data get-metadata 0x5f…e1 -o air.metadata.json --dev-account 6
    """
    target = parse_asset(asset)
    shown = asset_id_hex(target)
    base = room_gateway(run.settings, gateway)
    ledger = run.ledger()
    state = ledger.registry.asset(target)
    if state is None:
        raise InputError(f"asset {shown} is not registered on chain {ledger.deployment.chain_id}")
    header = signed_now(ledger, sign_access, target, purpose)
    path = f"/data/{shown}/metadata"
    body = room_request("GET", base, path, headers={SIGNATURE_HEADER: header}).content
    try:
        committed = CommittedDocument.parse(body)
    except InputError as error:  # not JSON, or not such a document
        raise MetadataMismatchError(shown, f"does not read ({error})", str(output)) from None
    if committed.root != state.metadata_hash:
        flaw = (
            f"has root {to_hex32(committed.root)}, not the asset's metadata hash "
            f"{to_hex32(state.metadata_hash)}"
        )
        raise MetadataMismatchError(shown, flaw, str(output))
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".part")
    partial.unlink(missing_ok=True)
    write_private(partial, body)
    partial.replace(output)
    answer = {
        "asset_id": shown,
        "output": str(output),
        "root": to_hex32(committed.root),
        "fields": len(committed.field_names()),
        "bytes": len(body),
    }
    report(
        run,
        answer,
        f"got the committed metadata document of asset {shown} into {output} "
        f"({len(committed.field_names())} fields, {len(body):,} bytes), checked against its "
        "metadata hash on chain",
    )


# ------------------------------------------------------------------ log, receipts


@chain_command(data_app, "log")
def data_log_command(
    run: ChainRun,
    asset: AssetArgument,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Records at the most.")] = 100,
    gateway: GatewayOption = None,
) -> None:
    """Read the access log of an asset you hold: every request, granted or refused.

    Example: provledger data log 0x5f…e1 --dev-account 5
    """
    target = parse_asset(asset)
    base = room_gateway(run.settings, gateway)
    ledger = run.ledger()
    header = signed_now(ledger, sign_log_read, target)
    answer = room_request(
        "GET",
        base,
        f"/data/{asset_id_hex(target)}/log",
        headers={SIGNATURE_HEADER: header},
        params={"limit": limit},
    ).json()
    requesters = (item["requester"] for item in answer["items"])
    names = {} if run.as_json else party_names(base, requesters)
    print_table(
        answer,
        run.as_json,
        ["time", "requester", "decision", "rule", "bytes", "record"],
        [
            [
                item["at"],
                names.get(item["requester"], item["requester"]),
                item["decision"],
                item["rule"],
                f"{item['bytes']:,}",
                item["record_id"],
            ]
            for item in answer["items"]
        ],
    )


@data_app.command("receipt")
def data_receipt_command(
    record_id: Annotated[str, typer.Argument(help="The access record's id (32 hex digits).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the receipt to this file.")
    ] = None,
    gateway: GatewayOption = None,
) -> None:
    """Get the receipt of an access (the record, its Merkle path and the anchoring
    transaction), once the room has anchored it.

    Example: provledger data receipt 3f9a…c2 -o receipt.json
    """
    settings = settings_from(gateway_url=gateway)

    def run() -> None:
        receipt = gateway_get(require_gateway(settings), f"/data/receipts/{record_id}")
        text = json.dumps(receipt, indent=2)
        if output is None:
            out.print_json(text)
        else:
            output.write_text(text + "\n")
            out.print(f"receipt of record {record_id} written to {output}", highlight=False)

    guarded(run)


@chain_command(data_app, "anchor")
def data_anchor_command(run: ChainRun) -> None:
    """Anchor the access log's records not anchored yet, as one Merkle root on chain, signed by
    your account (an active participant); the gateway does it on its schedule too.

    Example: provledger data anchor --dev-account 9
    """
    ledger = run.ledger()
    status = ledger.registry.participant(ledger.address).status
    if status is not ParticipantStatus.ACTIVE:  # BatchAnchor takes roots from participants only
        raise InputError(
            f"{ledger.address} is not an active participant ({status.name.lower()}): "
            "anchor with a participant's account"
        )
    with AccessLogStore.open(run.settings.data_room_database_url) as log:
        batch = anchor_pending(log, ledger, blobs=BlobStore(run.settings.blob_dir))
    if batch is None:
        out.print("no access record waits to be anchored", highlight=False)
        return
    anchored = batch.batch
    answer = {
        "root": anchored.root,
        "records": anchored.leaf_count,
        "transaction": anchored.tx_hash,
    }
    report(
        run,
        answer,
        f"anchored {anchored.leaf_count:,} access records under {anchored.root} "
        f"(transaction {anchored.tx_hash})",
    )


@data_app.command("keygen")
def data_keygen_command(
    key_file: Annotated[Path, typer.Argument(help="The master key file to write (mode 600).")],
    rotate: Annotated[
        bool,
        typer.Option(
            help="Put a new current key first in an existing key file, keeping the old ones "
            "for `data rotate-keys`."
        ),
    ] = False,
) -> None:
    """Make a master key for the data room (PROVLEDGER_DATA_ROOM_MASTER_KEY_FILE). Keep it away
    from the database and the storage: whoever holds it and them can read every asset.

    Example: provledger data keygen /etc/provledger/master.key
    """

    def run() -> None:
        key = generate_master_key()
        if rotate:
            if not key_file.is_file():
                raise InputError(f"{key_file} is not a key file to rotate")
            kept = MasterKeyRing.from_file(key_file)  # refuses a file that is no key file
            write_secret(key_file, key + "\n" + key_file.read_text(), replace=True)
            done = (
                f"new master key {MasterKeyRing.load(key).current.key_id} put first in "
                f"{key_file}; the {1 + len(kept.older)} older kept for `provledger data "
                "rotate-keys`"
            )
        else:
            write_secret(key_file, key + "\n", replace=False)
            done = f"master key written to {key_file} (mode 600)"
        out.print(done, highlight=False, soft_wrap=True)

    guarded(run)


def write_secret(path: Path, text: str, *, replace: bool) -> None:
    """Write ``text`` to ``path``, readable by its owner only (mode 600): a new file is never
    written over (:class:`InputError`); ``replace`` writes a copy and renames it over the
    old."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = path.with_name(path.name + ".tmp") if replace else path
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    try:
        fd = os.open(written, flags, 0o600)
    except FileExistsError:
        raise InputError(f"{path} exists: a master key is never overwritten") from None
    with os.fdopen(fd, "w") as sink:
        sink.write(text)
    if replace:
        written.replace(path)


@data_app.command("rotate-keys")
def data_rotate_keys_command(
    key_file: Annotated[
        Path | None,
        typer.Option(help="The master key file [env PROVLEDGER_DATA_ROOM_MASTER_KEY_FILE]."),
    ] = None,
) -> None:
    """Re-wrap every data key of the room under the key file's current (first) master key; the
    data is not touched. Afterwards the older keys may be removed from the file.

    Example: provledger data rotate-keys --key-file /etc/provledger/master.key
    """
    settings = settings_from(data_room_master_key_file=key_file)

    def run() -> None:
        keys = master_keys(settings)
        with DataRoomStore.open(settings.data_room_database_url) as store:
            count = rotate_keys(store, keys)
        out.print(
            f"re-wrapped {count:,} data keys under master key {keys.current.key_id}",
            highlight=False,
        )

    guarded(run)


@app.command("verify-receipt")
def verify_receipt_command(
    receipt: Annotated[Path, typer.Argument(help="An access receipt (provledger data receipt).")],
    rpc_url: Annotated[
        str | None, typer.Option("--rpc-url", help="JSON-RPC URL of the node; required.")
    ] = None,
    deployments_dir: DeploymentRecordsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check an access receipt against a node, with no gateway: the record hashes to its leaf,
    the leaf's Merkle path leads to a root anchored on chain by the room; exit 1 if not.

    Example: provledger verify-receipt receipt.json --rpc-url http://127.0.0.1:8545
    """
    settings = settings_from(rpc_url=rpc_url, deployments_dir=deployments_dir)

    def run() -> ReceiptVerdict:
        document = read_json_file(receipt, max_bytes=RECEIPT_MAX_BYTES)
        ledger = open_ledger(settings, sign=False)
        ledger.w3.eth.get_block_number()  # a node that cannot tell its head gives no verdict
        anchor = ledger.deployment.contracts["BatchAnchor"].address
        return verify_receipt(document, ledger.w3, anchor)

    verdict = guarded(run)
    if as_json:
        out.print_json(json.dumps(verdict.to_json()))
    else:
        print_verdict(verdict, f"receipt of access record {verdict.record_id or '(unnamed)'}")
    raise typer.Exit(ExitCode.OK if verdict.ok else ExitCode.NEGATIVE)
