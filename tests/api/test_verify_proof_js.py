"""The JavaScript verifier (``api/static/verify-proof.mjs``, run by Node.js) against the Python
one (``provledger.services.proofs``), check by check, on real anvil chains.

* A scenario chain with registrations of every kind (direct, relayed signature, batch leaf; then
  certified, transferred, frozen, cancelled, revised, traded): both verifiers pass every asset's
  bundle, and give the same verdict on each check when any one field of a bundle is altered.
* The published test vectors (``docs/proof-vectors``, written by ``scripts/proof_vectors.py``):
  regenerated on a fresh deterministic chain they are byte for byte the committed ones, and both
  verifiers give each vector's expected outcome against that chain.
* The JavaScript verifier refuses exactly the bundles the JSON Schema refuses, naming a field
  the schema objects to; and its command line prints, exits and refuses as documented.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jsonschema_rs
import pytest
from hexbytes import HexBytes
from web3.types import TxReceipt

from helpers.builders import registration
from helpers.faultproxy import FaultPlan, FaultProxy
from helpers.indexing import index
from helpers.proofjs import (
    MANIFEST,
    SOURCE_CHAIN,
    TARGET_CHAIN,
    VECTORS,
    Job,
    Outcome,
    js_cli,
    js_verify,
    py_verify,
    served_vectors,
)
from helpers.scenarios import provenance_scenario
from helpers.stores import engine_for, release
from helpers.world import World
from provledger.chain.accounts import dev_account
from provledger.chain.connection import DevChain, rpc_chain
from provledger.chain.events import AssetRegistered
from provledger.services.proofs import (
    ProofUnavailableError,
    WitnessPolicy,
    build_proof_bundle,
    bundle_schema,
)

UNREACHABLE: Final = "http://127.0.0.1:9"

pytestmark = pytest.mark.anvil


def schema_paths(bundle: object) -> list[list[str | int]]:
    """Where the JSON Schema objects to ``bundle`` (empty: it is valid)."""
    validator = jsonschema_rs.validator_for(bundle_schema())
    return [list(error.instance_path) for error in validator.iter_errors(bundle)]


def segments(path: str) -> list[str | int]:
    """``registration.topics[1]`` as ``["registration", "topics", 1]``."""
    out: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return out


def named_by_schema(path: str, bundle: object) -> bool:
    """Whether the field ``path`` lies at or under a place the schema objects to."""
    found = segments(path)
    return any(found[: len(where)] == where for where in schema_paths(bundle))


def disagreement(py: Outcome, js: Outcome, bundle: object) -> str | None:
    """Why the two outcomes on ``bundle`` differ, or None when they agree: the same checks with
    the same verdicts (on a bundle the schema accepts); or both refuse the bundle, JavaScript
    naming the field Python names or one the schema objects to (an integer written as 1.0 is
    refused by both, which JSON Schema cannot say); or JavaScript refuses, as the schema does, a
    bundle whose decoded values the Python parser leaves to the checks, which then fail."""
    if js.unreachable or py.unreachable:
        return f"a node was unreachable: {js.message or py.message}"
    refused_by_schema = bool(schema_paths(bundle))
    if js.refused is not None and py.refused is not None:
        if js.refused == py.refused or named_by_schema(js.refused, bundle):
            return None
        return f"JavaScript refuses at {js.refused!r}, Python at {py.refused!r}"
    if js.refused is not None:
        assert py.report is not None
        if not named_by_schema(js.refused, bundle):
            return f"JavaScript refuses at {js.refused!r}, where the schema finds nothing wrong"
        return "Python verifies what JavaScript refuses" if py.report["ok"] else None
    assert js.report is not None
    if refused_by_schema:
        return f"JavaScript checks a bundle the schema refuses at {schema_paths(bundle)}"
    if py.report is None:
        return f"Python refuses at {py.refused!r}, JavaScript checks the bundle"
    left = [(c["name"], c["title"], c["passed"]) for c in py.report["checks"]]
    right = [(c["name"], c["title"], c["passed"]) for c in js.report["checks"]]
    subject = all(py.report[key] == js.report[key] for key in ("ok", "asset_id", "chain_id"))
    return None if left == right and subject else f"Python {left}, JavaScript {right}"


# ---------------------------------------------------------------- a scenario of every kind


@dataclass
class Scenario:
    world: World
    url: str
    bundles: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def scenario(
    anvil_session_world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    """The provenance scenario plus a relayed registration, indexed, with the bundle of every
    asset the builder can prove; the chain is reverted afterwards."""
    world = anvil_session_world
    snapshot = world.chain.snapshot()
    url = f"sqlite:///{tmp_path_factory.mktemp('proofjs') / 'index.sqlite'}"
    try:
        assets = provenance_scenario(world)
        signed = world.alice.registry.sign(
            registration(), dev_account(6), deadline=world.now() + 3600
        )
        relayed = world.relayer.registry.register_with_signature(signed)
        assets["signed"] = relayed.event(AssetRegistered).asset_id
        world.chain.mine(3)
        index(world.w3, world.deployment, url)
        bundles = {}
        for label, asset in assets.items():
            try:
                bundles[label] = build_proof_bundle(
                    engine_for(url), world.w3, world.deployment, asset
                )
            except ProofUnavailableError:
                continue
        endpoint = str(world.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
        yield Scenario(world, endpoint, bundles)
    finally:
        release(url)
        world.chain.revert(snapshot)


def test_the_scenario_has_bundles_of_every_kind(scenario: Scenario) -> None:
    channels = {bundle["channel"] for bundle in scenario.bundles.values()}
    assert channels == {"DIRECT", "SIGNED", "BATCH"}
    statuses = {bundle["state"]["asset"]["status"] for bundle in scenario.bundles.values()}
    assert {"APPLIED", "CERTIFIED", "CANCELLED"} <= statuses
    print(
        {
            label: (b["channel"], b["state"]["asset"]["status"])
            for label, b in scenario.bundles.items()
        }
    )


def test_both_verifiers_pass_every_bundle_of_the_scenario(scenario: Scenario) -> None:
    texts = {label: json.dumps(bundle) for label, bundle in scenario.bundles.items()}
    outcomes = js_verify([Job(text, {"rpc": scenario.url}) for text in texts.values()])
    for (label, text), js in zip(texts.items(), outcomes, strict=True):
        py = py_verify(text, scenario.world.w3)
        assert py.verified, (label, py.report)
        assert js.verified, (label, js.report)
        assert disagreement(py, js, scenario.bundles[label]) is None, label
        assert js.report is not None
        for check in js.report["checks"]:
            assert check["reason"]
            assert "\n" not in check["reason"]


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    items: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        yield (*prefix, key)
        yield from _paths(item, (*prefix, key))


def _changes(value: Any) -> list[tuple[str, Any]]:
    """Other values of the same kind for one field: what a forger would try."""
    if isinstance(value, bool):
        return [("negated", not value)]
    if isinstance(value, int):
        return [("plus one", value + 1), ("as a fraction", float(value))]
    if isinstance(value, str) and re.fullmatch(r"0x[0-9a-fA-F]*", value):
        if value == "0x":
            return [("a byte more", "0x00")]
        return [("last digit", value[:-1] + ("1" if value[-1] != "1" else "2"))]
    if isinstance(value, str):
        others = [other for other in ("DIRECT", "SIGNED", "BATCH", "CERTIFIED") if other != value]
        return [("longer", value + "x"), ("another word", others[0])]
    if isinstance(value, list) and value:
        return [("shorter", value[:-1])]
    if value is None:
        return [("an object", {})]
    return []


def alterations(bundle: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what, the altered bundle) for every field: each change of :func:`_changes`, and the
    field removed."""
    for path in _paths(bundle):
        *parents, last = path
        for what, value in [*_changes(_at(bundle, path)), ("removed", None)]:
            changed = copy.deepcopy(bundle)
            holder = _at(changed, tuple(parents))
            if what == "removed":
                if isinstance(holder, list):
                    continue
                del holder[last]
            else:
                holder[last] = value
            yield f"{'.'.join(map(str, path))}: {what}", changed


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _representative(scenario: Scenario, channel: str) -> str:
    return next(label for label, b in scenario.bundles.items() if b["channel"] == channel)


