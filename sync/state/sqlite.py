"""SQLite backend: one file, WAL, ``busy_timeout``, and a lock row guarded by ``BEGIN IMMEDIATE``.

The lock row names its owner (host, pid); a row whose process is gone (same host) or whose
heartbeat is older than ``STALE_AFTER`` (another host) is taken over, so a SIGKILLed run
never blocks the next one.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sync.errors import ConfigurationError, LockHeld, StateError
from sync.state.diagnosis import sqlite_failure
from sync.state.keyring import KeySpec
from sync.state.runs import pid_alive
from sync.state.schema import LATEST
from sync.state.store import StateStore, now_iso

#: the one folder crmsync creates for a state file: its own work folder beside the config
WORK_DIR = ".crmsync"

__all__ = ["SqliteStore"]

STALE_AFTER = 300.0  # seconds without heartbeat before another host's lock is considered dead


class SqliteStore(StateStore):
    """The state store in one SQLite file: the default, for one machine."""

    dialect = "sqlite"
    computes_external_ref = True
    serial_sql = "INTEGER PRIMARY KEY AUTOINCREMENT"
    bigint_sql = "INTEGER"
    blob_sql = "BLOB"

    def __init__(
        self,
        path: Path,
        busy_timeout_ms: int = 30_000,
        *,
        read_only: bool = False,
        key: KeySpec | None = None,
    ) -> None:
        self.path = path
        spec = (key or KeySpec()).with_default_file(path.with_name(path.name + ".key"))
        self.where = str(path)
        self._depth = 0
        self._owner: str | None = None
        self.read_only = read_only and path.is_file()  # no file yet: open it as every command did
        folder = path.parent
        if self.read_only:
            self._open_read_only(busy_timeout_ms)
            self._init_sealing(spec, read_only=True)
            return
        if not folder.is_dir() and not (folder.name == WORK_DIR and folder.parent.is_dir()):
            # a typo'd path must not start a fresh, empty state that posts everything again
            raise ConfigurationError(
                f"state.url: the folder {folder} of the state file does not exist",
                hint="fix the path in state.url, or create the folder if a new state there is meant",
            )
        try:
            folder.mkdir(exist_ok=True)  # only crmsync's own work folder (.crmsync) is made here
            self._conn = sqlite3.connect(
                str(path), isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._wal(busy_timeout_ms / 1000)
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self._init_sealing(spec)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise sqlite_failure(path, exc) from None

    def _open_read_only(self, busy_timeout_ms: int) -> None:
        """For the commands that only read: works on a read-only mount or a file this user may
        not write. ``mode=ro`` first (sees a running sync's commits through the WAL); where
        SQLite cannot even create the WAL index beside the file, ``immutable=1``."""
        from urllib.parse import quote

        uri = f"file:{quote(str(self.path.resolve()))}"
        last: sqlite3.DatabaseError | None = None
        for flags in ("mode=ro", "mode=ro&immutable=1"):
            try:
                self._conn = sqlite3.connect(
                    f"{uri}?{flags}",
                    uri=True,
                    isolation_level=None,
                    timeout=busy_timeout_ms / 1000,
                    check_same_thread=False,
                )
                self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                self._check_schema()
                return
            except sqlite3.DatabaseError as exc:
                last = exc
        assert last is not None
        raise sqlite_failure(self.path, last) from None

    def _check_schema(self) -> None:
        self.created = False
        rows = self._conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        version = int(rows[0] or 0)
        if version != LATEST:
            raise StateError(
                f"state file {self.path} has schema version {version}, this crmsync reads {LATEST}",
                hint="run `crmsync sync` (or any command that writes) once with write access to upgrade it"
                if version < LATEST
                else "upgrade crmsync",
            )

    def _wal(self, timeout: float) -> None:
        """Switch a new file to WAL. Two processes opening a fresh state at once race here, and
        SQLite answers the loser "database is locked" at once, without its busy handler: wait."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self._waiting:
            self._send_waiting()
        try:
            return self._conn.execute(sql, tuple(params))
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            raise sqlite_failure(self.path, exc) from exc

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if self._waiting:
            self._send_waiting()
        try:
            return int(self._conn.executemany(sql, rows).rowcount)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            raise sqlite_failure(self.path, exc) from exc

    @contextmanager
    def _outermost_transaction(self) -> Iterator[None]:
        self._execute("BEGIN" if self.read_only else "BEGIN IMMEDIATE")
        try:
            yield
            if self._owner:
                self.heartbeat()
            self._execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def holds_lock(self) -> bool:
        return self._owner is not None

    def size_bytes(self) -> int:
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(p.stat().st_size for p in (self.path, wal) if p.is_file())

    def vacuum(self) -> None:
        self._execute("VACUUM")
        self._execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def heartbeat(self) -> None:
        if self._owner:
            self._execute(
                "UPDATE run_lock SET heartbeat = ? WHERE id = 1 AND owner = ?", (now_iso(), self._owner)
            )

    def acquire_lock(self, timeout: float) -> None:
        owner = f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns()}"
        deadline = time.monotonic() + timeout
        while True:
            holder = self._try_lock(owner)
            if holder is None:
                self._owner = owner
                return
            if time.monotonic() >= deadline:
                raise LockHeld(
                    f"another crmsync run (pid {holder['pid']} on {holder['host']}, since "
                    f"{holder['acquired']}) "
                    f"holds the lock on state {self.path}",
                    hint="wait for it to finish, or raise state.lock_timeout_seconds to wait longer",
                )
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def _try_lock(self, owner: str) -> dict[str, Any] | None:
        with self.transaction():
            row = self._one("SELECT owner, host, pid, acquired, heartbeat FROM run_lock WHERE id = 1")
            if row is not None and not self._stale(row):
                return row
            now = now_iso()
            self._execute(
                "INSERT INTO run_lock (id, owner, host, pid, acquired, heartbeat) VALUES (1, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, host = excluded.host, "
                "pid = excluded.pid, acquired = excluded.acquired, heartbeat = excluded.heartbeat",
                (owner, socket.gethostname(), os.getpid(), now, now),
            )
            return None

    @staticmethod
    def _stale(row: dict[str, Any]) -> bool:
        if row["host"] == socket.gethostname():
            return not pid_alive(int(row["pid"]))
        import datetime as dt

        beat = dt.datetime.fromisoformat(str(row["heartbeat"]))
        return (dt.datetime.now(dt.UTC) - beat).total_seconds() > STALE_AFTER

    def release_lock(self) -> None:
        if self._owner is None:
            return
        owner, self._owner = self._owner, None
        with self.transaction():
            self._execute("DELETE FROM run_lock WHERE id = 1 AND owner = ?", (owner,))

    def close(self) -> None:
        try:
            self.release_lock()
        finally:
            self._conn.close()
