"""The role matrix: every role-gated function refuses every account without its role.

Each gated function is called with arguments valid enough that only the role stands in the
way (the role holder's own estimate succeeds, see ``test_role_holder_passes_the_check``). Every
other authority, a participant and a stranger must get
``AccessControlUnauthorizedAccount(account, neededRole)`` with the exact role id. The module
hooks of the registry (OFFICE_ROLE, COURT_ROLE, ANCHOR_ROLE) and the LicenseRegistry's
``grantFor`` (MARKET_ROLE) are held by contracts, so every account is refused there.

A refused call reverts at gas estimation: no transaction is mined, one eth_estimateGas each.
The state those arguments need is built once per module and backend (:func:`stage`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3.types import TxParams, Wei

from helpers.assertions import reverts
from helpers.builders import doc, registration
from helpers.world import NOTICE_PERIOD, World
from provledger.chain.client import ContractClient, Provledger
from provledger.chain.enums import AssetStatus, RegistrationType, Ruling, ValuationMethod
from provledger.chain.events import (
    DisputeOpened,
    ObjectionLodged,
    RegistrationAccepted,
    RoleGranted,
    RoleRevoked,
)
from provledger.chain.ids import role_id
from provledger.chain.reverts import revert_from_exception

AUTHORITIES: Final = ("admin", "registrar", "appraiser", "arbiter", "exporter")
#: Every caller of the matrix: the authorities, a participant and a stranger.
CALLERS: Final = (*AUTHORITIES, "alice", "stranger")
FAR_FUTURE: Final = 2**39  # a uint40 expiry far beyond any test clock
CONTRACTS_DIR: Final = Path(__file__).resolve().parents[2] / "contracts"
#: Contract source -> the Provledger attribute of its client.
CLIENTS: Final = {
    "DataAssetRegistry": "registry",
    "RegistrationOffice": "office",
    "LicenseRegistry": "licenses",
    "AppraisalRegistry": "appraisals",
    "DisputeCourt": "court",
    "BatchAnchor": "anchor",
    "ExportControl": "export",
    "DataMarket": "market",
}
#: ``function name(...) ... onlyRole(X)`` / ``onlyRegistryRole(X)`` in a Solidity source.
GUARDED: Final = re.compile(r"function\s+(\w+)\s*\([^)]*\)[^{;]*?only(?:Registry)?Role\(([^)]*)\)")


@dataclass(frozen=True)
class Stage:
    """State the gated calls act on, built once per module and backend."""

    applied: int  # alice's grade-2 asset, Applied: accept, reject, appraise, hooks, permits
    certifiable: int  # Noticed, notice period over, no objection: certify
    objection: int  # an open objection: resolveObjection
    open_dispute: int  # Open: freeze
    frozen_dispute: int  # Frozen: rule
    suspended: ChecksumAddress  # a suspended participant: reinstateParticipant


@dataclass(frozen=True)
class Gated:
    """A role-gated function and arguments that reach (and, for its holder, pass) the role check."""

    contract: str  # the Provledger attribute: registry, office, appraisals, court, export
    function: str
    role: str
    holder: str  # an authority of the World, or the module contract holding the role
    args: Callable[[World, Stage], tuple[Any, ...]]
    needs_pause: bool = False  # unpause is only valid while paused

    @property
    def id(self) -> str:
        """``contract.function`` for test ids."""
        return f"{self.contract}.{self.function}"


GATED: Final[tuple[Gated, ...]] = (
    # -- DataAssetRegistry: registrar
    Gated(
        "registry",
        "registerParticipant",
        "REGISTRAR_ROLE",
        "registrar",
        lambda w, s: (w.actor(12).address, b"DE", doc("legal name")),
    ),
    Gated(
        "registry",
        "suspendParticipant",
        "REGISTRAR_ROLE",
        "registrar",
        lambda w, s: (w.bob.address, doc("reason")),
    ),
    Gated(
        "registry",
        "reinstateParticipant",
        "REGISTRAR_ROLE",
        "registrar",
        lambda w, s: (s.suspended,),
    ),
    # -- DataAssetRegistry: admin (OpenZeppelin AccessControl's DEFAULT_ADMIN_ROLE)
    Gated(
        "registry",
        "setCategoryListed",
        "DEFAULT_ADMIN_ROLE",
        "admin",
        lambda w, s: (999, True),
    ),
    Gated(
        "registry",
        "setModules",
        "DEFAULT_ADMIN_ROLE",
        "admin",
        lambda w, s: (
            w.deployment.address("LicenseRegistry"),
            w.deployment.address("ExportControl"),
        ),
    ),
    Gated(
        "registry",
        "setBaseURI",
        "DEFAULT_ADMIN_ROLE",
        "admin",
        lambda w, s: ("https://ledger.example/assets/",),
    ),
    Gated("registry", "pause", "DEFAULT_ADMIN_ROLE", "admin", lambda w, s: ()),
    Gated("registry", "unpause", "DEFAULT_ADMIN_ROLE", "admin", lambda w, s: (), needs_pause=True),
    Gated(
        "registry",
        "grantRole",
        "DEFAULT_ADMIN_ROLE",
        "admin",
        lambda w, s: (role_id("REGISTRAR_ROLE"), w.actor(12).address),
    ),
    Gated(
        "registry",
        "revokeRole",
        "DEFAULT_ADMIN_ROLE",
        "admin",
        lambda w, s: (role_id("REGISTRAR_ROLE"), w.registrar.address),
    ),
    # -- DataAssetRegistry: module hooks
    Gated(
        "registry",
        "setStatus",
        "OFFICE_ROLE",
        "RegistrationOffice",
        lambda w, s: (s.applied, int(AssetStatus.NOTICED), b"\x00" * 32, w.registrar.address),
    ),
    Gated(
        "registry",
        "setUnderObjection",
        "OFFICE_ROLE",
        "RegistrationOffice",
        lambda w, s: (s.applied, True),
    ),
    Gated("registry", "setFrozen", "COURT_ROLE", "DisputeCourt", lambda w, s: (s.applied, True)),
    Gated(
        "registry",
        "transferByRuling",
        "COURT_ROLE",
        "DisputeCourt",
        lambda w, s: (s.applied, w.bob.address),
    ),
    Gated(
        "registry",
        "cancelByRuling",
        "COURT_ROLE",
        "DisputeCourt",
        lambda w, s: (s.applied, doc("ruling"), w.arbiter.address),
    ),
    Gated(
        "registry",
        "registerFromBatch",
        "ANCHOR_ROLE",
        "BatchAnchor",
        lambda w, s: (w.alice.address, registration().as_tuple()),
    ),
    # -- LicenseRegistry: the market's hook, held by the DataMarket contract
    Gated(
        "licenses",
        "grantFor",
        "MARKET_ROLE",
        "DataMarket",
        lambda w, s: (
            s.applied,
            w.alice.address,
            w.bob.address,
            1,
            FAR_FUTURE,
            doc("terms"),
            "all",
        ),
    ),
    # -- DataMarket: admin
    Gated("market", "setFee", "DEFAULT_ADMIN_ROLE", "admin", lambda w, s: (w.admin.address, 250)),
    Gated(
        "market",
        "setCurrencyListed",
        "DEFAULT_ADMIN_ROLE",
        "admin",
        lambda w, s: (w.actor(12).address, True),
    ),
    # -- RegistrationOffice
    Gated("office", "setNoticePeriod", "DEFAULT_ADMIN_ROLE", "admin", lambda w, s: (3600,)),
    Gated("office", "accept", "REGISTRAR_ROLE", "registrar", lambda w, s: (s.applied,)),
    Gated(
        "office",
        "reject",
        "REGISTRAR_ROLE",
        "registrar",
        lambda w, s: (s.applied, doc("reason")),
    ),
    Gated(
        "office",
        "resolveObjection",
        "REGISTRAR_ROLE",
        "registrar",
        lambda w, s: (s.objection, False, doc("dismissed")),
    ),
    Gated(
        "office",
        "certify",
        "REGISTRAR_ROLE",
        "registrar",
        lambda w, s: (s.certifiable, int(RegistrationType.INITIAL), doc("certificate")),
    ),
    # -- AppraisalRegistry
    Gated(
        "appraisals",
        "appraise",
        "APPRAISER_ROLE",
        "appraiser",
        lambda w, s: (s.applied, 1_000_000, b"CNY", int(ValuationMethod.MARKET), doc("report")),
    ),
    # -- DisputeCourt
    Gated("court", "freeze", "ARBITER_ROLE", "arbiter", lambda w, s: (s.open_dispute,)),
    Gated(
        "court",
        "rule",
        "ARBITER_ROLE",
        "arbiter",
        lambda w, s: (s.frozen_dispute, int(Ruling.DISMISS), doc("ruling")),
    ),
    # -- ExportControl
    Gated(
        "export",
        "issuePermit",
        "EXPORT_APPROVER_ROLE",
        "exporter",
        lambda w, s: (s.applied, w.dave.address, FAR_FUTURE),
    ),
    Gated(
        "export",
        "revokePermit",
        "EXPORT_APPROVER_ROLE",
        "exporter",
        lambda w, s: (s.applied, w.carol.address),
    ),
)

CASES: Final = [
    pytest.param(gated, caller, id=f"{gated.id}-{caller}")
    for gated in GATED
    for caller in CALLERS
    if caller != gated.holder
]


@pytest.fixture(scope="module")
def stage(session_world: World) -> Iterator[Stage]:
    """Build the state the gated calls need; undo it when the module is done."""
    world = session_world
    snapshot = world.chain.snapshot()
    try:
        applied = world.register(world.alice, grade=2)
        world.exporter.export.issue_permit(applied, world.carol.address, FAR_FUTURE)
        certifiable = world.register(world.alice)
        world.notice(certifiable)
        world.chain.advance(NOTICE_PERIOD)
        objected = world.register(world.alice)
        world.notice(objected)
        objection = world.bob.office.object(objected, doc("grounds")).event(ObjectionLodged)
        disputed = world.register(world.alice)
        open_dispute = world.bob.court.open(disputed, doc("evidence")).event(DisputeOpened)
        frozen_dispute = world.bob.court.open(disputed, doc("more evidence")).event(DisputeOpened)
        world.arbiter.court.freeze(frozen_dispute.dispute_id)
        world.registrar.registry.suspend_participant(world.erin.address, doc("suspended"))
        yield Stage(
            applied=applied,
            certifiable=certifiable,
            objection=objection.objection_id,
            open_dispute=open_dispute.dispute_id,
            frozen_dispute=frozen_dispute.dispute_id,
            suspended=world.erin.address,
        )
    finally:
        world.chain.revert(snapshot)


def client_of(ledger: Provledger, contract: str) -> ContractClient:
    """The client of ``contract`` (a Provledger attribute name) seen by ``ledger``."""
    client = getattr(ledger, contract)
    assert isinstance(client, ContractClient)
    return client


def actor_of(world: World, name: str) -> Provledger:
    """The World's actor called ``name``."""
    actor = getattr(world, name)
    assert isinstance(actor, Provledger)
    return actor


