"""The functions a mapping expression may call, and how values appear in templates.

Each takes and returns plain typed values (Decimal, date, str): money goes through
``sync.money`` (floats refused, explicit rounding), dates through ``sync.dates`` (China
time). A failure is an ``EvalError`` that names the field when one is at fault.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final, NamedTuple

from sync.dates import date_from_epoch_ms, parse_date, period_of
from sync.money import MoneyError, format_amount, parse_amount, round_money

__all__ = ["FUNCTIONS", "EvalError", "Scope", "TaxSplit", "read_amount", "render_text", "tax_split"]


class EvalError(Exception):
    """An expression failed on a record; ``field`` names the record field when one is at fault."""

    def __init__(self, message: str, *, field: str = "", hint: str = "") -> None:
        self.message = message
        self.field = field
        self.hint = hint
        super().__init__(message)


class Scope:
    """What an expression sees while one record is mapped: its fields and the ``let`` values."""

    __slots__ = ("lookups", "record", "vars")

    def __init__(self, record: Mapping[str, Any], lookups: Mapping[str, Any] | None = None) -> None:
        self.record = record
        self.vars: dict[str, Any] = {}
        self.lookups: Mapping[str, Any] = lookups or {}


class TaxSplit(NamedTuple):
    """A tax-inclusive amount split so that ``net + tax == gross`` exactly."""

    gross: Decimal
    net: Decimal
    tax: Decimal


# -- functions available to expressions -------------------------------------------------------


def read_amount(value: Any, field: str = "amount") -> Decimal:
    try:
        return parse_amount(value, field=field)
    except MoneyError as exc:
        raise EvalError(
            str(exc),
            field=field if field != "amount" else "",
            hint='make the source send a decimal string such as "1130.00"',
        ) from None


def _rate(value: Any, field: str = "rate") -> Decimal:
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        return read_amount(value, field)
    raise EvalError(f"{field}: {value!r} is not a decimal rate", hint="write rates as 0.13 or '0.13'")


def _round(value: Any, places: int | None = None, mode: str = "half_up", currency: str = "CNY") -> Decimal:
    return round_money(read_amount(value), currency, mode, places)


def tax_split(gross: Any, rate: Any, places: int = 2, mode: str = "half_up") -> TaxSplit:
    """net = round(gross / (1 + rate)), tax = gross − net: the two always add up to gross."""
    g = read_amount(gross, "gross")
    r = _rate(rate)
    if r <= -1:
        raise EvalError(f"tax rate {r} must be greater than -1")
    net = round_money(g / (1 + r), places=places, mode=mode)
    return TaxSplit(g, net, g - net)


def _fx(amount: Any, rate: Any, places: int = 2, mode: str = "half_up") -> Decimal:
    """A foreign amount converted at ``rate`` and rounded to the book currency's minor unit."""
    return round_money(read_amount(amount, "foreign amount") * _rate(rate), places=places, mode=mode)


def _date(value: Any) -> dt.date:
    """Epoch milliseconds (the CRM's format) or YYYY-MM-DD text → a calendar date in China time."""
    if value is None:
        raise EvalError("date is missing (null)")
    try:
        if isinstance(value, dt.date):
            return parse_date(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return date_from_epoch_ms(value)
        if isinstance(value, str) and value.strip().isdigit():
            return date_from_epoch_ms(value.strip())
        return parse_date(value)
    except ValueError as exc:
        raise EvalError(str(exc)) from None


def _period(value: Any) -> str:
    return period_of(_date(value))


def _text(value: Any) -> str:
    return render_text(value)


def _first(value: Any, default: Any = None) -> Any:
    if isinstance(value, list | tuple):
        return value[0] if value else default
    return default if value is None else value


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None and v != ""), None)


def _dec(value: Any) -> Decimal:
    return read_amount(value, "dec")


def _join(values: Any, sep: str = ",") -> str:
    if not isinstance(values, list | tuple):
        return render_text(values)
    return sep.join(render_text(v) for v in values)


#: name -> callable; the only functions an expression may call (``get``/``has``/``lookup`` are
#: compiled specially because they need the record or the lookups).
FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "amount": read_amount,
    "dec": _dec,
    "round": _round,
    "tax_split": tax_split,
    "fx": _fx,
    "date": _date,
    "period": _period,
    "text": _text,
    "first": _first,
    "coalesce": _coalesce,
    "join": _join,
    "abs": abs,
    "min": min,
    "max": max,
    "len": len,
    "upper": lambda s: _text(s).upper(),
    "lower": lambda s: _text(s).lower(),
}


def render_text(value: Any) -> str:
    """How a value appears inside a template: dates ISO, Decimals as written, None as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_amount(value) if value.as_tuple().exponent == -2 else str(value)
    if isinstance(value, float):
        raise EvalError(f"float {value!r} cannot be shown exactly", hint="send the value as text")
    return str(value)
