"""The published list of data asset categories.

A category is a code on the registry's published list (``setCategoryListed``); `provledger
deploy` lists these codes. Codes group by the first digit: 1 public and government data,
2 enterprise data, 3 industry data, 4 personal-information-derived data (de-identified).
"""

from __future__ import annotations

from typing import Final

CATEGORIES: Final[dict[int, str]] = {
    101: "Public administration records",
    102: "Geospatial and surveying data",
    103: "Meteorological and environmental monitoring",
    201: "Enterprise operations and production data",
    202: "Supply chain and logistics data",
    203: "Financial and credit data",
    301: "Industrial equipment and IoT sensor data",
    302: "Transport and mobility data",
    303: "Energy and utilities data",
    304: "Healthcare and life sciences data",
    305: "Scientific research data",
    401: "De-identified consumer behaviour data",
}


def category_name(code: int) -> str:
    """The published name of ``code``, or ``"unlisted category <code>"``."""
    return CATEGORIES.get(code, f"unlisted category {code}")
