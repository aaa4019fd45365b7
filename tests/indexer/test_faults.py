"""Fault test: the indexer through a loopback proxy that injects node and gateway faults.

Acceptance (issue 3): a small loopback proxy in front of anvil injects errors, timeouts and
"too many results" replies on a fraction of requests; indexing completes with the store equal
to a fresh index. Also: how real nodes' range refusals are classified, a malformed reply is
retried then reported with its block range, and a node that goes away is waited for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from helpers.faultproxy import RANDOM_KINDS, FaultKind, FaultPlan, FaultProxy, RangeStyle
from helpers.indexing import differences, index
from helpers.required import start_anvil
from helpers.stores import database, engine_for
from helpers.workload import Mix, deploy_ledger, generate
from indexer.conftest import NewDatabase
from provledger.chain.deployments import Deployment
from provledger.indexer.fetcher import MALFORMED_ATTEMPTS
from provledger.indexer.scanner import (
    BatchReport,
    IndexerConfig,
    RunSummary,
    Scanner,
)
from provledger.indexer.source import (
    JsonRpcSource,
    RangeTooLargeError,
    RpcError,
    classify_log_error,
)
from provledger.store.index import IndexStore

#: The client's read timeout, and how long the proxy holds a "timeout" reply.
CLIENT_TIMEOUT = 0.3
HELD_FOR = 0.8
#: The proxy refuses eth_getLogs over more blocks than this.
RANGE_LIMIT = 6
#: A small mix: ~40 events a block, so a few thousand events span about a hundred blocks.
FAULT_MIX = Mix(
    batches=1,
    batch_size=10,
    registrations=3,
    transfers=4,
    licenses=2,
    metadata=1,
    appraisals=1,
    anchor_every=4,
    dispute_every=5,
    office_every=7,
    permit_every=9,
    participant_every=11,
)
#: Catch-up ranges start small and keep growing past the proxy's limit (their logs stay under
#: half the target), so refusals keep coming.
FAULT_CONFIG = IndexerConfig(
    confirmations=2, finality_depth=6, initial_range=2, max_range=256, target_logs=5_000
)


def quick_sleep(seconds: float) -> None:
    """The scanner's backoff, shortened so that retries stay quick."""
    time.sleep(min(seconds, 0.01))


@dataclass(frozen=True)
class Chain:
    """An anvil node carrying a deployment and a workload."""

    url: str
    w3: Web3
    deployment: Deployment
    events: int


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    """One anvil node with a few thousand events over about a hundred blocks."""
    node = start_anvil()
    try:
        w3 = node.web3()
        deployment = deploy_ledger(w3)
        summary = generate(node.url, deployment, 4_000, seed=7, mix=FAULT_MIX)
        assert summary.blocks >= 80
        yield Chain(node.url, w3, deployment, summary.events)
    finally:
        node.stop()


@pytest.fixture
def proxy(chain: Chain) -> Iterator[FaultProxy]:
    """A fault proxy in front of the chain's node (no faults until a plan is set)."""
    with FaultProxy(chain.url) as running:
        yield running


def scan(
    url: str,
    chain: Chain,
    database_url: str,
    *,
    config: IndexerConfig = FAULT_CONFIG,
    on_batch: Callable[[BatchReport], None] | None = None,
    notes: list[str] | None = None,
    sleep: Callable[[float], None] = quick_sleep,
) -> tuple[Scanner, RunSummary]:
    """Index the chain through ``url`` with a short client timeout, up to the head."""
    scanner = Scanner(
        JsonRpcSource(url, timeout=CLIENT_TIMEOUT),
        IndexStore(engine_for(database_url)),
        chain.deployment,
        config=config,
        on_batch=on_batch,
        on_note=None if notes is None else notes.append,
        sleep=sleep,
    )
    return scanner, scanner.run(once=True, wait_for_lock=False)


# ---------------------------------------------------------------- how refusals are classified

