"""The pause switch: one admin pause in the registry stops every state change of every contract.

The state each call needs is built once per module and backend (:func:`stage`), unpaused; each
test pauses, sees the call refused with ``EnforcedPause()`` at gas estimation, unpauses and
sends the very same call, which then succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import pytest

from helpers.assertions import reverts
from helpers.builders import doc, registration
from helpers.world import NOTICE_PERIOD, World
from provledger.chain.client import ContractClient, Provledger
from provledger.chain.enums import LicenseKind, RegistrationType, Ruling, ValuationMethod
from provledger.chain.events import (
    AppraisalRecorded,
    AssetRegistered,
    AssetStatusChanged,
    BatchAnchored,
    CertificateIssued,
    DisputeFrozen,
    DisputeOpened,
    DisputeRuled,
    Event,
    ExportPermitIssued,
    ExportPermitRevoked,
    LeafPromoted,
    LicenseGranted,
    LicenseRevoked,
    MetadataUpdated,
    ObjectionLodged,
    ObjectionResolved,
    ParticipantRegistered,
    ParticipantReinstated,
    ParticipantSuspended,
    Paused,
    RegistrationAccepted,
    RegistrationRejected,
    Transfer,
    Unpaused,
)
from provledger.chain.ids import role_id
from provledger.chain.types import SignedRegistration
from provledger.merkle import StandardMerkleTree

FAR_FUTURE: Final = 2**39  # a uint40 expiry far beyond any test clock
ADMIN_ROLE: Final = role_id("DEFAULT_ADMIN_ROLE")
NON_ADMINS: Final = ("registrar", "appraiser", "arbiter", "exporter", "alice", "stranger")


@dataclass(frozen=True)
class Stage:
    """State the paused calls act on, built once per module and backend."""

    asset: int  # alice's grade-2 asset, Applied, free of restrictions
    certifiable: int  # Noticed, notice period over: certify
    noticed: int  # Noticed, notice running, one open objection: object again
    objection: int  # the open objection: resolveObjection
    license: int  # alice's processing license to bob on `asset`: revoke
    open_dispute: int  # Open, on another asset: freeze
    frozen_dispute: int  # Frozen, on that asset: rule
    batch: StandardMerkleTree  # anchored by alice: promote
    signed: SignedRegistration  # alice's signed registration, unused: relay
    signed_other: SignedRegistration  # another one with the same nonce: relay in a list


@dataclass(frozen=True)
class PausableCall:
    """A state-changing call: who sends it, to which contract, what it emits when it works."""

    caller: str  # an actor of the World
    contract: str  # the Provledger attribute: registry, office, licenses, ...
    function: str
    args: Callable[[World, Stage], tuple[Any, ...]]
    emits: type[Event]


CALLS: Final[dict[str, PausableCall]] = {
    # -- DataAssetRegistry
    "register": PausableCall(
        "alice", "registry", "register", lambda w, s: (registration().as_tuple(),), AssetRegistered
    ),
    "registerMany": PausableCall(
        "alice",
        "registry",
        "registerMany",
        lambda w, s: ([registration().as_tuple(), registration().as_tuple()],),
        AssetRegistered,
    ),
    "registerWithSignature": PausableCall(
        "relayer",
        "registry",
        "registerWithSignature",
        lambda w, s: (s.signed.as_tuple(),),
        AssetRegistered,
    ),
    "registerManyWithSignatures": PausableCall(
        "relayer",
        "registry",
        "registerManyWithSignatures",
        lambda w, s: ([s.signed_other.as_tuple()],),
        AssetRegistered,
    ),
    "updateMetadata": PausableCall(
        "alice",
        "registry",
        "updateMetadata",
        lambda w, s: (s.asset, "ipfs://bafyrevised/metadata.json", doc("revised metadata")),
        MetadataUpdated,
    ),
    "cancel": PausableCall(
        "alice", "registry", "cancel", lambda w, s: (s.asset, doc("withdrawn")), AssetStatusChanged
    ),
    "transferFrom": PausableCall(
        "alice",
        "registry",
        "transferFrom",
        lambda w, s: (w.alice.address, w.bob.address, s.asset),
        Transfer,
    ),
    "safeTransferFrom": PausableCall(
        "alice",
        "registry",
        "safeTransferFrom",
        lambda w, s: (w.alice.address, w.bob.address, s.asset),
        Transfer,
    ),
    "registerParticipant": PausableCall(
        "registrar",
        "registry",
        "registerParticipant",
        lambda w, s: (w.actor(12).address, b"DE", doc("legal name")),
        ParticipantRegistered,
    ),
    "suspendParticipant": PausableCall(
        "registrar",
        "registry",
        "suspendParticipant",
        lambda w, s: (w.bob.address, doc("reason")),
        ParticipantSuspended,
    ),
    "reinstateParticipant": PausableCall(
        "registrar",
        "registry",
        "reinstateParticipant",
        lambda w, s: (w.erin.address,),
        ParticipantReinstated,
    ),
    # -- RegistrationOffice
    "accept": PausableCall(
        "registrar", "office", "accept", lambda w, s: (s.asset,), RegistrationAccepted
    ),
    "reject": PausableCall(
        "registrar",
        "office",
        "reject",
        lambda w, s: (s.asset, doc("reason")),
        RegistrationRejected,
    ),
    "object": PausableCall(
        "stranger", "office", "object", lambda w, s: (s.noticed, doc("grounds")), ObjectionLodged
    ),
    "resolveObjection": PausableCall(
        "registrar",
        "office",
        "resolveObjection",
        lambda w, s: (s.objection, False, doc("dismissed")),
        ObjectionResolved,
    ),
    "certify": PausableCall(
        "registrar",
        "office",
        "certify",
        lambda w, s: (s.certifiable, int(RegistrationType.INITIAL), doc("certificate")),
        CertificateIssued,
    ),
    # -- LicenseRegistry
    "grant": PausableCall(
        "alice",
        "licenses",
        "grant",
        lambda w, s: (
            s.asset,
            w.carol.address,
            int(LicenseKind.PRODUCT_OPERATION),
            FAR_FUTURE,
            doc("terms"),
            "operate the city dashboard",
        ),
        LicenseGranted,
    ),
    "revoke": PausableCall(
        "alice", "licenses", "revoke", lambda w, s: (s.license, doc("reason")), LicenseRevoked
    ),
    # -- AppraisalRegistry
    "appraise": PausableCall(
        "appraiser",
        "appraisals",
        "appraise",
        lambda w, s: (s.asset, 1_000_000, b"CNY", int(ValuationMethod.INCOME), doc("report")),
        AppraisalRecorded,
    ),
    # -- DisputeCourt
    "open": PausableCall(
        "bob", "court", "open", lambda w, s: (s.asset, doc("evidence")), DisputeOpened
    ),
    "freeze": PausableCall(
        "arbiter", "court", "freeze", lambda w, s: (s.open_dispute,), DisputeFrozen
    ),
    "rule": PausableCall(
        "arbiter",
        "court",
        "rule",
        lambda w, s: (s.frozen_dispute, int(Ruling.DISMISS), doc("ruling")),
        DisputeRuled,
    ),
    # -- BatchAnchor
    "anchor": PausableCall(
        "alice",
        "anchor",
        "anchor",
        lambda w, s: (StandardMerkleTree.batch([doc("fresh batch leaf")]).root, 1, "ipfs://m"),
        BatchAnchored,
    ),
    "promote": PausableCall(
        "alice",
        "anchor",
        "promote",
        lambda w, s: (
            s.batch.root,
            list(s.batch.proof(0)),
            registration(content_hash=s.batch.at(0)[0]).as_tuple(),
        ),
        LeafPromoted,
    ),
    # -- ExportControl
    "issuePermit": PausableCall(
        "exporter",
        "export",
        "issuePermit",
        lambda w, s: (s.asset, w.dave.address, FAR_FUTURE),
        ExportPermitIssued,
    ),
    "revokePermit": PausableCall(
        "exporter",
        "export",
        "revokePermit",
        lambda w, s: (s.asset, w.carol.address),
        ExportPermitRevoked,
    ),
}


def sign(world: World, nonce: int) -> SignedRegistration:
    """A fresh registration signed by alice with ``nonce``."""
    assert world.alice.account is not None
    return world.relayer.registry.sign(
        registration(), world.alice.account, deadline=FAR_FUTURE, nonce=nonce
    )


@pytest.fixture(scope="module")
def stage(session_world: World) -> Iterator[Stage]:
    """Build the state every paused call needs; undo it when the module is done."""
    world = session_world
    snapshot = world.chain.snapshot()
    try:
        asset = world.register(world.alice, grade=2)
        world.exporter.export.issue_permit(asset, world.carol.address, FAR_FUTURE)
        license_id = world.alice.licenses.grant(
            asset, world.bob.address, LicenseKind.PROCESSING_USE, FAR_FUTURE, doc("terms")
        ).event(LicenseGranted)
        certifiable = world.register(world.alice)
        world.notice(certifiable)
        world.chain.advance(NOTICE_PERIOD)
        noticed = world.register(world.alice)
        world.notice(noticed)
        objection = world.bob.office.object(noticed, doc("grounds")).event(ObjectionLodged)
        disputed = world.register(world.alice)
        open_dispute = world.bob.court.open(disputed, doc("evidence")).event(DisputeOpened)
        frozen_dispute = world.bob.court.open(disputed, doc("more evidence")).event(DisputeOpened)
        world.arbiter.court.freeze(frozen_dispute.dispute_id)
        batch = StandardMerkleTree.batch([doc("leaf 0"), doc("leaf 1"), doc("leaf 2")])
        world.alice.anchor.anchor(batch.root, batch.leaf_count, "ipfs://batch")
        world.registrar.registry.suspend_participant(world.erin.address, doc("suspended"))
        yield Stage(
            asset=asset,
            certifiable=certifiable,
            noticed=noticed,
            objection=objection.objection_id,
            license=license_id.license_id,
            open_dispute=open_dispute.dispute_id,
            frozen_dispute=frozen_dispute.dispute_id,
            batch=batch,
            signed=sign(world, 0),
            signed_other=sign(world, 0),
        )
    finally:
        world.chain.revert(snapshot)


def actor_of(world: World, name: str) -> Provledger:
    """The World's actor called ``name``."""
    actor = getattr(world, name)
    assert isinstance(actor, Provledger)
    return actor


