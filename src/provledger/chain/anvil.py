"""Run anvil, the Rust dev node from the npm package ``@foundry-rs/anvil``, on loopback.

Tests, the gas report and benchmarks start one on a free port and stop it by its own process
id. The binary ships inside the platform package under ``node_modules``; ``PROVLEDGER_ANVIL``
or an ``anvil`` on PATH take precedence.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Final

from web3 import HTTPProvider, Web3

from provledger.chain.accounts import DEV_ACCOUNT_COUNT, DEV_MNEMONIC
from provledger.errors import ConfigurationError, ProvledgerError

ANVIL_ENV_VAR: Final = "PROVLEDGER_ANVIL"
ANVIL_CHAIN_ID: Final = 31337
STARTUP_TIMEOUT_SECONDS: Final = 20.0
_REPO_ROOT: Final = Path(__file__).resolve().parents[3]


class AnvilError(ProvledgerError):
    """anvil could not be found or did not start."""


def _platform_package() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    system = {"linux": "linux", "darwin": "darwin", "windows": "win32"}[platform.system().lower()]
    return f"anvil-{system}-{arch}"


def find_anvil(repo_root: Path = _REPO_ROOT) -> Path:
    """The anvil executable: ``PROVLEDGER_ANVIL``, then PATH, then ``node_modules``."""
    override = os.environ.get(ANVIL_ENV_VAR)
    if override:
        path = Path(override)
        if not path.is_file():
            raise ConfigurationError(f"{ANVIL_ENV_VAR}={override} is not a file")
        return path
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    binary = repo_root / "node_modules" / "@foundry-rs" / _platform_package() / "bin" / "anvil"
    if binary.is_file():
        return binary
    raise ConfigurationError(
        f"anvil not found: set {ANVIL_ENV_VAR}, put anvil on PATH, or run `npm ci` "
        f"(it installs {binary.relative_to(repo_root)})"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class AnvilNode:
    """An anvil process on ``127.0.0.1``; use as a context manager or call :meth:`stop`."""

    #: What the node is called in errors, and how long it may take to answer once started.
    name: str = "anvil"
    startup_timeout: float = STARTUP_TIMEOUT_SECONDS

    def __init__(
        self,
        *,
        port: int | None = None,
        state_file: Path | None = None,
        block_time: float | None = None,
        mixed_mining: bool = False,
        extra_args: tuple[str, ...] = (),
        chain_id: int = ANVIL_CHAIN_ID,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.state_file = state_file
        #: Seconds between blocks mined on an interval; None mines only on transactions.
        self.block_time = block_time
        #: With ``block_time``: a transaction still mines a block at once (anvil
        #: ``--mixed-mining``) rather than waiting for the next interval.
        self.mixed_mining = mixed_mining
        self.extra_args = extra_args
        #: The chain id it serves (another than the default for a second chain beside one).
        self.chain_id = chain_id
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The JSON-RPC URL."""
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        """The command line that starts this node."""
        command = [
            str(find_anvil()),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--accounts",
            str(DEV_ACCOUNT_COUNT),
            "--mnemonic",
            DEV_MNEMONIC,
            "--silent",
        ]
        if self.state_file is not None:
            command += ["--state", str(self.state_file)]
        if self.block_time is not None:
            command += ["--block-time", f"{self.block_time:g}"]
            if self.mixed_mining:
                command.append("--mixed-mining")
        return command + list(self.extra_args)

    def start(self) -> AnvilNode:
        """Start anvil and wait until it answers ``eth_chainId``. If it does not, or the wait
        is interrupted (Ctrl-C), the process is stopped before the error goes on."""
        process = self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            self._wait_until_ready(process)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        probe = Web3(HTTPProvider(self.url, request_kwargs={"timeout": 2}))
        while time.monotonic() < deadline:
            if process.poll() is not None:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise AnvilError(f"{self.name} exited with {process.returncode}: {stderr.strip()}")
            try:
                if probe.eth.chain_id == self.chain_id:
                    return
            except Exception:  # not listening yet
                time.sleep(0.05)
        raise AnvilError(f"{self.name} did not answer on {self.url} within {self.startup_timeout}s")

    def web3(self, timeout: float = 60.0) -> Web3:
        """A web3 connection to this node."""
        return Web3(HTTPProvider(self.url, request_kwargs={"timeout": timeout}))

    def stop(self) -> None:
        """Stop the process this object started (by its pid), waiting for it to exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        # With --dump-state or --state, anvil writes the whole chain state as it exits: a large
        # chain takes minutes, and a kill mid-write leaves a file that no longer loads.
        dumps = "--dump-state" in self.extra_args or self.state_file is not None
        timeout = 900 if dumps else 10
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
