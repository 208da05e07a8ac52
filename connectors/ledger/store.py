"""The ledger's SQLite file: schema, migrations, and opening it safely from several processes.

Amounts are stored as integers in the book currency's minor unit (分 for CNY), so totals are
exact SQL sums. WAL lets readers (reports, tests) run beside a writer; writers serialise on
``BEGIN IMMEDIATE`` and wait up to ``busy_timeout`` for each other.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from sync.errors import DestinationUnavailable

__all__ = ["SCHEMA_VERSION", "connect", "connect_readonly"]

SCHEMA_VERSION: Final = 1

_MIGRATIONS: Final[dict[int, str]] = {
    1: """
    CREATE TABLE vouchers (
        id            INTEGER PRIMARY KEY,
        book          TEXT NOT NULL,
        period        TEXT NOT NULL,
        grp           TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        number        TEXT NOT NULL,
        date          TEXT NOT NULL,
        summary       TEXT NOT NULL,
        currency      TEXT NOT NULL,
        external_ref  TEXT NOT NULL,
        voucher_key   TEXT NOT NULL,
        revision      TEXT NOT NULL,
        reversal_of   TEXT,
        source_system TEXT NOT NULL DEFAULT '',
        source_stream TEXT NOT NULL DEFAULT '',
        source_id     TEXT NOT NULL DEFAULT '',
        source_name   TEXT NOT NULL DEFAULT '',
        total_minor   INTEGER NOT NULL,
        posted_at     TEXT NOT NULL,
        UNIQUE (book, period, grp, seq)
    );
    CREATE INDEX vouchers_external_ref ON vouchers (external_ref);
    CREATE TABLE lines (
        voucher_id     INTEGER NOT NULL REFERENCES vouchers (id),
        line_no        INTEGER NOT NULL,
        account        TEXT NOT NULL,
        debit_minor    INTEGER NOT NULL,
        credit_minor   INTEGER NOT NULL,
        currency       TEXT NOT NULL,
        amount_foreign TEXT,
        rate           TEXT,
        dims           TEXT NOT NULL,
        memo           TEXT NOT NULL,
        PRIMARY KEY (voucher_id, line_no)
    ) WITHOUT ROWID;
    CREATE INDEX lines_account ON lines (account);
    """,
}


def connect(path: Path, busy_timeout: float = 30.0) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the ledger; autocommit, explicit transactions."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _migrate(conn)
    except sqlite3.Error as exc:
        raise DestinationUnavailable(
            f"ledger {path} cannot be opened: {exc}",
            hint="check that the file is a crmsync ledger (SQLite) and the folder is writable; "
            "restore it from a backup if it is damaged",
        ) from None
    except OSError as exc:
        raise DestinationUnavailable(
            f"ledger {path} cannot be created: {exc}", hint="check destination.path and folder permissions"
        ) from None
    return conn


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection for queries; the file must exist."""
    if not path.is_file():
        raise DestinationUnavailable(f"ledger {path} does not exist", hint="run `crmsync sync` first")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0, isolation_level=None)
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"ledger schema {version} is newer than this crmsync ({SCHEMA_VERSION})")
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another process may have won
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[target].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