def client_of(ledger: Provledger, contract: str) -> ContractClient:
    """The client of ``contract`` (a Provledger attribute name) seen by ``ledger``."""
    client = getattr(ledger, contract)
    assert isinstance(client, ContractClient)
    return client


def test_admin_pauses_and_unpauses(world: World) -> None:
    assert not world.stranger.registry.paused()

    paused = world.admin.registry.pause()

    assert paused.events == (Paused(account=world.admin.address),)
    assert world.stranger.registry.paused()

    unpaused = world.admin.registry.unpause()

    assert unpaused.events == (Unpaused(account=world.admin.address),)
    assert not world.stranger.registry.paused()


def test_pause_and_unpause_only_switch_once(world: World) -> None:
    with reverts("ExpectedPause"):
        world.admin.registry.unpause()
    world.admin.registry.pause()
    with reverts("EnforcedPause"):
        world.admin.registry.pause()


@pytest.mark.parametrize("caller", NON_ADMINS)
def test_only_the_admin_pauses(world: World, caller: str) -> None:
    account = actor_of(world, caller)

    with reverts(
        "AccessControlUnauthorizedAccount", account=account.address, neededRole=ADMIN_ROLE
    ):
        account.registry.pause()

    assert not world.stranger.registry.paused()


@pytest.mark.parametrize("caller", NON_ADMINS)
def test_only_the_admin_unpauses(world: World, caller: str) -> None:
    world.admin.registry.pause()
    account = actor_of(world, caller)

    with reverts(
        "AccessControlUnauthorizedAccount", account=account.address, neededRole=ADMIN_ROLE
    ):
        account.registry.unpause()

    assert world.stranger.registry.paused()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_pause_stops_the_call_and_unpause_restores_it(
    world: World, stage: Stage, name: str
) -> None:
    call = CALLS[name]
    client = client_of(actor_of(world, call.caller), call.contract)
    args = call.args(world, stage)
    world.admin.registry.pause()

    with reverts("EnforcedPause"):
        client._send(call.function, *args)

    unpaused = world.admin.registry.unpause()
    assert unpaused.events == (Unpaused(account=world.admin.address),)
    receipt = client._send(call.function, *args)
    assert receipt.events_of(call.emits), f"{name} emitted {receipt.events}"


def test_views_answer_while_paused(world: World, stage: Stage) -> None:
    world.admin.registry.pause()

    state = world.stranger.registry.asset(stage.asset)
    assert state is not None
    assert state.holder == world.alice.address
    assert world.stranger.anchor.is_anchored_leaf(
        stage.batch.root, stage.batch.at(1)[0], stage.batch.proof(1)
    )
    assert world.stranger.licenses.is_valid_at(stage.license, world.now())