def holder_address(world: World, gated: Gated) -> ChecksumAddress:
    """The account holding ``gated.role``: an authority, or a module contract."""
    if gated.holder in AUTHORITIES:
        return actor_of(world, gated.holder).address
    return world.deployment.address(gated.holder)


def estimate_as(world: World, sender: ChecksumAddress, to: ChecksumAddress, data: bytes) -> int:
    """eth_estimateGas of a call from any address (a contract too: gas price zero, no funds)."""
    params: TxParams = {"from": sender, "to": to, "data": HexBytes(data), "gasPrice": Wei(0)}
    try:
        return int(world.w3.eth.estimate_gas(params))
    except Exception as error:
        revert = revert_from_exception(error)
        if revert is None:
            raise
        raise revert from error


def gated_in_sources() -> set[tuple[str, str, str]]:
    """(client, function, role) of every function the Solidity sources guard by a role."""
    found: set[tuple[str, str, str]] = set()
    for contract, client in CLIENTS.items():
        source = (CONTRACTS_DIR / f"{contract}.sol").read_text()
        for function, role in GUARDED.findall(source):
            role = role.strip()
            if role.startswith("Roles."):
                short = role.removeprefix("Roles.")
                role = "DEFAULT_ADMIN_ROLE" if short == "ADMIN" else f"{short}_ROLE"
            found.add((client, function, role))
    # inherited from OpenZeppelin AccessControl: the role admin of every role is the admin
    found |= {
        ("registry", "grantRole", "DEFAULT_ADMIN_ROLE"),
        ("registry", "revokeRole", "DEFAULT_ADMIN_ROLE"),
    }
    return found


