"""Table ``quarantine``: records that could not become vouchers, with the raw record and why."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sync.secrets import redact
from sync.state.base import now_iso
from sync.state.sealed import SealedColumns

__all__ = ["QuarantineEntry", "QuarantineTable"]


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A quarantine entry: the raw record, the mapping that refused it, and why.

    ``status``: ``open`` (listed, retried), ``resolved`` (the record mapped since),
    ``dismissed`` (a person ended it; ``note`` says who and why).
    """

    id: int
    mapping: str
    source: str
    stream: str
    record_id: str
    record: dict[str, Any]
    problem: str
    status: str
    created: str
    updated: str
    note: str = ""

    def public_dict(self) -> dict[str, Any]:
        """The entry as ``crmsync failures --format json`` and the console's API show it."""
        out: dict[str, Any] = {
            "id": self.id,
            "mapping": self.mapping,
            "source": self.source,
            "stream": self.stream,
            "record_id": self.record_id,
            "problem": self.problem,
            "since": self.created,
            "updated": self.updated,
            "record": self.record,
        }
        if self.status != "open":
            out |= {"status": self.status, "note": self.note}
        return out


class QuarantineTable(SealedColumns):
    """Put, resolve and list quarantined records."""

    # -- quarantine -----------------------------------------------------------------------

    def quarantine(  # noqa: PLR0917 - the record's identity is four positional parts
        self, mapping: str, source: str, stream: str, record_id: str, record: dict[str, Any], problem: str
    ) -> None:
        now = now_iso()
        self._execute(
            "INSERT INTO quarantine (mapping, source, stream, record_id, record, sealed, problem, status, "
            "created, updated) "
            "VALUES (?, ?, ?, ?, '', ?, ?, 'open', ?, ?) ON CONFLICT (mapping, source, stream, "
            "record_id) DO UPDATE "
            "SET record = '', sealed = excluded.sealed, problem = excluded.problem, "
            "updated = excluded.updated, "
            # a dismissed entry stays dismissed when the same record is refused again
            "status = CASE WHEN quarantine.status = 'dismissed' THEN 'dismissed' ELSE 'open' END",
            (
                mapping,
                source,
                stream,
                record_id,
                self._seal(json.dumps(record, ensure_ascii=False, default=str), "quarantine"),
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

    def resolve_places(self, source: str, stream: str, place: str, keep: Sequence[str]) -> int:
        """Resolve the open entries of ``place:<line>`` (a source's unreadable inputs) except
        ``keep``: the source read all of ``place`` again and those are its problems now."""
        rows = self._all(
            "SELECT id, record_id FROM quarantine WHERE source = ? AND stream = ? AND status = 'open' "
            "AND substr(record_id, 1, ?) = ?",
            (source, stream, len(place) + 1, f"{place}:"),
        )
        gone = [int(r["id"]) for r in rows if r["record_id"] not in set(keep)]
        for entry_id in gone:
            self._execute(
                "UPDATE quarantine SET status = 'resolved', updated = ? WHERE id = ? AND status = 'open'",
                (now_iso(), entry_id),
            )
        return len(gone)

    def open_quarantine_count(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM quarantine WHERE status = 'open'")
        return int(row["n"]) if row else 0

    def open_quarantine(self, ids: Sequence[int] = ()) -> list[QuarantineEntry]:
        return self.quarantine_entries(("open",), ids)

    def quarantine_entries(
        self, statuses: Sequence[str] = ("open",), ids: Sequence[int] = ()
    ) -> list[QuarantineEntry]:
        """Entries in ``statuses`` (all of them when ``ids`` is empty, else those ids), oldest first."""
        marks = ", ".join("?" for _ in statuses)
        rows = self._all(
            "SELECT id, mapping, source, stream, record_id, record, sealed, problem, status, created, "
            "updated, "
            "note "
            f"FROM quarantine WHERE status IN ({marks}) ORDER BY id",
            tuple(statuses),
        )
        wanted = set(ids)
        return [
            QuarantineEntry(
                **{
                    **{k: v for k, v in r.items() if k != "sealed"},
                    "id": int(r["id"]),
                    "record": json.loads(self._unseal(r, "quarantine")),
                }
            )
            for r in rows
            if not wanted or int(r["id"]) in wanted
        ]

    def dismiss_quarantine(self, entry_id: int, note: str) -> bool:
        """open -> dismissed (compare-and-set); False when the entry is not open."""
        cur = self._execute(
            "UPDATE quarantine SET status = 'dismissed', note = ?, updated = ? "
            "WHERE id = ? AND status = 'open'",
            (redact(note), now_iso(), entry_id),
        )
        return bool(cur.rowcount == 1)
