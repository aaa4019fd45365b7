"""Operator commands on the stores: blobs (the off-chain documents), db (the index's reader
role), apikey (the relay's API keys)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from provledger.chain.accounts import read_password_file
from provledger.cli.base import (
    BlobDirOption,
    command_group,
    complete,
    out,
    settings_command,
    settings_from,
)
from provledger.config import Settings, mask_url
from provledger.errors import InputError
from provledger.store.blobs import BlobStore, normalise_hash
from provledger.store.documents import index_documents
from provledger.store.engine import create_reader_role, create_schema, create_store_engine
from provledger.store.relay import open_relay_store

blobs_app = command_group(
    "blobs", "Off-chain documents (metadata documents, manifests) by SHA-256."
)


TitlesDatabaseOption = Annotated[
    str | None,
    typer.Option(help="Index database whose title search learns the documents' titles."),
]
DocumentsArgument = Annotated[list[Path], typer.Argument(help="Documents to store.")]
HashArgument = Annotated[str, typer.Argument(help="The document's SHA-256 (0x and 64 hex digits).")]


@settings_command(blobs_app, "add", blob_dir=BlobDirOption, database_url=TitlesDatabaseOption)
def blobs_add_command(settings: Settings, as_json: bool, files: DocumentsArgument) -> None:
    """Store documents in the blob folder under their SHA-256 (the hash the chain anchors);
    index metadata titles for search and batch manifests for verifying batch files.

    Example: provledger blobs add meta.json manifest.json
    """
    blobs = BlobStore(settings.blob_dir)
    stored = {str(path): blobs.put(read_document(path)) for path in files}
    engine = create_store_engine(settings.database_url)
    create_schema(engine)
    titles, batches = index_documents(engine, blobs, stored.values())
    engine.dispose()
    if as_json:
        report = {"stored": stored, "metadata_titles": titles, "batch_manifests": batches}
        out.print_json(json.dumps(report))
        return
    for path, sha256 in stored.items():
        out.print(f"{sha256}  {path}", highlight=False, soft_wrap=True)
    out.print(
        f"{len(stored)} stored in {settings.blob_dir}; learned {titles} metadata titles, "
        f"{batches} batch manifests",
        highlight=False,
        soft_wrap=True,
    )


@settings_command(blobs_app, "get", blob_dir=BlobDirOption)
def blobs_get_command(settings: Settings, sha256: HashArgument) -> None:
    """Write a stored document to standard output.

    Example: provledger blobs get 0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    """
    data = BlobStore(settings.blob_dir).get(normalise_hash(sha256))
    if data is None:
        raise InputError(f"no document {sha256} in {settings.blob_dir}")
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def read_document(path: Path) -> bytes:
    """A document's bytes, or :class:`InputError` with the reason."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error


db_app = command_group("db", "The index database: roles for the gateway.")
RoleNameArgument = Annotated[str, typer.Argument(help="Role name (lowercase letters, digits, _).")]


@db_app.command("reader")
def db_reader_command(
    name: RoleNameArgument,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The index's PostgreSQL URL, as the indexer uses it [env PROVLEDGER_DATABASE_URL]."
        ),
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(help="File holding the role's password; none: log in by other means."),
    ] = None,
) -> None:
    """Create (or update) a PostgreSQL role that can only read the index, for the gateway's
    api_database_url: SELECT on every index table, now and after rebuilds; no writes.

    Example: provledger db reader provledger_api --password-file api.pw
    """
    settings = settings_from(database_url=database_url)

    def run() -> None:
        password = None if password_file is None else read_password_file(password_file)
        if password == "":
            raise InputError(f"password file {password_file} is empty")
        engine = create_store_engine(settings.database_url)
        try:
            create_schema(engine)
            create_reader_role(engine, name, password)
        finally:
            engine.dispose()
        out.print(
            f"role {name} may read the index at {mask_url(settings.database_url)}; "
            f"serve with PROVLEDGER_API_DATABASE_URL naming it",
            highlight=False,
            soft_wrap=True,
        )

    complete(run)


apikey_app = command_group("apikey", "API keys of the gateway's relay (POST /relay/registrations).")
RelayDatabaseOption = Annotated[
    str | None,
    typer.Option(help="The relay's database [env PROVLEDGER_RELAY_DATABASE_URL]."),
]
KeyNameArgument = Annotated[str, typer.Argument(help="Who the key is for (shown in the list).")]
KeyIdArgument = Annotated[str, typer.Argument(help="The key's id (as `apikey list` shows).")]


@settings_command(apikey_app, "create", relay_database_url=RelayDatabaseOption)
def apikey_create_command(
    settings: Settings,
    as_json: bool,
    name: KeyNameArgument,
    rate: Annotated[
        int, typer.Option(min=1, max=1_000_000_000, help="Requests a minute the key may send.")
    ] = 60,
    daily_gas: Annotated[
        int,
        typer.Option(
            min=1, max=2**63 - 1, help="Gas the key's relayed transactions may use a day (UTC)."
        ),
    ] = 50_000_000,
) -> None:
    """Create an API key for the relay; the key is printed once (only its hash is kept).

    Example: provledger apikey create "data exchange A" --rate 120 --daily-gas 100000000
    """
    with open_relay_store(settings.relay_database_url) as store:
        key_id, token = store.create_key(name, rate_per_minute=rate, daily_gas=daily_gas)
    if as_json:
        out.print_json(json.dumps({"key_id": key_id, "api_key": token, "name": name}))
        return
    out.print(f"API key {key_id} for {name}: {token}", highlight=False, soft_wrap=True)
    out.print("keep it now: only its hash is stored", highlight=False)


@settings_command(apikey_app, "revoke", relay_database_url=RelayDatabaseOption)
def apikey_revoke_command(settings: Settings, key_id: KeyIdArgument) -> None:
    """Revoke an API key: requests with it are refused from now on (401).

    Example: provledger apikey revoke 3f9a1c2b7d4e
    """
    with open_relay_store(settings.relay_database_url) as store:
        store.revoke_key(key_id)
    out.print(f"API key {key_id} revoked", highlight=False)


@settings_command(apikey_app, "list", relay_database_url=RelayDatabaseOption)
def apikey_list_command(settings: Settings, as_json: bool) -> None:
    """List the relay's API keys (ids, names, limits, revocation; never the secrets).

    Example: provledger apikey list --json
    """
    with open_relay_store(settings.relay_database_url) as store:
        keys = store.keys()
    if as_json:
        out.print_json(json.dumps([dataclasses.asdict(key) for key in keys]))
        return
    for key in keys:
        state = "revoked" if key.revoked_at is not None else "live"
        out.print(
            f"{key.key_id}  {state:7}  {key.rate_per_minute}/min  "
            f"{key.daily_gas:,} gas/day  {key.name}",
            highlight=False,
            soft_wrap=True,
        )
    if not keys:
        out.print("no API keys", highlight=False)
