"""Search by metadata title: the words of the titles of the metadata documents the blob folder
holds, keyed by the documents' SHA-256 (the metadata hash an asset anchors).

A metadata document is a JSON object; its ``title`` (a string) is split into lowercase words
(Unicode letters and digits). An asset matches a search when its *current* metadata hash names
a document whose title holds every searched word, so a metadata revision moves the asset to
its new title's words. Documents come in with ``provledger blobs add``, which indexes their
titles at once; ``provledger index`` indexes any document of the folder not yet indexed (after
a rebuild, all of them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from provledger.store import schema
from provledger.store.blobs import BlobStore

MAX_WORD: Final = 64
MAX_TITLE_WORDS: Final = 64
MAX_TITLE: Final = 1_000
_WORD: Final = re.compile(r"\w+")
_CHUNK: Final = 500


def words_of(text: str) -> list[str]:
    """The distinct lowercase words of ``text`` in order (each cut to 64 characters)."""
    seen: dict[str, None] = {}
    for match in _WORD.finditer(text.lower()):
        seen.setdefault(match.group()[:MAX_WORD], None)
    return list(seen)


def title_of(document: bytes) -> str | None:
    """The ``title`` of a metadata document, or None (not a JSON object, no string title)."""
    try:
        parsed = orjson.loads(document)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict):
        return None
    title = parsed.get("title")
    if not isinstance(title, str) or not title.strip():
        return None
    return title.strip()[:MAX_TITLE]


def index_titles(engine: Engine, blobs: BlobStore, hashes: Iterable[str] | None = None) -> int:
    """Index the titles of the blobs ``hashes`` (default: every blob) not indexed yet; return
    how many documents with a title were added."""
    pending = list(dict.fromkeys(blobs.hashes() if hashes is None else hashes))
    added = 0
    for start in range(0, len(pending), _CHUNK):
        chunk = pending[start : start + _CHUNK]
        try:
            added += _index_chunk(engine, blobs, chunk)
        except IntegrityError:  # another process indexed some of them meanwhile: skip those
            added += _index_chunk(engine, blobs, chunk)
    return added


def _index_chunk(engine: Engine, blobs: BlobStore, chunk: list[str]) -> int:
    with engine.begin() as conn:
        known = set(
            conn.execute(
                select(schema.metadata_titles.c.metadata_hash).where(
                    schema.metadata_titles.c.metadata_hash.in_(chunk)
                )
            ).scalars()
        )
        titles, words = [], []
        for sha256 in chunk:
            if sha256 in known:
                continue
            document = blobs.get(sha256)
            title = None if document is None else title_of(document)
            if title is None:
                continue
            titles.append({"metadata_hash": sha256, "title": title})
            words += [
                {"word": word, "metadata_hash": sha256}
                for word in words_of(title)[:MAX_TITLE_WORDS]
            ]
        if titles:
            conn.execute(schema.metadata_titles.insert(), titles)
        if words:
            conn.execute(schema.title_words.insert(), words)
        return len(titles)
