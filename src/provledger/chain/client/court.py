"""The client of ``DisputeCourt``: disputes, freezes, rulings."""

from __future__ import annotations

from provledger.chain.client.base import ContractClient
from provledger.chain.enums import Ruling
from provledger.chain.transactions import Receipt
from provledger.chain.types import DisputeState


class CourtClient(ContractClient):
    """``DisputeCourt``: disputes, freezes, rulings."""

    NAME = "DisputeCourt"

    def open(self, asset: int, evidence_hash: bytes) -> Receipt:
        """Open a dispute over an asset (anyone)."""
        return self._send("open", asset, evidence_hash)

    def freeze(self, dispute: int) -> Receipt:
        """Freeze the asset of an open dispute (ARBITER_ROLE)."""
        return self._send("freeze", dispute)

    def rule(self, dispute: int, ruling: Ruling | int, ruling_hash: bytes) -> Receipt:
        """Rule on a frozen dispute (ARBITER_ROLE)."""
        return self._send("rule", dispute, int(ruling), ruling_hash)

    def dispute(self, dispute: int) -> DisputeState:
        """A stored dispute."""
        return DisputeState.from_abi(dispute, self._call("disputeOf", dispute))

    def freeze_count(self, asset: int) -> int:
        """How many disputes hold the asset frozen."""
        return int(self._call("freezeCount", asset))

    def dispute_count(self) -> int:
        """Disputes opened so far."""
        return int(self._call("disputeCount"))
