"""Table ``outbox``: every voucher and reversal with its status, moved only through the state machine."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from sync.secrets import redact
from sync.state.base import now_iso
from sync.state.mapping_refs import MappingRefsTable
from sync.state.sealed import SealedColumns
from sync.state.status import Status, TransitionRefused, sources_of

__all__ = ["KEY_SQL", "OutboxRow", "OutboxTable", "key_range", "key_sql", "own_key"]


def key_sql(alias: str = "") -> str:
    """The voucher key in SQL: stored as '' when it is mapping:stream:record id (``own_key``)."""
    a = f"{alias}." if alias else ""
    return (
        f"(CASE WHEN {a}key = '' THEN {a}mapping || ':' || {a}source_stream || ':' || {a}source_id "
        f"ELSE {a}key END)"
    )


KEY_SQL = key_sql()


def own_key(mapping: str, stream: str, record_id: str) -> str:
    """The key a voucher of one record has unless its mapping names another: stored as ''."""
    return f"{mapping}:{stream}:{record_id}"


def _payload_prefix(key: str, revision: str) -> str:
    """How ``Voucher.model_dump_json`` begins: the key and revision the row's columns hold."""
    k, r = json.dumps(key, ensure_ascii=False), json.dumps(revision, ensure_ascii=False)
    return f'{{"key":{k},"revision":{r},'


#: a stored payload without its key and revision starts with this (JSON never does)
_CUT = "~"


def key_range(key: str) -> tuple[str, str]:
    """The external references of ``key``'s revisions lie in ``[low, high)`` (``key#…``).

    The outbox has no index on ``key``: its unique ``external_ref`` (``key#revision``) holds
    every key's revisions side by side. A key that itself contains ``#`` can share the range,
    so a query adds ``AND key = ?``.
    """
    return f"{key}#", f"{key}$"  # '$' follows '#'


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
    #: the reversal of this revision (key#revision), when listed with ``list_vouchers``
    reversed_by: str | None = None
    #: found in the ERP before its first send and marked posted with the ERP's id (``adopt``)
    adopted: bool = False

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OutboxRow:
        data = dict(row)
        ids = data["record_ids"]
        data["record_ids"] = json.loads(ids) if ids else [data["source_id"]]
        if not data["key"]:
            data["key"] = own_key(data["mapping"], data["source_stream"], data["source_id"])
        data["status"] = Status(data["status"])
        data["adopted"] = bool(data.get("adopted") or 0)
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
            "reverses": self.reversal_of,
            "reversed_by": self.reversed_by,
            "mapping_version": self.mapping_version,
            "adopted": self.adopted,
        }

    @property
    def mapping_version(self) -> str:
        """The version of the mapping that produced this voucher ('' before versions were kept)."""
        try:
            return str(json.loads(self.payload).get("mapping", {}).get("version", ""))
        except (ValueError, AttributeError):
            return ""


_OUTBOX_COLS = (
    "seq, key, revision, external_ref, mapping, kind, record_ids, source_system, source_stream, source_id, "
    "status, payload, total, voucher_date, erp_id, erp_number, attempts, last_error, created, "
    "updated, posted, reversal_of, depends_on, reversal_style, run_id, run_records, adopted, sealed"
)


