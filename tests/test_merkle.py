"""provledger.merkle against the reference: @openzeppelin/merkle-tree 1.0.8 run under node."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.ozoracle import oz_jobs
from provledger.errors import (
    EmptyMerkleTreeError,
    InputError,
    InvalidLeafError,
    LeafIndexError,
    LeafNotInTreeError,
    MalformedProofError,
    MalformedTreeDumpError,
    ProvledgerError,
    UnsupportedLeafTypeError,
)
from provledger.merkle import (
    BATCH_LEAF_TYPES,
    FOLDER_LEAF_TYPES,
    StandardMerkleTree,
    batch_leaf_hash,
    folder_leaf_hash,
    hash_pair,
    keccak256,
    leaf_hash,
    process_proof,
    verify,
)

Oracle = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]

# Hypothesis writes no example database (tests write only under tmp_path) and has no
# deadline (timings are meaningless on a loaded CI machine under xdist).
PROPERTY = settings(database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def h32(label: str) -> bytes:
    """A deterministic, distinct 32-byte value per label."""
    return hashlib.sha256(label.encode()).digest()


def hx(value: bytes) -> str:
    return "0x" + value.hex()


def hexes(values: Sequence[bytes]) -> list[str]:
    return [hx(value) for value in values]


FOLDER_PATHS = [
    "README.md",
    ".hidden",
    "données/été.csv",  # NFC
    "donne\u0301es/e\u0301te\u0301.csv",  # the same in NFD: a different string, a different leaf
    "数据/文件.parquet",
    "emoji/😀/🧪.bin",
    "",
    "x" * 31,
    "y" * 32,
    "z" * 33,
    "deep/" * 20 + "leaf.txt",
    'quote"and\\backslash',
]


def folder_values() -> list[tuple[str, bytes]]:
    return [(path, h32(f"file:{path}")) for path in FOLDER_PATHS]


# --- the JS oracle ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    """Run jobs through tests/helpers/ozmerkle.mjs (:func:`helpers.ozoracle.oz_jobs`); skip
    (fail under CI=true) without node."""
    oz_jobs([])  # skips here, once, if node or the npm package is missing
    return oz_jobs


def assert_same_as_js(tree: StandardMerkleTree, js: dict[str, Any]) -> None:
    assert "error" not in js, js.get("error")
    assert hx(tree.root) == js["root"]
    assert tree.leaf_count == js["length"]
    for index in range(tree.leaf_count):
        assert hexes(tree.proof(index)) == js["proofs"][index], f"proof of value {index}"
        assert hexes(tree.proof_for(tree.at(index))) == js["proofsByValue"][index]
        assert hx(tree.leaf_hash_at(index)) == js["leafHashes"][index]
    assert hexes(tree.tree) == js["dump"]["tree"]


# --- cross-checks against the JS library -------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 1000])
def test_bytes32_tree_matches_js(oracle: Oracle, count: int) -> None:
    hashes = [h32(f"batch:{count}:{i}") for i in range(count)]
    tree = StandardMerkleTree.batch(hashes)
    [js] = oracle([{"op": "build", "types": ["bytes32"], "values": [[h] for h in hexes(hashes)]}])
    assert_same_as_js(tree, js)
    # The whole dump, values included, is byte-for-byte what the JS library writes.
    assert tree.dump() == js["dump"]


def test_single_leaf_tree_is_its_leaf_hash(oracle: Oracle) -> None:
    content = h32("only")
    tree = StandardMerkleTree.batch([content])
    [js] = oracle([{"op": "build", "types": ["bytes32"], "values": [[hx(content)]]}])
    assert_same_as_js(tree, js)
    assert tree.root == batch_leaf_hash(content) == keccak256(keccak256(content))
    assert tree.proof(0) == ()
    assert verify(tree.root, batch_leaf_hash(content), ())


def test_folder_tree_matches_js_with_non_ascii_paths(oracle: Oracle) -> None:
    values = folder_values()
    tree = StandardMerkleTree.folder(values)
    [js] = oracle(
        [{"op": "build", "types": ["string", "bytes32"], "values": [[p, hx(h)] for p, h in values]}]
    )
    assert_same_as_js(tree, js)
    assert tree.dump() == js["dump"]


def test_folder_leaf_encoding_matches_js_for_every_string_length(oracle: Oracle) -> None:
    # The (string, bytes32) leaf is encoded by hand; lengths around the 32-byte padding
    # boundary and multi-byte UTF-8 are where a hand encoder goes wrong.
    strings = ["a" * n for n in (0, 1, 31, 32, 33, 63, 64, 65, 100)] + ["é" * 16, "😀" * 8, "\x00"]
    content = h32("content")
    results = oracle(
        [
            {"op": "leafHash", "types": ["string", "bytes32"], "value": [s, hx(content)]}
            for s in strings
        ]
    )
    for text, js in zip(strings, results, strict=True):
        assert hx(folder_leaf_hash(text, content)) == js["leafHash"], text


def test_generic_leaf_types_match_js(oracle: Oracle) -> None:
    # Any other encoding goes through eth_abi.encode; values as the JS side would write them.
    values = [
        ["0x" + "ab" * 20, "1000"],
        ["0x00000000000000000000000000000000000000fF", "0x10"],
        ["0x" + "01" * 20, str(2**256 - 1)],
    ]
    tree = StandardMerkleTree.of(values, ["address", "uint256"])
    [built, loaded] = oracle(
        [
            {"op": "build", "types": ["address", "uint256"], "values": values},
            {"op": "load", "dump": tree.dump()},
        ]
    )
    assert_same_as_js(tree, built)
    assert_same_as_js(tree, loaded)
    assert StandardMerkleTree.load(built["dump"]) == tree


def test_duplicate_values_match_js(oracle: Oracle) -> None:
    # Duplicates are separate leaves; looking a value up finds the last one, as in JS.
    a, b = h32("a"), h32("b")
    tree = StandardMerkleTree.batch([a, b, a, a])
    [js] = oracle(
        [{"op": "build", "types": ["bytes32"], "values": [[hx(v)] for v in (a, b, a, a)]}]
    )
    assert_same_as_js(tree, js)
    assert tree.index_of((a,)) == 3


def test_unsorted_tree_matches_js(oracle: Oracle) -> None:
    hashes = [h32(f"unsorted:{i}") for i in range(6)]
    tree = StandardMerkleTree.of([(h,) for h in hashes], BATCH_LEAF_TYPES, sort_leaves=False)
    [js] = oracle(
        [
            {
                "op": "build",
                "types": ["bytes32"],
                "values": [[h] for h in hexes(hashes)],
                "sortLeaves": False,
            }
        ]
    )
    assert_same_as_js(tree, js)
    assert tree.root != StandardMerkleTree.batch(hashes).root


@pytest.mark.parametrize("count", [1, 3, 1000])
def test_js_dump_loads_in_python_and_python_dump_loads_in_js(oracle: Oracle, count: int) -> None:
    batch = [[hx(h32(f"dump:{i}"))] for i in range(count)]
    folder = [[path, hx(digest)] for path, digest in folder_values()]
    js_batch, js_folder = oracle(
        [
            {"op": "build", "types": ["bytes32"], "values": batch},
            {"op": "build", "types": ["string", "bytes32"], "values": folder},
        ]
    )
    for js in (js_batch, js_folder):
        from_js = StandardMerkleTree.load(json.loads(json.dumps(js["dump"])))
        assert_same_as_js(from_js, js)
        [reloaded_in_js] = oracle([{"op": "load", "dump": json.loads(from_js.dumps())}])
        assert_same_as_js(from_js, reloaded_in_js)


def test_verdicts_on_tampered_proofs_match_js(oracle: Oracle) -> None:
    hashes = [h32(f"tamper:{i}") for i in range(11)]
    tree = StandardMerkleTree.batch(hashes)
    cases: list[tuple[bytes, bytes, tuple[bytes, ...]]] = []
    for index in range(tree.leaf_count):
        value, proof = hashes[index], tree.proof(index)
        cases.append((value, tree.root, proof))
        cases.append((value, tree.root, proof[:-1]))
        cases.append((value, tree.root, (*proof, tree.root)))
        cases.append((hashes[(index + 1) % len(hashes)], tree.root, proof))
        cases.append((value, tree.root, tuple(reversed(proof))))
    jobs = [
        {
            "op": "verify",
            "root": hx(root),
            "types": ["bytes32"],
            "value": [hx(value)],
            "proof": hexes(proof),
        }
        for value, root, proof in cases
    ]
    for (value, root, proof), js in zip(cases, oracle(jobs), strict=True):
        assert verify(root, batch_leaf_hash(value), proof) is js["valid"]


# --- layout and hashing, checked without node ------------------------------------------------


def test_keccak256_known_answers() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert keccak256(b"abc").hex() == (
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    )


def test_hash_pair_is_commutative_keccak_of_sorted_pair() -> None:
    low, high = b"\x01" * 32, b"\xfe" * 32
    assert hash_pair(low, high) == hash_pair(high, low) == keccak256(low + high)
    assert hash_pair(low, low) == keccak256(low + low)


def test_tree_layout_is_the_js_array_layout() -> None:
    hashes = [h32(f"layout:{i}") for i in range(5)]
    tree = StandardMerkleTree.batch(hashes)
    leaves = sorted(batch_leaf_hash(h) for h in hashes)
    # Sorted leaf hashes fill the array from the end: the smallest is the last node.
    assert list(tree.tree[4:]) == list(reversed(leaves))
    for i in range(4):
        assert tree.tree[i] == hash_pair(tree.tree[2 * i + 1], tree.tree[2 * i + 2])
    for index, value in enumerate(hashes):
        assert tree.tree[tree.tree_indices[index]] == batch_leaf_hash(value)
    # Five leaves: three sit one level higher than the other two, so proofs differ in length.
    assert sorted(len(tree.proof(i)) for i in range(5)) == [2, 2, 2, 3, 3]


def test_bytes32_leaf_fast_path_equals_abi_encode() -> None:
    for value in (bytes(32), b"\xff" * 32, h32("x")):
        expected = keccak256(keccak256(abi_encode(["bytes32"], [value])))
        assert batch_leaf_hash(value) == leaf_hash(["bytes32"], [value]) == expected


@PROPERTY
@given(path=st.text(max_size=200), digest=st.binary(min_size=32, max_size=32))
def test_folder_leaf_fast_path_equals_abi_encode(path: str, digest: bytes) -> None:
    expected = keccak256(keccak256(abi_encode(["string", "bytes32"], [path, digest])))
    assert folder_leaf_hash(path, digest) == expected


@PROPERTY
@given(content=st.binary(min_size=32, max_size=32))
def test_batch_leaf_fast_path_equals_abi_encode(content: bytes) -> None:
    assert batch_leaf_hash(content) == keccak256(keccak256(abi_encode(["bytes32"], [content])))


def test_values_may_be_given_as_hex_text() -> None:
    content = h32("hex")
    assert StandardMerkleTree.batch([hx(content)]).root == StandardMerkleTree.batch([content]).root
    assert StandardMerkleTree.batch([hx(content).upper().replace("0X", "0x")]).at(0) == (content,)


# --- tampered proofs ----------------------------------------------------------------------------


def flipped(node: bytes, position: int) -> bytes:
    return node[:position] + bytes([node[position] ^ 0x01]) + node[position + 1 :]


@pytest.mark.parametrize("count", [2, 3, 8, 13])
def test_tampered_proofs_fail(count: int) -> None:
    hashes = [h32(f"t:{count}:{i}") for i in range(count)]
    tree = StandardMerkleTree.batch(hashes)
    outsider = batch_leaf_hash(h32("not in the tree"))
    for index in range(count):
        leaf, proof = tree.leaf_hash_at(index), tree.proof(index)
        assert verify(tree.root, leaf, proof)
        for element in range(len(proof)):
            for position in (0, 17, 31):
                bad = list(proof)
                bad[element] = flipped(bad[element], position)
                assert not verify(tree.root, leaf, bad), (index, element, position)
            assert not verify(tree.root, leaf, proof[:element] + proof[element + 1 :])
        assert not verify(tree.root, flipped(leaf, 0), proof)
        assert not verify(tree.root, outsider, proof)
        assert not verify(tree.root, leaf, (*proof, h32("extra")))
        assert not verify(tree.root, leaf, (*proof, tree.root))
        assert not verify(tree.root, leaf, (h32("extra"), *proof))
        assert not verify(flipped(tree.root, 5), leaf, proof)
        # A leaf's raw value is not its leaf hash: the value itself never verifies.
        assert not verify(tree.root, hashes[index], proof)


def test_an_internal_node_is_not_a_leaf_of_any_value() -> None:
    # The proof of an internal node verifies (that is what a proof is), which is why leaves
    # are double-hashed: no value's leaf hash is an internal node.
    hashes = [h32(f"internal:{i}") for i in range(4)]
    tree = StandardMerkleTree.batch(hashes)
    internal = tree.tree[1]
    assert verify(tree.root, internal, (tree.tree[2],))
    assert internal not in {batch_leaf_hash(h) for h in hashes}


def test_malformed_proof_nodes_are_refused() -> None:
    tree = StandardMerkleTree.batch([h32("a"), h32("b")])
    leaf = tree.leaf_hash_at(0)
    with pytest.raises(
        MalformedProofError, match="proof element 0 must be exactly 32 bytes, got 31"
    ):
        verify(tree.root, leaf, [tree.proof(0)[0][:31]])
    with pytest.raises(MalformedProofError, match="leaf"):
        process_proof(leaf + b"\x00", tree.proof(0))
    with pytest.raises(MalformedProofError, match="root"):
        verify(tree.root[:-1], leaf, tree.proof(0))
    with pytest.raises(MalformedProofError, match="str"):
        verify(tree.root, leaf, [hx(tree.proof(0)[0])])  # type: ignore[list-item]


# --- properties ---------------------------------------------------------------------------------


distinct_hashes = st.lists(
    st.binary(min_size=32, max_size=32), min_size=1, max_size=40, unique=True
)


@PROPERTY
@given(hashes=distinct_hashes, outsider=st.binary(min_size=32, max_size=32))
def test_every_member_verifies_and_no_proof_verifies_a_non_member(
    hashes: list[bytes], outsider: bytes
) -> None:
    tree = StandardMerkleTree.batch(hashes)
    proofs = [tree.proof(index) for index in range(len(hashes))]
    for index, value in enumerate(hashes):
        assert verify(tree.root, batch_leaf_hash(value), proofs[index])
        assert tree.proof_for((value,)) == proofs[index]
    if outsider not in hashes:
        stranger = batch_leaf_hash(outsider)
        assert not any(verify(tree.root, stranger, proof) for proof in proofs)
        with pytest.raises(LeafNotInTreeError):
            tree.proof_for((outsider,))


@PROPERTY
@given(
    files=st.dictionaries(
        st.text(min_size=0, max_size=40),
        st.binary(min_size=32, max_size=32),
        min_size=1,
        max_size=25,
    ),
    outsider=st.text(max_size=40),
)
def test_folder_members_verify_and_outsiders_do_not(files: dict[str, bytes], outsider: str) -> None:
    tree = StandardMerkleTree.folder(files.items())
    for index, (path, digest) in enumerate(files.items()):
        proof = tree.proof(index)
        assert verify(tree.root, folder_leaf_hash(path, digest), proof)
        # The same bytes under another path, or another digest under this path, fail.
        assert not verify(tree.root, folder_leaf_hash(path + "/x", digest), proof)
        assert not verify(tree.root, folder_leaf_hash(path, flipped(digest, 3)), proof)
    if outsider not in files:
        stranger = folder_leaf_hash(outsider, next(iter(files.values())))
        assert not any(verify(tree.root, stranger, tree.proof(i)) for i in range(len(files)))


@PROPERTY
@given(hashes=distinct_hashes, data=st.data())
def test_root_does_not_depend_on_input_order(hashes: list[bytes], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(hashes))
    assert StandardMerkleTree.batch(shuffled).root == StandardMerkleTree.batch(hashes).root


@PROPERTY
@given(hashes=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=30))
def test_dump_load_round_trip(hashes: list[bytes]) -> None:
    tree = StandardMerkleTree.batch(hashes)
    assert StandardMerkleTree.loads(tree.dumps()) == tree
    assert StandardMerkleTree.load(tree.dump()) == tree


# --- errors -------------------------------------------------------------------------------------


def test_errors_are_input_errors() -> None:
    for error in (
        EmptyMerkleTreeError,
        InvalidLeafError,
        LeafIndexError,
        LeafNotInTreeError,
        MalformedProofError,
        MalformedTreeDumpError,
        UnsupportedLeafTypeError,
    ):
        assert issubclass(error, InputError)
        assert issubclass(error, ProvledgerError)


def test_empty_tree_is_refused() -> None:
    with pytest.raises(EmptyMerkleTreeError, match="at least one leaf"):
        StandardMerkleTree.batch([])
    with pytest.raises(EmptyMerkleTreeError):
        StandardMerkleTree.of(iter(()), FOLDER_LEAF_TYPES)


@pytest.mark.parametrize("index", [-1, 3, 10**9])
def test_index_out_of_range_names_the_index(index: int) -> None:
    tree = StandardMerkleTree.batch([h32("a"), h32("b"), h32("c")])
    with pytest.raises(LeafIndexError, match=rf"Leaf index {index} is out of range: .* 3 leaves"):
        tree.proof(index)
    with pytest.raises(LeafIndexError):
        tree.at(index)


def test_bool_is_not_an_index() -> None:
    tree = StandardMerkleTree.batch([h32("a"), h32("b")])
    with pytest.raises(LeafIndexError, match="True"):
        tree.proof(True)


def test_value_not_in_tree_names_the_value() -> None:
    tree = StandardMerkleTree.folder([("a.csv", h32("a")), ("b.csv", h32("b"))])
    with pytest.raises(LeafNotInTreeError, match=r'"c\.csv", "0x[0-9a-f]{64}"') as caught:
        tree.proof_for(("c.csv", h32("a")))
    assert hx(h32("a")) in str(caught.value)
    assert hx(tree.root) in str(caught.value)


@pytest.mark.parametrize(
    ("types", "value", "message"),
    [
        (["bytes32"], [b"\x01" * 31], "must be exactly 32 bytes, got 31"),
        (["bytes32"], ["0x01"], "must be exactly 32 bytes, got 1"),
        (["bytes32"], ["11" * 32], "'0x' followed by an even number of hex digits"),
        (["bytes32"], [42], "must be bytes or a 0x-hex string, got int 42"),
        (["bytes32"], [], "needs 1 items, got 0"),
        (["string", "bytes32"], ["a"], "needs 2 items, got 1"),
        (["string", "bytes32"], [b"a", h32("a")], "string must be str"),
        (["string", "bytes32"], ["\ud800", h32("a")], "not encodable as UTF-8"),
        (["string", "bytes32"], "ab", "must be a list"),
        (["uint8"], [256], "256 is out of range for uint8"),
        (["uint256"], [True], "must be an integer, got a bool"),
        (["address"], ["0x1234"], "address must be 0x and 40 hex digits"),
        (["bool"], [1], "bool must be True or False"),
    ],
)
def test_values_that_do_not_fit_are_refused_by_name(
    types: list[str], value: Any, message: str
) -> None:
    with pytest.raises(InvalidLeafError, match=message) as caught:
        StandardMerkleTree.of([value], types)
    assert caught.value.types == tuple(types)


@pytest.mark.parametrize(
    ("types", "message"),
    [
        ("bytes32", "pass the leaf types as a list"),
        ([], "at least one type"),
        (["uint"], "numerical suffix"),
        (["bytes33"], "maximum 32 bytes"),
        (["ufixed128x18"], "supported types are"),
        (["bytes32 "], "Parse error"),
        ([["bytes32"]], "a type must be a string"),
    ],
)
def test_unsupported_leaf_types_are_refused(types: Any, message: str) -> None:
    with pytest.raises(UnsupportedLeafTypeError, match=message):
        leaf_hash(types, [h32("a")])


def _dump() -> dict[str, Any]:
    return StandardMerkleTree.folder(folder_values()[:5]).dump()


def _set(path: Sequence[str | int], value: Any) -> dict[str, Any]:
    data = _dump()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _drop(key: str) -> dict[str, Any]:
    data = _dump()
    del data[key]
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object, got list"),
        (_set(["format"], "simple-v1"), 'unknown format "simple-v1"'),
        (_drop("leafEncoding"), "'leafEncoding' must be a list"),
        (_set(["leafEncoding"], ["bytes32", "nonsense"]), "'leafEncoding'.*nonsense"),
        (_set(["tree", 2], "0x1234"), r'tree\[2\] must be a 32-byte hex string, got "0x1234"'),
        (_set(["tree", 0], "0x" + "00" * 32), r"tree\[0\] 0x0{64} is not the hash of its children"),
        (_set(["values"], []), "'values' is empty"),
        (_set(["values", 1], {"value": ["a", "0x" + "00" * 32]}), r"values\[1\] must be an object"),
        (_set(["values", 1, "treeIndex"], 0), r"values\[1\]\.treeIndex 0 is not a leaf position"),
        (_set(["values", 1, "treeIndex"], "5"), r"values\[1\]\.treeIndex must be an integer"),
        (_set(["values", 1, "value"], ["a.csv"]), r"values\[1\]\.value: .*needs 2 items"),
        (_set(["values", 1, "value", 0], "tampered.csv"), r'values\[1\]\.value \["tampered\.csv"'),
    ],
)
def test_malformed_dumps_are_refused(data: Any, message: str) -> None:
    with pytest.raises(MalformedTreeDumpError, match=message):
        StandardMerkleTree.load(data)


def test_dump_with_a_missing_leaf_or_a_reused_index_is_refused() -> None:
    data = _dump()
    data["tree"] = data["tree"][:-1]
    with pytest.raises(MalformedTreeDumpError, match="5 values need a tree of 9 nodes, got 8"):
        StandardMerkleTree.load(data)
    data = _dump()
    data["values"][2]["treeIndex"] = data["values"][1]["treeIndex"]
    with pytest.raises(MalformedTreeDumpError, match="used by an earlier value"):
        StandardMerkleTree.load(data)


def test_dump_text_that_is_not_json_is_refused() -> None:
    with pytest.raises(MalformedTreeDumpError, match="not JSON"):
        StandardMerkleTree.loads("{not json")
