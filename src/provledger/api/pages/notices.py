"""The public notice page: the registrations open to objection now, the notice ending soonest
first, each with its asset, registrant and holder, category and grade, when its notice ends, how
to object, and, for a committed registration, the fields its holder disclosed (proved) and
withheld."""

from __future__ import annotations

from typing import Any, Final

from provledger.api.pages.frame import Frame
from provledger.api.pages.metadata import metadata_sections
from provledger.params import InvalidParameterError, decimal_digits, page_limit
from provledger.services.notices import public_notice

#: How many registrations one page of the public notice lists, unless ``limit`` says.
NOTICES_PER_PAGE: Final = 50
#: The page's context when the query does not read: no entries.
NO_NOTICES: Final[dict[str, Any]] = {
    "notices": [],
    "metadata": {},
    "checked_at": None,
    "next_cursor": None,
    "limit": None,
    "first": True,
}


def notice_context(frame: Frame, cursor: str, limit: str) -> dict[str, Any]:
    """What ``notices.html`` shows: the page of the public notice after ``cursor`` (empty: the
    first), ``limit`` entries (empty: :data:`NOTICES_PER_PAGE`), as the query gave them.

    Raises:
        InvalidParameterError: the cursor or the limit does not read.
    """
    try:
        size = page_limit(decimal_digits(limit) if limit else None, NOTICES_PER_PAGE)
    except ValueError:
        raise InvalidParameterError("limit", "not a whole number in decimal digits") from None
    found = public_notice(frame.service, cursor or None, size)
    notices = found.notices.items
    labels = frame.labels()
    labels.learn_listed(notices)
    return {
        "labels": labels,
        "notices": notices,
        "metadata": metadata_sections(frame.service, notices),
        "checked_at": found.checked_at,
        "next_cursor": found.notices.next_cursor,
        "limit": size if limit else None,
        "first": not cursor,
    }
