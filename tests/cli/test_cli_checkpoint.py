"""`provledger checkpoint deploy | run | list` and `provledger witness run` end to end: the
source chain is the CLI tests' deployed anvil chain, the target chain a second anvil (31338,
not a development chain: its accounts sign with keystore files). Bad input ends in one line and
a non-zero exit, never a traceback."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from cli.conftest import Cli, gateway_process
from helpers.checkpointing import (
    CHECKPOINTER,
    FINALITY,
    SOURCE_CHAIN_ID,
    STRANGER,
    TARGET_CHAIN_ID,
    WITNESS,
    mine,
    node_tree,
    write_keystore,
)
from helpers.processes import PROVLEDGER, clean_env
from helpers.required import start_anvil
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import AnvilNode, free_port
from provledger.chain.client import CheckpointClient
from provledger.chain.connection import DevChain, rpc_chain
from provledger.chain.events import CheckpointWitnessed
from provledger.chain.transactions import Sender, decode_receipt
from provledger.services.checkpoints import Checkpoint, CheckpointVenue, Cosignature


@dataclasses.dataclass
class Target:
    """The target chain, the keystores of the accounts that sign there, and a CLI whose
    settings name both chains."""

    node: AnvilNode
    keys: Path
    cli: Cli

    def key(self, account: Any) -> str:
        return str(self.keys / f"{account.address}.json")

    def client(self, address: str) -> CheckpointClient:
        return CheckpointClient(rpc_chain(self.node.url), to_checksum_address(address), None)

    def deploy(self) -> str:
        """A new Checkpoint contract, deployed through the CLI."""
        report = json.loads(
            self.cli.ok("checkpoint", "deploy", "--keystore", self.key(CHECKPOINTER), "--json")
        )
        return str(report["contract"])

    def with_contract(self, contract: str, **env: str) -> Cli:
        """The CLI with ``--contract`` (and ``env``) set in its environment."""
        extra = {"PROVLEDGER_CHECKPOINT_CONTRACT": contract, **env}
        return dataclasses.replace(self.cli, env={**self.cli.env, **extra})

    def mine_source(self, blocks: int) -> None:
        mine(self.cli.w3, blocks)


@pytest.fixture(scope="module")
def target(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    node = start_anvil(chain_id=TARGET_CHAIN_ID)
    try:
        keys = tmp_path_factory.mktemp("checkpoint-keys")
        for account in (CHECKPOINTER, WITNESS, STRANGER):
            write_keystore(keys, account)
        env = {
            **cli.env,
            "PROVLEDGER_CHECKPOINT_RPC_URL": node.url,
            "PROVLEDGER_FINALITY_DEPTH": str(FINALITY),
            "PROVLEDGER_PASSWORD_FILE": str(keys / "password"),
            "PROVLEDGER_CONFIRMATIONS": "0",
        }
        yield Target(node, keys, dataclasses.replace(cli, env=env))
    finally:
        node.stop()


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_deploy_prints_the_address_and_writes_nothing(target: Target) -> None:
    before = sorted(path.name for path in target.cli.home.rglob("*"))
    extra = dev_account(5).address
    report = json.loads(
        target.cli.ok(
            "checkpoint", "deploy", "--keystore", target.key(CHECKPOINTER),
            "--checkpointer", extra, "--json",
        )
    )  # fmt: skip
    client = target.client(report["contract"])
    assert report == {
        "chain_id": TARGET_CHAIN_ID,
        "contract": client.address,
        "admin": CHECKPOINTER.address,
        "checkpointers": [CHECKPOINTER.address, extra],
        "evm_version": "cancun",
    }
    assert client.is_checkpointer(CHECKPOINTER.address)
    assert client.is_checkpointer(extra)
    assert not client.is_checkpointer(WITNESS.address)
    assert sorted(path.name for path in target.cli.home.rglob("*")) == before

    text = target.cli.ok("checkpoint", "deploy", "--keystore", target.key(CHECKPOINTER))
    lines = text.splitlines()
    address = lines[0].rsplit(" ", 1)[-1]
    assert lines == [
        f"Checkpoint contract deployed on chain {TARGET_CHAIN_ID} at {address}",
        f"admin and checkpointer: {CHECKPOINTER.address}",
        f"export PROVLEDGER_CHECKPOINT_CONTRACT={address}",
    ]


def test_run_checkpoints_from_the_deployment_block_in_parts(target: Target) -> None:
    cli = target.with_contract(target.deploy())
    first = cli.deployment.block_number
    target.mine_source(FINALITY)
    final = int(cli.w3.eth.block_number) - FINALITY
    key = target.key(CHECKPOINTER)
    parts = -(-(final - first + 1) // 10)
    submitted = json_lines(
        cli.ok(
            "checkpoint", "run", "--once", "--keystore", key,
            "--every-blocks", "1", "--max-blocks", "10", "--json",
        )
    )  # fmt: skip
    assert len(submitted) == parts >= 2
    client = target.client(cli.env["PROVLEDGER_CHECKPOINT_CONTRACT"])
    start = first
    for sequence, item in enumerate(submitted, start=1):
        end = min(start + 9, final)
        tree = node_tree(cli.w3, start, end)
        receipt = client.w3.eth.get_transaction_receipt(HexBytes(item["transaction_hash"]))
        assert item == {
            "source_chain_id": SOURCE_CHAIN_ID,
            "sequence": sequence,
            "from_block": start,
            "to_block": end,
            "parent_hash": "0x" + bytes(cli.w3.eth.get_block(start - 1)["hash"]).hex(),
            "to_block_hash": "0x" + tree.hash_of(end).hex(),
            "root": "0x" + tree.root.hex(),
            "target_chain_id": TARGET_CHAIN_ID,
            "block_number": receipt["blockNumber"],
            "transaction_hash": item["transaction_hash"],
            "gas_used": receipt["gasUsed"],
            "remaining": final - end,
        }
        checkpoint = Checkpoint(SOURCE_CHAIN_ID, sequence, start, end, tree.hash_of(end), tree.root)
        assert client.checkpoint_of(SOURCE_CHAIN_ID, sequence) == checkpoint.commitment
        start = end + 1

    target.mine_source(3)
    shown = cli.ok("checkpoint", "run", "--once", "--keystore", key)
    assert shown == (
        f"nothing due: 3 of 256 final blocks are new from block {final + 1} (or one after 60 "
        f"minutes); the source chain is final up to block {final + 3}\n"
    )
    text = cli.ok("checkpoint", "run", "--once", "--keystore", key, "--every-blocks", "3")
    (line,) = text.splitlines()
    assert line.startswith(
        f"checkpoint {parts + 1} of chain {SOURCE_CHAIN_ID}: blocks {final + 1}..{final + 3}, "
        "root 0x"
    )
    assert f"in block {int(client.w3.eth.block_number)} of chain {TARGET_CHAIN_ID}" in line


def test_list_shows_the_checkpoints_of_the_source_chain(target: Target) -> None:
    cli = target.with_contract(target.deploy())
    key = target.key(CHECKPOINTER)
    target.mine_source(FINALITY + 4)
    every = ("--every-blocks", "1")
    cli.ok("checkpoint", "run", "--once", "--keystore", key, *every, "--start-block", "5")
    target.mine_source(4)
    cli.ok("checkpoint", "run", "--once", "--keystore", key, "--every-blocks", "1")

    rows = json.loads(cli.ok("checkpoint", "list", "--json"))
    assert [row["sequence"] for row in rows] == [1, 2]
    assert rows[0]["from_block"] == 5
    assert rows[1]["from_block"] == rows[0]["to_block"] + 1
    client = target.client(cli.env["PROVLEDGER_CHECKPOINT_CONTRACT"])
    for row in rows:
        block = client.w3.eth.get_block(row["block_number"])
        assert row["contract"] == client.address
        assert row["submitter"] == CHECKPOINTER.address
        assert row["time"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(block["timestamp"]))
    assert json.loads(cli.ok("checkpoint", "list", "--json", "--limit", "1")) == rows[1:]
    text = cli.ok("checkpoint", "list").splitlines()
    assert text == [
        f"#{row['sequence']}  blocks {row['from_block']}..{row['to_block']}  root {row['root']}  "
        f"target block {row['block_number']}  {row['time']}"
        for row in rows
    ]
    assert cli.ok("checkpoint", "list", "--source-chain-id", "1") == (
        f"no checkpoint of chain 1 on contract {client.address}\n"
    )


def test_the_witness_co_signs_posts_and_records_on_chain(target: Target, tmp_path: Path) -> None:
    contract = target.deploy()
    cli = target.with_contract(
        contract,
        PROVLEDGER_WITNESS_STATE=str(tmp_path / "witness.json"),
        PROVLEDGER_DATABASE_URL=str(tmp_path / "index.sqlite"),
        PROVLEDGER_CHECKPOINT_DATABASE_URL=f"sqlite:///{tmp_path / 'checkpoints.sqlite'}",
    )
    target.mine_source(FINALITY + 3)
    key = target.key(CHECKPOINTER)
    every = ("--every-blocks", "1")
    cli.ok("checkpoint", "run", "--once", "--keystore", key, *every, "--start-block", "3")
    target.mine_source(3)
    cli.ok("checkpoint", "run", "--once", "--keystore", key, "--every-blocks", "1")
    recorded = json.loads(cli.ok("checkpoint", "list", "--json"))
    venue = CheckpointVenue(TARGET_CHAIN_ID, to_checksum_address(contract))
    with gateway_process(cli) as gateway:
        shown = json_lines(
            cli.ok(
                "witness", "run", "--once", "--keystore", target.key(WITNESS), "--json",
                "--from-sequence", "1", "--gateway-url", gateway.url, "--on-chain",
            )
        )  # fmt: skip
        assert [item["sequence"] for item in shown] == [1, 2]
        for item, row in zip(shown, recorded, strict=True):
            checkpoint = Checkpoint(
                SOURCE_CHAIN_ID,
                row["sequence"],
                row["from_block"],
                row["to_block"],
                bytes(HexBytes(row["to_block_hash"])),
                bytes(HexBytes(row["root"])),
            )
            cosignature = Cosignature.parse(item)
            assert cosignature.holds(checkpoint, venue)
            assert item["witness"] == WITNESS.address
            assert item["posted"] is True
            receipt = target.client(contract).w3.eth.get_transaction_receipt(
                HexBytes(item["on_chain_transaction"])
            )
            events = decode_receipt(receipt, [contract], WITNESS.address).events
            assert events == (
                CheckpointWitnessed(SOURCE_CHAIN_ID, row["sequence"], WITNESS.address),
            )
            kept = requests.get(
                f"{gateway.url}/checkpoints/{row['sequence']}/cosignatures", timeout=10
            ).json()
            assert [(k["witness"], k["signature"]) for k in kept] == [
                (WITNESS.address, item["signature"])
            ]
            assert {key: item[key] for key in ("from_block", "to_block", "root")} == {
                key: row[key] for key in ("from_block", "to_block", "root")
            }
    state = json.loads((tmp_path / "witness.json").read_text())
    assert state["last"]["sequence"] == 2
    assert state["contract"] == venue.contract
    again = target.cli.run(
        "witness", "run", "--once", "--keystore", target.key(WITNESS),
        "--contract", contract, "--state", str(tmp_path / "witness.json"),
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert again.stdout == "nothing to co-sign: checkpoint 2 is the last recorded\n"


def test_a_gateway_that_refuses_or_is_down(target: Target, tmp_path: Path) -> None:
    contract, other = target.deploy(), target.deploy()
    state = tmp_path / "witness.json"
    cli = target.with_contract(
        contract,
        PROVLEDGER_WITNESS_STATE=str(state),
        PROVLEDGER_DATABASE_URL=str(tmp_path / "index.sqlite"),
        PROVLEDGER_CHECKPOINT_DATABASE_URL=f"sqlite:///{tmp_path / 'checkpoints.sqlite'}",
    )
    target.mine_source(FINALITY + 3)
    key = target.key(CHECKPOINTER)
    cli.ok("checkpoint", "run", "--once", "--keystore", key, "--every-blocks", "1")
    witness = ("witness", "run", "--once", "--keystore", target.key(WITNESS))

    down = f"http://127.0.0.1:{free_port()}"
    line = cli.fails(3, *witness, "--gateway-url", down)
    assert line == (
        f"error: cannot reach the gateway at {down}: connection refused or host unreachable"
    )
    assert json.loads(state.read_text())["last"] is None  # to be posted on the next run

    # a gateway of another contract: checkpoint 1 there is not this one (422 or 404)
    elsewhere = target.with_contract(
        other,
        PROVLEDGER_DATABASE_URL=str(tmp_path / "other.sqlite"),
        PROVLEDGER_CHECKPOINT_DATABASE_URL=f"sqlite:///{tmp_path / 'other-checkpoints.sqlite'}",
    )
    with gateway_process(elsewhere) as gateway:
        result = cli.run(*witness, "--gateway-url", gateway.url)
    assert result.exit_code == 0, result.output
    assert "; not posted" in result.stdout
    refused = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(refused) == 1
    assert refused[0].startswith(
        "error: co-signature of checkpoint 1 not posted: the gateway refused "
        "/checkpoints/1/cosignatures: "
    )
    assert json.loads(state.read_text())["last"]["sequence"] == 1


def test_a_rewritten_source_history_ends_the_checkpointer_with_exit_1(target: Target) -> None:
    cli = target.with_contract(target.deploy())
    source = DevChain(cli.w3)
    fork = source.snapshot()
    head = int(cli.w3.eth.block_number)
    key = target.key(CHECKPOINTER)
    target.mine_source(FINALITY + 4)
    start = ("checkpoint", "run", "--once", "--keystore", key, "--every-blocks", "1")
    (done,) = json_lines(cli.ok(*start, "--start-block", str(head + 1), "--json"))
    source.revert(fork)  # and another block at head + 1: a transfer in it
    Sender(cli.w3, STRANGER).send(CHECKPOINTER.address, b"", value=1)
    target.mine_source(FINALITY + 8)
    before = int(rpc_chain(target.node.url).eth.block_number)
    line = cli.fails(1, *start)
    changed = bytes(cli.w3.eth.get_block(done["to_block"])["hash"]).hex()
    assert line == (
        f"error: the history of chain {SOURCE_CHAIN_ID} was rewritten under checkpoint 1: it "
        f"recorded block {done['to_block']} with hash {done['to_block_hash']}, but the node's "
        f"block {done['to_block'] + 1} has parent 0x{changed}; nothing was submitted (a "
        "checkpoint only extends the history recorded before it)"
    )
    assert int(rpc_chain(target.node.url).eth.block_number) == before


def test_a_witness_whose_node_disagrees_refuses_with_exit_1(target: Target, tmp_path: Path) -> None:
    cli = target.with_contract(target.deploy(), PROVLEDGER_WITNESS_STATE=str(tmp_path / "w.json"))
    target.mine_source(FINALITY + 2)
    key = target.key(CHECKPOINTER)
    (done,) = json_lines(
        cli.ok("checkpoint", "run", "--once", "--keystore", key, "--every-blocks", "1", "--json")
    )
    other = start_anvil()  # the same chain id, another history: the witness's own node
    try:
        mine(rpc_chain(other.url), int(cli.w3.eth.block_number))
        theirs = bytes(rpc_chain(other.url).eth.get_block(done["to_block"])["hash"]).hex()
        witness = ("witness", "run", "--once", "--keystore", target.key(WITNESS))
        line = cli.fails(1, *witness, "--rpc-url", other.url)
    finally:
        other.stop()
    assert line == (
        f"error: refused to co-sign checkpoint 1: block {done['to_block']}'s hash on the "
        f"witness's node is 0x{theirs}, not {done['to_block_hash']} as the checkpoint states"
    )
    assert json.loads((tmp_path / "w.json").read_text())["last"] is None


def test_a_witness_state_unlike_the_chain_refuses_with_exit_1(
    target: Target, tmp_path: Path
) -> None:
    cli = target.with_contract(target.deploy(), PROVLEDGER_WITNESS_STATE=str(tmp_path / "w.json"))
    key = target.key(CHECKPOINTER)
    target.mine_source(FINALITY + 2)
    cli.ok("checkpoint", "run", "--once", "--keystore", key, "--every-blocks", "1")
    cli.ok("witness", "run", "--once", "--keystore", target.key(WITNESS))
    # the checkpoint 1 it remembers is not the target chain's checkpoint 1
    state = json.loads((tmp_path / "w.json").read_text())
    state["last"]["root"] = "0x" + "ab" * 32
    (tmp_path / "w.json").write_text(json.dumps(state))
    target.mine_source(2)
    cli.ok("checkpoint", "run", "--once", "--keystore", key, "--every-blocks", "1")
    line = cli.fails(1, "witness", "run", "--once", "--keystore", target.key(WITNESS))
    last = state["last"]
    assert line == (
        f"error: refused to co-sign checkpoint 1: the witness co-signed another checkpoint 1 "
        f"(blocks {last['from_block']}..{last['to_block']}, root 0x{'ab' * 32}): the target "
        "chain replaced it"
    )


def test_bad_input_is_one_line_and_a_non_zero_exit(target: Target, tmp_path: Path) -> None:
    contract = target.deploy()
    cli = target.with_contract(contract)
    key = ("--keystore", target.key(CHECKPOINTER))
    run = ("checkpoint", "run", "--once", *key)
    nowhere = f"http://127.0.0.1:{free_port()}"
    without_target = dataclasses.replace(
        cli, env={k: v for k, v in cli.env.items() if k != "PROVLEDGER_CHECKPOINT_RPC_URL"}
    )
    assert without_target.fails(2, *run) == (
        "error: this command needs the target chain's node: give --checkpoint-rpc-url or set "
        "PROVLEDGER_CHECKPOINT_RPC_URL"
    )
    assert target.cli.fails(2, "checkpoint", "list") == (
        "error: this command needs the Checkpoint contract: give --contract or set "
        "PROVLEDGER_CHECKPOINT_CONTRACT (`provledger checkpoint deploy` deploys one)"
    )
    assert cli.fails(2, *run, "--contract", "0x12345") == (
        "error: --contract '0x12345' is not an address (0x and 40 hex digits)"
    )
    assert cli.fails(2, *run, "--contract", STRANGER.address) == (
        f"error: {STRANGER.address} on chain {TARGET_CHAIN_ID} is not a Checkpoint contract: "
        "no contract there (check the address and the target node)"
    )
    assert cli.fails(3, *run, "--checkpoint-rpc-url", nowhere) == (
        f"error: cannot reach the chain at {nowhere}: connection refused or host unreachable"
    )
    typo = target.node.url.replace("http://", "htp://")
    assert cli.fails(3, *run, "--checkpoint-rpc-url", typo) == (
        f"error: cannot reach the chain at {typo}: InvalidSchema"
    )
    assert cli.fails(3, *run, "--rpc-url", nowhere) == (
        f"error: cannot reach the chain at {nowhere}: connection refused or host unreachable"
    )
    assert cli.fails(2, *run, "--checkpoint-rpc-url", cli.node.url) == (
        f"error: the target chain is the source chain (both are chain {SOURCE_CHAIN_ID}): "
        "checkpoints of a chain belong on another chain"
    )
    assert cli.fails(2, "checkpoint", "run", "--once", "--keystore", target.key(STRANGER)) == (
        f"error: {STRANGER.address} lacks CHECKPOINTER_ROLE on the Checkpoint contract "
        f"{contract}: its checkpoints would be refused with AccessControlUnauthorizedAccount; "
        "the contract's admin grants the role (the deployer holds it)"
    )
    # 31338 counts as a development chain (a second local anvil): the dev keys sign there
    assert cli.ok("checkpoint", "run", "--once", "--dev-account", "0").startswith("nothing due")
    assert cli.fails(2, "checkpoint", "run", "--once", "--every-blocks", "0", *key).startswith(
        "error: setting checkpoint_blocks (flag): "
    )
    # a witness state of another contract
    state = tmp_path / "w.json"
    witness = ("witness", "run", "--once", "--keystore", target.key(WITNESS), "--state", str(state))
    other = target.deploy()
    target.with_contract(other).ok(*witness)
    assert cli.fails(2, *witness) == (
        f"error: the witness state {state} is for Checkpoint contract {other}, not {contract}: "
        "a witness keeps one state per source chain and contract (give another --state file, "
        "or move this one aside to start anew)"
    )


def test_run_follows_until_stopped(target: Target) -> None:
    cli = target.with_contract(target.deploy())
    env = clean_env(**cli.env)
    first = str(int(cli.w3.eth.block_number) + 1)
    process = subprocess.Popen(
        [PROVLEDGER, "checkpoint", "run", "--keystore", target.key(CHECKPOINTER),
         "--every-blocks", "2", "--poll-seconds", "0.2", "--start-block", first],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    client = target.client(cli.env["PROVLEDGER_CHECKPOINT_CONTRACT"])
    target.mine_source(FINALITY)
    try:
        for _ in range(3):
            target.mine_source(2)
            sequence = client.head_of(SOURCE_CHAIN_ID).sequence
            deadline = time.monotonic() + 30
            while client.head_of(SOURCE_CHAIN_ID).sequence == sequence:
                assert time.monotonic() < deadline, "no checkpoint in 30 s"
                time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert client.head_of(SOURCE_CHAIN_ID).sequence >= 3
    assert len(stdout.splitlines()) == client.head_of(SOURCE_CHAIN_ID).sequence
    assert stderr.splitlines()[0].startswith(f"checkpointing chain {SOURCE_CHAIN_ID} on chain")
    assert stderr.splitlines()[-1] == "stopped"
