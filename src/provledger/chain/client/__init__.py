"""Typed clients for the provledger contracts.

:class:`Provledger` binds one deployment to one signing account and groups the contract
functions by module: ``registry``, ``office``, ``licenses``, ``appraisals``, ``court``,
``anchor``, ``export`` and ``market``. Writes sign locally, wait for the receipt and return a
:class:`~provledger.chain.transactions.Receipt` of typed events; reverts raise
:class:`~provledger.chain.reverts.ContractRevertError` naming the custom error and its arguments.

>>> ledger = Provledger(w3, deployment, account)            # doctest: +SKIP
>>> receipt = ledger.registry.register(registration)         # doctest: +SKIP
>>> receipt.event(AssetRegistered).asset_id                  # doctest: +SKIP

:class:`CheckpointClient` is apart: the ``Checkpoint`` contract is deployed on another chain
than the registry, so it is bound to an address and a sender of its own.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3

from provledger.chain.client.anchor import AnchorClient
from provledger.chain.client.appraisals import AppraisalClient
from provledger.chain.client.base import ZERO_HASH, CallEncoder, ContractClient
from provledger.chain.client.checkpoint import CHECKPOINTER_ROLE, CheckpointClient
from provledger.chain.client.court import CourtClient
from provledger.chain.client.export import ExportClient
from provledger.chain.client.licenses import LicenseClient
from provledger.chain.client.market import NATIVE, MarketClient
from provledger.chain.client.office import OfficeClient
from provledger.chain.client.registry import RegistryClient
from provledger.chain.deployments import Deployment
from provledger.chain.transactions import Sender
from provledger.errors import ConfigurationError

__all__ = [
    "CHECKPOINTER_ROLE",
    "NATIVE",
    "ZERO_HASH",
    "AnchorClient",
    "AppraisalClient",
    "CallEncoder",
    "CheckpointClient",
    "ContractClient",
    "CourtClient",
    "ExportClient",
    "LicenseClient",
    "MarketClient",
    "OfficeClient",
    "Provledger",
    "RegistryClient",
]


class Provledger:
    """One deployment of the provledger contracts, seen by one (optional) signing account."""

    def __init__(
        self, w3: Web3, deployment: Deployment, account: LocalAccount | None = None
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.account = account
        self.sender = (
            Sender(w3, account, decode_addresses=deployment.addresses) if account else None
        )
        self.registry = RegistryClient(w3, deployment.address("DataAssetRegistry"), self.sender)
        self.office = OfficeClient(w3, deployment.address("RegistrationOffice"), self.sender)
        self.licenses = LicenseClient(w3, deployment.address("LicenseRegistry"), self.sender)
        self.appraisals = AppraisalClient(w3, deployment.address("AppraisalRegistry"), self.sender)
        self.court = CourtClient(w3, deployment.address("DisputeCourt"), self.sender)
        self.anchor = AnchorClient(w3, deployment.address("BatchAnchor"), self.sender)
        self.export = ExportClient(w3, deployment.address("ExportControl"), self.sender)
        self._market: MarketClient | None = None

    @property
    def market(self) -> MarketClient:
        """The DataMarket; a deployment made before it existed has none (ConfigurationError)."""
        if self._market is None:
            self._market = MarketClient(self.w3, self.deployment.address("DataMarket"), self.sender)
        return self._market

    def as_account(self, account: LocalAccount) -> Provledger:
        """The same deployment, signing as ``account``."""
        return Provledger(self.w3, self.deployment, account)

    @property
    def address(self) -> ChecksumAddress:
        """The signing account's address."""
        if self.account is None:
            raise ConfigurationError("no signing account was given")
        return Web3.to_checksum_address(self.account.address)
