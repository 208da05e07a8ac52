"""Mapping versions: a short hash of everything that decides what a mapping produces.

A voucher and each record's index row carry the version of the mapping that made them, so
``crmsync status`` can say which stored records an edited mapping has not yet been applied
to (``crmsync remap``). The hash is over meaning, not bytes: the parsed mapping (a comment or
a re-indented file is the same version), the rows of every lookup table it uses (inline or
CSV), the destination profile chosen, the way its source writes amounts, and the chart of
accounts the config names (a chart change can turn a quarantined record into a voucher).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sync.mapping.compiled import CompiledMapping
from sync.money import NumberFormat

__all__ = ["file_digest", "mapping_version"]

#: hex digits kept: 48 bits, ample for telling a handful of versions of one mapping apart
LENGTH = 12


def mapping_version(mapping: CompiledMapping, number_format: NumberFormat | None, chart: str = "") -> str:
    """The version of ``mapping`` as compiled, read with ``number_format``, checked against ``chart``."""
    fmt = number_format or NumberFormat()
    content: dict[str, Any] = {
        "spec": mapping.spec.model_dump(mode="json"),
        "lookups": {name: _rows(lk.table) for name, lk in sorted(mapping.lookups.items())},
        "profile": dict(sorted(mapping.profile.items())),
        "number_format": [fmt.decimal_separator, fmt.grouping],
        "chart": chart,
    }
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:LENGTH]


def file_digest(path: Path | None) -> str:
    """A file's content hash ('' when there is no such file: nothing to tell versions apart by)."""
    if path is None or not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:LENGTH]


def _rows(table: Mapping[str, str]) -> list[list[str]]:
    return [[str(k), str(v)] for k, v in sorted(table.items(), key=lambda kv: str(kv[0]))]
