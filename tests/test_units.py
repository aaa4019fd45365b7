"""The one parser and formatter of amounts and times (``provledger.units``)."""

from __future__ import annotations

import pytest

from provledger.errors import InputError
from provledger.params import InvalidParameterError
from provledger.services.market import parse_amount as api_price
from provledger.units import (
    MAX_AMOUNT,
    NATIVE,
    AmountError,
    Currency,
    fiat,
    format_amount,
    format_time,
    iso_time,
    parse_amount,
    relative_time,
)

USDT = Currency("0x1111111111111111111111111111111111111111", "USDT", 6)
ANONYMOUS = Currency("0x2222222222222222222222222222222222222222", "", 0)


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("0.005ether", NATIVE, 5 * 10**15),
        ("0.005 ETH", NATIVE, 5 * 10**15),
        ("0.005 eth", NATIVE, 5 * 10**15),
        ("1.5 gwei", NATIVE, 1_500_000_000),
        ("1000 wei", NATIVE, 1000),
        (".5 ETH", NATIVE, 5 * 10**17),
        ("2. ETH", NATIVE, 2 * 10**18),
        ("  3 ether  ", NATIVE, 3 * 10**18),
        ("12.5 USDT", USDT, 12_500_000),
        ("12.5usdt", USDT, 12_500_000),
        ("1,000.5 USDT", USDT, 1_000_500_000),
        ("1_000 USDT", USDT, 1_000_000_000),
        ("0.000001 USDT", USDT, 1),
        ("1.500000 USDT", USDT, 1_500_000),
    ],
)
def test_amounts_with_a_unit(text: str, currency: Currency, expected: int) -> None:
    assert parse_amount(text, currency, what="price") == expected


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        (
            "1000",
            NATIVE,
            "price '1000' has no unit: write it with one, like 1000 ETH, 1000 gwei or 1000 wei "
            "(or give --raw for wei)",
        ),
        (
            "1000",
            USDT,
            "price '1000' has no unit: write 1000 USDT (or give --raw for smallest units of USDT)",
        ),
        (
            "5",
            ANONYMOUS,
            f"price '5' has no unit: token {ANONYMOUS.address} has no symbol, so give --raw and "
            "the amount in its smallest unit",
        ),
        (
            "1.0000001 USDT",
            USDT,
            "price '1.0000001 USDT' has too many decimals: USDT takes at most 6 decimals",
        ),
        ("0.5 wei", NATIVE, "price '0.5 wei' has too many decimals: wei takes no decimals"),
        (
            "1.0000000001 gwei",
            NATIVE,
            "price '1.0000000001 gwei' has too many decimals: gwei takes at most 9 decimals",
        ),
        ("0", NATIVE, "price '0' must be more than zero"),
        ("0 ETH", NATIVE, "price '0 ETH' must be more than zero"),
        ("0.000 USDT", USDT, "price '0.000 USDT' must be more than zero"),
        ("-1 ETH", NATIVE, "price '-1 ETH' is negative: an amount is more than zero"),
        ("-0.5", USDT, "price '-0.5' is negative: an amount is more than zero"),
        ("5 btc", NATIVE, "price '5 btc' is in btc, but ETH's units are ether, eth, gwei, wei"),
        ("5 ETH", USDT, "price '5 ETH' is in ETH, but the currency is USDT"),
        ("1e18", NATIVE, "price '1e18' is in scientific notation: write it like 0.005 ETH"),
        ("ten", NATIVE, "price 'ten' is not an amount (write it like 0.005 ETH)"),
        ("ETH", NATIVE, "price 'ETH' is not an amount (write it like 0.005 ETH)"),
        ("", USDT, "price '' is not an amount (write it like 0.005 USDT)"),
        ("0,005 ETH", NATIVE, "price '0,005 ETH' is not an amount (write it like 0.005 ETH)"),
        ("1,00 ETH", NATIVE, "price '1,00 ETH' is not an amount (write it like 0.005 ETH)"),
        ("1__0 ETH", NATIVE, "price '1__0 ETH' is not an amount (write it like 0.005 ETH)"),
        ("\u0661 ETH", NATIVE, "price '\u0661 ETH' is not an amount (write it like 0.005 ETH)"),
        ("x", ANONYMOUS, "price 'x' is not an amount (write it like 2500 with --raw)"),
        (
            "340282366920938463463.374607431768211456 ETH",
            NATIVE,
            "price '340282366920938463463.374607431768211456'... (44 characters) is too large: at "
            "most 340,282,366,920,938,463,463.374607431768211455 ETH",
        ),
        (
            "1" * 121 + " ETH",
            NATIVE,
            f"price '{'1' * 40}'... (125 characters) is not an amount (write it like 0.005 ETH)",
        ),
    ],
)
def test_what_is_not_an_amount_is_one_sentence(text: str, currency: Currency, message: str) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(text, currency, what="price")
    assert str(refused.value) == message
    assert isinstance(refused.value, InputError)


def test_the_largest_amount_is_a_uint128() -> None:
    assert parse_amount(f"{MAX_AMOUNT}", NATIVE, raw=True) == MAX_AMOUNT
    assert parse_amount("340282366920938463463.374607431768211455 ETH", NATIVE) == MAX_AMOUNT
    with pytest.raises(AmountError, match=r"too large: at most 340282366920938463463374607431768"):
        parse_amount(f"{MAX_AMOUNT + 1}", NATIVE, raw=True)
    with pytest.raises(AmountError, match=r"too large: at most 0.00000000000000001 ETH$"):
        parse_amount("11 wei", NATIVE, maximum=10)


