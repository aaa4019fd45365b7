"""`provledger serve` runs the gateway in worker processes over an existing index."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from uvicorn.config import STARTUP_FAILURE

from api.conftest import Indexed
from helpers.processes import PROVLEDGER, clean_env, wait_for_http, wait_until
from provledger.chain.anvil import free_port


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
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with_target = os.readlink(fd)
        if with_target.startswith("socket:["):
            inodes.add(with_target[8:-1])
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
        workers = _workers(server.pid)
        assert len(workers) == 2

        def listening() -> bool:  # a worker binds its socket as it starts
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
