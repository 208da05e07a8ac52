"""Time zones made explicit: the CRM speaks epoch milliseconds, the books speak China time.

Every conversion from an instant to a calendar date goes through here, so no module
accidentally uses the machine's local zone.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final
from zoneinfo import ZoneInfo

__all__ = [
    "CHINA",
    "PERIOD",
    "UTC",
    "date_from_epoch_ms",
    "epoch_ms",
    "now_in_china",
    "parse_date",
    "parse_period",
    "period_of",
    "period_range",
    "today_in_china",
]

CHINA: Final = ZoneInfo("Asia/Shanghai")
UTC: Final = dt.UTC
#: 9999-12-31 in ms: anything beyond is a corrupt timestamp, not a date.
_MAX_MS: Final = 253_402_300_799_999
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: an accounting period: calendar month ``YYYY-MM``
PERIOD: Final = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: a reporting range: a month ``2026-11``, a quarter ``2026-Q4`` or a year ``2026``
_RANGE: Final = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")


def now_in_china() -> dt.datetime:
    """The one clock: now, as an aware datetime in China time."""
    return dt.datetime.now(CHINA)


def today_in_china() -> dt.date:
    """Today's date in China, whatever zone the machine runs in."""
    return now_in_china().date()


def date_from_epoch_ms(value: object, tz: dt.tzinfo = CHINA, *, field: str = "time") -> dt.date:
    """The calendar date, in ``tz`` (default Asia/Shanghai), of an epoch-millisecond instant."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{field}: expected epoch milliseconds, got {type(value).__name__} {value!r}")
    try:
        ms = int(value)
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not epoch milliseconds") from None
    if not 0 <= ms <= _MAX_MS:
        raise ValueError(f"{field}: {ms} is outside the range of epoch milliseconds")
    # Whole seconds suffice: a day boundary never falls inside a second.
    return dt.datetime.fromtimestamp(ms // 1000, tz).date()


def epoch_ms(moment: dt.datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive datetimes are refused)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: say which time zone it is in")
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


def parse_date(value: object, *, field: str = "date") -> dt.date:
    """A date from ``YYYY-MM-DD`` text, a date, or an aware datetime (taken in China time)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{field}: naive datetime {value!r}: say which time zone it is in")
        return value.astimezone(CHINA).date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValueError(f"{field}: {value!r} is not a date (expected YYYY-MM-DD)") from None
    raise ValueError(f"{field}: expected a date, got {type(value).__name__} {value!r}")


def period_of(day: dt.date) -> str:
    """The accounting period of a date as ``YYYY-MM`` (calendar months)."""
    return f"{day.year:04d}-{day.month:02d}"


def parse_period(value: str, *, field: str = "period") -> str:
    """``value`` when it is an accounting period ``YYYY-MM``; otherwise ValueError naming ``field``."""
    if not PERIOD.match(value):
        raise ValueError(f"{field}: {value!r} is not an accounting period (expected YYYY-MM, e.g. 2026-11)")
    return value


def period_range(text: str, *, field: str = "--period") -> tuple[dt.date, dt.date]:
    """First and last day: 2026-11 -> Nov 1..30; 2026-Q4 -> Oct 1..Dec 31; 2026 -> the year."""
    match = _RANGE.match(text.strip())
    if not match:
        raise ValueError(f"{field} {text!r} is not a period (use 2026-11, 2026-Q4 or 2026)")
    year = int(match.group(1))
    if match.group(2):
        first_month, months = int(match.group(2)), 1
    elif match.group(3):
        first_month, months = (int(match.group(3)) - 1) * 3 + 1, 3
    else:
        first_month, months = 1, 12
    start = dt.date(year, first_month, 1)
    end_month = first_month + months
    end = dt.date(year + (end_month > 12), (end_month - 1) % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end
