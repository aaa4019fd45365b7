"""The client of ``AppraisalRegistry``: valuations with supersession."""

from __future__ import annotations

from provledger.chain.client.base import ContractClient
from provledger.chain.enums import ValuationMethod
from provledger.chain.transactions import Receipt
from provledger.chain.types import AppraisalState, currency_bytes


class AppraisalClient(ContractClient):
    """``AppraisalRegistry``: valuations with supersession."""

    NAME = "AppraisalRegistry"

    def appraise(
        self,
        asset: int,
        amount: int,
        currency: str,
        method: ValuationMethod | int,
        report_hash: bytes,
    ) -> Receipt:
        """Record a valuation (APPRAISER_ROLE)."""
        return self._send(
            "appraise", asset, amount, currency_bytes(currency), int(method), report_hash
        )

    def appraisal(self, appraisal_id: int) -> AppraisalState:
        """A stored appraisal."""
        return AppraisalState.from_abi(appraisal_id, self._call("appraisalOf", appraisal_id))

    def current_appraisal_of(self, asset: int) -> int:
        """The id of the asset's current appraisal (0 if none)."""
        return int(self._call("currentAppraisalOf", asset))

    def appraisal_count(self) -> int:
        """Appraisals recorded so far."""
        return int(self._call("appraisalCount"))
