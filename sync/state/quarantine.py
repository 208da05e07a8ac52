"""Table ``quarantine``: records that could not become vouchers, with the raw record and why."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sync.secrets import redact
from sync.state.base import StoreBase, now_iso

__all__ = ["QuarantineTable"]


class QuarantineTable(StoreBase):
    """Put, resolve and list quarantined records."""

    # -- quarantine -----------------------------------------------------------------------

    def quarantine(  # noqa: PLR0917 - the record's identity is four positional parts
        self, mapping: str, source: str, stream: str, record_id: str, record: dict[str, Any], problem: str
    ) -> None:
        now = now_iso()
        self._execute(
            "INSERT INTO quarantine (mapping, source, stream, record_id, record, problem, status, "
            "created, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?) ON CONFLICT (mapping, source, stream, "
            "record_id) DO UPDATE "
            "SET record = excluded.record, problem = excluded.problem, status = 'open', updated = "
            "excluded.updated",
            (
                mapping,
                source,
                stream,
                record_id,
                json.dumps(record, ensure_ascii=False, default=str),
                redact(problem),
                now,
                now,
            ),
        )

    def resolve_quarantine(self, mapping: str, source: str, stream: str, record_id: str) -> None:
        self._execute(
            "UPDATE quarantine SET status = 'resolved', updated = ? WHERE mapping = ? AND source = ? "
            "AND stream = ? AND record_id = ? AND status = 'open'",
            (now_iso(), mapping, source, stream, record_id),
        )

    def open_quarantine_count(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM quarantine WHERE status = 'open'")
        return int(row["n"]) if row else 0

    def open_quarantine(self, ids: Sequence[int] = ()) -> list[dict[str, Any]]:
        rows = self._all("SELECT * FROM quarantine WHERE status = 'open' ORDER BY id")
        if ids:
            rows = [r for r in rows if int(r["id"]) in set(ids)]
        for r in rows:
            r["record"] = json.loads(r["record"])
        return rows
