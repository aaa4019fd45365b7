"""Fixtures of the store suites: fresh databases of both backends (SQLite and PostgreSQL).

The index databases the store tests read are filled by the real indexer from a real chain
(:func:`helpers.indexing.index`); the store backends are the indexer suites' own fixtures.
"""

from __future__ import annotations

from indexer.conftest import new_database as new_database
from indexer.conftest import store_kind as store_kind
