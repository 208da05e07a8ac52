"""Epoch milliseconds from the CRM become dates in China time, never the machine's zone."""

import datetime as dt

import pytest

from sync.dates import date_from_epoch_ms, epoch_ms, parse_date, period_of


def test_midnight_in_china_is_still_that_day_although_utc_says_the_day_before() -> None:
    # 2026-11-03 00:00 Asia/Shanghai == 2026-11-02 16:00 UTC
    assert date_from_epoch_ms(1793635200000) == dt.date(2026, 11, 3)


def test_epoch_ms_text_is_accepted_as_the_crm_sometimes_sends_it() -> None:
    assert date_from_epoch_ms("1793635200000") == dt.date(2026, 11, 3)


@pytest.mark.parametrize("bad", [1.5, None, "yesterday", -1, 10**16])
def test_bad_timestamps_name_the_field(bad: object) -> None:
    with pytest.raises(ValueError, match="order_time"):
        date_from_epoch_ms(bad, field="order_time")


def test_epoch_ms_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="time zone"):
        epoch_ms(dt.datetime(2026, 11, 3))


def test_epoch_ms_round_trips_an_aware_datetime() -> None:
    moment = dt.datetime(2026, 11, 3, 9, 30, 15, 123000, tzinfo=dt.UTC)
    assert epoch_ms(moment) == 1793698215123


def test_parse_date_and_period() -> None:
    assert parse_date("2026-11-28") == dt.date(2026, 11, 28)
    assert period_of(dt.date(2026, 1, 5)) == "2026-01"
