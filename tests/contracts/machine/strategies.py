"""What the state machine draws: actors, picks and aims, the terms of offers and bids, and
registrations (valid or carrying flaws), resolved against the model's current state."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from eth_typing import ChecksumAddress
from hypothesis import strategies as st

from contracts.machine.driver import ACTORS, RECIPIENTS, Driver
from contracts.model.market import OfferRecord
from contracts.model.records import (
    HOUR,
    MAX_LICENSE_DURATION,
    UNKNOWN_ASSET,
    UNLISTED_CATEGORY,
    ZERO_HASH,
    AssetRecord,
    content,
)
from provledger.chain.ids import asset_id
from provledger.chain.types import ParentLink, Registration

names = st.sampled_from(ACTORS)
recipients = st.sampled_from(RECIPIENTS)
picks = st.integers(min_value=0, max_value=255)
#: Usually aim at a target the action can succeed on, sometimes take any.
aims = st.sampled_from([True, True, True, False])
#: A known id most of the time, an unused one (negative pick) sometimes.
known_picks = st.one_of(picks, picks, picks, st.just(-1))
#: The same, for the market's offers and bids, at the odds ``known_picks`` means: ``one_of``
#: draws each *distinct* strategy equally often, so ``known_picks`` gives -1 half the time.
id_picks = st.builds(
    lambda known, pick: pick if known else -1, st.sampled_from([True] * 7 + [False]), picks
)
hours = st.sampled_from([1, 6, 24, 48])
zero_sometimes = st.sampled_from([False, False, False, False, False, True])
#: True one time in ten.
rarely = st.sampled_from([False] * 9 + [True])
#: Market prices, in wei: small (the dev accounts are rich) and odd enough to round fees down.
prices = st.integers(min_value=1, max_value=10**6)
#: Lifetimes of offers and bids, in hours.
lifetimes = st.sampled_from([6, 24, 48, 72, 168])
#: Ways an offer can be wrong; an attempt carries at most one (most carry none).
OFFER_FLAWS: Final = ("zero price", "min bid above price", "expired")
LICENSE_FLAWS: Final = (
    *OFFER_FLAWS,
    "kind 0",
    "kind 3",
    "zero duration",
    "duration too long",
    "zero terms",
)
offer_flaws = st.sampled_from([None] * 3 * len(OFFER_FLAWS) + list(OFFER_FLAWS))
license_flaws = st.sampled_from([None] * 3 * len(LICENSE_FLAWS) + list(LICENSE_FLAWS))


@dataclass(frozen=True)
class Terms:
    """An offer's price, minimum bid (none: no bids) and expiry, as drawn, with its flaw."""

    price: int
    min_bid: str  # half | price | none
    hours: int
    flaw: str | None

    def resolve(self, now: int) -> tuple[int, int, int]:
        """Price, minimum bid and expiry (``now`` being the latest block's time)."""
        price = 0 if self.flaw == "zero price" else self.price
        minimum = {"half": (price + 1) // 2, "price": price, "none": 0}[self.min_bid]
        if self.flaw == "min bid above price":
            minimum = price + 1
        return price, minimum, now + (0 if self.flaw == "expired" else self.hours * HOUR)


offer_terms = st.builds(
    Terms, prices, st.sampled_from(["half", "half", "price", "none"]), lifetimes, offer_flaws
)
license_terms = st.builds(
    Terms, prices, st.sampled_from(["half", "half", "price", "none"]), lifetimes, license_flaws
)
license_durations = st.sampled_from(
    [HOUR, 24 * HOUR, 24 * HOUR, 30 * 24 * HOUR, MAX_LICENSE_DURATION]
)
#: A bid's amount, from its offer's minimum and price ("below": refused), and its lifetime
#: (0: already past).
bid_amounts = st.sampled_from(["minimum", "between", "between", "between", "price", "below"])
bid_hours = st.sampled_from([6, 24, 24, 48, 72, 168, 0])
#: What a buyer or bidder sends, against what is due.
payments = st.sampled_from(["due"] * 9 + ["less", "more", "nothing"])


def bid_amount_of(offer: OfferRecord | None, how: str) -> int:
    if offer is None:
        return 1000
    low, high = offer.min_bid, offer.price
    below = max(0, low - 1)  # an offer taking no bids has a minimum of 0
    return {"minimum": low, "between": (low + high) // 2, "price": high, "below": below}[how]


def payment_of(due: int, how: str) -> int:
    return {"due": due, "less": max(0, due - 1), "more": due + 1, "nothing": 0}[how]


#: Ways a registration can be wrong; a spec carries none, one or two of them.
FLAWS: Final = (
    "zero content",
    "empty uri",
    "zero metadata",
    "grade 0",
    "grade 4",
    "unlisted category",
    "duplicate",
)


@dataclass(frozen=True)
class Spec:
    """A registration as drawn, before it is resolved against the model's assets."""

    n: int
    grade: int
    category: int
    uri: str
    #: (where the parent comes from, pick, relation)
    parents: tuple[tuple[str, int, int], ...]
    flaws: tuple[str, ...]


specs = st.builds(
    Spec,
    n=st.integers(min_value=0, max_value=2**16),
    grade=st.sampled_from([1, 2, 3]),
    category=st.sampled_from([101, 305, 202]),
    uri=st.sampled_from(["ipfs://bafy/meta.json", "https://data.example/数据/元数据.json"]),
    parents=st.lists(
        st.tuples(
            st.sampled_from(["held", "held", "licensed", "any", "unknown", "self"]),
            picks,
            st.sampled_from([1, 2, 3, 1, 2, 3, 0, 4]),
        ),
        max_size=3,
    ).map(tuple),
    flaws=st.one_of(
        st.just(()),
        st.lists(st.sampled_from(FLAWS), min_size=1, max_size=2, unique=True).map(tuple),
    ),
)
FRESH: Final = Spec(0, 1, 101, "ipfs://bafy/meta.json", (), ())


def build_registration(driver: Driver, caller: ChecksumAddress, spec: Spec) -> Registration:
    """The registration ``spec`` describes, resolved against the model's current assets."""
    model = driver.model
    known = list(model.assets.values())
    chosen = content(f"fresh {spec.n}")
    if "duplicate" in spec.flaws and known:
        chosen = known[spec.n % len(known)].content_hash
    if "zero content" in spec.flaws:
        chosen = ZERO_HASH
    sources: dict[str, Callable[[AssetRecord], bool]] = {
        "held": lambda r: r.holder == caller,
        "licensed": lambda r: any(
            lic.asset_id == r.asset_id and lic.licensee == caller for lic in model.licenses
        ),
        "any": lambda r: True,
    }
    parents = []
    for source, pick, relation in spec.parents:
        if source in sources:
            parent = driver.asset(pick, aim=True, good=sources[source])
        elif source == "self":
            parent = asset_id(chosen)
        else:
            parent = UNKNOWN_ASSET
        parents.append(ParentLink(parent, relation))
    grade = 0 if "grade 0" in spec.flaws else 4 if "grade 4" in spec.flaws else spec.grade
    return Registration(
        content_hash=chosen,
        metadata_uri="" if "empty uri" in spec.flaws else spec.uri,
        metadata_hash=ZERO_HASH
        if "zero metadata" in spec.flaws
        else hashlib.sha256(chosen + b"meta").digest(),
        category=UNLISTED_CATEGORY if "unlisted category" in spec.flaws else spec.category,
        grade=grade,
        parents=tuple(parents),
    )
