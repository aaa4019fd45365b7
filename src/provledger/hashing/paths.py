"""Manifest paths: how a file under a dataset folder is named in its folder's manifest.

A manifest path is relative to the folder, ``/``-separated on every OS and in Unicode NFC (macOS
hands out NFD names; the same folder must hash the same everywhere), with no empty, ``.`` or
``..`` segment.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import PurePath

from provledger.errors import UnsupportedPathError


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a manifest path, or None if it is one."""
    if not path:
        return "it is empty"
    if "\x00" in path:
        return "it contains a NUL character"
    if path.startswith("/"):
        return "it is absolute; manifest paths are relative to the folder"
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return f"it has an empty, '.' or '..' segment ({part!r}); use a normalised '/' path"
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid UTF-8"
    if not unicodedata.is_normalized("NFC", path):
        return "it is not in Unicode NFC form"
    return None


def normalise_manifest_path(path: str | PurePath) -> str:
    """Return ``path`` as a manifest path: relative, ``/``-separated, Unicode NFC.

    A :class:`~pathlib.PurePath` is converted with ``as_posix()``; in a string, only ``/``
    separates folders.

    Raises:
        UnsupportedPathError: the path is empty, absolute, has ``.``/``..``/empty segments,
            or is not valid Unicode.
    """
    text = path.as_posix() if isinstance(path, PurePath) else path
    if not isinstance(text, str):
        raise UnsupportedPathError(repr(text), "a manifest path must be text")
    try:
        normalised = unicodedata.normalize("NFC", text)
    except UnicodeError as exc:  # pragma: no cover - normalize does not fail on str today
        raise UnsupportedPathError(text, str(exc)) from exc
    problem = path_problem(normalised)
    if problem is not None:
        raise UnsupportedPathError(text, problem)
    return normalised


def link_target(path: str) -> str:
    """What the symbolic link at ``path`` points to, for a message (``?`` if unreadable)."""
    try:
        return os.readlink(path)
    except OSError:
        return "?"
