"""A quick guard on the gas budgets (``make gas`` measures them fully, 100 samples each)."""

from __future__ import annotations

import pytest

from helpers.tokens import harness_artifact
from provledger.chain.anvil import AnvilNode
from provledger.chain.gas import BUDGETS, GasBench, budget_lines


@pytest.mark.anvil
def test_budgets_hold_on_a_few_samples() -> None:
    token_code = bytes.fromhex(harness_artifact("TestToken")["bytecode"].removeprefix("0x"))
    with AnvilNode() as node:
        bench = GasBench(node.web3(), token_code, samples=5)
        bench.measure_budgeted()
        bench.measure_others()
    lines = budget_lines(bench)
    assert {line.operation for line in lines} >= set(BUDGETS)
    over = [line.render() for line in lines if not line.ok]
    assert over == []
    assert all(line.render().endswith(" ok") for line in lines)
