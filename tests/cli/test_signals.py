"""A stop signal ends every long-running command within 2 s, node up or down (issue 16).

Each command runs as a real process. The node is anvil behind a loopback fault proxy that can
go down (its port closed: connections refused) or go silent (requests held unanswered), a free
port with nothing listening, or a port that accepts connections and never answers. Each test
sends SIGINT or SIGTERM and asserts the property: the process has exited within 2 s of the
signal, with the command's exit code, no traceback, and no process it started left running.

Exit codes: ``index``, ``serve``, ``chain`` and ``demo`` (once it serves) end cleanly with 0;
``index`` prints its summary. Other commands are interrupted: "interrupted", 130.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from helpers.faultproxy import FaultKind, FaultPlan, FaultProxy
from helpers.processes import wait_for_http, wait_until
from helpers.signalled import Command, assert_stopped, descendants
from helpers.workload import DeployedNode, deployed_anvil
from provledger.chain.anvil import free_port
from provledger.store.engine import create_schema, create_store_engine

pytestmark = pytest.mark.anvil

SIGNALS = [
    pytest.param(signal.SIGINT, id="SIGINT"),
    pytest.param(signal.SIGTERM, id="SIGTERM"),
]


@pytest.fixture
def command(tmp_path: Path) -> Iterator[list[Command]]:
    """The commands a test starts, killed if the test fails before stopping them."""
    started: list[Command] = []
    yield started
    for item in started:
        item.kill()


def _start(started: list[Command], folder: Path, *args: str) -> Command:
    item = Command.start(folder, *args)
    started.append(item)
    return item


# ------------------------------------------------------------------ nodes


Chain = DeployedNode


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with deployed_anvil(tmp_path_factory.mktemp("deployments")) as deployed:
        yield deployed


@pytest.fixture
def proxy(chain: Chain) -> Iterator[FaultProxy]:
    """The chain's node behind a fault proxy: it can go down, or go silent."""
    with FaultProxy(chain.node.url) as running:
        yield running


#: A plan under which the proxy holds every request (of ``methods``) for a minute unanswered.
def silent(*methods: str) -> FaultPlan:
    return FaultPlan(timeout=1.0, delay=60.0, methods=frozenset(methods) if methods else None)


@dataclass
class SilentNode:
    """A loopback port that accepts connections and never answers on them."""

    url: str
    accepted: list[socket.socket]


@pytest.fixture
def silent_node() -> Iterator[SilentNode]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    node = SilentNode(f"http://127.0.0.1:{listener.getsockname()[1]}", [])

    def accept() -> None:
        while True:
            try:
                node.accepted.append(listener.accept()[0])
            except OSError:  # closed
                return

    threading.Thread(target=accept, name="silent-node", daemon=True).start()
    yield node
    listener.close()
    for connection in node.accepted:
        connection.close()


def _wait_for_a_request(node: SilentNode, command: Command) -> None:
    """Wait until ``command`` has connected to ``node`` and sent it a request."""

    def waiting() -> bool:
        for connection in node.accepted:
            connection.settimeout(0)
            try:
                if connection.recv(1 << 16, socket.MSG_PEEK):
                    return True
            except BlockingIOError:
                continue
        return False

    wait_until(waiting, command.process, "a request to the silent node", timeout=30)


# ------------------------------------------------------------------ index


def _index(
    started: list[Command], folder: Path, rpc_url: str, deployments: Path, *more: str
) -> Command:
    return _start(
        started,
        folder,
        "index",
        "--rpc-url",
        rpc_url,
        "--database-url",
        str(folder / "index.sqlite"),
        "--deployments-dir",
        str(deployments),
        "--finality-depth",
        "2",
        "--no-progress",
        *more,
    )