@pytest.mark.parametrize("channel", ["DIRECT", "SIGNED", "BATCH"])
def test_every_altered_field_gets_the_same_verdict_from_both(
    scenario: Scenario, channel: str
) -> None:
    bundle = scenario.bundles[_representative(scenario, channel)]
    cases = list(alterations(bundle))
    assert len(cases) > 100
    outcomes = js_verify([Job(json.dumps(b), {"rpc": scenario.url}) for _, b in cases])
    disagreements = {}
    failing_checks: set[str] = set()
    for (what, changed), js in zip(cases, outcomes, strict=True):
        py = py_verify(json.dumps(changed), scenario.world.w3)
        if (why := disagreement(py, js, changed)) is not None:
            disagreements[what] = why
        failing_checks.update(name for name, passed in js.verdicts or [] if not passed)
    assert disagreements == {}
    expected = {"chain", "receipt", "block", "event", "contract", "state"}
    assert failing_checks == (expected | {"merkle", "anchor"} if channel == "BATCH" else expected)


def test_a_node_refusing_a_read_fails_the_same_check_in_both(scenario: Scenario) -> None:
    bundle = json.dumps(scenario.bundles[_representative(scenario, "BATCH")])
    plan = FaultPlan(methods=frozenset({"eth_getCode"}), rpc_error=1.0)
    with FaultProxy(scenario.url, plan) as refusing:
        (js,) = js_verify([Job(bundle, {"rpc": refusing.url})])
        py = py_verify(bundle, rpc_chain(refusing.url))
    assert disagreement(py, js, json.loads(bundle)) is None
    assert [name for name, passed in js.verdicts or [] if not passed] == ["contract"]


