"""What the model remembers, the constants of the rules, and how it states a predicted revert."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from eth_typing import ChecksumAddress
from web3 import Web3

from provledger.chain.enums import (
    AssetStatus,
    DisputeStatus,
    LicenseKind,
    ParticipantStatus,
    Ruling,
)
from provledger.chain.ids import asset_id
from provledger.chain.types import AssetState, ParentLink

T = TypeVar("T")

HOUR: Final = 3600
#: How far after the latest block a node may date the next transaction (eth-tester adds a
#: second per block, anvil follows the wall clock, also after a snapshot is reverted).
CLOCK_SLACK: Final = 900
ZERO_HASH: Final = b"\x00" * 32
ZERO_ADDRESS: Final = Web3.to_checksum_address("0x" + "00" * 20)
MAX_PARENTS: Final = 16
UNLISTED_CATEGORY: Final = 999
NOWHERE: Final = b"\x00\x00"
#: The market's fee cap (``MAX_FEE_BPS``), its denominator, and its longest license.
MAX_FEE_BPS: Final = 1000
BPS: Final = 10_000
MAX_LICENSE_DURATION: Final = 100 * 365 * 24 * HOUR
#: The native currency, in offers, bids, events and ``owedTo``.
NATIVE: Final = ZERO_ADDRESS


def content(label: str) -> bytes:
    """A content hash for ``label``."""
    return hashlib.sha256(f"model content {label}".encode()).digest()


UNKNOWN_ASSET: Final = asset_id(content("never registered"))

# ---------------------------------------------------------------- expectations


class ExpectedRevertError(Exception):
    """The model's prediction that an action reverts with custom error ``name(**args)``."""

    def __init__(self, name: str, **args: Any) -> None:
        self.name = name
        self.args_by_name = args
        super().__init__(f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})")


class Around:
    """A block timestamp known to within :data:`CLOCK_SLACK` seconds after ``value``."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and self.value <= other <= self.value + CLOCK_SLACK

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Around({self.value})"


def numbered(items: Sequence[T], number: int, error: str, key: str) -> T:
    """Item ``number`` of ``items`` (ids count from 1), or the custom error ``error(key=number)``
    the contracts raise for an id they never gave."""
    if not 1 <= number <= len(items):
        raise ExpectedRevertError(error, **{key: number})
    return items[number - 1]


# ---------------------------------------------------------------- the records


@dataclass
class ParticipantRecord:
    jurisdiction: bytes
    status: ParticipantStatus
    registered_at: int
    name_hash: bytes


NOBODY: Final = ParticipantRecord(NOWHERE, ParticipantStatus.NONE, 0, ZERO_HASH)


@dataclass
class AssetRecord:
    asset_id: int
    content_hash: bytes
    registrant: ChecksumAddress
    registered_at: int
    category: int
    grade: int
    status: AssetStatus
    holder: ChecksumAddress
    metadata_hash: bytes
    metadata_version: int = 1
    parents: tuple[ParentLink, ...] = ()
    notice_ends_at: int = 0
    open_objections: int = 0
    freezes: int = 0
    initial_certificate: int = 0

    def state(self) -> AssetState:
        """What ``assetOf`` + ``ownerOf`` + ``metadataHashOf`` must return."""
        return AssetState(
            asset_id=self.asset_id,
            registrant=self.registrant,
            registered_at=self.registered_at,
            category=self.category,
            grade=self.grade,
            status=self.status,
            under_objection=self.open_objections > 0,
            frozen=self.freezes > 0,
            metadata_version=self.metadata_version,
            holder=self.holder,
            metadata_hash=self.metadata_hash,
        )


@dataclass
class LicenseRecord:
    asset_id: int
    licensor: ChecksumAddress
    granted_at: int
    expires_at: int
    kind: LicenseKind
    licensee: ChecksumAddress
    terms_hash: bytes
    revoked_at: int = 0
    sold: bool = False  # through the market: the holder cannot revoke it

    def valid_at(self, timestamp: int) -> bool:
        """Granted at or before, expiring after, not revoked at or before ``timestamp``."""
        return self.granted_at <= timestamp < self.expires_at and (
            self.revoked_at == 0 or timestamp < self.revoked_at
        )


@dataclass
class DisputeRecord:
    asset_id: int
    claimant: ChecksumAddress
    opened_at: int
    evidence_hash: bytes
    status: DisputeStatus = DisputeStatus.OPEN
    ruling: Ruling = Ruling.NONE
    ruling_hash: bytes = ZERO_HASH


@dataclass
class ObjectionRecord:
    asset_id: int
    objector: ChecksumAddress
    lodged_at: int
    grounds_hash: bytes
    open: bool = True
    upheld: bool = False


@dataclass
class PermitRecord:
    destination: bytes
    issued_at: int
    expires_at: int
    approver: ChecksumAddress
    used: bool = False
    revoked: bool = False


@dataclass
class MoveRecord:
    """A change of holder the model made: to whom, why, and in which block (the driver stamps
    the block once the chain mined it)."""

    asset_id: int
    holder: ChecksumAddress
    via: str  # TRANSFER | TRADE | RULING, as the index calls them
    block: int = 0
