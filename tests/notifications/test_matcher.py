"""The subscription index of the outbox answers exactly what checking every subscription
answers (hypothesis: random filters against random events)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from provledger.store.outbox import Matcher, Subject, matches
from provledger.store.subscriptions import Subscription, SubscriptionFilter

ACCOUNTS = [f"0x{number:040x}" for number in range(1, 6)]
ASSETS = [f"0x{number:064x}" for number in range(1, 5)]
EVENTS = ["AssetRegistered", "Transfer", "LicenseGranted"]


def _some(values: list[object]) -> st.SearchStrategy[frozenset[object]]:
    """Mostly no condition on a field, else one or two values."""
    return st.one_of(
        st.just(frozenset()),
        st.just(frozenset()),
        st.frozensets(st.sampled_from(values), min_size=1, max_size=2),
    )


filters = st.one_of(
    st.just(SubscriptionFilter()),
    st.builds(
        SubscriptionFilter,
        assets=_some(list(ASSETS)),
        holders=_some(list(ACCOUNTS)),
        registrants=_some(list(ACCOUNTS)),
        licensees=_some(list(ACCOUNTS)),
        participants=_some(list(ACCOUNTS)),
        events=_some(list(EVENTS)),
        categories=_some([101, 301]),
        grades=_some([1, 2, 3]),
    ),
)
subjects = st.builds(
    Subject,
    asset=st.sampled_from([None, *ASSETS]),
    event=st.sampled_from(EVENTS),
    participants=_some(list(ACCOUNTS)),
    holders=_some(list(ACCOUNTS)),
    registrants=_some(list(ACCOUNTS)),
    licensees=_some(list(ACCOUNTS)),
    category=st.sampled_from([None, 101, 301]),
    grade=st.sampled_from([None, 1, 2, 3]),
)


@settings(max_examples=300)  # pure and fast: many filters and events
@given(
    st.lists(st.tuples(filters, st.sampled_from([None, 0, 5, 10])), max_size=12),
    subjects,
    st.integers(0, 12),
)
def test_the_index_finds_exactly_the_subscriptions_that_match(
    wanted: list[tuple[SubscriptionFilter, int | None]], subject: Subject, block: int
) -> None:
    subscriptions = [
        Subscription(f"sub_{number}", "cli", item, "pending", "webhook", None, start, 0)
        for number, (item, start) in enumerate(wanted)
    ]
    found = Matcher(subscriptions).matching(subject, block)
    expected = [
        item
        for item in subscriptions
        if item.from_block is not None
        and block >= item.from_block
        and matches(item.filter, subject)
    ]
    assert sorted(item.id for item in found) == sorted(item.id for item in expected)
