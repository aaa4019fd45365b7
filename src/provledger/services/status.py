"""How far the index is behind the chain: the one definition of the chain's head, the lag and
readiness, read by every face (the REST routes, the pages, the command line)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from provledger.store import queries
from provledger.store.queries import IndexPosition


@dataclass(frozen=True)
class Readiness:
    """Whether the index is close enough to the head to answer."""

    ready: bool
    indexed_block: int | None
    head_block: int | None
    lag_blocks: int | None
    max_lag: int


def chain_head(position: IndexPosition, node_head: int | None = None) -> int:
    """The chain's head: the one the indexer last saw, or the node's (``node_head``) when a
    node was asked and it is further on."""
    return position.head_block if node_head is None else max(position.head_block, node_head)


def lag_of(position: IndexPosition, node_head: int | None = None) -> int:
    """Blocks from the last indexed block to :func:`chain_head` (never below 0)."""
    return max(0, chain_head(position, node_head) - position.indexed_block)


def is_ready(lag: int | None, max_lag: int) -> bool:
    """Whether an index ``lag`` blocks behind may answer: indexed at all (``lag`` is ``None``
    before the first block) and at most ``max_lag`` blocks behind."""
    return lag is not None and lag <= max_lag


def readiness(
    engine: Engine, *, max_lag: int, node_head: Callable[[], int] | None = None
) -> Readiness:
    """Ready when indexed and within ``max_lag`` blocks of the head; ``node_head`` reads the
    node's head, asked only once the index has a position."""
    with engine.connect() as conn:
        position = queries.index_position(conn)
    if position is None:
        return Readiness(False, None, None, None, max_lag)
    node = None if node_head is None else node_head()
    lag = lag_of(position, node)
    return Readiness(
        is_ready(lag, max_lag), position.indexed_block, chain_head(position, node), lag, max_lag
    )
