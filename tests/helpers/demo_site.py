"""The demo played on the embedded chain, for the pages' tests: the parties' clients, a freeze,
and the index the gateway reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.client import Provledger
from provledger.chain.connection import embedded_chain
from provledger.chain.events import DisputeOpened
from provledger.cli.demo import demo_scanner, demo_settings
from provledger.config import Settings
from provledger.demo import PARTIES, Demo, DemoResult


@dataclass
class DemoChain:
    """The demo's chain, its outcome, and clients of the first party and the arbiter."""

    w3: Web3
    result: DemoResult
    workdir: Path
    holder: Provledger
    arbiter: Provledger

    def freeze(self, asset: int, claim: bytes) -> None:
        """The first party opens a dispute over ``asset`` and the arbiter freezes it."""
        opened = self.holder.court.open(asset, hashlib.sha256(claim).digest())
        self.arbiter.court.freeze(opened.event(DisputeOpened).dispute_id)

    def index(self, port: int) -> Settings:
        """Index the chain as the demo does; the settings of a gateway on ``port``."""
        settings = demo_settings(self.workdir, None, port)
        demo_scanner(settings, self.w3, self.result).run(once=True)
        return settings


def play_demo(workdir: Path) -> DemoChain:
    """Play the demo scenario quietly on a new embedded chain."""
    w3 = embedded_chain()
    result = Demo(w3, workdir, lambda _: None).run()
    admin = Provledger(w3, result.deployment, dev_account(DEV_ROLES["admin"]))
    return DemoChain(
        w3,
        result,
        workdir,
        admin.as_account(dev_account(PARTIES[0].key_index)),
        admin.as_account(dev_account(DEV_ROLES["arbiter"])),
    )
