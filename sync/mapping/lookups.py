"""Lookup tables: CRM value -> ERP value (customer codes, bank accounts), inline or from CSV.

Tables are read once when the mapping loads. A missing key is an error or a default, as the
mapping says: a finance product must not invent a customer code silently, so ``error`` is the
default behaviour.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.mapping.expr import EvalError, Evaluator, Scope, render_text

__all__ = ["Lookup", "read_csv_table"]

_MISSING: Any = object()


@dataclass(frozen=True)
class Lookup:
    """One named table; ``default`` (a compiled template) is used when ``on_missing`` is default."""

    name: str
    table: Mapping[str, str]
    origin: str
    on_missing: str = "error"
    default: Evaluator | None = None

    def get(self, key: Any, scope: Scope, fallback: Any = _MISSING) -> Any:
        if isinstance(key, list | tuple | dict):
            raise EvalError(f"lookup {self.name!r}: key {key!r} is a list; pick one value, e.g. first(owner)")
        text = render_text(key)
        found = self.table.get(text, _MISSING)
        if found is not _MISSING:
            return found
        if fallback is not _MISSING:
            return fallback
        if self.on_missing == "default" and self.default is not None:
            saved = scope.vars.get("key", _MISSING)
            scope.vars["key"] = text
            try:
                return self.default(scope)
            finally:
                if saved is _MISSING:
                    del scope.vars["key"]
                else:
                    scope.vars["key"] = saved
        raise EvalError(
            f"lookup {self.name!r} has no entry for {text!r} ({self.origin})",
            hint=f"add a row for {text!r} to {self.origin}, or give the lookup `on_missing: default` "
            "and a `default:`",
        )


def read_csv_table(path: Path, key_column: str, value_column: str) -> dict[str, str]:
    """Read a two-column mapping out of a UTF-8 CSV (BOM tolerated: Excel writes one)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        for wanted in (key_column, value_column):
            if wanted not in columns:
                raise ValueError(
                    f"column {wanted!r} not in {path.name} (columns: {', '.join(columns) or 'none'})"
                )
        table: dict[str, str] = {}
        for row_no, row in enumerate(reader, start=2):
            key = (row.get(key_column) or "").strip()
            if not key:
                continue
            if key in table:
                raise ValueError(f"{path.name} line {row_no}: key {key!r} appears twice")
            table[key] = (row.get(value_column) or "").strip()
    return table