#: Real nodes' range refusals: (message, requested range, suggested end), by node.
RANGE_REFUSALS = [
    pytest.param(
        "query returned more than 10000 results",
        (1_000, 5_000),
        None,
        id="geth",
    ),
    pytest.param(
        "query returned more than 10000 results. Try with this block range [0x5B8D80, 0x5B8DBE].",
        (0x5B8D80, 0x5B8D80 + 10_000),
        0x5B8DBE,
        id="infura-suggested",
    ),
    pytest.param(
        "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block "
        "range and no limit on the response size, or you can request any block range with a "
        "cap of 10K logs in the response. Based on your parameters, this block range should "
        "work: [0x1a2b3c, 0x1a2f00]",
        (0x1A2B3C, 0x1A2B3C + 50_000),
        0x1A2F00,
        id="alchemy-suggested",
    ),
    pytest.param(
        "Query timeout exceeded. Consider reducing your block range. Based on your parameters "
        "and the response size limit, this block range should work: [0x42b950f, 0x435784f]",
        (0x42B950F, 0x42B950F + 2_000_000),
        0x435784F,
        id="alchemy-timeout",
    ),
    pytest.param(
        "eth_getLogs is limited to a 10,000 range",
        (0, 50_000),
        None,
        id="quicknode",
    ),
    pytest.param(
        "range 1000000 exceeds limit of 10000",
        (0, 999_999),
        None,
        id="infura-block-range-limit",
    ),
    pytest.param(
        "block range is larger than max block range, block range = 5120, max block range = 5000",
        (10_569_174, 10_574_293),
        None,
        id="geth-fork-max-block-range",
    ),
    pytest.param(
        "query exceeds max results 20000, retry with the range 25766988-25775072",
        (25_766_988, 25_800_000),
        25_775_072,
        id="reth-suggested",
    ),
]


@pytest.mark.parametrize(("message", "requested", "suggested"), RANGE_REFUSALS)
def test_real_range_refusals_are_range_errors(
    message: str, requested: tuple[int, int], suggested: int | None
) -> None:
    error = classify_log_error(message, requested)
    assert isinstance(error, RangeTooLargeError), f"not read as a range refusal: {message!r}"
    assert error.suggested_end == suggested
    assert error.block_range == requested
    assert f"for blocks {requested[0]}-{requested[1]}" in str(error)
    assert message in str(error)


@pytest.mark.parametrize(
    "message",
    [
        "execution reverted",
        "header not found",
        "internal error",
        "project ID request rate exceeded",
        "Your app has exceeded its compute units per second capacity.",
    ],
)
def test_other_node_errors_are_not_range_errors(message: str) -> None:
    error = classify_log_error(message, (100, 200))
    assert type(error) is RpcError
    assert error.block_range == (100, 200)
    assert str(error) == f"eth_getLogs for blocks 100-200: {message}"


@pytest.mark.parametrize(
    ("suggestion", "why"),
    [
        ("[0x64, 0xc8]", "the whole requested range again"),
        ("[0x64, 0x1f4]", "beyond the requested range"),
        ("[0x1, 0x32]", "ending before the requested start"),
    ],
)
def test_a_useless_suggested_range_is_ignored(suggestion: str, why: str) -> None:
    message = f"query returned more than 10000 results. Try with this block range {suggestion}."
    error = classify_log_error(message, (100, 200))
    assert isinstance(error, RangeTooLargeError)
    assert error.suggested_end is None, why


@pytest.mark.parametrize("style", list(RangeStyle), ids=str)
def test_each_nodes_refusal_over_http_is_a_range_error(style: RangeStyle) -> None:
    """The refusal as the node sends it (status, code, message, data) through the source."""
    plan = FaultPlan(range_limit=RANGE_LIMIT, range_styles=(style,))
    # The refusal comes from the proxy itself: no node behind it is needed.
    with FaultProxy("http://127.0.0.1:9", plan) as proxy:
        source = JsonRpcSource(proxy.url, timeout=5)
        with pytest.raises(RangeTooLargeError) as raised:
            source.logs(["0x" + "11" * 20], 1_000, 1_099)
    assert proxy.refusals == {style: 1}
    assert raised.value.block_range == (1_000, 1_099)
    suggests = style in (RangeStyle.INFURA, RangeStyle.ALCHEMY, RangeStyle.RETH)
    assert raised.value.suggested_end == (1_000 + RANGE_LIMIT - 1 if suggests else None)


class StuckError(AssertionError):
    """The scanner kept retrying instead of making progress."""


def give_up_after(retries: int) -> Callable[[float], None]:
    """A backoff that fails the test once the scanner has backed off ``retries`` times."""
    calls = [0]

    def sleep(_: float) -> None:
        calls[0] += 1
        if calls[0] > retries:
            raise StuckError(f"the scanner backed off {retries} times without getting through")

    return sleep


