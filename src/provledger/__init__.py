"""provledger: a ledger for data asset provenance."""

import sys as _sys

__version__ = "0.1.0"

# py_ecc (imported by web3 through eth_keys) raises the recursion limit to 100,000 when it is
# first imported. Code that recurses on the C stack (the json module on nested arrays) then
# overflows it and kills the process on input 100,000 levels deep instead of raising
# RecursionError. Import it first and put the limit back, so that no provledger process
# (gateway, CLI, indexer) runs with it raised.
_limit = _sys.getrecursionlimit()
import py_ecc  # noqa: E402, F401

_sys.setrecursionlimit(min(_limit, 1000) if _limit >= 100_000 else _limit)
del _limit


def main() -> None:
    """Entry point of the ``provledger`` console script: the command line
    (:func:`provledger.cli.main`), imported here so that a Ctrl-C during its imports (about 2 s)
    ends as one during a command does, "interrupted" and exit 130, not in a traceback."""
    try:
        from provledger.cli import main as command_line
    except KeyboardInterrupt:
        _sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None  # provledger.cli.base.ExitCode.INTERRUPTED, not imported
    command_line()
