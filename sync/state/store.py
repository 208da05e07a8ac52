"""The state store: one interface, the SQL written once; backends differ only in plumbing.

Everything the engine must not lose lives here: runs, source cursors, the voucher outbox,
the record index (which voucher a record produced, so edits and voids know what to
reverse), summarisation contributions, the quarantine, control flags and the run lock.
Backends (SQLite, PostgreSQL) supply the connection, the write transaction and the lock;
this class supplies every query, so both behave identically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from sync.errors import StateError
from sync.secrets import redact
from sync.state.schema import LATEST, MIGRATIONS
from sync.state.status import Status, TransitionRefused, sources_of

__all__ = ["OutboxRow", "StateStore", "now_iso", "payload_hash"]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def payload_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One voucher (or reversal) in the outbox, as stored."""

    seq: int
    key: str
    revision: str
    external_ref: str
    mapping: str
    kind: str
    record_ids: list[str]
    source_system: str
    source_stream: str
    source_id: str
    status: Status
    payload: str
    payload_hash: str
    total: str
    voucher_date: str
    erp_id: str | None
    erp_number: str | None
    attempts: int
    last_error: str
    created: str
    updated: str
    posted: str | None
    reversal_of: str | None
    depends_on: str | None
    reversal_style: str
    run_id: int | None
    run_records: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OutboxRow:
        data = dict(row)
        data["record_ids"] = json.loads(data["record_ids"])
        data["status"] = Status(data["status"])
        return cls(**data)

    def public_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "revision": self.revision,
            "external_ref": self.external_ref,
            "kind": self.kind,
            "status": self.status,
            "mapping": self.mapping,
            "date": self.voucher_date,
            "total": self.total,
            "erp_id": self.erp_id,
            "erp_number": self.erp_number,
            "source": {"system": self.source_system, "stream": self.source_stream, "id": self.source_id},
            "record_ids": self.record_ids,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created": self.created,
            "posted": self.posted,
            "reversal_of": self.reversal_of,
        }


_OUTBOX_COLS = (
    "seq, key, revision, external_ref, mapping, kind, record_ids, source_system, source_stream, source_id, "
    "status, payload, payload_hash, total, voucher_date, erp_id, erp_number, attempts, last_error, created, "
    "updated, posted, reversal_of, depends_on, reversal_style, run_id, run_records"
)


