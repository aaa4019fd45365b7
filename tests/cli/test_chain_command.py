"""`provledger chain`: a local anvil whose state survives a restart; Ctrl-C stops it."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
import requests

from helpers.processes import PROVLEDGER, clean_env, wait_until
from provledger.chain.anvil import free_port

pytestmark = pytest.mark.anvil


def _rpc(url: str, method: str, params: list[str]) -> object:
    answer = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=5
    )
    return answer.json()["result"]


def _start(state: Path, port: int) -> subprocess.Popen[str]:
    chain = subprocess.Popen(
        [PROVLEDGER, "chain", "--port", str(port), "--state", str(state)],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _rpc(url, "eth_chainId", []) == hex(31337), chain, "the chain")
    return chain


def _stop(chain: subprocess.Popen[str]) -> str:
    chain.send_signal(signal.SIGINT)
    out, err = chain.communicate(timeout=60)
    assert chain.returncode == 0, err
    return out


def test_the_chain_keeps_its_state_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    chain = _start(state, port)
    try:
        assert _rpc(url, "eth_chainId", []) == hex(31337)
        _rpc(url, "evm_mine", [])
        _rpc(url, "evm_mine", [])
    finally:
        out = _stop(chain)
    assert f"anvil at {url} (chain 31337)" in out
    assert "stopping: writing the chain state" in out
    assert state.stat().st_size > 0
    chain = _start(state, port)
    try:
        assert int(str(_rpc(url, "eth_blockNumber", [])), 16) == 2
    finally:
        _stop(chain)
