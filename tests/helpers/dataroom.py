"""A gateway with its data room on, over the anvil World: its settings, and the signed requests
of the holder (uploads) and of those asking for the data (downloads)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any, Final

from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from helpers.builders import doc, registration, sha256
from helpers.world import World
from provledger.chain.client import Provledger
from provledger.chain.enums import LicenseKind
from provledger.chain.events import LicenseGranted
from provledger.chain.ids import asset_id_hex
from provledger.config import Settings
from provledger.hashing import FolderManifest, ManifestEntry
from provledger.services.delivery.envelope import generate_master_key
from provledger.services.delivery.requests import (
    SIGNATURE_HEADER,
    Domain,
    sign_access,
    sign_upload,
)

DAY: Final = 24 * 3600


def room_settings(folder: Path, **overrides: Any) -> Settings:
    """A gateway over the index ``folder/index.sqlite`` of the deployment saved in
    ``folder/deployments``, its data room on (a new master key; records, objects in
    ``folder``; erin anchors the access log)."""
    values: dict[str, Any] = {
        "database_url": str(folder / "index.sqlite"),
        "deployments_dir": folder / "deployments",
        "data_room": True,
        "data_room_storage": str(folder / "objects"),
        "data_room_database_url": str(folder / "dataroom.sqlite"),
        "data_room_master_key": generate_master_key(),
        "data_room_anchor_dev_account": 9,  # erin, a participant
        **overrides,
    }
    return Settings(**values)


def account(who: Provledger) -> LocalAccount:
    """The key ``who`` signs with."""
    assert who.account is not None
    return who.account


def domain(world: World) -> Domain:
    """The EIP-712 domain of the World's data room requests."""
    return Domain(world.deployment.chain_id, world.admin.registry.address)


def put(
    client: TestClient, world: World, who: Provledger, asset: int, data: bytes, **kw: Any
) -> Any:
    """``who`` uploads ``data`` as ``asset``'s (``content``: the hash signed for, if not
    ``data``'s SHA-256; ``headers``: more headers)."""
    header = sign_upload(
        account(who), domain(world), asset, kw.pop("content", sha256(data)),
        deadline=world.now() + 300,
    )  # fmt: skip
    headers = {SIGNATURE_HEADER: header, **kw.pop("headers", {})}
    return client.put(f"/data/{asset_id_hex(asset)}", content=data, headers=headers)


def access(world: World, who: Provledger, asset: int, **kw: Any) -> dict[str, str]:
    """The headers of ``who``'s request for ``asset``'s data (``signed_for``: another domain;
    ``purpose``, ``deadline``; anything else: more headers)."""
    header = sign_access(
        account(who),
        kw.pop("signed_for", domain(world)),
        asset,
        kw.pop("purpose", "research"),
        deadline=kw.pop("deadline", world.now() + 300),
    )
    return {SIGNATURE_HEADER: header, **kw}


def get(client: TestClient, world: World, who: Provledger, asset: int, **kw: Any) -> Any:
    """``who`` asks for ``asset``'s data (``kw`` as :func:`access` takes)."""
    return client.get(f"/data/{asset_id_hex(asset)}", headers=access(world, who, asset, **kw))


def stored_asset(client: TestClient, world: World, data: bytes, *, grade: int = 1) -> int:
    """An asset of alice's, with ``data`` in the room."""
    asset = world.register(world.alice, registration(content_hash=sha256(data), grade=grade))
    answer = put(client, world, world.alice, asset, data)
    assert answer.status_code == 201, answer.text
    return asset


def grant(world: World, asset: int, licensee: Provledger, days: int = 30) -> int:
    """Alice licenses ``asset`` to ``licensee`` for ``days``; the licence id."""
    receipt = world.alice.licenses.grant(
        asset, licensee.address, LicenseKind.PROCESSING_USE, world.now() + days * DAY, doc("t")
    )
    return int(receipt.event(LicenseGranted).license_id)


def stored_folder(client: TestClient, world: World, files: dict[str, bytes]) -> int:
    """An asset of alice's, the folder of ``files`` (path: bytes), uploaded as a tar stream."""
    manifest = FolderManifest.from_entries(
        [ManifestEntry(path, sha256(data), len(data)) for path, data in files.items()]
    )
    asset = world.register(world.alice, registration(content_hash=manifest.root))
    body = io.BytesIO()
    with tarfile.open(fileobj=body, mode="w") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    answer = put(
        client, world, world.alice, asset, body.getvalue(), content=manifest.root,
        headers={"Content-Type": "application/x-tar"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return asset
