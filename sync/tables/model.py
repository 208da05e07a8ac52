"""The neutral shape every report has, so one renderer per format serves every report.

A ``Report`` is a title and a list of ``Table``s (an xlsx sheet, an html section, a csv
file). Cells hold Python values (Decimal for money, ``date`` for dates); renderers decide
how each ``Kind`` looks. Column titles exist in Chinese and English; finance in China reads
the Chinese ones, auditors abroad the English ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from sync.money import total

__all__ = ["Cell", "Column", "Kind", "Lang", "Report", "Table", "plain_table"]

Lang = Literal["zh", "en"]
#: what a cell may hold; None is an empty cell
Cell = str | int | Decimal | dt.date | None


class Kind(StrEnum):
    """How a column's cells read: each renderer formats money, dates and links its own way."""

    TEXT = "text"
    MONEY = "money"
    DATE = "date"
    INT = "int"
    LINK = "link"  # a URL shown as a link in html/xlsx


@dataclass(frozen=True, slots=True)
class Column:
    """A column's key (for machines) and its titles in Chinese and English (for people)."""

    key: str
    zh: str
    en: str
    kind: Kind = Kind.TEXT

    def title(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True, slots=True)
class Table:
    """One sheet: named columns, rows in the columns' order, an optional totals row."""

    name: str  # a short ascii id: sheet-file suffix, json key
    zh: str
    en: str
    columns: tuple[Column, ...]
    #: a tuple, or rows made while they are written (a month of voucher lines): renderers iterate
    #: them once per pass and never keep them
    rows: Sequence[tuple[Cell, ...]] = ()
    totals: tuple[Cell, ...] | None = None
    note_zh: str = ""
    note_en: str = ""
    #: the most rows an html page shows (0: all); the page says where the others are
    html_limit: int = 0

    def __post_init__(self) -> None:
        width = len(self.columns)
        made = self.rows if isinstance(self.rows, tuple) else ()  # rows made later are ours, not checked
        for number, row in enumerate((*made, *((self.totals,) if self.totals else ())), 1):
            if len(row) != width:
                raise ValueError(f"table {self.name}: row {number} has {len(row)} cells, expected {width}")

    def title(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en

    def note(self, lang: Lang) -> str:
        return self.note_zh if lang == "zh" else self.note_en

    def column(self, key: str) -> int:
        """The index of a column by key (tests and renderers look cells up by key)."""
        for index, col in enumerate(self.columns):
            if col.key == key:
                return index
        raise KeyError(f"table {self.name} has no column {key!r}")

    def records(self) -> list[dict[str, Cell]]:
        return [dict(zip((c.key for c in self.columns), row, strict=True)) for row in self.rows]

    def all_rows(self) -> Iterator[tuple[Cell, ...]]:
        """The rows, then the totals row (if any)."""
        yield from self.rows
        if self.totals:
            yield self.totals


@dataclass(frozen=True, slots=True)
class Report:
    """A titled bundle of tables with the facts a reader needs to trust it (scope, time)."""

    name: str  # file stem, e.g. "vouchers-2026-11"
    zh: str
    en: str
    tables: tuple[Table, ...]
    generated_at: dt.datetime
    #: (zh label, en label, value) lines shown above the tables: period, as-of date, source …
    facts: tuple[tuple[str, str, str], ...] = field(default=())

    def title(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"report {self.name} has no table {name!r}")


def plain_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> Table:
    """A table of text columns titled by their names (operator listings, not finance reports)."""
    cols = tuple(Column(name, name, name) for name in columns)
    return Table(title, title, title, cols, tuple(tuple(row) for row in rows))


def money_sum(values: Sequence[Decimal]) -> Decimal:
    """Exact sum of Decimals (``sync.money.total``: an inexact sum raises)."""
    return total(values)
