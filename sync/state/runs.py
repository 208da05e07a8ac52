"""Table ``runs``: one row per sync run, its counts and how it ended."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from typing import Any

from sync.secrets import redact
from sync.state.base import StoreBase, now_iso

__all__ = ["Run", "RunsTable"]


@dataclass(frozen=True, slots=True)
class Run:
    """One run as recorded: when, how it ended, its counts, and who ran it where."""

    id: int
    started: str
    finished: str | None
    status: str
    counts: dict[str, Any]
    who: str
    host: str
    pid: int
    message: str

    def public_dict(self) -> dict[str, Any]:
        return asdict(self)


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

    def last_runs(self, limit: int = 10) -> list[Run]:
        rows = self._all(
            "SELECT id, started, finished, status, counts, who, host, pid, message FROM runs "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [Run(**{**r, "id": int(r["id"]), "counts": json.loads(r["counts"] or "{}")}) for r in rows]
