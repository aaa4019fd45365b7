"""``provledger witness run``: co-sign each checkpoint of the source chain that the witness's
own node agrees with, and publish the co-signatures (printed, posted to a gateway, recorded on
the target chain). The options and helpers are those of :mod:`.checkpoint`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from provledger.cli.base import ExitCode, command_group, fail, settings_command
from provledger.cli.checkpoint import (
    POLL_SECONDS,
    SIGNER_OPTIONS,
    TARGET_OPTIONS,
    FinalityOption,
    MaxRangeOption,
    OnceOption,
    PollOption,
    SourceOption,
    contract_address,
    follow,
    line,
    note,
    open_chains,
)
from provledger.cli.gateway import GatewayRefusedError, gateway_request
from provledger.config import Settings
from provledger.services.checkpoints.cosign import CheckpointVenue, Cosignature
from provledger.services.checkpoints.target import CheckpointRecord
from provledger.services.checkpoints.witness import CheckpointRefusedError, Witness

witness_app = command_group(
    "witness", "Co-sign the checkpoints of a source chain, checked against your own node."
)

StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="The witness's state file: the last checkpoint it co-signed "
        "[env PROVLEDGER_WITNESS_STATE].",
    ),
]
GatewayUrlOption = Annotated[
    str | None,
    typer.Option(
        "--gateway-url",
        "--gateway",
        help="Post each co-signature to this gateway [env PROVLEDGER_GATEWAY_URL].",
    ),
]


def cosignature_path(sequence: int) -> str:
    """Where a gateway takes the co-signatures of checkpoint ``sequence``."""
    return f"/checkpoints/{sequence}/cosignatures"


def post_cosignature(gateway: str, record: CheckpointRecord, cosignature: Cosignature) -> bool:
    """POST ``cosignature`` to ``gateway``; False if the gateway refused it (4xx: told on
    standard error). No answer or a 5xx raises
    :class:`~provledger.cli.gateway.GatewayUnavailableError`: the checkpoint is reviewed and
    posted again on the next pass."""
    path = cosignature_path(record.checkpoint.sequence)
    try:
        gateway_request("POST", gateway, path, json=cosignature.to_json()).close()
    except GatewayRefusedError as error:
        note(f"error: co-signature of checkpoint {record.checkpoint.sequence} not posted: {error}")
        return False
    return True


@settings_command(
    witness_app,
    "run",
    rpc_url=SourceOption,
    **TARGET_OPTIONS,
    **SIGNER_OPTIONS,
    witness_state=StateOption,
    gateway_url=GatewayUrlOption,
    finality_depth=FinalityOption,
    max_block_range=MaxRangeOption,
)
def witness_run_command(
    settings: Settings,
    as_json: bool,
    once: OnceOption = False,
    on_chain: Annotated[
        bool,
        typer.Option(
            "--on-chain",
            help="Also record each co-signature on the target chain (Checkpoint.witness), "
            "paying its gas.",
        ),
    ] = False,
    from_sequence: Annotated[
        int | None,
        typer.Option(
            "--from-sequence",
            min=1,
            help="Without a state: start from this checkpoint [default: the latest when it "
            "starts].",
        ),
    ] = None,
    target_depth: Annotated[
        int | None,
        typer.Option(
            "--target-depth",
            min=0,
            help="Review a checkpoint once its log is this many blocks deep on the target "
            "chain [default: PROVLEDGER_CONFIRMATIONS].",
        ),
    ] = None,
    poll_seconds: PollOption = POLL_SECONDS,
) -> None:
    """Co-sign each checkpoint of the source chain that your own node agrees with (EIP-712,
    with the command's key), in order, and publish the co-signatures. A checkpoint that
    contradicts the node or the history co-signed before is refused (exit 1). Without a state
    the first checkpoint seen is trusted as the starting point (trust on first use).

    Example: provledger witness run --checkpoint-rpc-url http://127.0.0.1:8546 --gateway-url URL
    """
    chains = open_chains(settings, contract_address(settings), sign=on_chain)
    source, source_id, target_id = chains.source, chains.source_id, chains.target_id
    account, client = chains.account, chains.client
    gateway = None if settings.gateway_url is None else settings.gateway_url.rstrip("/")
    witness = Witness(
        source,
        client,
        account,
        state_path=settings.witness_state,
        finality_depth=settings.finality_depth,
        target_depth=settings.confirmations if target_depth is None else target_depth,
        max_range=settings.max_block_range,
        from_sequence=from_sequence,
    )
    last = witness.last
    history = (
        f"continuing after checkpoint {last.sequence}"
        if last is not None
        else "no history yet: the first checkpoint seen is trusted as the starting point"
    )
    if not once:
        note(
            f"witnessing chain {source_id} on chain {target_id} (contract {client.address}) as "
            f"{account.address}; state {settings.witness_state}: {history}; Ctrl-C stops"
        )

    def publish(record: CheckpointRecord, cosignature: Cosignature) -> None:
        point = record.checkpoint
        posted = None if gateway is None else post_cosignature(gateway, record, cosignature)
        transaction = None
        if on_chain:
            receipt = client.witness(point.source_chain_id, point.sequence, point.commitment)
            transaction = "0x" + receipt.tx_hash.hex()
        if as_json:
            line(
                json.dumps(
                    cosignature_json(record, cosignature, witness.venue, posted, transaction)
                )
            )
            return
        where = "".join(
            (
                "" if posted is None else "; posted" if posted else "; not posted",
                "" if transaction is None else f"; on chain in transaction {transaction}",
            )
        )
        line(
            f"co-signed checkpoint {point.sequence} of chain {point.source_chain_id} (blocks "
            f"{point.from_block}..{point.to_block}) as {cosignature.witness}: "
            f"0x{cosignature.signature.hex()}{where}"
        )

    told: set[int] = set()

    def one_pass() -> bool:
        try:
            report = witness.step(publish)
        except CheckpointRefusedError as error:
            fail(str(error), ExitCode.NEGATIVE)
        waiting = report.waiting
        if waiting is not None and waiting.sequence not in told:
            told.add(waiting.sequence)
            note(str(waiting))
        if once and not report.cosigned and waiting is None:
            last = witness.last
            deep = (
                f" at {witness.target_depth} block(s) deep on the target chain (--target-depth)"
                if witness.target_depth
                else ""
            )
            line(
                "nothing to co-sign: "
                + (
                    f"checkpoint {last.sequence} is the last recorded{deep}"
                    if last is not None
                    else f"no checkpoint of chain {source_id} is recorded yet{deep}"
                )
            )
        return False

    follow(one_pass, once, poll_seconds)


def cosignature_json(
    record: CheckpointRecord,
    cosignature: Cosignature,
    venue: CheckpointVenue,
    posted: bool | None,
    transaction: str | None,
) -> dict[str, Any]:
    """A co-signature as ``witness run --json`` prints it (one JSON line each)."""
    point = record.checkpoint
    return {
        **point.to_json(),
        "target_chain_id": venue.chain_id,
        "contract": venue.contract,
        "block_number": record.block_number,
        **cosignature.to_json(),
        "posted": posted,
        "on_chain_transaction": transaction,
    }
