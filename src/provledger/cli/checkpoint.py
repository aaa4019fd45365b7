"""Checkpoints of the chain's block hashes on a second (target) chain, and witnesses of them:
``provledger checkpoint deploy | run | list``; ``provledger witness run`` (:mod:`.witness`) shares
the options and helpers of this module.

The source chain is the usual node (``--rpc-url``); the target chain's node is
``--checkpoint-rpc-url`` (PROVLEDGER_CHECKPOINT_RPC_URL) and its Checkpoint contract ``--contract``
(PROVLEDGER_CHECKPOINT_CONTRACT). Transactions on the target chain are signed by the account
every signing command takes (``--keystore``, ``--dev-account`` on development chains).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Annotated, Any, Final

import typer
from eth_account.signers.local import LocalAccount
from web3 import Web3

from provledger.chain.artifacts import DEFAULT_EVM_VERSION, EVM_VERSIONS, check_evm_version
from provledger.chain.calls import CallLog
from provledger.chain.client import CheckpointClient
from provledger.chain.connection import rpc_chain
from provledger.chain.deploy import deploy_checkpoint
from provledger.chain.probe import choose_evm_version
from provledger.chain.transactions import Sender
from provledger.cli.arguments import parse_address
from provledger.cli.base import (
    CheckpointRpcOption,
    ExitCode,
    State,
    command_group,
    err,
    error_line,
    fail,
    out,
    run_until_signalled,
    settings_command,
)
from provledger.cli.session import (
    DeploymentsOption,
    DevAccountOption,
    KeystoreOption,
    PasswordFileOption,
    command_signer,
    require_node,
    required,
)
from provledger.config import Settings, mask_url
from provledger.services.checkpoints import (
    Checkpointer,
    CheckpointLedger,
    NotCheckpointContractError,
    PassReport,
    SameChainError,
    Schedule,
    SourceHistoryRewrittenError,
    Submitted,
    default_start_block,
    open_checkpoint,
)
from provledger.services.checkpoints.target import require_checkpointer

checkpoint_app = command_group(
    "checkpoint", "Checkpoints of this chain's block hashes on a second (target) chain."
)

#: Seconds between two passes of a following `checkpoint run` or `witness run`.
POLL_SECONDS: Final = 5.0

SourceOption = Annotated[
    str | None,
    typer.Option(
        "--rpc-url", help="JSON-RPC URL of the source chain's node [env PROVLEDGER_RPC_URL]."
    ),
]
ContractOption = Annotated[
    str | None,
    typer.Option(
        "--contract",
        help="The Checkpoint contract on the target chain [env PROVLEDGER_CHECKPOINT_CONTRACT].",
    ),
]
FinalityOption = Annotated[
    int | None,
    typer.Option(
        "--finality-depth",
        help="Blocks below the source head after which a block is final "
        "[env PROVLEDGER_FINALITY_DEPTH].",
    ),
]
MaxRangeOption = Annotated[
    int | None,
    typer.Option(
        "--max-range",
        help="Most blocks per eth_getLogs request on the target chain "
        "[env PROVLEDGER_MAX_BLOCK_RANGE].",
    ),
]
OnceOption = Annotated[
    bool, typer.Option("--once", help="One pass, then exit (else follow until stopped).")
]
PollOption = Annotated[
    float, typer.Option("--poll-seconds", min=0.01, help="Seconds between two passes.")
]
SIGNER_OPTIONS: Final[dict[str, Any]] = {
    "keystore": KeystoreOption,
    "password_file": PasswordFileOption,
    "dev_account": DevAccountOption,
}
TARGET_OPTIONS: Final[dict[str, Any]] = {
    "checkpoint_rpc_url": CheckpointRpcOption,
    "checkpoint_contract": ContractOption,
}


def target_url(settings: Settings) -> str:
    """The target chain's node URL (``--checkpoint-rpc-url``), required."""
    url = settings.checkpoint_rpc_url
    return required(url, "the target chain's node", "--checkpoint-rpc-url", "checkpoint_rpc_url")


def contract_address(settings: Settings) -> str:
    """The Checkpoint contract's address (``--contract``), required; checked with the target
    node's URL, before any node is asked."""
    target_url(settings)
    hint = " (`provledger checkpoint deploy` deploys one)"
    contract = required(
        settings.checkpoint_contract,
        "the Checkpoint contract",
        "--contract",
        "checkpoint_contract",
        hint,
    )
    return parse_address(contract, "--contract")


def target_chain(settings: Settings) -> Web3:
    """The target chain's node, checked to answer."""
    return rpc_chain(target_url(settings), timeout=settings.rpc_timeout)


def checkpoint_client(
    target: Web3, address: str, account: LocalAccount | None = None
) -> CheckpointClient:
    """The Checkpoint contract at ``address`` on ``target``, signing as ``account``; a revert
    of it is explained with the call it answers."""
    sender = None if account is None else Sender(target, account)
    client = open_checkpoint(target, address, sender)
    State.call_log = CallLog({client.address: "Checkpoint"}).attach(target)
    return client


