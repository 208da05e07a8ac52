"""json: tables as lists of objects keyed by column key; money as decimal strings, never numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sync.tables.cells import plain
from sync.tables.model import Kind, Lang, Report, Table

__all__ = ["to_json"]


def _value(value: Any, kind: Kind) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and kind is Kind.INT:
        return value
    if value is None:
        return None
    if isinstance(value, Decimal) or kind in (Kind.MONEY, Kind.DATE):
        return plain(value, kind)
    return str(value) if not isinstance(value, str) else value


def _table(table: Table, lang: Lang) -> dict[str, Any]:
    def obj(row: tuple[Any, ...]) -> dict[str, Any]:
        return {c.key: _value(v, c.kind) for c, v in zip(table.columns, row, strict=True)}

    return {
        "title": table.title(lang),
        "note": table.note(lang),
        "columns": [{"key": c.key, "title": c.title(lang), "kind": c.kind.value} for c in table.columns],
        "rows": [obj(r) for r in table.rows],
        "totals": obj(table.totals) if table.totals else None,
    }


def to_json(report: Report, lang: Lang = "zh") -> str:
    data = {
        "report": report.name,
        "title": report.title(lang),
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "facts": {(zh if lang == "zh" else en): value for zh, en, value in report.facts},
        "tables": {t.name: _table(t, lang) for t in report.tables},
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
