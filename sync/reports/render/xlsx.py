"""xlsx via openpyxl: a summary sheet, then one sheet per table.

Every table sheet has its header in row 1, frozen, with an auto-filter; money cells carry
the number format ``#,##0.00`` (the value stays exact: openpyxl writes the Decimal's digits),
dates ``yyyy-mm-dd``; the totals row is bold below the data.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from sync.reports.table import Cell, Column, Kind, Lang, Report, Table

__all__ = ["DATE_FORMAT", "MONEY_FORMAT", "to_xlsx"]

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
_HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_SAFE_LINK = re.compile(r"^https?://", re.IGNORECASE)


def sheet_title(table: Table, lang: Lang) -> str:
    """Excel allows 31 characters and forbids []:*?/\\ in sheet names."""
    return _BAD_SHEET_CHARS.sub("_", table.title(lang))[:31]


def to_xlsx(report: Report, lang: Lang = "zh") -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "概要" if lang == "zh" else "Summary"
    _summary(summary, report, lang)
    for table in report.tables:
        _sheet(book.create_sheet(sheet_title(table, lang)), table, lang)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _summary(ws: Worksheet, report: Report, lang: Lang) -> None:
    ws.append([report.title(lang)])
    ws["A1"].font = Font(bold=True, size=14)
    generated = "生成时间" if lang == "zh" else "Generated"
    ws.append([generated, report.generated_at.isoformat(timespec="seconds")])
    for zh, en, value in report.facts:
        ws.append([zh if lang == "zh" else en, value])
    ws.append([])
    ws.append(
        [
            "表" if lang == "zh" else "Sheet",
            "说明" if lang == "zh" else "Note",
            "行数" if lang == "zh" else "Rows",
        ]
    )
    for table in report.tables:
        ws.append([sheet_title(table, lang), table.note(lang), len(table.rows)])
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 60


def _sheet(ws: Worksheet, table: Table, lang: Lang) -> None:
    ws.append([c.title(lang) for c in table.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in table.rows:
        _append(ws, table.columns, row, bold=False)
    if table.totals:
        _append(ws, table.columns, table.totals, bold=True)
    ws.freeze_panes = "A2"
    if table.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"
    for index, column in enumerate(table.columns, 1):
        ws.column_dimensions[get_column_letter(index)].width = _width(column, table)


def _append(ws: Worksheet, columns: tuple[Column, ...], row: tuple[Cell, ...], *, bold: bool) -> None:
    ws.append([_value(v) for v in row])
    number = ws.max_row
    for index, (column, value) in enumerate(zip(columns, row, strict=True), 1):
        cell = ws.cell(row=number, column=index)
        if column.kind is Kind.MONEY:
            cell.number_format = MONEY_FORMAT
        elif column.kind is Kind.DATE:
            cell.number_format = DATE_FORMAT
        elif column.kind is Kind.LINK and isinstance(value, str) and _SAFE_LINK.match(value):
            cell.hyperlink = value
            cell.font = Font(color="0563C1", underline="single")
        elif isinstance(value, str) and value[:1] == "=":
            cell.value, cell.data_type = value, "s"  # a CRM name is data, never a formula
        if bold:
            cell.font = Font(bold=True)


def _value(value: Cell) -> object:
    if isinstance(value, dt.date | Decimal | int) or value is None:
        return value
    return str(value)


def _width(column: Column, table: Table) -> float:
    longest = max([len(str(r[table.column(column.key)] or "")) for r in table.rows[:200]] + [6])
    if column.kind is Kind.MONEY:
        longest = max(longest + 4, 14)
    title = column.title("zh")
    return float(min(max(longest, len(title) * 2 + 2) + 2, 60))
