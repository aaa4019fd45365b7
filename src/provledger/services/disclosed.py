"""Disclosed metadata on the gateway: what a holder chose to disclose of an asset's committed
metadata, as the index keeps it, and the presentations holders send, checked before they are
kept.

A presentation (:class:`~provledger.commitments.Presentation`) comes with a signed
``Disclosure`` request (EIP-712, :mod:`~provledger.services.delivery.requests`) that binds its
SHA-256 and is signed by the asset's holder at the head, as the chain says. It is refused, and
nothing kept, unless it reads (:class:`BadPresentationError` names the part at fault), is of the
asset it is sent for, and passes every check of
:func:`~provledger.services.disclosure.verify_presentation` against the node
(:class:`UnprovedPresentationError` names the check). A presentation kept is public by the
holder's choice: it goes to the blob folder and is indexed at once
(:func:`~provledger.store.documents.index_documents`), so lists and search see its fields. The
nonces of the signed requests are the data room's records' (one nonce serves one request of any
kind), whether or not the data room is on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Final

import orjson
from pydantic import Field
from sqlalchemy import Connection
from web3 import Web3

from provledger.chain.client import Provledger
from provledger.chain.deployments import Deployment
from provledger.chain.ids import asset_id_hex
from provledger.commitments import Presentation, commitment_kinds
from provledger.errors import InputError, ProvledgerError, ServiceUnavailableError
from provledger.params import InvalidParameterError, to_hex32
from provledger.services.delivery.errors import SignedForOtherDataError
from provledger.services.delivery.requests import (
    Domain,
    SignatureRejectedError,
    SignedRequest,
    parse_signed,
    verify_signed,
)
from provledger.services.delivery.rules import decide_upload
from provledger.services.delivery.service import refused
from provledger.services.disclosure import registered_commitment, verify_presentation
from provledger.services.provenance import Provenance
from provledger.services.reads import NotFoundError
from provledger.services.views import AssetView, Hash
from provledger.store import queries
from provledger.store.blobs import BlobStore
from provledger.store.dataroom import DataRoomStore
from provledger.store.documents import index_documents
from provledger.store.engine import create_schema, create_store_engine

#: The kind of signed request a presentation comes with.
REQUEST_KIND: Final = "Disclosure"


class BadPresentationError(InvalidParameterError):
    """A presentation that does not read, or is of another asset; nothing was kept."""


class UnprovedPresentationError(ProvledgerError):
    """A presentation that fails ``check`` (a check of
    :data:`~provledger.services.disclosure.CHECKS`) against the chain; nothing was kept."""

    template = "the presentation fails the {check} check: {reason}; nothing was kept"
    check: str
    reason: str


class DisclosuresUnavailableError(ServiceUnavailableError):
    """The gateway has no node to check presentations against."""

    template = (
        "presentations are checked against the chain: start the gateway with PROVLEDGER_RPC_URL set"
    )


@dataclass(frozen=True)
class DisclosedFieldView:
    """One disclosed field: its value, proved against the on-chain commitment by a
    presentation (its SHA-256)."""

    name: Annotated[str, Field(examples=["title"])]
    value: Annotated[Any, Field(description="The field's JSON value.", examples=["Air quality"])]
    proved: Annotated[
        bool,
        Field(description="Always true: only fields a presentation proves are kept."),
    ]
    presentation: Hash


@dataclass(frozen=True)
class DisclosureView:
    """What the holder disclosed of an asset's committed metadata (its metadata hash now)."""

    asset_id: Hash
    kind: Annotated[
        str, Field(description="The commitment's kind.", examples=["provledger-fields/1"])
    ]
    content_kind: Annotated[
        str | None,
        Field(
            description="The content hash's commitment kind when the registration hides its "
            "content hash (the content hash on chain is then a commitment); null when plain.",
            examples=[None],
        ),
    ]
    root: Hash
    metadata_uri: Annotated[str, Field(examples=["commitment:provledger-fields/1"])]
    fields: list[DisclosedFieldView]
    withheld: Annotated[
        list[str],
        Field(
            description="The names of the fields not disclosed: the presentation's header field "
            "proves every field's name, so these are all the others."
        ),
    ]
    presentations: Annotated[
        list[str],
        Field(
            description="The SHA-256 of each presentation kept of the commitment "
            "(`GET /assets/{asset_id}/presentation?sha256=`).",
            examples=[["0x" + "cd" * 32]],
        ),
    ]


def disclosure_view(
    conn: Connection,
    asset_id: int,
    root: bytes | str,
    metadata_uri: str,
    content_hash: bytes | str,
) -> DisclosureView | None:
    """The disclosure of ``asset_id`` whose metadata hash is ``root``, URI ``metadata_uri`` and
    content hash ``content_hash``, from the index on ``conn``: the asset's own fields that
    presentations of the root disclosed or withheld. None if the URI declares no commitment or
    no presentation of the root bound to that content hash was indexed (another asset that
    anchors the same root is not the registration its holder committed to)."""
    kinds = commitment_kinds(metadata_uri)
    key = _hex(root)
    rows = [] if kinds is None else queries.committed_fields(conn, key, _hex(content_hash))
    if kinds is None or not rows:
        return None
    disclosed = [row for row in rows if row["value"] is not None]
    return DisclosureView(
        asset_id=asset_id_hex(asset_id),
        kind=kinds[0],
        content_kind=kinds[1],
        root=key,
        metadata_uri=metadata_uri,
        fields=[
            DisclosedFieldView(
                str(row["name"]), orjson.loads(row["value"]), True, str(row["presentation"])
            )
            for row in disclosed
        ],
        withheld=[str(row["name"]) for row in rows if row["value"] is None],
        presentations=sorted({str(row["presentation"]) for row in rows}),
    )


