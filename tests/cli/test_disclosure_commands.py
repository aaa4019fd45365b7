"""Confidential registration from the command line, against a real chain: register --committed
(and sign/relay, metadata update), disclose, verify-disclosure, and verify FILE --salt."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from cli.conftest import BUYER, HOLDER, Cli, served_gateway
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.commitments import CommittedDocument, Presentation, commitment_uri
from provledger.params import to_hex32

pytestmark = pytest.mark.anvil

RELAYER = 12  # pays the gas of a relayed registration; not a participant
#: Each field's value holds a marker no other text of the test chain holds.
METADATA: dict[str, Any] = {
    "title": "Huangpu air quality 2026 MARKER-title-4d1f",
    "category": "environment MARKER-category-9b2e",
    "source": "MARKER-source-7f3a sensors of the district",
    "scale": 125000,
}
MARKERS = ("MARKER-title-4d1f", "MARKER-category-9b2e", "MARKER-source-7f3a")
HOLDER_FLAGS = ("--dev-account", str(HOLDER))
ALL_CHECKS = ["chain", "registry", "commitment", "asset", "proof", "root"]


@dataclass(frozen=True)
class Registered:
    """A committed registration made through the CLI: its asset, file, document and output."""

    asset: str
    data: Path
    document_path: Path
    output: dict[str, Any]

    @property
    def document(self) -> CommittedDocument:
        return CommittedDocument.parse(self.document_path.read_bytes())


def register(cli: Cli, folder: Path, *extra: str, name: str = "data.csv") -> Registered:
    """Register a new file of ``folder`` with :data:`METADATA`, committed, as the holder."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / name
    data.write_text(f"t,pm25\n0,{folder}/{name}\n")
    metadata = folder / "metadata.json"
    metadata.write_text(json.dumps(METADATA))
    document = folder / f"{name}.committed.json"
    output = cli.json(
        "register", str(data), "--category", "301", "--metadata", str(metadata),
        "--committed", "--document-out", str(document), *extra, *HOLDER_FLAGS,
    )  # fmt: skip
    return Registered(output["asset_id"], data, document, output)


