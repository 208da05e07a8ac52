"""The base of the state store: connection plumbing, nested transactions, migrations.

Kept apart from the table modules (runs, cursors, outbox, records, quarantine, control,
decisions, audit) so that each of those holds only its own table's queries.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Self

from sync.errors import StateError
from sync.state.schema import LATEST, MIGRATIONS

__all__ = ["LockHolder", "StoreBase", "now_iso"]

#: seconds between two notes that a run is alive (``runs.seen``)
TOUCH_EVERY = 5.0


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The run lock's row: which process on which host took it when, and its last heartbeat."""

    owner: str
    host: str
    pid: int
    acquired: str
    heartbeat: str


_second: list[Any] = [None, ""]  # the last whole second formatted, and its text


def now_iso() -> str:
    """Now in UTC, to the millisecond, as ISO 8601 (``2026-12-04T22:38:14.892+00:00``).

    Called for every row written; formatting the second once and adding the milliseconds
    costs a tenth of ``datetime.isoformat`` and gives the same text.
    """
    ms = time.time_ns() // 1_000_000
    second, milli = divmod(ms, 1000)
    if _second[0] != second:
        _second[0], _second[1] = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_second[1]}.{milli:03d}+00:00"


class StoreBase:
    """The plumbing every table module builds on: statements, transactions, migrations.

    A backend (SQLite, PostgreSQL) subclasses the full ``StateStore`` and supplies
    ``_execute``, the outermost transaction and the run lock; the table modules supply the
    queries, written once for both.
    """

    #: a human description of where the state lives (no secrets), for messages
    where: str = ""
    dialect: str = ""
    #: appended to a SELECT that must lock the row it reads until the transaction ends
    #: (PostgreSQL; SQLite's write transaction is already exclusive)
    for_update_sql: str = ""
    serial_sql: str = ""
    bigint_sql: str = "BIGINT"
    blob_sql: str = "BYTEA"
    #: this process made the store (no schema was there): a run says so, with where it is
    created: bool = False

    # -- plumbing the backends supply -----------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:  # returns a cursor
        raise NotImplementedError

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """One statement for many parameter rows; returns the rows it changed in all."""
        return sum(int(self._execute(sql, row).rowcount) for row in rows)

    _depth: int = 0

    # -- writes sent together ---------------------------------------------------------------
    # The engine writes four rows per record (source copy, voucher, head, index row). Inside a
    # transaction those inserts wait here and go out as one ``executemany`` per statement, when
    # the transaction commits or just before any other statement runs, so every read still sees
    # every write before it. Rows of one table keep their order; only statements on different
    # tables are regrouped. A rolled-back transaction drops what waited with it.

    _waiting: list[tuple[str, str, list[tuple[Any, ...]]]] | None = None

    def _write_later(self, table: str, sql: str, params: tuple[Any, ...]) -> None:
        """Run ``sql`` (an INSERT/UPSERT into ``table``) with the next batch, or now outside a transaction."""
        if not self._depth:
            self._execute(sql, params)
            return
        waiting = self._waiting
        if waiting is None:
            waiting = self._waiting = []
        for t, s, rows in waiting:
            if t == table:
                if s == sql:
                    rows.append(params)
                    return
                self._send_waiting()  # another statement on the same table: keep the order
                waiting = self._waiting = []
                break
        waiting.append((table, sql, [params]))

    def _send_waiting(self) -> None:
        """Send the waiting writes (called by the backends before any statement, and at commit)."""
        waiting, self._waiting = self._waiting, None
        for _, sql, rows in waiting or ():
            self._execute_many(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction; commits on success, rolls back on error (nests: joins the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        committed = False
        try:
            with self._outermost_transaction():
                yield
                self._send_waiting()
                self._touch_run()
            committed = True
        finally:
            self._depth = 0
            self._waiting = None
            self._forget_ahead()
            self._transaction_ended(committed)

    #: the run this store's process is running (set by ``start_run``), and when it last said so
    _live_run: int | None = None
    _last_touch: float = 0.0

    def _touch_run(self) -> None:
        """Note every few seconds, in a commit that happens anyway, that the run is alive."""
        if self._live_run is None:
            return
        now = time.monotonic()
        if now - self._last_touch < TOUCH_EVERY:
            return
        self._last_touch = now
        self._execute("UPDATE runs SET seen = ? WHERE id = ?", (now_iso(), self._live_run))

    def _forget_ahead(self) -> None:
        """Drop what was read ahead for the transaction that ended (``RecordsTable.prefetch``)."""

    def _transaction_ended(self, committed: bool) -> None:
        """Keep or drop what a table remembered of the transaction (``MappingRefsTable``)."""

    def holds_lock(self) -> bool:
        """Whether this store's process holds the run lock (no other run can be live then)."""
        return False

    def _outermost_transaction(self) -> AbstractContextManager[None]:
        """The backend's real BEGIN … COMMIT/ROLLBACK; ``transaction`` handles nesting."""
        raise NotImplementedError

    def acquire_lock(self, timeout: float) -> None:
        raise NotImplementedError

    def release_lock(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def size_bytes(self) -> int:
        """How much disk the store takes (SQLite: the file and its WAL; PostgreSQL: its tables)."""
        raise NotImplementedError

    def vacuum(self) -> None:
        """Give the space of deleted and rewritten rows back to the file system."""
        raise NotImplementedError

    def refresh_statistics(self) -> None:
        """Tell the query planner how big the tables have become (after a run that wrote many rows).

        SQLite plans well without: nothing to do. PostgreSQL plans from statistics that only
        autovacuum refreshes, some time later; until then it takes a table just filled with
        100,000 rows for an empty one and joins them row by row (a check that takes 10 ms takes
        minutes).
        """

    def heartbeat(self) -> None:
        """Refresh the lock's heartbeat (call inside a transaction)."""

    def lock_holder(self) -> LockHolder | None:
        """Who last took the run lock, if anyone (the row stays after a PostgreSQL run ends)."""
        row = self._one("SELECT owner, host, pid, acquired, heartbeat FROM run_lock WHERE id = 1")
        if row is None:
            return None
        return LockHolder(row["owner"], row["host"], int(row["pid"]), row["acquired"], row["heartbeat"])

    # -- helpers --------------------------------------------------------------------------

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self._execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        cur = self._execute(sql, params)
        row = cur.fetchone()
        if row is None:
            return None
        cols = [d[0] for d in cur.description]
        return dict(zip(cols, row, strict=True))

    @contextmanager
    def locked(self, timeout: float) -> Iterator[None]:
        self.acquire_lock(timeout)
        try:
            yield
        finally:
            self.release_lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- migrations -----------------------------------------------------------------------

    def _migrate(self) -> None:
        with self.transaction():
            self._execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "applied TEXT NOT NULL)"
            )
            done = {r["version"] for r in self._all("SELECT version FROM schema_migrations")}
            self.created = not done
            if done and max(done) > LATEST:
                raise StateError(
                    f"state store {self.where} has schema version {max(done)}, newer than this crmsync "
                    f"understands ({LATEST})",
                    hint="upgrade crmsync, or point state.url at another store",
                )
            for version in sorted(MIGRATIONS):
                if version in done:
                    continue
                for statement in MIGRATIONS[version]:
                    if isinstance(statement, dict):  # differs per backend; used verbatim
                        if self.dialect in statement:  # a backend it does not name skips it
                            self._execute(statement[self.dialect])
                        continue
                    self._execute(
                        statement.format(serial=self.serial_sql, bigint=self.bigint_sql, blob=self.blob_sql)
                    )
                self._execute(
                    "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)", (version, now_iso())
                )

    def schema_version(self) -> int:
        row = self._one("SELECT MAX(version) AS v FROM schema_migrations")
        return int(row["v"]) if row and row["v"] is not None else 0
