"""The README and the reference in ``docs/``: their command blocks run, their reference matches
the program, their links lead somewhere.

The ``console`` blocks of a document are run, in order, as one shell session in a fresh folder,
and their output must match: the README's blocks are its tour; a file of ``docs/`` with
``console`` blocks is a session of its own. A line ``$ COMMAND`` runs ``COMMAND`` with bash
(``export NAME=VALUE ...`` sets variables for the later commands; a command ending in `` &`` runs
in the background until the end, and the session waits until the port it names answers). The
lines after a command are its expected output, matched in order against what it printed
(standard output and error, interleaved): ``...`` inside a line stands for any text, a line of
just ``...`` for any number of lines, and trailing spaces are ignored. The tour's ports (8545
for the chain, 8000 for the gateway) are replaced by free ones. Every ``python`` block runs as
a script in a fresh folder.

The tour also runs on other nodes (:data:`TOUR_NODES`, in ``make test-deep``): a node started
here takes the place of the ``provledger chain`` step, and ``provledger deploy`` gets the
variant's extra arguments; the README's output must hold there too, bad inputs included.

``PROVLEDGER_README_RECORD=1`` prints what each command printed instead of checking it, to
refresh the documents with real output.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from helpers.processes import clean_env, wait_until
from helpers.required import start_anvil, start_hardhat
from provledger.chain.anvil import AnvilNode, free_port

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
DOCUMENTS = (README, *sorted(DOCS.glob("*.md")))
CLI_REFERENCE = DOCS / "cli.md"
SETTINGS_REFERENCE = DOCS / "settings.md"
GATEWAY_REFERENCE = DOCS / "gateway.md"
RECORD = os.environ.get("PROVLEDGER_README_RECORD") == "1"
TOUR_PORTS = (8545, 8000)
CHAIN_PORT = 8545
COMMAND_TIMEOUT = 180.0
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@dataclass
class Step:
    """One ``$ command`` of a document and the output it shows."""

    block: int
    command: str
    expected: list[str] = field(default_factory=list)


def console_steps(text: str) -> list[Step]:
    """Every command of every ``console`` block, in order."""
    steps: list[Step] = []
    blocks = [body for language, body in FENCED.findall(text) if language == "console"]
    for number, block in enumerate(blocks):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append(Step(number, line[2:]))
            elif steps and steps[-1].block == number:
                steps[-1].expected.append(line.rstrip())
    return steps


def python_blocks(text: str) -> list[str]:
    """Every ``python`` block, in order."""
    return [body for language, body in FENCED.findall(text) if language == "python"]


def _name(document: Path) -> str:
    return str(document.relative_to(ROOT))


def _documents_with(blocks: Any) -> list[Any]:
    return [
        pytest.param(document, id=_name(document))
        for document in DOCUMENTS
        if blocks(document.read_text(encoding="utf-8"))
    ]


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


@dataclass(frozen=True)
class TourNode:
    """A node the README tour runs on instead of the one `provledger chain` starts."""

    #: Starts the node (a block every second and one per transaction, as `provledger chain`).
    start: Callable[[], AnvilNode]
    #: Arguments added to the tour's `provledger deploy`.
    deploy_args: tuple[str, ...] = ()
    #: Patterns of the README's output that differ here for a known reason: they match anything.
    varies: tuple[str, ...] = ()


def _every_second(start: Callable[..., AnvilNode], *args: str) -> Callable[[], AnvilNode]:
    return partial(start, *args, block_time=1.0, mixed_mining=True)


#: The other nodes of the tour. Hardhat 3's node (EDR) enforces the EIP-7825 gas cap; an anvil
#: on the shanghai hardfork lacks MCOPY and needs the artifacts compiled for shanghai.
TOUR_NODES = [
    pytest.param(TourNode(_every_second(start_hardhat)), marks=pytest.mark.hardhat, id="hardhat"),
    pytest.param(
        TourNode(
            _every_second(start_anvil, "--hardfork", "shanghai"),
            deploy_args=("--evm-version", "shanghai"),
            varies=(r"(?<=\(gas )[\d,]+(?=\))",),  # other bytecode: other deployment gas
        ),
        marks=pytest.mark.anvil,
        id="anvil-shanghai",
    ),
]


def run_session(
    name: str,
    steps: list[Step],
    folder: Path,
    chain: AnvilNode | None = None,
    deploy_args: tuple[str, ...] = (),
) -> None:
    """Run ``steps`` as one shell session in ``folder``; fail on the first that differs. With
    a started ``chain``, the session uses it instead of running `provledger chain`, and its
    `provledger deploy` gets ``deploy_args`` too."""
    ports = {tour: free_port() for tour in TOUR_PORTS}
    if chain is not None:
        ports[CHAIN_PORT] = chain.port
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
            if chain is not None and command.startswith("provledger chain "):
                continue
            if deploy_args and command.startswith("provledger deploy "):
                command = shlex.join([*shlex.split(command), *deploy_args])
            if command.startswith("export "):
                for assignment in shlex.split(command[len("export ") :]):
                    variable, _, value = assignment.partition("=")
                    env[variable] = value
                continue
            if command.endswith(" &"):
                process = subprocess.Popen(
                    ["bash", "-c", command[:-2]],
                    cwd=folder,
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
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,  # interleaved as on a terminal
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
            actual = done.stdout.splitlines()
            assert done.returncode == 0 or RECORD, (
                f"{name} block {step.block}: `{step.command}` exited {done.returncode}:\n"
                + "\n".join(actual)
            )
            if RECORD:
                print(f"$ {step.command}\n" + "\n".join(actual))
                continue
            assert output_matches(expected, actual), (
                f"{name} block {step.block}: `{step.command}` printed:\n"
                + "\n".join(actual)
                + f"\n--- but {name} shows:\n"
                + "\n".join(step.expected)
            )
    finally:
        for process in background:
            os.killpg(process.pid, signal.SIGINT)
        for process in background:
            process.wait(timeout=60)


def test_the_tour_is_in_the_readme() -> None:
    assert len(console_steps(README.read_text(encoding="utf-8"))) >= 20, (
        "the README's tour has gone missing"
    )


@pytest.mark.anvil
@pytest.mark.parametrize("document", _documents_with(console_steps))
def test_console_blocks(document: Path, tmp_path: Path) -> None:
    run_session(_name(document), console_steps(document.read_text(encoding="utf-8")), tmp_path)


@pytest.mark.skipif(
    os.environ.get("PROVLEDGER_TEST_PROFILE") != "deep",
    reason="the tour on other nodes runs in make test-deep (about 70 s each)",
)
@pytest.mark.parametrize("node", TOUR_NODES)
def test_the_tour_on_another_node(node: TourNode, tmp_path: Path) -> None:
    steps = console_steps(README.read_text(encoding="utf-8"))
    for step in steps:
        for pattern in node.varies:
            step.expected = [re.sub(pattern, "...", line) for line in step.expected]
    chain = node.start()
    try:
        run_session(_name(README), steps, tmp_path, chain, node.deploy_args)
    finally:
        chain.stop()


@pytest.mark.ethtester
@pytest.mark.parametrize("document", _documents_with(python_blocks))
def test_python_blocks(document: Path, tmp_path: Path) -> None:
    for number, code in enumerate(python_blocks(document.read_text(encoding="utf-8"))):
        folder = tmp_path / f"block-{number}"
        folder.mkdir()
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=folder,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, (
            f"{_name(document)} python block {number} exited {done.returncode}:\n{done.stderr}"
        )


def test_output_matching_rules() -> None:
    assert output_matches(["a ... c"], ["a b c"])
    assert output_matches(["...", "z"], ["x", "y", "z"])
    assert output_matches(["x", "...", "z"], ["x", "z"])
    assert not output_matches(["x", "z"], ["x", "y", "z"])
    assert not output_matches(["a ... d"], ["a b c"])
    assert output_matches([], ["anything"])


def test_block_kinds() -> None:
    text = "```console\n$ a\nb\n```\n```python\nx = 1\n```\n```\nplain\n```\n"
    assert [(step.command, step.expected) for step in console_steps(text)] == [("a", ["b"])]
    assert python_blocks(text) == ["x = 1\n"]


def test_the_readme_opens_with_the_two_commands() -> None:
    """The README's first lines are the two commands, and CI runs the test one."""
    first = README.read_text(encoding="utf-8").splitlines()[:2]
    assert [line.split("#")[0].strip() for line in first] == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] == "exec make test"


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
    """The synopsis of docs/cli.md names real commands with real options, and every command."""
    import typer

    from provledger.cli import app

    commands = typer.main.get_group(app).commands
    block = CLI_REFERENCE.read_text(encoding="utf-8").split("```", 2)[1]
    synopsis = "\n".join(line for line in block.splitlines() if not line.startswith("#"))
    segments = [part for part in re.split(r"\bprovledger ", synopsis) if part.strip()]
    named: set[str] = set()
    for segment in segments:
        words = set(re.findall(r"(?<![\w-])([a-z][a-z-]*)\b", segment))
        mentioned = [commands[word] for word in words if word in commands]
        first = segment.split()[0]
        assert first in commands, f"docs/cli.md names `provledger {first}`, which does not exist"
        named.update(word for word in words if word in commands)
        known = set().union(*(_options(command) for command in mentioned))
        for flag in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*(?:/--[a-z-]+)?)", segment):
            for name in flag.split("/"):
                assert name in known, f"`{name}` in docs/cli.md's `provledger {first} ...`"
    assert set(commands) <= named, f"not in docs/cli.md: {sorted(set(commands) - named)}"


