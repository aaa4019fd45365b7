"""`provledger serve` runs the gateway in worker processes over an existing index."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
import requests
from fastapi.testclient import TestClient
from uvicorn.config import STARTUP_FAILURE

from api.conftest import Indexed
from helpers.processes import PROVLEDGER, clean_env, wait_for_http, wait_until
from helpers.stores import database
from provledger.api.app import create_app
from provledger.chain.anvil import free_port
from provledger.config import Settings
from provledger.store.engine import create_schema, create_store_engine, sqlite_path


def _serve(indexed: Indexed, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            PROVLEDGER,
            "serve",
            "--database-url",
            indexed.database_url,
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env={**clean_env(), "PROVLEDGER_CONFIRMATIONS": "2", "PROVLEDGER_FINALITY_DEPTH": "8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("indexed", ["sqlite"], indirect=True)
def test_serve_with_two_workers(indexed: Indexed) -> None:
    port = free_port()
    server = _serve(indexed, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", server, "the gateway")
        in_process = indexed.client.get("/status").json()
        assert requests.get(f"{base}/status", timeout=5).json() == in_process
        docs = requests.get(f"{base}/openapi.json", timeout=5).json()
        assert "/assets/{asset_id}/lineage" in docs["paths"]
        assert requests.get(f"{base}/docs", timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0


_LISTEN, _ESTABLISHED = "0A", "01"  # TCP states in /proc/net/tcp


def _workers(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid and b"spawn_main" in (stat.parent / "cmdline").read_bytes():
            found.append(int(stat.parent.name))  # a worker, not multiprocessing's tracker
    return found


def _sockets(pid: int, port: int, state: str, peers: set[int] | None = None) -> int:
    """How many TCP sockets of process ``pid`` on local ``port`` are in ``state`` (with
    ``peers``, only those connected to one of these remote ports)."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with_target = os.readlink(fd)
            if with_target.startswith("socket:["):
                inodes.add(with_target[8:-1])
    except FileNotFoundError:  # the process ended (uvicorn replaces a worker that stalls)
        return 0
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == state and fields[9] in inodes:
                count += peers is None or remote_port in peers
    return count


@pytest.mark.parametrize("indexed", ["sqlite"], indirect=True)
def test_each_worker_listens_on_its_own_socket_and_connections_spread_over_them(
    indexed: Indexed,
) -> None:
    """With one shared socket, a burst of keep-alive clients can all land on one worker;
    with a SO_REUSEPORT socket per worker the kernel spreads them."""
    port = free_port()
    server = _serve(indexed, port)
    connections = []
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", server, "the gateway")
        workers: list[int] = []

        def listening() -> bool:  # a worker binds its socket as it starts
            # Read the workers again each time: under load uvicorn's supervisor may replace a
            # worker that misses its health ping, so a process found once can be gone.
            workers[:] = _workers(server.pid)
            return [_sockets(worker, port, _LISTEN) for worker in workers] == [1, 1]

        wait_until(listening, server, "both workers listening")
        assert _sockets(server.pid, port, _LISTEN) == 0
        for _ in range(32):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/health")
            assert connection.getresponse().read() == b'{"status":"ok"}'
            connections.append(connection)
        # only these 32 (the readiness probe's connection may linger)
        ours = {connection.sock.getsockname()[1] for connection in connections}
        served = [_sockets(worker, port, _ESTABLISHED, ours) for worker in workers]
        assert sum(served) == 32
        assert min(served) > 0, served  # all 32 on one worker: odds of 2 in 2**32
    finally:
        for connection in connections:
            connection.close()
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0


@pytest.mark.parametrize("indexed", ["sqlite"], indirect=True)
def test_serve_refuses_an_address_something_already_listens_on(indexed: Indexed) -> None:
    """Workers' SO_REUSEPORT sockets would quietly share a port with another such server."""
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        server = _serve(indexed, port)
        stdout, stderr = server.communicate(timeout=60)
    finally:
        taken.close()
    assert server.returncode == 2
    assert stdout == b""  # no "provledger gateway on …" before the refusal
    lines = stderr.decode().strip().splitlines()
    assert lines == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]


