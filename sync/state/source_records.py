"""Table ``source_records``: the latest copy of every source record the engine mapped.

Kept so that a mapping changed after months can be applied to history on purpose
(``crmsync remap``) without asking the CRM or the bank for everything again, and so that
``crmsync status`` can count the records an edited or a new mapping has not seen. One row
per (source, stream, record id): a record edited at the source replaces its copy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.state.sealed import SealedColumns

__all__ = ["SourceRecordsTable", "StoredRecord", "VersionCounts"]


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One stored source record, as the source last sent it."""

    source: str
    stream: str
    record_id: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VersionCounts:
    """How many stored records one mapping has not mapped in its current version."""

    #: records whose index row was written by another (older) version of the mapping
    older: int
    #: stored records of the mapping's stream it never mapped (a mapping added later)
    never_offered: int
    #: index rows without a stored copy (read before copies were kept): remap cannot reach them
    without_copy: int


class SourceRecordsTable(SealedColumns):
    """Keep, page through and count stored source records."""

    def keep_record(self, source: str, stream: str, record_id: str, record: Mapping[str, Any]) -> None:
        # compact separators: the sealing dictionary knows the field names written this way
        payload = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
        # an unchanged record (same keyed digest) is not written again
        self._write_later(
            "source_records",
            "INSERT INTO source_records (source, stream, record_id, payload, sealed, digest, updated) "
            "VALUES (?, ?, ?, '', ?, ?, ?) ON CONFLICT (source, stream, record_id) DO UPDATE SET "
            "payload = '', sealed = excluded.sealed, digest = excluded.digest, updated = excluded.updated "
            "WHERE source_records.digest <> excluded.digest",
            (
                source,
                stream,
                record_id,
                self._seal(payload, "source_records"),
                self.sealer.digest(payload),
                "",  # `updated`: not kept since migration 12 (read by nothing; runs and outbox say when)
            ),
        )

    def stored_records(
        self, source: str, stream: str, *, after: str = "", limit: int = 500
    ) -> list[StoredRecord]:
        """The next ``limit`` stored records of a stream with an id after ``after``, in id order."""
        rows = self._all(
            "SELECT record_id, payload, sealed FROM source_records WHERE source = ? AND stream = ? "
            "AND record_id > ? "
            "ORDER BY record_id LIMIT ?",
            (source, stream, after, limit),
        )
        return [
            StoredRecord(source, stream, str(r["record_id"]), json.loads(self._unseal(r, "source_records")))
            for r in rows
        ]

    def stored_record(self, source: str, stream: str, record_id: str) -> dict[str, Any] | None:
        """The last version of one record as read, or None when no copy is kept."""
        row = self._one(
            "SELECT record_id, payload, sealed FROM source_records WHERE source = ? AND stream = ? "
            "AND record_id = ?",
            (source, stream, record_id),
        )
        if row is None:
            return None
        record = json.loads(self._unseal(row, "source_records"))
        return record if isinstance(record, dict) else {"value": record}

    def stored_count(self, source: str, stream: str) -> int:
        row = self._one(
            "SELECT COUNT(*) AS n FROM source_records WHERE source = ? AND stream = ?", (source, stream)
        )
        return int(row["n"]) if row else 0

    def version_counts(self, mapping: str, source: str, stream: str, version: str) -> VersionCounts:
        """What ``mapping`` (now at ``version``, reading ``source.stream``) has not mapped yet."""
        older = self._one(
            "SELECT COUNT(*) AS n FROM record_index WHERE mapping = ? AND source = ? AND stream = ? "
            "AND version <> ?",
            (mapping, source, stream, version),
        )
        never = self._one(
            "SELECT COUNT(*) AS n FROM source_records s WHERE s.source = ? AND s.stream = ? AND NOT EXISTS "
            "(SELECT 1 FROM record_index r WHERE r.mapping = ? AND r.source = s.source AND "
            "r.stream = s.stream AND r.record_id = s.record_id) AND NOT EXISTS (SELECT 1 FROM quarantine q "
            "WHERE q.mapping = ? AND q.source = s.source AND q.stream = s.stream "
            "AND q.record_id = s.record_id)",
            (source, stream, mapping, mapping),
        )
        orphans = self._one(
            "SELECT COUNT(*) AS n FROM record_index r WHERE r.mapping = ? AND r.source = ? AND r.stream = ? "
            "AND NOT EXISTS (SELECT 1 FROM source_records s WHERE s.source = r.source AND "
            "s.stream = r.stream AND s.record_id = r.record_id)",
            (mapping, source, stream),
        )
        return VersionCounts(*(int(row["n"]) if row else 0 for row in (older, never, orphans)))