def test_a_node_failing_mid_way_gives_no_verdict_in_either(scenario: Scenario) -> None:
    bundle = json.dumps(scenario.bundles[_representative(scenario, "DIRECT")])
    plan = FaultPlan(methods=frozenset({"eth_getTransactionReceipt"}), http_error=1.0)
    with FaultProxy(scenario.url, plan) as failing:
        (js,) = js_verify([Job(bundle, {"rpc": failing.url})])
        py = py_verify(bundle, rpc_chain(failing.url))
    assert js.unreachable
    assert f"cannot reach the node at {failing.url}: HTTP 50" in js.message
    assert py.unreachable


# ---------------------------------------------------------------- the form: as the schema says


#: Values put in place of a field: other types, signs, sizes and spellings.
REPLACEMENTS: Final[tuple[object, ...]] = (
    None,
    True,
    -1,
    0,
    1.5,
    2.0,
    "",
    "0x",
    "0xzz",
    "0x" + "ab" * 20,
    "0x" + "ab" * 32,
    "0X" + "AB" * 32,
    "0x" + "AB" * 20,
    "provledger-proof/2",
    "BatchAnchor",
    "DIRECT",
    "CERTIFIED",
    [],
    ["0x" + "ab" * 32],
    {},
)


def _mutations(bundle: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``bundle`` with each field replaced by each of :data:`REPLACEMENTS`, or removed."""
    for path in _paths(bundle):
        *parents, last = path
        for replacement in ("<removed>", *REPLACEMENTS):
            changed = copy.deepcopy(bundle)
            holder = _at(changed, tuple(parents))
            if replacement == "<removed>":
                if isinstance(holder, list):
                    continue
                del holder[last]
            else:
                holder[last] = replacement
            yield changed


@pytest.mark.parametrize("kind", ["direct", "batch", "batch-v2"])
def test_the_js_verifier_refuses_what_the_schema_refuses_naming_the_field(kind: str) -> None:
    """Every field of a vector replaced by other values: JavaScript refuses the bundle (before
    asking any node) exactly when the schema does, except an integer written as a fraction
    where the format reads a number (refused by both verifiers), and names the field where the
    schema objects (or one under it)."""
    valid = json.loads((VECTORS / "valid" / f"{kind}.json").read_text(encoding="utf-8"))
    bundles = list(_mutations(valid))
    outcomes = js_verify([Job(json.dumps(b), {"rpc": UNREACHABLE}) for b in bundles])
    wrong = []
    refused = 0
    for bundle, js in zip(bundles, outcomes, strict=True):
        schema = schema_paths(bundle)
        if js.refused is None:
            assert js.unreachable, js  # well formed: it went on to ask the node
            if schema:
                wrong.append(f"accepted, the schema refuses at {schema}")
            continue
        refused += 1
        if not named_by_schema(js.refused, bundle) and not _fraction_at(bundle, js.refused):
            wrong.append(f"refused at {js.refused} ({js.message}); the schema says {schema}")
    assert wrong == []
    assert refused > 800


def _fraction_at(bundle: object, path: str) -> bool:
    """Whether the field at ``path`` holds a whole number written as a fraction (2.0)."""
    value: Any = bundle
    for part in segments(path):
        value = value[part]
    return isinstance(value, float) and value.is_integer()


# ---------------------------------------------------------------- the published test vectors


ENTRIES: Final[list[dict[str, Any]]] = MANIFEST["vectors"]


@dataclass
class Regenerated:
    """The generator's fresh vectors and its two chains."""

    folder: Path
    urls: dict[int, str]
    js: dict[str, Outcome]

    @property
    def source(self) -> str:
        return self.urls[SOURCE_CHAIN]

    @property
    def target(self) -> str:
        return self.urls[TARGET_CHAIN]

    def js_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """A vector's options as ``verifyBundle`` takes them."""
        return {
            "rpc": self.source,
            "checkpointRpc": self.target if options["target_node"] else None,
            "witnesses": options["witnesses"],
            "witnessesRequired": options["witnesses_required"],
        }

    def py_verify(self, text: str, options: dict[str, Any]) -> Outcome:
        """The Python verifier's outcome on a vector, with its options."""
        target = rpc_chain(self.target) if options["target_node"] else None
        policy = WitnessPolicy(frozenset(options["witnesses"]), options["witnesses_required"])
        return py_verify(text, rpc_chain(self.source), target=target, policy=policy)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Regenerated]:
    """``scripts/proof_vectors.py --serve`` into a fresh folder: its vectors, and its chains
    (which the committed vectors must verify against), with the JavaScript outcome of each
    committed vector."""
    folder = tmp_path_factory.mktemp("vectors")
    with served_vectors(folder) as urls:
        made = Regenerated(folder, urls, {})
        texts = [(VECTORS / entry["file"]).read_text("utf-8") for entry in ENTRIES]
        jobs = [
            Job(text, made.js_options(e["options"])) for text, e in zip(texts, ENTRIES, strict=True)
        ]
        outcomes = js_verify(jobs)
        made.js = {entry["file"]: outcome for entry, outcome in zip(ENTRIES, outcomes, strict=True)}
        yield made


