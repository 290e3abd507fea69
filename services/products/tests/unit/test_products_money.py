"""Prices parse exactly to Decimal and always print with two decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bazaar_products.money import format_price, parse_price


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19.99", "19.99"),
        ("19.9", "19.90"),
        ("7", "7.00"),
        ("0.01", "0.01"),
        ("99999999.99", "99999999.99"),
        ("19.990", "19.99"),  # the value has two decimal places; the text just has a zero more
        (Decimal("19.99"), "19.99"),
        (Decimal("0.10"), "0.10"),
        (5, "5.00"),
    ],
)
def test_valid_prices(value: object, expected: str) -> None:
    price = parse_price(value)
    assert price == Decimal(expected)
    assert format_price(price) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("0", "greater than 0"),
        ("0.00", "greater than 0"),
        (Decimal("-1"), "greater than 0"),
        ("100000000", "less than 100000000"),
        (Decimal("1E+9"), "less than 100000000"),
        ("19.999", "at most 2 decimal places"),
        (Decimal("19.999999999999999999"), "at most 2 decimal places"),
        ("-5", "plain decimal"),
        ("1e3", "plain decimal"),
        (" 5", "plain decimal"),
        ("NaN", "plain decimal"),
        ("", "plain decimal"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (19.99, "decimal string"),  # a float has already been rounded: refused, not trusted
        (True, "decimal string"),
        (None, "decimal string"),
    ],
)
def test_invalid_prices(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_price(value)


def test_format_never_uses_exponent_notation() -> None:
    assert format_price(Decimal("1E+2")) == "100.00"
