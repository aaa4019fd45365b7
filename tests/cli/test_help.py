"""Every command documents itself: `--help` works and shows an example."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from provledger.cli import app


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):  # a group (typer carries its own click)
            found.extend(_commands(command, path))
        else:
            found.append(path)
    return found


COMMANDS = _commands(typer.main.get_group(app))


def test_the_root_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for path in COMMANDS:
        assert path[0] in result.stdout


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: provledger " in result.stdout
    assert f"provledger {' '.join(path)}" in result.stdout.replace("\n  ", " ")
