"""The :class:`Gateway`: the services one app answers from, made once per app."""

from __future__ import annotations

import threading
from typing import Any, Final

from sqlalchemy import Engine
from web3 import Web3

from provledger.api.heavy import HeavyWork, WorkPool
from provledger.api.metrics import GatewayMetrics
from provledger.chain.accounts import resolve_signer
from provledger.chain.client import Provledger
from provledger.chain.deployments import Deployment, load_deployment
from provledger.chain.ids import asset_id_hex
from provledger.config import Settings
from provledger.errors import ConfigurationError
from provledger.params import page_limit
from provledger.services.market import Market
from provledger.services.proofs import ProofUnavailableError, build_proof_bundle
from provledger.services.provenance import Provenance
from provledger.services.relay import Relayer, RelayNotConfiguredError
from provledger.services.status import Readiness, readiness
from provledger.services.verification import Verifier
from provledger.store.blobs import BlobStore
from provledger.store.relay import RelayStore

#: Threads per worker for requests that wait on the node (readiness, the relay).
NODE_THREADS: Final = 16


class Gateway:
    """The services one app answers from."""

    def __init__(self, settings: Settings, engine: Engine, w3: Web3 | None) -> None:
        self.settings = settings
        self.engine = engine
        self.w3 = w3
        self.provenance = Provenance(
            engine, confirmations=settings.confirmations, finality_depth=settings.finality_depth
        )
        self.verifier = Verifier(self.provenance, BlobStore(settings.blob_dir))
        self.market = Market(engine, self.provenance)
        self.metrics = GatewayMetrics(self.provenance)
        self.heavy = HeavyWork(settings.heavy_threads, settings.heavy_requests)
        self.node_work = WorkPool(NODE_THREADS, "node")
        self._deployment: Deployment | None = None
        self._relayer: Relayer | None = None
        self._relay_lock = threading.Lock()

    def deployment(self, w3: Web3) -> Deployment:
        """The deployment record of the node's chain."""
        if self._deployment is None:
            chain_id = int(w3.eth.chain_id)
            self._deployment = load_deployment(self.settings.deployments_dir, chain_id)
        return self._deployment

    @property
    def relays(self) -> bool:
        """Whether relaying is configured (a node and a relayer key)."""
        settings = self.settings
        has_key = settings.relayer_keystore is not None or settings.relayer_dev_account is not None
        return self.w3 is not None and has_key

    def relayer(self) -> Relayer:
        """The relayer, made on first use (and its tracking thread started)."""
        if not self.relays:
            raise RelayNotConfiguredError()
        with self._relay_lock:
            if self._relayer is None:
                assert self.w3 is not None
                settings = self.settings
                deployment = self.deployment(self.w3)
                account = resolve_signer(
                    chain_id=deployment.chain_id,
                    embedded=False,
                    keystore=settings.relayer_keystore,
                    password_file=settings.relayer_password_file,
                    dev_index=settings.relayer_dev_account,
                    prompt_password=_no_prompt,
                )
                relayer = Relayer(
                    RelayStore.open(settings.relay_database_url),
                    Provledger(self.w3, deployment),
                    account,
                    confirmations=settings.confirmations,
                    replace_after=settings.relay_replace_after,
                )
                relayer.start()
                self._relayer = relayer
            return self._relayer

    def close(self) -> None:
        """Stop the heavy work's threads, and the relay's tracking thread and close its
        records, if it runs."""
        self.heavy.close()
        self.node_work.close()
        if self._relayer is not None:
            self._relayer.stop()
            self._relayer.store.close()

    def proof(self, asset_id: int) -> dict[str, Any]:
        """The proof bundle of an asset, built from the index and the node."""
        if self.w3 is None:
            raise ProofUnavailableError(
                asset_id_hex(asset_id),
                "proof bundles read the node: start the gateway with PROVLEDGER_RPC_URL set",
            )
        return build_proof_bundle(self.engine, self.w3, self.deployment(self.w3), asset_id)

    def limit(self, value: int | None) -> int:
        """A requested page size, or the default."""
        return page_limit(value, self.settings.page_size)

    def readiness(self) -> Readiness:
        """Ready when indexed and within ``ready_max_lag`` blocks of the head (the node's, when
        the gateway has one and it is further on than the indexer saw)."""
        w3 = self.w3
        return readiness(
            self.engine,
            max_lag=self.settings.ready_max_lag,
            node_head=None if w3 is None else lambda: int(w3.eth.block_number),
        )


def _no_prompt(question: str) -> str:
    raise ConfigurationError(f"the gateway cannot ask for a {question}: set the password file")
