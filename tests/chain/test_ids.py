"""Offline identifiers mirror the contracts: asset ids and AccessControl role ids.

Read-only calls only, so the tests use ``session_world`` and need no snapshots.
"""

from __future__ import annotations

from typing import Final

import pytest
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.world import World
from provledger.chain.deploy import MODULE_ROLES
from provledger.chain.ids import ASSET_ID_DOMAIN, asset_id, role_id

ROLE_NAMES: Final = (
    "REGISTRAR_ROLE",
    "APPRAISER_ROLE",
    "ARBITER_ROLE",
    "EXPORT_APPROVER_ROLE",
    "OFFICE_ROLE",
    "COURT_ROLE",
    "ANCHOR_ROLE",
)

#: Content hashes worth pinning besides the random ones.
EDGE_HASHES: Final = (
    b"\x00" * 31 + b"\x01",
    b"\xff" * 32,
    bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
)


@settings(max_examples=20)
@given(content_hash=st.binary(min_size=32, max_size=32))
def test_asset_id_matches_the_contract(session_world: World, content_hash: bytes) -> None:
    assert asset_id(content_hash) == session_world.admin.registry.asset_id_of(content_hash)


@pytest.mark.parametrize("content_hash", EDGE_HASHES, ids=["one", "all-ones", "sha256-empty"])
def test_asset_id_matches_the_contract_at_the_edges(
    session_world: World, content_hash: bytes
) -> None:
    assert asset_id(content_hash) == session_world.admin.registry.asset_id_of(content_hash)


def test_asset_id_of_zero_matches_the_contract(session_world: World) -> None:
    # the registry refuses a zero content hash, but the id function is total
    assert asset_id(b"\x00" * 32) == session_world.admin.registry.asset_id_of(b"\x00" * 32)


def test_asset_id_domain_matches_the_contract(session_world: World) -> None:
    contract = session_world.admin.registry.contract
    assert bytes(contract.functions.ASSET_ID_DOMAIN().call()) == ASSET_ID_DOMAIN
    assert keccak(b"provledger.asset.v1") == ASSET_ID_DOMAIN


def test_asset_id_is_domain_separated() -> None:
    content_hash = keccak(b"some file")
    assert asset_id(content_hash) != int.from_bytes(keccak(content_hash), "big")
    assert asset_id(content_hash) == int.from_bytes(keccak(ASSET_ID_DOMAIN + content_hash), "big")
    assert 0 < asset_id(content_hash) < 2**256


@pytest.mark.parametrize("length", [0, 20, 31, 33, 64])
def test_asset_id_refuses_a_hash_that_is_not_32_bytes(length: int) -> None:
    with pytest.raises(ValueError, match=f"got {length}"):
        asset_id(b"\x01" * length)


@pytest.mark.parametrize("name", ROLE_NAMES)
def test_role_id_matches_the_contract_constant(session_world: World, name: str) -> None:
    constant = getattr(session_world.admin.registry.contract.functions, name)
    assert bytes(constant().call()) == role_id(name)
    assert role_id(name) == keccak(text=name)


def test_default_admin_role_is_zero(session_world: World) -> None:
    contract = session_world.admin.registry.contract
    assert bytes(contract.functions.DEFAULT_ADMIN_ROLE().call()) == b"\x00" * 32
    assert role_id("DEFAULT_ADMIN_ROLE") == b"\x00" * 32


def test_role_ids_name_the_roles_the_world_holds(session_world: World) -> None:
    registry = session_world.admin.registry
    holders = {
        "DEFAULT_ADMIN_ROLE": session_world.admin.address,
        "REGISTRAR_ROLE": session_world.registrar.address,
        "APPRAISER_ROLE": session_world.appraiser.address,
        "ARBITER_ROLE": session_world.arbiter.address,
        "EXPORT_APPROVER_ROLE": session_world.exporter.address,
    }
    for module, role in MODULE_ROLES.items():
        holders[role] = session_world.deployment.address(module)
    for role, account in holders.items():
        assert registry.has_role(role, account), role
        assert not registry.has_role(role, session_world.stranger.address), role
