"""The state machine: random actions of every role, each checked against the model, and the
whole state after each step.

Hypothesis drives registrations (single and batched, valid or not), transfers (within and
across jurisdictions, with and without export permits), the review procedure, licenses,
disputes, cancellations, metadata revisions, participant suspensions, the market and the clock;
the :class:`~contracts.machine.driver.Driver` holds the chain to the model's prediction for
each, and to every view the model can predict after each.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from contracts.machine.driver import ACTORS, PARTICIPANT_NAMES, RECIPIENTS, Driver
from contracts.machine.strategies import (
    FRESH,
    Spec,
    Terms,
    aims,
    bid_amount_of,
    bid_amounts,
    bid_hours,
    build_registration,
    hours,
    id_picks,
    known_picks,
    license_durations,
    license_terms,
    names,
    offer_terms,
    payment_of,
    payments,
    picks,
    rarely,
    recipients,
    specs,
    zero_sometimes,
)
from contracts.model.market import BidRecord, Rules
from contracts.model.records import (
    HOUR,
    MAX_FEE_BPS,
    MAX_LICENSE_DURATION,
    MAX_PARENTS,
    UNKNOWN_ASSET,
    ZERO_ADDRESS,
    ZERO_HASH,
    ExpectedRevertError,
    content,
)
from helpers.builders import doc
from helpers.world import World
from provledger.chain.enums import (
    AssetStatus,
    BidStatus,
    DisputeStatus,
    OfferStatus,
    ParticipantStatus,
)
from provledger.chain.events import Event
from provledger.chain.ids import asset_id, role_id
from provledger.chain.transactions import Receipt
from provledger.chain.types import ParentLink


def registry_machine(world: World, driver: Driver, base: Rules) -> type[RuleBasedStateMachine]:
    """The state machine of random actions of every role, each checked against the model, and
    the whole state after each step; every example starts from ``base`` on a chain snapshot."""

    class RegistryMachine(RuleBasedStateMachine):
        """Random actions, each checked against the model; the whole state after each."""

        def __init__(self) -> None:
            super().__init__()
            self.snapshot = world.chain.snapshot()
            driver.model = copy.deepcopy(base)
            # anvil dates a block by the wall clock, which ran on since the snapshot was taken:
            # one exact step restarts the clock from the snapshot's time in every example.
            driver.advance(1)
            driver.start_ledger()
            driver.recording = True

        def teardown(self) -> None:
            driver.recording = False
            world.chain.revert(self.snapshot)

        # -- registration

        @rule(caller=names, aim=aims, spec=specs)
        def register(self, caller: str, aim: bool, spec: Spec) -> None:
            who = driver.client(driver.active(caller, aim))
            driver.register(who, build_registration(driver, who.address, spec))

        @rule(caller=names, aim=aims, many=st.lists(specs, max_size=3))
        def register_many(self, caller: str, aim: bool, many: list[Spec]) -> None:
            who = driver.client(driver.active(caller, aim))
            items = [build_registration(driver, who.address, spec) for spec in many]
            driver.act(
                lambda m, now: m.register_many(who.address, items, now),
                lambda: who.registry.register_many(items),
            )

        @rule(caller=names, extra=st.integers(min_value=1, max_value=3))
        def register_too_many_parents(self, caller: str, extra: int) -> None:
            who = driver.client(caller)
            links = tuple(ParentLink(UNKNOWN_ASSET + i, 1) for i in range(MAX_PARENTS + extra))
            item = replace(build_registration(driver, who.address, FRESH), parents=links)
            driver.register(who, item)

        # -- holder actions

        @rule(
            pick=picks,
            aim=aims,
            by_holder=aims,
            other=names,
            empty=zero_sometimes,
            zero=zero_sometimes,
        )
        def update_metadata(
            self, pick: int, aim: bool, by_holder: bool, other: str, empty: bool, zero: bool
        ) -> None:
            asset = driver.asset(pick, aim, lambda r: not r.freezes)
            who = driver.holder_client(asset, by_holder, other)
            uri = "" if empty else f"ipfs://bafy/revision/{driver.now()}.json"
            new_hash = ZERO_HASH if zero else doc(f"metadata {asset} {driver.now()}")
            driver.act(
                lambda m, now: m.update_metadata(who.address, asset, uri, new_hash, now),
                lambda: who.registry.update_metadata(asset, uri, new_hash),
            )

        @rule(pick=picks, by_holder=aims, other=names)
        def cancel(self, pick: int, by_holder: bool, other: str) -> None:
            asset = driver.asset(pick)
            who = driver.holder_client(asset, by_holder, other)
            reason = doc(f"cancel {asset}")
            driver.act(
                lambda m, now: m.cancel(who.address, asset, reason, now),
                lambda: who.registry.cancel(asset, reason),
            )

        @rule(
            pick=picks,
            aim=aims,
            to_pick=picks,
            aim_to=aims,
            by_holder=aims,
            other=names,
            source=st.sampled_from(["holder", "holder", "holder", "caller", "zero"]),
        )
        def transfer(
            self,
            pick: int,
            aim: bool,
            to_pick: int,
            aim_to: bool,
            by_holder: bool,
            other: str,
            source: str,
        ) -> None:
            asset = driver.asset(pick, aim, driver.movable)
            record = driver.model.assets[asset]
            to = driver.choose(RECIPIENTS, to_pick, aim_to, partial(driver.may_receive, record))
            assert to is not None
            who = driver.holder_client(asset, by_holder, other)
            holder = record.holder
            origin = {"holder": holder, "caller": who.address, "zero": ZERO_ADDRESS}[source]
            recipient = driver.addresses[to]
            driver.act(
                lambda m, now: m.transfer(who.address, asset, origin, recipient, now),
                lambda: who.registry.transfer(asset, recipient, holder=origin),
            )

        @rule(pick=picks, to_pick=picks)
        def transfer_abroad(self, pick: int, to_pick: int) -> None:
            # The jurisdiction rule: grade 1 moves freely, 2 needs a permit, 3 stays home.
            asset = driver.asset(pick, True, driver.movable)
            record = driver.model.assets[asset]
            home = driver.model.participant(record.holder).jurisdiction
            abroad = [
                name
                for name in PARTICIPANT_NAMES
                if driver.model.participant(driver.addresses[name]).jurisdiction != home
            ]
            # a recipient the asset may reach (with a permit, for grade 2) if there is one
            to = driver.choose(abroad, to_pick, True, partial(driver.may_receive, record))
            assert to is not None
            who, recipient = driver.holder_client(asset, True, "alice"), driver.addresses[to]
            driver.act(
                lambda m, now: m.transfer(who.address, asset, record.holder, recipient, now),
                lambda: who.registry.transfer(asset, recipient, holder=record.holder),
            )

        @rule(caller=names, to=recipients, from_zero=st.booleans(), n=picks)
        def transfer_unregistered(self, caller: str, to: str, from_zero: bool, n: int) -> None:
            # An id no content was registered for is not a token: it cannot move, or appear.
            asset = asset_id(content(f"unregistered {n}"))
            who = driver.client(caller)
            origin = ZERO_ADDRESS if from_zero else who.address
            recipient = driver.addresses[to]
            driver.act(
                lambda m, now: m.transfer(who.address, asset, origin, recipient, now),
                lambda: who.registry.transfer(asset, recipient, holder=origin),
            )

        # -- export permits

        @rule(pick=picks, aim=aims, to=names, expires=st.integers(min_value=-1, max_value=48))
        def issue_permit(self, pick: int, aim: bool, to: str, expires: int) -> None:
            asset = driver.asset(pick, aim, lambda r: r.grade == 2)
            record = driver.model.assets.get(asset)
            if aim and record is not None:
                here = driver.model.participant(record.holder).jurisdiction
                to = (
                    driver.choose(
                        PARTICIPANT_NAMES,
                        pick,
                        aim,
                        lambda n: (
                            driver.model.participant(driver.addresses[n]).jurisdiction != here
                        ),
                    )
                    or to
                )
            recipient, expires_at = driver.addresses[to], driver.now() + expires * HOUR
            driver.act(
                lambda m, now: m.issue_permit(asset, recipient, expires_at, now),
                lambda: world.exporter.export.issue_permit(asset, recipient, expires_at),
            )

        @rule(pick=picks, aim=aims, other=names, other_asset=picks)
        def revoke_permit(self, pick: int, aim: bool, other: str, other_asset: int) -> None:
            permits = list(driver.model.permits)
            chosen = driver.choose(
                permits, pick, aim, lambda key: not driver.model.permits[key].used
            )
            if chosen is None or not aim:
                chosen = (driver.asset(other_asset), driver.addresses[other])
            asset, recipient = chosen
            driver.act(
                lambda m, now: m.revoke_permit(asset, recipient, now),
                lambda: world.exporter.export.revoke_permit(asset, recipient),
            )

        # -- review and certificates

        @rule(pick=picks, aim=aims)
        def accept(self, pick: int, aim: bool) -> None:
            asset = driver.asset(pick, aim, lambda r: r.status is AssetStatus.APPLIED)
            driver.act(
                lambda m, now: m.accept(asset, now),
                lambda: world.registrar.office.accept(asset),
            )

        @rule(pick=picks, aim=aims, zero=zero_sometimes)
        def reject(self, pick: int, aim: bool, zero: bool) -> None:
            asset = driver.asset(pick, aim, lambda r: r.status is AssetStatus.APPLIED)
            reason = ZERO_HASH if zero else doc(f"reject {asset}")
            driver.act(
                lambda m, now: m.reject(asset, reason, now),
                lambda: world.registrar.office.reject(asset, reason),
            )

        @rule(caller=names, pick=picks, aim=aims, zero=zero_sometimes)
        def object(self, caller: str, pick: int, aim: bool, zero: bool) -> None:
            asset = driver.asset(pick, aim, lambda r: r.status is AssetStatus.NOTICED)
            who = driver.client(caller)
            grounds = ZERO_HASH if zero else doc(f"grounds {asset} {caller}")
            driver.act(
                lambda m, now: m.object(who.address, asset, grounds, now),
                lambda: who.office.object(asset, grounds),
            )

        @rule(pick=known_picks, aim=aims, upheld=st.booleans(), zero=zero_sometimes)
        def resolve_objection(self, pick: int, aim: bool, upheld: bool, zero: bool) -> None:
            number = driver.number(driver.model.objections, pick, aim, lambda o: o.open)
            reason = ZERO_HASH if zero else doc(f"resolution {number}")
            driver.act(
                lambda m, now: m.resolve_objection(number, upheld, reason, now),
                lambda: world.registrar.office.resolve_objection(number, upheld, reason),
            )

        @rule(
            pick=picks,
            aim=aims,
            kind=st.sampled_from([1, 1, 1, 2, 3, 4, 5, 6, 0, 7]),
            zero=zero_sometimes,
        )
        def certify(self, pick: int, aim: bool, kind: int, zero: bool) -> None:
            wanted = {1: AssetStatus.NOTICED, 5: AssetStatus.CANCELLED}.get(
                kind, AssetStatus.CERTIFIED
            )
            asset = driver.asset(pick, aim, lambda r: r.status is wanted)
            certificate = ZERO_HASH if zero else doc(f"certificate {asset} {kind}")
            driver.act(
                lambda m, now: m.certify(asset, kind, certificate, now),
                lambda: world.registrar.office.certify(asset, certificate, kind),
            )

        # -- licenses

        @rule(
            pick=picks,
            aim=aims,
            by_holder=aims,
            other=names,
            licensee=recipients,
            kind=st.sampled_from([1, 2, 1, 2, 0, 3]),
            expires=st.integers(min_value=-2, max_value=72),
            zero=zero_sometimes,
        )
        def grant(
            self,
            pick: int,
            aim: bool,
            by_holder: bool,
            other: str,
            licensee: str,
            kind: int,
            expires: int,
            zero: bool,
        ) -> None:
            asset = driver.asset(pick, aim, lambda r: not r.freezes and driver.is_active(r.holder))
            who = driver.holder_client(asset, by_holder, other)
            if aim:
                licensee = driver.active(licensee, aim, but=who.address)
            to = driver.addresses[licensee]
            expires_at = driver.now() + expires * HOUR
            terms = ZERO_HASH if zero else doc(f"terms {asset} {licensee}")
            scope = f"research use by {licensee}, 研究"
            driver.act(
                lambda m, now: m.grant(who.address, asset, to, kind, expires_at, terms, scope, now),
                lambda: who.licenses.grant(asset, to, kind, expires_at, terms, scope),
            )

        @rule(pick=known_picks, aim=aims, by_holder=aims, other=names)
        def revoke_license(self, pick: int, aim: bool, by_holder: bool, other: str) -> None:
            licenses = driver.model.licenses
            number = driver.number(
                licenses, pick, aim, lambda lic: not (lic.revoked_at or lic.sold)
            )
            asset = licenses[number - 1].asset_id if number <= len(licenses) else UNKNOWN_ASSET
            who = driver.holder_client(asset, by_holder, other)
            reason = doc(f"revocation {number}")
            driver.act(
                lambda m, now: m.revoke_license(who.address, number, reason, now),
                lambda: who.licenses.revoke(number, reason),
            )

        # -- disputes

        @rule(caller=names, pick=picks, zero=zero_sometimes)
        def open_dispute(self, caller: str, pick: int, zero: bool) -> None:
            asset, who = driver.asset(pick), driver.client(caller)
            evidence = ZERO_HASH if zero else doc(f"evidence {asset} {caller}")
            driver.act(
                lambda m, now: m.open_dispute(who.address, asset, evidence, now),
                lambda: who.court.open(asset, evidence),
            )

        @rule(pick=known_picks, aim=aims)
        def freeze(self, pick: int, aim: bool) -> None:
            number = driver.number(
                driver.model.disputes, pick, aim, lambda d: d.status is DisputeStatus.OPEN
            )
            driver.act(
                lambda m, now: m.freeze(number, now),
                lambda: world.arbiter.court.freeze(number),
            )

        @rule(
            pick=known_picks,
            aim=aims,
            ruling=st.sampled_from([1, 2, 3, 1, 2, 3, 0, 4]),
            zero=zero_sometimes,
        )
        def rule_on_dispute(self, pick: int, aim: bool, ruling: int, zero: bool) -> None:
            number = driver.number(
                driver.model.disputes, pick, aim, lambda d: d.status is DisputeStatus.FROZEN
            )
            ruling_hash = ZERO_HASH if zero else doc(f"ruling {number} {ruling}")
            driver.act(
                lambda m, now: m.rule(number, ruling, ruling_hash, now),
                lambda: world.arbiter.court.rule(number, ruling, ruling_hash),
            )

        # -- the market

        @rule(pick=picks, aim=aims, by_holder=aims, other=names, unknown=rarely)
        def approve_market(
            self, pick: int, aim: bool, by_holder: bool, other: str, unknown: bool
        ) -> None:
            model = driver.model
            asset = driver.asset(
                pick, aim, lambda r: r.asset_id not in model.approved and driver.movable(r)
            )
            asset = UNKNOWN_ASSET if unknown else asset
            who = driver.holder_client(asset, by_holder, other)
            driver.act(
                lambda m, now: m.approve_market(who.address, asset, now),
                lambda: who.registry.approve(driver.market, asset),
            )

        @rule(
            pick=picks,
            aim=aims,
            by_holder=aims,
            other=names,
            approve_first=aims,
            terms=offer_terms,
        )
        def list_asset(
            self,
            pick: int,
            aim: bool,
            by_holder: bool,
            other: str,
            approve_first: bool,
            terms: Terms,
        ) -> None:
            model = driver.model
            asset = driver.asset(pick, aim, driver.movable)
            who = driver.holder_client(asset, by_holder, other)
            record = model.assets.get(asset)
            if (
                approve_first
                and record is not None
                and record.holder == who.address
                and driver.movable(record)
                and asset not in model.approved
            ):
                # as a seller would: approve the market, then list
                driver.act(
                    lambda m, now: m.approve_market(who.address, asset, now),
                    lambda: who.registry.approve(driver.market, asset),
                )
            price, minimum, expires_at = terms.resolve(driver.now())
            driver.act(
                lambda m, now: m.list_asset(who.address, asset, price, minimum, expires_at, now),
                lambda: who.market.list_asset(asset, price, expires_at, min_bid=minimum),
            )

        @rule(
            pick=picks,
            aim=aims,
            by_holder=aims,
            other=names,
            kind=st.sampled_from([1, 2]),
            duration=license_durations,
            terms=license_terms,
        )
        def offer_license(
            self,
            pick: int,
            aim: bool,
            by_holder: bool,
            other: str,
            kind: int,
            duration: int,
            terms: Terms,
        ) -> None:
            asset = driver.asset(pick, aim, driver.licensable)
            who = driver.holder_client(asset, by_holder, other)
            kind = {"kind 0": 0, "kind 3": 3}.get(terms.flaw or "", kind)
            duration = {"zero duration": 0, "duration too long": MAX_LICENSE_DURATION + 1}.get(
                terms.flaw or "", duration
            )
            terms_hash = ZERO_HASH if terms.flaw == "zero terms" else doc(f"terms {asset} {kind}")
            scope = f"offered use {kind}, 市场"
            price, minimum, expires_at = terms.resolve(driver.now())
            driver.act(
                lambda m, now: m.offer_license(
                    who.address,
                    asset,
                    kind,
                    duration,
                    terms_hash,
                    scope,
                    price,
                    minimum,
                    expires_at,
                    now,
                ),
                lambda: who.market.offer_license(
                    asset, kind, duration, terms_hash, scope, price, expires_at, min_bid=minimum
                ),
            )

        @rule(pick=id_picks, aim=aims, by_seller=aims, other=names)
        def cancel_offer(self, pick: int, aim: bool, by_seller: bool, other: str) -> None:
            number = driver.number(
                driver.model.offers, pick, aim, lambda o: o.status is OfferStatus.OPEN
            )
            offer = driver.offer_of(number)
            seller = offer.seller if offer is not None and by_seller else None
            who = driver.client_at(seller, other)
            driver.act(
                lambda m, now: m.cancel_offer(who.address, number, now),
                lambda: who.market.cancel_offer(number),
            )

        @rule(pick=id_picks, aim=aims, buyer=names, buyer_pick=picks, pay=payments)
        def buy(self, pick: int, aim: bool, buyer: str, buyer_pick: int, pay: str) -> None:
            number = driver.number(
                driver.model.offers, pick, aim, partial(driver.sellable, driver.now())
            )
            offer = driver.offer_of(number)
            who = driver.client(driver.buyer(offer, buyer, buyer_pick, aim))
            value = payment_of(offer.price if offer is not None else 1000, pay)
            driver.act(
                lambda m, now: m.buy(who.address, number, value, now),
                lambda: who.market.buy(number, value=value),
            )

        @rule(
            pick=id_picks,
            aim=aims,
            bidder=names,
            bidder_pick=picks,
            amount=bid_amounts,
            pay=payments,
            expires=bid_hours,
        )
        def bid(
            self,
            pick: int,
            aim: bool,
            bidder: str,
            bidder_pick: int,
            amount: str,
            pay: str,
            expires: int,
        ) -> None:
            now = driver.now()
            number = driver.number(
                driver.model.offers,
                pick,
                aim,
                lambda o: o.min_bid > 0 and driver.sellable(now, o),
            )
            offer = driver.offer_of(number)
            who = driver.client(driver.buyer(offer, bidder, bidder_pick, aim))
            bid_amount = bid_amount_of(offer, amount)
            value, expires_at = payment_of(bid_amount, pay), now + expires * HOUR
            driver.act(
                lambda m, now: m.bid(who.address, number, bid_amount, expires_at, value, now),
                lambda: who.market.bid(number, bid_amount, expires_at, value=value),
            )

        @rule(pick=id_picks, aim=aims, by_bidder=aims, other=names)
        def cancel_bid(self, pick: int, aim: bool, by_bidder: bool, other: str) -> None:
            number = driver.number(
                driver.model.bids, pick, aim, lambda b: b.status is BidStatus.OPEN
            )
            placed = driver.bid_of(number)
            bidder = placed.bidder if placed is not None and by_bidder else None
            who = driver.client_at(bidder, other)
            driver.act(
                lambda m, now: m.cancel_bid(who.address, number, now),
                lambda: who.market.cancel_bid(number),
            )

        @rule(pick=id_picks, aim=aims, by_seller=aims, other=names)
        def accept_bid(self, pick: int, aim: bool, by_seller: bool, other: str) -> None:
            now, model = driver.now(), driver.model

            def acceptable(placed: BidRecord) -> bool:
                offer = model.offers[placed.offer_id - 1]
                return (
                    placed.status is BidStatus.OPEN
                    and placed.expires_at > now
                    and driver.sellable(now, offer)
                    and driver.may_buy(offer, driver.name_of(placed.bidder))
                )

            number = driver.number(model.bids, pick, aim, acceptable)
            placed = driver.bid_of(number)
            offer = model.offers[placed.offer_id - 1] if placed is not None else None
            seller = offer.seller if offer is not None and by_seller else None
            who = driver.client_at(seller, other)
            driver.act(
                lambda m, now: m.accept_bid(who.address, number, now),
                lambda: who.market.accept_bid(number),
            )

        @rule(caller=st.sampled_from((*ACTORS, "admin")), pick=picks, aim=aims)
        def withdraw(self, caller: str, pick: int, aim: bool) -> None:
            owed = driver.model.owed
            chosen = driver.choose(
                (*ACTORS, "admin"), pick, aim, lambda n: owed.get(driver.addresses[n], 0) > 0
            )
            who = driver.client(chosen if aim and chosen is not None else caller)
            driver.act(
                lambda m, now: m.withdraw(who.address, now),
                lambda: who.market.withdraw(),
            )

        @rule(
            recipient=st.sampled_from(["admin", "admin", "erin", "zero"]),
            bps=st.sampled_from([0, 1, 250, 250, MAX_FEE_BPS, MAX_FEE_BPS + 1]),
        )
        def set_fee(self, recipient: str, bps: int) -> None:
            admin, to = world.admin, driver.addresses[recipient]
            driver.act(
                lambda m, now: m.set_fee(admin.address, to, bps, now),
                lambda: admin.market.set_fee(to, bps),
            )

        # -- participants, roles, time

        @rule(who=names)
        def suspend(self, who: str) -> None:
            account, reason = driver.addresses[who], doc(f"suspension of {who}")
            driver.act(
                lambda m, now: m.suspend(account, reason, now),
                lambda: world.registrar.registry.suspend_participant(account, reason),
            )

        @rule(who=names, aim=aims)
        def reinstate(self, who: str, aim: bool) -> None:
            suspended = [
                name
                for name in ACTORS
                if driver.model.participant(driver.addresses[name]).status
                is ParticipantStatus.SUSPENDED
            ]
            if aim and suspended:
                who = suspended[0]
            account = driver.addresses[who]
            driver.act(
                lambda m, now: m.reinstate(account, now),
                lambda: world.registrar.registry.reinstate_participant(account),
            )

        @rule(
            caller=names,
            pick=picks,
            action=st.sampled_from(
                ["accept", "certify", "suspend", "freeze", "rule", "permit", "fee"]
            ),
        )
        def without_the_role(self, caller: str, pick: int, action: str) -> None:
            who, asset = driver.client(caller), driver.asset(pick)
            attempts: dict[str, tuple[str, Callable[[], Receipt]]] = {
                "accept": ("REGISTRAR_ROLE", lambda: who.office.accept(asset)),
                "certify": ("REGISTRAR_ROLE", lambda: who.office.certify(asset, doc("c"))),
                "suspend": (
                    "REGISTRAR_ROLE",
                    lambda: who.registry.suspend_participant(who.address),
                ),
                "freeze": ("ARBITER_ROLE", lambda: who.court.freeze(1)),
                "rule": ("ARBITER_ROLE", lambda: who.court.rule(1, 1, doc("r"))),
                "permit": (
                    "EXPORT_APPROVER_ROLE",
                    lambda: who.export.issue_permit(asset, who.address, driver.now() + HOUR),
                ),
                "fee": ("DEFAULT_ADMIN_ROLE", lambda: who.market.set_fee(who.address, 1)),
            }
            role, send = attempts[action]

            def refused(m: Rules, now: int) -> list[Event]:
                raise ExpectedRevertError(
                    "AccessControlUnauthorizedAccount",
                    account=who.address,
                    neededRole=role_id(role),
                )

            driver.act(refused, send)

        @rule(by=hours)
        def advance(self, by: int) -> None:
            driver.advance(by * HOUR)

        @invariant()
        def chain_agrees_with_model(self) -> None:
            driver.check_state()

    return RegistryMachine