@pytest.mark.parametrize("style", [RangeStyle.INFURA_RANGE, RangeStyle.TENDERLY], ids=str)
@pytest.mark.timeout(60)
@pytest.mark.anvil
def test_a_node_with_a_block_range_limit_is_indexed(
    chain: Chain, proxy: FaultProxy, tmp_path: Path, style: RangeStyle
) -> None:
    """Every wide range is refused in this node's words; the scanner must narrow its ranges,
    not retry the same range for ever. (The other styles are part of the fault test.)"""
    proxy.set_plan(FaultPlan(range_limit=RANGE_LIMIT, range_styles=(style,)))
    with database("sqlite", tmp_path, style) as url:
        _, summary = scan(proxy.url, chain, url, sleep=give_up_after(30))
        with database("sqlite", tmp_path, "fresh") as fresh:
            index(chain.w3, chain.deployment, fresh)
            assert differences(url, fresh) == {}
    assert proxy.refusals[style] >= 1
    assert summary.last_block == chain.w3.eth.block_number


# ---------------------------------------------------------------- the fault test


@pytest.mark.anvil
def test_indexing_through_a_faulty_proxy_equals_a_fresh_index(
    chain: Chain, proxy: FaultProxy, new_database: NewDatabase
) -> None:
    # Each random kind once early on, spaced out, then about one request in seven faulted.
    script = [fault for kind in RANDOM_KINDS for fault in (*[None] * 6, kind)]
    plan = FaultPlan(
        seed=3,
        rpc_error=0.04,
        http_error=0.04,
        not_json=0.02,
        truncated_json=0.02,
        timeout=0.03,
        delay=HELD_FOR,
        script=script,
        range_limit=RANGE_LIMIT,
        range_styles=(
            RangeStyle.GETH,
            RangeStyle.INFURA,
            RangeStyle.ALCHEMY,
            RangeStyle.QUICKNODE,
            RangeStyle.RETH,
        ),
    )
    proxy.set_plan(plan)
    through_proxy = new_database("faulty")
    notes: list[str] = []
    _, summary = scan(proxy.url, chain, through_proxy, notes=notes)

    fresh = new_database("fresh")
    direct = index(chain.w3, chain.deployment, fresh)
    assert differences(through_proxy, fresh) == {}
    assert summary.events == direct.events
    assert summary.last_block == chain.w3.eth.block_number

    injected = dict(proxy.injected)
    for kind in FaultKind:
        assert injected.get(kind, 0) >= 1, f"no {kind} fault was injected: {injected}"
    assert set(proxy.refusals) == set(plan.range_styles), dict(proxy.refusals)
    # Every injected fault failed one request of the scanner, which counted it.
    assert summary.rpc_errors >= sum(injected.values()), (summary.rpc_errors, injected)
    assert proxy.forwarded > 0
    assert any("node error" in note for note in notes)


# ---------------------------------------------------------------- malformed replies


@pytest.mark.parametrize("kind", [FaultKind.NOT_JSON, FaultKind.TRUNCATED_JSON], ids=str)
@pytest.mark.timeout(60)
@pytest.mark.anvil
def test_a_malformed_logs_reply_is_retried_then_reported_with_its_range(
    chain: Chain, proxy: FaultProxy, tmp_path: Path, kind: FaultKind
) -> None:
    logs_only = frozenset({"eth_getLogs"})
    if kind is FaultKind.NOT_JSON:
        proxy.set_plan(FaultPlan(methods=logs_only, not_json=1.0))
    else:
        proxy.set_plan(FaultPlan(methods=logs_only, truncated_json=1.0))
    with database("sqlite", tmp_path) as url:
        scanner = Scanner(
            JsonRpcSource(proxy.url, timeout=5),
            IndexStore(engine_for(url)),
            chain.deployment,
            config=FAULT_CONFIG,
            sleep=quick_sleep,
        )
        with pytest.raises(RpcError) as raised:
            scanner.run(once=True, wait_for_lock=False)
        assert IndexStore(engine_for(url)).checkpoint() is None
    error = raised.value
    start = chain.deployment.block_number
    end = start + FAULT_CONFIG.initial_range - 1
    assert error.method == "eth_getLogs"
    assert error.block_range == (start, end)
    assert f"eth_getLogs for blocks {start}-{end}: malformed reply" in str(error)
    # Retried with the same range, then reported: one malformed reply per attempt.
    assert proxy.injected == {kind: MALFORMED_ATTEMPTS}
    assert proxy.methods["eth_getLogs"] == MALFORMED_ATTEMPTS
    assert scanner.summary.rpc_errors == MALFORMED_ATTEMPTS