def test_matrix_covers_every_gated_function(world: World) -> None:
    assert {(gated.contract, gated.function, gated.role) for gated in GATED} == (gated_in_sources())
    assert len(GATED) == 29
    assert len(CASES) == sum(6 if gated.holder in AUTHORITIES else 7 for gated in GATED)
    # the module hooks' holders really are the module contracts
    for gated in GATED:
        assert world.admin.registry.has_role(gated.role, holder_address(world, gated)), gated.id


@pytest.mark.parametrize(("gated", "caller"), CASES)
def test_account_without_the_role_is_refused(
    world: World, stage: Stage, gated: Gated, caller: str
) -> None:
    if gated.needs_pause:
        world.admin.registry.pause()
    account = actor_of(world, caller)
    client = client_of(account, gated.contract)

    with reverts(
        "AccessControlUnauthorizedAccount",
        account=account.address,
        neededRole=role_id(gated.role),
    ):
        client._send(gated.function, *gated.args(world, stage))


@pytest.mark.parametrize("gated", [pytest.param(gated, id=gated.id) for gated in GATED])
def test_role_holder_passes_the_check(world: World, stage: Stage, gated: Gated) -> None:
    """The same call from the role holder would succeed: the role is all that was missing."""
    if gated.needs_pause:
        world.admin.registry.pause()
    client = client_of(world.admin, gated.contract)
    data = client.encode(gated.function, *gated.args(world, stage))

    assert estimate_as(world, holder_address(world, gated), client.address, data) > 21_000


