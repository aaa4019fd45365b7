"""Two anvil chains for the checkpoint tests: the source chain (31337) and the target chain
(31338), where each test deploys a Checkpoint contract of its own, so that tests share the
nodes but not their checkpoints.

Blocks are mined with anvil's ``anvil_mine`` (one request for any number of blocks); a source
history is rewritten by reverting a snapshot and mining a block that differs from the one it
replaces (a transfer in it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3

from helpers.required import start_anvil
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import AnvilNode
from provledger.chain.client import CheckpointClient
from provledger.chain.connection import DevChain, rpc_chain
from provledger.chain.deploy import deploy_checkpoint
from provledger.chain.transactions import Sender
from provledger.services.checkpoints import BlockHashTree, Checkpointer, Schedule

TARGET_CHAIN_ID: Final = 31338
SOURCE_CHAIN_ID: Final = 31337
#: The depth after which a source block counts as final in these tests.
FINALITY: Final = 2
#: Deploys each Checkpoint contract: its admin and first checkpointer.
CHECKPOINTER: Final = dev_account(0)
WITNESS: Final = dev_account(7)
#: An account without any role.
STRANGER: Final = dev_account(9)
PASSWORD: Final = "checkpoint tests"


@dataclass
class TwoChains:
    """The source and target nodes, and what the tests do with them."""

    source_node: AnvilNode
    target_node: AnvilNode

    def __post_init__(self) -> None:
        self.source = rpc_chain(self.source_node.url)
        self.target = rpc_chain(self.target_node.url)

    def deploy(self, account: LocalAccount = CHECKPOINTER) -> CheckpointClient:
        """A new Checkpoint contract on the target chain, its client signing as ``account``."""
        address = deploy_checkpoint(self.target, Sender(self.target, CHECKPOINTER))
        return self.client(address, account)

    def client(self, address: str, account: LocalAccount | None = None) -> CheckpointClient:
        """The client of the contract at ``address``, signing as ``account``."""
        sender = None if account is None else Sender(self.target, account)
        return CheckpointClient(self.target, to_checksum_address(address), sender)

    def checkpointer(self, client: CheckpointClient, **options: Any) -> Checkpointer:
        """A checkpointer of the source chain from the next block on (blocks of earlier tests
        are left out), due every 8 final blocks, at most 64 per checkpoint."""
        defaults: dict[str, Any] = {
            "schedule": Schedule(blocks=8, minutes=60, max_blocks=64),
            "finality_depth": FINALITY,
            "start_block": self.source_head() + 1,
        }
        return Checkpointer(self.source, client, **{**defaults, **options})

    def source_head(self) -> int:
        return int(self.source.eth.block_number)

    def mine_source(self, blocks: int) -> None:
        mine(self.source, blocks)

    def mine_target(self, blocks: int) -> None:
        mine(self.target, blocks)

    def hashes(self, first: int, last: int) -> list[bytes]:
        """The source node's hashes of blocks ``first..last``, one request each."""
        return node_hashes(self.source, first, last)

    def tree(self, first: int, last: int) -> BlockHashTree:
        """The block-hash tree of source blocks ``first..last`` as the node has them."""
        return node_tree(self.source, first, last)

    def rewrite_source(self, snapshot: Any, blocks: int) -> None:
        """Return the source chain to ``snapshot`` and mine ``blocks`` other blocks there (the
        first holds a transfer, so that it differs from the block it replaces)."""
        chain = DevChain(self.source)
        chain.revert(snapshot)
        Sender(self.source, STRANGER).send(CHECKPOINTER.address, b"", value=1)
        mine(self.source, blocks - 1)


def node_hashes(w3: Web3, first: int, last: int) -> list[bytes]:
    """The hashes of blocks ``first..last`` as the node ``w3`` has them, one request each (not
    through the checkpointer's batched reads, which the tests check against this)."""
    return [bytes(w3.eth.get_block(number)["hash"]) for number in range(first, last + 1)]


def node_tree(w3: Web3, first: int, last: int) -> BlockHashTree:
    """The block-hash tree of blocks ``first..last`` of the node ``w3``."""
    return BlockHashTree.of(first, node_hashes(w3, first, last))


def mine(w3: Web3, blocks: int) -> None:
    """Mine ``blocks`` empty blocks on an anvil node."""
    if blocks > 0:
        w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]


@contextmanager
def two_chains() -> Iterator[TwoChains]:
    """Two started anvil nodes, source and target, stopped at the end."""
    source = start_anvil()
    try:
        target = start_anvil(chain_id=TARGET_CHAIN_ID)
        try:
            yield TwoChains(source, target)
        finally:
            target.stop()
    finally:
        source.stop()


def write_keystore(folder: Path, account: LocalAccount) -> Path:
    """A keystore file of ``account`` in ``folder`` (password :data:`PASSWORD`, a cheap KDF so
    the tests do not wait on scrypt), and ``folder/password`` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{account.address}.json"
    encrypted = Account.encrypt(account.key, PASSWORD, kdf="pbkdf2", iterations=2)
    path.write_text(json.dumps(encrypted))
    (folder / "password").write_text(PASSWORD + "\n")
    return path
