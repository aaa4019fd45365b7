"""A refused transaction says what is wrong and which command resolves it, by whom, in one
line: the role by its name, a former holder told it no longer holds the asset (and who does),
a missing participant or export permit with the command that adds it. The command the line
names then works."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3.types import RPCEndpoint

from cli.conftest import BUYER, FOREIGN, HOLDER, Cli
from provledger.chain.accounts import DEV_ROLES
from provledger.chain.calls import CallLog

pytestmark = pytest.mark.anvil

REFUSED = "error: the contract refused: "
REGISTRAR = str(DEV_ROLES["registrar"])
EXPORTER = str(DEV_ROLES["export_approver"])
#: Dev accounts no fixture touches: a would-be registrar, a newcomer, and a party it adds.
STRANGER, NEWCOMER, ADDED = 9, 10, 11


def _register(cli: Cli, folder: Path, name: str, *extra: str, signer: int = HOLDER) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"{name}\n", encoding="utf-8")
    report = cli.json(
        "register", str(path), "--category", "301", *extra, "--dev-account", str(signer)
    )
    return str(report["asset_id"])


def test_a_missing_role_is_named_with_the_grant_that_gives_it(cli: Cli) -> None:
    me, target = cli.address(STRANGER), cli.address(ADDED)
    add = ("participants", "add", target, "--jurisdiction", "CN", "--name", "added")
    line = cli.fails(2, *add, "--dev-account", str(STRANGER))
    assert line == (
        f"{REFUSED}you ({me}) lack REGISTRAR_ROLE: an admin (DEFAULT_ADMIN_ROLE) grants it "
        f"with `provledger roles grant registrar {me}` [AccessControlUnauthorizedAccount]"
    )
    cli.ok("roles", "grant", "registrar", me, "--dev-account", "0")
    cli.ok(*add, "--dev-account", str(STRANGER))
    assert cli.ledger().registry.participant(target).jurisdiction == "CN"


def test_a_former_holder_is_told_it_no_longer_holds_the_asset(cli: Cli, tmp_path: Path) -> None:
    asset = _register(cli, tmp_path, "sold.csv")
    cli.ok("transfer", asset, cli.address(BUYER), "--dev-account", str(HOLDER))
    holder, buyer = cli.address(HOLDER), cli.address(BUYER)

    def transfer_back(signer: int) -> str:
        return cli.fails(2, "transfer", asset, holder, "--dev-account", str(signer))

    # The buyer by its name: `participants add --name` kept it in the blob folder.
    assert transfer_back(HOLDER) == (
        f"{REFUSED}you ({holder}) no longer hold asset {asset}: party {BUYER} ({buyer}) holds "
        "it now and has not approved you [ERC721InsufficientApproval]"
    )
    # Someone who never held it is not told "no longer".
    stranger = cli.address(FOREIGN)
    assert transfer_back(FOREIGN) == (
        f"{REFUSED}you ({stranger}) do not hold asset {asset}: party {BUYER} ({buyer}) holds "
        "it now and has not approved you [ERC721InsufficientApproval]"
    )


def test_a_newcomer_is_told_who_adds_it_as_a_participant(cli: Cli, tmp_path: Path) -> None:
    me = cli.address(NEWCOMER)
    path = tmp_path / "first.csv"
    path.write_text("my first asset\n", encoding="utf-8")
    register = ("register", str(path), "--category", "301", "--dev-account", str(NEWCOMER))
    line = cli.fails(2, *register)
    assert line == (
        f"{REFUSED}you ({me}) are not a participant: a registrar (REGISTRAR_ROLE) adds you with "
        f"`provledger participants add {me} --jurisdiction CC --name NAME` [ParticipantNotActive]"
    )
    cli.ok("participants", "add", me, "--jurisdiction", "CN", "--dev-account", REGISTRAR)
    cli.ok(*register)


def test_a_transfer_to_a_non_participant_names_the_command_that_adds_it(
    cli: Cli, tmp_path: Path
) -> None:
    asset = _register(cli, tmp_path, "gift.csv")
    outsider = cli.address(12)
    line = cli.fails(2, "transfer", asset, outsider, "--dev-account", str(HOLDER))
    assert line == (
        f"{REFUSED}{outsider} is not a participant: a registrar (REGISTRAR_ROLE) adds it with "
        f"`provledger participants add {outsider} --jurisdiction CC --name NAME` "
        "[ParticipantNotActive]"
    )


def test_a_missing_export_permit_names_the_permit_command(cli: Cli, tmp_path: Path) -> None:
    asset = _register(cli, tmp_path, "abroad.csv", "--grade", "2")
    foreign = cli.address(FOREIGN)
    transfer = ("transfer", asset, foreign, "--dev-account", str(HOLDER))
    line = cli.fails(2, *transfer)
    assert line == (
        f"{REFUSED}asset {asset} crosses the border to party {FOREIGN} ({foreign}) only under "
        "an export permit: "
        "an export approver (EXPORT_APPROVER_ROLE) issues one with "
        f"`provledger export permit {asset} {foreign} --days 30` [ExportPermitMissing]"
    )
    cli.ok("export", "permit", asset, foreign, "--days", "30", "--dev-account", EXPORTER)
    cli.ok(*transfer)
    assert cli.ledger().registry.holder_of(int(asset, 16)) == foreign


def test_whether_an_account_held_an_asset_is_read_from_the_deployment_on(
    cli: Cli, tmp_path: Path
) -> None:
    asset = _register(cli, tmp_path, "searched.csv")
    cli.ok("transfer", asset, cli.address(BUYER), "--dev-account", str(HOLDER))
    names = {str(item.address): name for name, item in cli.deployment.contracts.items()}
    first = min(item.block_number for item in cli.deployment.contracts.values())
    log = CallLog(names, from_block=first).attach(cli.w3)
    assert log.held(cli.address(HOLDER), int(asset, 16)) is True  # minted to it, then sold
    assert log.held(cli.address(FOREIGN), int(asset, 16)) is False
    # the search starts where it is told: nothing in the block after the transfer gave it
    # to anyone
    sold_in = cli.w3.eth.block_number
    cli.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    later = CallLog(names, from_block=sold_in + 1).attach(cli.w3)
    assert later.held(cli.address(HOLDER), int(asset, 16)) is False
