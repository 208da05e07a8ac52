"""Table ``runs``: one row per sync run, its counts and how it ended."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from sync.secrets import redact
from sync.state.base import StoreBase, now_iso

__all__ = ["RunsTable"]


class RunsTable(StoreBase):
    """Start, finish and list runs."""

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, who: str = "") -> int:
        with self.transaction():
            row = self._one(
                "INSERT INTO runs (started, status, counts, who, host, pid) VALUES (?, 'running', "
                "'{}', ?, ?, ?) "
                "RETURNING id",
                (now_iso(), who or os.environ.get("USER", ""), socket.gethostname(), os.getpid()),
            )
        assert row is not None
        return int(row["id"])

    def finish_run(self, run_id: int, status: str, counts: dict[str, Any], message: str = "") -> None:
        with self.transaction():
            self._execute(
                "UPDATE runs SET finished = ?, status = ?, counts = ?, message = ? WHERE id = ?",
                (now_iso(), status, json.dumps(counts, ensure_ascii=False), redact(message), run_id),
            )

    def last_runs(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self._all("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        for r in rows:
            r["counts"] = json.loads(r["counts"] or "{}")
        return rows
