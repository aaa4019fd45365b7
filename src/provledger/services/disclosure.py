"""Checking a presentation of committed metadata against a node: no gateway, check by check.

===============  ==============================================================================
``chain``        the node serves the presentation's chain id
``registry``     the presentation names the registry of the verifier's deployment
``commitment``   the asset is registered, and its registration (or newest metadata revision)
                 declares the commitment kind the presentation is of
``asset``        the presentation's header names the content hash the asset was registered with
``proof``        the disclosed fields and the multiproof lead to the stated root
``root``         the stated root is the asset's metadata hash on chain now
``content``      (when the presentation discloses the content hash) ``keccak256(sha256 || salt)``
                 is the content hash the asset was registered with
===============  ==============================================================================

Every check reads the trusted deployment (the registry address the verifier knows), never the
presentation's word alone, so an altered name, salt, value, proof element, asset, chain or root
fails the check that reads it. The checks on the ``proof`` and the ``root`` together show that
every disclosed value is the committed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from eth_typing import ChecksumAddress
from web3 import Web3

from provledger.chain.client import RegistryClient
from provledger.chain.events import (
    AssetRegistered,
    MetadataUpdated,
    decode_asset_registered,
    decode_metadata_updated,
)
from provledger.chain.logs import MAX_LOG_RANGE, paged_logs, topic
from provledger.commitments import CONTENT_KIND, METADATA_KIND, Presentation, commitment_kinds
from provledger.params import InvalidParameterError, to_hex32
from provledger.services.proofs.verdict import Check, CheckFailedError, Verdict, run_check

#: Check name -> what passing it proves, in the order checks run.
CHECKS: Final[dict[str, str]] = {
    "chain": "the node serves the presentation's chain",
    "registry": "the presentation names the registry the verifier trusts",
    "commitment": "the asset's registration commits to its metadata by salted fields",
    "asset": "the commitment's header names the asset's registered content hash",
    "proof": "the disclosed fields and the multiproof give the stated root",
    "root": "the stated root is the asset's metadata hash on chain",
    "content": "the disclosed content hash and salt give the registered content commitment",
}


@dataclass(frozen=True)
class RegisteredCommitment:
    """What the chain says of a committed registration: its metadata hash now and the newest
    metadata URI (which declares how the metadata is committed), the registered content hash and
    the registration's URI (which declares how the content hash is, for good), and the holder."""

    asset_id: int
    metadata_hash: bytes
    metadata_uri: str
    content_hash: bytes
    registered_uri: str
    holder: ChecksumAddress

    @property
    def kinds(self) -> tuple[str, str | None] | None:
        return commitment_kinds(self.metadata_uri)

    @property
    def content_kind(self) -> str | None:
        """How the registered content hash commits to the content; None for a plain hash."""
        kinds = commitment_kinds(self.registered_uri)
        return None if kinds is None else kinds[1]


def registered_commitment(
    w3: Web3,
    registry: ChecksumAddress,
    from_block: int,
    asset_id: int,
    max_range: int = MAX_LOG_RANGE,
) -> RegisteredCommitment | None:
    """The asset's registration and newest metadata revision as the registry's logs tell them,
    with its metadata hash and holder read at the same block; ``None`` if it is not registered.
    The logs are asked for ``max_range`` blocks at a time (what a node allows per request)."""
    head = int(w3.eth.block_number)
    topics: list[Any] = [
        [topic(AssetRegistered.TOPIC0), topic(MetadataUpdated.TOPIC0)],
        topic(asset_id),
    ]
    logs = list(paged_logs(w3, registry, topics, from_block, head, max_range))
    registered: AssetRegistered | None = None
    uri = ""
    for log in logs:
        topics = [bytes(topic) for topic in log["topics"]]
        if topics[0] == AssetRegistered.TOPIC0:
            registered = decode_asset_registered(topics, bytes(log["data"]))
            uri = registered.metadata_uri
        else:
            uri = decode_metadata_updated(topics, bytes(log["data"])).metadata_uri
    if registered is None:
        return None
    state = RegistryClient(w3, registry, None).asset(asset_id, block=head)
    if state is None:
        return None
    return RegisteredCommitment(
        asset_id=asset_id,
        metadata_hash=state.metadata_hash,
        metadata_uri=uri,
        content_hash=registered.content_hash,
        registered_uri=registered.metadata_uri,
        holder=state.holder,
    )