def test_raw_takes_integers_in_the_smallest_unit() -> None:
    assert parse_amount("1000", NATIVE, raw=True) == 1000
    assert parse_amount("2500", USDT, raw=True) == 2500
    assert parse_amount("1,000", ANONYMOUS, raw=True) == 1000
    assert parse_amount("7.0", NATIVE, raw=True) == 7
    assert parse_amount("1.5 gwei", NATIVE, raw=True) == 1_500_000_000  # a unit still counts
    with pytest.raises(AmountError) as refused:
        parse_amount("10.5", USDT, what="amount", raw=True)
    assert str(refused.value) == (
        "amount '10.5' is not a whole number of smallest units of USDT (--raw)"
    )
    with pytest.raises(AmountError, match="must be more than zero"):
        parse_amount("0", NATIVE, raw=True)


def test_zero_where_it_is_allowed_needs_no_unit() -> None:
    assert parse_amount("0", NATIVE, allow_zero=True) == 0
    assert parse_amount("0.00", USDT, allow_zero=True) == 0
    assert parse_amount("0 gwei", NATIVE, allow_zero=True) == 0


def test_an_appraisal_takes_a_plain_number_of_its_currency() -> None:
    cny = fiat("cny")
    assert parse_amount("2,500,000.00", cny, unit_optional=True) == 250_000_000
    assert parse_amount("2500000 CNY", cny, unit_optional=True) == 250_000_000
    with pytest.raises(AmountError) as refused:
        parse_amount("12.345", cny, what="--amount", unit_optional=True)
    assert (
        str(refused.value)
        == "--amount '12.345' has too many decimals: CNY takes at most 2 decimals"
    )


def test_the_api_price_filter_is_digits_only() -> None:
    assert api_price(None, "min_price") is None
    assert api_price("0", "min_price") == 0
    assert api_price(" 300 ", "min_price") == 300
    assert api_price(str(MAX_AMOUNT), "max_price") == MAX_AMOUNT
    for bad in ("1_000", "+1", "1.0", "1e3", "-1", "0.005 ETH", "\u0661\u0662", "", "1,000"):
        with pytest.raises(InvalidParameterError) as refused:
            api_price(bad, "min_price")
        assert refused.value.field == "min_price"
        assert refused.value.reason == (
            f"{bad!r} is not an amount: a whole number in the smallest unit, in decimal digits"
        )
    with pytest.raises(InvalidParameterError) as refused:
        api_price(str(MAX_AMOUNT + 1), "max_price")
    assert str(refused.value) == f"max_price: '{MAX_AMOUNT + 1}' is too large: at most {MAX_AMOUNT}"


@pytest.mark.parametrize(
    ("value", "currency", "raw", "shown"),
    [
        (5 * 10**15, NATIVE, False, "0.005 ETH"),
        (10**18, NATIVE, False, "1 ETH"),
        (2500 * 10**18, NATIVE, False, "2,500 ETH"),
        (1, NATIVE, False, "0.000000000000000001 ETH"),
        (0, NATIVE, False, "0 ETH"),
        ("12500000", USDT, False, "12.5 USDT"),
        (1_000_500_000, USDT, False, "1,000.5 USDT"),
        (5 * 10**15, NATIVE, True, "5000000000000000 wei"),
        (12_500_000, USDT, True, "12500000 smallest units of USDT"),
        (2500, ANONYMOUS, False, f"2500 smallest units of token {ANONYMOUS.address}"),
        (125_000_000, fiat("CNY"), False, "1,250,000.00 CNY"),
        (MAX_AMOUNT, NATIVE, False, "340,282,366,920,938,463,463.374607431768211455 ETH"),
    ],
)
def test_amounts_are_shown_in_units(
    value: int | str, currency: Currency, raw: bool, shown: str
) -> None:
    assert format_amount(value, currency, raw=raw) == shown


def test_what_is_shown_reads_back() -> None:
    for value in (1, 5 * 10**15, 10**18, 123_456_789 * 10**12, MAX_AMOUNT):
        assert parse_amount(format_amount(value, NATIVE), NATIVE) == value
        assert parse_amount(format_amount(value, USDT), USDT) == value
        assert parse_amount(format_amount(value, NATIVE, raw=True), NATIVE) == value


def test_times_are_iso_8601_with_the_zone() -> None:
    moment = 1_796_542_200  # 2026-12-06T07:30:00Z
    assert iso_time(moment) == "2026-12-06T07:30:00+00:00"
    assert iso_time(0) == "1970-01-01T00:00:00+00:00"
    assert iso_time(2**40 - 1) == "after 9999-12-31T23:59:59+00:00"
    assert format_time(moment, now=moment - 120) == "2026-12-06T07:30:00+00:00 (in 2 min)"
    assert format_time(moment, now=moment + 3 * 3600) == "2026-12-06T07:30:00+00:00 (3 h ago)"


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (0, "now"),
        (30, "in 30 s"),
        (-59, "59 s ago"),
        (60, "in 1 min"),
        (89 * 60, "in 89 min"),
        (2 * 3600, "in 2 h"),
        (-30 * 3600, "30 h ago"),
        (36 * 3600, "in 2 days"),
        (30 * 86400, "in 30 days"),
        (-400 * 86400, "400 days ago"),
        (3 * 365 * 86400, "in 3 years"),
    ],
)
def test_relative_times(offset: int, text: str) -> None:
    assert relative_time(1_000_000 + offset, now=1_000_000) == text
