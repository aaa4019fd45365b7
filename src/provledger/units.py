"""Amounts and times as people write and read them: one parser and one formatter of each.

**Amounts** are integers in a currency's smallest unit on chain (wei for the native currency).
People write them with a unit: ``0.005ether``, ``0.005 ETH``, ``1.5 gwei``, ``12.5 USDT`` (a
token's own symbol, any case, scaled by the token's ``decimals()``). A plain number without a
unit is refused, so that ``1000`` is never silently read as 1000 wei or as 1000 ETH; with
``raw=True`` (a command's ``--raw``) a plain integer is an amount in the smallest unit. ``0`` needs
no unit where zero is allowed. Amounts are shown the same way (``0.005 ETH``, ``2,500 PLT``), or
with ``raw=True`` as the integer in the smallest unit.

**Times** are unix seconds on chain. They are shown as ISO 8601 in UTC with the zone
(``2025-05-01T12:00:00+00:00``), and in sentences with how far away they are
(``2025-05-01T12:00:00+00:00 (in 2 min)``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from eth_utils.address import to_checksum_address

from provledger.errors import InputError
from provledger.jsondoc import echo

if TYPE_CHECKING:
    from web3 import Web3

ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
#: The largest amount a market record holds (uint128).
MAX_AMOUNT: Final = 2**128 - 1
#: Longer amount texts are refused before any arithmetic (a uint256 has 78 digits).
_MAX_TEXT: Final = 120
_AMOUNT: Final = re.compile(
    r"(?P<number>(?P<whole>[1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+(?:_[0-9]+)*)?"
    r"(?:\.(?P<fraction>[0-9]+(?:_[0-9]+)*)?)?)"
    r"\s*(?P<unit>[A-Za-z$][A-Za-z0-9.$_-]*)?"
)
#: A token symbol is used as a unit only if it looks like one.
_SYMBOL: Final = re.compile(r"[A-Za-z$][A-Za-z0-9.$_-]{0,15}")


@dataclass(frozen=True)
class Currency:
    """A currency of the market: the chain's native currency (the zero address) or an ERC-20.

    ``symbol`` is empty for a token whose ``symbol()`` cannot be read or is not a plain word:
    its amounts are then only given and shown in its smallest unit.
    """

    address: str
    symbol: str
    decimals: int
    #: Show every decimal (``1,250,000.00 CNY``) rather than drop trailing zeros.
    fixed: bool = False

    @property
    def native(self) -> bool:
        """Whether this is the chain's native currency."""
        return int(self.address, 16) == 0

    @property
    def label(self) -> str:
        """How the currency is named in sentences: its symbol, or ``token 0x…``."""
        return self.symbol or f"token {self.address}"

    @property
    def smallest_unit(self) -> str:
        """The name of the smallest unit: ``wei``, or ``smallest units of USDT``."""
        return "wei" if self.native else f"smallest units of {self.label}"


#: The chain's native currency: ETH, 18 decimals.
NATIVE: Final = Currency(ZERO_ADDRESS, "ETH", 18)
#: Units of the native currency, by lower-case name.
NATIVE_UNITS: Final[dict[str, int]] = {"ether": 18, "eth": 18, "gwei": 9, "wei": 0}


def fiat(code: str) -> Currency:
    """An ISO 4217 currency as appraisals record it: amounts in hundredths."""
    return Currency(ZERO_ADDRESS, code.upper(), 2, fixed=True)


def read_currency(w3: Web3, address: str) -> Currency:
    """The currency at ``address``: native for the zero address, else the ERC-20's symbol and
    decimals read from the token contract through the node."""
    if int(address, 16) == 0:
        return NATIVE
    from provledger.chain.tokens import Erc20  # tokens -> reverts -> units: import late

    contract = Erc20(w3, address).contract
    try:
        decimals = int(contract.functions.decimals().call())
    except Exception:  # decimals() is optional in ERC-20: the unit is then the smallest one
        decimals = 0
    try:
        symbol = str(contract.functions.symbol().call())
    except Exception:  # symbol() is optional too (and some return bytes32)
        symbol = ""
    if not _SYMBOL.fullmatch(symbol) or symbol.lower() in NATIVE_UNITS or not 0 <= decimals <= 36:
        symbol, decimals = "", 0
    return Currency(to_checksum_address(address), symbol, decimals)


