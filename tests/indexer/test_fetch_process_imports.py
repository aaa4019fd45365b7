"""The fetch process starts light: the indexer waits for its imports before the first batch.

``python -m provledger.indexer.fetcher`` is what :func:`provledger.indexer.fetcher.fetch_in_process`
starts for every bulk catch-up; SQLAlchemy alone added about 0.12 s to its start.
"""

from __future__ import annotations

import subprocess
import sys


def test_the_fetch_process_does_not_import_sqlalchemy() -> None:
    probe = (
        "import sys, provledger.indexer.fetcher; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'sqlalchemy'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
