"""The target chain's checkpoints as the gateway and ``checkpoint list`` read them: read
backwards from the head, every one recorded, the one covering a block, and the reads stopping
at the contract's creation rather than at the target chain's genesis."""

from __future__ import annotations

from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from helpers.checkpointing import TwoChains
from provledger.chain.connection import rpc_chain
from provledger.services.checkpoints import CheckpointLedger

#: Blocks one eth_getLogs request spans in these tests.
RANGE = 10


def _counted(url: str) -> tuple[Web3, list[str]]:
    """A connection to ``url`` that notes the method of every request it sends."""
    w3 = rpc_chain(url)
    methods: list[str] = []
    send = w3.provider.make_request

    def noted(method: Any, params: Any) -> Any:
        methods.append(str(method))
        return send(method, params)

    w3.provider.make_request = noted  # type: ignore[method-assign]
    return w3, methods


def test_the_ledger_reads_back_to_the_contract_not_to_genesis(chains: TwoChains) -> None:
    chains.mine_target(60)  # an older target chain than the contract
    client = chains.deploy()
    source = int(chains.source.eth.chain_id)
    start = chains.source_head() + 1
    chains.mine_source(30)
    ranges = [(start, start + 9), (start + 10, start + 19), (start + 20, start + 29)]
    parent = bytes(chains.source.eth.get_block(start - 1)["hash"])
    for first, last in ranges:
        tree = chains.tree(first, last)
        client.submit(source, first, last, parent, tree.hash_of(last), tree.root)
        parent = tree.hash_of(last)
        chains.mine_target(12)
    w3, methods = _counted(chains.target_node.url)
    ledger = CheckpointLedger(w3, to_checksum_address(client.address), max_range=RANGE)

    recorded = ledger.recorded(source)
    assert [
        (r.checkpoint.sequence, r.checkpoint.from_block, r.checkpoint.to_block) for r in recorded
    ] == [(n + 1, first, last) for n, (first, last) in enumerate(ranges)]
    head = int(w3.eth.block_number)
    created = head - (head - recorded[0].block_number)  # the first checkpoint's block
    windows = (head - created) // RANGE + 1
    assert methods.count("eth_getLogs") <= windows + 1 < head // RANGE

    methods.clear()
    covering = ledger.covering(source, start + 15)
    assert covering is not None
    assert covering.checkpoint.sequence == 2
    assert ledger.covering(source, start + 30) is None  # not checkpointed yet
    assert ledger.covering(source, start - 1) is None  # before the first checkpoint
    assert ledger.get(source, 3) == recorded[2]
    assert ledger.get(source, 4) is None
