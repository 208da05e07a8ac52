"""Reading the ledger back (reports, demo, tests) and opening files that are not what they seem."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.ledger.queries import account_totals, list_vouchers, voucher_count, vouchers_by_ref
from sync.errors import DestinationUnavailable
from tests.connectors.ledger.ledger_helpers import new_ledger, receipt, sales_order


@pytest.fixture
def posted(tmp_path: Path) -> Path:
    db = tmp_path / "ledger.db"
    ledger = new_ledger(db)
    ledger.post(
        [
            sales_order(1, gross="1130.00", net="1000.00", tax="130.00"),
            sales_order(2, gross="2486.50", net="2200.44", tax="286.06", day=dt.date(2026, 12, 2)),
            receipt(1, amount="1130.00", account="1012.01"),
            sales_order(3, book="002 深圳分公司"),
        ]
    )
    ledger.close()
    return db


def test_account_totals_are_exact_turnover_and_balance_per_account(posted: Path) -> None:
    totals = account_totals(posted)
    ar = totals["1122"]
    assert (ar.debit, ar.credit, ar.balance) == (Decimal("4746.50"), Decimal("1130.00"), Decimal("3616.50"))
    assert totals["2221.01.05"].balance == Decimal("-546.06")
    assert totals["1012.01"].balance == Decimal("1130.00")


def test_totals_and_counts_narrow_to_a_book_or_period(posted: Path) -> None:
    assert account_totals(posted, book="002 深圳分公司")["6001"].credit == Decimal("1000.00")
    assert voucher_count(posted) == 4
    assert voucher_count(posted, book="002 深圳分公司") == 1
    assert voucher_count(posted, period="2026-12") == 1


def test_vouchers_come_back_in_posting_order_with_their_numbers(posted: Path) -> None:
    vouchers = list_vouchers(posted)
    assert [v.number for v in vouchers] == ["记-1", "记-1", "收-1", "记-1"]
    assert [v.period for v in vouchers] == ["2026-11", "2026-12", "2026-11", "2026-11"]
    assert [v.total for v in list_vouchers(posted, limit=2)] == [Decimal("1130.00"), Decimal("2486.50")]
    [held] = vouchers_by_ref(posted, receipt(1, amount="1130.00", account="1012.01").external_ref)
    assert (held.source_stream, held.summary) == (
        "PaymentObj",
        "回款 20261105-000001 北京华辰智能装备有限公司",
    )


def test_queries_on_a_ledger_that_does_not_exist_say_so(tmp_path: Path) -> None:
    with pytest.raises(DestinationUnavailable, match="does not exist"):
        voucher_count(tmp_path / "nowhere.db")


def test_a_ledger_from_a_newer_crmsync_is_not_touched(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(DestinationUnavailable, match="schema 99 is newer than this crmsync"):
        new_ledger(db).check()


def test_a_ledger_path_that_cannot_be_created_makes_the_destination_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(DestinationUnavailable, match="cannot be created"):
        new_ledger(blocker / "ledger.db").check()
