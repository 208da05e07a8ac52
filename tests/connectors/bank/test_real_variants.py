"""Files as some banks and people really write them: MT942 and camt.052 interim reports, ASN Bank's
wrapped :61:, and personal WeChat Pay / Alipay exports (refused, saying why)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from connectors.bank.files import parse_file
from connectors.bank.mt940 import parse_mt940
from sync.banking import StatementError

VARIANTS = Path(__file__).resolve().parents[2] / "fixtures" / "bank" / "variants"


def _read(name: str, **options: bool) -> list:  # type: ignore[type-arg]
    return parse_mt940((VARIANTS / name).read_bytes(), name, **options)


def test_a_wrapped_61_with_a_long_customer_reference_is_read_and_adds_up() -> None:
    [stmt] = _read("mt940_asn_wrapped_61.sta")
    assert [(t.direction, t.amount) for t in stmt.transactions] == [
        ("debit", Decimal("65.00")),
        ("credit", Decimal("1820.15")),
    ]
    assert (
        stmt.opening + sum(t.signed_amount for t in stmt.transactions) == stmt.closing == Decimal("3005.55")
    )
    assert stmt.transactions[1].references[0] == "NL91ABNA0417164300"
    assert "Factuur SO-20261028-0007" in stmt.transactions[1].remittance


def test_the_wrapped_layout_still_refuses_a_statement_that_does_not_add_up() -> None:
    with pytest.raises(StatementError, match="does not add up"):
        _read("mt940_asn_wrapped_61_off_by_a_cent.sta")


def test_an_mt942_interim_report_books_nothing_by_default() -> None:
    [report] = _read("mt942_intraday.sta")
    assert report.interim and report.transactions == () and report.not_booked == 3
    assert report.opening is None and report.closing is None


def test_an_mt942_report_is_booked_when_the_source_says_so() -> None:
    [report] = _read("mt942_intraday.sta", book_interim=True)
    assert [t.amount for t in report.transactions] == [
        Decimal("11300.00"),
        Decimal("4520.00"),
        Decimal("25.50"),
    ]
    assert all(t.raw["report"].startswith("MT942 interim") for t in report.transactions)
    assert report.transactions[2].kind == "fee"


def test_an_mt942_whose_entry_totals_do_not_match_its_lines_is_refused_naming_90c() -> None:
    with pytest.raises(StatementError, match=r":90C: credit entries stated as 2 for 15802.00.*15820.00"):
        _read("mt942_totals_do_not_match.sta")


def test_the_file_source_passes_book_interim_through() -> None:
    path = VARIANTS / "mt942_intraday.sta"
    assert parse_file("mt940", path) == []
    assert len(parse_file("mt940", path, book_interim=True)) == 3


def _camt(name: str, **options: bool) -> list:  # type: ignore[type-arg]
    from connectors.bank.camt import parse_camt

    return parse_camt((VARIANTS / name).read_bytes(), name, **options)


def test_a_camt052_intraday_report_demands_no_balances_and_books_nothing_by_default() -> None:
    [report] = _camt("camt052_v08_intraday.xml")
    assert report.transactions == () and report.not_booked == 1 and report.skipped_pending == 1


def test_a_camt052_report_is_booked_when_the_source_says_so() -> None:
    [report] = _camt("camt052_v08_intraday.xml", book_interim=True)
    [line] = report.transactions
    assert (line.amount, line.payer_name, line.format) == (
        Decimal("4520.00"),
        "杭州青禾科技有限公司",
        "camt052",
    )
    assert line.raw["report"].startswith("camt.052 interim")


def test_a_camt052_whose_summary_does_not_match_is_refused() -> None:
    with pytest.raises(StatementError, match="TxsSummry"):
        _camt("camt052_v08_summary_does_not_match.xml")


def test_a_camt052_file_is_refused_by_a_camt053_source() -> None:
    from connectors.bank.camt import parse_camt

    with pytest.raises(StatementError, match=r"camt\.052 file but the source is configured as camt053"):
        parse_camt((VARIANTS / "camt052_v08_intraday.xml").read_bytes(), "r.xml", "053")


@pytest.mark.parametrize(
    ("fmt", "name", "platform"),
    [
        ("wechat_bill", "wechat_personal_export.csv", "WeChat Pay"),
        ("alipay_bill", "alipay_personal_export.gbk.csv", "Alipay"),
    ],
)
def test_a_personal_export_is_refused_saying_only_merchant_bills_can_be_booked(
    fmt: str, name: str, platform: str
) -> None:
    with pytest.raises(StatementError, match=f"personal {platform} export") as refused:
        parse_file(fmt, VARIANTS / name)
    assert "merchant" in str(refused.value) and "nothing was booked" in str(refused.value)
