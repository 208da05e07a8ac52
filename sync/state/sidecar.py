"""Small SQLite files of their own, beside the state store, for advisory bookkeeping.

Write-back progress and the reminders' sent log must never share a transaction, a lock or
a migration with posting, so each keeps its own file. Opening one is the same every time:
create the folder, autocommit, WAL (readers never block the writer), create the schema if
missing, and turn any failure into a ``StateError`` naming the file and the config key.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sync.errors import StateError

__all__ = ["open_sidecar"]


def open_sidecar(path: Path, schema: str, what: str, config_key: str) -> sqlite3.Connection:
    """An autocommit WAL connection to ``path`` with ``schema`` (one or more statements) applied.

    ``what`` names the file in the error ("write-back progress"); ``config_key`` is where
    the user sets its path ("writeback.state_file").
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(schema)
    except (sqlite3.Error, OSError) as exc:
        raise StateError(
            f"{what} {path} cannot be used: {exc}",
            hint=f"check {config_key} and the folder's permissions",
        ) from None
    return conn
