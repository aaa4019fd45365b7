"""The :class:`Gateway`: the services one app answers from, made once per app."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Final

from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from web3 import HTTPProvider, Web3

from provledger.api.heavy import HeavyWork, WorkPool
from provledger.api.metrics import GatewayMetrics
from provledger.chain.accounts import resolve_signer
from provledger.chain.client import Provledger
from provledger.chain.deployments import Deployment, load_deployment
from provledger.chain.ids import asset_id_hex
from provledger.config import Settings
from provledger.errors import (
    ConfigurationError,
    ProvledgerError,
    ServiceUnavailableError,
)
from provledger.params import (
    page_limit,
)
from provledger.services.asof import PastIndexes
from provledger.services.checkpoints.desk import CheckpointDesk, checkpoints_configured
from provledger.services.delivery.errors import DataRoomNotConfiguredError
from provledger.services.delivery.keys import key_source
from provledger.services.delivery.service import DataRoom
from provledger.services.market import Market
from provledger.services.notify.desk import SubscriptionDesk
from provledger.services.proofs import (
    ProofUnavailableError,
    build_proof_bundle,
)
from provledger.services.provenance import Provenance
from provledger.services.records import Records
from provledger.services.relay import Relayer, RelayNotConfiguredError
from provledger.services.status import Readiness, readiness
from provledger.services.verification import Verifier
from provledger.store.access_log import AccessLogStore
from provledger.store.blobs import BlobStore
from provledger.store.dataroom import DataRoomStore
from provledger.store.objects import ObjectStorage
from provledger.store.queries import index_meta
from provledger.store.relay import RelayStore

log = logging.getLogger(__name__)

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
        self.records = Records(engine, self.provenance)
        self.past_indexes = PastIndexes(
            engine,
            max_events=settings.graphql_asof_max_events,
            keep=settings.graphql_asof_keep,
        )
        self.metrics = GatewayMetrics(self.provenance)
        self.heavy = HeavyWork(settings.heavy_threads, settings.heavy_requests)
        self.node_work = WorkPool(NODE_THREADS, "node")
        self._deployment: Deployment | None = None
        self._relayer: Relayer | None = None
        self._relay_lock = threading.Lock()
        self._room: DataRoom | None = None
        self._subscriptions: SubscriptionDesk | None = None
        self._room_lock = threading.Lock()
        self._upkeep_stop = threading.Event()
        self._chain_id: int | None = None
        self.checkpoints = (
            CheckpointDesk(settings, self.chain_id) if checkpoints_configured(settings) else None
        )

    def node_url(self) -> str | None:
        """The JSON-RPC URL of the gateway's node; None without one (or on the embedded chain)."""
        if self.w3 is None:
            return None
        provider = self.w3.provider
        return provider.endpoint_uri if isinstance(provider, HTTPProvider) else None

    def chain_id(self) -> int:
        """The id of the chain the gateway serves: its node's, or without one its index's."""
        if self._chain_id is None:
            if self.w3 is not None:
                self._chain_id = int(self.w3.eth.chain_id)
            else:
                with self.engine.connect() as conn:
                    indexed = index_meta(conn).get("chain_id")
                if indexed is None:
                    raise ServiceUnavailableError("the index does not name its chain yet")
                self._chain_id = int(indexed)
        return self._chain_id

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
                account = service_account(
                    deployment.chain_id,
                    settings.relayer_keystore,
                    settings.relayer_password_file,
                    settings.relayer_dev_account,
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

    def subscriptions(self) -> SubscriptionDesk:
        """The subscriptions desk, made on first use."""
        with self._room_lock:
            if self._subscriptions is None:
                self._subscriptions = SubscriptionDesk(self.settings, self.engine, self.provenance)
            return self._subscriptions

    def data_room(self) -> DataRoom:
        """The data room, made on first use."""
        with self._room_lock:
            if self._room is None:
                self._room = open_data_room(self.settings, self.w3)
            return self._room

    def start_upkeep(self) -> None:
        """With the data room on, shred cancelled assets' data and anchor the access log every
        ``data_room_anchor_interval`` seconds, on a thread of its own."""
        if self.settings.data_room:
            threading.Thread(target=self._upkeep, name="data-room-upkeep", daemon=True).start()

    def _upkeep(self) -> None:
        while not self._upkeep_stop.wait(self.settings.data_room_anchor_interval):
            try:
                self.data_room().upkeep()
            except ProvledgerError as error:
                log.warning("data room upkeep: %s", error)

    def close(self) -> None:
        """Stop the heavy work's threads, and the relay's tracking thread and close its
        records, if it runs."""
        self._upkeep_stop.set()
        self.heavy.close()
        self.node_work.close()
        if self._relayer is not None:
            self._relayer.stop()
            self._relayer.store.close()
        if self._room is not None:
            self._room.close()
        if self._subscriptions is not None:
            self._subscriptions.close()
        if self.checkpoints is not None:
            self.checkpoints.close()

    def proof(self, asset_id: int) -> dict[str, Any]:
        """The proof bundle of an asset, built from the index and the node; with checkpoints
        configured, carrying the checkpoint evidence of its block (a target node that does not
        answer is a 503, not a bundle without evidence)."""
        if self.w3 is None:
            raise ProofUnavailableError(
                asset_id_hex(asset_id),
                "proof bundles read the node: start the gateway with PROVLEDGER_RPC_URL set",
            )
        evidence = None if self.checkpoints is None else self.checkpoints.evidence()
        deployment = self.deployment(self.w3)
        return build_proof_bundle(self.engine, self.w3, deployment, asset_id, checkpoints=evidence)

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


def service_account(
    chain_id: int, keystore: Path | None, password_file: Path | None, dev_index: int | None
) -> LocalAccount:
    """An account the gateway signs with on its own (the relayer, the access log's anchoring):
    a keystore and its password file, or a dev key; never a prompt."""
    return resolve_signer(
        chain_id=chain_id,
        embedded=False,
        keystore=keystore,
        password_file=password_file,
        dev_index=dev_index,
        prompt_password=_no_prompt,
    )


def open_data_room(settings: Settings, w3: Web3 | None) -> DataRoom:
    """The data room ``settings`` describe, on the node ``w3``."""
    if w3 is None:
        raise DataRoomNotConfiguredError(
            "it reads the chain: start the gateway with PROVLEDGER_RPC_URL set"
        )
    keys = key_source(settings)
    deployment = load_deployment(settings.deployments_dir, int(w3.eth.chain_id))
    ledger = Provledger(w3, deployment)
    keystore, dev_index = settings.data_room_anchor_keystore, settings.data_room_anchor_dev_account
    if keystore is not None or dev_index is not None:
        password_file = settings.data_room_anchor_password_file
        ledger = ledger.as_account(
            service_account(deployment.chain_id, keystore, password_file, dev_index)
        )
    return DataRoom(
        ledger,
        DataRoomStore.open(settings.data_room_database_url),
        AccessLogStore.open(settings.data_room_database_url),
        ObjectStorage.open(settings.data_room_storage),
        keys,
        max_bytes=settings.data_room_max_bytes,
        blobs=BlobStore(settings.blob_dir),
    )
