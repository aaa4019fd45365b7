"""The README's console blocks are run, in order, as one shell session; their output must match.

A block is fenced as ``console``. A line ``$ COMMAND`` runs ``COMMAND`` with bash in a fresh
folder (``export NAME=VALUE`` sets a variable for the later commands; a command ending in
`` &`` runs in the background until the end, and the session waits until the port it names
answers). The lines after a command are its expected output, matched in order against what it
printed (standard output and error, interleaved): ``...`` inside a line stands for any text, a
line of just ``...`` for any number of lines, and trailing spaces are ignored. The tour's ports
(8545 for the chain, 8000 for the gateway) are replaced by free ones.

``PROVLEDGER_README_RECORD=1`` prints what each command printed instead of checking it, to
refresh the README with real output.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from helpers.processes import clean_env, wait_until
from provledger.chain.anvil import free_port

pytestmark = pytest.mark.anvil

README = Path(__file__).resolve().parents[1] / "README.md"
RECORD = os.environ.get("PROVLEDGER_README_RECORD") == "1"
TOUR_PORTS = (8545, 8000)
COMMAND_TIMEOUT = 180.0


@dataclass
class Step:
    """One ``$ command`` of the README and the output it shows."""

    block: int
    command: str
    expected: list[str] = field(default_factory=list)


def console_steps(text: str) -> list[Step]:
    """Every command of every ``console`` block, in order."""
    steps: list[Step] = []
    for number, block in enumerate(re.findall(r"^```console\n(.*?)^```", text, re.S | re.M)):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append(Step(number, line[2:]))
            elif steps and steps[-1].block == number:
                steps[-1].expected.append(line.rstrip())
    return steps


def _line_matches(pattern: str, line: str) -> bool:
    parts = [re.escape(part) for part in pattern.split("...")]
    return re.fullmatch(".*".join(parts), line.rstrip(), re.S) is not None


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` lines fit ``expected`` (with ``...`` wildcards, see above)."""
    if not expected:
        return True
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(output_matches(rest, actual[start:]) for start in range(len(actual) + 1))
    return bool(actual) and _line_matches(head, actual[0]) and output_matches(rest, actual[1:])


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_readme_console_blocks(tmp_path: Path) -> None:
    steps = console_steps(README.read_text(encoding="utf-8"))
    assert len(steps) >= 20, "the README's tour has gone missing"
    ports = {tour: free_port() for tour in TOUR_PORTS}
    env = clean_env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["COLUMNS"] = "100"  # rich lays tables out to this width when not on a terminal
    background: list[subprocess.Popen[bytes]] = []
    try:
        for step in steps:
            command = step.command
            expected = list(step.expected)
            for tour, port in ports.items():
                command = command.replace(str(tour), str(port))
                expected = [line.replace(str(tour), str(port)) for line in expected]
            if command.startswith("export "):
                name, _, value = command[len("export ") :].partition("=")
                env[name] = shlex.split(value)[0]
                continue
            if command.endswith(" &"):
                process = subprocess.Popen(
                    ["bash", "-c", command[:-2]],
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                background.append(process)
                opened = next(port for port in ports.values() if str(port) in command)
                wait_until(partial(_port_open, opened), process, command, COMMAND_TIMEOUT)
                continue
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,  # interleaved as on a terminal
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
            actual = done.stdout.splitlines()
            assert done.returncode == 0 or RECORD, (
                f"README block {step.block}: `{step.command}` exited {done.returncode}:\n"
                + "\n".join(actual)
            )
            if RECORD:
                print(f"$ {step.command}\n" + "\n".join(actual))
                continue
            assert output_matches(expected, actual), (
                f"README block {step.block}: `{step.command}` printed:\n"
                + "\n".join(actual)
                + "\n--- but the README shows:\n"
                + "\n".join(step.expected)
            )
    finally:
        for process in background:
            os.killpg(process.pid, signal.SIGINT)
        for process in background:
            process.wait(timeout=60)


def test_output_matching_rules() -> None:
    assert output_matches(["a ... c"], ["a b c"])
    assert output_matches(["...", "z"], ["x", "y", "z"])
    assert output_matches(["x", "...", "z"], ["x", "z"])
    assert not output_matches(["x", "z"], ["x", "y", "z"])
    assert not output_matches(["a ... d"], ["a b c"])
    assert output_matches([], ["anything"])


def _options(command: Any) -> set[str]:
    """Every option name of a command or, for a group, of its subcommands."""
    names: set[str] = set()
    for param in getattr(command, "params", []):
        for declaration in (*param.opts, *param.secondary_opts):
            names.add(declaration)
    for sub in getattr(command, "commands", {}).values():
        names |= _options(sub)
    return names


def test_the_command_synopsis_matches_the_program() -> None:
    """The README's synopsis names real commands with real options, and every command."""
    import typer

    from provledger.cli import app

    commands = typer.main.get_group(app).commands
    section = README.read_text(encoding="utf-8").split("## Command line", 1)[1]
    synopsis = section.split("```", 2)[1]
    segments = [part for part in re.split(r"\bprovledger ", synopsis) if part.strip()]
    named: set[str] = set()
    for segment in segments:
        words = set(re.findall(r"(?<![\w-])([a-z][a-z-]*)\b", segment))
        mentioned = [commands[word] for word in words if word in commands]
        first = segment.split()[0]
        assert first in commands, f"the README names `provledger {first}`, which does not exist"
        named.update(word for word in words if word in commands)
        known = set().union(*(_options(command) for command in mentioned))
        for flag in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*(?:/--[a-z-]+)?)", segment):
            for name in flag.split("/"):
                assert name in known, f"`{name}` in the README's `provledger {first} ...`"
    assert set(commands) <= named, f"not in the README: {sorted(set(commands) - named)}"
