"""Gas measurements of the contract operations, with the budgets the project holds them to.

``make gas`` (``scripts/gas_report.py``) runs :func:`measure_all` on a fresh anvil node and
prints a table and one ``budget <operation> <measured> <limit> ok|over`` line per budget.
Budgeted figures are medians over ``samples`` operations sent by one account.
"""

from __future__ import annotations

import hashlib
import itertools
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3

from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.artifacts import artifact_names, load_artifact
from provledger.chain.client import CheckpointClient, Provledger
from provledger.chain.connection import DevChain
from provledger.chain.deploy import deploy, deploy_checkpoint, dev_role_grants
from provledger.chain.enums import LicenseKind, RegistrationType, Ruling, ValuationMethod
from provledger.chain.events import (
    AssetRegistered,
    BidPlaced,
    DisputeOpened,
    LicenseGranted,
    OfferCreated,
)
from provledger.chain.transactions import Receipt, Sender
from provledger.chain.types import ParentLink, Registration
from provledger.merkle import StandardMerkleTree

#: operation -> gas limit. Per-asset and per-leaf figures divide one transaction's gas.
BUDGETS: Final[dict[str, int]] = {
    "register": 130_000,
    "transfer": 70_000,
    "anchor-1000-per-leaf": 100,
    "register-signed": 160_000,
    "register-many-100-per-asset": 90_000,
    "purchase-erc20": 150_000,
    "checkpoint": 80_000,
}
#: EIP-170 limit on deployed code.
MAX_RUNTIME_SIZE: Final = 24_576
BATCH_SIZE: Final = 100
ANCHOR_LEAVES: Final = 1_000
#: Source blocks per measured checkpoint.
CHECKPOINT_BLOCKS: Final = 256
#: The source chain the measured checkpoints are of (made up: its blocks are never read).
CHECKPOINT_SOURCE: Final = 1
NOTICE_PERIOD: Final = 3600
#: The ABI types of a source block's leaf in a checkpoint's tree: its number and hash.
CHECKPOINT_LEAF_TYPES: Final = ("uint256", "bytes32")
#: Selector of the harness token's ``mint(address,uint256)``.
MINT_SELECTOR: Final = keccak(b"mint(address,uint256)")[:4]


@dataclass
class Measurement:
    """Gas of one operation over several samples."""

    operation: str
    samples: list[int] = field(default_factory=list)
    divisor: int = 1
    """Per-unit figures (per asset, per leaf) divide each sample by this."""

    @property
    def median(self) -> int:
        """Median of the per-unit samples, rounded down."""
        return int(statistics.median(sample / self.divisor for sample in self.samples))

    @property
    def minimum(self) -> int:
        """Smallest per-unit sample."""
        return min(self.samples) // self.divisor

    @property
    def maximum(self) -> int:
        """Largest per-unit sample."""
        return max(self.samples) // self.divisor


@dataclass(frozen=True)
class BudgetLine:
    """A budgeted operation's verdict."""

    operation: str
    measured: int
    limit: int

    @property
    def ok(self) -> bool:
        """Whether the measurement is within the limit."""
        return self.measured <= self.limit

    def render(self) -> str:
        """``budget <operation> <measured> <limit> ok|over``."""
        return f"budget {self.operation} {self.measured} {self.limit} {'ok' if self.ok else 'over'}"


def _content(seed: str) -> Iterator[bytes]:
    for index in itertools.count():
        yield hashlib.sha256(f"{seed}:{index}".encode()).digest()


def _registration(content: bytes, parents: tuple[ParentLink, ...] = ()) -> Registration:
    return Registration(
        content_hash=content,
        metadata_uri=f"ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/{content.hex()[:8]}",
        metadata_hash=hashlib.sha256(b"metadata" + content).digest(),
        category=301,
        grade=1,
        parents=parents,
    )