class AmountError(InputError):
    """Text that is not an amount as :func:`parse_amount` reads it: ``what``, the text (a
    short prefix of it) and the reason, e.g. ``price '1000' has no unit: ...``."""

    def __init__(self, what: str, text: str, reason: str) -> None:
        self.what, self.text, self.reason = what, text, reason
        #: The text and the reason, without ``what`` (an HTTP parameter names its field apart).
        self.detail = f"{echo(text)} {reason}"
        super().__init__(f"{what} {self.detail}")


def parse_amount(
    text: str,
    currency: Currency | None,
    *,
    what: str = "amount",
    raw: bool = False,
    allow_zero: bool = False,
    unit_optional: bool = False,
    maximum: int = MAX_AMOUNT,
) -> int:
    """An amount in ``currency``'s smallest unit, from text with a unit (see the module):
    ``0.005ether``, ``0.005 ETH``, ``1.5 gwei``, ``1,000.5 USDT``. Thousands are grouped by
    commas in threes (``0,005`` is refused rather than read as 5) or by underscores.

    ``raw``: a plain integer is in the smallest unit. ``unit_optional``: a plain number is in
    whole units of ``currency`` (appraisals, whose currency is a separate option). A ``None``
    currency is one not known where the text is read (the HTTP API's price filters): the
    amount is then a whole number in the smallest unit in ASCII digits, nothing else.

    Raises:
        AmountError: the text is not an amount of ``currency``, has more decimals than it, is
            zero (unless ``allow_zero``) or above ``maximum``; the message repeats at most a
            short prefix of the text and says how to write it.
    """
    given = text.strip()
    if currency is None:
        return _parse_digits(given, text, what, allow_zero, maximum)
    match = _AMOUNT.fullmatch(given) if len(given) <= _MAX_TEXT else None
    if match is None or not (match["whole"] or match["fraction"]):
        if given.startswith("-") and _AMOUNT.fullmatch(given[1:].lstrip()):
            raise AmountError(what, text, "is negative: an amount is more than zero")
        example = f"0.005 {currency.symbol}" if currency.symbol else "2500 with --raw"
        raise AmountError(what, text, f"is not an amount (write it like {example})")
    whole = (match["whole"] or "0").replace("_", "").replace(",", "")
    fraction = (match["fraction"] or "").replace("_", "").rstrip("0")
    unit = match["unit"]
    if unit is None:
        if not (whole.strip("0") or fraction):
            if allow_zero:
                return 0
            raise AmountError(what, text, "must be more than zero")
        if raw:
            if fraction:
                raise AmountError(
                    what, text, f"is not a whole number of {currency.smallest_unit} (--raw)"
                )
            decimals = 0
        elif unit_optional:
            decimals = currency.decimals
        else:
            raise AmountError(what, text, _no_unit(match["number"], currency))
    elif unit[0] in "eE" and unit[1:2].isdigit():
        raise AmountError(what, text, "is in scientific notation: write it like 0.005 ETH")
    else:
        decimals = _unit_decimals(unit, currency, what, text)
    if len(fraction) > decimals:
        places = "no decimals" if decimals == 0 else f"at most {decimals} decimals"
        unit_name = unit or (currency.smallest_unit if raw else currency.label)
        raise AmountError(what, text, f"has too many decimals: {unit_name} takes {places}")
    scale: int = 10**decimals
    amount = int(whole) * scale + int(fraction.ljust(decimals, "0") or "0")
    return _in_range(amount, text, what, allow_zero, maximum, currency, raw)


def _no_unit(number: str, currency: Currency) -> str:
    if currency.native:
        like = f"{number} ETH or {number} gwei"
        if "." not in number:
            like = f"{number} ETH, {number} gwei or {number} wei"
        return f"has no unit: write it with one, like {like} (or give --raw for wei)"
    if currency.symbol:
        return (
            f"has no unit: write {number} {currency.symbol} "
            f"(or give --raw for {currency.smallest_unit})"
        )
    return (
        f"has no unit: {currency.label} has no symbol, so give --raw and the amount in its "
        "smallest unit"
    )


