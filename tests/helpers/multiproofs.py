"""Committed documents of any size, and multiproofs broken in every way, for the tests that hold
provledger's multiproofs against OpenZeppelin's (the JS library and the contract)."""

from __future__ import annotations

import random
from typing import Any

from helpers.builders import unique_content
from provledger.commitments import CommittedDocument, Presentation
from provledger.merkle.multiproof import multiproof
from provledger.params import checksum

#: (leaf hashes, proof, flags), as ``process_multiproof`` takes them.
Parts = tuple[list[bytes], list[bytes], list[bool]]

#: Values of every JSON kind a field may hold, the awkward ones included.
VALUES: list[Any] = [
    "Tide gauges",
    125000,
    -7,
    None,
    True,
    "",
    [],
    {},
    ["é", {"b": 1, "a": [None, False]}],
    {"😀": "emoji key", "\uffff": "last BMP key", "Z": 0},
    "数据 / données",
    'quote " and \\ backslash',
]


def document_of(size: int) -> CommittedDocument:
    """A committed document of ``size`` fields (``field-00``, ...) of new content, with fresh
    salts; its header is one more field, the first."""
    metadata = {f"field-{i:02d}": VALUES[i % len(VALUES)] for i in range(size)}
    return CommittedDocument.of(metadata, unique_content())


def subsets(size: int) -> dict[str, list[int]]:
    """The subsets of indices of its own fields a document of ``size`` fields is presented
    with; "scattered" names them out of order."""
    return {
        "none": [],
        "one": [size // 2],
        "all": list(range(size)),
        "scattered": sorted(range(0, size, 3), key=lambda i: (i * 7) % 5),
    }


def present(
    document: CommittedDocument,
    indices: list[int],
    *,
    chain_id: int = 31337,
    registry: str = checksum("0x" + "ab" * 20),
    asset_id: int = 7,
) -> Presentation:
    """The presentation of the document's own fields at ``indices`` (in that order), and of its
    header."""
    names = [document.own_fields[i].name for i in indices]
    return document.present(names, chain_id=chain_id, registry=registry, asset_id=asset_id)


def leaf_indices(indices: list[int]) -> list[int]:
    """The leaves of the tree a presentation of the own fields at ``indices`` proves: the
    header's (the document's first field) and theirs."""
    return [0, *(i + 1 for i in indices)]


def malformed(document: CommittedDocument) -> dict[str, Parts]:
    """A multiproof of three of the document's fields (it needs seven or more), and each way
    of breaking it."""
    proved = multiproof(document.tree, [1, 4, 5])
    leaves, proof, flags = list(proved.leaves), list(proved.proof), list(proved.flags)
    assert len(proof) >= 2
    assert True in flags
    assert False in flags
    return {
        "valid": (leaves, proof, flags),
        "proof element added": (leaves, [*proof, bytes(32)], flags),
        "proof element dropped": (leaves, proof[1:], flags),
        "flag dropped": (leaves, proof, flags[:-1]),
        "flag added": (leaves, proof, [*flags, True]),
        "flags reversed": (leaves, proof, flags[::-1]),
        "all flags true": (leaves, proof, [True] * len(flags)),
        "all flags false": (leaves, proof, [False] * len(flags)),
        "leaf dropped": (leaves[1:], proof, flags),
        "leaf given twice": ([leaves[0], *leaves], proof, flags),
        "leaves reordered": (leaves[::-1], proof, flags),
        "nothing": ([], [], []),
        "no leaf, the root alone": ([], [document.root], []),
        "one leaf alone": ([leaves[0]], [], []),
        "a proof element but no flag": ([leaves[0]], [proof[0]], []),
    }


#: The cases of :func:`malformed` that every implementation must refuse.
REFUSED = frozenset(
    {
        "proof element added",
        "proof element dropped",
        "flag dropped",
        "flag added",
        "all flags true",
        "leaf dropped",
        "nothing",
        "a proof element but no flag",
    }
)


def random_parts(rng: random.Random) -> Parts:
    """Up to four leaves and four proof elements with random flags, counted right seven times
    in ten (so that the order of the flags decides)."""
    leaves = [rng.randbytes(32) for _ in range(rng.randint(0, 4))]
    proof = [rng.randbytes(32) for _ in range(rng.randint(0, 4))]
    count = len(leaves) + len(proof) - 1 if rng.random() < 0.7 else rng.randint(0, 6)
    return leaves, proof, [rng.random() < 0.5 for _ in range(max(count, 0))]
