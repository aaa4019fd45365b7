"""A mixed workload on an anvil node, generated fast, for the indexer's crash and fault suites.

:func:`generate` drives the deployment's contracts through everything the index projects:
participants (registered, suspended, reinstated), plain and derived registrations,
``registerMany`` batches, transfers (with export permits across borders), licenses granted
and revoked, metadata revisions, appraisals, batch anchors, registration notices with
objections, and disputes frozen and ruled every way.

Speed comes from anvil's unlocked dev accounts and manual mining: automine is switched off,
each block's transactions go in one batched ``eth_sendTransaction`` request with explicit
nonces and gas limits (no estimate, no signing, no receipt waits), then one ``evm_mine``
seals them into one block. Every transaction only depends on blocks already mined, so the
order anvil packs a block in does not matter; after each block the logs it emitted are
counted against what its transactions must emit, so a reverted transaction fails loudly.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from eth_typing import ChecksumAddress
from web3 import HTTPProvider, Web3

from helpers.required import start_anvil
from provledger.categories import CATEGORIES
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.anvil import AnvilNode
from provledger.chain.client import CallEncoder, Provledger
from provledger.chain.deploy import deploy, dev_role_grants
from provledger.chain.deployments import Deployment
from provledger.chain.enums import (
    LicenseKind,
    ParticipantStatus,
    Relation,
    Ruling,
    ValuationMethod,
)
from provledger.chain.events import EVENT_TYPES
from provledger.chain.ids import asset_id
from provledger.chain.types import ParentLink, Registration, currency_bytes, jurisdiction_bytes
from provledger.indexer.source import JsonRpcSource

#: Notice period of workload deployments (seconds).
NOTICE_PERIOD: Final = 3600
#: Dev accounts that register, hold, transfer and license assets, with their jurisdictions.
HOLDERS: Final[dict[int, str]] = {
    5: "CN",
    6: "CN",
    7: "CN",
    8: "CN",
    9: "CN",
    10: "CN",
    11: "HK",
    12: "HK",
}
#: A participant that never acts: suspended and reinstated now and then.
IDLE: Final = 13
#: Explicit gas limits (anvil's block gas limit is 30M; a block of the default mix stays far
#: below it). Fees are paid from the dev accounts' 10,000 ETH.
GAS: Final[dict[str, int]] = {
    "participant": 150_000,
    "batch_per_asset": 120_000,
    "register": 450_000,
    "transfer": 200_000,
    "license": 350_000,
    "revoke": 120_000,
    "metadata": 150_000,
    "appraise": 300_000,
    "anchor": 150_000,
    "office": 250_000,
    "dispute": 250_000,
    "permit": 200_000,
}
MAX_FEE_WEI: Final = 100 * 10**9
POOL_CAP: Final = 2_000
TEN_YEARS: Final = 10 * 365 * 24 * 3600
#: topic0 -> event name, for the tally.
EVENT_NAMES: Final[dict[bytes, str]] = {kind.TOPIC0: name for name, kind in EVENT_TYPES.items()}


@dataclass(frozen=True)
class Mix:
    """What one block of the workload holds (transactions per block unless named otherwise)."""

    batches: int = 3
    batch_size: int = 20
    registrations: int = 6
    """Plain registrations; every other one is derived from an asset its registrant holds."""
    transfers: int = 10
    licenses: int = 4
    metadata: int = 3
    appraisals: int = 2
    anchor_every: int = 3
    """One batch anchor every this many blocks."""
    dispute_every: int = 4
    """Open one dispute every this many blocks (frozen one block later, ruled the next)."""
    office_every: int = 5
    """Accept one application every this many blocks (objected to, then resolved)."""
    permit_every: int = 6
    """Issue one export permit every this many blocks (used by a transfer the next block)."""
    participant_every: int = 10
    """Suspend (then, next time, reinstate) the idle participant every this many blocks."""


@dataclass
class WorkloadSummary:
    """What :func:`generate` put on the chain."""

    events: int = 0
    """Logs the deployment's contracts emitted during the workload."""
    transactions: int = 0
    blocks: int = 0
    first_block: int = -1
    last_block: int = -1
    seconds: float = 0.0
    by_event: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Tx:
    sender: int
    to: ChecksumAddress
    data: bytes
    gas: int
    events: int


