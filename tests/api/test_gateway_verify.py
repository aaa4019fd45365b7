"""POST /verify (a streamed file), GET /verify (a hash), POST /verify/manifest (a folder)."""

from __future__ import annotations

import hashlib

from api.conftest import FILE_BYTES, METADATA, Indexed
from helpers.scenarios import BATCH_LEAVES
from provledger.chain.ids import asset_id_hex
from provledger.hashing import FolderManifest, ManifestEntry
from provledger.merkle import StandardMerkleTree

PROBLEM = "application/problem+json"


def test_a_registered_hash(indexed: Indexed) -> None:
    digest = "0x" + hashlib.sha256(FILE_BYTES).hexdigest()
    response = indexed.client.get("/verify", params={"hash": digest.upper().replace("0X", "0x")})
    assert response.status_code == 200
    verdict = response.json()
    assert verdict["registered"] is True
    assert verdict["content_hash"] == digest
    assert verdict["asset_id"] == asset_id_hex(indexed.assets["file"])
    assert verdict["asset"]["registrant"] == indexed.world.alice.address
    assert verdict["asset"]["holder"] == indexed.world.alice.address
    assert verdict["open_disputes"] == 0
    assert verdict["valid_licenses"] == []
    assert verdict["metadata_matches"] is None
    block = verdict["asset"]["block_number"]
    assert indexed.client.get("/status").json()["head_block"] == block  # the last block
    assert verdict["warnings"] == [
        "not certified yet: the registration is applied",
        f"unconfirmed: 0 of 2 confirmations (the latest change is in block {block}; the chain "
        f"is at block {block})",
    ]
    assert verdict["checked_at"] == indexed.world.now()
    matching = indexed.client.get("/verify", params={"hash": digest, "metadata": METADATA.decode()})
    assert matching.json()["metadata_matches"] is True
    other = indexed.client.get("/verify", params={"hash": digest, "metadata": "{}"})
    assert other.json()["metadata_matches"] is False


def test_an_unregistered_hash(indexed: Indexed) -> None:
    digest = "0x" + hashlib.sha256(b"never registered").hexdigest()
    verdict = indexed.client.get("/verify", params={"hash": digest}).json()
    assert verdict["registered"] is False
    assert verdict["asset"] is None
    assert verdict["batch"] is None
    assert verdict["warnings"] == []


def test_a_leaf_of_an_anchored_batch(indexed: Indexed) -> None:
    tree = StandardMerkleTree.batch(BATCH_LEAVES)
    root = "0x" + tree.root.hex()
    leaf = BATCH_LEAVES[2]
    verdict = indexed.client.get("/verify", params={"hash": "0x" + leaf.hex()}).json()
    assert verdict["registered"] is False
    assert verdict["asset"] is None
    batch = verdict["batch"]
    assert batch["root"] == root
    assert batch["position"] == 2
    assert batch["leaf_hash"] == "0x" + tree.leaf_hash_at(2).hex()
    proof = [bytes.fromhex(node[2:]) for node in batch["proof"]]
    assert proof == list(tree.proof(2))
    assert indexed.world.carol.anchor.is_anchored_leaf(tree.root, leaf, proof)  # on chain
    anchored = indexed.world.carol.anchor.batch(tree.root)
    assert anchored is not None
    assert batch["submitter"] == indexed.world.carol.address
    assert batch["anchored_at"] == anchored.anchored_at
    assert batch["finality"] in ("pending", "safe", "final")
    assert verdict["warnings"] == [
        "anchored in a batch only: the batch proves the content existed when it was anchored; "
        "it is no asset, so no holder, license or dispute applies"
    ]
    # leaf 0 was promoted: an asset, answered as such
    promoted = indexed.client.get("/verify", params={"hash": "0x" + BATCH_LEAVES[0].hex()}).json()
    assert promoted["registered"] is True
    assert promoted["batch"] is None


def test_warnings_in_plain_words(indexed: Indexed) -> None:
    # the promoted batch leaf was cancelled
    asset = indexed.client.get(f"/assets/{asset_id_hex(indexed.assets['promoted'])}").json()
    verdict = indexed.client.get("/verify", params={"hash": asset["content_hash"]}).json()
    assert "cancelled: the registration was cancelled" in verdict["warnings"]


def test_a_streamed_file_raw_and_multipart(indexed: Indexed) -> None:
    expected = asset_id_hex(indexed.assets["file"])
    raw = indexed.client.post(
        "/verify", content=FILE_BYTES, headers={"content-type": "application/octet-stream"}
    )
    assert raw.status_code == 200, raw.text
    assert raw.json()["asset_id"] == expected
    form = indexed.client.post(
        "/verify", files={"file": ("air.csv", FILE_BYTES), "metadata": ("m.json", METADATA)}
    )
    assert form.status_code == 200, form.text
    assert form.json()["asset_id"] == expected
    assert form.json()["metadata_matches"] is True
    unknown = indexed.client.post("/verify", files={"file": ("x.bin", b"\x00" * 1000)})
    assert unknown.json()["registered"] is False


def test_upload_refusals(indexed: Indexed) -> None:
    cap = 64 * 1024
    too_big = indexed.client.post(
        "/verify", content=b"x" * (cap + 1), headers={"content-type": "application/octet-stream"}
    )
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == PROBLEM
    assert too_big.json()["invalid_params"] == [
        {"name": "file", "reason": "larger than the 65,536-byte upload cap"}
    ]
    form_too_big = indexed.client.post("/verify", files={"file": ("big", b"x" * (cap + 1))})
    assert form_too_big.status_code == 413
    boundary = "provledgerboundary"
    truncated = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\npartial'
    ).encode()
    cut = indexed.client.post(
        "/verify",
        content=truncated,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert cut.status_code == 400
    assert cut.json()["invalid_params"][0]["name"] == "file"
    no_boundary = indexed.client.post(
        "/verify", content=b"x", headers={"content-type": "multipart/form-data"}
    )
    assert no_boundary.status_code == 400
    wrong_type = indexed.client.post(
        "/verify", content=b"x", headers={"content-type": "text/plain"}
    )
    assert wrong_type.status_code == 400
    assert wrong_type.json()["invalid_params"][0]["name"] == "content-type"
    other_part = indexed.client.post("/verify", files={"notes": ("n", b"x")})
    assert other_part.status_code == 400
    assert other_part.json()["invalid_params"][0]["name"] == "notes"


def test_a_folder_manifest(indexed: Indexed) -> None:
    entries = [
        ManifestEntry("day-1.csv", hashlib.sha256(b"a").digest(), 10),
        ManifestEntry("day-2.csv", hashlib.sha256(b"b").digest(), 12),
    ]
    manifest = FolderManifest.from_entries(entries)
    answer = indexed.client.post("/verify/manifest", content=manifest.to_json())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["root"] == "0x" + manifest.root.hex()
    assert (body["files"], body["total_size"]) == (2, 22)
    assert body["verdict"]["registered"] is False
    broken = indexed.client.post("/verify/manifest", content=b"{not json")
    assert broken.status_code == 400
    assert broken.json()["invalid_params"][0]["name"] == "manifest"
    lying = manifest.to_json().replace(manifest.root.hex(), "00" * 32)
    refused = indexed.client.post("/verify/manifest", content=lying)
    assert refused.status_code == 400
    too_big = indexed.client.post("/verify/manifest", content=b" " * (16 * 1024 + 1))
    assert too_big.status_code == 413
