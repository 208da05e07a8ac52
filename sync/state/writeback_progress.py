"""Write-back progress per CRM record: what was written, what is due, what the CRM refused.

A SQLite file of its own (``writeback.db`` beside the SQLite state store, or in
``.crmsync/`` for PostgreSQL state): write-back is advisory and must never share a
transaction, a lock or a migration with posting.

States: ``done`` (the CRM took these values), ``retry`` (a transient failure: the CRM was
down or throttling; tried again by every run, however long the outage), ``refused`` (the CRM
said no, e.g. the record is locked; tried again next run until ``max_attempts``), ``gave_up``
(refused ``max_attempts`` times: shown by ``crmsync status`` and ``crmsync failures``, tried
again when the values change or ``crmsync retry`` re-queues it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sync.state.sidecar import open_sidecar
from sync.state.store import now_iso

__all__ = ["Entry", "Progress"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS writeback (
    stream TEXT NOT NULL,
    record_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    fields TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL,
    PRIMARY KEY (stream, record_id)
);
CREATE TABLE IF NOT EXISTS writeback_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"""


@dataclass(frozen=True, slots=True)
class Entry:
    """What was last written to one CRM record, and how often writing failed."""

    stream: str
    record_id: str
    digest: str
    fields: str
    state: str
    attempts: int
    last_error: str
    updated: str


class Progress:
    """The write-back side-file: what each CRM record was given, so nothing is written twice."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_sidecar(path, _SCHEMA, "write-back progress", "writeback.state_file")

    def get(self, stream: str, record_id: str) -> Entry | None:
        row = self._conn.execute(
            "SELECT stream, record_id, digest, fields, state, attempts, last_error, updated FROM writeback "
            "WHERE stream = ? AND record_id = ?",
            (stream, record_id),
        ).fetchone()
        return Entry(*row) if row else None

    def put(  # noqa: PLR0917 - one row's columns, in table order
        self,
        stream: str,
        record_id: str,
        digest: str,
        fields: str,
        state: str,
        attempts: int,
        error: str = "",
    ) -> None:
        self._conn.execute(
            "INSERT INTO writeback (stream, record_id, digest, fields, state, attempts, last_error, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stream, record_id) DO UPDATE SET digest = "
            "excluded.digest, fields = excluded.fields, state = excluded.state, "
            "attempts = excluded.attempts, last_error = excluded.last_error, updated = excluded.updated",
            (stream, record_id, digest, fields, state, attempts, error, now_iso()),
        )

    def problems(self) -> list[Entry]:
        """Records the CRM refused or that were given up on, for reports."""
        rows = self._conn.execute(
            "SELECT stream, record_id, digest, fields, state, attempts, last_error, updated FROM writeback "
            "WHERE state IN ('refused', 'gave_up', 'retry') ORDER BY stream, record_id"
        ).fetchall()
        return [Entry(*r) for r in rows]

    def due(self) -> list[Entry]:
        """Values the CRM has not taken yet and that are still to be tried (retry, refused)."""
        rows = self._conn.execute(
            "SELECT stream, record_id, digest, fields, state, attempts, last_error, updated FROM writeback "
            "WHERE state IN ('refused', 'retry') ORDER BY updated"
        ).fetchall()
        return [Entry(*r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Records per state (done, retry, refused, gave_up)."""
        rows = self._conn.execute("SELECT state, COUNT(*) FROM writeback GROUP BY state").fetchall()
        return {str(state): int(n) for state, n in rows}

    def requeue(self, record_ids: Sequence[str] | None = None) -> int:
        """Given-up values (all, or of these records) are due again, their attempts counted anew."""
        where = "state = 'gave_up'"
        params: tuple[str, ...] = ()
        if record_ids is not None:
            if not record_ids:
                return 0
            where += f" AND record_id IN ({', '.join('?' for _ in record_ids)})"
            params = tuple(record_ids)
        cursor = self._conn.execute(
            f"UPDATE writeback SET state = 'refused', attempts = 0, updated = ? WHERE {where}",
            (now_iso(), *params),
        )
        return int(cursor.rowcount)

    def get_meta(self, name: str) -> str | None:
        row = self._conn.execute("SELECT value FROM writeback_meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO writeback_meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def close(self) -> None:
        self._conn.close()