class OutboxTable(SealedColumns, MappingRefsTable):
    """Insert vouchers, move them (compare-and-set only), list and count them."""

    #: the backend computes external_ref from key and revision (SQLite's virtual column)
    computes_external_ref: bool = False

    def _outbox_row(self, row: dict[str, Any]) -> OutboxRow:
        data = dict(row)
        payload = self._unseal(data, "outbox")
        del data["sealed"]
        made = OutboxRow.from_row(data | {"payload": ""})
        if payload.startswith(_CUT):  # kept without the key and revision its columns hold
            payload = self._mapping_back(_payload_prefix(made.key, made.revision) + payload[1:])
        return replace(made, payload=payload)

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
        ref = () if self.computes_external_ref else (f"{key}#{revision}",)
        prefix = _payload_prefix(key, revision)
        if payload.startswith(prefix):  # not the same text twice: the columns hold these two
            payload = _CUT + self._refer_mapping(payload)[len(prefix) :]
        self._write_later(
            "outbox",
            self._insert_outbox_sql,
            (
                "" if key == own_key(mapping, source[1], source[2]) else key,
                revision,
                *ref,
                mapping,
                kind,
                # a voucher of one record (its source id) keeps '' (OutboxRow.from_row reads it back)
                "" if record_ids == [source[2]] else json.dumps(record_ids, ensure_ascii=False),
                source[0],
                source[1],
                source[2],
                Status(status).value,
                self._seal(payload, "outbox"),
                # '' since sealing: the seal's GCM tag authenticates the payload, and a plain
                # SHA-256 of the voucher beside its ciphertext would tell equal vouchers apart
                "",
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

    @cached_property
    def _insert_outbox_sql(self) -> str:
        ref = "" if self.computes_external_ref else "external_ref, "
        marks = "?, " * (20 if self.computes_external_ref else 21)
        return (
            f"INSERT INTO outbox (key, revision, {ref}mapping, kind, record_ids, source_system, "
            "source_stream, source_id, status, sealed, payload_hash, total, voucher_date, created, "
            "updated, reversal_of, depends_on, reversal_style, run_id, run_records, payload) "
            f"VALUES ({marks}'')"
        )

    def get_voucher(self, key: str, revision: str) -> OutboxRow | None:
        return self.get_by_ref(f"{key}#{revision}")

    def get_by_ref(self, external_ref: str) -> OutboxRow | None:
        row = self._one(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE external_ref = ?", (external_ref,))
        return None if row is None else self._outbox_row(row)

    def revisions_of(self, key: str) -> list[str]:
        low, high = key_range(key)
        return [
            r["revision"]
            for r in self._all(
                f"SELECT revision FROM outbox WHERE external_ref >= ? AND external_ref < ? AND {KEY_SQL} = ?",
                (low, high, key),
            )
        ]

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
        adopted: bool = False,
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
        if adopted:
            sets.append("adopted = 1")
        marks = ", ".join("?" for _ in allowed) or "NULL"
        params += [external_ref, *sorted(s.value for s in allowed)]
        cur = self._execute(
            f"UPDATE outbox SET {', '.join(sets)} WHERE external_ref = ? AND status IN ({marks})", params
        )
        if cur.rowcount != 1:
            row = self._one("SELECT status FROM outbox WHERE external_ref = ?", (external_ref,))
            raise TransitionRefused(external_ref, None if row is None else str(row["status"]), to)

    def mark_sending(self, external_refs: Sequence[str]) -> set[str]:
        """pending -> sending (attempts + 1) for a batch; returns the refs that were pending.

        Two statements for the batch: the statuses, then one guarded UPDATE of the pending
        ones (the caller holds the run lock, so nothing moves them in between; the guard stays).
        """
        if not external_refs:
            return set()
        marks = ", ".join("?" for _ in external_refs)
        rows = self._all(
            f"SELECT external_ref, status FROM outbox WHERE external_ref IN ({marks})", external_refs
        )
        ready = sorted(r["external_ref"] for r in rows if r["status"] == Status.PENDING.value)
        if ready:
            marks = ", ".join("?" for _ in ready)
            cur = self._execute(
                f"UPDATE outbox SET status = ?, updated = ?, attempts = attempts + 1 "
                f"WHERE external_ref IN ({marks}) AND status = ?",
                (Status.SENDING.value, now_iso(), *ready, Status.PENDING.value),
            )
            if cur.rowcount != len(ready):
                raise TransitionRefused(ready[0], "moved meanwhile", Status.SENDING)
        return set(ready)

    def mark_posted(self, posted: Sequence[tuple[str, str, str, bool]]) -> None:
        """sending -> posted for ``(external_ref, erp_id, erp_number, adopted)`` rows, in one statement.

        Compare-and-set like ``transition``: when one of them is not ``sending`` any more,
        nothing of the batch changes and ``TransitionRefused`` names it.
        """
        if not posted:
            return
        now = now_iso()
        changed = self._execute_many(
            "UPDATE outbox SET status = ?, updated = ?, last_error = '', erp_id = ?, erp_number = ?, "
            "posted = ?, adopted = CASE WHEN ? THEN 1 ELSE adopted END WHERE external_ref = ? AND status = ?",
            [
                (Status.POSTED.value, now, erp_id, number or "", now, adopted, ref, Status.SENDING.value)
                for ref, erp_id, number, adopted in posted
            ],
        )
        if changed != len(posted):
            for ref, *_ in posted:
                row = self._one("SELECT status FROM outbox WHERE external_ref = ?", (ref,))
                if row is None or row["status"] != Status.POSTED.value:
                    raise TransitionRefused(ref, None if row is None else str(row["status"]), Status.POSTED)
            raise TransitionRefused(posted[0][0], "sending", Status.POSTED)

    def note_error(self, external_ref: str, message: str) -> None:
        """Say why a ``pending`` voucher is still waiting (no status change; redacted)."""
        self._execute(
            "UPDATE outbox SET last_error = ?, updated = ? WHERE external_ref = ? AND status = ?",
            (redact(message), now_iso(), external_ref, Status.PENDING.value),
        )

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
        return [self._outbox_row(r) for r in rows]

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
        return [self._outbox_row(r) for r in rows]

    def reversal_for(self, external_ref: str) -> OutboxRow | None:
        row = self._one(
            f"SELECT {_OUTBOX_COLS} FROM outbox WHERE reversal_of = ? AND kind = 'reversal'", (external_ref,)
        )
        return None if row is None else self._outbox_row(row)

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
        reversed_by = (
            "(SELECT MIN(r.external_ref) FROM outbox r WHERE r.reversal_of = outbox.external_ref) "
            "AS reversed_by"
        )
        sql = (
            f"SELECT {_OUTBOX_COLS}, {reversed_by} FROM outbox WHERE {' AND '.join(where)} ORDER BY seq DESC"
        )
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._outbox_row(r) for r in self._all(sql, params)]

    def outbox_pages(self, batch: int = 1000) -> Iterator[list[OutboxRow]]:
        """Every outbox row in outbox order, a page at a time (reports that must not hold them all)."""
        after = 0
        while True:
            rows = self._all(
                f"SELECT {_OUTBOX_COLS} FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (after, batch)
            )
            if not rows:
                return
            page = [self._outbox_row(r) for r in rows]
            after = page[-1].seq
            yield page

    def vouchers_by_seq(self, seqs: Sequence[int]) -> dict[int, OutboxRow]:
        """The outbox rows numbered ``seqs`` (at most a few hundred at a time)."""
        if not seqs:
            return {}
        marks = ", ".join("?" for _ in seqs)
        rows = self._all(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE seq IN ({marks})", tuple(seqs))
        return {int(r["seq"]): self._outbox_row(r) for r in rows}

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
        return [self._outbox_row(r) for r in rows]

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

    def run_adopted(self, run_id: int) -> int:
        """Records read in ``run_id`` whose voucher the ERP already held (posted by ``adopt``)."""
        row = self._one(
            "SELECT SUM(run_records) AS n FROM outbox WHERE run_id = ? AND status = ? AND adopted = 1",
            (run_id, Status.POSTED.value),
        )
        return int(row["n"] or 0) if row is not None else 0

    def retry_failed(self, keys: Sequence[str] = ()) -> int:
        """failed -> pending (all, or those whose key or external ref is named)."""
        with self.transaction():
            if keys:
                n = 0
                for k in keys:
                    cur = self._execute(
                        "UPDATE outbox SET status = ?, updated = ? WHERE status = ? "
                        f"AND ({KEY_SQL} = ? OR external_ref = ?)",  # among the failed (outbox_status_seq)
                        (Status.PENDING.value, now_iso(), Status.FAILED.value, k, k),
                    )
                    n += cur.rowcount
                return n
            cur = self._execute(
                "UPDATE outbox SET status = ?, updated = ? WHERE status = ?",
                (Status.PENDING.value, now_iso(), Status.FAILED.value),
            )
            return int(cur.rowcount)
