"""Deploy the provledger contracts: the same as ``provledger deploy``.

    python scripts/deploy.py --rpc-url http://127.0.0.1:8545 --dev-account 0 --dev-roles
    python scripts/deploy.py --rpc-url URL --keystore deployer.json --grant registrar=0x…

Run with ``--help`` for every option.
"""

from __future__ import annotations

import sys

from provledger.cli import main

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "deploy", *sys.argv[1:]]
    main()
