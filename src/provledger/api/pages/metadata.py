"""What the pages show of a committed registration's metadata (the asset page's "Metadata"
section, each entry of the public notice): the commitment, the fields its holder disclosed,
proved against it, and the names of the fields withheld."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from provledger.commitments import commitment_kinds
from provledger.services.disclosed import DisclosureView, disclosures_of_assets
from provledger.services.provenance import Provenance
from provledger.services.views import AssetView


@dataclass(frozen=True)
class MetadataSection:
    """The committed metadata of an asset: the commitment (``root``, and ``content_kind`` when
    the content hash on chain is a commitment too), each disclosed field's name and value as
    text, the names of the withheld fields, and the presentations kept (SHA-256)."""

    root: str
    content_kind: str | None
    fields: tuple[tuple[str, str], ...] = ()
    withheld: tuple[str, ...] = ()
    presentations: tuple[str, ...] = ()


def metadata_sections(
    service: Provenance, assets: Iterable[AssetView]
) -> dict[str, MetadataSection]:
    """What the pages show of the committed metadata of each of ``assets``, by asset id, the
    disclosures read at once; a registration that publishes its metadata document (a plain
    one) is left out."""
    committed = [
        (asset, kinds)
        for asset in assets
        if (kinds := commitment_kinds(asset.metadata_uri)) is not None
    ]
    disclosed = disclosures_of_assets(service, [asset for asset, _ in committed])
    return {
        asset.asset_id: _section(asset, kinds[1], disclosed.get(asset.asset_id))
        for asset, kinds in committed
    }


def _section(
    asset: AssetView, content_kind: str | None, disclosed: DisclosureView | None
) -> MetadataSection:
    if disclosed is None:
        return MetadataSection(asset.metadata_hash, content_kind)
    shown = tuple(
        (field.name, field.value if isinstance(field.value, str) else _json(field.value))
        for field in disclosed.fields
    )
    return MetadataSection(
        disclosed.root,
        disclosed.content_kind,
        shown,
        tuple(disclosed.withheld),
        tuple(disclosed.presentations),
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