class StateStore:
    """Base class: every query; subclasses provide connect/transaction/lock."""

    #: a human description of where the state lives (no secrets), for messages
    where: str = ""
    dialect: str = ""
    serial_sql: str = ""
    bigint_sql: str = "BIGINT"

    # -- plumbing the backends supply -----------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:  # returns a cursor
        raise NotImplementedError

    _depth: int = 0

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
        try:
            with self._outermost_transaction():
                yield
        finally:
            self._depth = 0

    def _outermost_transaction(self) -> AbstractContextManager[None]:
        """The backend's real BEGIN … COMMIT/ROLLBACK; ``transaction`` handles nesting."""
        raise NotImplementedError

    def acquire_lock(self, timeout: float) -> None:
        raise NotImplementedError

    def release_lock(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def heartbeat(self) -> None:
        """Refresh the lock's heartbeat (call inside a transaction)."""

    def lock_holder(self) -> dict[str, Any] | None:
        """Who last took the run lock (owner, host, pid, acquired, heartbeat), if anyone."""
        return self._one("SELECT owner, host, pid, acquired, heartbeat FROM run_lock WHERE id = 1")

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

    def __enter__(self) -> StateStore:
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
                        self._execute(statement[self.dialect])
                        continue
                    self._execute(statement.format(serial=self.serial_sql, bigint=self.bigint_sql))
                self._execute(
                    "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)", (version, now_iso())
                )

    def schema_version(self) -> int:
        row = self._one("SELECT MAX(version) AS v FROM schema_migrations")
        return int(row["v"]) if row and row["v"] is not None else 0

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

    # -- cursors --------------------------------------------------------------------------

    def get_cursor(self, source: str, stream: str) -> dict[str, Any] | None:
        row = self._one("SELECT state FROM cursors WHERE source = ? AND stream = ?", (source, stream))
        if row is None:
            return None
        state: dict[str, Any] = json.loads(row["state"])
        return state

    def set_cursor(self, source: str, stream: str, state: dict[str, Any]) -> None:
        """Store a stream's Airbyte state; call inside the transaction that commits its records."""
        self._execute(
            "INSERT INTO cursors (source, stream, state, updated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (source, stream) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            (source, stream, json.dumps(state, ensure_ascii=False, default=str), now_iso()),
        )

    def cursors(self) -> list[dict[str, Any]]:
        rows = self._all("SELECT source, stream, state, updated FROM cursors ORDER BY source, stream")
        for r in rows:
            r["state"] = json.loads(r["state"])
        return rows

    # -- heads: the live revision of each voucher key --------------------------------------

    def get_head(self, key: str) -> dict[str, Any] | None:
        return self._one("SELECT key, revision, content FROM heads WHERE key = ?", (key,))

    def set_head(self, key: str, revision: str, content: str) -> None:
        self._execute(
            "INSERT INTO heads (key, revision, content) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET revision = excluded.revision, content = excluded.content",
            (key, revision, content),
        )

    def drop_head(self, key: str) -> None:
        self._execute("DELETE FROM heads WHERE key = ?", (key,))

    # -- outbox ---------------------------------------------------------------------------

    def insert_voucher(
        self,
        *,
        key: str,
        revision: str,
        mapping: str,
        kind: str,
        record_ids: list[str],
        source: tuple[str, str, str],
        payload: str,
        total: str,
        voucher_date: str,
        reversal_of: str | None = None,
        depends_on: str | None = None,
        reversal_style: str = "red",
        run_id: int | None = None,
        run_records: int = 0,
        status: Status = Status.PENDING,
    ) -> None:
        now = now_iso()
        self._execute(
            "INSERT INTO outbox (key, revision, external_ref, mapping, kind, record_ids, source_system, "
            "source_stream, source_id, status, payload, payload_hash, total, voucher_date, created, updated, "
            "reversal_of, depends_on, reversal_style, run_id, run_records) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                revision,
                f"{key}#{revision}",
                mapping,
                kind,
                json.dumps(record_ids, ensure_ascii=False),
                source[0],
                source[1],
                source[2],
                Status(status).value,
                payload,
                payload_hash(payload),
                total,
                voucher_date,
                now,
                now,
                reversal_of,
                depends_on,
                reversal_style,
                run_id,
                run_records,
            ),
        )

    def get_voucher(self, key: str, revision: str) -> OutboxRow | None:
        row = self._one(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE key = ? AND revision = ?", (key, revision))
        return None if row is None else OutboxRow.from_row(row)

    def get_by_ref(self, external_ref: str) -> OutboxRow | None:
        row = self._one(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE external_ref = ?", (external_ref,))
        return None if row is None else OutboxRow.from_row(row)

    def revisions_of(self, key: str) -> list[str]:
        return [r["revision"] for r in self._all("SELECT revision FROM outbox WHERE key = ?", (key,))]

    def attach_run(self, external_ref: str, run_id: int, records: int) -> None:
        """Count ``records`` read in this run against an existing outbox row (for the summary)."""
        self._execute(
            "UPDATE outbox SET run_records = CASE WHEN run_id = ? THEN run_records + ? ELSE ? END, "
            "run_id = ? WHERE external_ref = ?",
            (run_id, records, records, run_id, external_ref),
        )

    def transition(
        self,
        external_ref: str,
        to: Status,
        *,
        expected: Collection[Status] | None = None,
        error: str | None = None,
        erp_id: str | None = None,
        erp_number: str | None = None,
        attempt: bool = False,
    ) -> None:
        """Move one voucher to ``to``: a compare-and-set, never an overwrite.

        The voucher must stand in one of the statuses from which the state machine allows
        ``to`` (narrowed to ``expected`` when given); otherwise nothing changes and
        ``TransitionRefused`` names where it stands.
        """
        allowed = sources_of(to) if expected is None else sources_of(to) & frozenset(expected)
        now = now_iso()
        sets = ["status = ?", "updated = ?"]
        params: list[Any] = [to.value, now]
        if error is not None:
            sets.append("last_error = ?")
            params.append(redact(error))  # an ERP may echo a credential in its message
        if erp_id is not None:
            sets += ["erp_id = ?", "erp_number = ?", "posted = ?"]
            params += [erp_id, erp_number or "", now]
        if attempt:
            sets.append("attempts = attempts + 1")
        marks = ", ".join("?" for _ in allowed) or "NULL"
        params += [external_ref, *sorted(s.value for s in allowed)]
        cur = self._execute(
            f"UPDATE outbox SET {', '.join(sets)} WHERE external_ref = ? AND status IN ({marks})", params
        )
        if cur.rowcount != 1:
            row = self._one("SELECT status FROM outbox WHERE external_ref = ?", (external_ref,))
            raise TransitionRefused(external_ref, None if row is None else str(row["status"]), to)

    def approve(self, external_ref: str) -> bool:
        """awaiting_approval -> pending if the voucher still waits; False when it no longer does.

        Compare-and-set only, so approving needs no run lock: a voucher that a sync
        superseded after the caller listed it no longer matches and stays superseded.
        """
        try:
            self.transition(external_ref, Status.PENDING, expected={Status.AWAITING_APPROVAL})
        except TransitionRefused:
            return False
        return True

    def rows_with_status(self, status: Status, limit: int = 1000, after_seq: int = 0) -> list[OutboxRow]:
        rows = self._all(
            f"SELECT {_OUTBOX_COLS} FROM outbox WHERE status = ? AND seq > ? ORDER BY seq LIMIT ?",
            (Status(status).value, after_seq, limit),
        )
        return [OutboxRow.from_row(r) for r in rows]

    def ready_batch(self, limit: int, after_seq: int) -> list[OutboxRow]:
        """Pending rows whose dependency (the reversal that must go first) has taken effect."""
        rows = self._all(
            f"SELECT {', '.join('o.' + c.strip() for c in _OUTBOX_COLS.split(','))} FROM outbox o "
            "LEFT JOIN outbox d ON d.external_ref = o.depends_on "
            "WHERE o.status = ? AND o.seq > ? AND (o.depends_on IS NULL OR d.status IN (?, ?, ?)) "
            "ORDER BY o.seq LIMIT ?",
            (
                Status.PENDING.value,
                after_seq,
                Status.POSTED.value,
                Status.SUPERSEDED.value,
                Status.REVERSED.value,
                limit,
            ),
        )
        return [OutboxRow.from_row(r) for r in rows]

    def reversal_for(self, external_ref: str) -> OutboxRow | None:
        row = self._one(
            f"SELECT {_OUTBOX_COLS} FROM outbox WHERE reversal_of = ? AND kind = 'reversal'", (external_ref,)
        )
        return None if row is None else OutboxRow.from_row(row)

    def list_vouchers(
        self,
        *,
        status: str | None = None,
        since: str | None = None,
        source_id: str | None = None,
        limit: int | None = None,
    ) -> list[OutboxRow]:
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if status:
            where.append("status = ?")
            params.append(status)
        if since:
            where.append("voucher_date >= ?")
            params.append(since)
        if source_id:
            where.append("(source_id = ? OR record_ids LIKE ?)")
            params += [source_id, f'%"{source_id}"%']
        sql = f"SELECT {_OUTBOX_COLS} FROM outbox WHERE {' AND '.join(where)} ORDER BY seq DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [OutboxRow.from_row(r) for r in self._all(sql, params)]

    def count_status(self, status: Status) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM outbox WHERE status = ?", (Status(status).value,))
        return int(row["n"]) if row else 0

    def rows_updated_since(self, since: str, statuses: Sequence[str]) -> list[OutboxRow]:
        """Rows in ``statuses`` whose row changed at or after ``since`` (UTC ISO), oldest seq first.

        For readers that follow the outbox incrementally (write-back to the CRM, issue 8).
        """
        marks = ", ".join("?" for _ in statuses)
        rows = self._all(
            f"SELECT {_OUTBOX_COLS} FROM outbox WHERE updated >= ? AND status IN ({marks}) ORDER BY seq",
            (since, *statuses),
        )
        return [OutboxRow.from_row(r) for r in rows]

    def counts_by_status(self) -> dict[str, int]:
        return {
            r["status"]: int(r["n"])
            for r in self._all("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status ORDER BY status")
        }

    def run_outcomes(self, run_id: int) -> dict[Status, int]:
        """Records read in ``run_id`` per final status of the voucher they were counted against."""
        return {
            Status(r["status"]): int(r["n"] or 0)
            for r in self._all(
                "SELECT status, SUM(run_records) AS n FROM outbox WHERE run_id = ? GROUP BY status", (run_id,)
            )
        }

    def retry_failed(self, keys: Sequence[str] = ()) -> int:
        """failed -> pending (all, or those whose key or external ref is named)."""
        with self.transaction():
            if keys:
                n = 0
                for k in keys:
                    cur = self._execute(
                        "UPDATE outbox SET status = ?, updated = ? WHERE status = ? "
                        "AND (key = ? OR external_ref = ?)",
                        (Status.PENDING.value, now_iso(), Status.FAILED.value, k, k),
                    )
                    n += cur.rowcount
                return n
            cur = self._execute(
                "UPDATE outbox SET status = ?, updated = ? WHERE status = ?",
                (Status.PENDING.value, now_iso(), Status.FAILED.value),
            )
            return int(cur.rowcount)

    # -- record index ---------------------------------------------------------------------

    def get_record(
        self, mapping: str, source: str, stream: str, record_id: str
    ) -> tuple[list[str], list[str]]:
        row = self._one(
            "SELECT voucher_keys, group_keys FROM record_index WHERE mapping = ? AND source = ? "
            "AND stream = ? AND record_id = ?",
            (mapping, source, stream, record_id),
        )
        if row is None:
            return [], []
        return json.loads(row["voucher_keys"]), json.loads(row["group_keys"])

    def put_record(  # noqa: PLR0917 - the record's identity is four positional parts
        self,
        mapping: str,
        source: str,
        stream: str,
        record_id: str,
        voucher_keys: list[str],
        group_keys: list[str],
    ) -> None:
        self._execute(
            "INSERT INTO record_index (mapping, source, stream, record_id, voucher_keys, group_keys, "
            "updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mapping, source, stream, record_id) DO UPDATE SET "
            "voucher_keys = excluded.voucher_keys, group_keys = excluded.group_keys, updated = "
            "excluded.updated",
            (
                mapping,
                source,
                stream,
                record_id,
                json.dumps(voucher_keys, ensure_ascii=False),
                json.dumps(group_keys, ensure_ascii=False),
                now_iso(),
            ),
        )

    # -- summarisation --------------------------------------------------------------------

    def get_contribution(self, mapping: str, group_key: str, record_id: str) -> str | None:
        row = self._one(
            "SELECT payload FROM contributions WHERE mapping = ? AND group_key = ? AND record_id = ?",
            (mapping, group_key, record_id),
        )
        return None if row is None else str(row["payload"])

    def put_contribution(self, mapping: str, group_key: str, record_id: str, payload: str) -> None:
        self._execute(
            "INSERT INTO contributions (mapping, group_key, record_id, payload) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (mapping, group_key, record_id) DO UPDATE SET payload = excluded.payload",
            (mapping, group_key, record_id, payload),
        )

    def remove_contribution(self, mapping: str, group_key: str, record_id: str) -> None:
        self._execute(
            "DELETE FROM contributions WHERE mapping = ? AND group_key = ? AND record_id = ?",
            (mapping, group_key, record_id),
        )

    def group_members(self, mapping: str, group_key: str) -> list[tuple[str, str]]:
        return [
            (r["record_id"], r["payload"])
            for r in self._all(
                "SELECT record_id, payload FROM contributions WHERE mapping = ? AND group_key = ? "
                "ORDER BY record_id",
                (mapping, group_key),
            )
        ]

    def mark_group_dirty(self, mapping: str, group_key: str, reversal_style: str, records: int) -> None:
        self._execute(
            "INSERT INTO groups_dirty (mapping, group_key, reversal_style, run_records) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (mapping, group_key) DO UPDATE SET reversal_style = excluded.reversal_style, "
            "run_records = groups_dirty.run_records + excluded.run_records",
            (mapping, group_key, reversal_style, records),
        )

    def dirty_groups(self, limit: int = 500) -> list[dict[str, Any]]:
        return self._all(
            "SELECT mapping, group_key, reversal_style, run_records FROM groups_dirty "
            "ORDER BY mapping, group_key LIMIT ?",
            (limit,),
        )

    def clear_dirty_group(self, mapping: str, group_key: str) -> None:
        self._execute("DELETE FROM groups_dirty WHERE mapping = ? AND group_key = ?", (mapping, group_key))

    # -- quarantine -----------------------------------------------------------------------

    def quarantine(  # noqa: PLR0917 - the record's identity is four positional parts
        self, mapping: str, source: str, stream: str, record_id: str, record: dict[str, Any], problem: str
    ) -> None:
        now = now_iso()
        self._execute(
            "INSERT INTO quarantine (mapping, source, stream, record_id, record, problem, status, "
            "created, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?) ON CONFLICT (mapping, source, stream, "
            "record_id) DO UPDATE "
            "SET record = excluded.record, problem = excluded.problem, status = 'open', updated = "
            "excluded.updated",
            (
                mapping,
                source,
                stream,
                record_id,
                json.dumps(record, ensure_ascii=False, default=str),
                redact(problem),
                now,
                now,
            ),
        )

    def resolve_quarantine(self, mapping: str, source: str, stream: str, record_id: str) -> None:
        self._execute(
            "UPDATE quarantine SET status = 'resolved', updated = ? WHERE mapping = ? AND source = ? "
            "AND stream = ? AND record_id = ? AND status = 'open'",
            (now_iso(), mapping, source, stream, record_id),
        )

    def open_quarantine_count(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM quarantine WHERE status = 'open'")
        return int(row["n"]) if row else 0

    def open_quarantine(self, ids: Sequence[int] = ()) -> list[dict[str, Any]]:
        rows = self._all("SELECT * FROM quarantine WHERE status = 'open' ORDER BY id")
        if ids:
            rows = [r for r in rows if int(r["id"]) in set(ids)]
        for r in rows:
            r["record"] = json.loads(r["record"])
        return rows

    # -- control --------------------------------------------------------------------------

    def get_flag(self, name: str) -> str | None:
        row = self._one("SELECT value FROM control WHERE name = ?", (name,))
        return None if row is None else str(row["value"])

    def set_flag(self, name: str, value: str | None) -> None:
        with self.transaction():
            if value is None:
                self._execute("DELETE FROM control WHERE name = ?", (name,))
            else:
                self._execute(
                    "INSERT INTO control (name, value, updated) VALUES (?, ?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET value = excluded.value, updated = excluded.updated",
                    (name, value, now_iso()),
                )
