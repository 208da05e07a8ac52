"""The rendered files: xlsx opened with openpyxl, html self-contained, csv and json exact."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from sync.reports.vouchers import voucher_report
from sync.tables.files import render, write_report
from sync.tables.xlsx import MONEY_FORMAT
from tests.reports.vgen import outbox


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    items, quarantined = outbox(11)
    return voucher_report(
        items,
        quarantined,
        period="2026-11",
        link_template="https://www.fxiaoke.com/XV/UI/Home#crm/detail/=/{stream}/{record_id}",
    )


def test_xlsx_has_a_sheet_per_table_with_frozen_headers_money_formats_and_exact_totals(
    report, tmp_path: Path
):  # type: ignore[no-untyped-def]
    (path,) = write_report(report, "xlsx", "zh", tmp_path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "概要",
        "按日控制合计",
        "按凭证字控制合计",
        "按科目",
        "差异明细",
        "失败与隔离",
        "凭证",
    ]
    sheet = book["按日控制合计"]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == ["日期", "凭证数", "源金额", "已过账金额", "差额"]
    last = sheet.max_row
    table = report.table("by_day")
    assert Decimal(str(sheet.cell(last, 3).value)).quantize(Decimal("0.01")) == table.totals[2]
    assert Decimal(str(sheet.cell(last, 4).value)).quantize(Decimal("0.01")) == table.totals[3]
    assert sheet.cell(last, 4).number_format == MONEY_FORMAT
    assert sheet.cell(2, 1).value == table.rows[0][0]
    # the per-row figures add up to the totals row in the workbook itself, to the cent
    column_sum = sum(Decimal(str(sheet.cell(r, 4).value)) for r in range(2, last))
    assert column_sum.quantize(Decimal("0.01")) == table.totals[3]
    links = [c.hyperlink.target for c in book["凭证"]["Q"][1:] if c.hyperlink]
    assert links and links[0].startswith("https://www.fxiaoke.com/")


def test_xlsx_english_titles(report):  # type: ignore[no-untyped-def]
    book = openpyxl.load_workbook(io.BytesIO(render(report, "xlsx", "en")[".xlsx"]))
    assert book.sheetnames[:3] == ["Summary", "Control totals by day", "Control totals by voucher group"]
    assert book["Vouchers"]["I1"].value == "Debit"


def test_xlsx_never_turns_a_crm_name_into_a_formula(tmp_path: Path) -> None:
    import datetime as dt

    from sync.tables.model import Column, Report, Table
    from sync.tables.xlsx import to_xlsx

    table = Table("t", "表", "T", (Column("name", "名称", "Name"),), (('=HYPERLINK("http://evil")',),))
    book = openpyxl.load_workbook(
        io.BytesIO(to_xlsx(Report("r", "r", "r", (table,), dt.datetime(2026, 11, 28))))
    )
    cell = book["表"]["A2"]
    assert cell.data_type == "s"


def test_html_is_one_self_contained_file(report) -> None:  # type: ignore[no-untyped-def]
    page = render(report, "html", "zh")[".html"].decode()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""src\s*=""", page)
    assert "凭证报告 2026-11" in page and "失败与隔离" in page
    assert "<style>" in page


def test_html_escapes_crm_text() -> None:
    import datetime as dt

    from sync.tables.html import to_html
    from sync.tables.model import Column, Kind, Report, Table

    table = Table(
        "t",
        "表",
        "T",
        (Column("n", "名", "N"), Column("l", "链", "L", Kind.LINK)),
        (("<script>alert(1)</script>", "javascript:alert(1)"),),
    )
    page = to_html(Report("r", "r", "r", (table,), dt.datetime(2026, 11, 28)))
    assert "<script>alert" not in page and "javascript:" not in page


def test_csv_one_file_per_table_with_bom_and_cents(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    written = write_report(report, "csv", "en", tmp_path / "out.csv")
    assert {p.name for p in written} >= {"out.vouchers.csv", "out.by_day.csv", "out.failures.csv"}
    raw = (tmp_path / "out.by_day.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["Day", "Vouchers", "Source amount read", "Voucher amount posted", "Difference"]
    assert re.fullmatch(r"-?\d+\.\d\d", rows[-1][3])


def test_json_amounts_are_strings(report) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(render(report, "json", "en")[".json"])
    totals = data["tables"]["by_day"]["totals"]
    assert isinstance(totals["posted"], str) and Decimal(totals["posted"]) == report.table("by_day").totals[3]
    assert isinstance(totals["count"], int)
