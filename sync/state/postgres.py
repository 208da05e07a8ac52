"""PostgreSQL backend (psycopg 3): same SQL as SQLite, an advisory lock for the run lock.

The schema to use comes from the URL's ``schema`` query parameter (default ``crmsync``) and
is created when missing. The run lock is ``pg_try_advisory_lock`` held on the store's own
session, so a killed run's lock disappears with its connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sync.errors import LockHeld, StateError
from sync.state.diagnosis import postgres_failure
from sync.state.keyring import KeySpec
from sync.state.store import StateStore, now_iso

__all__ = ["PostgresStore", "split_schema"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def split_schema(url: str) -> tuple[str, str]:
    """The libpq URL without our ``schema`` parameter, and that schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), "crmsync")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.username + '@' if parts.username else ''}{host}{port}{parts.path}"


class PostgresStore(StateStore):
    """The state store on PostgreSQL, for more than one machine and for the web console."""

    dialect = "pg"
    for_update_sql = " FOR UPDATE"
    serial_sql = "BIGSERIAL PRIMARY KEY"
    bigint_sql = "BIGINT"

    def __init__(self, url: str, connect_timeout: int = 10, *, key: KeySpec | None = None) -> None:
        import psycopg

        dsn, schema = split_schema(url)
        if not _IDENT.match(schema):
            raise StateError(
                f"state.url schema {schema!r} is not a plain SQL identifier",
                hint="use letters, digits and underscores, e.g. ?schema=crmsync",
            )
        self.schema = schema
        self.where = f"{_safe_url(dsn)} (schema {schema})"
        self._depth = 0
        self._lock_key = int.from_bytes(
            hashlib.sha256(f"crmsync:{schema}".encode()).digest()[:8], "big", signed=True
        )
        self._locked = False
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout)
            with self.transaction():
                # one creator/migrator at a time across processes (CREATE SCHEMA IF NOT EXISTS races)
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key ^ 1,))
                self._conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                self._conn.execute(f'SET search_path TO "{schema}"')
                self._migrate()
            self._init_sealing(key or KeySpec())
        except psycopg.Error as exc:
            raise postgres_failure(self.where, exc, opening=True) from None

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        import psycopg

        if self._waiting:
            self._send_waiting()
        try:
            return self._conn.execute(sql.replace("?", "%s"), tuple(params))
        except psycopg.errors.IntegrityError:
            raise
        except psycopg.Error as exc:
            raise postgres_failure(self.where, exc) from exc

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        import psycopg

        if self._waiting:
            self._send_waiting()
        try:
            with self._conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])
                return int(cur.rowcount)
        except psycopg.errors.IntegrityError:
            raise
        except psycopg.Error as exc:
            raise postgres_failure(self.where, exc) from exc

    @contextmanager
    def _outermost_transaction(self) -> Iterator[None]:
        import psycopg

        try:
            with self._conn.transaction():
                yield
        except psycopg.errors.IntegrityError:
            raise
        except psycopg.Error as exc:  # COMMIT/ROLLBACK on a lost server: not a traceback
            raise postgres_failure(self.where, exc) from exc

    def _migrate(self) -> None:
        # already inside a transaction (see __init__): the nested call joins it
        super()._migrate()

    def acquire_lock(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            row = self._execute("SELECT pg_try_advisory_lock(?)", (self._lock_key,)).fetchone()
            if row and row[0]:
                self._locked = True
                with self.transaction():
                    now = now_iso()
                    self._execute(
                        "INSERT INTO run_lock (id, owner, host, pid, acquired, heartbeat) VALUES (1, "
                        "?, ?, ?, ?, ?) "
                        "ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, host = excluded.host, "
                        "pid = excluded.pid, acquired = excluded.acquired, heartbeat = excluded.heartbeat",
                        (
                            f"{socket.gethostname()}:{os.getpid()}",
                            socket.gethostname(),
                            os.getpid(),
                            now,
                            now,
                        ),
                    )
                return
            if time.monotonic() >= deadline:
                holder = self._one("SELECT host, pid, acquired FROM run_lock WHERE id = 1") or {
                    "host": "?",
                    "pid": "?",
                    "acquired": "?",
                }
                raise LockHeld(
                    f"another crmsync run (pid {holder['pid']} on {holder['host']}, since "
                    f"{holder['acquired']}) "
                    f"holds the lock on state {self.where}",
                    hint="wait for it to finish, or raise state.lock_timeout_seconds to wait longer",
                )
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def size_bytes(self) -> int:
        row = self._one(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS n FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relkind = 'r'",
            (self.schema,),
        )
        return int(row["n"]) if row else 0

    def vacuum(self) -> None:
        tables = self._all(
            "SELECT tablename FROM pg_tables WHERE schemaname = ? ORDER BY tablename", (self.schema,)
        )
        for t in tables:
            self._execute(f'VACUUM (FULL, ANALYZE) "{self.schema}"."{t["tablename"]}"')

    def refresh_statistics(self) -> None:
        tables = self._all(
            "SELECT tablename FROM pg_tables WHERE schemaname = ? ORDER BY tablename", (self.schema,)
        )
        with self.transaction():
            for t in tables:
                self._execute(f'ANALYZE "{self.schema}"."{t["tablename"]}"')

    def holds_lock(self) -> bool:
        return self._locked

    def release_lock(self) -> None:
        if not self._locked:
            return
        self._locked = False
        import psycopg

        # a lost session (server restarted, connection dropped) took its advisory lock with it
        with contextlib.suppress(psycopg.Error):
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))

    def close(self) -> None:
        try:
            if not self._conn.closed:
                self.release_lock()
        finally:
            self._conn.close()
