"""What the proof-bundle tests share: registrations of the kinds a bundle covers (relayed by a
signature, promoted from a batch leaf), and altering one field of a bundle."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, Final

from helpers.builders import registration, unique_content
from helpers.world import World
from provledger.chain.accounts import dev_account
from provledger.chain.transactions import Receipt
from provledger.merkle import StandardMerkleTree

BATCH_SIZE: Final = 5
PROMOTED_LEAF: Final = 2


def register_signed(world: World) -> Receipt:
    """A registration signed by dev account 5 and relayed by the world's relayer."""
    signed = world.alice.registry.sign(registration(), dev_account(5), deadline=world.now() + 3600)
    return world.relayer.registry.register_with_signature(signed)


def register_batch_leaf(world: World) -> tuple[Receipt, StandardMerkleTree, list[bytes]]:
    """A five-leaf batch anchored by alice, its third leaf promoted: the promote receipt, the
    tree and the leaves."""
    leaves = [unique_content() for _ in range(BATCH_SIZE)]
    tree = StandardMerkleTree.batch(leaves)
    world.alice.anchor.anchor(tree.root, BATCH_SIZE, "ipfs://bafy/batch-manifest.json")
    leaf = leaves[PROMOTED_LEAF]
    proof = tree.proof_for([leaf])
    receipt = world.alice.anchor.promote(tree.root, proof, registration(content_hash=leaf))
    return receipt, tree, leaves


def flip_hex(value: str) -> str:
    """The same hex with its last digit changed."""
    return value[:-1] + ("1" if value[-1] != "1" else "2")


def altered(bundle: dict[str, Any], path: str, change: Callable[[Any], Any]) -> dict[str, Any]:
    """``bundle`` with the value at the dotted ``path`` (list items by number) changed."""
    result = copy.deepcopy(bundle)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    assert key in node if isinstance(node, dict) else key < len(node), path
    node[key] = change(node[key])
    assert json.dumps(result) != json.dumps(bundle), f"altering {path} changed nothing"
    return result
