"""Committed documents and their presentations against the JS reference, @openzeppelin/merkle-tree
1.0.8 run under node: the same root, the same multiproof (leaves in the same order, proof and
flags), and the same multiproofs refused."""

from __future__ import annotations

import random

import pytest

from helpers.multiproofs import (
    REFUSED,
    Parts,
    document_of,
    leaf_indices,
    malformed,
    present,
    random_parts,
)
from helpers.multiproofs import subsets as subsets_of
from helpers.ozoracle import oz_jobs
from provledger.commitments import FIELD_LEAF_TYPES, CommittedField, Presentation, value_hash
from provledger.errors import MalformedProofError
from provledger.merkle import leaf_hash
from provledger.merkle.multiproof import InvalidMultiproofError, multiproof, process_multiproof
from provledger.params import to_hex32

SIZES = [1, 2, 3, 7, 16, 33]


def _leaf(field: CommittedField) -> list[str]:
    """The field's leaf as the JS library takes it: ``[name, salt hex, value-hash hex]``."""
    return [field.name, to_hex32(field.salt), to_hex32(value_hash(field.value))]


def _hex(value: bytes) -> str:
    return "0x" + value.hex()  # not to_hex32: the malformed cases have 31 and 33 bytes


def test_roots_and_multiproofs_match_openzeppelin() -> None:
    documents = {size: document_of(size) for size in SIZES}
    cases = [
        (size, subset, indices) for size in SIZES for subset, indices in subsets_of(size).items()
    ]
    results = oz_jobs(
        [
            {
                "op": "multiproof",
                "types": list(FIELD_LEAF_TYPES),
                "values": [_leaf(field) for field in documents[size].fields],
                "indices": leaf_indices(indices),
            }
            for size, _, indices in cases
        ]
    )
    for (size, subset, indices), js in zip(cases, results, strict=True):
        where = f"{size} fields, subset {subset}"
        assert "error" not in js, (where, js)
        document = documents[size]
        presentation = present(document, indices)
        assert js["root"] == to_hex32(document.root), where
        assert js["leaves"] == [_leaf(field) for field in presentation.fields], where
        hashes = [leaf_hash(FIELD_LEAF_TYPES, field.leaf) for field in presentation.fields]
        assert js["leafHashes"] == [to_hex32(leaf) for leaf in hashes], where
        assert js["proof"] == [to_hex32(node) for node in presentation.proof], where
        assert js["proofFlags"] == list(presentation.flags), where
        assert sorted(field.name for field in presentation.fields) == sorted(
            document.fields[i].name for i in leaf_indices(indices)
        )
        assert process_multiproof(hashes, presentation.proof, presentation.flags) == document.root
        assert Presentation.parse(presentation.to_json()).check() == presentation


def test_a_leaf_asked_for_twice_is_refused_by_both() -> None:
    document = document_of(7)
    (js,) = oz_jobs(
        [
            {
                "op": "multiproof",
                "types": list(FIELD_LEAF_TYPES),
                "values": [_leaf(field) for field in document.fields],
                "indices": [2, 5, 2],
            }
        ]
    )
    assert js == {"error": "Cannot prove duplicated index"}
    with pytest.raises(InvalidMultiproofError, match="asked for twice"):
        multiproof(document.tree, [2, 5, 2])


def _python_outcome(parts: Parts) -> str:
    try:
        return to_hex32(process_multiproof(*parts))
    except (InvalidMultiproofError, MalformedProofError):
        return "refused"


def test_malformed_multiproofs_are_refused_as_openzeppelin_refuses_them() -> None:
    rng = random.Random(21)
    document = document_of(7)
    named = malformed(document)
    leaves, proof, flags = named["valid"]
    cases = {
        **named,
        "short leaf": ([leaves[0][:31], *leaves[1:]], proof, flags),
        "long proof element": (leaves, [proof[0] + b"\x00", *proof[1:]], flags),
        **{f"random {i}": random_parts(rng) for i in range(400)},
    }
    results = oz_jobs(
        [
            {
                "op": "processMultiProof",
                "leaves": [_hex(leaf) for leaf in leaves],
                "proof": [_hex(node) for node in proof],
                "proofFlags": flags,
            }
            for leaves, proof, flags in cases.values()
        ]
    )
    outcomes = {
        name: ("refused" if "error" in js else js["root"])
        for name, js in zip(cases, results, strict=True)
    }
    assert {name: _python_outcome(parts) for name, parts in cases.items()} == outcomes
    refused = {name for name, outcome in outcomes.items() if outcome == "refused"}
    assert refused >= REFUSED | {"short leaf", "long proof element"}
    root = to_hex32(document.root)
    assert outcomes["valid"] == outcomes["no leaf, the root alone"] == root
    assert outcomes["leaves reordered"] not in ("refused", root)
    assert sum(outcome == "refused" for outcome in outcomes.values()) > 50  # the fuzz reaches
    assert sum(outcome != "refused" for outcome in outcomes.values()) > 50  # both outcomes
