"""Everything the model can predict about the chain, as view calls and expected answers.

Each :class:`Check` names the views it reads (read all at once by the ``ModelViews`` harness),
how to build a value from their answers, and the value the model expects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3

from contracts.machine.views import ViewCall, Views
from contracts.model.market import Rules
from contracts.model.records import NATIVE, ZERO_ADDRESS
from provledger.chain.types import (
    AssetState,
    BidState,
    DisputeState,
    ExportPermitState,
    LicenseState,
    ObjectionState,
    OfferState,
    ParentLink,
    ParticipantState,
    jurisdiction_text,
)

Answers = Sequence[tuple[Any, ...]]


def asset_answer(number: int, answers: Answers) -> AssetState:
    """``assetOf``, ``ownerOf`` and ``metadataHashOf`` of asset ``number``."""
    return AssetState.from_abi(number, answers[0][0], answers[1][0], answers[2][0])


def parents_answer(answers: Answers) -> tuple[ParentLink, ...]:
    """``parentsOf``."""
    return tuple(ParentLink(int(parent), int(relation)) for parent, relation in answers[0][0])


def integers_answer(answers: Answers) -> tuple[int, ...]:
    """Several views that each return one integer."""
    return tuple(int(answer[0]) for answer in answers)


def participant_answer(account: ChecksumAddress, answers: Answers) -> tuple[ParticipantState, int]:
    """``participant`` and ``balanceOf`` of ``account``."""
    return ParticipantState.from_abi(account, answers[0][0]), int(answers[1][0])


def license_answer(number: int, answers: Answers) -> tuple[LicenseState, bool, bool]:
    """``licenseOf``, ``isValidAt`` and ``isSold`` of license ``number``."""
    return LicenseState.from_abi(number, answers[0][0]), bool(answers[1][0]), bool(answers[2][0])


def dispute_answer(number: int, answers: Answers) -> DisputeState:
    """``disputeOf``."""
    return DisputeState.from_abi(number, answers[0][0])


def objection_answer(number: int, answers: Answers) -> ObjectionState:
    """``objectionOf``."""
    return ObjectionState.from_abi(number, answers[0][0])


def permit_answer(answers: Answers) -> ExportPermitState:
    """``permitOf``."""
    return ExportPermitState.from_abi(answers[0][0])


def approved_answer(answers: Answers) -> ChecksumAddress:
    """``getApproved``."""
    return Web3.to_checksum_address(answers[0][0])


def offer_answer(number: int, answers: Answers) -> OfferState:
    """``offerOf``."""
    return OfferState.from_abi(number, answers[0][0])


def bid_answer(number: int, answers: Answers) -> BidState:
    """``bidOf``."""
    return BidState.from_abi(number, answers[0][0])


def market_answer(answers: Answers) -> tuple[tuple[int, int, int], tuple[ChecksumAddress, int]]:
    """``counts`` and ``fee``."""
    (offers, bids, trades), (recipient, bps) = answers
    return (int(offers), int(bids), int(trades)), (Web3.to_checksum_address(recipient), int(bps))


def total_answer(answers: Answers) -> int:
    """The sum of every balance the calls returned (``balancesOf``: a ``uint256[]`` each)."""
    return sum(int(value) for (balances,) in answers for value in balances)


@dataclass(frozen=True)
class Check:
    """Some view calls, how to build a value from their answers, and the value expected."""

    calls: tuple[ViewCall, ...]
    build: Callable[[Answers], Any]
    expected: Any


def registry_checks(m: Rules, view: Views, market: ChecksumAddress, now: int) -> list[Check]:
    """Every asset, participant, license, dispute, objection and permit the model knows, and
    the registry's counts (``now``: the latest block's time, for ``isValidAt``)."""
    checks: list[Check] = []
    for number, record in m.assets.items():
        checks += [
            Check(
                (
                    view("DataAssetRegistry", "assetOf", number),
                    view("DataAssetRegistry", "ownerOf", number),
                    view("DataAssetRegistry", "metadataHashOf", number),
                ),
                partial(asset_answer, number),
                record.state(),
            ),
            Check(
                (view("DataAssetRegistry", "parentsOf", number),),
                parents_answer,
                record.parents,
            ),
            Check(
                (
                    view("RegistrationOffice", "noticeEndsAt", number),
                    view("RegistrationOffice", "openObjectionCount", number),
                    view("RegistrationOffice", "initialRegistrationNumberOf", number),
                    view("DisputeCourt", "freezeCount", number),
                ),
                integers_answer,
                (
                    record.notice_ends_at,
                    record.open_objections,
                    record.initial_certificate,
                    record.freezes,
                ),
            ),
        ]
        if number in m.ever_approved:
            checks.append(
                Check(
                    (view("DataAssetRegistry", "getApproved", number),),
                    approved_answer,
                    market if number in m.approved else ZERO_ADDRESS,
                )
            )
    for account, person in m.participants.items():
        held = sum(1 for record in m.assets.values() if record.holder == account)
        expected_participant = ParticipantState(
            account,
            jurisdiction_text(person.jurisdiction),
            person.status,
            person.registered_at,
            person.name_hash,
        )
        checks.append(
            Check(
                (
                    view("DataAssetRegistry", "participant", account),
                    view("DataAssetRegistry", "balanceOf", account),
                ),
                partial(participant_answer, account),
                (expected_participant, held),
            )
        )
    for number, license_ in enumerate(m.licenses, start=1):
        expected_license = LicenseState(
            number,
            license_.asset_id,
            license_.licensor,
            license_.granted_at,
            license_.expires_at,
            license_.revoked_at,
            license_.kind,
            license_.licensee,
            license_.terms_hash,
        )
        checks.append(
            Check(
                (
                    view("LicenseRegistry", "licenseOf", number),
                    view("LicenseRegistry", "isValidAt", number, now),
                    view("LicenseRegistry", "isSold", number),
                ),
                partial(license_answer, number),
                (expected_license, license_.valid_at(now), license_.sold),
            )
        )
    for number, dispute in enumerate(m.disputes, start=1):
        checks.append(
            Check(
                (view("DisputeCourt", "disputeOf", number),),
                partial(dispute_answer, number),
                DisputeState(
                    number,
                    dispute.asset_id,
                    dispute.claimant,
                    dispute.opened_at,
                    dispute.status,
                    dispute.ruling,
                    dispute.evidence_hash,
                    dispute.ruling_hash,
                ),
            )
        )
    for number, objection in enumerate(m.objections, start=1):
        checks.append(
            Check(
                (view("RegistrationOffice", "objectionOf", number),),
                partial(objection_answer, number),
                ObjectionState(
                    number,
                    objection.asset_id,
                    objection.objector,
                    objection.lodged_at,
                    objection.open,
                    objection.upheld,
                    objection.grounds_hash,
                ),
            )
        )
    for (number, recipient), permit in m.permits.items():
        checks.append(
            Check(
                (view("ExportControl", "permitOf", number, recipient),),
                permit_answer,
                ExportPermitState(
                    jurisdiction_text(permit.destination),
                    permit.issued_at,
                    permit.expires_at,
                    permit.used,
                    permit.revoked,
                    permit.approver,
                ),
            )
        )
    checks.append(
        Check(
            (
                view("LicenseRegistry", "licenseCount"),
                view("DisputeCourt", "disputeCount"),
                view("RegistrationOffice", "objectionCount"),
                view("RegistrationOffice", "certificateCount"),
            ),
            integers_answer,
            (len(m.licenses), len(m.disputes), len(m.objections), m.certificates),
        )
    )
    return checks


def market_checks(m: Rules, view: Views, accounts: Sequence[ChecksumAddress]) -> list[Check]:
    """Offers, bids, what each of ``accounts`` (and anyone else owed) is owed, the counts and
    the fee."""
    checks = [
        Check(
            (view("DataMarket", "offerOf", number),),
            partial(offer_answer, number),
            offer.state(number),
        )
        for number, offer in enumerate(m.offers, start=1)
    ]
    checks += [
        Check(
            (view("DataMarket", "bidOf", number),),
            partial(bid_answer, number),
            BidState(
                number,
                placed.offer_id,
                placed.bidder,
                placed.expires_at,
                placed.status,
                placed.amount,
            ),
        )
        for number, placed in enumerate(m.bids, start=1)
    ]
    owed_to = dict.fromkeys([*accounts, m.fee_recipient, *m.owed])
    owed_to.pop(ZERO_ADDRESS, None)
    checks += [
        Check(
            (view("DataMarket", "owedTo", account, NATIVE),),
            integers_answer,
            (m.owed.get(account, 0),),
        )
        for account in owed_to
    ]
    checks.append(
        Check(
            (view("DataMarket", "counts"), view("DataMarket", "fee")),
            market_answer,
            ((len(m.offers), len(m.bids), m.trades), (m.fee_recipient, m.fee_bps)),
        )
    )
    return checks
