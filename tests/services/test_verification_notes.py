"""The verifier's warnings in words: the "unconfirmed" one tells how many confirmations the
latest change has of how many, in which block it is and where the chain is, and goes once the
count is reached."""

from __future__ import annotations

from provledger.services.verification import UNCONFIRMED, Confirmations, asset_warnings
from provledger.services.views import AssetView, Finality

HASH = "0x" + "ab" * 32
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def asset(finality: Finality, block: int = 40, status: str = "CERTIFIED") -> AssetView:
    """An asset as the index shows it, last changed in ``block``."""
    return AssetView(
        asset_id=HASH, content_hash=HASH, registrant=ALICE, holder=ALICE, holder_since_block=30,
        category=301, grade=1, status=status, under_objection=False, frozen=False,
        metadata_uri="ipfs://meta", metadata_hash=HASH, metadata_version=1, channel="DIRECT",
        submitter=ALICE, batch_root=None, notice_ends_at=None, registration_number=1,
        registered_block=30, registered_at=1_746_100_800, registered_tx=HASH,
        block_number=block, finality=finality,
    )  # fmt: skip


def test_the_note_counts_the_confirmations_and_names_both_blocks() -> None:
    standing = Confirmations(block=40, head=43, needed=12)
    assert standing.count == 3
    assert not standing.confirmed
    assert standing.note() == (
        "unconfirmed: 3 of 12 confirmations (the latest change is in block 40; the chain is at "
        "block 43)"
    )


def test_a_change_in_the_head_block_has_none() -> None:
    assert Confirmations(block=40, head=40, needed=3).note() == (
        "unconfirmed: 0 of 3 confirmations (the latest change is in block 40; the chain is at "
        "block 40)"
    )
    assert Confirmations(block=41, head=40, needed=3).count == 0  # an index that lags its head


def test_a_pending_asset_is_warned_about_with_the_count() -> None:
    pending = asset(Finality.PENDING, block=40)
    assert asset_warnings(pending, 0, Confirmations(40, 42, 3)) == [
        "unconfirmed: 2 of 3 confirmations (the latest change is in block 40; the chain is at "
        "block 42)"
    ]


def test_the_warning_goes_once_the_count_is_reached() -> None:
    assert asset_warnings(asset(Finality.SAFE, block=40), 0, Confirmations(40, 43, 3)) == []
    assert asset_warnings(asset(Finality.FINAL, block=40), 0, None) == []
    # Read as pending, but the index reached the count before the head was read: no warning.
    assert asset_warnings(asset(Finality.PENDING, block=40), 0, Confirmations(40, 43, 3)) == []


def test_without_a_head_the_warning_is_the_plain_one() -> None:
    assert asset_warnings(asset(Finality.PENDING), 0) == [UNCONFIRMED]
    assert UNCONFIRMED == "unconfirmed: the latest change is not yet confirmed on chain"


def test_the_other_warnings_come_first() -> None:
    noticed = asset(Finality.PENDING, block=40, status="NOTICED")
    assert asset_warnings(noticed, 1, Confirmations(40, 41, 12)) == [
        "not certified yet: the registration is noticed",
        "disputed: 1 open dispute(s)",
        "unconfirmed: 1 of 12 confirmations (the latest change is in block 40; the chain is at "
        "block 41)",
    ]
