"""The ``provledger-proof/1`` format: one model, one serialiser, and the published JSON Schema.

``data/proof-bundle-{direct,signed,batch}.json`` are bundles the builder wrote before the format
had one model (as ``provledger proof`` writes them); ``data/proof-bundle-inputs.json`` holds what
it read to write them: the deployment, the index's trail of each asset, and every node answer.
Replaying those answers, the builder must write the same bytes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import jsonschema_rs
import pytest
from web3 import Web3
from web3.providers import BaseProvider
from web3.types import RPCEndpoint, RPCResponse

import provledger.services.proofs
from helpers.builders import registration, unique_content
from helpers.indexing import index
from helpers.stores import engine_for, release
from helpers.world import World
from provledger.chain.accounts import dev_account
from provledger.chain.deployments import Deployment
from provledger.chain.events import AssetRegistered
from provledger.merkle import StandardMerkleTree
from provledger.services.proofs import (
    SCHEMA_FILE,
    MalformedProofBundleError,
    build_proof_bundle,
    bundle_json,
    bundle_schema,
    parse_proof_bundle,
    trail_proof,
)
from provledger.store.proofs import EventRow, RegistrationTrail

DATA: Final = Path(__file__).parent / "data"
KINDS: Final = ("direct", "signed", "batch")


def golden(kind: str) -> str:
    """The bytes the builder wrote for ``kind`` before the format had one model."""
    return (DATA / f"proof-bundle-{kind}.json").read_text(encoding="utf-8")


def written(bundle: dict[str, Any]) -> str:
    """A bundle as ``provledger proof`` writes it."""
    return json.dumps(bundle, indent=2) + "\n"


@pytest.fixture(scope="module")
def validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(bundle_schema())


def schema_errors(validator: jsonschema_rs.Validator, bundle: object) -> list[str]:
    return [
        f"{list(error.instance_path)}: {error.message}" for error in validator.iter_errors(bundle)
    ]


# ---------------------------------------------------------------- the same bytes as before


class ReplayNode(BaseProvider):
    """A node that gives the recorded answer to each request, and refuses any other."""

    def __init__(self, answers: list[list[Any]]) -> None:
        super().__init__()
        self._answers = {self._key(method, params): answer for method, params, answer in answers}

    @staticmethod
    def _key(method: str, params: Any) -> str:
        return json.dumps([method, json.loads(Web3.to_json(params))], sort_keys=True)

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        key = self._key(method, params)
        assert key in self._answers, f"no recorded answer to {key}"
        answer: RPCResponse = copy.deepcopy(self._answers[key])
        return answer

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def _trail(data: dict[str, Any]) -> RegistrationTrail:
    def row(value: dict[str, Any] | None) -> EventRow | None:
        return None if value is None else EventRow(**{**value, "args": tuple(value["args"])})

    registration = row(data["registration"])
    assert registration is not None
    return RegistrationTrail(
        asset_id=data["asset_id"],
        content_hash=data["content_hash"],
        channel=data["channel"],
        batch_root=data["batch_root"],
        registration=registration,
        promotion=row(data["promotion"]),
        anchor=row(data["anchor"]),
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_bundle_built_now_is_byte_for_byte_the_bundle_built_before(kind: str) -> None:
    inputs = json.loads((DATA / "proof-bundle-inputs.json").read_text(encoding="utf-8"))
    recorded = inputs["bundles"][kind]
    w3 = Web3(ReplayNode(recorded["node"]))
    deployment = Deployment.from_json(inputs["deployment"])
    proof = trail_proof(_trail(recorded["trail"]), w3, deployment)
    assert proof.channel == kind.upper()
    assert (proof.batch is not None) == (kind == "batch")
    assert written(bundle_json(proof)) == golden(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_parsing_and_serialising_a_bundle_gives_back_its_bytes(kind: str) -> None:
    text = golden(kind)
    assert written(bundle_json(parse_proof_bundle(json.loads(text)))) == text


# ---------------------------------------------------------------- the published schema


def test_the_schema_is_a_draft_2020_12_schema_shipped_in_the_package() -> None:
    package = Path(provledger.services.proofs.__file__).parent
    assert Path(str(SCHEMA_FILE)) == package / "proof-bundle.schema.json"
    schema = bundle_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["version"]["enum"] == [
        provledger.services.proofs.BUNDLE_VERSION,
        provledger.services.proofs.CHECKPOINTED_VERSION,
    ]
    assert jsonschema_rs.meta.is_valid(schema)
    # the schema lists the fields in the order the serialiser writes them
    assert list(schema["properties"]) == [*json.loads(golden("batch")), "checkpoint"]
    state = schema["properties"]["state"]["properties"]
    assert list(state) == list(json.loads(golden("batch"))["state"])


@pytest.mark.parametrize("kind", KINDS)
def test_the_bundles_built_before_are_valid(validator: jsonschema_rs.Validator, kind: str) -> None:
    assert schema_errors(validator, json.loads(golden(kind))) == []


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every path in a JSON value, parents before children."""
    items: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        yield (*prefix, key)
        yield from _paths(item, (*prefix, key))


