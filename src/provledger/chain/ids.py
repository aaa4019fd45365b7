"""Identifiers computed offline, mirroring the contracts.

``asset_id(content_hash)`` is what ``DataAssetRegistry.assetIdOf`` returns, so anyone holding a
file can find its asset without asking the gateway.
"""

from __future__ import annotations

from typing import Final

from eth_utils.crypto import keccak

from provledger.merkle import keccak256

#: ``keccak256("provledger.asset.v1")``, the contract's ``ASSET_ID_DOMAIN``.
ASSET_ID_DOMAIN: Final = keccak(b"provledger.asset.v1")


def asset_id(content_hash: bytes) -> int:
    """``uint256(keccak256(abi.encode(ASSET_ID_DOMAIN, contentHash)))``."""
    if len(content_hash) != 32:
        raise ValueError(f"a content hash is 32 bytes, got {len(content_hash)}")
    # the fastest keccak backend installed: the gateway derives an id on every lookup by hash
    return int.from_bytes(keccak256(ASSET_ID_DOMAIN + content_hash), "big")


def role_id(name: str) -> bytes:
    """The AccessControl role id of ``name``: ``keccak256(name)``, zero for DEFAULT_ADMIN_ROLE."""
    if name == "DEFAULT_ADMIN_ROLE":
        return b"\x00" * 32
    return keccak(name.encode())


def asset_id_hex(value: int) -> str:
    """An asset id as ``0x`` and 64 lowercase hex digits (its bytes32 form)."""
    return f"0x{value:064x}"


def short_id(value: int) -> str:
    """A short display form of an asset id: ``0x1234abcd…9f8e``."""
    text = asset_id_hex(value)
    return f"{text[:10]}…{text[-4:]}"
