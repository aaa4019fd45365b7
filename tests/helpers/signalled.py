"""``provledger`` processes that a test stops with a signal, and how they ended.

A :class:`Command` writes its output to files in its folder; it may lead a process group of its
own, as a shell's job does, so that a signal can go to the whole group (a terminal's Ctrl-C)
or to its pid only. :meth:`Command.stop` measures from the signal to the exit and notes what the
command had started that is still running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from helpers.processes import PROVLEDGER, clean_env, wait_until

#: The acceptance: from the signal to the process's exit.
STOP_SECONDS = 2.0


def descendants(pid: int) -> set[int]:
    """The processes ``pid`` started, and theirs."""
    children: set[int] = set()
    with suppress(OSError):  # it has exited
        for task in Path(f"/proc/{pid}/task").iterdir():
            with suppress(OSError):  # a thread that has just ended
                children |= {int(child) for child in (task / "children").read_text().split()}
    return children.union(*(descendants(child) for child in children))


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (an exited one waiting to be reaped is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@contextmanager
def as_from_a_terminal() -> Iterator[None]:
    """While a command is started: SIGINT handled by default and SIGINT and SIGTERM not blocked
    in this thread, as a shell starts a job in a terminal, whatever this test process was left
    with. An ignored or blocked signal survives ``exec``: a command started then would never
    see the Ctrl-C the test sends (noted on standard output, which a failing test shows)."""
    handler = signal.getsignal(signal.SIGINT)
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP)
    if handler == signal.SIG_IGN or blocked & STOP:
        print(f"note: this test process had SIGINT {handler} and {sorted(blocked)} blocked")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        signal.signal(signal.SIGINT, handler if handler is not None else signal.SIG_DFL)


#: The signals a test stops a command with.
STOP: Final = {signal.SIGINT, signal.SIGTERM}


@dataclass(frozen=True)
class Ended:
    """How a process ended after a signal."""

    seconds: float
    code: int
    stdout: str
    stderr: str
    left_running: set[int]


@dataclass
class Command:
    """A ``provledger`` process writing its output to files; with ``group``, the leader of a
    process group of its own."""

    process: subprocess.Popen[bytes]
    folder: Path
    group: bool = False

    @classmethod
    def start(cls, folder: Path, *args: str, group: bool = False) -> Command:
        with (
            (folder / "stdout.txt").open("wb") as out,
            (folder / "stderr.txt").open("wb") as err,
            as_from_a_terminal(),
        ):
            process = subprocess.Popen(
                [PROVLEDGER, *args],
                env=clean_env(),
                stdout=out,
                stderr=err,
                cwd=folder,
                process_group=0 if group else None,
            )
        return cls(process, folder, group)

    def stdout(self) -> str:
        return (self.folder / "stdout.txt").read_text(errors="replace")

    def stderr(self) -> str:
        return (self.folder / "stderr.txt").read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        """Wait until ``text`` appears on standard output or error."""
        wait_until(
            lambda: text in self.stdout() or text in self.stderr(),
            self.process,
            f"{text!r} (stderr: {self.stderr()[-500:]!r})",
            timeout,
        )

    def stop(self, sig: signal.Signals, *, to_group: bool = False) -> Ended:
        """Send ``sig`` to the process, or to its whole group; wait for the exit (the
        acceptance is 2 s; this waits up to 60 s)."""
        started = descendants(self.process.pid)
        asked = time.monotonic()
        if to_group:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)
        while self.process.poll() is None and time.monotonic() - asked < 60:
            time.sleep(0.005)
        seconds = time.monotonic() - asked
        self.kill()
        code = self.process.wait()
        deadline = time.monotonic() + 2  # an orphan ends with its parent: a moment to go
        while {pid for pid in started if running(pid)} and time.monotonic() < deadline:
            time.sleep(0.05)
        left = {pid for pid in started if running(pid)}
        return Ended(seconds, code, self.stdout(), self.stderr(), left)

    def kill(self) -> None:
        """End the process and what it started (its group, if it leads one), if it still runs:
        a test that failed before stopping it."""
        if self.process.poll() is None:
            if self.group:
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            else:
                for pid in descendants(self.process.pid):
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.process.kill()
            self.process.wait()


def assert_stopped(ended: Ended, code: int = 0) -> None:
    """The property: exited within 2 s with ``code``, no traceback, nothing left running."""
    print(f"exited {ended.seconds:.3f} s after the signal, code {ended.code}")  # the figure
    assert ended.seconds < STOP_SECONDS, f"exited {ended.seconds:.2f} s after the signal"
    assert ended.code == code, ended.stderr[-2000:]
    assert "Traceback" not in ended.stderr + ended.stdout, ended.stderr[-2000:]
    assert ended.left_running == set(), "processes the command started are still running"
