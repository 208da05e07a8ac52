"""The one doorway for money: parsing, quantizing and rounding Decimals.

Floats are refused everywhere: a float has already lost the cents it was meant to carry
(``0.1 + 0.2``). Amounts arrive as strings ("1130.00", CRM and bank files), ints, or
Decimals; anything else is an error that names the field. All arithmetic that must be exact
(sums of amounts: ``total``) runs under ``EXACT``, which traps an inexact result instead of
rounding it silently as Python's default 28-digit context would; rounding happens only
through ``round_money`` with an explicit mode. Quotients (a tax split, an FX conversion) are
inexact by nature and are rounded by the mapping that asks for them.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

__all__ = [
    "EXACT",
    "ROUNDING_MODES",
    "ZERO",
    "Decimal",
    "MoneyError",
    "format_amount",
    "minor_unit",
    "parse_amount",
    "quantum",
    "round_money",
    "total",
]

ZERO: Final = Decimal(0)

#: Minor units per ISO 4217 for the currencies our users meet; others default to 2.
_MINOR_UNITS: Final[dict[str, int]] = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "HKD": 2,
    "GBP": 2,
    "SGD": 2,
    "TWD": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "KWD": 3,
    "BHD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
}

ROUNDING_MODES: Final[dict[str, str]] = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "down": decimal.ROUND_DOWN,
    "up": decimal.ROUND_UP,
    "floor": decimal.ROUND_FLOOR,
    "ceiling": decimal.ROUND_CEILING,
}

#: Context for arithmetic that must be exact: 34 digits, inexact results raise.
EXACT: Final = decimal.Context(prec=34, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


def total(amounts: Iterable[Decimal]) -> Decimal:
    """The exact sum of ``amounts`` (Decimal zero when empty); an inexact sum raises."""
    with decimal.localcontext(EXACT):
        return sum(amounts, ZERO)


_AMOUNT_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_MAX_DIGITS: Final = 28


class MoneyError(ValueError):
    """An amount could not be read as an exact decimal; the message names the field."""


def parse_amount(value: object, *, field: str = "amount") -> Decimal:
    """Read an amount exactly, from a decimal string, an int or a Decimal. Floats are refused.

    Thousands separators ("1,130.00") and surrounding blanks are accepted because bank and
    platform files use them; exponents, NaN and infinities are not.
    """
    if isinstance(value, bool):
        raise MoneyError(f"{field}: expected an amount, got a boolean {value!r}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError(f"{field}: amount {value} is not a finite number")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        raise MoneyError(
            f"{field}: amount {value!r} is a float, which cannot carry cents exactly; "
            'send it as a decimal string such as "1130.00"'
        )
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not _AMOUNT_TEXT.match(text):
            raise MoneyError(f'{field}: {value!r} is not a decimal amount (expected e.g. "1130.00")')
        if len(text.lstrip("+-").replace(".", "").lstrip("0")) > _MAX_DIGITS:
            raise MoneyError(f"{field}: {value!r} has more than {_MAX_DIGITS} digits")
        return Decimal(text)
    if value is None:
        raise MoneyError(f"{field}: amount is missing (null)")
    raise MoneyError(f"{field}: expected an amount, got {type(value).__name__} {value!r}")


def minor_unit(currency: str) -> int:
    """Digits after the decimal point for a currency (CNY 2, JPY 0, KWD 3)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of a currency as a Decimal exponent (CNY → 0.01)."""
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(
    amount: Decimal, currency: str = "CNY", mode: str = "half_up", places: int | None = None
) -> Decimal:
    """Round to the currency's minor unit (or ``places``) with an explicit rounding mode."""
    try:
        rounding = ROUNDING_MODES[mode]
    except KeyError:
        raise MoneyError(f"unknown rounding mode {mode!r}; use one of {', '.join(ROUNDING_MODES)}") from None
    exp = Decimal(1).scaleb(-places) if places is not None else quantum(currency)
    return amount.quantize(exp, rounding=rounding)


def format_amount(amount: Decimal, currency: str = "CNY") -> str:
    """The wire/JSON text of an amount: fixed point at the currency's precision, e.g. "1130.00"."""
    exponent = amount.as_tuple().exponent
    places = max(minor_unit(currency), -exponent if isinstance(exponent, int) else 0)
    return f"{amount:.{places}f}"
