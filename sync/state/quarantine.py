"""Table ``quarantine``: records that could not become vouchers, with the raw record and why."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sync.secrets import redact
from sync.state.base import StoreBase, now_iso

__all__ = ["QuarantineEntry", "QuarantineTable"]


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """An open quarantine entry: the raw record, the mapping that refused it, and why."""

    id: int
    mapping: str
    source: str
    stream: str
    record_id: str
    record: dict[str, Any]
    problem: str
    status: str
    created: str
    updated: str


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

    def open_quarantine(self, ids: Sequence[int] = ()) -> list[QuarantineEntry]:
        rows = self._all(
            "SELECT id, mapping, source, stream, record_id, record, problem, status, created, updated "
            "FROM quarantine WHERE status = 'open' ORDER BY id"
        )
        wanted = set(ids)
        return [
            QuarantineEntry(**{**r, "id": int(r["id"]), "record": json.loads(r["record"])})
            for r in rows
            if not wanted or int(r["id"]) in wanted
        ]
