"""Participant names on the pages come from the blob folder, and only where the chain vouches
for them: the text must hash to the name hash the participant's registration recorded."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from api.conftest import Indexed
from helpers.stores import engine_for
from provledger.chain.ids import asset_id_hex
from provledger.store.blobs import BlobStore
from provledger.store.documents import index_documents, name_of

#: The text whose SHA-256 the test world registered as alice's name hash (helpers.builders.doc).
ALICE_NAME = "document:legal name of alice"


def _h1(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert found is not None
    return found[1].strip()


def test_a_name_shows_once_its_text_is_in_the_blob_folder(indexed: Indexed, tmp_path: Path) -> None:
    """Without the text, the participant page says the chain holds only the name's hash; once
    ``blobs add`` (here: the same indexing) has the text, the page, the asset page and the
    asset lists name the participant, hex beside. A planted file whose bytes do not hash to
    its name names no one."""
    alice, bob = indexed.world.alice.address, indexed.world.bob.address
    client = indexed.client
    before = client.get(f"/participant/{alice}").text
    assert _h1(before) == f'<code class="wrap">{alice}</code>'
    assert "not known here: the chain records only its SHA-256" in before
    assert "<dt>Jurisdiction</dt><dd>CN</dd>" in before

    blobs = BlobStore(tmp_path / "blobs")
    named = blobs.put(ALICE_NAME.encode())
    bob_hash = "0x" + hashlib.sha256(b"document:legal name of bob").hexdigest()
    planted = blobs.path(bob_hash)
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(b"Evil Corp")  # stored under bob's name hash, but not bob's name
    index_documents(engine_for(indexed.database_url), blobs, [named, bob_hash])

    after = client.get(f"/participant/{alice}").text
    assert _h1(after) == ALICE_NAME
    assert "not known here" not in after
    asset = asset_id_hex(indexed.assets["file"])
    page = client.get(f"/asset/{asset}").text
    link = f'<a href="/participant/{alice}" title="{alice}">{ALICE_NAME}</a>'
    assert f'{link} <span class="sub">CN · <code class="whole">{alice}</code></span>' in page
    assert "Evil Corp" not in client.get(f"/participant/{bob}").text
    assert "Evil Corp" not in client.get("/").text


def test_only_a_plain_line_of_text_can_be_a_name() -> None:
    """A name is one line of printable UTF-8 without marks that reorder text."""
    assert name_of(b"Huangpu Data Cleaning Ltd.") == "Huangpu Data Cleaning Ltd."
    assert name_of("上海浦东传感网络有限公司".encode()) == "上海浦东传感网络有限公司"
    for refused in (b"", b"   ", b"two\nlines", b"\xff\xfe", "Acme\u202e Ltd".encode(), b"x" * 201):
        assert name_of(refused) is None, refused