def _files(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): path.read_text("utf-8")
        for path in sorted(folder.rglob("*.json"))
    }


def test_the_committed_vectors_are_what_the_generator_writes(regenerated: Regenerated) -> None:
    committed, fresh = _files(VECTORS), _files(regenerated.folder)
    names = committed.keys() | fresh.keys()
    drifted = sorted(name for name in names if committed.get(name) != fresh.get(name))
    assert drifted == [], (
        "the test vectors drifted from what scripts/proof_vectors.py writes now (a contract's "
        "code, the builder or the scenario changed?): review, then run "
        "`python scripts/proof_vectors.py`"
    )


def test_the_vectors_cover_every_check_and_both_versions() -> None:
    failing = {name for e in ENTRIES for name, ok in e.get("verdict", {}).items() if not ok}
    assert failing == {
        "chain", "receipt", "block", "event", "contract", "merkle", "anchor", "state",
        "checkpoint", "witnesses",
    }  # fmt: skip
    valid = {e["file"] for e in ENTRIES if e["field"] is None and "verdict" in e}
    assert {f"valid/{kind}.json" for kind in ("direct", "signed", "batch")} <= valid
    assert {f"valid/{kind}-v2.json" for kind in ("direct", "signed", "batch")} <= valid
    versions = {json.loads((VECTORS / file).read_text("utf-8"))["version"] for file in valid}
    assert versions == {"provledger-proof/1", "provledger-proof/2"}
    assert sum("refused_at" in e for e in ENTRIES) >= 15


