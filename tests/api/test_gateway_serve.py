"""`provledger serve` runs the gateway in worker processes over an existing index."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from api.conftest import Indexed
from provledger.chain.anvil import free_port

PROVLEDGER = str(Path(sys.executable).with_name("provledger"))


@pytest.mark.parametrize("indexed", ["sqlite"], indirect=True)
def test_serve_with_two_workers(indexed: Indexed) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
    server = subprocess.Popen(
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
        env={**env, "PROVLEDGER_CONFIRMATIONS": "2", "PROVLEDGER_FINALITY_DEPTH": "8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the gateway did not come up"
            time.sleep(0.2)
        in_process = indexed.client.get("/status").json()
        assert requests.get(f"{base}/status", timeout=5).json() == in_process
        docs = requests.get(f"{base}/openapi.json", timeout=5).json()
        assert "/assets/{asset_id}/lineage" in docs["paths"]
        assert requests.get(f"{base}/docs", timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0
