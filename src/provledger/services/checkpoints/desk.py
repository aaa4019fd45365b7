"""The gateway's checkpoint desk: the checkpoints of its chain on the target chain, and the
witnesses' co-signatures given for them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from eth_utils.address import to_checksum_address

from provledger.chain.connection import rpc_chain
from provledger.config import Settings
from provledger.errors import (
    ConfigurationError,
    InputError,
    ProvledgerError,
)
from provledger.params import (
    InvalidParameterError,
    decode_cursor,
    encode_cursor,
    parse_address,
)
from provledger.services.checkpoints import (
    Checkpoint,
    CheckpointLedger,
    CheckpointRecord,
    Cosignature,
)
from provledger.services.proofs import (
    CheckpointSource,
)
from provledger.store.checkpoints import CheckpointStore, StoredCosignature
from provledger.units import iso_millis


def checkpoints_configured(settings: Settings) -> bool:
    """Whether ``settings`` name a target chain and its Checkpoint contract."""
    return settings.checkpoint_rpc_url is not None and settings.checkpoint_contract is not None


class UnknownCheckpointError(ProvledgerError):
    """The target chain holds no such checkpoint of the gateway's chain."""

    template = "the target chain holds no checkpoint {sequence} of chain {source_chain_id}"
    source_chain_id: int
    sequence: int


class CosignatureMismatchError(InputError):
    """A co-signature whose signature does not recover to its witness over the checkpoint."""

    witness: str
    signer: str | None
    checkpoint: str

    def _message(self) -> str:
        recovered = "to no address" if self.signer is None else f"to {self.signer}"
        return (
            f"the signature recovers {recovered}, not to witness {self.witness}, "
            f"over {self.checkpoint}"
        )


@dataclass(frozen=True)
class CheckpointPage:
    """A page of checkpoints, newest first, each with its co-signature count."""

    items: list[tuple[dict[str, Any], int]]
    """Each checkpoint as :meth:`CheckpointDesk.describe` gives it, and its co-signatures."""
    next_cursor: str | None


class CheckpointDesk:
    """The checkpoints of the gateway's chain on the target chain (``checkpoint_rpc_url``,
    ``checkpoint_contract``), and the witnesses' co-signatures given for them
    (``checkpoint_database_url``). The target node and the database are opened on first use,
    so a target node that is down answers 503 on these routes alone."""

    def __init__(self, settings: Settings, source_chain_id: Callable[[], int]) -> None:
        assert settings.checkpoint_rpc_url is not None
        assert settings.checkpoint_contract is not None
        try:
            self.contract = parse_address(settings.checkpoint_contract, "checkpoint_contract")
        except InvalidParameterError as error:
            raise ConfigurationError(f"PROVLEDGER_CHECKPOINT_CONTRACT: {error.reason}") from None
        self.url = settings.checkpoint_rpc_url
        self._timeout = settings.rpc_timeout
        self._database_url = settings.checkpoint_database_url
        self.source_chain_id = source_chain_id
        self._ledger: CheckpointLedger | None = None
        self._store: CheckpointStore | None = None
        self._source: CheckpointSource | None = None
        self._lock = threading.Lock()

    def ledger(self) -> CheckpointLedger:
        """The target chain's checkpoints, read from its node."""
        with self._lock:
            if self._ledger is None:
                w3 = rpc_chain(self.url, timeout=self._timeout, check=False)
                self._ledger = CheckpointLedger(w3, to_checksum_address(self.contract))
            return self._ledger

    def store(self) -> CheckpointStore:
        """The co-signatures kept."""
        with self._lock:
            if self._store is None:
                self._store = CheckpointStore.open(self._database_url)
            return self._store

    def evidence(self) -> CheckpointSource:
        """Where proof bundles find their checkpoint evidence: the target chain's checkpoints
        and the co-signatures kept (its block-hash trees are kept between bundles)."""
        ledger = self.ledger()
        with self._lock:
            if self._source is None:
                self._source = CheckpointSource(ledger, self._kept_cosignatures)
            return self._source

    def _kept_cosignatures(self, checkpoint: Checkpoint) -> list[Cosignature]:
        # the ones kept of this very checkpoint (its commitment): each was checked when given
        kept = self.cosignatures(checkpoint)
        return [Cosignature(to_checksum_address(item.witness), item.signature) for item in kept]

    def page(self, cursor: str | None, limit: int) -> CheckpointPage:
        """Checkpoints newest first, ``limit`` a page, after ``cursor``."""
        after = decode_cursor(cursor, (int,))
        newest = self.ledger().newest(self.source_chain_id())
        older = (item for item in newest if after is None or item.checkpoint.sequence < after[0])
        # the logs are read back only as far as the page needs (and one more, to know if more)
        read = list(islice(older, limit + 1))
        shown = read[:limit]
        counts = self.store().counts(
            self.source_chain_id(),
            {item.checkpoint.sequence: item.checkpoint.commitment for item in shown},
        )
        more = len(read) > limit
        return CheckpointPage(
            [(self.describe(item), counts.get(item.checkpoint.sequence, 0)) for item in shown],
            encode_cursor([shown[-1].checkpoint.sequence]) if more else None,
        )

    def get(self, sequence: int) -> CheckpointRecord:
        """Checkpoint ``sequence`` as the target chain holds it."""
        source = self.source_chain_id()
        found = self.ledger().get(source, sequence)
        if found is None:
            raise UnknownCheckpointError(source, sequence)
        return found

    def describe(self, record: CheckpointRecord) -> dict[str, Any]:
        """``record`` as the routes answer it (with the target block's time)."""
        return self.ledger().record_json(record)

    def cosignatures(self, checkpoint: Checkpoint) -> list[StoredCosignature]:
        """The co-signatures kept of ``checkpoint``, oldest first."""
        return self.store().of(
            checkpoint.source_chain_id, checkpoint.sequence, checkpoint.commitment
        )

    def accept(self, sequence: int, cosignature: Cosignature) -> tuple[StoredCosignature, bool]:
        """Keep ``cosignature`` of checkpoint ``sequence`` if it holds over the checkpoint the
        target chain records; the co-signature kept, and whether it is new.

        Raises:
            UnknownCheckpointError: the target chain holds no such checkpoint.
            CosignatureMismatchError: the signature is not the witness's over it.
            ConflictingCosignatureError: the witness's other co-signature of it is kept.
        """
        recorded = self.get(sequence)
        checkpoint = recorded.checkpoint
        signer = cosignature.signer(checkpoint, self.ledger().venue)
        if signer != cosignature.witness:
            raise CosignatureMismatchError(cosignature.witness, signer, checkpoint.describe())
        store = self.store()
        new = store.add(
            checkpoint.source_chain_id,
            sequence,
            cosignature.witness,
            cosignature.signature,
            checkpoint.commitment,
        )
        kept = next(item for item in self.cosignatures(checkpoint) if item.witness == signer)
        return kept, new

    def close(self) -> None:
        """Close the co-signatures' database."""
        if self._store is not None:
            self._store.close()


def received_time(cosignature: StoredCosignature) -> str:
    """When the gateway was given ``cosignature``, in ISO 8601 (UTC, to the millisecond)."""
    return iso_millis(cosignature.received_at)