def _entry_id(entry: dict[str, Any]) -> str:
    return str(entry["file"]).removesuffix(".json")


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_the_js_verifier_gives_each_vector_its_expected_outcome(
    regenerated: Regenerated, entry: dict[str, Any]
) -> None:
    js = regenerated.js[entry["file"]]
    if "refused_at" in entry:
        assert js.refused == entry["refused_at"], js
        assert js.message.startswith(f"malformed proof bundle: {entry['refused_at']} ")
    else:
        assert js.verdicts == list(entry["verdict"].items()), js.report  # in the order
        assert js.report is not None
        assert js.report["ok"] is all(entry["verdict"].values())


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_the_python_verifier_gives_each_vector_its_expected_outcome(
    regenerated: Regenerated, entry: dict[str, Any]
) -> None:
    text = (VECTORS / entry["file"]).read_text("utf-8")
    py = regenerated.py_verify(text, entry["options"])
    if "refused_at" in entry:
        # refused, or checked and not verified where its parser leaves a value to the checks
        assert py.refused == entry["refused_at"] or (py.report and not py.report["ok"]), py
    else:
        assert py.verdicts == list(entry["verdict"].items()), py.report


POLICIES: Final = {
    "no policy": {"target_node": True, "witnesses": [], "witnesses_required": 0},
    "two known witnesses": {
        "target_node": True,
        "witnesses": MANIFEST["witnesses"]["known"],
        "witnesses_required": 2,
    },
    "no target node": {"target_node": False, "witnesses": [], "witnesses_required": 0},
}


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", ["direct-v2", "batch-v2"])
def test_every_altered_field_of_a_v2_bundle_gets_the_same_verdict_from_both(
    regenerated: Regenerated, name: str, policy: str
) -> None:
    """Every field of a version 2 vector altered, under three verifier policies."""
    options = POLICIES[policy]
    bundle = json.loads((VECTORS / "valid" / f"{name}.json").read_text("utf-8"))
    cases = [
        (what, b)
        for what, b in alterations(bundle)
        if policy == "no policy" or "checkpoint" in what
    ]
    assert len(cases) > 20
    jobs = [Job(json.dumps(b), regenerated.js_options(options)) for _, b in cases]
    disagreements = {}
    failing_checks: set[str] = set()
    for (what, changed), js in zip(cases, js_verify(jobs), strict=True):
        py = regenerated.py_verify(json.dumps(changed), options)
        if (why := disagreement(py, js, changed)) is not None:
            disagreements[what] = why
        failing_checks.update(name for name, passed in js.verdicts or [] if not passed)
    assert disagreements == {}
    # the evidence's checks ran, and failed where the evidence was altered
    assert {"checkpoint", "witnesses"} <= failing_checks


#: (form, v of a signature whose parity is p, whether it still holds)
V_FORMS: Final[list[tuple[str, Callable[[int], int], bool]]] = [
    ("0 or 1", lambda parity: parity, True),
    ("35 or 36", lambda parity: 35 + parity, True),
    ("37 or 38", lambda parity: 37 + parity, True),
    ("the other parity", lambda parity: 28 - parity, False),
    ("29", lambda _: 29, False),
    ("2", lambda _: 2, False),
]


@pytest.mark.parametrize(("form", "v", "holds"), V_FORMS, ids=[form for form, _, _ in V_FORMS])
def test_the_v_of_a_cosignature_is_read_alike(
    regenerated: Regenerated, form: str, v: Callable[[int], int], holds: bool
) -> None:
    """A co-signature's last byte as both verifiers read it: 27 and 28, 0 and 1, EIP-155's 35 and
    up (by their parity), nothing else."""
    bundle = json.loads((VECTORS / "valid" / "direct-v2.json").read_text("utf-8"))
    signature = bundle["checkpoint"]["witnesses"][0]["signature"]
    value = v(int(signature[-2:], 16) - 27)
    bundle["checkpoint"]["witnesses"][0]["signature"] = signature[:-2] + f"{value:02x}"
    text = json.dumps(bundle)
    options = POLICIES["no policy"]
    (js,) = js_verify([Job(text, regenerated.js_options(options))])
    py = regenerated.py_verify(text, options)
    assert disagreement(py, js, bundle) is None
    assert dict(js.verdicts or [])["witnesses"] is holds