def test_registrar_accepts(world: World, stage: Stage) -> None:
    receipt = world.registrar.office.accept(stage.applied)

    ends_at = int(world.w3.eth.get_block(receipt.block_number)["timestamp"]) + NOTICE_PERIOD
    assert receipt.event(RegistrationAccepted) == RegistrationAccepted(
        asset_id=stage.applied, notice_ends_at=ends_at, registrar=world.registrar.address
    )
    assert world.registrar.office.notice_ends_at(stage.applied) == ends_at
    state = world.registrar.registry.asset(stage.applied)
    assert state is not None
    assert state.status is AssetStatus.NOTICED


def test_granted_role_is_honoured_and_revoked_role_is_not(world: World, stage: Stage) -> None:
    newcomer = world.actor(12)
    registrar_role = role_id("REGISTRAR_ROLE")

    granted = world.admin.registry.grant_role("REGISTRAR_ROLE", newcomer.address)
    assert granted.events == (
        RoleGranted(role=registrar_role, account=newcomer.address, sender=world.admin.address),
    )
    assert world.admin.registry.has_role("REGISTRAR_ROLE", newcomer.address)
    newcomer.office.reject(stage.applied, doc("incomplete"))

    revoked = world.admin.registry.revoke_role("REGISTRAR_ROLE", world.registrar.address)
    assert revoked.events == (
        RoleRevoked(
            role=registrar_role, account=world.registrar.address, sender=world.admin.address
        ),
    )
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=world.registrar.address,
        neededRole=registrar_role,
    ):
        world.registrar.office.certify(stage.certifiable, doc("certificate"))
