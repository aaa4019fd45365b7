"""The driver: sends each action to the chain and holds the chain to the model's prediction.

For every action the model predicts either the exact events or the exact custom error with all
its arguments; :meth:`Driver.act` sends the action and compares. :meth:`Driver.check_state` reads
every view the model can predict (:mod:`contracts.machine.checks`) in one call and holds the
chain to two conservation laws: the market holds exactly what it owes plus the open bids, and
the machine's accounts, the market and the gas they paid add up to what the accounts held when
the example started (no money appears or vanishes).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from functools import partial
from typing import Final, TypeVar

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from hypothesis import event
from web3 import Web3
from web3.types import BlockData

from contracts.machine.checks import Check, market_checks, registry_checks, total_answer
from contracts.machine.views import Aggregator, ViewCall, Views
from contracts.model.market import BidRecord, OfferRecord, Rules
from contracts.model.records import (
    UNKNOWN_ASSET,
    ZERO_ADDRESS,
    AssetRecord,
    ExpectedRevertError,
    ParticipantRecord,
)
from helpers.builders import doc
from helpers.world import NOTICE_PERIOD, World
from provledger.chain.client import Provledger
from provledger.chain.enums import AssetStatus, OfferKind, OfferStatus, ParticipantStatus
from provledger.chain.events import Event, TradeSettled
from provledger.chain.reverts import ContractRevertError
from provledger.chain.transactions import Receipt
from provledger.chain.types import Registration

T = TypeVar("T")

#: Actor name -> dev account index and jurisdiction of the participants the machine uses on top
#: of the World's five.
EXTRA_PARTICIPANTS: Final = {"frank": (12, "HK"), "grace": (13, "US")}
PARTICIPANT_NAMES: Final = ("alice", "bob", "carol", "dave", "erin", "frank", "grace")
ACTORS: Final = (*PARTICIPANT_NAMES, "stranger")
RECIPIENTS: Final = (*ACTORS, "zero")


class GasLedger:
    """What the machine's accounts paid for gas since a base block, from each block's receipts.

    Kept per block hash and summed along the parent hashes from the latest block back to the
    base, so that blocks a reorganisation replaced (the end-to-end test makes some) are not
    counted, and every block is read once.
    """

    def __init__(self, w3: Web3, accounts: frozenset[ChecksumAddress]) -> None:
        self.w3 = w3
        self.accounts = accounts
        self.base = 0
        #: Block hash -> the gas paid from the base up to that block.
        self.paid: dict[bytes, int] = {}
        #: The addresses the transactions read since :meth:`take_recipients` were sent to.
        self.recipients: set[ChecksumAddress] = set()

    def reset(self, block: BlockData) -> None:
        """Count from ``block`` on."""
        self.base = int(block["number"])
        self.paid = {bytes(block["hash"]): 0}
        self.recipients = set()

    def paid_up_to(self, block: BlockData) -> int:
        """The gas paid after the base up to ``block`` (read with full transactions)."""
        unread: list[BlockData] = []
        known = bytes(block["hash"])
        while known not in self.paid:
            assert int(block["number"]) > self.base, "the base block was reorganised away"
            unread.append(block)
            known = bytes(block["parentHash"])
            if known not in self.paid:
                block = self.w3.eth.get_block(HexBytes(known), full_transactions=True)
        paid = self.paid[known]
        for later in reversed(unread):
            paid += self.fees(later)
            self.paid[bytes(later["hash"])] = paid
        return paid

    def fees(self, block: BlockData) -> int:
        """``gasUsed * effectiveGasPrice`` of each transaction of ``block``.

        The priority fee goes to the block's coinbase (the zero address on eth-tester and
        anvil, which pay no block reward): it must not be an account the machine sums.
        """
        assert Web3.to_checksum_address(block["miner"]) not in self.accounts
        paid = 0
        for transaction in block["transactions"]:
            assert not isinstance(transaction, bytes), "read the block with full transactions"
            sender = Web3.to_checksum_address(transaction["from"])
            assert sender in self.accounts, f"{sender} sent a transaction but is not counted"
            if transaction["to"] is not None:
                self.recipients.add(Web3.to_checksum_address(transaction["to"]))
            receipt = self.w3.eth.get_transaction_receipt(transaction["hash"])
            paid += int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
        return paid

    def take_recipients(self) -> set[ChecksumAddress]:
        """The addresses transactions were sent to since the last call."""
        recipients, self.recipients = self.recipients, set()
        return recipients


def attempt(send: Callable[[], Receipt]) -> Receipt | ContractRevertError:
    """The receipt of ``send()``, or the revert it raised."""
    try:
        return send()
    except ContractRevertError as error:
        return error


class Driver:
    """Sends each action to the chain and holds the chain to the model's prediction."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clients: dict[str, Provledger] = {
            "alice": world.alice,
            "bob": world.bob,
            "carol": world.carol,
            "dave": world.dave,
            "erin": world.erin,
            "stranger": world.stranger,
        }
        self.clients |= {name: world.actor(i) for name, (i, _) in EXTRA_PARTICIPANTS.items()}
        self.clients["admin"] = world.admin  # sets the fee, and may be paid it
        self.addresses: dict[str, ChecksumAddress] = {
            name: client.address for name, client in self.clients.items()
        }
        self.addresses["zero"] = ZERO_ADDRESS
        self.market = world.deployment.address("DataMarket")
        #: Every account that sends transactions in the machine: the actors, the admin, the
        #: authorities. Their balances, the market's and the gas they paid add up to a constant.
        self.accounts: tuple[ChecksumAddress, ...] = tuple(
            dict.fromkeys(
                [
                    *(client.address for client in self.clients.values()),
                    world.registrar.address,
                    world.arbiter.address,
                    world.exporter.address,
                ]
            )
        )
        #: Whether a Hypothesis example is running (to record outcome statistics).
        self.recording = False
        #: The latest block hash and the model at the last successful check.
        self.last_checked: tuple[bytes, Rules] | None = None
        self.views = Views(world.deployment)
        self.aggregator = Aggregator(world)
        self.gas = GasLedger(world.w3, frozenset(self.accounts))
        #: The accounts' and the market's balances when the ledger started.
        self.money_at_start = 0
        #: Whether a transaction went to the market since its views were last read.
        self.market_due = True
        self.start_ledger()
        self.model = Rules(
            registrar=world.registrar.address,
            arbiter=world.arbiter.address,
            exporter=world.exporter.address,
            market=self.market,
            notice_period=NOTICE_PERIOD,
            categories=frozenset(world.deployment.categories),
        )
        # The World registered five participants before the model existed: take them as given.
        for name in ("alice", "bob", "carol", "dave", "erin"):
            state = world.registrar.registry.participant(self.addresses[name])
            self.model.participants[state.account] = ParticipantRecord(
                state.jurisdiction.encode(), state.status, state.registered_at, state.name_hash
            )
        for name, (_, jurisdiction) in EXTRA_PARTICIPANTS.items():
            self.register_participant(self.addresses[name], jurisdiction, doc(f"name of {name}"))

    def register(self, who: Provledger, item: Registration) -> Receipt | None:
        """Register ``item`` as ``who``, as the model predicts."""
        return self.act(
            lambda m, now: m.register(who.address, item, now),
            lambda: who.registry.register(item),
        )

    def register_participant(
        self, account: ChecksumAddress, jurisdiction: str, name_hash: bytes
    ) -> None:
        """Register a participant, as the model predicts."""
        self.act(
            lambda m, now: m.register_participant(account, jurisdiction, name_hash, now),
            lambda: self.world.registrar.registry.register_participant(
                account, jurisdiction, name_hash
            ),
        )

    def now(self) -> int:
        return self.world.chain.timestamp()

    def money(self) -> ViewCall:
        """The balances of the machine's accounts and of the market."""
        return self.aggregator.balances(
            "the accounts' and the market's", [*self.accounts, self.market]
        )

    def start_ledger(self) -> None:
        """Count money and gas from the latest block on (at the start of each example)."""
        self.gas.reset(self.world.w3.eth.get_block("latest"))
        self.money_at_start = total_answer(self.aggregator.read([self.money()]))
        self.market_due = True

    def advance(self, seconds: int) -> None:
        """Move the latest block's time forward by exactly ``seconds``.

        eth-tester's time travel mines its block a second before the time asked for, so
        ``DevChain.advance`` lands one second short there; one more block makes it exact, which
        keeps every deadline on the whole-hour grid the model relies on.
        """
        target = self.now() + seconds
        self.world.chain.advance(seconds)
        if self.now() < target:
            self.world.chain.mine()
        assert self.now() == target

    def act(
        self,
        predict: Callable[[Rules, int], list[Event]],
        send: Callable[[], Receipt],
    ) -> Receipt | None:
        """Predict on a copy of the model, send, and compare; on success update the model."""
        prediction: ExpectedRevertError | None = None
        try:
            predict(copy.deepcopy(self.model), self.now())
        except ExpectedRevertError as expected:
            prediction = expected
        outcome = attempt(send)
        if prediction is not None:
            assert isinstance(outcome, ContractRevertError), (
                f"the model expected {prediction}, the chain succeeded with {outcome.events}"
            )
            assert (outcome.name, outcome.args_by_name) == (
                prediction.name,
                prediction.args_by_name,
            ), f"the model expected {prediction}, the chain {outcome}"
            self.record(f"reverted with {prediction.name}")
            return None
        assert not isinstance(outcome, ContractRevertError), (
            f"the model expected success, the chain {outcome}"
        )
        receipt = outcome
        mined_at = int(self.world.w3.eth.get_block(receipt.block_number)["timestamp"])
        moves = len(self.model.moves)
        assert list(receipt.events) == predict(self.model, mined_at)
        for move in self.model.moves[moves:]:
            move.block = receipt.block_number
        self.record(f"emitted {type(receipt.events[0]).__name__}")
        for settled in receipt.events_of(TradeSettled):
            how = "an accepted bid" if settled.bid_id else "a purchase"
            self.record(f"settled a trade of {settled.kind.name.lower()} by {how}")
        return receipt

    def record(self, outcome: str) -> None:
        """Count ``outcome`` in Hypothesis' statistics (``--hypothesis-show-statistics``)."""
        if self.recording:
            event(outcome)

    # -- the invariant

    def checks(self, now: int, gas_paid: int, market: bool = True) -> list[Check]:
        """Everything the model knows, as view calls and expected answers; and the money.

        The market's own views only if ``market``: only a transaction sent to the market can
        change its storage (no contract of the deployment calls it).
        """
        m = self.model
        checks = registry_checks(m, self.views, self.market, now)
        checks += market_checks(m, self.views, self.accounts) if market else []
        owed = sum(m.owed.values())
        return [
            *checks,
            # The market holds what it owes and the open bids: no more, no less.
            Check(
                (self.aggregator.balances("the market's", [self.market]),),
                total_answer,
                owed + m.escrowed(),
            ),
            # Money moves between the accounts and the market, and leaves only as gas.
            Check((self.money(),), total_answer, self.money_at_start - gas_paid),
        ]

    def check_state(self) -> None:
        """Every view the model can predict answers as the model says.

        A reverted action changes neither the chain (it was only estimated, no block was mined)
        nor the model, so when the latest block and the model are those of the last check the
        answer is known and the views are not read again.
        """
        latest = self.world.w3.eth.get_block("latest", full_transactions=True)
        if self.last_checked == (bytes(latest["hash"]), self.model):
            return
        gas_paid = self.gas.paid_up_to(latest)
        self.market_due |= self.market in self.gas.take_recipients()
        checks = self.checks(int(latest["timestamp"]), gas_paid, market=self.market_due)
        answers = self.aggregator.read([call for check in checks for call in check.calls])
        cursor = 0
        disagreements: list[str] = []
        for check in checks:
            actual = check.build(answers[cursor : cursor + len(check.calls)])
            cursor += len(check.calls)
            if actual != check.expected:
                disagreements.append(
                    f"{check.calls[0].label}: chain {actual!r} != model {check.expected!r}"
                )
        assert not disagreements, "\n".join(disagreements)
        self.last_checked = (bytes(latest["hash"]), copy.deepcopy(self.model))
        self.market_due = False

    # -- picking things

    def choose(
        self, items: Sequence[T], pick: int, aim: bool, good: Callable[[T], bool]
    ) -> T | None:
        """Item ``pick`` (modulo) among those ``good`` says an action may succeed on when
        ``aim``, among the others when not (to test the refusals), among all if that is none."""
        pool = [item for item in items if good(item) is aim] or list(items)
        return pool[pick % len(pool)] if pool else None

    def asset(
        self, pick: int, aim: bool = False, good: Callable[[AssetRecord], bool] = lambda r: True
    ) -> int:
        """An asset of the model, or an unregistered id when there is none."""
        record = self.choose(list(self.model.assets.values()), pick, aim, good)
        return record.asset_id if record is not None else UNKNOWN_ASSET

    def number(self, items: Sequence[T], pick: int, aim: bool, good: Callable[[T], bool]) -> int:
        """A 1-based id among ``items`` (an unused one, 0 < id, when ``pick`` is negative)."""
        if pick < 0 or not items:
            return len(items) + 1
        chosen = self.choose(range(1, len(items) + 1), pick, aim, lambda i: good(items[i - 1]))
        assert chosen is not None
        return chosen

    def holder_client(self, asset: int, by_holder: bool, other: str) -> Provledger:
        """The holder of ``asset`` if ``by_holder`` (and there is one), else ``other``."""
        record = self.model.assets.get(asset)
        if by_holder and record is not None:
            for name, address in self.addresses.items():
                if address == record.holder:
                    return self.clients[name]
        return self.clients[other]

    def client(self, name: str) -> Provledger:
        return self.clients[name]

    def active(self, name: str, aim: bool, but: ChecksumAddress = ZERO_ADDRESS) -> str:
        """``name``, or when aiming an active participant other than ``but`` (if any)."""
        pool = [
            other
            for other in PARTICIPANT_NAMES
            if self.is_active(self.addresses[other]) and self.addresses[other] != but
        ]
        if not aim or not pool or name in pool:
            return name
        return pool[sum(map(ord, name)) % len(pool)]

    def is_active(self, account: ChecksumAddress) -> bool:
        return self.model.participant(account).status is ParticipantStatus.ACTIVE

    def movable(self, record: AssetRecord) -> bool:
        """Whether the model lets the holder move the asset at all (recipients aside)."""
        return (
            record.status not in (AssetStatus.REJECTED, AssetStatus.CANCELLED)
            and not record.freezes
            and not record.open_objections
            and self.is_active(record.holder)
        )

    def may_receive(self, record: AssetRecord, name: str) -> bool:
        """Whether ``name`` could receive the asset under the jurisdiction rules."""
        to = self.addresses[name]
        if not self.is_active(to):
            return False
        here = self.model.participant(record.holder).jurisdiction
        if self.model.participant(to).jurisdiction == here or record.grade == 1:
            return True
        permit = self.model.permits.get((record.asset_id, to))
        return record.grade == 2 and permit is not None and not (permit.used or permit.revoked)

    def name_of(self, account: ChecksumAddress | None, other: str = "stranger") -> str:
        """The name of ``account`` if it has one, else ``other``."""
        for name, address in self.addresses.items():
            if address == account:
                return name
        return other

    def client_at(self, account: ChecksumAddress | None, other: str) -> Provledger:
        """The client of ``account`` if there is one, else ``other``."""
        return self.clients[self.name_of(account, other)]

    def sellable(self, now: int, offer: OfferRecord) -> bool:
        """Whether the model lets someone buy from ``offer`` at ``now`` (buyers aside)."""
        record = self.model.assets[offer.asset_id]
        if (
            offer.status is not OfferStatus.OPEN
            or offer.expires_at <= now
            or record.holder != offer.seller
        ):
            return False
        if offer.kind is OfferKind.ASSET:
            return offer.asset_id in self.model.approved and self.movable(record)
        return self.licensable(record) and not record.open_objections

    def licensable(self, record: AssetRecord) -> bool:
        """Whether the model lets the holder license the asset (licensees aside)."""
        return (
            record.status not in (AssetStatus.REJECTED, AssetStatus.CANCELLED)
            and not record.freezes
            and self.is_active(record.holder)
        )

    def may_buy(self, offer: OfferRecord, name: str) -> bool:
        """Whether ``name`` could take delivery of what ``offer`` sells (a license sale follows
        the jurisdiction rules of a transfer)."""
        if self.addresses[name] == offer.seller:
            return False
        return self.may_receive(self.model.assets[offer.asset_id], name)

    def offer_of(self, number: int) -> OfferRecord | None:
        offers = self.model.offers
        return offers[number - 1] if number <= len(offers) else None

    def bid_of(self, number: int) -> BidRecord | None:
        bids = self.model.bids
        return bids[number - 1] if number <= len(bids) else None

    def buyer(self, offer: OfferRecord | None, name: str, pick: int, aim: bool) -> str:
        """``name``, or when aiming someone who could take delivery from ``offer``."""
        if not aim or offer is None:
            return name
        chosen = self.choose(PARTICIPANT_NAMES, pick, True, partial(self.may_buy, offer))
        assert chosen is not None
        return chosen