#: Values put in place of a field: other types, signs, sizes and spellings.
REPLACEMENTS: Final[tuple[object, ...]] = (
    None,
    True,
    -1,
    1.5,
    "",
    "0x",
    "0xzz",
    "0x" + "ab" * 20,
    "0x" + "ab" * 32,
    "0X" + "AB" * 32,
    "provledger-proof/2",
    "BatchAnchor",
    [],
    {},
)


def _mutations(bundle: dict[str, Any]) -> Iterator[tuple[str, object, Any]]:
    """(path, replacement, the changed bundle) for every path and replacement."""
    for path in _paths(bundle):
        *parents, last = path
        for replacement in ("<deleted>", *REPLACEMENTS):
            changed = copy.deepcopy(bundle)
            node: Any = changed
            for part in parents:
                node = node[part]
            if replacement == "<deleted>":
                if isinstance(node, list):
                    continue
                del node[last]
            else:
                node[last] = replacement
            yield ".".join(map(str, path)), replacement, changed


#: Fields whose values the parser takes as they are (the checks compare them with the chain).
UNPARSED: Final = (
    "registration.args.",
    "batch.promotion.args.",
    "batch.anchor.args.",
    "state.asset.",
    "state.batch.",
)


@pytest.mark.parametrize("kind", ["direct", "batch"])
def test_the_schema_refuses_every_bundle_the_parser_refuses(
    validator: jsonschema_rs.Validator, kind: str
) -> None:
    bundle = json.loads(golden(kind))
    refused_at = set()
    for path, replacement, changed in _mutations(bundle):
        try:
            parse_proof_bundle(changed)
        except MalformedProofBundleError:
            refused_at.add(path)
            assert not validator.is_valid(changed), f"the schema accepts {path} = {replacement!r}"
    parsed = {".".join(map(str, path)) for path in _paths(bundle)}
    parsed = {path for path in parsed if not path.startswith(UNPARSED)}
    assert refused_at == parsed  # every field the parser reads was altered into a refusal


def test_the_schema_is_stricter_than_the_parser_on_decoded_values(
    validator: jsonschema_rs.Validator,
) -> None:
    bundle = json.loads(golden("direct"))
    bundle["registration"]["args"]["category"] = "101"
    bundle["state"]["asset"]["status"] = "REGISTERED"
    parse_proof_bundle(bundle)  # well formed: the event and state checks refuse the values
    refused_at = sorted(list(error.instance_path) for error in validator.iter_errors(bundle))
    assert refused_at == [["registration", "args", "category"], ["state", "asset"]]


def test_the_schema_ties_the_batch_sections_to_the_channel(
    validator: jsonschema_rs.Validator,
) -> None:
    batch = json.loads(golden("batch"))
    without_section = {key: value for key, value in batch.items() if key != "batch"}
    assert not validator.is_valid(without_section)  # BATCH needs its batch section
    direct = json.loads(golden("direct"))
    direct["state"]["batch"] = batch["state"]["batch"]
    assert not validator.is_valid(direct)  # a batch record without a batch section
    unanchored = copy.deepcopy(batch)
    unanchored["state"]["batch"] = None  # the root is not anchored at the state block
    assert validator.is_valid(unanchored)


# ---------------------------------------------------------------- bundles built on a node


@pytest.fixture(scope="module")
def built(
    anvil_session_world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, dict[str, Any]]]:
    """The bundles of a direct, a signed and a promoted registration, built on anvil."""
    world = anvil_session_world
    snapshot = world.chain.snapshot()
    url = f"sqlite:///{tmp_path_factory.mktemp('proof-schema') / 'index.sqlite'}"
    try:
        signed = world.alice.registry.sign(
            registration(), dev_account(5), deadline=world.now() + 3600
        )
        leaves = [unique_content() for _ in range(3)]
        tree = StandardMerkleTree.batch(leaves)
        world.alice.anchor.anchor(tree.root, len(leaves), "ipfs://bafy/batch-manifest.json")
        receipts = {
            "direct": world.alice.registry.register(registration()),
            "signed": world.relayer.registry.register_with_signature(signed),
            "batch": world.alice.anchor.promote(
                tree.root, tree.proof_for([leaves[1]]), registration(content_hash=leaves[1])
            ),
        }
        index(world.w3, world.deployment, url)
        yield {
            kind: build_proof_bundle(
                engine_for(url), world.w3, world.deployment, r.event(AssetRegistered).asset_id
            )
            for kind, r in receipts.items()
        }
    finally:
        release(url)
        world.chain.revert(snapshot)


@pytest.mark.anvil
@pytest.mark.parametrize("kind", KINDS)
def test_a_bundle_built_on_a_node_is_valid_and_serialised_by_the_model(
    validator: jsonschema_rs.Validator, built: dict[str, dict[str, Any]], kind: str
) -> None:
    bundle = built[kind]
    assert bundle["channel"] == kind.upper()
    assert schema_errors(validator, bundle) == []
    assert written(bundle_json(parse_proof_bundle(bundle))) == written(bundle)
