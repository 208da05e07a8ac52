"""csv: one table per file, UTF-8 with a BOM so Excel on Windows shows Chinese correctly."""

from __future__ import annotations

import csv
import io
from typing import TextIO

from sync.tables.cells import plain
from sync.tables.model import Lang, Table

__all__ = ["to_csv", "write_csv"]


def to_csv(table: Table, lang: Lang = "zh", *, line_end: str = "\r\n") -> str:
    out = io.StringIO()
    write_csv(table, out, lang, line_end=line_end)
    return out.getvalue()


def write_csv(table: Table, out: TextIO, lang: Lang = "zh", *, line_end: str = "\r\n") -> None:
    """Header row, data rows, then the totals row (if any), row by row to ``out``. Money as
    plain text with cents."""
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow([c.title(lang) for c in table.columns])
    for row in table.all_rows():
        writer.writerow([_safe(plain(v, c.kind)) for v, c in zip(row, table.columns, strict=True)])


def _safe(text: str) -> str:
    """Neutralise spreadsheet formulas in text cells (CSV injection): a CRM name is data."""
    if text[:1] in ("=", "+", "@") or (text[:1] == "-" and not _number(text)):
        return "'" + text
    return text


def _number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True