def test_evidence_naming_a_log_of_no_known_event_fails_the_checkpoint_check_in_both(
    regenerated: Regenerated,
) -> None:
    """The evidence moved to a contract whose creation emitted a log of an event nobody knows
    (init code: LOG1 with topic 0xabab..., then STOP)."""
    target = rpc_chain(regenerated.target)
    chain = DevChain(target)
    snapshot = chain.snapshot()
    try:
        creation = bytes.fromhex("7f" + "ab" * 32 + "60006000a100")
        sender = dev_account(3).address
        receipt = target.eth.wait_for_transaction_receipt(
            target.eth.send_transaction({"from": sender, "data": HexBytes(creation)})
        )
        _unknown_event_fails_alike(regenerated, receipt)
    finally:
        chain.revert(snapshot)


def _unknown_event_fails_alike(regenerated: Regenerated, receipt: TxReceipt) -> None:
    bundle = json.loads((VECTORS / "valid" / "direct-v2.json").read_text("utf-8"))
    evidence = bundle["checkpoint"]
    evidence["contract"]["address"] = receipt["contractAddress"]
    evidence["transaction_hash"] = "0x" + bytes(receipt["transactionHash"]).hex()
    evidence["block_number"] = receipt["blockNumber"]
    evidence["block_hash"] = "0x" + bytes(receipt["blockHash"]).hex()
    evidence["log_index"] = receipt["logs"][0]["logIndex"]
    text, options = json.dumps(bundle), POLICIES["no policy"]
    (js,) = js_verify([Job(text, regenerated.js_options(options))])
    assert [name for name, passed in js.verdicts or [] if not passed] == [
        "checkpoint",
        "witnesses",
    ]
    assert disagreement(regenerated.py_verify(text, options), js, bundle) is None


# ---------------------------------------------------------------- the command line


def test_cli_verifies_a_bundle_and_exits_0(regenerated: Regenerated) -> None:
    done = js_cli(str(VECTORS / "valid" / "batch.json"), "--rpc", regenerated.source)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    names = ["chain", "receipt", "block", "event", "contract", "merkle", "anchor", "state"]
    assert [line.split(":")[0] for line in lines[:-1]] == [f"\u2713 {name}" for name in names]
    assert lines[-1] == "verified: all 8 checks passed on chain 31337"


def test_cli_prints_every_check_and_exits_1_when_one_fails(regenerated: Regenerated) -> None:
    bundle = VECTORS / "altered" / "direct--registration.block_hash.json"
    done = js_cli(str(bundle), "--rpc", regenerated.source)
    assert (done.returncode, done.stderr) == (1, "")
    lines = done.stdout.splitlines()
    assert [line[0] for line in lines[:-1]] == [
        "\u2713",
        "\u2713",
        "\u2717",
        "\u2713",
        "\u2713",
        "\u2713",
    ]
    assert lines[2].startswith("\u2717 block: registration: the node's block ")
    assert lines[-1] == "not verified: 1 of 6 checks failed (block)"

    as_json = js_cli(str(bundle), "--rpc", regenerated.source, "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert list(report) == ["ok", "asset_id", "chain_id", "checks"]
    assert (report["ok"], report["chain_id"]) == (False, 31337)
    assert [(c["name"], c["passed"]) for c in report["checks"]] == [
        (name, name != "block")
        for name in ("chain", "receipt", "block", "event", "contract", "state")
    ]
    assert [c["title"] for c in report["checks"]][2] == "the block hash matches"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "malformed proof bundle: is not JSON: expected a key at character 1"),
        ("[]", "malformed proof bundle: must be an object, got a list"),
        (
            json.dumps({"version": "provledger-proof/1"}),
            "malformed proof bundle: chain_id is missing",
        ),
        (
            (VECTORS / "malformed" / "direct--registration.log_index.json").read_text("utf-8"),
            'malformed proof bundle: registration.log_index must be a non-negative integer, got "',
        ),
    ],
)
def test_cli_refuses_bad_input_in_one_line_with_exit_2(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "proof.json"
    path.write_text(content)
    done = js_cli(str(path), "--rpc", UNREACHABLE)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"verify-proof: {message}")


