"""Write-back progress per CRM record: what was written, what is due, what the CRM refused.

A SQLite file of its own (``writeback.db`` beside the SQLite state store, or in
``.crmsync/`` for PostgreSQL state): write-back is advisory and must never share a
transaction, a lock or a migration with posting.

States: ``done`` (the CRM took these values), ``retry`` (a transient failure; tried again
next run), ``refused`` (the CRM said no, e.g. the record is locked; tried again next run
until ``max_attempts``), ``gave_up`` (reported; tried again only when the values change).
"""

from __future__ import annotations

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
