"""Model-based test: random sequences of actions, a Python model of the rules, the real chain.

Hypothesis drives registrations (single and batched, valid or not), transfers (within and
across jurisdictions, with and without export permits), the review procedure (accept, reject,
object, resolve, certify), licenses (granted, revoked, expired), disputes (opened, frozen,
ruled all three ways), cancellations, metadata revisions, participant suspensions, the
market (approvals, asset listings and license offers, purchases, counter-bids placed, cancelled
and accepted, withdrawals, the platform fee) and the clock. For every action the model
:class:`Rules` predicts either the exact events or the exact custom error with all its
arguments; the chain must do exactly that. After every step an invariant reads every asset,
participant, license, dispute, objection, permit, offer, bid and balance owed back through the
contracts' view functions and compares them with the model, and holds the chain to two
conservation laws: the market holds exactly what it owes plus the open bids, and the machine's
accounts, the market and the gas they paid add up to what the accounts held when the example
started (no money appears or vanishes). An asset changes holder only in :meth:`Rules._move`:
a transfer, a ruling or a trade.

Time: the model decides time-dependent rules with the latest block's timestamp, while a
transaction runs up to a few seconds later. Every duration here (notice period, license and
permit expiries, clock advances, which are made exact on both backends) is a whole number of
hours, so no deadline can fall in those few seconds and both give the same answer; errors that
carry the current time accept a value up to :data:`CLOCK_SLACK` seconds after the latest block.

Hypothesis' statistics (``--hypothesis-show-statistics``) list how often each outcome occurred.

Reading ~100 views one by one after every step would dominate the run (web3 and eth-tester
spend milliseconds per call), so the invariant reads them in one ``eth_call`` through a small
Solidity harness (``contracts/test/ModelViews.sol``, compiled into tests/artifacts).

The parts: the model (:mod:`contracts.model`: the rules in plain Python), the driver and its
view harness, the strategies, the starting state and the state machine
(:mod:`contracts.machine`); this module runs them.
"""

from __future__ import annotations

import copy

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from contracts.machine.driver import Driver, attempt
from contracts.machine.seed import seed
from contracts.machine.state_machine import registry_machine
from contracts.model.records import ZERO_ADDRESS, content
from helpers.builders import doc
from helpers.world import World
from provledger.chain.connection import is_embedded
from provledger.chain.events import AssetRegistered
from provledger.chain.ids import asset_id
from provledger.chain.reverts import ContractRevertError
from provledger.chain.transactions import Receipt
from provledger.chain.types import Registration


def test_chain_agrees_with_the_model(world: World) -> None:
    driver = Driver(world)
    seed(driver)
    machine = registry_machine(world, driver, copy.deepcopy(driver.model))
    examples = settings().max_examples
    if is_embedded(world.w3):
        # eth-tester runs a transaction in ~70 ms and the invariant's views in ~1 ms each of
        # py-evm: a quarter of the profile's examples keeps it near half a minute on two cores
        # (a third did before the market's rules, which succeed more often than most).
        examples = max(1, examples // 4)
    run_state_machine_as_test(machine, settings=settings(max_examples=examples))


def test_an_unregistered_id_cannot_be_transferred_into_existence(world: World) -> None:
    """The rule the model holds every transfer of an unregistered id to, shown on its own.

    ERC-721: an id that is not a token cannot move. OpenZeppelin's ``transferFrom`` relies on
    the authorisation check in ``_update`` to refuse it (ERC721NonexistentToken); if that check
    is skipped, ``transferFrom(0x0, to, id)`` mints ``id`` to ``to`` with no asset record, and
    the content hash behind ``id`` can never be registered.
    """
    item = Registration(content("squatted"), "ipfs://bafy/meta.json", doc("meta"), 101, 1)
    squatted = asset_id(item.content_hash)
    moved = attempt(
        lambda: world.stranger.registry.transfer(squatted, world.bob.address, holder=ZERO_ADDRESS)
    )
    registered = attempt(lambda: world.alice.registry.register(item))
    assert isinstance(moved, ContractRevertError), (
        f"transferFrom(0x0, bob, {squatted}) succeeded with {moved.events}; "
        f"registering the content afterwards: {registered}"
    )
    assert (moved.name, moved.args_by_name) == ("ERC721NonexistentToken", {"tokenId": squatted})
    assert isinstance(registered, Receipt), registered
    assert registered.event(AssetRegistered).asset_id == squatted
