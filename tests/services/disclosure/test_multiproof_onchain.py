"""OpenZeppelin's ``MerkleProof.multiProofVerify`` on chain (the harness contracts/test/
MultiProofCheck.sol) against provledger's presentations of a committed registration: it accepts
them against the metadata hash the asset anchors, rejects an altered leaf, computes the same
field leaves, and refuses the malformed multiproofs provledger refuses."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from eth_utils.crypto import keccak
from web3.contract import Contract

from helpers.builders import registration
from helpers.multiproofs import REFUSED, Parts, document_of, malformed, present, random_parts
from helpers.multiproofs import subsets as subsets_of
from helpers.tokens import deploy_artifact, harness_artifact
from helpers.world import World
from provledger.chain.reverts import revert_from_exception
from provledger.chain.transactions import Sender
from provledger.commitments import (
    FIELD_LEAF_TYPES,
    CommittedDocument,
    CommittedField,
    Presentation,
    commitment_uri,
    value_hash,
)
from provledger.merkle import leaf_hash
from provledger.merkle.multiproof import InvalidMultiproofError, process_multiproof
from provledger.services.disclosure import registered_commitment

INVALID_MULTIPROOF = keccak(text="MerkleProofInvalidMultiproof()")[:4]
OUT_OF_BOUNDS = 0x32


@pytest.fixture
def checker(world: World) -> Contract:
    """The harness, deployed on the test's chain."""
    artifact = harness_artifact("MultiProofCheck")
    assert world.admin.account is not None
    address = deploy_artifact(Sender(world.w3, world.admin.account), artifact)
    return world.w3.eth.contract(address=address, abi=artifact["abi"])


def _registered(world: World, document: CommittedDocument) -> tuple[int, bytes]:
    """Register ``document`` as alice's committed metadata; the asset and the metadata hash
    the chain holds for it."""
    asset = world.register(
        world.alice,
        registration(
            content_hash=document.content_hash,
            metadata_uri=commitment_uri(False),
            metadata_hash=document.root,
        ),
    )
    registry = world.deployment.address("DataAssetRegistry")
    record = registered_commitment(world.w3, registry, world.deployment.block_number, asset)
    assert record is not None
    return asset, record.metadata_hash


def _leaves(fields: tuple[CommittedField, ...]) -> list[bytes]:
    return [leaf_hash(FIELD_LEAF_TYPES, field.leaf) for field in fields]


def _verifies(checker: Contract, presentation: Presentation, root: bytes) -> bool:
    leaves = _leaves(presentation.fields)
    proof, flags = list(presentation.proof), list(presentation.flags)
    return bool(checker.functions.multiProofVerify(proof, flags, root, leaves).call())


@pytest.mark.parametrize("size", [1, 2, 7, 16])
def test_the_contract_accepts_presentations_of_a_committed_registration(
    world: World, checker: Contract, size: int
) -> None:
    document = document_of(size)
    asset, on_chain = _registered(world, document)
    assert on_chain == document.root
    for subset, indices in subsets_of(size).items():
        presentation = present(document, indices, asset_id=asset)
        assert _verifies(checker, presentation, on_chain), subset
        computed = checker.functions.processMultiProof(
            list(presentation.proof), list(presentation.flags), _leaves(presentation.fields)
        ).call()
        assert bytes(computed) == on_chain, subset


def test_the_contract_computes_the_presentations_leaves(world: World, checker: Contract) -> None:
    document = document_of(12)  # every kind of value in VALUES
    presentation = present(document, list(range(12)))
    on_chain = [
        bytes(checker.functions.fieldLeaf(field.name, field.salt, value_hash(field.value)).call())
        for field in presentation.fields
    ]
    assert on_chain == _leaves(presentation.fields)


@pytest.mark.parametrize("part", ["value", "salt", "name"])
def test_the_contract_rejects_an_altered_leaf(world: World, checker: Contract, part: str) -> None:
    document = document_of(7)
    asset, on_chain = _registered(world, document)
    presentation = present(document, [1, 3, 4], asset_id=asset)
    assert _verifies(checker, presentation, on_chain)
    first, *rest = presentation.fields
    changes: dict[str, Any] = {
        "value": {"value": "forged"},
        "salt": {"salt": bytes(32)},
        "name": {"name": first.name + "s"},
    }
    altered = dataclasses.replace(
        presentation, fields=(dataclasses.replace(first, **changes[part]), *rest)
    )
    assert not _verifies(checker, altered, on_chain)


def _contract_outcome(checker: Contract, parts: Parts) -> bytes | str:
    """The root, or how the contract refused: ``MerkleProofInvalidMultiproof()`` when the counts
    do not fit, or an out-of-bounds panic when the flags ask for more than there is."""
    leaves, proof, flags = parts
    try:
        return bytes(checker.functions.processMultiProof(proof, flags, leaves).call())
    except Exception as error:
        revert = revert_from_exception(error)
        if revert is None:
            raise
        if revert.data == INVALID_MULTIPROOF:
            return "refused"
        if revert.name == "Panic" and revert.args_by_name["code"] == OUT_OF_BOUNDS:
            return "refused"
        return f"other revert {revert}"


def _python_outcome(parts: Parts) -> bytes | str:
    try:
        return process_multiproof(*parts)
    except InvalidMultiproofError:
        return "refused"


def test_the_contract_refuses_the_multiproofs_provledger_refuses(
    world: World, checker: Contract
) -> None:
    rng = random.Random(2121)
    cases = {**malformed(document_of(7)), **{f"random {i}": random_parts(rng) for i in range(60)}}
    outcomes = {name: _contract_outcome(checker, parts) for name, parts in cases.items()}
    assert outcomes == {name: _python_outcome(parts) for name, parts in cases.items()}
    assert {name for name, outcome in outcomes.items() if outcome == "refused"} >= REFUSED
