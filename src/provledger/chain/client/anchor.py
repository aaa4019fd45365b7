"""The client of ``BatchAnchor``: Merkle batch anchors and promotion of their leaves."""

from __future__ import annotations

from collections.abc import Sequence

from provledger.chain.client.base import ContractClient
from provledger.chain.transactions import Receipt
from provledger.chain.types import BatchState, Registration


class AnchorClient(ContractClient):
    """``BatchAnchor``: Merkle batch anchors and promotion of leaves."""

    NAME = "BatchAnchor"

    def anchor(self, root: bytes, leaf_count: int, manifest_uri: str = "") -> Receipt:
        """Anchor a batch root (active participants)."""
        return self._send("anchor", root, leaf_count, manifest_uri)

    def promote(self, root: bytes, proof: Sequence[bytes], registration: Registration) -> Receipt:
        """Register a proven leaf of a batch the sender anchored."""
        return self._send("promote", root, list(proof), registration.as_tuple())

    def batch(self, root: bytes) -> BatchState | None:
        """The anchored batch with ``root``, or None."""
        raw = self._call("batchOf", root)
        return None if int(raw[2]) == 0 else BatchState.from_abi(root, raw)

    def is_anchored_leaf(self, root: bytes, content_hash: bytes, proof: Sequence[bytes]) -> bool:
        """Whether the proof shows ``content_hash`` is a leaf of the anchored batch ``root``."""
        return bool(self._call("isAnchoredLeaf", root, content_hash, list(proof)))

    def is_dataset_file(
        self, dataset_root: bytes, path: str, file_hash: bytes, proof: Sequence[bytes]
    ) -> bool:
        """Whether ``(path, file_hash)`` belongs to the registered dataset ``dataset_root``."""
        return bool(self._call("isDatasetFile", dataset_root, path, file_hash, list(proof)))