@dataclass
class _Block:
    txs: list[_Tx] = field(default_factory=list)
    settle: list[tuple[int, tuple[int, int]]] = field(default_factory=list)
    """(holder, (asset id, grade)) that join the holder's pool once the block is mined."""

    def add(self, sender: int, to: ChecksumAddress, data: bytes, gas: int, events: int) -> None:
        self.txs.append(_Tx(sender, to, data, gas, events))


def deploy_ledger(w3: Web3) -> Deployment:
    """Deploy the contracts with the dev roles (no participants yet; the workload adds them)."""
    return deploy(
        w3, dev_account(DEV_ROLES["admin"]), notice_period=NOTICE_PERIOD, grants=dev_role_grants()
    )


@dataclass(frozen=True)
class DeployedNode:
    """An anvil node with the contracts deployed and their record in ``deployments``."""

    node: AnvilNode
    w3: Web3
    deployment: Deployment
    deployments: Path


@contextmanager
def deployed_anvil(deployments: Path) -> Iterator[DeployedNode]:
    """A started anvil with the contracts deployed (:func:`deploy_ledger`) and their record
    saved in ``deployments``; stopped after the block."""
    node = start_anvil()
    try:
        w3 = node.web3()
        deployment = deploy_ledger(w3)
        deployment.save(deployments)
        yield DeployedNode(node, w3, deployment, deployments)
    finally:
        node.stop()


Item = tuple[int, int]
"""An asset in a holder's pool: (asset id, grade)."""


