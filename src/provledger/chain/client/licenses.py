"""The client of ``LicenseRegistry``: typed, expiring, revocable licenses."""

from __future__ import annotations

from web3 import Web3
from web3.types import BlockIdentifier

from provledger.chain.client.base import ZERO_HASH, ContractClient
from provledger.chain.enums import LicenseKind
from provledger.chain.transactions import Receipt
from provledger.chain.types import LicenseState


class LicenseClient(ContractClient):
    """``LicenseRegistry``: typed, expiring, revocable licenses."""

    NAME = "LicenseRegistry"

    def grant(
        self,
        asset: int,
        licensee: str,
        kind: LicenseKind | int,
        expires_at: int,
        terms_hash: bytes,
        scope: str = "",
        *,
        licensor: str | None = None,
    ) -> Receipt:
        """Grant a license on an asset the sender holds, or, given ``licensor``, for that
        holder (``grantFor``: the sender needs MARKET_ROLE)."""
        terms = _terms(licensee, kind, expires_at, terms_hash, scope)
        if licensor is None:
            return self._send("grant", asset, *terms)
        return self._send("grantFor", asset, Web3.to_checksum_address(licensor), *terms)

    def revoke(self, license_id: int, reason_hash: bytes = ZERO_HASH) -> Receipt:
        """Revoke a license on an asset the sender holds."""
        return self._send("revoke", license_id, reason_hash)

    def license(self, license_id: int, *, block: BlockIdentifier = "latest") -> LicenseState:
        """A stored license."""
        return LicenseState.from_abi(license_id, self._call("licenseOf", license_id, block=block))

    def is_valid_at(
        self, license_id: int, timestamp: int, *, block: BlockIdentifier = "latest"
    ) -> bool:
        """Whether the license is valid at ``timestamp``."""
        return bool(self._call("isValidAt", license_id, timestamp, block=block))

    def valid_license_of(
        self,
        asset: int,
        licensee: str,
        kind: LicenseKind | int,
        timestamp: int,
        *,
        block: BlockIdentifier = "latest",
    ) -> int:
        """A valid license of ``kind`` held by ``licensee`` at ``timestamp``, or 0."""
        checksummed = Web3.to_checksum_address(licensee)
        return int(
            self._call("validLicenseOf", asset, checksummed, int(kind), timestamp, block=block)
        )

    def licenses_of(
        self, asset: int, licensee: str, *, block: BlockIdentifier = "latest"
    ) -> tuple[int, ...]:
        """Every license granted on ``asset`` to ``licensee``."""
        checksummed = Web3.to_checksum_address(licensee)
        return tuple(
            int(item) for item in self._call("licensesOf", asset, checksummed, block=block)
        )

    def license_count(self) -> int:
        """Licenses granted so far."""
        return int(self._call("licenseCount"))


def _terms(
    licensee: str, kind: LicenseKind | int, expires_at: int, terms_hash: bytes, scope: str
) -> tuple[object, ...]:
    """The arguments both ``grant`` and ``grantFor`` end with, in their ABI form."""
    return (Web3.to_checksum_address(licensee), int(kind), expires_at, terms_hash, scope)
