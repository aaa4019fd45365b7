"""The verify page's check of a presentation agrees with Python: static/merkle.js's canonical JSON,
value hashes, field leaves, multiproof roots and field-name rule (run under node) against
provledger.commitments and provledger.merkle, for awkward values and names and for those both must
refuse."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpers.multiproofs import Parts, document_of, malformed, present, random_parts, subsets
from helpers.required import unavailable
from provledger.commitments import FIELD_LEAF_TYPES, canonical_json, value_hash
from provledger.commitments.fields import read_name
from provledger.merkle import leaf_hash
from provledger.merkle.multiproof import InvalidMultiproofError, process_multiproof
from provledger.params import InvalidParameterError

MERKLE = Path(__file__).resolve().parents[2] / "src/provledger/api/static/merkle.js"

#: Reads ``{"values": [...], "leaves": [...], "proofs": [...], "names": [...]}`` (names may be
#: left out) and answers in kind; every value arrives as JSON text and is parsed as the page
#: parses a dropped file.
RUNNER = """
const m = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const bytes = (hex) => Uint8Array.from(Buffer.from(hex, "hex"));
const attempt = (work) => {
  try { return work(); } catch (error) { return { error: error.message }; }
};
process.stdout.write(JSON.stringify({
  values: input.values.map((text) => attempt(() => {
    const value = JSON.parse(text);
    return { json: m.canonicalJson(value), hash: m.toHex(m.valueHash(value)) };
  })),
  leaves: input.leaves.map(([name, salt, text]) => attempt(
    () => m.toHex(m.fieldLeaf(name, bytes(salt), m.valueHash(JSON.parse(text))))
  )),
  proofs: input.proofs.map(([leaves, proof, flags]) => attempt(
    () => m.toHex(m.processMultiProof(leaves.map(bytes), proof.map(bytes), flags))
  )),
  names: (input.names || []).map((name) => m.fieldNameFault(name)),
}));
"""

#: Awkward values, as the JSON text a presentation file holds them in.
TRICKY: list[str] = [
    json.dumps(value)
    for value in [
        "",
        [],
        {},
        None,
        True,
        False,
        0,
        -1,
        -9007199254740991,
        9007199254740991,
        "é and e\u0301 (not normalised)",
        "数据 / données / данные",
        "😀🧪 astral",
        "\u2028\u2029 line and paragraph separators",
        "".join(chr(code) for code in range(0x80)),  # every control character and ASCII
        "".join(chr(code) for code in range(0x80, 0x800, 7)),
        'quote " backslash \\ slash /',
        "x" * 5000,
        {"b": 1, "a": {"d": [], "c": {}}, "": "empty key"},
        {"😀": 1, "\uffff": 2, "\ue000": 3, "z": 4, "é": 5, "e": 6, "E": 7, "ee": 8},
        [{"b": [None, {"y": -2, "x": [""]}], "a": True}, [], [[[]]]],
        {"nested": {"deeper": {"deepest": ["ok", {"k": "v"}]}}},
        [[[[[[[[[[[[[[[[[[[[[["twenty-two levels"]]]]]]]]]]]]]]]]]]]]]],
    ]
] + ["-0", '{"a": 1, "a": 2}']

#: Values both refuse, as JSON text (``1.0`` and ``1e3`` are not here: a browser's JSON.parse
#: cannot tell them from integers).
REFUSED: list[str] = [
    "1.5",
    "-0.25",
    "1e300",
    "9007199254740992",
    "-9007199254740992",
    "123456789012345678901234567890",
    '"\\ud800 lone high surrogate"',
    '"lone low surrogate \\udc00"',
    '{"\\udbff": "a key that is no text"}',
    "[1, [2, 3.5]]",
]

NAMES = ["title", "é", "数据", "n" * 64, "😀", "a b", "Title"]


def _run(payload: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    done = subprocess.run(
        [node, "-e", RUNNER, str(MERKLE)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _python(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return {"json": canonical_json(value).decode(), "hash": value_hash(value).hex()}


def test_canonical_json_and_value_hashes_match_python() -> None:
    answers = _run({"values": TRICKY, "leaves": [], "proofs": []})["values"]
    assert answers == [_python(text) for text in TRICKY]
    by_text = dict(zip(TRICKY, answers, strict=True))
    assert by_text["-0"]["json"] == "0"
    assert by_text['{"a": 1, "a": 2}']["json"] == '{"a":2}'


def test_values_python_refuses_the_page_refuses() -> None:
    for text in REFUSED:
        with pytest.raises(InvalidParameterError):
            canonical_json(json.loads(text))
    answers = _run({"values": REFUSED, "leaves": [], "proofs": []})["values"]
    assert [sorted(answer) for answer in answers] == [["error"]] * len(REFUSED), answers
    assert "fraction" in answers[0]["error"]
    assert "2^53 - 1" in answers[3]["error"]
    assert "not valid Unicode" in answers[6]["error"]


def test_field_leaves_match_python() -> None:
    rng = random.Random(2101)
    cases = [(NAMES[i % len(NAMES)], rng.randbytes(32), text) for i, text in enumerate(TRICKY)]
    answers = _run(
        {
            "values": [],
            "leaves": [[name, salt.hex(), text] for name, salt, text in cases],
            "proofs": [],
        }
    )["leaves"]
    expected = [
        leaf_hash(FIELD_LEAF_TYPES, (name, salt, value_hash(json.loads(text)))).hex()
        for name, salt, text in cases
    ]
    assert answers == expected


def _outcome(parts: Parts) -> str | dict[str, str]:
    try:
        return process_multiproof(*parts).hex()
    except InvalidMultiproofError:
        return {"error": "refused"}


def test_roots_from_multiproofs_match_python() -> None:
    """Presentations of documents of every size give their root in the page; broken multiproofs
    are refused where Python refuses them."""
    expected: list[str | dict[str, str]] = []
    proofs: list[Parts] = []
    for size in (1, 2, 3, 7, 16, 33):
        document = document_of(size)
        for indices in subsets(size).values():
            shown = present(document, indices)
            leaves = [leaf_hash(FIELD_LEAF_TYPES, field.leaf) for field in shown.fields]
            proofs.append((leaves, list(shown.proof), list(shown.flags)))
            expected.append(document.root.hex())
    rng = random.Random(2102)
    broken = [*malformed(document_of(7)).values(), *(random_parts(rng) for _ in range(200))]
    proofs.extend(broken)
    expected.extend(_outcome(parts) for parts in broken)
    answers = _run(
        {
            "values": [],
            "leaves": [],
            "proofs": [
                [[leaf.hex() for leaf in leaves], [node.hex() for node in proof], flags]
                for leaves, proof, flags in proofs
            ],
        }
    )["proofs"]
    refused = [{"error": "refused"} if isinstance(answer, dict) else answer for answer in answers]
    assert refused == expected
    assert sum(isinstance(answer, dict) for answer in answers) > 20


#: Field names both take, and names both refuse (none starts with "@": whether a reserved name may
#: stand where it stands is the reader's to say, not the rule's).
GOOD_NAMES = [*NAMES, "caf\u00e9", "a\u00a0b", "\u0915\u094d\u0937", "x" * 63 + "😀"]
BAD_NAMES = [
    "",
    "n" * 65,
    "cafe\u0301",  # not NFC
    "\u212b",  # the Angstrom sign: NFC makes it another character
    " title",
    "title ",
    "title\u00a0",
    "\u3000title",
    "a\tb",
    "a\nb",
    "\u0085",
    "a\u200bb",  # zero-width space (a format character)
    "a\u200eb",  # left-to-right mark
    "\u202eevil",  # right-to-left override
    "\ufefftitle",
    "a\u2028b",
    "a\u2029b",
    "\ue000",  # private use
    "\U000e0041",  # a tag character
    "a\u0378",  # unassigned
    "\ud800",  # a lone surrogate
]


def _python_takes(name: str) -> bool:
    try:
        read_name(name, "name")
    except InvalidParameterError:
        return False
    return True


def test_the_field_name_rule_matches_python() -> None:
    assert [_python_takes(name) for name in GOOD_NAMES] == [True] * len(GOOD_NAMES)
    assert [_python_takes(name) for name in BAD_NAMES] == [False] * len(BAD_NAMES)
    answers = _run({"values": [], "leaves": [], "proofs": [], "names": GOOD_NAMES + BAD_NAMES})
    faults = answers["names"]
    assert faults[: len(GOOD_NAMES)] == [None] * len(GOOD_NAMES)
    taken = [
        name
        for name, fault in zip(BAD_NAMES, faults[len(GOOD_NAMES) :], strict=True)
        if not isinstance(fault, str)
    ]
    assert taken == []