@pytest.fixture(scope="module")
def committed(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Registered:
    return register(cli, tmp_path_factory.mktemp("committed"))


@pytest.fixture(scope="module")
def other(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Registered:
    """A second committed registration: another asset, another root."""
    return register(cli, tmp_path_factory.mktemp("other"))


@pytest.fixture(scope="module")
def confidential(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Registered:
    return register(cli, tmp_path_factory.mktemp("confidential"), "--confidential-content")


def disclose(cli: Cli, registered: Registered, out: Path, *args: str) -> Path:
    cli.ok(
        "disclose", registered.asset, "--document", str(registered.document_path), *args,
        "-o", str(out),
    )  # fmt: skip
    return out


def rewritten(path: Path, change: Callable[[dict[str, Any]], object], to: Path) -> Path:
    """A copy of the JSON file ``path`` at ``to`` after ``change`` edited its document."""
    document = json.loads(path.read_text())
    change(document)
    to.write_text(json.dumps(document))
    return to


def blob_texts(cli: Cli) -> list[bytes]:
    return [path.read_bytes() for path in (cli.home / "blobs").rglob("*") if path.is_file()]


# ------------------------------------------------------------------ register --committed


def test_a_committed_registration_anchors_the_root_and_the_kind(
    cli: Cli, committed: Registered
) -> None:
    document = committed.document
    content = hashlib.sha256(committed.data.read_bytes()).digest()
    state = cli.ledger().registry.asset(int(committed.asset, 16))
    assert state is not None
    assert state.metadata_hash == document.root
    assert committed.asset == asset_id_hex(asset_id(content))
    assert committed.output["content_hash"] == to_hex32(content)
    assert committed.output["metadata_hash"] == to_hex32(document.root)
    assert committed.output["metadata_uri"] == commitment_uri(False)
    assert committed.output["document"] == str(committed.document_path)
    assert {field.name: field.value for field in document.own_fields} == METADATA
    assert len({field.salt for field in document.fields}) == len(METADATA) + 1
    assert document.content_hash == content
    assert document.content is None
    assert stat.S_IMODE(os.stat(committed.document_path).st_mode) == 0o600


def test_nothing_withheld_is_in_the_blob_folder(
    cli: Cli, committed: Registered, confidential: Registered
) -> None:
    blobs = blob_texts(cli)
    for registered in (committed, confidential):
        document = registered.document_path.read_bytes()
        assert hashlib.sha256(document).hexdigest() not in {
            path.name for path in (cli.home / "blobs").rglob("*")
        }
        for field in registered.document.fields:
            assert not any(field.salt.hex().encode() in blob for blob in blobs)
    for marker in MARKERS:
        assert not any(marker.encode() in blob for blob in blobs), marker


def test_the_document_is_written_here_by_default_and_the_output_says_to_keep_it(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "readings.csv"
    data.write_text("t,pm25\n0,default path\n")
    monkeypatch.chdir(tmp_path)
    result = cli.run(
        "register", str(data), "--category", "301", "--title", "Default", "--committed",
        *HOLDER_FLAGS,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = tmp_path / "readings.csv.committed.json"
    document = CommittedDocument.parse(written.read_bytes())
    assert {field.name: field.value for field in document.own_fields} == {"title": "Default"}
    assert "the document is in readings.csv.committed.json" in " ".join(result.stdout.split())
    note = " ".join(result.stderr.split())
    assert note.startswith("note: keep readings.csv.committed.json")
    assert "no field can be disclosed without it" in note


def test_an_existing_document_is_never_overwritten_and_nothing_is_sent(
    cli: Cli, tmp_path: Path
) -> None:
    data = tmp_path / "data.csv"
    data.write_text("t,pm25\n0,never sent\n")
    kept = tmp_path / "kept.json"
    kept.write_text("precious")
    line = cli.fails(
        2, "register", str(data), "--category", "301", "--committed",
        "--document-out", str(kept), *HOLDER_FLAGS,
    )  # fmt: skip
    assert str(kept) in line
    assert kept.read_text() == "precious"
    assert cli.ledger().registry.asset(asset_id(hashlib.sha256(data.read_bytes()).digest())) is None


def test_a_refused_registration_leaves_no_document(cli: Cli, committed: Registered) -> None:
    again = committed.data.parent / "again.json"
    line = cli.fails(
        2, "register", str(committed.data), "--category", "301", "--committed",
        "--document-out", str(again), *HOLDER_FLAGS,
    )  # fmt: skip
    assert "the contract refused" in line
    assert not again.exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--confidential-content",), "--confidential-content needs --committed"),
        (("--document-out", "x.json"), "--document-out needs --committed"),
        (("--committed", "--metadata-uri", "ipfs://x"), "--metadata-uri"),
    ],
)
def test_options_that_need_each_other(
    cli: Cli, tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    data = tmp_path / "data.csv"
    data.write_text("t,pm25\n0,options\n")
    line = cli.fails(2, "register", str(data), "--category", "301", *args, *HOLDER_FLAGS)
    assert words in line


def test_a_fraction_is_no_committed_field_value(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("t,pm25\n0,fraction\n")
    metadata = tmp_path / "metadata.json"
    metadata.write_text('{"title": "t", "ratio": 0.5}')
    document = tmp_path / "doc.json"
    line = cli.fails(
        2, "register", str(data), "--category", "301", "--metadata", str(metadata),
        "--committed", "--document-out", str(document), *HOLDER_FLAGS,
    )  # fmt: skip
    assert line == "error: ratio: a float is no field value; write fractions as text"
    assert not document.exists()


# ------------------------------------------------------------------ disclose, verify-disclosure


@pytest.mark.parametrize("names", [[], ["title"], ["title", "category"], list(METADATA)])
def test_a_round_trip_of_any_subset_verifies(
    cli: Cli, committed: Registered, tmp_path: Path, names: list[str]
) -> None:
    presentation = disclose(
        cli, committed, tmp_path / "d.json", *(["--fields", ",".join(names)] if names else [])
    )
    parsed = Presentation.parse(presentation.read_bytes())
    assert parsed.asset_hex == committed.asset
    assert {field.name for field in parsed.own_fields} == set(names)
    verdict = cli.json("verify-disclosure", str(presentation))
    assert verdict["ok"] is True
    assert [check["name"] for check in verdict["checks"]] == ALL_CHECKS
    assert verdict["asset_id"] == committed.asset
    assert verdict["disclosed"] == {name: METADATA[name] for name in names}
    assert set(verdict["withheld"]) == set(METADATA) - set(names)
    human = cli.ok("verify-disclosure", str(presentation))
    assert "verified: all 6 checks passed" in human
    for name in names:
        assert f"{name} = {json.dumps(METADATA[name])}" in human
    withheld = [name for name in METADATA if name not in names]
    if withheld:
        assert f"withheld: {', '.join(withheld)}" in human


def test_the_presentation_holds_nothing_withheld(
    cli: Cli, committed: Registered, tmp_path: Path
) -> None:
    text = disclose(cli, committed, tmp_path / "d.json", "--fields", "title").read_text()
    assert MARKERS[0] in text
    for marker in MARKERS[1:]:
        assert marker not in text
    for field in committed.document.own_fields[1:]:
        assert field.salt.hex() not in text


def _own(document: dict[str, Any]) -> dict[str, Any]:
    """The first disclosed field of a presentation that is the document's own (not its
    @registration header)."""
    return next(field for field in document["fields"] if field["name"] != "@registration")


def _set_field(key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda document: _own(document).__setitem__(key, value)


ALTERATIONS: dict[str, tuple[Callable[[dict[str, Any]], object], set[str]]] = {
    "value": (_set_field("value", "forged title"), {"proof"}),
    "salt": (_set_field("salt", "0x" + "11" * 32), {"proof"}),
    "name": (_set_field("name", "headline"), {"proof"}),
    "proof": (lambda d: d["proof"].__setitem__(0, "0x" + "22" * 32), {"proof"}),
    "root": (lambda d: d.__setitem__("root", "0x" + "33" * 32), {"proof", "root"}),
    "chain": (lambda d: d.__setitem__("chain_id", 1), {"chain"}),
    "registry": (
        lambda d: d.__setitem__("registry", "0x" + "44" * 20),
        {"registry"},
    ),
    "unregistered asset": (
        lambda d: d.__setitem__("asset_id", "0x" + "55" * 32),
        {"commitment", "asset", "root"},
    ),
}


@pytest.mark.parametrize("part", ALTERATIONS)
def test_an_altered_part_fails_the_check_that_reads_it(
    cli: Cli, committed: Registered, tmp_path: Path, part: str
) -> None:
    change, failed = ALTERATIONS[part]
    presentation = disclose(cli, committed, tmp_path / "d.json", "--fields", "title,category")
    altered = rewritten(presentation, change, tmp_path / "altered.json")
    result = cli.run("verify-disclosure", str(altered), "--json")
    assert result.exit_code == 1, result.output
    verdict = json.loads(result.stdout)
    assert verdict["ok"] is False
    assert {check["name"] for check in verdict["checks"] if not check["passed"]} == failed
    human = cli.run("verify-disclosure", str(altered))
    assert human.exit_code == 1
    assert f"failed ({', '.join(name for name in ALL_CHECKS if name in failed)})" in human.stdout


def test_a_presentation_for_another_asset_fails_the_asset_and_the_root(
    cli: Cli, committed: Registered, other: Registered, tmp_path: Path
) -> None:
    presentation = disclose(cli, committed, tmp_path / "d.json", "--fields", "title")
    moved = rewritten(
        presentation, lambda d: d.__setitem__("asset_id", other.asset), tmp_path / "moved.json"
    )
    result = cli.run("verify-disclosure", str(moved), "--json")
    assert result.exit_code == 1, result.output
    failed = [check["name"] for check in json.loads(result.stdout)["checks"] if not check["passed"]]
    assert failed == ["asset", "root"]


BAD_PRESENTATIONS: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "duplicate fields": (lambda d: d["fields"].append(dict(_own(d))), "fields: "),
    "unknown kind": (lambda d: d.__setitem__("kind", "provledger-fields/9"), "kind: "),
    "unknown format": (lambda d: d.__setitem__("format", "other/1"), "format: "),
    "proof of the wrong length": (lambda d: d["proof"].append("0x" + "66" * 32), "proof: "),
    "salt not 32 bytes": (
        lambda d: d["fields"][0].__setitem__("salt", "0x" + "77" * 31),
        "fields[0].salt: ",
    ),
    "withheld also disclosed": (lambda d: d["withheld"].append("title"), "withheld: "),
    "unknown content kind": (
        lambda d: d.__setitem__(
            "content", {"kind": "sha3/1", "sha256": "0x" + "00" * 32, "salt": "0x" + "00" * 32}
        ),
        "content.kind: ",
    ),
}


@pytest.mark.parametrize("case", BAD_PRESENTATIONS)
def test_a_bad_presentation_is_one_line_naming_the_field_and_exit_1(
    cli: Cli, committed: Registered, tmp_path: Path, case: str
) -> None:
    change, field = BAD_PRESENTATIONS[case]
    presentation = disclose(cli, committed, tmp_path / "d.json", "--fields", "title,category")
    bad = rewritten(presentation, change, tmp_path / "bad.json")
    line = cli.fails(1, "verify-disclosure", str(bad))
    assert line.startswith(f"error: presentation {bad}: {field}"), line


def test_a_presentation_that_is_no_json_is_exit_1(cli: Cli, tmp_path: Path) -> None:
    torn = tmp_path / "torn.json"
    torn.write_text('{"format": ')
    line = cli.fails(1, "verify-disclosure", str(torn))
    assert str(torn) in line
    assert cli.fails(2, "verify-disclosure", str(tmp_path / "missing.json"))


def test_disclose_refuses_a_document_that_is_not_the_assets(
    cli: Cli, committed: Registered, other: Registered, tmp_path: Path
) -> None:
    out = tmp_path / "d.json"
    line = cli.fails(
        1, "disclose", committed.asset, "--document", str(other.document_path),
        "--fields", "title", "-o", str(out),
    )  # fmt: skip
    assert "root" in line
    assert committed.asset in line
    forged = rewritten(
        committed.document_path,
        lambda d: _own(d).__setitem__("value", "forged"),
        tmp_path / "forged.json",
    )
    line = cli.fails(
        1, "disclose", committed.asset, "--document", str(forged), "--fields", "title",
        "-o", str(out),
    )  # fmt: skip
    assert "root: " in line
    assert not out.exists()


def test_disclose_names_an_unknown_field(cli: Cli, committed: Registered, tmp_path: Path) -> None:
    line = cli.fails(
        2, "disclose", committed.asset, "--document", str(committed.document_path),
        "--fields", "title,price", "-o", str(tmp_path / "d.json"),
    )  # fmt: skip
    assert "'price' is not a field" in line


def test_disclose_of_a_plain_registration_is_refused(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "plain.csv"
    data.write_text("t,pm25\n0,plain\n")
    plain = cli.json("register", str(data), "--category", "301", *HOLDER_FLAGS)
    document = tmp_path / "doc.json"
    content = hashlib.sha256(data.read_bytes()).digest()
    document.write_bytes(CommittedDocument.of({"title": "x"}, content).to_json())
    line = cli.fails(
        1, "disclose", plain["asset_id"], "--document", str(document), "--fields", "title",
        "-o", str(tmp_path / "d.json"),
    )  # fmt: skip
    assert "commitment" in line


def test_disclose_publishes_to_the_gateway_as_the_holder(
    cli: Cli, committed: Registered, tmp_path: Path
) -> None:
    out = tmp_path / "d.json"
    args = ("--document", str(committed.document_path), "--fields", "title", "-o", str(out))
    with served_gateway(cli) as (url, _):
        line = cli.fails(2, "disclose", committed.asset, *args, "--gateway", url, *HOLDER_FLAGS)
        assert "--gateway is for --publish" in line
        done = cli.json(
            "disclose", committed.asset, *args, "--publish", "--gateway", url, *HOLDER_FLAGS
        )
        published = hashlib.sha256(out.read_bytes()).hexdigest()
        assert done["published"]["fields"] == [
            {
                "name": "title",
                "value": METADATA["title"],
                "proved": True,
                "presentation": "0x" + published,
            }
        ]
        view = requests.get(f"{url}/assets/{committed.asset}/disclosure", timeout=10).json()
        assert [field["name"] for field in view["fields"]] == ["title"]
        assert sorted(view["withheld"]) == sorted(set(METADATA) - {"title"})
        line = cli.fails(
            2, "disclose", committed.asset, *args, "--publish", "--gateway", url,
            "--dev-account", str(BUYER),
        )  # fmt: skip
        assert "does not hold the asset" in line


# ------------------------------------------------------------------ confidential content hash


def test_a_confidential_content_hash_is_the_salted_commitment(
    cli: Cli, confidential: Registered
) -> None:
    document = confidential.document
    assert document.content is not None
    sha256 = hashlib.sha256(confidential.data.read_bytes()).digest()
    assert document.content.sha256 == sha256
    commitment = document.content.commitment
    assert confidential.asset == asset_id_hex(asset_id(commitment))
    assert confidential.output["content_hash"] == to_hex32(commitment)
    assert confidential.output["metadata_uri"] == commitment_uri(True)
    assert cli.ledger().registry.asset_by_hash(sha256) is None


def test_verify_a_file_with_its_salt(cli: Cli, confidential: Registered) -> None:
    document = confidential.document
    assert document.content is not None
    salt = to_hex32(document.content.salt)
    verdict = cli.json("verify", str(confidential.data), "--salt", salt, "--rpc-url", cli.node.url)
    assert verdict["registered"] is True
    assert verdict["asset_id"] == confidential.asset
    assert verdict["content_hash"] == to_hex32(document.content.commitment)
    assert verdict["sha256"] == to_hex32(document.content.sha256)
    wrong = cli.run(
        "verify", str(confidential.data), "--salt", "0x" + "01" * 32, "--rpc-url", cli.node.url
    )
    assert wrong.exit_code == 1, wrong.output
    assert "not registered" in wrong.stdout
    plain = cli.run("verify", str(confidential.data), "--rpc-url", cli.node.url)
    assert plain.exit_code == 1, plain.output
    assert cli.fails(
        2, "verify", str(confidential.data), "--salt", "0x12", "--rpc-url", cli.node.url
    ).startswith("error: --salt: ")


def test_the_content_hash_is_disclosed_and_checked(
    cli: Cli, confidential: Registered, tmp_path: Path
) -> None:
    presentation = disclose(
        cli, confidential, tmp_path / "d.json", "--fields", "title", "--content"
    )
    verdict = cli.json("verify-disclosure", str(presentation))
    assert verdict["ok"] is True
    assert [check["name"] for check in verdict["checks"]] == [*ALL_CHECKS, "content"]
    document = confidential.document
    assert document.content is not None
    assert verdict["content"]["sha256"] == to_hex32(document.content.sha256)
    wrong = rewritten(
        presentation,
        lambda d: d["content"].__setitem__("salt", "0x" + "02" * 32),
        tmp_path / "wrong.json",
    )
    result = cli.run("verify-disclosure", str(wrong), "--json")
    assert result.exit_code == 1, result.output
    failed = [check["name"] for check in json.loads(result.stdout)["checks"] if not check["passed"]]
    assert failed == ["content"]


def test_the_content_of_a_public_content_hash_cannot_be_disclosed(
    cli: Cli, committed: Registered, tmp_path: Path
) -> None:
    line = cli.fails(
        2, "disclose", committed.asset, "--document", str(committed.document_path), "--content",
        "-o", str(tmp_path / "d.json"),
    )  # fmt: skip
    assert "content" in line


def test_a_confidential_folder_keeps_its_manifest_out_of_the_blob_folder(
    cli: Cli, tmp_path: Path
) -> None:
    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "day-1.csv").write_text("t,pm25\n0,secret folder\n")
    document = tmp_path / "dataset.committed.json"
    cli.json(
        "register", str(folder), "--category", "301", "--title", "Folder", "--committed",
        "--confidential-content", "--document-out", str(document), *HOLDER_FLAGS,
    )  # fmt: skip
    root = CommittedDocument.parse(document.read_bytes()).content
    assert root is not None
    assert not any(root.sha256.hex().encode() in blob for blob in blob_texts(cli))
    assert not any(b"day-1.csv" in blob for blob in blob_texts(cli))


# ------------------------------------------------------------------ other channels


def test_sign_committed_then_relay_then_disclose(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "signed.csv"
    data.write_text("t,pm25\n0,signed committed\n")
    document = tmp_path / "signed.committed.json"
    cli.ok(
        "sign", str(data), "--category", "301", "--title", "Signed", "--committed",
        "--document-out", str(document), "-o", str(tmp_path / "signed.json"), *HOLDER_FLAGS,
    )  # fmt: skip
    relayed = cli.json("relay", str(tmp_path / "signed.json"), "--dev-account", str(RELAYER))
    asset = relayed["asset_ids"][0]
    registered = Registered(asset, data, document, {})
    presentation = disclose(cli, registered, tmp_path / "d.json", "--fields", "title")
    assert cli.json("verify-disclosure", str(presentation))["ok"] is True


def test_a_committed_metadata_revision(cli: Cli, confidential: Registered, tmp_path: Path) -> None:
    before = disclose(cli, confidential, tmp_path / "before.json", "--fields", "title")
    revised = tmp_path / "revised.json"
    line = cli.fails(
        2, "metadata", "update", confidential.asset, "--title", "Revised", "--committed",
        "--document-out", str(revised), *HOLDER_FLAGS,
    )  # fmt: skip
    assert "--document" in line
    assert not revised.exists()
    update = cli.json(
        "metadata", "update", confidential.asset, "--title", "Revised MARKER-title-4d1f",
        "--committed", "--document", str(confidential.document_path),
        "--document-out", str(revised), *HOLDER_FLAGS,
    )  # fmt: skip
    document = CommittedDocument.parse(revised.read_bytes())
    assert document.content == confidential.document.content
    assert update["metadata_uri"] == commitment_uri(True)
    state = cli.ledger().registry.asset(int(confidential.asset, 16))
    assert state is not None
    assert state.metadata_hash == document.root
    stale = cli.run("verify-disclosure", str(before), "--json")
    assert stale.exit_code == 1
    assert [c["name"] for c in json.loads(stale.stdout)["checks"] if not c["passed"]] == ["root"]
    now = Registered(confidential.asset, confidential.data, revised, {})
    after = disclose(cli, now, tmp_path / "after.json", "--fields", "title", "--content")
    verdict = cli.json("verify-disclosure", str(after))
    assert verdict["ok"] is True
    assert verdict["disclosed"] == {"title": "Revised MARKER-title-4d1f"}
