"""The published list of data asset categories, and the parser of a category given by people.

A category is a code on the registry's published list (``setCategoryListed``); `provledger
deploy` lists these codes. Codes group by the first digit: 1 public and government data,
2 enterprise data, 3 industry data, 4 personal-information-derived data (de-identified).

People give a category as its code (``301``) or its name, in any case, whole or as a prefix
that only one name starts with (``industrial``, ``sci``): :func:`parse_category`.
"""

from __future__ import annotations

import difflib
import re
from typing import Final

from provledger.errors import InputError
from provledger.jsondoc import echo

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

#: The largest category code: the chain keeps it as a uint16. Which codes are listed is for the
#: contract to say (an admin may list more); a code the chain cannot hold is refused here.
CATEGORY_MAX: Final = 0xFFFF

#: How many close names an error suggests.
SUGGESTIONS: Final = 3
#: How alike (difflib's ratio) a misspelt name and a name are, at least, to be suggested.
CLOSE_RATIO: Final = 0.75
#: How the error of an unknown name ends: the command that lists every name.
LISTED_BY: Final = "`provledger categories` lists them all"

_DIGITS: Final = re.compile(r"[0-9]+")
_NEGATIVE: Final = re.compile(r"-[0-9]+")


#: The data grades in words: grade 3 never leaves its jurisdiction, grade 2 only under an export
#: permit.
GRADES: Final[dict[int, str]] = {1: "general", 2: "important", 3: "core"}


def grade_words(grade: int) -> str:
    """``2 (important)``; a grade outside the list as its number."""
    name = GRADES.get(grade)
    return str(grade) if name is None else f"{grade} ({name})"


def category_name(code: int) -> str:
    """The published name of ``code``, or ``"unlisted category <code>"``."""
    return CATEGORIES.get(code, f"unlisted category {code}")


def parse_code(value: object, what: str, maximum: int) -> int:
    """A code (a category, a grade): an integer, or text of ASCII digits (spaces around them
    aside; no sign, ``_`` or other digits), from 0 to ``maximum``.

    Raises:
        InputError: anything else; the message repeats at most a short prefix of the value.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(digits := value.strip()):
        # int() of thousands of digits is slow or refused; anything this long is too large
        number = int(digits) if len(digits.lstrip("0")) <= len(str(maximum)) else maximum + 1
    else:
        raise InputError(f"{what} {echo(str(value))} is not a whole number (digits 0-9)")
    if not 0 <= number <= maximum:
        raise InputError(f"{what} {echo(str(value))} is outside 0..{maximum}")
    return number


def _numeric(text: str) -> bool:
    """Whether ``text`` is meant as a number (a code), right or wrong, rather than as a name:
    it starts with a sign, a point or a digit of any script (no published name does)."""
    first = text.strip()[:1]
    return first in ("+", "-", ".") or first.isdecimal()


def parse_category(value: object) -> int:
    """A category: a code (any code the chain can hold; whether it is listed is the
    contract's to say) or a published name, any case, whole or an unambiguous prefix.

    Raises:
        InputError: not a code, or no name or several names match; the message names the
            closest names and the command that lists them all.
    """
    if not isinstance(value, str) or _numeric(value):
        if isinstance(value, str) and _NEGATIVE.fullmatch(value.strip()):
            raise InputError(f"category {echo(value)} is outside 0..{CATEGORY_MAX}")
        return parse_code(value, "category", CATEGORY_MAX)
    wanted = " ".join(value.split()).casefold()
    if not wanted:
        raise InputError(f"category is empty: give a code or a name; {LISTED_BY}")
    by_name = {name.casefold(): code for code, name in CATEGORIES.items()}
    if wanted in by_name:
        return by_name[wanted]
    starting = [code for name, code in by_name.items() if name.startswith(wanted)]
    if len(starting) == 1:
        return starting[0]
    if starting:
        names = " or ".join(_named(code) for code in starting)
        raise InputError(
            f"category {echo(value)} is the start of several names: {names}; {LISTED_BY}"
        )
    scored = sorted((-_likeness(wanted, name), code) for name, code in by_name.items())
    close = [code for score, code in scored if -score >= CLOSE_RATIO]
    if close:
        names = " or ".join(_named(code) for code in close[:SUGGESTIONS])
        raise InputError(
            f"category {echo(value)} is not a published name; did you mean {names}? {LISTED_BY}"
        )
    raise InputError(f"category {echo(value)} is neither a code nor a published name; {LISTED_BY}")


def _likeness(wanted: str, name: str) -> float:
    """How much ``wanted`` reads as a slip for ``name``, 0 to 1: 1 if it is part of the name
    ("sensor"), else its closeness to the name's start ("sientific") or to one of its words
    ("finacial")."""
    if wanted in name:
        return 1.0
    return max(
        difflib.SequenceMatcher(None, wanted, part).ratio()
        for part in (name[: len(wanted)], *name.split())
    )


def _named(code: int) -> str:
    """``301 'Industrial equipment and IoT sensor data'``: a code and its name, for errors."""
    return f"{code} {CATEGORIES[code]!r}"
