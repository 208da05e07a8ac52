"""Table ``runs``: one row per sync run, its counts and how it ended."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, replace
from typing import Any

from sync.secrets import redact
from sync.state.base import StoreBase, now_iso

__all__ = ["INTERRUPTED", "Run", "RunsTable", "pid_alive"]


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
    #: when the run last noted it was alive (every few seconds while it commits)
    seen: str | None = None

    @property
    def records_read(self) -> int:
        return int(self.counts.get("read", 0) or 0)

    @property
    def vouchers_posted(self) -> int:
        return int(self.counts.get("vouchers_posted", 0) or 0)

    def public_dict(self) -> dict[str, Any]:
        return {**asdict(self), "records_read": self.records_read, "vouchers_posted": self.vouchers_posted}


class RunsTable(StoreBase):
    """Start, finish and list runs."""

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, who: str = "") -> int:
        with self.transaction():
            if self.holds_lock():  # no other run can be live: a `running` one lost its process
                self._execute(
                    "UPDATE runs SET status = 'interrupted', message = ? WHERE status = 'running'",
                    (INTERRUPTED,),
                )
            now = now_iso()
            row = self._one(
                "INSERT INTO runs (started, status, counts, who, host, pid, seen) VALUES (?, 'running', "
                "'{}', ?, ?, ?, ?) "
                "RETURNING id",
                (now, who or os.environ.get("USER", ""), socket.gethostname(), os.getpid(), now),
            )
        assert row is not None
        self._live_run = int(row["id"])
        return int(row["id"])

    def finish_run(self, run_id: int, status: str, counts: dict[str, Any], message: str = "") -> None:
        self._live_run = None
        with self.transaction():
            now = now_iso()
            self._execute(
                "UPDATE runs SET finished = ?, seen = ?, status = ?, counts = ?, message = ? WHERE id = ?",
                (now, now, status, json.dumps(counts, ensure_ascii=False), redact(message), run_id),
            )

    def last_runs(self, limit: int = 10) -> list[Run]:
        rows = self._all(
            "SELECT id, started, finished, status, counts, who, host, pid, message, seen FROM runs "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        runs = [Run(**{**r, "id": int(r["id"]), "counts": json.loads(r["counts"] or "{}")}) for r in rows]
        return [self._told_apart(run) for run in runs]

    def _told_apart(self, run: Run) -> Run:
        """A `running` run whose process is gone on this host is shown as interrupted now,
        before the next run records it so."""
        if run.status != "running" or run.host != socket.gethostname() or pid_alive(run.pid):
            return run
        return replace(run, status="interrupted", message=INTERRUPTED)


#: why a run is `interrupted`: its process ended without recording how (SIGKILL, power, OOM)
INTERRUPTED = (
    "the process ended without recording the end of the run (killed, crashed or the machine stopped)"
)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