def test_every_setting_is_documented() -> None:
    """docs/settings.md has a row for every setting, and names no variable nobody reads."""
    from provledger.config import ENV_PREFIX, Settings

    text = SETTINGS_REFERENCE.read_text(encoding="utf-8")
    missing = [
        name for name in Settings.model_fields if f"`{ENV_PREFIX}{name.upper()}`" not in text
    ]
    assert not missing, f"settings not in docs/settings.md: {missing}"
    fields = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("src", "scripts")
        for path in (ROOT / folder).rglob("*.py")
    ) + (ROOT / "Makefile").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    for variable in re.findall(r"`([A-Z][A-Z_]+)`", "\n".join(rows)):
        assert variable in fields or variable in sources, f"nothing reads {variable}"


def _unnamed(path: str) -> str:
    """A path with its parameters' names left out: ``/assets/{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_route_is_documented(tmp_path: Path) -> None:
    """docs/gateway.md names every endpoint of the API and every page."""
    from provledger.api.app import create_app
    from provledger.config import Settings

    app = create_app(  # the data room on: its routes are documented too
        Settings(
            database_url=f"sqlite:///{tmp_path / 'index.sqlite'}", blob_dir=tmp_path, data_room=True
        )
    )
    text = _unnamed(GATEWAY_REFERENCE.read_text(encoding="utf-8"))
    missing: list[str] = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            named = f"`{method.upper()} {_unnamed(path)}"
            if not re.search(re.escape(named) + r"[`?]", text):
                missing.append(f"{method.upper()} {path}")
    for route in app.routes:  # the pages and the API's documentation: GET, not in the schema
        if getattr(route, "include_in_schema", True) or not getattr(route, "methods", None):
            continue
        path = getattr(route, "path", "")
        if not re.search(re.escape(f"`{_unnamed(path)}") + r"[`?]", text):
            missing.append(path)
    assert not missing, f"not in docs/gateway.md: {missing}"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _prose(text: str) -> str:
    """The text without its fenced blocks (a ``#`` line in a block is no heading)."""
    return FENCED.sub("", text)


def test_links_lead_somewhere() -> None:
    """Every relative link of the README and docs/ names a file that exists (and a heading of
    it), and the README links every file of docs/."""
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)\s]+)\)", _prose(document.read_text(encoding="utf-8"))):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            linked = (document.parent / file).resolve() if file else document
            where = f"{_name(document)} links {target}"
            assert linked.exists(), f"{where}: no such file"
            if anchor:
                headings = re.findall(
                    r"^#+ (.*)$", _prose(linked.read_text(encoding="utf-8")), re.M
                )
                assert anchor in {_slug(heading) for heading in headings}, f"{where}: no heading"
    readme = README.read_text(encoding="utf-8")
    unlinked = [_name(doc) for doc in DOCUMENTS[1:] if f"]({_name(doc)}" not in readme]
    assert not unlinked, f"the README does not link {unlinked}"
