"""Lineage answers from the recursive walk equal a breadth-first walk over the same graph.

The gateway reads a lineage in one recursive query (both directions; on PostgreSQL each level
through a lateral subquery); these tests draw random lineage DAGs (diamonds, shared parents,
long chains), store them, and compare every answer (nodes with their depths, edges,
truncation) with a plain breadth-first search, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete

from provledger.services.provenance import Provenance
from provledger.store import schema

NODES = 14


def _id(number: int) -> str:
    return "0x" + f"{number + 1:064x}"


@st.composite
def dags(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Edges (child, parent) with parent < child: acyclic, with diamonds and chains."""
    edges = set()
    for child in range(1, NODES):
        parents = draw(st.sets(st.integers(0, child - 1), max_size=3))
        edges |= {(child, parent) for parent in parents}
    return sorted(edges)


def reference(
    edges: list[tuple[int, int]], root: int, depth: int, direction: str
) -> tuple[set[tuple[int, int]], set[tuple[int, int]], bool]:
    """(node, signed depth) pairs, edges and truncation by breadth-first search."""
    depths = {root: 0}
    found: set[tuple[int, int]] = set()
    truncated = False
    for sign in (-1, 1):
        if direction == ("down" if sign < 0 else "up"):
            continue
        frontier = [root]
        for level in range(1, depth + 2):
            links = [
                (child, parent)
                for child, parent in edges
                if (child if sign < 0 else parent) in frontier
            ]
            if level > depth:
                truncated = truncated or bool(links)
                break
            frontier = []
            for child, parent in links:
                found.add((child, parent))
                far = parent if sign < 0 else child
                if far not in depths:
                    depths[far] = sign * level
                    frontier.append(far)
    return set(depths.items()), found, truncated


def _store(engine: Engine, edges: list[tuple[int, int]]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(schema.lineage))
        conn.execute(delete(schema.assets))
        conn.execute(
            schema.assets.insert(),
            [
                {
                    "asset_id": _id(number),
                    "content_hash": _id(number),
                    "registrant": "0x" + "11" * 20,
                    "holder": "0x" + "22" * 20,
                    "holder_since_block": 1,
                    "holder_since_log": 0,
                    "category": 101,
                    "grade": 1,
                    "status": "APPLIED",
                    "under_objection": False,
                    "frozen": False,
                    "metadata_uri": "",
                    "metadata_hash": _id(number),
                    "metadata_version": 1,
                    "channel": "DIRECT",
                    "submitter": "0x" + "11" * 20,
                    "registered_block": 1,
                    "registered_at": 1,
                    "registered_tx": _id(number),
                    "block_number": 1,
                }
                for number in range(NODES)
            ],
        )
        if edges:
            conn.execute(
                schema.lineage.insert(),
                [
                    {
                        "child_id": _id(child),
                        "parent_id": _id(parent),
                        "position": position,
                        "relation": "DERIVED_FROM",
                        "license_id": None,
                        "block_number": 1,
                    }
                    for position, (child, parent) in enumerate(edges)
                ],
            )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edges=dags(),
    root=st.integers(0, NODES - 1),
    depth=st.integers(1, 5),
    direction=st.sampled_from(["up", "down", "both"]),
)
def test_lineage_equals_breadth_first_search(
    schema_engine: Engine, edges: list[tuple[int, int]], root: int, depth: int, direction: str
) -> None:
    _store(schema_engine, edges)
    view = Provenance(schema_engine, confirmations=1, finality_depth=2).lineage(
        root + 1, depth=depth, direction=direction
    )
    nodes, found, truncated = reference(edges, root, depth, direction)
    assert {(node.asset_id, node.depth) for node in view.nodes} == {
        (_id(number), level) for number, level in nodes
    }
    assert {(edge.child_id, edge.parent_id) for edge in view.edges} == {
        (_id(child), _id(parent)) for child, parent in found
    }
    assert len(view.edges) == len(found)
    assert view.truncated is truncated