def test_cli_refuses_missing_files_and_options_with_exit_2(tmp_path: Path) -> None:
    valid = str(VECTORS / "valid" / "direct.json")
    for args, message in [
        ((str(tmp_path / "absent.json"), "--rpc", UNREACHABLE), "cannot read proof bundle"),
        ((valid,), "give the JSON-RPC URL of a node of the bundle's chain: --rpc URL"),
        ((valid, "--rpc", UNREACHABLE, "--witness", "0x12"), 'witness "0x12" is not an address'),
        ((valid, "--rpc", UNREACHABLE, "--witnesses-required", "two"), "takes a whole number"),
        ((valid, "--rpc", UNREACHABLE, "--bogus"), "unknown option --bogus"),
    ]:
        done = js_cli(*args)
        assert (done.returncode, done.stdout) == (2, ""), args
        assert message in done.stderr.splitlines()[0], args
        assert "    at " not in done.stderr  # no stack trace


def test_cli_exits_3_when_the_node_cannot_be_reached(regenerated: Regenerated) -> None:
    valid = str(VECTORS / "valid" / "direct.json")
    done = js_cli(valid, "--rpc", UNREACHABLE)
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr.startswith(f"verify-proof: cannot reach the node at {UNREACHABLE}: ")
    assert done.stderr.count("\n") == 1

    plan = FaultPlan(methods=frozenset({"eth_getTransactionReceipt"}), http_error=1.0)
    with FaultProxy(regenerated.source, plan) as failing:  # answers its head, then fails
        done = js_cli(valid, "--rpc", failing.url)
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr.startswith(f"verify-proof: cannot reach the node at {failing.url}: HTTP 5")


def test_cli_checks_the_evidence_against_the_target_chain_and_the_witnesses_named(
    regenerated: Regenerated,
) -> None:
    bundle = str(VECTORS / "valid" / "direct-v2.json")
    known = MANIFEST["witnesses"]["known"]
    witnesses = [arg for address in known for arg in ("--witness", address)]
    done = js_cli(
        bundle, "--rpc", regenerated.source, "--checkpoint-rpc", regenerated.target, *witnesses
    )
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[-3].startswith("\u2713 checkpoint: block ")
    assert lines[-2] == (
        f"\u2713 witnesses: 2 of 2 known witnesses co-signed checkpoint 1; unknown witness "
        f"{MANIFEST['witnesses']['stranger']} not counted; 2 required"
    )
    assert lines[-1] == "verified: all 8 checks passed on chain 31337"

    silent = MANIFEST["witnesses"]["known_but_silent"]  # every witness named is required
    done = js_cli(
        bundle,
        "--rpc",
        regenerated.source,
        "--checkpoint-rpc",
        regenerated.target,
        *witnesses,
        "--witness",
        silent,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "not verified: 1 of 8 checks failed (witnesses)"

    done = js_cli(bundle, "--rpc", regenerated.source, *witnesses, "--witnesses-required", "1")
    assert done.returncode == 1
    assert (
        done.stdout.splitlines()[-3] == "\u2717 checkpoint: no node of target chain 31338 was given"
    )

    upper = "0x" + known[0][2:].upper()  # an all-upper-case address carries no checksum
    done = js_cli(
        bundle,
        "--rpc",
        regenerated.source,
        "--checkpoint-rpc",
        regenerated.target,
        "--witness",
        upper,
    )
    assert done.returncode == 0
    mixed = known[0][:2] + known[0][2:].swapcase()
    done = js_cli(bundle, "--rpc", regenerated.source, "--witness", mixed)
    assert (done.returncode, done.stdout) == (2, "")
    assert "is mixed-case but not its EIP-55 checksum" in done.stderr
