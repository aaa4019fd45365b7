"""keccak256 and the commutative pair hash of OpenZeppelin's ``Hashes``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Final, Protocol, cast

__all__ = ["hash_pair", "keccak256", "new_keccak"]

_KECCAK_EMPTY: Final = bytes.fromhex(
    "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
)


class KeccakState(Protocol):
    """A started keccak256 computation: what :data:`new_keccak` returns."""

    def digest(self) -> bytes: ...


def _select_keccak() -> Callable[[bytes], KeccakState]:
    # safe-pysha3 (pinned, pulled in by eth-tester[py-evm]) hashes 32-64 byte inputs about
    # seven times faster than pycryptodome, which eth_hash.auto prefers when both are
    # installed; a 100k-leaf tree is ~300k hashes, so this is most of the build time.
    # A known answer keeps a NIST SHA3-256 impostor named `sha3` from being used.
    try:
        new = cast(Callable[[bytes], KeccakState], importlib.import_module("sha3").keccak_256)
        if new(b"").digest() == _KECCAK_EMPTY:
            return new
    except (ImportError, AttributeError):
        pass
    from Crypto.Hash import keccak

    def pycryptodome_keccak(data: bytes) -> KeccakState:
        return keccak.new(data=data, digest_bits=256)

    return pycryptodome_keccak


new_keccak: Final = _select_keccak()
"""The fastest keccak256 constructor installed: ``new_keccak(data).digest()`` is the digest.

Called directly (not through :func:`keccak256`) in the loops that hash a whole tree.
"""


def keccak256(data: bytes) -> bytes:
    """Return the Ethereum keccak256 digest (32 bytes) of ``data``."""
    return new_keccak(data).digest()


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Hash two nodes as ``Hashes.commutativeKeccak256``: keccak256 of the smaller one first."""
    return new_keccak(a + b if a < b else b + a).digest()
