"""`provledger chain`: a local anvil whose state survives a restart; Ctrl-C stops it. It mines
a block every second (a transaction still mines at once), so that the records of a finished
tour become confirmed; `--block-time 0` mines only on transactions."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from helpers.processes import PROVLEDGER, clean_env, wait_for_http, wait_until
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.anvil import free_port
from provledger.cli import app

pytestmark = pytest.mark.anvil

#: Confirmations that make a record safe in the confirmation test: few, to keep it short.
CONFIRMATIONS = 3


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    answer = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=5
    )
    return answer.json()["result"]


def _start(state: Path, port: int, *options: str) -> subprocess.Popen[str]:
    chain = subprocess.Popen(
        [PROVLEDGER, "chain", "--port", str(port), "--state", str(state), *options],
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
    chain = _start(state, port, "--block-time", "0")  # on demand: the block count is exact
    try:
        assert _rpc(url, "eth_chainId", []) == hex(31337)
        _rpc(url, "evm_mine", [])
        _rpc(url, "evm_mine", [])
    finally:
        out = _stop(chain)
    assert f"anvil at {url} (chain 31337), state in {state}; a block per transaction only" in out
    assert "stopping: writing the chain state" in out
    assert state.stat().st_size > 0
    chain = _start(state, port, "--block-time", "0")
    try:
        assert int(str(_rpc(url, "eth_blockNumber", [])), 16) == 2
    finally:
        _stop(chain)


@contextmanager
def _process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_registration_becomes_confirmed_with_no_further_transaction(tmp_path: Path) -> None:
    port, gateway_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "PROVLEDGER_RPC_URL": url,
        "PROVLEDGER_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "PROVLEDGER_BLOB_DIR": str(tmp_path / "blobs"),
        "PROVLEDGER_DATABASE_URL": str(tmp_path / "index.sqlite"),
        "PROVLEDGER_CONFIRMATIONS": str(CONFIRMATIONS),
        "PROVLEDGER_FINALITY_DEPTH": str(2 * CONFIRMATIONS),
        "PROVLEDGER_PORT": str(gateway_port),
        "PROVLEDGER_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
    }

    def ok(*args: str) -> str:
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == 0, f"{args}: {result.exit_code}\n{result.output}"
        return result.stdout

    chain = _start(tmp_path / "state.json", port)  # the default: a block every second
    try:
        ok("deploy", "--dev-account", "0", "--dev-roles")
        holder, registrar = str(dev_account(5).address), str(DEV_ROLES["registrar"])
        ok("participants", "add", holder, "--jurisdiction", "CN", "--dev-account", registrar)
        ok("index", "--once", "--no-progress")
        with (
            _process([PROVLEDGER, "index", "--no-progress"], clean_env(**env)) as indexer,
            _process([PROVLEDGER, "serve"], clean_env(**env)) as gateway,
        ):
            wait_for_http(f"http://127.0.0.1:{gateway_port}/health", gateway, "the gateway")
            data = tmp_path / "readings.csv"
            data.write_text("station,pm25\nhuangpu,35\n", encoding="utf-8")
            began = time.monotonic()
            registered = json.loads(
                ok("register", str(data), "--category", "301", "--dev-account", "5", "--json")
            )
            # A transaction mines at once, not at the next interval.
            assert time.monotonic() - began < 5
            block = int(registered["block_number"])
            seen: list[list[str]] = []

            def confirmed() -> bool:
                result = CliRunner().invoke(app, ["verify", str(data), "--json"], env=env)
                assert result.exit_code in (0, 1), result.output  # 1: not indexed yet
                verdict = json.loads(result.stdout)
                if not verdict["registered"]:
                    return False
                seen.append(verdict["warnings"])
                return bool(verdict["asset"]["finality"] in ("safe", "final"))

            wait_until(confirmed, indexer, "the confirmation", timeout=CONFIRMATIONS + 5.0)
            assert gateway.poll() is None
        head = int(str(_rpc(url, "eth_blockNumber", [])), 16)
        assert head >= block + CONFIRMATIONS
        # No transaction since the registration: the blocks on top of it are empty.
        for number in range(block + 1, head + 1):
            assert _rpc(url, "eth_getBlockByNumber", [hex(number), False])["transactions"] == []
        # Safe: the "unconfirmed" warning is gone; while it was pending, it said how far the
        # registration stood and where the chain was.
        applied = "not certified yet: the registration is applied"
        assert seen[-1] == [applied]
        counted = re.compile(
            rf"unconfirmed: (\d) of {CONFIRMATIONS} confirmations \(the latest change is in "
            rf"block {block}; the chain is at block (\d+)\)"
        )
        for warnings in seen[:-1]:
            assert warnings[0] == applied
            match = counted.fullmatch(warnings[1])
            assert match is not None, warnings
            assert int(match[2]) - block == int(match[1]) < CONFIRMATIONS
    finally:
        _stop(chain)