@dataclass(frozen=True)
class DisclosureVerdict(Verdict):
    """The outcome of :func:`verify_presentation`: each check, and the presentation."""

    presentation: Presentation
    checks: tuple[Check, ...]


def verify_presentation(
    presentation: Presentation,
    w3: Web3,
    registry: ChecksumAddress,
    from_block: int,
    max_range: int = MAX_LOG_RANGE,
) -> DisclosureVerdict:
    """Check ``presentation`` against the node ``w3`` and the trusted ``registry`` (deployed at
    ``from_block``; logs read ``max_range`` blocks at a time); every check of :data:`CHECKS`
    that applies is run and reported."""
    found: list[RegisteredCommitment | None] = []

    def registration() -> RegisteredCommitment:
        if not found:
            asset = presentation.asset_id
            found.append(registered_commitment(w3, registry, from_block, asset, max_range))
        if found[0] is None:
            raise CheckFailedError(f"asset {presentation.asset_hex} is not registered")
        return found[0]

    def chain() -> str:
        served = int(w3.eth.chain_id)
        if served != presentation.chain_id:
            raise CheckFailedError(f"the node serves chain {served}, not {presentation.chain_id}")
        return f"chain {served}"

    def trusted_registry() -> str:
        if presentation.registry.lower() != registry.lower():
            raise CheckFailedError(
                f"the presentation names registry {presentation.registry}, not {registry}"
            )
        return f"registry {registry}"

    def commitment() -> str:
        record = registration()
        kinds = record.kinds
        if kinds is None or kinds[0] != METADATA_KIND:
            raise CheckFailedError(
                f"the asset's metadata URI {record.metadata_uri!r} declares no {METADATA_KIND} "
                "commitment"
            )
        return f"metadata URI {record.metadata_uri}"

    def asset() -> str:
        record = registration()
        try:
            stated = presentation.content_hash
        except InvalidParameterError as error:
            raise CheckFailedError(str(error)) from None
        if stated != record.content_hash:
            raise CheckFailedError(
                f"the header names content hash {to_hex32(stated)}; asset "
                f"{presentation.asset_hex} was registered with {to_hex32(record.content_hash)}"
            )
        return f"content hash {to_hex32(record.content_hash)}"

    def proof() -> str:
        try:
            presentation.check()
        except InvalidParameterError as error:
            raise CheckFailedError(str(error)) from None
        shown = len(presentation.own_fields)
        return f"{shown} disclosed fields and the header lead to {to_hex32(presentation.root)}"

    def root() -> str:
        record = registration()
        if record.metadata_hash != presentation.root:
            raise CheckFailedError(
                f"the asset's metadata hash is {to_hex32(record.metadata_hash)}, not the "
                f"stated root {to_hex32(presentation.root)}"
            )
        return f"metadata hash {to_hex32(record.metadata_hash)}"

    def content() -> str:
        record = registration()
        disclosed = presentation.content
        assert disclosed is not None
        if record.content_kind != CONTENT_KIND:
            raise CheckFailedError("the asset was registered with its plain content hash")
        if disclosed.commitment != record.content_hash:
            raise CheckFailedError(
                f"keccak256(sha256 || salt) is {to_hex32(disclosed.commitment)}, the registered "
                f"content hash {to_hex32(record.content_hash)}"
            )
        return f"content SHA-256 {to_hex32(disclosed.sha256)}"

    steps = {
        "chain": chain,
        "registry": trusted_registry,
        "commitment": commitment,
        "asset": asset,
        "proof": proof,
        "root": root,
        "content": content,
    }
    if presentation.content is None:
        del steps["content"]
    checks = tuple(run_check(name, CHECKS[name], step) for name, step in steps.items())
    return DisclosureVerdict(presentation, checks)
