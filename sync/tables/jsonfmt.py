"""json: tables as lists of objects keyed by column key; money as decimal strings, never numbers."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any, TextIO

from sync.tables.cells import plain
from sync.tables.model import Kind, Lang, Report, Table

__all__ = ["to_json", "write_json"]


def _value(value: Any, kind: Kind) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and kind is Kind.INT:
        return value
    if value is None:
        return None
    if isinstance(value, Decimal) or kind in (Kind.MONEY, Kind.DATE):
        return plain(value, kind)
    return str(value) if not isinstance(value, str) else value


def _row(table: Table, row: tuple[Any, ...]) -> dict[str, Any]:
    return {c.key: _value(v, c.kind) for c, v in zip(table.columns, row, strict=True)}


def _dump(value: Any, depth: int) -> str:
    """``value`` as indented JSON, nested ``depth`` levels into the document."""
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + "  " * depth)


def _write_table(table: Table, lang: Lang, out: TextIO) -> None:
    head = {
        "title": table.title(lang),
        "note": table.note(lang),
        "columns": [{"key": c.key, "title": c.title(lang), "kind": c.kind.value} for c in table.columns],
    }
    out.write("{\n")
    for key, value in head.items():
        out.write(f"      {json.dumps(key)}: {_dump(value, 3)},\n")
    out.write('      "rows": [')
    for number, row in enumerate(table.rows):
        out.write(("," if number else "") + "\n        " + _dump(_row(table, row), 4))
    out.write("\n      ]," if table.rows else "],")
    totals = _row(table, table.totals) if table.totals else None
    out.write(f'\n      "totals": {_dump(totals, 3)}\n    }}')


def write_json(report: Report, out: TextIO, lang: Lang = "zh") -> None:
    """The report as one JSON document, written a row at a time (the same document
    ``json.dumps(…, indent=2)`` would give)."""
    head = {
        "report": report.name,
        "title": report.title(lang),
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "facts": {(zh if lang == "zh" else en): value for zh, en, value in report.facts},
    }
    out.write("{\n")
    for key, value in head.items():
        out.write(f"  {json.dumps(key)}: {_dump(value, 1)},\n")
    out.write('  "tables": {')
    for number, table in enumerate(report.tables):
        out.write(("," if number else "") + f"\n    {json.dumps(table.name, ensure_ascii=False)}: ")
        _write_table(table, lang, out)
    out.write("\n  }\n}\n" if report.tables else "}\n}\n")


def to_json(report: Report, lang: Lang = "zh") -> str:
    out = io.StringIO()
    write_json(report, out, lang)
    return out.getvalue()
