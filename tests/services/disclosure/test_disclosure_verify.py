"""Presentations of committed metadata checked against a chain: every check, and each altered
part failing the check that reads it."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from helpers.builders import registration
from helpers.world import World
from provledger.commitments import HEADER_FIELD, CommittedDocument, Presentation, commitment_uri
from provledger.services.disclosure import verify_presentation

METADATA = {
    "title": "Huangpu air quality 2026",
    "category": "environment",
    "source": "WITHHELD-MARKER-source-7f3a",
    "scale": 125000,
}


def _register(world: World, *, content: bool = False) -> tuple[int, CommittedDocument, bytes]:
    sha256 = hashlib.sha256(f"data {world.now()} {content}".encode()).digest()
    document = CommittedDocument.of(METADATA, sha256, confidential=content)
    asset = world.register(
        world.alice,
        registration(
            content_hash=document.content_hash,
            metadata_uri=commitment_uri(content),
            metadata_hash=document.root,
        ),
    )
    return asset, document, sha256


def _present(world: World, asset: int, document: CommittedDocument, **kw: Any) -> Presentation:
    return document.present(
        kw.pop("names", ["title", "category"]),
        chain_id=int(world.chain.w3.eth.chain_id),
        registry=world.deployment.address("DataAssetRegistry"),
        asset_id=asset,
        **kw,
    )


def _verify(world: World, presentation: Presentation) -> dict[str, bool]:
    verdict = verify_presentation(
        presentation,
        world.chain.w3,
        world.deployment.address("DataAssetRegistry"),
        world.deployment.block_number,
    )
    return {check.name: check.passed for check in verdict.checks}


@pytest.mark.parametrize("names", [[], ["title"], ["title", "category"], list(METADATA)])
def test_a_round_trip_of_any_subset_verifies(world: World, names: list[str]) -> None:
    asset, document, _ = _register(world)
    presentation = Presentation.parse(_present(world, asset, document, names=names).to_json())
    assert _verify(world, presentation) == dict.fromkeys(
        ["chain", "registry", "commitment", "asset", "proof", "root"], True
    )
    assert {field.name: field.value for field in presentation.own_fields} == {
        name: METADATA[name] for name in names
    }
    assert set(presentation.withheld) == set(METADATA) - set(names)


def test_a_confidential_content_hash_is_disclosed_and_checked(world: World) -> None:
    asset, document, sha256 = _register(world, content=True)
    presentation = _present(world, asset, document, content=True)
    assert presentation.content is not None
    assert presentation.content.sha256 == sha256
    assert all(_verify(world, presentation).values())
    assert "content" in _verify(world, presentation)
    other = dataclasses.replace(
        presentation,
        content=dataclasses.replace(presentation.content, sha256=hashlib.sha256(b"x").digest()),
    )
    assert _verify(world, other)["content"] is False


def _altered(presentation: Presentation, part: str) -> Presentation:
    """``presentation`` with ``part`` changed; a field part changes a disclosed field of the
    document (not the header)."""
    at = next(i for i, f in enumerate(presentation.fields) if f.name != HEADER_FIELD)
    fields = list(presentation.fields)
    if part in ("value", "salt", "name"):
        changes: dict[str, Any] = {"value": "forged", "salt": bytes(32), "name": "titles"}
        fields[at] = dataclasses.replace(fields[at], **{part: changes[part]})
        return dataclasses.replace(presentation, fields=tuple(fields))
    if part == "proof":
        return dataclasses.replace(presentation, proof=(bytes(32), *presentation.proof[1:]))
    if part == "root":
        return dataclasses.replace(presentation, root=bytes(32))
    if part == "asset":
        return dataclasses.replace(presentation, asset_id=presentation.asset_id ^ 1)
    if part == "chain":
        return dataclasses.replace(presentation, chain_id=presentation.chain_id + 1)
    return dataclasses.replace(presentation, registry="0x" + "11" * 20)


@pytest.mark.parametrize(
    ("part", "failed"),
    [
        ("value", {"proof"}),
        ("salt", {"proof"}),
        ("name", {"proof"}),
        ("proof", {"proof"}),
        ("root", {"proof", "root"}),
        ("asset", {"commitment", "asset", "root"}),
        ("chain", {"chain"}),
        ("registry", {"registry"}),
    ],
)
def test_each_altered_part_fails_its_check(world: World, part: str, failed: set[str]) -> None:
    asset, document, _ = _register(world)
    presentation = _present(world, asset, document)
    outcome = _verify(world, _altered(presentation, part))
    assert {name for name, passed in outcome.items() if not passed} == failed


def test_a_plain_registration_has_no_commitment(world: World) -> None:
    document = CommittedDocument.of(METADATA, hashlib.sha256(b"plain").digest())
    asset = world.register(
        world.alice,
        registration(content_hash=document.content_hash, metadata_hash=document.root),
    )
    outcome = _verify(world, _present(world, asset, document))
    assert outcome["commitment"] is False
    assert outcome["root"] is True


def test_a_revision_moves_the_commitment(world: World) -> None:
    asset, document, _ = _register(world)
    revised = CommittedDocument.of({**METADATA, "title": "revised"}, document.content_hash)
    world.alice.registry.update_metadata(asset, commitment_uri(False), revised.root)
    assert _verify(world, _present(world, asset, document))["root"] is False
    assert all(_verify(world, _present(world, asset, revised)).values())


def test_a_confidential_content_hash_outlives_a_plain_revision(world: World) -> None:
    asset, document, _ = _register(world, content=True)
    presentation = _present(world, asset, document, content=True)
    world.alice.registry.update_metadata(asset, "sha256:" + "11" * 32, b"\x11" * 32)
    outcome = _verify(world, presentation)
    assert outcome["content"] is True
    assert (outcome["commitment"], outcome["root"]) == (False, False)


def test_a_copycat_anchoring_the_same_root_borrows_nothing(world: World) -> None:
    asset, document, _ = _register(world)
    copycat = world.register(
        world.bob,
        registration(metadata_uri=commitment_uri(False), metadata_hash=document.root),
    )
    moved = dataclasses.replace(_present(world, asset, document), asset_id=copycat)
    outcome = _verify(world, moved)
    assert {name for name, passed in outcome.items() if not passed} == {"asset"}


@pytest.mark.parametrize("max_range", [1, 7])
def test_logs_are_read_a_window_at_a_time(world: World, max_range: int) -> None:
    asset, document, _ = _register(world)
    world.alice.registry.update_metadata(asset, commitment_uri(False), document.root)
    verdict = verify_presentation(
        _present(world, asset, document),
        world.chain.w3,
        world.deployment.address("DataAssetRegistry"),
        world.deployment.block_number,
        max_range,
    )
    assert verdict.ok