def _hex(value: bytes | str) -> str:
    return value if isinstance(value, str) else to_hex32(value)


def disclosure_of(provenance: Provenance, asset_id: int) -> DisclosureView:
    """What the holder disclosed of the committed metadata the index says ``asset_id`` anchors
    now (a metadata revision leaves the earlier disclosure behind), bound to its content hash.

    Raises:
        NotFoundError: the index has no such asset, or no disclosure of its metadata hash.
    """
    key = asset_id_hex(asset_id)
    with provenance.engine.connect() as conn:
        asset = queries.get_asset(conn, key)
        if asset is None:
            raise NotFoundError("asset", key)
        found = disclosure_view(
            conn, asset_id, asset["metadata_hash"], asset["metadata_uri"], asset["content_hash"]
        )
    if found is None:
        raise NotFoundError("disclosure of the current metadata of asset", key)
    return found


def disclosures_of_assets(
    provenance: Provenance, assets: Iterable[AssetView]
) -> dict[str, DisclosureView]:
    """What the holders disclosed of the committed metadata of ``assets`` as viewed, by asset
    id, read on one connection; an asset with no disclosure is left out."""
    with provenance.engine.connect() as conn:
        found = {
            asset.asset_id: disclosure_view(
                conn,
                int(asset.asset_id, 16),
                asset.metadata_hash,
                asset.metadata_uri,
                asset.content_hash,
            )
            for asset in assets
        }
    return {key: item for key, item in found.items() if item is not None}


@dataclass(frozen=True)
class DisclosureDesk:
    """Where holders' presentations come in: the node and deployment they are checked against,
    the records of used nonces (``nonces_url``), the blob folder and the index
    (``index_url``, written) they go to."""

    w3: Web3 | None
    deployment: Deployment | None
    nonces_url: str
    blobs: BlobStore
    index_url: str

    def accept(self, signed: SignedRequest, asset: int, body: bytes) -> DisclosureView:
        """Keep the presentation ``body`` of ``asset``, sent with the signed request ``signed``
        (:func:`parse_disclosure_request` reads it); what the asset's disclosure is now.

        Raises:
            SignatureRejectedError, SignedForOtherDataError: the signed request is not a good
                one for this body and asset.
            DeliveryRefusedError: the chain knows no such asset, the asset is cancelled, or the
                signer does not hold it (the data room's upload rules, read at the head).
            BadPresentationError, UnprovedPresentationError: the presentation is refused.
            DisclosuresUnavailableError: there is no node to check against.
        """
        if self.w3 is None or self.deployment is None:
            raise DisclosuresUnavailableError()
        ledger = Provledger(self.w3, self.deployment)
        verify_signed(signed, Domain.of(ledger), int(self.w3.eth.get_block("latest")["timestamp"]))
        if signed.asset_id != asset:
            raise SignedForOtherDataError(
                f"it is for asset {asset_id_hex(signed.asset_id)}, not {asset_id_hex(asset)}"
            )
        sha256 = hashlib.sha256(body).digest()
        assert signed.content_hash is not None  # a Disclosure's message binds its body's hash
        if signed.content_hash != sha256:
            raise SignedForOtherDataError(
                f"it is for a presentation of SHA-256 {to_hex32(signed.content_hash)}, not for "
                f"this body ({to_hex32(sha256)})"
            )
        decision = decide_upload(ledger, asset, signed.signer)
        if decision.refusal is not None:  # unknown, cancelled, or held by another account
            raise refused(asset, decision)
        presentation = _parsed(body, asset)
        verdict = verify_presentation(
            presentation, ledger.w3, ledger.registry.address, self.deployment.block_number
        )
        failed = next((check for check in verdict.checks if not check.passed), None)
        if failed is not None:
            raise UnprovedPresentationError(failed.name, failed.reason)
        with DataRoomStore.open(self.nonces_url) as nonces:  # last: a refusal keeps no trace
            if not nonces.claim_nonce(signed.signer, signed.nonce, signed.deadline):
                raise SignatureRejectedError("replayed", f"nonce {signed.nonce} was used before")
        record = registered_commitment(
            ledger.w3, ledger.registry.address, self.deployment.block_number, asset
        )
        assert record is not None  # the decision found the asset registered
        stored = self.blobs.put(body)
        index = create_store_engine(self.index_url)
        try:
            create_schema(index)  # as `provledger blobs add` does: the indexer may not have run
            index_documents(index, self.blobs, [stored])
            with index.connect() as conn:
                view = disclosure_view(
                    conn, asset, record.metadata_hash, record.metadata_uri, record.content_hash
                )
        finally:
            index.dispose()
        assert view is not None  # the presentation just indexed proves the root
        return view


def parse_disclosure_request(header: str | None) -> SignedRequest:
    """The signed ``Disclosure`` request the signature header's value carries
    (:class:`~provledger.services.delivery.requests.MalformedSignedRequestError` if none)."""
    return parse_signed(header or "", REQUEST_KIND)


def _parsed(body: bytes, asset: int) -> Presentation:
    """The presentation ``body`` holds, of ``asset``; :class:`BadPresentationError` naming the
    part that does not read."""
    try:
        presentation = Presentation.parse(body)
    except InvalidParameterError as error:
        raise BadPresentationError(error.field, error.reason) from None
    except InputError as error:  # not JSON, too large or too deep
        raise BadPresentationError("body", str(error)) from None
    if presentation.asset_id != asset:
        raise BadPresentationError(
            "asset_id", f"the presentation is of asset {presentation.asset_hex}, not this one"
        )
    return presentation
