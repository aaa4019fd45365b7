"""A stop signal that lands in a finalizer still stops the command.

Ctrl-C (and SIGTERM, which the CLI turns into the same) raises KeyboardInterrupt in whatever
runs on the main thread. When that was a ``weakref.finalize`` callback run by the garbage
collector, Python printed "Exception ignored" and went on: the demo, interrupted while it
deployed, ran on until the signal test killed it 60 s later. Here the finalizer raises
KeyboardInterrupt itself, as the signal handler would inside it, in a fresh interpreter.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import sys, time, weakref
    from provledger.cli.base import redeliver_swallowed_interrupts

    if sys.argv[1] == "hooked":
        redeliver_swallowed_interrupts()

    class Held:
        pass

    def interrupted_here():
        raise KeyboardInterrupt  # what the SIGINT handler does when the signal lands here

    held = Held()
    weakref.finalize(held, interrupted_here)
    try:
        del held  # the finalizer runs now, as a garbage collection would run it
        deadline = time.monotonic() + float(sys.argv[2])
        while time.monotonic() < deadline:
            pass
        print("ran on")
    except KeyboardInterrupt:
        print("interrupted")
    """
)


def _run(mode: str, seconds: float) -> subprocess.CompletedProcess[str]:
    """``PROGRAM`` in ``mode``, running on for ``seconds`` unless interrupted."""
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, mode, str(seconds)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        # With SIGINT ignored (a suite started as a background job of a shell), Python installs
        # no handler for it and interrupt_main() does nothing: start it as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_an_interrupt_raised_in_a_finalizer_reaches_the_command() -> None:
    # The interrupt comes 1 ms after the finalizer: it ends the loop at once.
    done = _run("hooked", 5)
    assert (done.stdout, done.stderr) == ("interrupted\n", "")


def test_without_the_hook_python_swallows_it() -> None:
    done = _run("plain", 2)
    assert done.stdout == "ran on\n"
    assert "Exception ignored" in done.stderr
    assert "KeyboardInterrupt" in done.stderr
