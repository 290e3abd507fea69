"""Prices: parsed to ``Decimal`` exactly, never through a float, and printed with two decimals."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MAX_PRICE_EXCLUSIVE = Decimal("100000000")  # numeric(10, 2) holds at most 99,999,999.99
_CENT = Decimal("0.01")
# Plain decimal notation only: no sign, exponent, spaces, "NaN" or "Infinity".
_PRICE_TEXT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,12})?")


def parse_price(value: object) -> Decimal:
    """A price from a JSON string or number; raises ``ValueError`` saying what is wrong.

    Numbers must reach us as ``Decimal`` or ``int`` (the API parses JSON numbers to Decimal);
    a float has already been rounded by someone, so it is refused rather than trusted.
    """
    if isinstance(value, bool):
        raise ValueError('price must be a decimal string such as "19.99" or a number')
    if isinstance(value, str):
        if not _PRICE_TEXT.fullmatch(value):
            raise ValueError('price must be a plain decimal such as "19.99"')
        price = Decimal(value)
    elif isinstance(value, Decimal):
        price = value
    elif isinstance(value, int):
        price = Decimal(value)
    else:
        raise ValueError('price must be a decimal string such as "19.99" or a number')
    if not price.is_finite():
        raise ValueError("price must be a finite number")
    if price <= 0:
        raise ValueError("price must be greater than 0")
    if price >= MAX_PRICE_EXCLUSIVE:
        raise ValueError("price must be less than 100000000")
    try:
        exact = price.quantize(_CENT)
    except InvalidOperation as exc:  # too many digits for the context precision
        raise ValueError("price has too many digits") from exc
    if exact != price:
        raise ValueError("price must have at most 2 decimal places")
    return exact


def format_price(price: Decimal) -> str:
    """Always two decimals: "19.90", never "19.9" or "1.99E+1"."""
    return f"{price.quantize(_CENT):f}"