class GasBench:
    """A deployment with authorities and participants, and the measurements made on it."""

    def __init__(self, w3: Web3, token_code: bytes, samples: int = 100) -> None:
        """``token_code``: creation code of an ERC-20 with ``mint(address,uint256)``, the
        currency of the measured purchases (the test harness ``TestToken``)."""
        self.w3 = w3
        self.samples = samples
        self.token_code = token_code
        self.chain = DevChain(w3)
        admin_account = dev_account(DEV_ROLES["admin"])
        grants = dev_role_grants()
        self.deployment = deploy(w3, admin_account, notice_period=NOTICE_PERIOD, grants=grants)
        self.admin = Provledger(w3, self.deployment, admin_account)
        self.admin_sender = Sender(w3, admin_account)
        self.registrar = self.admin.as_account(dev_account(DEV_ROLES["registrar"]))
        self.appraiser = self.admin.as_account(dev_account(DEV_ROLES["appraiser"]))
        self.arbiter = self.admin.as_account(dev_account(DEV_ROLES["arbiter"]))
        self.exporter = self.admin.as_account(dev_account(DEV_ROLES["export_approver"]))
        self.holder = self.admin.as_account(dev_account(5))
        self.buyer = self.admin.as_account(dev_account(6))
        self.foreign = self.admin.as_account(dev_account(7))
        self.relayer = self.admin.as_account(dev_account(11))
        for who, jurisdiction in ((self.holder, "CN"), (self.buyer, "CN"), (self.foreign, "US")):
            self.registrar.registry.register_participant(who.address, jurisdiction)
        self.contents = _content("gas")
        self.measurements: dict[str, Measurement] = {}

    def record(self, operation: str, receipt: Receipt, divisor: int = 1) -> Receipt:
        """Add ``receipt``'s gas to ``operation``."""
        measurement = self.measurements.setdefault(
            operation, Measurement(operation, divisor=divisor)
        )
        measurement.samples.append(receipt.gas_used)
        return receipt

    def repeat(self, operation: str, action: Callable[[], Receipt], divisor: int = 1) -> None:
        """Run ``action`` ``samples`` times, recording each."""
        for _ in range(self.samples):
            self.record(operation, action(), divisor)

    def register_one(self, operation: str | None = None) -> int:
        """Register a fresh asset as the holder (recording its gas under ``operation``)."""
        receipt = self.holder.registry.register(_registration(next(self.contents)))
        if operation is not None:
            self.record(operation, receipt)
        return receipt.event(AssetRegistered).asset_id

    def measure_budgeted(self) -> None:
        """The budgeted operations (:data:`BUDGETS`)."""
        assets = [self.register_one("register") for _ in range(self.samples)]
        # The buyer already holds an asset, so its balance slot is non-zero: a repeat buyer.
        self.holder.registry.transfer(self.register_one(), self.buyer.address)
        for asset in assets:
            self.record("transfer", self.holder.registry.transfer(asset, self.buyer.address))

        for _ in range(self.samples):
            leaves = [next(self.contents) for _ in range(ANCHOR_LEAVES)]
            tree = StandardMerkleTree.batch(leaves)
            receipt = self.holder.anchor.anchor(tree.root, ANCHOR_LEAVES, "ipfs://manifest")
            self.record("anchor-1000-per-leaf", receipt, divisor=ANCHOR_LEAVES)

        deadline = self.chain.timestamp() + 3600
        nonce = self.holder.registry.nonce(self.holder.address)
        assert self.holder.account is not None
        for index in range(self.samples):
            signed = self.relayer.registry.sign(
                _registration(next(self.contents)),
                self.holder.account,
                deadline=deadline,
                nonce=nonce + index,
            )
            self.record("register-signed", self.relayer.registry.register_with_signature(signed))

        for _ in range(self.samples):
            batch = [_registration(next(self.contents)) for _ in range(BATCH_SIZE)]
            receipt = self.holder.registry.register_many(batch)
            self.record("register-many-100-per-asset", receipt, divisor=BATCH_SIZE)

        self.measure_purchases()
        self.measure_checkpoints()

    def measure_checkpoints(self) -> None:
        """Checkpoints of 256 source blocks each, none the first of its source chain (the first
        also writes the head's slots from zero), each under the real block-hash tree root: one
        ``(uint256 number, bytes32 hash)`` leaf per block."""
        address = deploy_checkpoint(self.w3, self.admin_sender)
        checkpoints = CheckpointClient(self.w3, address, self.admin_sender)
        hashes = _content("source-block")
        parent, first = next(hashes), 20_000_000  # a mainnet-sized block number
        for index in range(self.samples + 1):
            numbers = range(first, first + CHECKPOINT_BLOCKS)
            leaves = [(number, next(hashes)) for number in numbers]
            root = StandardMerkleTree.of(leaves, CHECKPOINT_LEAF_TYPES).root
            last, last_hash = leaves[-1]
            receipt = checkpoints.submit(CHECKPOINT_SOURCE, first, last, parent, last_hash, root)
            if index > 0:
                self.record("checkpoint", receipt)
            parent, first = last_hash, last + 1

    def _deploy_token(self) -> ChecksumAddress:
        receipt = self.admin_sender.send(None, self.token_code)
        created = self.w3.eth.get_transaction_receipt(HexBytes(receipt.tx_hash))["contractAddress"]
        if created is None:
            raise RuntimeError("creating the token returned no contract address")
        token = Web3.to_checksum_address(created)
        self.admin.market.set_currency_listed(token)
        data = MINT_SELECTOR + abi_encode(["address", "uint256"], [self.buyer.address, 10**30])
        self.admin_sender.send(token, bytes(data))
        return token

    def measure_purchases(self) -> None:
        """Assets bought with an ERC-20 at their price, a 2.5% platform fee taken: a repeat
        buyer (it holds assets, tokens and an allowance that each purchase spends)."""
        market = self.deployment.address("DataMarket")
        token = self._deploy_token()
        self.admin.market.set_fee(self.admin.address, 250)
        price = 10**18
        self.buyer.market.token(token).approve(market, price * (self.samples + 2))
        expires = self.chain.timestamp() + 30 * 86400
        offers = []
        for _ in range(self.samples + 2):
            asset = self.register_one()
            self.holder.registry.approve(market, asset)
            receipt = self.holder.market.list_asset(asset, price, expires, currency=token)
            offers.append(receipt.event(OfferCreated).offer_id)
        # The first purchase creates the market's token balance and the trade counter.
        self.buyer.market.buy(offers[0])
        for offer in offers[1:-1]:
            self.record("purchase-erc20", self.buyer.market.buy(offer))
        # Unbudgeted, for the table: once seller and fee recipient have withdrawn everything,
        # the next sale credits both from zero (two fresh storage slots).
        self.holder.market.withdraw(token)
        self.admin.market.withdraw(token)
        self.record("purchase-erc20-after-withdrawals", self.buyer.market.buy(offers[-1]))

    def measure_others(self) -> None:
        """One sample of every other operation, for the table."""
        parent = self.register_one()
        child_content = next(self.contents)
        self.record(
            "register-derived-1-parent",
            self.holder.registry.register(_registration(child_content, (ParentLink(parent, 1),))),
        )
        asset = self.register_one()
        self.record("review-accept", self.registrar.office.accept(asset))
        self.record("objection-lodge", self.buyer.office.object(asset, b"\x01" * 32))
        self.record(
            "objection-resolve", self.registrar.office.resolve_objection(1, False, b"\x02" * 32)
        )
        self.chain.advance(NOTICE_PERIOD)
        self.record(
            "certify-initial",
            self.registrar.office.certify(asset, b"\x03" * 32, RegistrationType.INITIAL),
        )
        self.record(
            "metadata-update",
            self.holder.registry.update_metadata(asset, "ipfs://revised", b"\x04" * 32),
        )
        expires = self.chain.timestamp() + 86400
        receipt = self.record(
            "license-grant",
            self.holder.licenses.grant(
                asset, self.buyer.address, LicenseKind.PROCESSING_USE, expires, b"\x05" * 32, "all"
            ),
        )
        self.record(
            "license-revoke",
            self.holder.licenses.revoke(receipt.event(LicenseGranted).license_id, b"\x06" * 32),
        )
        self.record(
            "appraise",
            self.appraiser.appraisals.appraise(
                asset, 1_000_000, "CNY", ValuationMethod.MARKET, b"\x07" * 32
            ),
        )
        important = (
            self.holder.registry.register(
                Registration(next(self.contents), "ipfs://x", b"\x08" * 32, 301, 2)
            )
            .event(AssetRegistered)
            .asset_id
        )
        self.record(
            "export-permit-issue",
            self.exporter.export.issue_permit(important, self.foreign.address, expires),
        )
        self.record(
            "transfer-cross-border-permit",
            self.holder.registry.transfer(important, self.foreign.address),
        )
        opened = self.record("dispute-open", self.buyer.court.open(asset, b"\x09" * 32))
        dispute = opened.event(DisputeOpened).dispute_id
        self.record("dispute-freeze", self.arbiter.court.freeze(dispute))
        self.record(
            "dispute-rule-dismiss", self.arbiter.court.rule(dispute, Ruling.DISMISS, b"\x0a" * 32)
        )
        self.record("cancel", self.holder.registry.cancel(asset, b"\x0b" * 32))
        self.measure_market_others()
        leaves = [next(self.contents) for _ in range(8)]
        tree = StandardMerkleTree.batch(leaves)
        self.holder.anchor.anchor(tree.root, len(leaves), "ipfs://manifest")
        self.record(
            "promote-leaf",
            self.holder.anchor.promote(tree.root, tree.proof(0), _registration(tree.at(0)[0])),
        )

    def measure_market_others(self) -> None:
        """One sample of each market operation in the native currency."""
        market = self.deployment.address("DataMarket")
        expires = self.chain.timestamp() + 86400
        asset = self.register_one()
        self.holder.registry.approve(market, asset)
        listed = self.record("market-list-asset", self.holder.market.list_asset(asset, 10, expires))
        self.record(
            "market-buy-native",
            self.buyer.market.buy(listed.event(OfferCreated).offer_id, value=10),
        )
        asset = self.register_one()
        offered = self.record(
            "market-offer-license",
            self.holder.market.offer_license(
                asset,
                LicenseKind.PROCESSING_USE,
                86400,
                b"\x0c" * 32,
                "all",
                10,
                expires,
                min_bid=5,
            ),
        )
        offer = offered.event(OfferCreated).offer_id
        self.record("market-buy-license", self.buyer.market.buy(offer, value=10))
        bid = self.record("market-bid", self.foreign.market.bid(offer, 6, expires, value=6))
        self.record("market-accept-bid", self.holder.market.accept_bid(bid.event(BidPlaced).bid_id))
        again = self.foreign.market.bid(offer, 7, expires, value=7).event(BidPlaced).bid_id
        self.record("market-cancel-bid", self.foreign.market.cancel_bid(again))
        self.record("market-withdraw-native", self.holder.market.withdraw())


def runtime_sizes() -> dict[str, int]:
    """Deployed code size in bytes of every artifact."""
    return {
        name: (len(load_artifact(name).deployed_bytecode) - 2) // 2 for name in artifact_names()
    }


def budget_lines(bench: GasBench) -> list[BudgetLine]:
    """The verdict of every gas budget and every code-size limit."""
    lines = [
        BudgetLine(operation, bench.measurements[operation].median, limit)
        for operation, limit in BUDGETS.items()
    ]
    lines += [
        BudgetLine(f"runtime-size-{name}", size, MAX_RUNTIME_SIZE)
        for name, size in runtime_sizes().items()
    ]
    return lines
