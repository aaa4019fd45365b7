"""The witnesses' co-signatures of checkpoints that the gateway was given.

A co-signature is self-authenticating (an EIP-712 signature over the checkpoint, see
:mod:`provledger.services.checkpoints.cosign`): the gateway keeps the ones that recover to their
witness over the checkpoint the target chain records, and hands them out with the checkpoint and
in proof bundles; which witnesses count is each verifier's policy. They live apart from the
index, in the database of the ``checkpoint_database_url`` setting, which the gateway writes
(SQLite or PostgreSQL; on SQLite the writers take turns, as the relay's do).

One witness has one co-signature per checkpoint (source chain, sequence). Each row keeps the
commitment it was given for, so a co-signature of a checkpoint the target chain has since
reorganised away (another checkpoint took its sequence) is never handed out for the new one,
and the witness's co-signature of the new one takes its place.

Signatures and commitments are stored as ``0x`` and lowercase hex, witnesses lowercase; the
records hand them back as bytes and checksummed addresses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, PrimaryKeyConstraint, String, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from provledger.errors import InputError
from provledger.params import checksum, to_hex32
from provledger.store import schema
from provledger.store.columns import address, column, hex_hash
from provledger.store.relay import now_ms
from provledger.store.write_turns import TurnTakingStore

metadata = schema.new_metadata()

cosignatures = Table(
    "checkpoint_cosignatures",
    metadata,
    column("source_chain_id", BigInteger),
    column("sequence", BigInteger),
    address("witness"),
    column("signature", String(132)),  # 0x and 65 bytes (r, s, v) in hex
    hex_hash("commitment"),  # what checkpointOf held for the checkpoint it signs
    column("received_at", BigInteger),  # ms
    PrimaryKeyConstraint("source_chain_id", "sequence", "witness"),
)


class ConflictingCosignatureError(InputError):
    """The witness already gave the gateway another co-signature of this checkpoint."""

    template = (
        "witness {witness} already co-signed checkpoint {sequence} of chain {source_chain_id} "
        "with another signature; the gateway keeps one per witness"
    )
    witness: str
    source_chain_id: int
    sequence: int


@dataclass(frozen=True)
class StoredCosignature:
    """A witness's co-signature of checkpoint ``sequence`` of ``source_chain_id``."""

    source_chain_id: int
    sequence: int
    witness: str
    """Checksummed."""
    signature: bytes
    commitment: bytes
    """The commitment of the checkpoint it signs (``checkpointOf`` when it was received)."""
    received_at: int
    """When the gateway was given it, in ms since 1970 (UTC)."""


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def _cosignature(row: Any) -> StoredCosignature:
    return StoredCosignature(
        row.source_chain_id,
        row.sequence,
        checksum(row.witness),
        bytes.fromhex(row.signature[2:]),
        bytes.fromhex(row.commitment[2:]),
        row.received_at,
    )


class CheckpointStore(TurnTakingStore):
    """The co-signatures of checkpoints, in one database."""

    metadata = metadata

    def add(
        self,
        source_chain_id: int,
        sequence: int,
        witness: str,
        signature: bytes,
        commitment: bytes,
    ) -> bool:
        """Keep ``witness``'s co-signature of the checkpoint whose commitment is ``commitment``;
        False, and nothing changed, if it is kept already.

        Raises:
            ConflictingCosignatureError: the witness's co-signature of that same checkpoint is
                kept with another signature (nothing changed). One of a checkpoint since
                replaced (another commitment) is replaced instead.
        """
        key = {
            "source_chain_id": source_chain_id,
            "sequence": sequence,
            "witness": witness.lower(),
        }
        values = {"signature": _hex(signature), "commitment": to_hex32(commitment)}
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(cosignatures).values(**key, **values, received_at=now_ms())
        c = cosignatures.c
        with self._transaction() as conn:
            # RETURNING, not rowcount: over psycopg the rowcount of this INSERT is -1
            statement = insert.on_conflict_do_nothing().returning(c.witness)
            if conn.execute(statement).first() is not None:
                return True
            where = (c.source_chain_id == source_chain_id, c.sequence == sequence)
            kept = conn.execute(
                select(c.signature, c.commitment).where(*where, c.witness == key["witness"])
            ).one()
            if kept.commitment != values["commitment"]:
                conn.execute(
                    update(cosignatures)
                    .where(*where, c.witness == key["witness"])
                    .values(**values, received_at=now_ms())
                )
                return True
            if kept.signature != values["signature"]:
                raise ConflictingCosignatureError(checksum(witness), source_chain_id, sequence)
            return False

    def of(
        self, source_chain_id: int, sequence: int, commitment: bytes | None = None
    ) -> list[StoredCosignature]:
        """The co-signatures of checkpoint ``sequence`` of ``source_chain_id`` (of the one whose
        commitment is ``commitment``, if given), oldest first."""
        c = cosignatures.c
        where = [c.source_chain_id == source_chain_id, c.sequence == sequence]
        if commitment is not None:
            where.append(c.commitment == to_hex32(commitment))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cosignatures).where(*where).order_by(c.received_at, c.witness)
            )
            return [_cosignature(row) for row in rows]

    def counts(self, source_chain_id: int, commitments: Mapping[int, bytes]) -> dict[int, int]:
        """How many co-signatures each of the checkpoints ``commitments`` names (sequence to
        commitment) has; a checkpoint with none is absent."""
        if not commitments:
            return {}
        c = cosignatures.c
        statement = (
            select(c.sequence, c.commitment, func.count())
            .where(c.source_chain_id == source_chain_id, c.sequence.in_(list(commitments)))
            .group_by(c.sequence, c.commitment)
        )
        with self.engine.connect() as conn:
            return {
                sequence: count
                for sequence, commitment, count in conn.execute(statement)
                if commitment == to_hex32(commitments[sequence])
            }
