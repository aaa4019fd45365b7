"""The client of ``RegistrationOffice``: review, public notice, objections, certificates."""

from __future__ import annotations

from provledger.chain.client.base import ContractClient
from provledger.chain.enums import RegistrationType
from provledger.chain.transactions import Receipt
from provledger.chain.types import CertificateState, ObjectionState


class OfficeClient(ContractClient):
    """``RegistrationOffice``: review, public notice, objections, certificates."""

    NAME = "RegistrationOffice"

    def set_notice_period(self, seconds: int) -> Receipt:
        """Set the notice period for future acceptances (admin)."""
        return self._send("setNoticePeriod", seconds)

    def accept(self, asset: int) -> Receipt:
        """Accept an application; its public notice starts (REGISTRAR_ROLE)."""
        return self._send("accept", asset)

    def reject(self, asset: int, reason_hash: bytes) -> Receipt:
        """Reject an application (REGISTRAR_ROLE)."""
        return self._send("reject", asset, reason_hash)

    def object(self, asset: int, grounds_hash: bytes) -> Receipt:
        """Lodge an objection during the notice period (anyone)."""
        return self._send("object", asset, grounds_hash)

    def resolve_objection(self, objection: int, upheld: bool, reason_hash: bytes) -> Receipt:
        """Resolve an objection (REGISTRAR_ROLE)."""
        return self._send("resolveObjection", objection, upheld, reason_hash)

    def certify(
        self, asset: int, certificate_hash: bytes, kind: RegistrationType | int = 1
    ) -> Receipt:
        """Issue a certificate with the next registration number (REGISTRAR_ROLE)."""
        return self._send("certify", asset, int(kind), certificate_hash)

    def notice_period(self) -> int:
        """The notice period in seconds."""
        return int(self._call("noticePeriod"))

    def notice_ends_at(self, asset: int) -> int:
        """When the asset's notice ends (0 if never accepted)."""
        return int(self._call("noticeEndsAt", asset))

    def open_objection_count(self, asset: int) -> int:
        """Open objections against the asset."""
        return int(self._call("openObjectionCount", asset))

    def objection(self, objection: int) -> ObjectionState:
        """A stored objection."""
        return ObjectionState.from_abi(objection, self._call("objectionOf", objection))

    def certificate(self, registration_number: int) -> CertificateState:
        """A stored certificate."""
        return CertificateState.from_abi(
            registration_number, self._call("certificateOf", registration_number)
        )

    def initial_registration_number(self, asset: int) -> int:
        """The registration number of the asset's initial certificate (0 if none)."""
        return int(self._call("initialRegistrationNumberOf", asset))

    def certificate_count(self) -> int:
        """Certificates issued so far."""
        return int(self._call("certificateCount"))

    def objection_count(self) -> int:
        """Objections lodged so far."""
        return int(self._call("objectionCount"))
