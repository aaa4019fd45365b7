"""Every command documents itself: `--help` works and shows an example."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from provledger import __version__
from provledger.cli import app
from provledger.cli.base import HELP_SECTIONS


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


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"provledger {__version__}\n"
    assert __version__ == version("provledger")  # the installed distribution's


def test_version_wins_over_a_command() -> None:
    result = CliRunner().invoke(app, ["--version", "register", "--category", "nonsense"])
    assert (result.exit_code, result.stdout) == (0, f"provledger {__version__}\n")


def _sections(help_text: str) -> list[tuple[str, list[str]]]:
    """The titled sections of a help text after its options: ``(title, command names)``."""
    found: list[tuple[str, list[str]]] = []
    for line in help_text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            found.append((line[:-1], []))
        elif found and line.startswith("  ") and line.strip():
            found[-1][1].append(line.split()[0])
    return found


def test_the_root_help_lists_the_role_sections_in_order_with_their_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    sections = _sections(result.stdout)
    assert sections[0][0] == "Options"
    top_level = {path[0] for path in COMMANDS}
    expected = [
        (title, [name for name in names if name in top_level])
        for title, names in HELP_SECTIONS.items()
    ]
    assert sections[1:] == expected  # no "Other": every command has its section
    assert sections[1] == (
        "Register (data holders)",
        [
            "hash", "register", "register-many", "sign", "relay", "anchor", "categories",
            "metadata", "disclose", "license", "transfer", "cancel", "data",
        ],
    )  # fmt: skip
    assert [title for title, _ in sections[1:]] == [
        "Register (data holders)",
        "Authority (registrar, appraiser, arbiter, export approver, admin)",
        "Market",
        "Verify",
        "Operate",
    ]
    assert sorted(name for _, names in sections[1:] for name in names) == sorted(top_level)
    for title, names in sections[1:]:
        for name in names:  # each with its one-line help
            row = next(line for line in result.stdout.splitlines() if line.split()[:1] == [name])
            assert len(row.split()) > 1, (title, row)
