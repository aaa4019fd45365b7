"""`provledger data put-metadata` and `data get-metadata` as a user runs them: against a
`provledger serve` process with the data room on, over an anvil chain deployed through the CLI.

The holder puts the committed metadata document its asset was registered with; the holder, a
licensee and the registrar reviewing the application get it byte for byte; a stranger and an
arbiter with no dispute are refused in one line (exit 2), as are a document that does not read
and one of another root.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.conftest import BUYER, FOREIGN, HOLDER, Cli, gateway_process
from helpers.builders import registration, sha256
from helpers.dataroom_cli import room_env
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.events import AssetRegistered
from provledger.chain.ids import asset_id_hex
from provledger.commitments import CommittedDocument, commitment_uri
from provledger.params import to_hex32

pytestmark = pytest.mark.anvil

AS_HOLDER = ("--dev-account", str(HOLDER))
METADATA = {
    "title": "Huangpu river sensors",
    "category": "environment",
    "source": "WITHHELD-MARKER-cli-91e0",
    "scale": 125000,
}


@pytest.fixture(scope="module")
def room(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """The CLI with a gateway process whose data room is on (``PROVLEDGER_GATEWAY_URL`` set)."""
    folder = tmp_path_factory.mktemp("room")
    key = folder / "master.key"
    cli.ok("data", "keygen", str(key))
    env = room_env(folder, key)
    with gateway_process(cli, **env) as gateway:
        yield Cli(cli.node, cli.home, {**cli.env, **env, "PROVLEDGER_GATEWAY_URL": gateway.url})


def committed(room: Cli, tmp_path: Path, name: str) -> tuple[str, CommittedDocument, Path]:
    """An asset of the holder's registered with committed metadata; its id, its document and
    the document's file."""
    document = CommittedDocument.of(METADATA, sha256(name.encode()))
    holder = room.ledger().as_account(dev_account(HOLDER))
    entry = registration(
        content_hash=document.content_hash,
        metadata_uri=commitment_uri(False),
        metadata_hash=document.root,
    )
    asset = holder.registry.register(entry).event(AssetRegistered).asset_id
    path = tmp_path / f"{name}.metadata.json"
    path.write_bytes(document.to_json())
    return asset_id_hex(asset), document, path


def test_the_holder_puts_it_and_those_the_chain_allows_get_it(room: Cli, tmp_path: Path) -> None:
    asset, document, path = committed(room, tmp_path, "allowed")
    line = room.ok("data", "put-metadata", asset, str(path), *AS_HOLDER)
    gateway = room.env["PROVLEDGER_GATEWAY_URL"]
    assert line.strip() == (
        f"stored the committed metadata document of asset {asset} (4 fields, root "
        f"{to_hex32(document.root)}) in the data room at {gateway}, encrypted"
    )
    copy = tmp_path / "holder.json"
    line = room.ok("data", "get-metadata", asset, "-o", str(copy), *AS_HOLDER)
    assert line.strip() == (
        f"got the committed metadata document of asset {asset} into {copy} (4 fields, "
        f"{len(document.to_json()):,} bytes), checked against its metadata hash on chain"
    )
    assert copy.read_bytes() == document.to_json()

    refusal = room.fails(2, "data", "get-metadata", asset, "-o", str(tmp_path / "no.json"),
                         "--dev-account", str(BUYER))  # fmt: skip
    assert refusal.startswith("error: the data room refused (403): ")
    assert "holds no licence on the asset" in refusal
    assert not (tmp_path / "no.json").exists()
    room.ok("license", "grant", asset, room.address(BUYER), *AS_HOLDER)
    bought = tmp_path / "licensee.json"
    answer = room.json(
        "data", "get-metadata", asset, "-o", str(bought), "--dev-account", str(BUYER)
    )
    assert answer == {
        "asset_id": asset,
        "output": str(bought),
        "root": to_hex32(document.root),
        "fields": 4,
        "bytes": len(document.to_json()),
    }
    assert bought.read_bytes() == document.to_json()

    reviewed = tmp_path / "registrar.json"
    registrar = ("--dev-account", str(DEV_ROLES["registrar"]))
    room.ok("data", "get-metadata", asset, "-o", str(reviewed), *registrar)
    assert reviewed.read_bytes() == document.to_json()
    arbiter = ("--dev-account", str(DEV_ROLES["arbiter"]))
    refusal = room.fails(2, "data", "get-metadata", asset, "-o", str(reviewed), *arbiter)
    assert re.fullmatch(
        r"error: the data room refused \(403\): 0x[0-9a-fA-F]{40} is an arbiter, but no "
        r"dispute over the asset is open \(none was opened\)",
        refusal,
    )

    log = room.json("data", "log", asset, *AS_HOLDER)["items"]
    assert [(item["path"], item["decision"], item["rule"]) for item in log] == [
        ("/metadata", "refused", "no-open-dispute"),
        ("/metadata", "granted", "registrar"),
        ("/metadata", "granted", "licensee"),
        ("/metadata", "refused", "no-licence"),
        ("/metadata", "granted", "holder"),
    ]


def test_bad_documents_are_refused_in_one_line(room: Cli, tmp_path: Path) -> None:
    asset, document, path = committed(room, tmp_path, "bad")
    raw = json.loads(document.to_json())
    raw["fields"][0]["salt"] = "0x12"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(raw))
    line = room.fails(2, "data", "put-metadata", asset, str(broken), *AS_HOLDER)
    assert line.startswith("error: fields[0].salt: ")

    other = CommittedDocument.of(METADATA, document.content_hash)  # other salts: another root
    elsewhere = tmp_path / "other.json"
    elsewhere.write_bytes(other.to_json())
    line = room.fails(2, "data", "put-metadata", asset, str(elsewhere), *AS_HOLDER)
    assert line == (
        "error: the data room refused (422): the committed metadata document is refused: root: "
        f"{to_hex32(other.root)} is not the asset's metadata hash on chain "
        f"({to_hex32(document.root)}); nothing was stored"
    )
    line = room.fails(2, "data", "put-metadata", asset, str(path), "--dev-account", str(FOREIGN))
    assert line.startswith("error: the data room refused (403): ")
    line = room.fails(2, "data", "get-metadata", asset, "-o", str(tmp_path / "x"), *AS_HOLDER)
    assert line == (
        "error: the data room refused (404): the data room holds no committed metadata document "
        f"of asset {asset}"
    )
