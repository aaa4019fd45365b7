"""Compile contracts/ into src/provledger/artifacts/ (and harnesses into tests/artifacts/).

    python scripts/compile.py           compile and write the artifacts
    python scripts/compile.py --check   recompile in memory; print drift and exit 1 if any

A thin wrapper over :func:`provledger.toolchain.compiler.run_compile`, which
``provledger compile`` runs too.
"""

from __future__ import annotations

import argparse
import sys

from provledger.toolchain.compiler import run_compile


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the compile; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; report differences from the committed artifacts, exit 1 if any",
    )
    args = parser.parse_args(argv)
    return run_compile(check=args.check)


if __name__ == "__main__":
    sys.exit(main())