@pytest.mark.parametrize("node_state", ["up", "down", "silent"])
@pytest.mark.parametrize("sig", SIGNALS)
def test_index_stops_while_following_the_head(
    chain: Chain,
    proxy: FaultProxy,
    tmp_path: Path,
    command: list[Command],
    sig: signal.Signals,
    node_state: str,
) -> None:
    """Caught up, it polls the head; then the node answers, refuses connections (retried with
    backoff), or holds the next request unanswered (30 s client timeout)."""
    index = _index(command, tmp_path, proxy.url, chain.deployments)
    index.wait_for_output("caught up")
    if node_state == "down":
        proxy.go_down()
        index.wait_for_output("node error")  # it retries, backing off
    elif node_state == "silent":
        proxy.set_plan(silent())
        wait_until(lambda: proxy.injected[FaultKind.TIMEOUT] > 0, index.process, "a held request")
    ended = index.stop(sig)
    assert_stopped(ended, 0)
    head = chain.w3.eth.block_number
    assert f"indexed to block {head} (stopped): " in ended.stdout


@pytest.mark.parametrize("node_state", ["failing", "silent"])
@pytest.mark.parametrize("sig", SIGNALS)
def test_index_stops_while_catching_up(
    chain: Chain,
    proxy: FaultProxy,
    tmp_path: Path,
    command: list[Command],
    sig: signal.Signals,
    node_state: str,
) -> None:
    """The first catch-up fetches in a child process; the node fails every eth_getLogs (the
    child backs off) or never answers one (the child waits on it). The child ends too."""
    proxy.set_plan(
        FaultPlan(rpc_error=1.0, methods=frozenset({"eth_getLogs"}))
        if node_state == "failing"
        else silent("eth_getLogs")
    )
    index = _index(command, tmp_path, proxy.url, chain.deployments, "--json")
    wanted = 2 if node_state == "failing" else 1  # failing: retried, so backing off
    wait_until(lambda: proxy.methods["eth_getLogs"] >= wanted, index.process, "eth_getLogs")
    assert descendants(index.process.pid), "no fetch process"
    ended = index.stop(sig)
    assert_stopped(ended, 0)
    summary = json.loads(ended.stdout)
    assert (summary["stopped"], summary["events"], summary["batches"]) == (True, 0, 0)


@pytest.mark.parametrize("sig", SIGNALS)
def test_index_stops_while_connecting_to_a_silent_node(
    chain: Chain,
    silent_node: SilentNode,
    tmp_path: Path,
    command: list[Command],
    sig: signal.Signals,
) -> None:
    index = _index(command, tmp_path, silent_node.url, chain.deployments)
    _wait_for_a_request(silent_node, index)
    ended = index.stop(sig)
    assert_stopped(ended, 0)
    assert ended.stdout.strip() == "stopped before indexing began"


# ------------------------------------------------------------------ serve, chain, demo


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("node", ["down", "silent"])
def test_serve_stops(
    tmp_path: Path,
    command: list[Command],
    silent_node: SilentNode,
    sig: signal.Signals,
    workers: int,
    node: str,
) -> None:
    """The gateway with a client connected and idle, one in the middle of an upload and, with
    a silent node, a request waiting on the node."""
    engine = create_store_engine(str(tmp_path / "index.sqlite"))
    create_schema(engine)  # an index not yet filled: /ready goes on to ask the node
    engine.dispose()
    port = free_port()
    serve = _start(
        command,
        tmp_path,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--rpc-url",
        silent_node.url if node == "silent" else f"http://127.0.0.1:{free_port()}",
        "--database-url",
        str(tmp_path / "index.sqlite"),
    )
    wait_for_http(f"http://127.0.0.1:{port}/health", serve.process, "the gateway")
    waiting = socket.create_connection(("127.0.0.1", port))
    waiting.sendall(b"GET /assets/1/proof HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    if node == "silent":
        _wait_for_a_request(silent_node, serve)
    with waiting, socket.create_connection(("127.0.0.1", port)), _slow_upload(port):
        time.sleep(0.2)  # the upload is in the gateway
        ended = serve.stop(sig)
    assert_stopped(ended, 0)


@pytest.mark.parametrize("sig", SIGNALS)
def test_chain_stops(tmp_path: Path, command: list[Command], sig: signal.Signals) -> None:
    port = free_port()
    state = tmp_path / "state.json"
    node = _start(command, tmp_path, "chain", "--port", str(port), "--state", str(state))
    wait_until(lambda: _chain_id(f"http://127.0.0.1:{port}") == hex(31337), node.process, "anvil")
    ended = node.stop(sig)
    assert_stopped(ended, 0)
    assert "stopping: writing the chain state" in ended.stdout
    assert state.stat().st_size > 0


def _chain_id(url: str) -> object:
    answer = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=5
    )
    return answer.json()["result"]


