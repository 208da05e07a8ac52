"""The one doorway for money: parsing, quantizing and rounding Decimals.

Floats are refused everywhere: a float has already lost the cents it was meant to carry
(``0.1 + 0.2``). Amounts arrive as strings ("1130.00", CRM and bank files), ints, or
Decimals; anything else is an error that names the field.

The grammar of an amount written as text (``NumberFormat``), blanks around it allowed::

    amount   := sign? ( integer fraction? | decimal digits )
    sign     := "+" | "-"
    fraction := decimal digits*
    integer  := digits                                   (any grouping)
              | d{1,3} (group ddd)+                      (grouping: western, the default)
              | d{1,2} (group dd)* group ddd             (grouping: indian, 1,13,000.00)
    decimal  := "."  (or "," with decimal_separator: ",")
    group    := ","  (or "." when the decimal separator is ",")

So by default a comma is only a thousands separator, in groups of three before the decimal
point: "1,130.00" is 1130.00, while "1.130,00" (a European amount) and "1,13,0.00" are
refused, never read as 1.13 or 1130.00. A source that writes decimal commas declares
``decimal_separator: ","``; exponents, NaN and infinities are never amounts. All arithmetic that must be exact
(sums of amounts: ``total``) runs under ``EXACT``, which traps an inexact result instead of
rounding it silently as Python's default 28-digit context would; rounding happens only
through ``round_money`` with an explicit mode. Quotients (a tax split, an FX conversion) are
inexact by nature and are rounded by the mapping that asks for them.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Final, Literal

__all__ = [
    "EXACT",
    "ROUNDING_MODES",
    "ZERO",
    "Decimal",
    "MoneyError",
    "NumberFormat",
    "format_amount",
    "minor_unit",
    "number_format",
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


_MAX_DIGITS: Final = 28


class MoneyError(ValueError):
    """An amount could not be read as an exact decimal; the message names the field."""


@dataclass(frozen=True)
class NumberFormat:
    """How a source writes amounts as text: its decimal separator and its digit grouping."""

    decimal_separator: Literal[".", ","] = "."
    grouping: Literal["western", "indian", "none"] = "western"

    @property
    def group_separator(self) -> str:
        return "," if self.decimal_separator == "." else "."

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        d, g = re.escape(self.decimal_separator), re.escape(self.group_separator)
        integer = {
            "none": r"\d+",
            "western": rf"\d{{1,3}}(?:{g}\d{{3}})+|\d+",
            "indian": rf"\d{{1,2}}(?:{g}\d{{2}})*{g}\d{{3}}|\d+",
        }[self.grouping]
        return re.compile(rf"^[+-]?(?:(?:{integer})(?:{d}\d*)?|{d}\d+)$")

    def example(self, *, grouped: bool = True) -> str:
        """An amount as this format writes it ("1,130.00", "1.130,00", "1,13,000.00")."""
        if not grouped:
            return f"1130{self.decimal_separator}00"
        thousands = {"western": "1,130", "indian": "1,13,000", "none": "1130"}[self.grouping]
        return thousands.replace(",", self.group_separator) + self.decimal_separator + "00"

    def normalise(self, text: str) -> str | None:
        """``text`` as Python's Decimal reads it, or None when it breaks this format's grammar."""
        if not self.pattern.match(text):
            return None
        return text.replace(self.group_separator, "").replace(self.decimal_separator, ".")


DEFAULT_FORMAT: Final = NumberFormat()
_current_format: ContextVar[NumberFormat] = ContextVar("crmsync_number_format", default=DEFAULT_FORMAT)


@contextmanager
def number_format(fmt: NumberFormat | None) -> Iterator[None]:
    """Read amounts written as text by ``fmt`` inside the block (like ``decimal.localcontext``).

    The engine wraps the mapping of each record in its source's format, so the mapping
    language's ``amount()`` reads what that source writes without knowing which source it is.
    """
    token = _current_format.set(fmt or DEFAULT_FORMAT)
    try:
        yield
    finally:
        _current_format.reset(token)


def parse_amount(value: object, *, field: str = "amount", fmt: NumberFormat | None = None) -> Decimal:
    """Read an amount exactly, from a decimal string, an int or a Decimal. Floats are refused.

    Text follows the grammar above in ``fmt`` (default: the format in force, see
    ``number_format``; outside any, "." decimals and "," thousands in groups of three).
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
        return _parse_text(value, field, fmt or _current_format.get())
    if value is None:
        raise MoneyError(f"{field}: amount is missing (null)")
    raise MoneyError(f"{field}: expected an amount, got {type(value).__name__} {value!r}")


def _parse_text(value: str, field: str, fmt: NumberFormat) -> Decimal:
    text = fmt.normalise(value.strip())
    if text is None:
        raise MoneyError(_refusal(value, field, fmt))
    if len(text.lstrip("+-").replace(".", "").lstrip("0")) > _MAX_DIGITS:
        raise MoneyError(f"{field}: {value!r} has more than {_MAX_DIGITS} digits")
    return Decimal(text)


def _refusal(value: str, field: str, fmt: NumberFormat) -> str:
    """Why ``value`` is no amount in ``fmt``, and the fix (the grouping rule, the separator)."""
    message = f'{field}: {value!r} is not a decimal amount (expected e.g. "{fmt.example(grouped=False)}")'
    stripped = value.strip()
    if fmt.group_separator in stripped and fmt.grouping != "none":
        groups = "thousands (groups of three digits)" if fmt.grouping == "western" else "1,13,000 groups"
        sep, dec = fmt.group_separator, fmt.decimal_separator
        message += f"; {sep!r} may only separate {groups} before the decimal {dec!r}"
    for other in (NumberFormat(","), NumberFormat(grouping="indian")):
        if other != fmt and other.normalise(stripped) is not None:
            message += (
                f"; if the source writes amounts like {other.example()!r}, declare "
                f"decimal_separator: {other.decimal_separator!r} and grouping: {other.grouping} on the source"
            )
            break
    return message


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
