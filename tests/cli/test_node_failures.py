"""Every node or network failure in any command: one line, exit 3, never a traceback.

A loopback server (:mod:`helpers.rpcserver`) plays a node that fails in one way at a time
(:data:`SHAPES`), and every command that talks to a node (:data:`NODE_COMMANDS`, with the
arguments that take it as far as its first request) runs against it in-process through typer's
runner. The commands that ask a gateway instead (:data:`GATEWAY_COMMANDS`) run against the same
shapes as their gateway. A command in none of the lists fails
:func:`test_every_command_is_listed`, so that a new one cannot be forgotten. Then what else a
node may answer: HTTP 429, a missing block, another chain (a usage error: exit 2), and the
failures no loopback answer brings about here (no receipt in time), through the mapping itself.

Time: web3's HTTP provider tries a request 5 times when the connection drops or the answer is an
HTTP error (1.9 s of back-off in all), so the slow shapes run on one command of each way of
connecting (:data:`CONNECTION_PATHS`), not on all of them; the node's timeout is shortened
through ``PROVLEDGER_RPC_TIMEOUT``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
import typer.main
from eth_utils.address import to_checksum_address
from typer.testing import CliRunner, Result
from web3.exceptions import BadResponseFormat, ContractLogicError, TimeExhausted

from helpers.builders import registration
from helpers.rpcserver import CHAIN_ID, CHAIN_ID_ONLY, INTERNAL_ERROR, Answer, RpcServer
from provledger.chain.accounts import dev_account
from provledger.chain.anvil import free_port
from provledger.chain.deployments import CONTRACT_NAMES, ContractDeployment, Deployment
from provledger.chain.eip712 import sign_registration, signed_to_json
from provledger.chain.ids import asset_id, asset_id_hex
from provledger.cli import app, gateway
from provledger.cli.base import error_line
from provledger.commitments import CommittedDocument

ASSET: Final = "0x" + "5a" * 32
ACCOUNT: Final = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
#: The request timeout the "no answer" shape gives the CLI (its default is 30 s).
SHORT_TIMEOUT: Final = 0.3
#: The asset of the home's data.csv (``data put`` checks the file is the asset's first).
DATA_ASSET: Final = asset_id_hex(asset_id(hashlib.sha256(b"a,b\n1,2\n").digest()))
#: A gateway URL nothing answers at: the data commands fail on the node before they ask it.
NO_GATEWAY: Final = "http://127.0.0.1:9"

#: Every command that talks to a node, with the arguments that take it to its first request
#: (``{home}`` is the test's folder of inputs). Settings come from the environment.
NODE_COMMANDS: Final[dict[str, tuple[str, ...]]] = {
    "register": ("{home}/data.csv", "--category", "1"),
    "register-many": ("{home}/list.csv",),
    "anchor": ("{home}/folder",),
    "sign": ("{home}/data.csv", "--category", "1", "--nonce", "0"),
    "relay": ("{home}/signed.json",),
    "metadata update": (ASSET, "--title", "new"),
    "license grant": (ASSET, ACCOUNT, "--scope", "cleaning"),
    "license revoke": ("1",),
    "transfer": (ASSET, ACCOUNT),
    "cancel": (ASSET,),
    "review accept": (ASSET,),
    "review reject": (ASSET, "--reason", "incomplete"),
    "object": (ASSET, "--grounds", "mine"),
    "certify": (ASSET,),
    "checkpoint deploy": (),
    "checkpoint run": ("--once",),
    "checkpoint list": (),
    "witness run": ("--once", "--state", "{home}/w.json"),
    "appraise": (ASSET, "--amount", "100", "--currency", "USD"),
    "dispute open": (ASSET, "--evidence", "mine"),
    "dispute freeze": ("1",),
    "dispute rule": ("1", "--ruling", "dismiss"),
    "export permit": (ASSET, ACCOUNT),
    "roles grant": ("registrar", ACCOUNT),
    "roles revoke": ("registrar", ACCOUNT),
    "roles list": (),
    "participants add": (ACCOUNT, "--jurisdiction", "CN"),
    "participants suspend": (ACCOUNT,),
    "participants list": (),
    "market list": (ASSET, "1 ETH"),
    "market offer-license": (ASSET, "1 ETH"),
    "market buy": ("1",),
    "market bid": ("1", "1 ETH"),
    "market accept": ("1",),
    "market cancel": ("1",),
    "market withdraw": (),
    "deploy": ("--replace",),
    "index": ("--once", "--no-progress"),
    "verify": ("{home}/data.csv",),
    "verify-proof": ("{home}/proof.json",),
    # the data room's commands ask the node before the gateway (a gateway nobody answers at)
    "data put": (DATA_ASSET, "{home}/data.csv", "--gateway", NO_GATEWAY),
    "data get": (DATA_ASSET, "-o", "{home}/got.csv", "--gateway", NO_GATEWAY),
    "data log": (DATA_ASSET, "--gateway", NO_GATEWAY),
    "data put-metadata": (DATA_ASSET, "{home}/committed.json", "--gateway", NO_GATEWAY),
    "data get-metadata": (DATA_ASSET, "-o", "{home}/got.json", "--gateway", NO_GATEWAY),
    "data anchor": (),
    "verify-receipt": ("{home}/receipt.json",),
    "disclose": (ASSET, "--document", "{home}/committed.json", "-o", "{home}/disclosed.json"),
    "verify-disclosure": ("{home}/disclosure.json",),
}
#: Commands that ask a gateway, not a node: its failures are network failures too.
GATEWAY_COMMANDS: Final[dict[str, tuple[str, ...]]] = {
    "history": (ASSET,),
    "lineage": (ASSET,),
    "proof": (ASSET,),
    "status": (),
    "market offers": (),
    "market trades": ("--asset", ASSET),
    "data receipt": ("0" * 32,),
    "watch": ("--api-key", "plk_0123456789ab_secret"),
}
#: Commands that talk to no node given to them, and why.
NO_NODE: Final[dict[str, str]] = {
    "hash": "hashes a local file",
    "categories": "prints the category list",
    "compile": "runs the Solidity compiler",
    "graphql-schema": "prints the gateway's GraphQL schema",
    "chain": "starts a node of its own (anvil)",
    "demo": "runs on the embedded chain",
    "serve": "a server: its node errors are the gateway's answers (503), not the command's",
    "account new": "keystore files only",
    "account import": "keystore files only",
    "account list": "keystore files only",
    "config show": "prints the settings",
    "blobs add": "the blob folder only",
    "blobs get": "the blob folder only",
    "db reader": "the index database only",
    "apikey create": "the index database only",
    "apikey revoke": "the index database only",
    "apikey list": "the index database only",
    "data keygen": "writes a key file",
    "data rotate-keys": "the key file and the data room's database only",
    "notify keygen": "writes a key file",
    "notify subscribe": "the notifications' database only",
    "notify list": "the notifications' database only",
    "notify secret": "the notifications' database and key file only",
    "notify status": "the notifications' database only",
    "notify remove": "the notifications' database only",
    "notify run": "the index and the notifications' databases, and the webhooks",
}
#: One command of each way a command connects to its node: the chain commands' session, a
#: read-only session, deploy, the indexer, verify and verify-proof.
CONNECTION_PATHS: Final = ("register", "roles list", "deploy", "index", "verify", "verify-proof")

#: The failing node of each shape: what it answers and a word of what the error line says.
SHAPES: Final[dict[str, tuple[Answer | None, str]]] = {
    "rpc-error": (Answer(error=INTERNAL_ERROR), "internal error"),
    "http-502": (
        Answer(status=502, body=b"502 Bad Gateway\nnginx", content_type="text/plain"),
        "502",
    ),
    "not-json": (
        Answer(body=b"<html><body>down for maintenance</body></html>", content_type="text/html"),
        "not JSON",
    ),
    "chain-id-only": (CHAIN_ID_ONLY, "internal error"),
    "nothing-listening": (None, "refused"),
    "no-answer": (Answer(hang=True), f"no answer within {SHORT_TIMEOUT:g} s"),
}
#: Shapes every command meets; the others meet :data:`CONNECTION_PATHS` only (see above).
EVERY_COMMAND_SHAPES: Final = ("rpc-error", "not-json", "chain-id-only")
#: Commands that do not end with exit 3 on a shape, and why (each is a known gap, or a choice).
EXCEPTIONS: Final[dict[tuple[str, str], str]] = {}
KNOWN_GAPS: Final[dict[tuple[str, str], str]] = {}


def all_commands() -> set[str]:
    """Every command of the app, subcommands as ``group name``."""

    def walk(command: Any, prefix: tuple[str, ...]) -> Iterator[str]:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                yield from walk(sub, (*prefix, name))
        else:
            yield " ".join(prefix)

    return set(walk(typer.main.get_command(app), ()))


def test_every_command_is_listed() -> None:
    listed = [*NODE_COMMANDS, *GATEWAY_COMMANDS, *NO_NODE]
    assert len(listed) == len(set(listed)), "a command is listed twice"
    assert all_commands() == set(listed)


@dataclass(frozen=True)
class Home:
    """The inputs the commands read, and the deployment record of the fake node's chain."""

    path: Path

    def args(self, command: str, table: dict[str, tuple[str, ...]]) -> list[str]:
        return [*command.split(), *(arg.format(home=self.path) for arg in table[command])]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    path = tmp_path_factory.mktemp("node-failures")
    (path / "data.csv").write_text("a,b\n1,2\n")
    (path / "folder").mkdir()
    (path / "folder" / "part.txt").write_text("part")
    (path / "list.csv").write_text("path,category\ndata.csv,1\n")
    bundle = Path(__file__).parents[1] / "services" / "data" / "proof-bundle-direct.json"
    (path / "proof.json").write_text(bundle.read_text(encoding="utf-8"))
    (path / "receipt.json").write_text("{}")
    contracts = {
        name: ContractDeployment(
            name, to_checksum_address(f"0x{0x1000 + index:040x}"), b"\x01" * 32, 1, "0x00"
        )
        for index, name in enumerate(CONTRACT_NAMES)
    }
    admin = to_checksum_address(ACCOUNT)
    deployment = Deployment(CHAIN_ID, admin, admin, 1, contracts)
    deployment.save(path / "deployments")
    signed = sign_registration(
        registration(),
        signer=dev_account(1),
        nonce=0,
        deadline=2**40 - 1,
        chain_id=CHAIN_ID,
        registry=deployment.address("DataAssetRegistry"),
    )
    document = signed_to_json(
        signed, chain_id=CHAIN_ID, registry=deployment.address("DataAssetRegistry")
    )
    (path / "signed.json").write_text(json.dumps(document))
    content = hashlib.sha256(b"a,b\n1,2\n").digest()  # data.csv's: DATA_ASSET's content hash
    committed = CommittedDocument.of({"title": "committed"}, content)
    (path / "committed.json").write_bytes(committed.to_json())
    presentation = committed.present(
        ["title"],
        chain_id=CHAIN_ID,
        registry=deployment.address("DataAssetRegistry"),
        asset_id=int(ASSET, 16),
    )
    (path / "disclosure.json").write_bytes(presentation.to_json())
    return Home(path)


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The node's requests time out after PROVLEDGER_RPC_TIMEOUT (30 s by default; the tests
    shorten it through the setting); the gateway's have no setting: the tests shorten its
    constant."""
    monkeypatch.setenv("PROVLEDGER_RPC_TIMEOUT", str(SHORT_TIMEOUT))
    monkeypatch.setattr(gateway, "TIMEOUT_SECONDS", SHORT_TIMEOUT)


def run(home: Home, args: list[str], env: dict[str, str]) -> Result:
    settings = {
        "PROVLEDGER_DEV_ACCOUNT": "0",
        "PROVLEDGER_DEPLOYMENTS_DIR": str(home.path / "deployments"),
        "PROVLEDGER_BLOB_DIR": str(home.path / "blobs"),
        "PROVLEDGER_DATABASE_URL": f"sqlite:///{home.path / 'index.sqlite'}",
        **env,
    }
    if "PROVLEDGER_RPC_URL" in env:  # the checkpoint commands' target chain fails alike
        settings["PROVLEDGER_CHECKPOINT_RPC_URL"] = env["PROVLEDGER_RPC_URL"]
        settings["PROVLEDGER_CHECKPOINT_CONTRACT"] = ACCOUNT
    return CliRunner().invoke(app, args, env=settings)


#: What ``index`` notes before it gives up (``--once``): what it learned from the blob folder
#: (other commands of the module's home may have written there first), and its retries.
INDEX_NOTE = re.compile(r"learned from the blob folder: .*|node error \(.*\); retrying")


def assert_one_line_exit_3(result: Result, args: list[str], *words: str) -> None:
    shown = f"{args}: exit {result.exit_code}\n{result.output}"
    assert "Traceback" not in result.output, shown
    assert result.exit_code == 3, shown
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not (args[0] == "index" and INDEX_NOTE.fullmatch(line))
    ]
    assert len(lines) == 1, shown
    assert lines[0].startswith("error: "), shown
    for word in words:
        assert word in lines[0], shown


def node_cases() -> Iterator[Any]:
    for command in sorted(NODE_COMMANDS):
        for shape in sorted(SHAPES):
            if shape not in EVERY_COMMAND_SHAPES and command not in CONNECTION_PATHS:
                continue
            marks = []
            if (command, shape) in KNOWN_GAPS:
                marks.append(pytest.mark.xfail(reason=KNOWN_GAPS[command, shape], strict=True))
            if (command, shape) in EXCEPTIONS:
                marks.append(pytest.mark.skip(reason=EXCEPTIONS[command, shape]))
            yield pytest.param(command, shape, id=f"{command}-{shape}", marks=marks)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """A server of each shape, by shape (a port nothing listens on for "nothing-listening")."""
    with (
        RpcServer(SHAPES["rpc-error"][0]) as rpc_error,
        RpcServer(SHAPES["http-502"][0]) as http_502,
        RpcServer(SHAPES["not-json"][0]) as not_json,
        RpcServer(SHAPES["chain-id-only"][0]) as chain_id_only,
        RpcServer(SHAPES["no-answer"][0]) as no_answer,
    ):
        yield {
            "rpc-error": rpc_error.url,
            "http-502": http_502.url,
            "not-json": not_json.url,
            "chain-id-only": chain_id_only.url,
            "nothing-listening": f"http://127.0.0.1:{free_port()}",
            "no-answer": no_answer.url,
        }


@pytest.mark.parametrize(("command", "shape"), list(node_cases()))
def test_a_node_failure_is_one_line_and_exit_3(
    home: Home, servers: dict[str, str], short_timeouts: None, command: str, shape: str
) -> None:
    url = servers[shape]
    args = home.args(command, NODE_COMMANDS)
    result = run(home, args, {"PROVLEDGER_RPC_URL": url})
    assert_one_line_exit_3(result, args, url, SHAPES[shape][1])


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("command", sorted(GATEWAY_COMMANDS))
def test_a_gateway_failure_is_one_line_and_exit_3(
    home: Home, servers: dict[str, str], short_timeouts: None, command: str, shape: str
) -> None:
    url = servers[shape]
    args = home.args(command, GATEWAY_COMMANDS)
    result = run(home, args, {"PROVLEDGER_GATEWAY_URL": url})
    assert_one_line_exit_3(result, args, url)


def test_debug_shows_the_traceback(home: Home, servers: dict[str, str]) -> None:
    args = ["--debug", *home.args("roles list", NODE_COMMANDS)]
    result = run(home, args, {"PROVLEDGER_RPC_URL": servers["chain-id-only"]})
    assert result.exit_code == 3, result.output
    assert "Traceback" in result.stderr
    assert "Web3RPCError" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: the node at ")


@pytest.mark.parametrize(
    ("answer", "command", "code", "words"),
    [
        pytest.param(
            Answer(status=429, body=b"Too Many Requests", content_type="text/plain"),
            "roles list",
            3,
            ("429",),
            id="too-many-requests",
        ),
        pytest.param(
            Answer(
                error=INTERNAL_ERROR,
                results={"eth_chainId": hex(CHAIN_ID), "eth_getBlockByNumber": None},
            ),
            "sign",
            3,
            ("'latest' not found",),
            id="missing-block",
        ),
        pytest.param(
            Answer(error=INTERNAL_ERROR, results={"eth_chainId": hex(1)}),
            "roles list",
            2,  # not the node's failure: no deployment is recorded for its chain
            ("no deployment for chain 1", "provledger deploy"),
            id="wrong-chain-id",
        ),
    ],
)
def test_what_else_a_node_answers(
    home: Home, answer: Answer, command: str, code: int, words: tuple[str, ...]
) -> None:
    with RpcServer(answer) as server:
        args = home.args(command, NODE_COMMANDS)
        result = run(home, args, {"PROVLEDGER_RPC_URL": server.url})
    shown = f"{args}: exit {result.exit_code}\n{result.output}"
    assert result.exit_code == code, shown
    assert "Traceback" not in result.output, shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, shown
    assert lines[0].startswith("error: "), shown
    for word in words:
        assert word in lines[0], shown


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (TimeExhausted("no receipt after 120 seconds"), 3, "no receipt after 120 seconds"),
        (ContractLogicError("invalid opcode: MCOPY"), 3, "invalid opcode: MCOPY"),
        (ContractLogicError("execution reverted"), 2, "the contract refused: "),
        (BadResponseFormat("no result"), 3, "no result"),
    ],
)
def test_each_failure_web3_raises_has_its_exit_code(error: Exception, code: int, line: str) -> None:
    """The failures no loopback answer here brings about (a receipt that never comes, an EVM
    that lacks an opcode): the mapping itself."""
    message, exit_code = error_line(error)
    assert exit_code == code
    assert line in message