@pytest.mark.timeout(60)
@pytest.mark.anvil
def test_transient_errors_before_one_malformed_reply_are_not_fatal(
    chain: Chain, proxy: FaultProxy, tmp_path: Path
) -> None:
    """A node restarting behind a gateway: 502s and errors, then one truncated reply, all for
    the same range. Only one reply was malformed: the scanner retries and completes."""
    burst = (
        FaultKind.HTTP_ERROR,
        FaultKind.RPC_ERROR,
        FaultKind.HTTP_ERROR,
        FaultKind.RPC_ERROR,
        FaultKind.TRUNCATED_JSON,
    )
    proxy.set_plan(FaultPlan(methods=frozenset({"eth_getLogs"}), script=burst, delay=HELD_FOR))
    with database("sqlite", tmp_path, "burst") as url:
        _, summary = scan(proxy.url, chain, url)
        with database("sqlite", tmp_path, "fresh") as fresh:
            index(chain.w3, chain.deployment, fresh)
            assert differences(url, fresh) == {}
    assert sum(proxy.injected.values()) == len(burst)
    assert summary.rpc_errors >= len(burst)
    assert summary.last_block == chain.w3.eth.block_number


# ---------------------------------------------------------------- a node that goes away

OUTAGE_SECONDS = 2.0


@pytest.mark.parametrize("mode", ["refuse", "503"])
@pytest.mark.timeout(90)
@pytest.mark.anvil
def test_a_node_that_goes_away_is_waited_for(
    chain: Chain, proxy: FaultProxy, tmp_path: Path, mode: str
) -> None:
    """The node vanishes for two seconds after the first batch; indexing then completes."""
    outage_over = threading.Event()
    went_down: list[float] = []

    def restore() -> None:
        proxy.come_up()
        outage_over.set()

    def on_batch(report: BatchReport) -> None:
        if not went_down:
            went_down.append(time.monotonic())
            proxy.go_down(mode)
            threading.Timer(OUTAGE_SECONDS, restore).start()

    def sleep(seconds: float) -> None:  # real but short waits: several retries per second
        time.sleep(min(seconds, 0.1))

    notes: list[str] = []
    config = IndexerConfig(confirmations=2, finality_depth=6, initial_range=4, max_range=8)
    with database("sqlite", tmp_path, "through-outage") as url:
        _, summary = scan(
            proxy.url, chain, url, config=config, on_batch=on_batch, notes=notes, sleep=sleep
        )
        finished = time.monotonic()
        assert outage_over.wait(timeout=10)
        with database("sqlite", tmp_path, "fresh") as fresh:
            index(chain.w3, chain.deployment, fresh)
            assert differences(url, fresh) == {}
    assert went_down, "no batch was written before the outage"
    assert finished - went_down[0] >= OUTAGE_SECONDS, "the run ended during the outage"
    assert summary.last_block == chain.w3.eth.block_number
    assert summary.rpc_errors >= 2
    expected = "connection failed" if mode == "refuse" else "HTTP 503"
    assert any(expected in note for note in notes), notes
    if mode == "503":
        assert proxy.unavailable >= 2
    assert summary.batches > 1


@pytest.mark.anvil
def test_the_proxy_forwards_untouched_without_a_plan(chain: Chain, proxy: FaultProxy) -> None:
    source = JsonRpcSource(proxy.url, timeout=5)
    direct = JsonRpcSource(chain.url, timeout=5)
    start = chain.deployment.block_number
    assert source.chain_id() == direct.chain_id() == 31337
    assert source.logs(chain.deployment.addresses, start, start + 20) == direct.logs(
        chain.deployment.addresses, start, start + 20
    )
    assert source.headers([start, start + 1]) == direct.headers([start, start + 1])
    assert proxy.total_injected() == 0
    assert proxy.forwarded == 3  # chain id, logs, one batch of headers
