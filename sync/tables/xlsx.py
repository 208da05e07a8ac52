"""xlsx via openpyxl: a summary sheet, then one sheet per table.

Every table sheet has its header in row 1, frozen, with an auto-filter; money cells carry
the number format ``#,##0.00`` (the value stays exact: openpyxl writes the Decimal's digits),
dates ``yyyy-mm-dd``; the totals row is bold below the data. The workbook is written in
openpyxl's write-only mode (rows streamed, styles shared), which keeps a 40,000-line voucher
sheet to seconds instead of minutes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
from decimal import Decimal
from itertools import islice
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from sync.tables.model import Cell, Column, Kind, Lang, Report, Table

__all__ = ["DATE_FORMAT", "MONEY_FORMAT", "sheet_title", "to_xlsx", "write_xlsx"]

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
_HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_LINK = Font(color="0563C1", underline="single")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_SAFE_LINK = re.compile(r"^https?://", re.IGNORECASE)


def sheet_title(table: Table, lang: Lang) -> str:
    """Excel allows 31 characters and forbids []:*?/\\ in sheet names."""
    return _BAD_SHEET_CHARS.sub("_", table.title(lang))[:31]


def to_xlsx(report: Report, lang: Lang = "zh") -> bytes:
    out = io.BytesIO()
    write_xlsx(report, out, lang)
    return out.getvalue()


def write_xlsx(report: Report, out: BinaryIO, lang: Lang = "zh") -> None:
    """The workbook, each sheet streamed row by row to a temporary file until it is saved."""
    book = Workbook(write_only=True)
    try:
        _summary(book.create_sheet("概要" if lang == "zh" else "Summary"), report, lang)
        for table in report.tables:
            _sheet(book.create_sheet(sheet_title(table, lang)), table, lang)
    except BaseException:
        _discard(book)
        raise
    book.save(out)


def _discard(book: Workbook) -> None:
    """Close the sheets of a workbook that will not be saved and remove their temporary files."""
    for ws in book.worksheets:
        writer = getattr(ws, "_writer", None)
        with contextlib.suppress(Exception):
            ws.close()
        if writer is not None and isinstance(writer.out, str):
            with contextlib.suppress(OSError):
                os.remove(writer.out)


def _summary(ws: Any, report: Report, lang: Lang) -> None:
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 60
    title = WriteOnlyCell(ws, value=report.title(lang))
    title.font = _TITLE
    ws.append([title])
    ws.append(
        ["生成时间" if lang == "zh" else "Generated", report.generated_at.isoformat(timespec="seconds")]
    )
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


def _sheet(ws: Any, table: Table, lang: Lang) -> None:
    # write-only sheets take layout before the first row
    ws.freeze_panes = "A2"
    count = len(table.rows)
    if count:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{count + 1}"
    head = list(islice(table.rows, 200))
    for index, column in enumerate(table.columns, 1):
        ws.column_dimensions[get_column_letter(index)].width = _width(column, index - 1, head)
    header = []
    for column in table.columns:
        cell = WriteOnlyCell(ws, value=column.title(lang))
        cell.font, cell.fill, cell.alignment = _BOLD, _HEADER_FILL, _CENTER
        header.append(cell)
    ws.append(header)
    for row in table.rows:
        ws.append(_row(ws, table.columns, row, bold=False))
    if table.totals:
        ws.append(_row(ws, table.columns, table.totals, bold=True))


def _row(ws: Any, columns: tuple[Column, ...], row: tuple[Cell, ...], *, bold: bool) -> list[Any]:
    """A row of values; only cells that need a style become (costly) WriteOnlyCells."""
    cells: list[Any] = []
    for column, value in zip(columns, row, strict=True):
        plain = _value(value)
        styled = (
            bold or column.kind in (Kind.MONEY, Kind.DATE) or (isinstance(value, str) and value[:1] == "=")
        )
        link = column.kind is Kind.LINK and isinstance(value, str) and bool(_SAFE_LINK.match(value))
        if not (styled or link):
            cells.append(plain)
            continue
        cell = WriteOnlyCell(ws, value=plain)
        if column.kind is Kind.MONEY:
            cell.number_format = MONEY_FORMAT
        elif column.kind is Kind.DATE:
            cell.number_format = DATE_FORMAT
        if link:
            cell.hyperlink = str(value)
            cell.font = _LINK
        if isinstance(value, str) and value[:1] == "=":
            cell.data_type = "s"  # a CRM name is data, never a formula
        if bold:
            cell.font = _BOLD
        cells.append(cell)
    return cells


def _value(value: Cell) -> object:
    if isinstance(value, dt.date | Decimal | int) or value is None:
        return value
    return str(value)


def _width(column: Column, index: int, head: list[tuple[Cell, ...]]) -> float:
    """From the first rows (rows made while written are made again for the sheet)."""
    longest = max([len(str(r[index] or "")) for r in head] + [6])
    if column.kind is Kind.MONEY:
        longest = max(longest + 4, 14)
    return float(min(max(longest, len(column.title("zh")) * 2 + 2) + 2, 60))