def _parse_digits(given: str, text: str, what: str, allow_zero: bool, maximum: int) -> int:
    """A whole number in ASCII digits (``1_000``, ``+1``, ``1.0`` and other scripts' digits
    are refused: one number is written one way)."""
    if not (0 < len(given) <= _MAX_TEXT and given.isascii() and given.isdigit()):
        raise AmountError(
            what, text, "is not an amount: a whole number in the smallest unit, in decimal digits"
        )
    return _in_range(int(given), text, what, allow_zero, maximum, None, True)


def _in_range(
    amount: int,
    text: str,
    what: str,
    allow_zero: bool,
    maximum: int,
    currency: Currency | None,
    raw: bool,
) -> int:
    if amount == 0 and not allow_zero:
        raise AmountError(what, text, "must be more than zero")
    if amount > maximum:
        most = str(maximum) if currency is None else format_amount(maximum, currency, raw=raw)
        raise AmountError(what, text, f"is too large: at most {most}")
    return amount


def _unit_decimals(unit: str, currency: Currency, what: str, text: str) -> int:
    key = unit.lower()
    if currency.native and key in NATIVE_UNITS:
        return NATIVE_UNITS[key]
    if currency.symbol and key == currency.symbol.lower():
        return currency.decimals
    if currency.native:
        known = ", ".join(NATIVE_UNITS)
        raise AmountError(what, text, f"is in {unit}, but ETH's units are {known}")
    raise AmountError(
        what,
        text,
        f"is in {unit}, but the currency is {currency.label}"
        + ("" if currency.symbol else ": give --raw and the amount in its smallest unit"),
    )


def format_amount(value: int | str, currency: Currency, *, raw: bool = False) -> str:
    """``value`` (smallest units) for people: ``0.005 ETH``, ``1,250,000.00 CNY``; with
    ``raw`` (or for a token without a symbol) the integer and its smallest unit."""
    amount = int(value)
    if raw or not currency.symbol:
        return f"{amount} {currency.smallest_unit}"
    scale: int = 10**currency.decimals
    whole, fraction = divmod(amount, scale)
    digits = str(fraction).rjust(currency.decimals, "0") if currency.decimals else ""
    if not currency.fixed:
        digits = digits.rstrip("0")
    return f"{whole:,}{'.' if digits else ''}{digits} {currency.symbol}"


# ------------------------------------------------------------------ times
def iso_time(timestamp: int) -> str:
    """Unix seconds as ISO 8601 in UTC with the zone: ``2025-05-01T12:00:00+00:00``."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).isoformat()
    except (OverflowError, ValueError, OSError):  # past year 9999 (a uint40 reaches 36812)
        return "after 9999-12-31T23:59:59+00:00"


def utc_time(timestamp: int) -> str:
    """Unix seconds as ISO 8601 in UTC with the ``Z`` designator: ``2025-05-01T12:00:00Z``."""
    return iso_time(timestamp).replace("+00:00", "Z")


def iso_millis(at_ms: int) -> str:
    """Milliseconds since 1970 as ISO 8601 in UTC, to the millisecond:
    ``2025-05-01T12:00:00.250Z``."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=at_ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{at_ms % 1000:03d}Z"


def relative_time(timestamp: int, now: float | None = None) -> str:
    """How far ``timestamp`` is from ``now`` (default: the clock): ``in 2 min``, ``3 h ago``."""
    seconds = timestamp - (time.time() if now is None else now)
    span = abs(seconds)
    if span < 1:
        return "now"
    for size, unit in ((86400 * 365, "years"), (86400, "days"), (3600, "h"), (60, "min")):
        if span >= size * 1.5 or (unit == "min" and span >= 60):
            count = f"{round(span / size):,}"
            break
    else:
        count, unit = f"{round(span)}", "s"
    if unit in ("years", "days") and count == "1":
        unit = unit[:-1]
    return f"in {count} {unit}" if seconds > 0 else f"{count} {unit} ago"


def format_time(timestamp: int, now: float | None = None) -> str:
    """A time for a sentence: ISO 8601 and how far away it is,
    ``2025-05-01T12:00:00+00:00 (in 2 min)``."""
    return f"{iso_time(timestamp)} ({relative_time(timestamp, now)})"
