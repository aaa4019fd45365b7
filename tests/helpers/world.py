"""The actors of the contract tests: one deployment, its authorities and its participants.

A :class:`World` is built once per chain backend and session; the ``world`` fixture snapshots
the chain before each test and reverts after it, so every test starts from the same state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from web3 import Web3

from helpers.builders import doc, registration
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.client import Provledger
from provledger.chain.connection import DevChain
from provledger.chain.deploy import deploy, dev_role_grants
from provledger.chain.deployments import Deployment
from provledger.chain.enums import RegistrationType
from provledger.chain.events import AssetRegistered, CertificateIssued
from provledger.chain.types import ParentLink, Registration

#: How far ahead of the wall clock the test chains run.
CLOCK_LEAD: Final = 365 * 24 * 3600

#: Notice period of the test deployment (one day).
NOTICE_PERIOD: Final = 24 * 3600

#: Dev account index -> (name, jurisdiction) of the participants registered in every World.
PARTICIPANTS: Final[dict[int, tuple[str, str]]] = {
    5: ("alice", "CN"),
    6: ("bob", "CN"),
    7: ("carol", "HK"),
    8: ("dave", "US"),
    9: ("erin", "CN"),
}
STRANGER_INDEX: Final = 10
RELAYER_INDEX: Final = 11
#: Dev accounts 12..19 are free for tests that need more actors.
SPARE_INDICES: Final = tuple(range(12, 20))


@dataclass
class World:
    """A deployment with every role filled and five participants in three jurisdictions."""

    w3: Web3
    chain: DevChain
    deployment: Deployment
    admin: Provledger
    registrar: Provledger
    appraiser: Provledger
    arbiter: Provledger
    exporter: Provledger
    alice: Provledger  # CN
    bob: Provledger  # CN
    carol: Provledger  # HK
    dave: Provledger  # US
    erin: Provledger  # CN
    stranger: Provledger  # neither participant nor authority
    relayer: Provledger  # neither participant nor authority; relays signatures

    def now(self) -> int:
        """The latest block's timestamp."""
        return self.chain.timestamp()

    def actor(self, index: int) -> Provledger:
        """The deployment seen by dev account ``index``."""
        return self.admin.as_account(dev_account(index))

    def register(
        self, who: Provledger, item: Registration | None = None, **overrides: object
    ) -> int:
        """Register ``item`` (or a fresh registration built from ``overrides``) as ``who``."""
        entry = item if item is not None else registration(**overrides)  # type: ignore[arg-type]
        return who.registry.register(entry).event(AssetRegistered).asset_id

    def register_derived(
        self, who: Provledger, *parents: int, relation: int = 1, **overrides: object
    ) -> int:
        """Register a fresh asset naming ``parents`` with one ``relation``."""
        links = tuple(ParentLink(parent, relation) for parent in parents)
        return self.register(who, registration(parents=links, **overrides))  # type: ignore[arg-type]

    def notice(self, asset: int) -> None:
        """Accept an application: its public notice starts."""
        self.registrar.office.accept(asset)

    def certify(self, asset: int) -> int:
        """Accept, let the notice period pass, certify; return the registration number."""
        self.registrar.office.accept(asset)
        self.chain.advance(NOTICE_PERIOD)
        receipt = self.registrar.office.certify(
            asset, doc(f"certificate {asset}"), RegistrationType.INITIAL
        )
        return receipt.event(CertificateIssued).registration_number


def build_world(w3: Web3) -> World:
    """Deploy, grant the authority roles and register the participants."""
    admin_account = dev_account(DEV_ROLES["admin"])
    chain = DevChain(w3)
    # Run the session's clock a year ahead of the wall clock: a chain reverted to a snapshot
    # then never falls behind it, so the next block's time is always the latest block's + 1.
    chain.set_time(int(time.time()) + CLOCK_LEAD)
    deployment = deploy(w3, admin_account, notice_period=NOTICE_PERIOD, grants=dev_role_grants())
    admin = Provledger(w3, deployment, admin_account)

    def actor(index: int) -> Provledger:
        return admin.as_account(dev_account(index))

    registrar = actor(DEV_ROLES["registrar"])
    for index, (name, jurisdiction) in PARTICIPANTS.items():
        registrar.registry.register_participant(
            dev_account(index).address, jurisdiction, doc(f"legal name of {name}")
        )
    return World(
        w3=w3,
        chain=chain,
        deployment=deployment,
        admin=admin,
        registrar=registrar,
        appraiser=actor(DEV_ROLES["appraiser"]),
        arbiter=actor(DEV_ROLES["arbiter"]),
        exporter=actor(DEV_ROLES["export_approver"]),
        alice=actor(5),
        bob=actor(6),
        carol=actor(7),
        dave=actor(8),
        erin=actor(9),
        stranger=actor(STRANGER_INDEX),
        relayer=actor(RELAYER_INDEX),
    )