@dataclass(frozen=True)
class Chains:
    """A command's two chains, its account on the target chain and the Checkpoint contract."""

    source: Web3
    source_id: int
    target_id: int
    account: LocalAccount
    client: CheckpointClient


def open_chains(settings: Settings, address: str, *, sign: bool = True) -> Chains:
    """The source and target chains' nodes, the command's account (for transactions on the
    target chain) and the Checkpoint contract at ``address``, signing as that account if
    ``sign``. The two nodes must serve two chains: the same one is refused with
    :class:`SameChainError` (after the contract is looked for, so that a node that answers
    only its chain id fails as a node, exit 3)."""
    source, target = source_chain(settings), target_chain(settings)
    source_id, target_id = int(source.eth.chain_id), int(target.eth.chain_id)
    account = command_signer(settings, target_id)
    try:
        client = checkpoint_client(target, address, account if sign else None)
    except NotCheckpointContractError:
        if source_id == target_id:
            raise SameChainError(source_id) from None
        raise
    if source_id == target_id:
        raise SameChainError(source_id)
    return Chains(source, source_id, target_id, account, client)


def source_chain(settings: Settings) -> Web3:
    """The source chain's node (``--rpc-url``), checked to answer."""
    return rpc_chain(require_node(settings), timeout=settings.rpc_timeout)


def line(text: str) -> None:
    """One line on standard output, as it is (no markup, no wrapping)."""
    out.print(text, highlight=False, soft_wrap=True, markup=False)


def note(text: str) -> None:
    """One line on standard error, as it is."""
    err.print(text, highlight=False, soft_wrap=True, markup=False)


def follow(work: Callable[[], bool], once: bool, poll: float) -> None:
    """Run ``work`` once (``once``) or every ``poll`` seconds until SIGINT or SIGTERM; ``work``
    returns whether to go on at once (more is ready). A node's failure ends a single pass
    (exit 3); a following run notes it and tries again at the next pass."""
    if once:
        work()
        return
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            try:
                again = work()
            except typer.Exit:
                raise
            except Exception as error:
                message, code = error_line(error)
                if code != ExitCode.CHAIN:
                    raise
                note(f"{message}; trying again in {poll:g} s")
                again = False
            if not again:
                stopping.wait(poll)

    run_until_signalled(loop, stopping.set)
    note("stopped")


@settings_command(
    checkpoint_app,
    "deploy",
    checkpoint_rpc_url=CheckpointRpcOption,
    **SIGNER_OPTIONS,
)
def checkpoint_deploy_command(
    settings: Settings,
    as_json: bool,
    checkpointer: Annotated[
        list[str] | None,
        typer.Option(
            "--checkpointer", help="Also grant CHECKPOINTER_ROLE to this address (repeatable)."
        ),
    ] = None,
    evm_version: Annotated[
        str,
        typer.Option(
            "--evm-version",
            help=f"Which build to deploy: {', '.join(EVM_VERSIONS)}, or auto: the newest the "
            "node runs.",
        ),
    ] = DEFAULT_EVM_VERSION,
) -> None:
    """Deploy a Checkpoint contract on the target chain, signed by the command's account (its
    admin and first checkpointer), and print its address: set it as
    PROVLEDGER_CHECKPOINT_CONTRACT. Nothing is written.

    Example: provledger checkpoint deploy --checkpoint-rpc-url http://127.0.0.1:8546 --keystore k
    """
    requested = evm_version if evm_version == "auto" else check_evm_version(evm_version)
    extra = [parse_address(item, "--checkpointer") for item in checkpointer or []]
    State.node_url = mask_url(target_url(settings))
    target = target_chain(settings)
    chain_id = int(target.eth.chain_id)
    chosen = choose_evm_version(target, State.node_url, requested)
    account = command_signer(settings, chain_id)
    address = deploy_checkpoint(
        target, Sender(target, account), checkpointers=extra, evm_version=chosen
    )
    if as_json:
        report = {
            "chain_id": chain_id,
            "contract": address,
            "admin": account.address,
            "checkpointers": [account.address, *extra],
            "evm_version": chosen,
        }
        line(json.dumps(report))
        return
    line(f"Checkpoint contract deployed on chain {chain_id} at {address}")
    line(f"admin and checkpointer: {account.address}")
    for item in extra:
        line(f"checkpointer: {item}")
    line(f"export PROVLEDGER_CHECKPOINT_CONTRACT={address}")


