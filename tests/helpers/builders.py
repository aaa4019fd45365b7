"""Builders of test inputs: unique content hashes, registrations, document hashes."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable

from provledger.chain.types import ParentLink, Registration

_counter = itertools.count(1)

DEFAULT_CATEGORY = 101


def sha256(text: str | bytes) -> bytes:
    """SHA-256 of ``text`` (UTF-8 encoded if a str)."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).digest()


def doc(label: str) -> bytes:
    """A document hash for ``label`` (a reason, evidence, terms, certificate …)."""
    return sha256(f"document:{label}")


def unique_content() -> bytes:
    """A content hash never used before in this process."""
    return sha256(f"content:{next(_counter)}")


def registration(
    *,
    content_hash: bytes | None = None,
    metadata_uri: str | None = None,
    metadata_hash: bytes | None = None,
    category: int = DEFAULT_CATEGORY,
    grade: int = 1,
    parents: Iterable[ParentLink] = (),
) -> Registration:
    """A valid registration with fresh content unless told otherwise."""
    content = content_hash if content_hash is not None else unique_content()
    return Registration(
        content_hash=content,
        metadata_uri=metadata_uri
        if metadata_uri is not None
        else f"ipfs://bafy{content.hex()[:16]}/metadata.json",
        metadata_hash=metadata_hash if metadata_hash is not None else sha256(b"meta" + content),
        category=category,
        grade=grade,
        parents=tuple(parents),
    )
