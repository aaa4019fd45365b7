"""Commands run as child processes: the `provledger` executable, a clean environment, and
waiting until what a process serves answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

PROVLEDGER = str(Path(sys.executable).with_name("provledger"))


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``PROVLEDGER_*`` setting, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PROVLEDGER_")}
    return {**env, **extra}


def wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[Any], what: str, timeout: float = 60
) -> None:
    """Poll ``ready`` (a refused connection counts as not ready) until it holds; fail if
    ``process`` ends first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, f"{what}: the process ended with {process.returncode}"
        try:
            if ready():
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, f"{what} did not answer within {timeout:g} s"
        time.sleep(0.2)


def wait_for_http(
    url: str, process: subprocess.Popen[Any], what: str, timeout: float = 60
) -> requests.Response:
    """Wait until GET ``url`` answers 200; return that answer."""
    answers: list[requests.Response] = []

    def ready() -> bool:
        answers.append(requests.get(url, timeout=2))
        return answers[-1].status_code == 200

    wait_until(ready, process, what, timeout)
    return answers[-1]