@settings_command(
    checkpoint_app,
    "run",
    rpc_url=SourceOption,
    **TARGET_OPTIONS,
    **SIGNER_OPTIONS,
    deployments_dir=DeploymentsOption,
    finality_depth=FinalityOption,
    checkpoint_blocks=Annotated[
        int | None,
        typer.Option(
            "--every-blocks",
            help="Submit once this many final blocks are new [env PROVLEDGER_CHECKPOINT_BLOCKS].",
        ),
    ],
    checkpoint_minutes=Annotated[
        float | None,
        typer.Option(
            "--every-minutes",
            help="... or once this many minutes passed since the last submission "
            "[env PROVLEDGER_CHECKPOINT_MINUTES].",
        ),
    ],
    checkpoint_max_blocks=Annotated[
        int | None,
        typer.Option(
            "--max-blocks",
            help="Most blocks one checkpoint covers [env PROVLEDGER_CHECKPOINT_MAX_BLOCKS].",
        ),
    ],
)
def checkpoint_run_command(
    settings: Settings,
    as_json: bool,
    once: OnceOption = False,
    start_block: Annotated[
        int | None,
        typer.Option(
            "--start-block",
            min=0,
            help="Where the first checkpoint starts [default: the registry's deployment block "
            "if its record is known, else 0].",
        ),
    ] = None,
    poll_seconds: PollOption = POLL_SECONDS,
) -> None:
    """Submit checkpoints of the source chain's final blocks to the Checkpoint contract on the
    target chain: every --every-blocks final blocks, or --every-minutes with one new. A
    rewritten source history under a checkpoint is refused (exit 1, nothing submitted).

    Example: provledger checkpoint run --checkpoint-rpc-url http://127.0.0.1:8546 --once
    """
    chains = open_chains(settings, contract_address(settings))
    source, source_id, target_id = chains.source, chains.source_id, chains.target_id
    account, client = chains.account, chains.client
    require_checkpointer(client, account.address)
    start = (
        default_start_block(settings.deployments_dir, source_id)
        if start_block is None
        else start_block
    )
    schedule = Schedule.of(settings)

    def show(done: Submitted) -> None:
        point, receipt = done.checkpoint, done.receipt
        if as_json:
            line(json.dumps(done.to_json()))
            return
        to_go = f"; {done.remaining:,} blocks to go" if done.remaining else ""
        line(
            f"checkpoint {point.sequence} of chain {source_id}: blocks {point.from_block}.."
            f"{point.to_block}, root 0x{point.root.hex()}, in block {receipt.block_number} of "
            f"chain {target_id} (transaction 0x{receipt.tx_hash.hex()}, gas "
            f"{receipt.gas_used:,}){to_go}"
        )

    checkpointer = Checkpointer(
        source,
        client,
        schedule=schedule,
        finality_depth=settings.finality_depth,
        start_block=start,
        on_submitted=show,
    )
    if not once:
        note(
            f"checkpointing chain {source_id} on chain {target_id} (contract {client.address}) "
            f"every {schedule.blocks} final blocks or {schedule.minutes:g} minutes; "
            "Ctrl-C stops"
        )

    def one_pass() -> bool:
        try:
            report = checkpointer.run_pass()
        except SourceHistoryRewrittenError as error:
            fail(str(error), ExitCode.NEGATIVE)
        if once and report.due is None:
            show_idle(report, schedule, as_json)
        return False

    follow(one_pass, once, poll_seconds)


def show_idle(report: PassReport, schedule: Schedule, as_json: bool) -> None:
    """What a pass that submitted nothing saw."""
    view = report.outlook
    if as_json:
        line(
            json.dumps(
                {
                    "due": False,
                    "sequence": view.head.sequence,
                    "next_block": view.next_block,
                    "final_block": view.final_block,
                    "new_blocks": view.new_blocks,
                }
            )
        )
        return
    final = (
        f"final up to block {view.final_block}"
        if view.final_block >= 0
        else "not final in any block yet (--finality-depth)"
    )
    line(
        f"nothing due: {view.new_blocks} of {schedule.blocks} final blocks are new from block "
        f"{view.next_block} (or one after {schedule.minutes:g} minutes); the source chain is "
        f"{final}"
    )


@settings_command(
    checkpoint_app,
    "list",
    rpc_url=SourceOption,
    **TARGET_OPTIONS,
    max_block_range=MaxRangeOption,
)
def checkpoint_list_command(
    settings: Settings,
    as_json: bool,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="The last N checkpoints.")
    ] = 20,
    chain_id: Annotated[
        int | None,
        typer.Option(
            "--source-chain-id", min=0, help="The source chain [default: the --rpc-url node's]."
        ),
    ] = None,
) -> None:
    """List the checkpoints recorded for the source chain, oldest first: sequence, blocks,
    root, the target chain's block and its time (ISO 8601).

    Example: provledger checkpoint list --checkpoint-rpc-url http://127.0.0.1:8546
    """
    address = contract_address(settings)
    source_id = int(source_chain(settings).eth.chain_id) if chain_id is None else chain_id
    client = checkpoint_client(target_chain(settings), address)
    ledger = CheckpointLedger(client.w3, client.address, max_range=settings.max_block_range)
    latest = list(islice(ledger.newest(source_id), limit))
    rows = [ledger.record_json(item) for item in reversed(latest)]
    if as_json:
        line(json.dumps(rows))
        return
    if not rows:
        line(f"no checkpoint of chain {source_id} on contract {client.address}")
        return
    for row in rows:
        line(
            f"#{row['sequence']}  blocks {row['from_block']}..{row['to_block']}  "
            f"root {row['root']}  target block {row['block_number']}  {row['time']}"
        )
