"""How one cell reads as text, shared by the csv, json and html renderers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sync.money import format_amount
from sync.tables.model import Cell, Kind

__all__ = ["plain", "pretty"]


def plain(value: Cell, kind: Kind) -> str:
    """Machine text: money as a fixed-point string with cents, dates ISO, empty for None."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_amount(value) if kind is Kind.MONEY else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def pretty(value: Cell, kind: Kind) -> str:
    """Human text: money with thousands separators (1,130.00)."""
    if isinstance(value, Decimal) and kind is Kind.MONEY:
        exponent = value.as_tuple().exponent
        # never hide a sub-cent digit: an unrounded amount is shown as it is
        places = max(2, -exponent) if isinstance(exponent, int) else 2
        return f"{value:,.{places}f}"
    return plain(value, kind)
