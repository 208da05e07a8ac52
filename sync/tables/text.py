"""text: a table on a terminal (rich), the fourth face of the same ``Table`` as csv/json/xlsx/html.

Operator commands (``vouchers``, ``failures``, ``status``, ``reconcile``) print through this;
money right-aligned with thousands separators, as finance reads it. Off a terminal the width
is fixed, so piped output does not wrap at 80 columns.
"""

from __future__ import annotations

import io
import sys

from sync.tables.cells import pretty
from sync.tables.model import Kind, Lang, Table

__all__ = ["to_text"]

_RIGHT = (Kind.MONEY, Kind.INT)


def to_text(table: Table, lang: Lang = "en", *, width: int | None = None) -> str:
    """The table as text, its title above it and its note below it."""
    from rich.console import Console
    from rich.table import Table as RichTable

    rich = RichTable(title=table.title(lang) or None, show_lines=False)
    for col in table.columns:
        rich.add_column(col.title(lang), overflow="fold", justify="right" if col.kind in _RIGHT else "left")
    for row in table.rows:
        rich.add_row(*(pretty(v, c.kind) for v, c in zip(row, table.columns, strict=True)))
    if table.totals:
        rich.add_row(
            *(pretty(v, c.kind) for v, c in zip(table.totals, table.columns, strict=True)), style="bold"
        )
    out = io.StringIO()
    tty = width is None and sys.stdout.isatty()
    console = Console(file=out, width=None if tty else (width or 200), force_terminal=False)
    console.print(rich)
    if table.note(lang):
        console.print(table.note(lang))
    return out.getvalue()
