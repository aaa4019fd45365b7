"""The client of ``ExportControl``: export permits for grade 2 data."""

from __future__ import annotations

from web3 import Web3
from web3.types import BlockIdentifier

from provledger.chain.client.base import ContractClient
from provledger.chain.transactions import Receipt
from provledger.chain.types import ExportPermitState


class ExportClient(ContractClient):
    """``ExportControl``: export permits for grade 2 data."""

    NAME = "ExportControl"

    def issue_permit(self, asset: int, recipient: str, expires_at: int) -> Receipt:
        """Allow one cross-border transfer of ``asset`` to ``recipient`` (EXPORT_APPROVER_ROLE)."""
        return self._send("issuePermit", asset, Web3.to_checksum_address(recipient), expires_at)

    def revoke_permit(self, asset: int, recipient: str) -> Receipt:
        """Withdraw an unused permit (EXPORT_APPROVER_ROLE)."""
        return self._send("revokePermit", asset, Web3.to_checksum_address(recipient))

    def permit(
        self, asset: int, recipient: str, *, block: BlockIdentifier = "latest"
    ) -> ExportPermitState | None:
        """The permit for ``asset`` and ``recipient``, or None."""
        raw = self._call("permitOf", asset, Web3.to_checksum_address(recipient), block=block)
        return None if int(raw[1]) == 0 else ExportPermitState.from_abi(raw)
