"""Gas report: every contract operation measured on a fresh anvil node, then the budgets.

    python scripts/gas_report.py [--samples N] [--rpc URL]

Budgeted operations are medians over N (default 100) operations sent by one account. The last
lines are ``budget <operation> <measured> <limit> ok|over``; the exit status is 1 if any budget
is over. ``make gas`` runs this.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from provledger.chain.anvil import AnvilNode
from provledger.chain.connection import rpc_chain
from provledger.chain.gas import BUDGETS, GasBench, budget_lines, runtime_sizes


def report(bench: GasBench, elapsed: float) -> int:
    """Print the table and budget lines; return the exit status."""
    print(f"{'operation':<32} {'samples':>7} {'median':>10} {'min':>10} {'max':>10}")
    for name, measurement in bench.measurements.items():
        unit = " /unit" if measurement.divisor > 1 else ""
        print(
            f"{name:<32} {len(measurement.samples):>7} {measurement.median:>10,} "
            f"{measurement.minimum:>10,} {measurement.maximum:>10,}{unit}"
        )
    print()
    print(f"{'contract':<32} {'runtime bytes':>13}")
    for name, size in runtime_sizes().items():
        print(f"{name:<32} {size:>13,}")
    print(f"\nmeasured in {elapsed:.1f} s")
    lines = budget_lines(bench)
    for line in lines:
        print(line.render())
    return 0 if all(line.ok for line in lines) else 1


#: The ERC-20 the purchases are paid in: the test harness token, compiled by `make compile`.
TOKEN_ARTIFACT = Path(__file__).resolve().parents[1] / "tests" / "artifacts" / "TestToken.json"


def token_code() -> bytes:
    """Creation code of the harness ERC-20."""
    return bytes.fromhex(json.loads(TOKEN_ARTIFACT.read_text())["bytecode"].removeprefix("0x"))


def main(argv: list[str] | None = None) -> int:
    """Run the measurements on a fresh anvil (or ``--rpc``) and print the report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=100, help="operations per budget")
    parser.add_argument("--rpc", help="measure on this dev node instead of a fresh anvil")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.rpc:
        bench = GasBench(rpc_chain(args.rpc), token_code(), samples=args.samples)
        bench.measure_budgeted()
        bench.measure_others()
        return report(bench, time.monotonic() - started)
    with AnvilNode() as node:
        bench = GasBench(node.web3(), token_code(), samples=args.samples)
        print(f"anvil at {node.url}; {args.samples} samples per budget ({', '.join(BUDGETS)})")
        bench.measure_budgeted()
        bench.measure_others()
        return report(bench, time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