def _slow_upload(port: int) -> socket.socket:
    """A client that sends a request's headers and the first byte of its 1,000-byte body."""
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(
        b"POST /verify/manifest HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n["
    )
    return client


@pytest.mark.parametrize("sig", SIGNALS)
def test_demo_stops_while_serving(
    tmp_path: Path, command: list[Command], sig: signal.Signals
) -> None:
    """The demo on its own anvil, serving, with a client in the middle of an upload."""
    port = free_port()
    demo = _start(
        command, tmp_path, "demo", "--chain", "anvil", "--port", str(port), "--workdir", "demo"
    )
    wait_for_http(f"http://127.0.0.1:{port}/health", demo.process, "the demo", timeout=120)
    with _slow_upload(port):
        time.sleep(0.2)  # the request is in the gateway
        ended = demo.stop(sig)
    assert_stopped(ended, 0)
    assert ended.stdout.rstrip().endswith("demo stopped")


@pytest.mark.parametrize("sig", SIGNALS)
def test_demo_is_interrupted_while_it_plays(
    tmp_path: Path, command: list[Command], sig: signal.Signals
) -> None:
    """Before it serves, the demo is interrupted (130); the anvil it started is stopped."""
    demo = _start(
        command,
        tmp_path,
        "demo",
        "--chain",
        "anvil",
        "--port",
        str(free_port()),
        "--workdir",
        "demo",
    )
    demo.wait_for_output("  • ")  # a step of the scenario
    ended = demo.stop(sig)
    assert_stopped(ended, 130)
    assert ended.stderr.strip() == "interrupted"


# ------------------------------------------------------------------ a one-shot command


@pytest.mark.parametrize("sig", SIGNALS)
def test_register_many_is_interrupted_while_it_waits_on_the_node(
    silent_node: SilentNode, tmp_path: Path, command: list[Command], sig: signal.Signals
) -> None:
    (tmp_path / "data.txt").write_text("some data\n")
    (tmp_path / "list.csv").write_text("path,category\ndata.txt,1\n")
    register = _start(
        command,
        tmp_path,
        "register-many",
        "list.csv",
        "--rpc-url",
        silent_node.url,
        "--dev-account",
        "5",
    )
    _wait_for_a_request(silent_node, register)
    ended = register.stop(sig)
    assert_stopped(ended, 130)
    assert ended.stderr.strip() == "interrupted"


def test_a_command_is_interrupted_while_it_starts(
    silent_node: SilentNode, tmp_path: Path, command: list[Command]
) -> None:
    """Ctrl-C 0.2 s after the start, while the command line is still being imported (about
    2 s): "interrupted", 130, as later; before the entry point caught it, a traceback."""
    roles = _start(command, tmp_path, "roles", "list", "--rpc-url", silent_node.url)
    time.sleep(0.2)
    ended = roles.stop(signal.SIGINT)
    assert_stopped(ended, 130)
    assert ended.stderr.strip() == "interrupted"


def test_the_silent_node_fixture_never_answers(silent_node: SilentNode) -> None:
    """What the tests above call a node that does not answer: connected, the request sent,
    no reply within the client's timeout."""
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(silent_node.url, json={"method": "eth_chainId"}, timeout=0.3)
