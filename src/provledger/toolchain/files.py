"""Writing artifacts and generated modules, and telling how the files on disk differ from a build.

:func:`write_artifacts` and :func:`write_generated_modules` put a build on disk;
:func:`artifact_drift` and :func:`generated_modules_drift` compare a build with what is there.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from provledger.toolchain.codegen import render_events_module
from provledger.toolchain.rowgen import render_rows_module


def artifact_json(artifact: Mapping[str, Any]) -> str:
    """The exact text of an artifact file: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(artifact, sort_keys=True, indent=2) + "\n"


_FILE_MODE: Final = 0o666


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_artifacts(artifacts: Mapping[str, Mapping[str, Any]], out_dir: Path) -> list[Path]:
    """Write ``<name>.json`` for each artifact and delete stale ``*.json`` files in ``out_dir``.

    Files whose text is already right are left untouched; others are replaced atomically.
    Returns the artifact paths, sorted by name.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in sorted(artifacts):
        path = out_dir / f"{name}.json"
        data = artifact_json(artifacts[name]).encode()
        if not (path.is_file() and path.read_bytes() == data):
            handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                # mkstemp makes the file private (0600); artifacts are ordinary package data.
                os.chmod(temporary, _FILE_MODE & ~_current_umask())
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        written.append(path)
    for stale in out_dir.glob("*.json"):
        if stale.stem not in artifacts:
            stale.unlink()
    return written


def _short(value: object) -> str | None:
    if isinstance(value, str | int | float | bool) and len(str(value)) <= 80:
        return str(value)
    return None


def _field_drift(prefix: str, committed: object, compiled: object) -> list[str]:
    if committed == compiled:
        return []
    if isinstance(committed, dict) and isinstance(compiled, dict):
        changes: list[str] = []
        for key in sorted(set(committed) | set(compiled)):
            if key not in compiled:
                changes.append(f"{prefix}.{key} is not produced any more")
            elif key not in committed:
                changes.append(f"{prefix}.{key} is new")
            else:
                changes.extend(_field_drift(f"{prefix}.{key}", committed[key], compiled[key]))
        return changes
    old, new = _short(committed), _short(compiled)
    if old is not None and new is not None:
        return [f"{prefix} changed: committed {old}, compiled {new}"]
    if prefix.endswith("ytecode") and isinstance(committed, str) and isinstance(compiled, str):
        sizes = f"{len(committed) // 2 - 1} -> {len(compiled) // 2 - 1} bytes"
        return [f"{prefix} changed ({sizes})"]
    return [f"{prefix} changed"]


def artifact_drift(
    compiled: Mapping[str, Mapping[str, Any]], out_dir: Path, label: str | None = None
) -> list[str]:
    """Differences between freshly ``compiled`` artifacts and the files in ``out_dir``."""
    where = label or str(out_dir)
    on_disk = {path.stem: path for path in out_dir.glob("*.json")} if out_dir.is_dir() else {}
    drift: list[str] = []
    for name in sorted(compiled.keys() - on_disk.keys()):
        drift.append(
            f"{where}/{name}.json is missing (contract {name} in {compiled[name]['sourceName']})"
        )
    for name in sorted(on_disk.keys() - compiled.keys()):
        drift.append(f"{where}/{name}.json is stale: no deployable contract {name} compiles to it")
    for name in sorted(compiled.keys() & on_disk.keys()):
        text = on_disk[name].read_text(encoding="utf-8")
        try:
            committed = json.loads(text)
        except json.JSONDecodeError as error:
            drift.append(f"{where}/{name}.json is not valid JSON ({error})")
            continue
        changes = _field_drift(name, committed, dict(compiled[name]))
        if changes:
            drift.extend(f"{where}/{name}.json: {change}" for change in changes)
        elif text != artifact_json(compiled[name]):
            drift.append(f"{where}/{name}.json is not in canonical form (rewrite it by compiling)")
    return drift


#: Modules generated from the runtime artifacts: path -> renderer.
GENERATED_MODULES: Final[dict[str, Callable[[Mapping[str, Mapping[str, Any]]], str]]] = {
    "src/provledger/chain/events.py": render_events_module,
    "src/provledger/indexer/rows.py": render_rows_module,
}


def write_generated_modules(artifacts: Mapping[str, Mapping[str, Any]], root: Path) -> list[Path]:
    """Regenerate every module of :data:`GENERATED_MODULES` from ``artifacts``."""
    written = []
    for relative, render in GENERATED_MODULES.items():
        path = root / relative
        path.write_text(render(artifacts), encoding="utf-8")
        written.append(path)
    return written


def generated_modules_drift(artifacts: Mapping[str, Mapping[str, Any]], root: Path) -> list[str]:
    """One line per generated module that differs from what ``artifacts`` give."""
    drift = []
    for relative, render in GENERATED_MODULES.items():
        try:
            actual = (root / relative).read_text(encoding="utf-8")
        except FileNotFoundError:
            drift.append(f"{relative}: missing")
            continue
        if actual != render(artifacts):
            drift.append(f"{relative}: stale, regenerate it")
    return drift
