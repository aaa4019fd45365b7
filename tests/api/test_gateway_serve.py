"""`provledger serve` runs the gateway in worker processes over an existing index."""

from __future__ import annotations

import subprocess

import pytest
import requests

from api.conftest import Indexed
from helpers.processes import PROVLEDGER, clean_env, wait_for_http
from provledger.chain.anvil import free_port


@pytest.mark.parametrize("indexed", ["sqlite"], indirect=True)
def test_serve_with_two_workers(indexed: Indexed) -> None:
    port = free_port()
    env = clean_env()
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