class _Generator:
    """Builds and mines the blocks; keeps which assets are free to use in the next block.

    An asset taken for a transaction leaves its holder's pool and comes back (to its new
    holder) when the block is mined, or after the follow-up steps of a multi-block story:
    license granted then revoked, dispute opened then frozen then ruled, application accepted
    then objected to then resolved, export permit issued then used.
    """

    def __init__(self, url: str, deployment: Deployment, seed: int, mix: Mix) -> None:
        self.rpc = JsonRpcSource(url, timeout=120.0)
        self.mix = mix
        self.random = random.Random(seed)
        self.ledger = Provledger(Web3(HTTPProvider(url)), deployment)
        self.addresses = [address.lower() for address in deployment.addresses]
        self.address_of = {index: dev_account(index).address for index in (*HOLDERS, IDLE)}
        for role in DEV_ROLES.values():
            self.address_of[role] = dev_account(role).address
        self.nonces = {
            index: int(self.rpc.call("eth_getTransactionCount", [address, "pending"]), 16)
            for index, address in self.address_of.items()
        }
        latest = self.rpc.call("eth_getBlockByNumber", ["latest", False])
        self.now = int(latest["timestamp"], 16)
        self.salt = f"{deployment.address('DataAssetRegistry')}:{seed}:{int(latest['number'], 16)}"
        self.contents = itertools.count()
        self.categories = sorted(CATEGORIES)
        self.pools: dict[int, list[Item]] = {holder: [] for holder in HOLDERS}
        # Multi-block stories, keyed by asset id until the mined logs give the record's id.
        self.granting: dict[int, tuple[int, Item]] = {}
        self.revoking: list[tuple[int, int, Item]] = []
        self.opening: dict[int, tuple[int, int, Item]] = {}
        self.freezing: list[tuple[int, int, int, Item]] = []
        self.ruling: list[tuple[int, int, int, Item]] = []
        self.noticed: list[tuple[int, Item]] = []
        self.objecting: dict[int, tuple[int, Item]] = {}
        self.resolving: list[tuple[int, Item]] = []
        self.permitted: list[tuple[int, int, Item]] = []
        self.idle_suspended = False
        self.block_count = 0
        ledger = self.ledger
        self.registry = ledger.registry.address
        registry_functions = (
            "registerParticipant",
            "suspendParticipant",
            "reinstateParticipant",
            "registerMany",
            "register",
            "transferFrom",
            "updateMetadata",
        )
        self.encode: dict[str, CallEncoder] = {
            name: ledger.registry.encoder(name) for name in registry_functions
        }
        for client, names in (
            (ledger.licenses, ("grant", "revoke")),
            (ledger.appraisals, ("appraise",)),
            (ledger.anchor, ("anchor",)),
            (ledger.office, ("accept", "object", "resolveObjection")),
            (ledger.court, ("open", "freeze", "rule")),
            (ledger.export, ("issuePermit",)),
        ):
            for name in names:
                self.encode[name] = client.encoder(name)
        self.summary = WorkloadSummary()

    # ------------------------------------------------------------ helpers
    def _hash(self, label: str) -> bytes:
        return hashlib.sha256(f"{self.salt}:{label}".encode()).digest()

    def _registration(self, parents: tuple[ParentLink, ...] = ()) -> tuple[Registration, int]:
        number = next(self.contents)
        content = self._hash(f"content:{number}")
        grade = self.random.choice((1, 1, 1, 2))
        registration = Registration(
            content_hash=content,
            metadata_uri=f"ipfs://bafyworkload{content.hex()[:24]}/metadata.json",
            metadata_hash=self._hash(f"metadata:{number}"),
            category=self.random.choice(self.categories),
            grade=grade,
            parents=parents,
        )
        return registration, grade

    def _take(self, holder: int) -> Item | None:
        pool = self.pools[holder]
        if not pool:
            return None
        index = self.random.randrange(len(pool))
        pool[index], pool[-1] = pool[-1], pool[index]
        return pool.pop()

    @staticmethod
    def _give(block: _Block, holder: int, item: Item) -> None:
        block.settle.append((holder, item))

    def _holder(self) -> int:
        return self.random.choice(list(HOLDERS))

    def _peer(self, holder: int) -> int:
        """Another holder of the same jurisdiction (every jurisdiction has several)."""
        peers = [
            other for other in HOLDERS if other != holder and HOLDERS[other] == HOLDERS[holder]
        ]
        return self.random.choice(peers)

    # ------------------------------------------------------------ blocks
    def participants(self) -> _Block:
        """The block that registers every participant."""
        block = _Block()
        for index in (*HOLDERS, IDLE):
            data = self.encode["registerParticipant"](
                self.address_of[index],
                jurisdiction_bytes(HOLDERS.get(index, "CN")),
                self._hash(f"name:{index}"),
            )
            block.add(DEV_ROLES["registrar"], self.registry, data, GAS["participant"], 1)
        return block

    def build(self) -> _Block:
        """The next block of the mix."""
        block = _Block()
        self._registrations(block)
        self._transfers(block)
        self._licenses(block)
        self._metadata(block)
        self._appraisals(block)
        self._disputes(block)
        self._office(block)
        self._permits(block)
        number, mix = self.block_count, self.mix
        if number % mix.anchor_every == 0:
            root = self._hash(f"anchor:{next(self.contents)}")
            data = self.encode["anchor"](root, self.random.randint(2, 5_000), "ipfs://bafymanifest")
            block.add(self._holder(), self.ledger.anchor.address, data, GAS["anchor"], 1)
        if number % mix.participant_every == mix.participant_every - 1:
            if self.idle_suspended:
                data = self.encode["reinstateParticipant"](self.address_of[IDLE])
            else:
                data = self.encode["suspendParticipant"](
                    self.address_of[IDLE], self._hash(f"suspend:{number}")
                )
            block.add(DEV_ROLES["registrar"], self.registry, data, GAS["participant"], 1)
            self.idle_suspended = not self.idle_suspended
        return block

    def _registrations(self, block: _Block) -> None:
        for _ in range(self.mix.batches):
            holder = self._holder()
            items = [self._registration() for _ in range(self.mix.batch_size)]
            data = self.encode["registerMany"]([item.as_tuple() for item, _ in items])
            gas = GAS["batch_per_asset"] * self.mix.batch_size + 200_000
            block.add(holder, self.registry, data, gas, 2 * self.mix.batch_size)
            for item, grade in items:
                self._give(block, holder, (asset_id(item.content_hash), grade))
        for index in range(self.mix.registrations):
            holder = self._holder()
            parent = self._take(holder) if index % 2 else None
            parents: tuple[ParentLink, ...] = ()
            if parent is not None:
                relation = self.random.choice((Relation.DERIVED_FROM, Relation.VERSION_OF))
                parents = (ParentLink(parent[0], int(relation)),)
                self._give(block, holder, parent)
            item, grade = self._registration(parents)
            data = self.encode["register"](item.as_tuple())
            block.add(holder, self.registry, data, GAS["register"], 2 + len(parents))
            self._give(block, holder, (asset_id(item.content_hash), grade))

    def _transfers(self, block: _Block) -> None:
        for _ in range(self.mix.transfers):
            holder = self._holder()
            taken = self._take(holder)
            if taken is None:
                continue
            # Grade 1 moves freely; grade 2 stays in its jurisdiction (or needs a permit).
            recipient = (
                self.random.choice([other for other in HOLDERS if other != holder])
                if taken[1] == 1
                else self._peer(holder)
            )
            data = self.encode["transferFrom"](
                self.address_of[holder], self.address_of[recipient], taken[0]
            )
            block.add(holder, self.registry, data, GAS["transfer"], 1)
            self._give(block, recipient, taken)

    def _licenses(self, block: _Block) -> None:
        licenses = self.ledger.licenses.address
        for holder, license_id, item in self.revoking:
            data = self.encode["revoke"](license_id, self._hash(f"revoke:{license_id}"))
            block.add(holder, licenses, data, GAS["revoke"], 1)
            self._give(block, holder, item)
        self.revoking = []
        for index in range(self.mix.licenses):
            holder = self._holder()
            taken = self._take(holder)
            if taken is None:
                continue
            kind = LicenseKind.PROCESSING_USE if index % 3 else LicenseKind.PRODUCT_OPERATION
            data = self.encode["grant"](
                taken[0],
                self.address_of[self._peer(holder)],
                int(kind),
                self.now + TEN_YEARS,
                self._hash(f"terms:{taken[0]}"),
                "analytics",
            )
            block.add(holder, licenses, data, GAS["license"], 1)
            if index % 2:  # revoked next block; the holder keeps the asset until then
                self.granting[taken[0]] = (holder, taken)
            else:
                self._give(block, holder, taken)

    def _metadata(self, block: _Block) -> None:
        for _ in range(self.mix.metadata):
            holder = self._holder()
            taken = self._take(holder)
            if taken is None:
                continue
            revision = next(self.contents)
            data = self.encode["updateMetadata"](
                taken[0], f"ipfs://bafyrevision{revision:08x}", self._hash(f"revision:{revision}")
            )
            block.add(holder, self.registry, data, GAS["metadata"], 1)
            self._give(block, holder, taken)

    def _appraisals(self, block: _Block) -> None:
        for _ in range(self.mix.appraisals):
            pool = self.pools[self._holder()]
            if not pool:
                continue
            data = self.encode["appraise"](
                self.random.choice(pool)[0],
                self.random.randint(1_000, 10_000_000),
                currency_bytes(self.random.choice(("CNY", "USD", "HKD"))),
                int(self.random.choice((ValuationMethod.COST, ValuationMethod.MARKET))),
                self._hash(f"report:{next(self.contents)}"),
            )
            appraiser = DEV_ROLES["appraiser"]
            block.add(appraiser, self.ledger.appraisals.address, data, GAS["appraise"], 1)

    def _disputes(self, block: _Block) -> None:
        court, arbiter = self.ledger.court.address, DEV_ROLES["arbiter"]
        rulings = (Ruling.DISMISS, Ruling.TRANSFER_TO_CLAIMANT, Ruling.CANCEL_ASSET)
        for dispute, holder, claimant, item in self.ruling:
            ruling = rulings[dispute % len(rulings)]
            data = self.encode["rule"](dispute, int(ruling), self._hash(f"ruling:{dispute}"))
            if ruling is Ruling.DISMISS:
                block.add(arbiter, court, data, GAS["dispute"], 2)
                self._give(block, holder, item)
            elif ruling is Ruling.TRANSFER_TO_CLAIMANT:
                block.add(arbiter, court, data, GAS["dispute"], 3)
                self._give(block, claimant, item)
            else:  # cancelled (status changed too): the asset never moves again
                block.add(arbiter, court, data, GAS["dispute"], 3)
        self.ruling = self.freezing
        for dispute, *_ in self.freezing:
            block.add(arbiter, court, self.encode["freeze"](dispute), GAS["dispute"], 2)
        self.freezing = []
        if self.block_count % self.mix.dispute_every == 0:
            holder = self._holder()
            taken = self._take(holder)
            if taken is not None:
                claimant = self._peer(holder)
                evidence = self._hash(f"evidence:{taken[0]}")
                block.add(
                    claimant, court, self.encode["open"](taken[0], evidence), GAS["dispute"], 1
                )
                self.opening[taken[0]] = (holder, claimant, taken)

    def _office(self, block: _Block) -> None:
        office, registrar = self.ledger.office.address, DEV_ROLES["registrar"]
        for objection, _ in self.resolving:
            data = self.encode["resolveObjection"](
                objection, False, self._hash(f"resolve:{objection}")
            )
            # The asset stays out of the pools: it can never be accepted again.
            block.add(registrar, office, data, GAS["office"], 2)
        self.resolving = []
        for holder, item in self.noticed:
            data = self.encode["object"](item[0], self._hash(f"grounds:{item[0]}"))
            block.add(self._peer(holder), office, data, GAS["office"], 2)
            self.objecting[item[0]] = (holder, item)
        self.noticed = []
        if self.block_count % self.mix.office_every == 0:
            holder = self._holder()
            taken = self._take(holder)
            if taken is not None:
                block.add(registrar, office, self.encode["accept"](taken[0]), GAS["office"], 2)
                self.noticed.append((holder, taken))

    def _permits(self, block: _Block) -> None:
        for holder, recipient, item in self.permitted:
            data = self.encode["transferFrom"](
                self.address_of[holder], self.address_of[recipient], item[0]
            )
            block.add(holder, self.registry, data, GAS["transfer"], 2)  # permit used + transfer
            self._give(block, recipient, item)
        self.permitted = []
        if self.block_count % self.mix.permit_every != 0:
            return
        for holder in self.random.sample(list(HOLDERS), len(HOLDERS)):
            important = [item for item in self.pools[holder] if item[1] == 2]
            if not important:
                continue
            item = important[0]
            self.pools[holder].remove(item)
            recipient = self.random.choice(
                [other for other in HOLDERS if HOLDERS[other] != HOLDERS[holder]]
            )
            data = self.encode["issuePermit"](
                item[0], self.address_of[recipient], self.now + TEN_YEARS
            )
            approver = DEV_ROLES["export_approver"]
            block.add(approver, self.ledger.export.address, data, GAS["permit"], 1)
            self.permitted.append((holder, recipient, item))
            return

    # ------------------------------------------------------------ mining
    def mine(self, block: _Block) -> None:
        """Send the block's transactions, seal them in one block, check what it emitted."""
        calls: list[tuple[str, list[Any]]] = []
        for tx in block.txs:
            nonce = self.nonces[tx.sender]
            self.nonces[tx.sender] = nonce + 1
            calls.append(
                (
                    "eth_sendTransaction",
                    [
                        {
                            "from": self.address_of[tx.sender],
                            "to": tx.to,
                            "data": "0x" + tx.data.hex(),
                            "gas": hex(tx.gas),
                            "nonce": hex(nonce),
                            "maxFeePerGas": hex(MAX_FEE_WEI),
                            "maxPriorityFeePerGas": "0x0",
                        }
                    ],
                )
            )
        hashes = self.rpc.batch(calls)
        self.rpc.call("evm_mine", [])
        latest = self.rpc.call("eth_getBlockByNumber", ["latest", False])
        number = int(latest["number"], 16)
        self.now = int(latest["timestamp"], 16)
        if sorted(latest["transactions"]) != sorted(hashes):
            raise RuntimeError(
                f"block {number} holds {len(latest['transactions'])} of the {len(hashes)} "
                "transactions sent (block gas limit?)"
            )
        logs = self.rpc.call(
            "eth_getLogs",
            [{"fromBlock": hex(number), "toBlock": hex(number), "address": self.addresses}],
        )
        expected = sum(tx.events for tx in block.txs)
        if len(logs) != expected:
            self._explain(number, hashes, block, len(logs), expected)
        for log in logs:
            topic0 = bytes.fromhex(log["topics"][0][2:])
            name = EVENT_NAMES.get(topic0, topic0.hex())
            self.summary.by_event[name] = self.summary.by_event.get(name, 0) + 1
            self._follow(name, log["topics"])
        for holder, item in block.settle:
            if len(self.pools[holder]) < POOL_CAP:
                self.pools[holder].append(item)
        if self.summary.first_block < 0:
            self.summary.first_block = number
        self.summary.last_block = number
        self.summary.blocks += 1
        self.summary.transactions += len(block.txs)
        self.summary.events += len(logs)
        self.block_count += 1

    def _follow(self, name: str, topics: Sequence[str]) -> None:
        """Pick up the ids the next steps of a story need from this block's logs."""
        if name not in ("LicenseGranted", "DisputeOpened", "ObjectionLodged"):
            return
        record, asset = int(topics[1], 16), int(topics[2], 16)
        if name == "LicenseGranted" and asset in self.granting:
            holder, item = self.granting.pop(asset)
            self.revoking.append((holder, record, item))
        elif name == "DisputeOpened":
            holder, claimant, item = self.opening.pop(asset)
            self.freezing.append((record, holder, claimant, item))
        elif name == "ObjectionLodged":
            _, item = self.objecting.pop(asset)
            self.resolving.append((record, item))

    def _explain(
        self, number: int, hashes: Sequence[str], block: _Block, found: int, expected: int
    ) -> None:
        receipts = self.rpc.batch([("eth_getTransactionReceipt", [tx]) for tx in hashes])
        wrong = [
            f"tx {index} (to {tx.to}, selector 0x{tx.data[:4].hex()}): status {receipt['status']}, "
            f"{len(receipt['logs'])} logs, {tx.events} expected"
            for index, (tx, receipt) in enumerate(zip(block.txs, receipts, strict=True))
            if receipt["status"] != "0x1" or len(receipt["logs"]) != tx.events
        ]
        raise RuntimeError(
            f"block {number} emitted {found} logs, {expected} expected: " + "; ".join(wrong[:5])
        )


def generate(
    url: str, deployment: Deployment, events: int, *, seed: int = 0, mix: Mix | None = None
) -> WorkloadSummary:
    """Put at least ``events`` events of the mix on the anvil node at ``url``.

    The first block registers the participants unless they already are (a second call on the
    same deployment adds more of the mix). Automine is off while generating, on afterwards.
    """
    generator = _Generator(url, deployment, seed, mix or Mix())
    started = time.perf_counter()
    generator.rpc.call("evm_setAutomine", [False])
    try:
        idle = generator.ledger.registry.participant(generator.address_of[IDLE])
        if idle.status is ParticipantStatus.NONE:
            generator.mine(generator.participants())
        while generator.summary.events < events:
            generator.mine(generator.build())
    finally:
        generator.rpc.call("evm_setAutomine", [True])
    generator.summary.seconds = time.perf_counter() - started
    return generator.summary