def test_a_worker_that_cannot_bind_exits_with_the_start_up_failure_code() -> None:
    """Then uvicorn's supervisor stops instead of restarting it over and over (the address
    was taken between serve's check and the worker's bind)."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from provledger.api.server import worker_socket; "
                f"worker_socket('127.0.0.1', {port})",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        taken.close()
    assert done.returncode == STARTUP_FAILURE
    assert done.stderr == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


NOT_BUILT: Final = "the index is not built yet: run provledger index first"
#: Values for the path parameters of the OpenAPI document's routes, and the query parameters
#: some require.
PATH_VALUES: Final = {
    "asset_id": "0x12",
    "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "content_hash": "0x" + "11" * 32,
    "root": "0x" + "11" * 32,
    "offer_id": "1",
    "request_id": "1",
}
REQUIRED_QUERY: Final = {"/assets/{asset_id}/holder": "?block=1", "/verify": "?hash=0x" + "11" * 32}
#: Routes that answer without reading the index: liveness, the access manifests (blob folder),
#: and those that need a node or a relayer first (503 for that reason).
#: Routes that do not read the index first: the relay's and the subscriptions' answer from
#: their own stores for an API key (401 without one).
WITHOUT_INDEX: Final = (
    "/health",
    "/assets/{asset_id}/proof",
    "/relay/",
    "/access-manifests/",
    "/subscriptions",
    "/stream",
)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    ]
)
def unindexed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """The gateway over a database the indexer never wrote: a SQLite file made by hand, or a
    new PostgreSQL database."""
    with database(request.param, tmp_path) as url:
        path = sqlite_path(url)
        if path is not None:
            path.touch()
        app = create_app(Settings(database_url=url, blob_dir=tmp_path / "blobs"))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
        app.state.gateway.engine.dispose()


def test_a_database_without_the_index_answers_503_on_every_route(
    unindexed: TestClient,
) -> None:
    """Not a 500 (``no such table: checkpoint``): every route that reads the index says the
    index is not built yet, in problem+json; the pages say it in a page."""
    document = unindexed.get("/openapi.json").json()
    asked = 0
    for template, operations in document["paths"].items():
        if "get" not in operations or template.startswith(WITHOUT_INDEX):
            continue
        path = template.format(**PATH_VALUES) + REQUIRED_QUERY.get(template, "")
        answer = unindexed.get(path)
        assert answer.status_code == 503, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == NOT_BUILT, path
        asked += 1
    assert asked >= 25
    file = unindexed.post(
        "/verify", content=b"x", headers={"content-type": "application/octet-stream"}
    )
    assert (file.status_code, file.json()["detail"]) == (503, NOT_BUILT)
    assert unindexed.get("/health").json() == {"status": "ok"}
    for page in ("/", "/check", "/market", f"/holder/{PATH_VALUES['address']}"):
        answer = unindexed.get(page)
        assert answer.status_code == 503, page
        assert answer.headers["content-type"].startswith("text/html")
        assert "The index is not built yet: run provledger index first." in answer.text


def _serve_one(database_url: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PROVLEDGER, "serve", "--database-url", database_url, "--port", str(port)],
        env={**clean_env(), "PROVLEDGER_WORKERS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_serve_refuses_a_sqlite_index_that_is_not_there(tmp_path: Path) -> None:
    """Opening it would create an empty index.sqlite (and its folder) and serve 500s."""
    missing = tmp_path / "never-indexed" / "index.sqlite"
    server = _serve_one(str(missing), free_port())
    stdout, stderr = server.communicate(timeout=60)
    assert server.returncode == 2
    assert stdout == b""  # nothing announced
    assert stderr.decode() == f"error: no index at {missing}: run provledger index first\n"
    assert list(tmp_path.iterdir()) == []


def test_one_worker_serves_on_the_port_it_announces(tmp_path: Path) -> None:
    """``--port 0``: the announced address is the bound one; the worker serves from the socket
    that serve bound (here over a file made by hand: 503s, not 500s)."""
    made_by_hand = tmp_path / "index.sqlite"
    made_by_hand.touch()
    server = _serve_one(str(made_by_hand), 0)
    try:
        assert server.stdout is not None
        line = server.stdout.readline().decode()
        found = re.fullmatch(
            r"provledger gateway on (http://127\.0\.0\.1:(\d+)) \(docs at /docs\)\n", line
        )
        assert found is not None, line
        base = found[1]
        assert int(found[2]) != 0
        wait_for_http(f"{base}/health", server, "the gateway")
        status = requests.get(f"{base}/status", timeout=5)
        assert (status.status_code, status.json()["detail"]) == (503, NOT_BUILT)
        assert requests.get(f"{base}/docs", timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0


def test_one_worker_refuses_an_address_something_already_listens_on(tmp_path: Path) -> None:
    """Not "gateway on ..." and then uvicorn's [Errno 98] with exit 3: nothing is announced
    until the address is bound."""
    index = tmp_path / "index.sqlite"
    engine = create_store_engine(str(index))
    create_schema(engine)
    engine.dispose()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        server = _serve_one(str(index), port)
        stdout, stderr = server.communicate(timeout=60)
    finally:
        taken.close()
    assert server.returncode == 2
    assert stdout == b""
    assert stderr.decode() == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
