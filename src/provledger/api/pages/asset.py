"""The asset page's content: the record, its standing and warnings, what its holder disclosed
of committed metadata, the timeline, the lineage picture, holders, certificates, the current
appraisal, offers and trades, every account and asset they name looked up at once, and what the
gateway's data room holds of it."""

from __future__ import annotations

from typing import Any, Final

from provledger.api.pages.dataroom import data_section
from provledger.api.pages.frame import Frame
from provledger.api.pages.lineage import layout
from provledger.api.pages.metadata import metadata_sections
from provledger.api.pages.timeline import named_accounts, named_assets, timeline
from provledger.services.verification import asset_warnings
from provledger.services.views import AssetView
from provledger.units import fiat, format_amount

#: The most timeline entries one asset page shows.
MAX_TIMELINE: Final = 1000
#: How many generations of sources and of what was made from the asset the picture shows.
LINEAGE_DEPTH: Final = 3


def asset_context(frame: Frame, number: int, asset: AssetView, gateway_url: str) -> dict[str, Any]:
    """What ``asset.html`` shows of ``asset`` (its id as a number: ``number``) on the gateway
    served at ``gateway_url``."""
    service, market = frame.service, frame.gateway.market
    standing = service.standing(number)
    history = service.history(number, None, MAX_TIMELINE).items
    lineage = service.lineage(number, depth=LINEAGE_DEPTH, direction="both")
    holders = service.holders(number, None, 1000).items
    offers = market.offers_of(number, None, 100).items
    trades = market.trades_of(number, None, 1000).items
    appraisals = service.appraisals(number, None, 100).items
    labels = frame.labels()
    labels.learn(
        accounts=[
            asset.registrant,
            asset.holder,
            *(period.holder for period in holders),
            *(item.licensee for item in standing.valid_licenses),
            *(offer.seller for offer in offers),
            *(party for trade in trades for party in (trade.seller, trade.buyer)),
            *(item.appraiser for item in appraisals),
            *named_accounts(history),
        ],
        assets=[asset.asset_id, *(node.asset_id for node in lineage.nodes), *named_assets(history)],
    )
    when = frame.clock()
    entries = timeline(history, labels, when)
    titles = {
        node.asset_id: title
        for node in lineage.nodes
        if (title := labels.title(node.asset_id)) is not None
    }
    current = [item for item in appraisals if item.current]
    return {
        "labels": labels,
        "when": when,
        "asset": asset,
        "title": labels.title(asset.asset_id),
        "standing": standing,
        "timeline": entries,
        "lineage": lineage,
        "graph": layout(lineage, titles),
        "holders": holders,
        "certificates": service.certificates(number, None, 100).items,
        "valuation": current[-1] if current else None,
        "valuation_text": (
            format_amount(current[-1].amount, fiat(current[-1].currency)) if current else None
        ),
        "offers": offers,
        "trades": trades,
        "standing_warnings": asset_warnings(asset, standing.open_disputes),
        "proof_available": frame.gateway.w3 is not None,
        "metadata": metadata_sections(service, [asset]).get(asset.asset_id),
        "data": data_section(frame.gateway, asset, labels, gateway_url),
    }
