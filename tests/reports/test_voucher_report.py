"""The voucher report ties out to the cent and lists every difference record by record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.reports.vouchers import VoucherItem, default_period, link_for, voucher_report
from tests.reports.vgen import outbox, receipt

ZERO = Decimal(0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_read_minus_posted_equals_the_listed_differences(seed: int) -> None:
    items, quarantined = outbox(seed)
    report = voucher_report(items, quarantined, period="2026-11")
    day, diffs = report.table("by_day"), report.table("differences")
    assert day.totals is not None and diffs.totals is not None
    read = sum((i.voucher.sources[0].amount or ZERO for i in items), ZERO)
    posted = sum((i.voucher.total for i in items if i.status == "posted"), ZERO)
    assert day.totals[day.column("read")] == read
    assert day.totals[day.column("posted")] == posted
    assert diffs.totals[diffs.column("difference")] == read - posted
    unposted = {i.voucher.sources[0].record_id for i in items if i.status != "posted"}
    assert {r["record_id"] for r in diffs.records()} == unposted
    group = report.table("by_group")
    assert group.totals is not None and group.totals[group.column("difference")] == read - posted


def test_a_fee_line_shows_as_a_difference_on_a_posted_voucher() -> None:
    v = receipt(1, dt.date(2026, 11, 3), Decimal("1130.00"), fee=Decimal("2.50"))
    # the mapping posts the gross amount but a bank mapping that nets the fee would post less
    items = [VoucherItem(v, "posted", "1", "收-1")]
    report = voucher_report(items, [], period=None)
    assert report.table("differences").rows == ()
    account = {r["account"]: r for r in report.table("by_account").records()}
    assert account["6603"]["debit_posted"] == Decimal("2.50")
    assert account["1002"]["debit_posted"] == Decimal("1127.50")


def test_failed_and_quarantined_items_are_on_their_own_sheet_with_the_reason() -> None:
    items, quarantined = outbox(3)
    failures = voucher_report(items, quarantined, period="2026-11").table("failures").records()
    failed = [i for i in items if i.status == "failed"]
    assert len(failures) == len(failed) + 3
    assert all(r["reason"] and r["reason"] != "-" for r in failures)
    assert any("float" in str(r["reason"]) for r in failures)


def test_reversals_count_negative() -> None:
    v = receipt(2, dt.date(2026, 11, 5), Decimal("500.00"))
    rev = v.reversal("red", on=dt.date(2026, 11, 20))
    report = voucher_report([VoucherItem(v, "posted"), VoucherItem(rev, "posted")], [], period="2026-11")
    day = report.table("by_day")
    assert day.totals is not None
    assert day.totals[day.column("read")] == ZERO
    assert day.totals[day.column("posted")] == ZERO


def test_default_period_is_the_one_with_most_vouchers() -> None:
    a = receipt(1, dt.date(2026, 10, 1), Decimal(1))
    b = receipt(2, dt.date(2026, 11, 1), Decimal(1))
    c = receipt(3, dt.date(2026, 11, 2), Decimal(1))
    assert (
        default_period([VoucherItem(a, "posted"), VoucherItem(b, "posted"), VoucherItem(c, "posted")])
        == "2026-11"
    )
    assert default_period([]) is None


def test_link_template_per_stream_with_quoted_values() -> None:
    ref = receipt(1, dt.date(2026, 11, 1), Decimal(1)).source
    template = {"PaymentObj": "https://crm.example.cn/detail/{stream}/{record_id}?n={name}"}
    assert link_for(template, ref) == f"https://crm.example.cn/detail/PaymentObj/{ref.record_id}?n={ref.name}"
    assert link_for({"SalesOrderObj": "https://x/{record_id}"}, ref) == ""
    assert link_for("https://x/{nope}", ref) == ""
