"""Tables ``heads``, ``record_index``, ``contributions``, ``groups_dirty``: what each source record
produced, so an edit or a void knows what to supersede or reverse."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sync.state.base import StoreBase, now_iso

__all__ = ["DirtyGroup", "Head", "IndexRow", "RecordsTable"]


@dataclass(frozen=True, slots=True)
class IndexRow:
    """What one mapping produced for one record, and the mapping version that produced it."""

    voucher_keys: list[str]
    group_keys: list[str]
    version: str


@dataclass(frozen=True, slots=True)
class Head:
    """The live revision of a voucher key (``revision`` empty: voided, its history kept)."""

    key: str
    revision: str
    #: the content hash of the live revision (a revision may carry a ``.2`` suffix; content not)
    content: str


@dataclass(frozen=True, slots=True)
class DirtyGroup:
    """A summarised voucher whose members changed: it is assembled again before posting."""

    mapping: str
    group_key: str
    reversal_style: str
    run_records: int


class RecordsTable(StoreBase):
    """The live revision of each key, and each record's vouchers and group shares."""

    # -- heads: the live revision of each voucher key --------------------------------------

    def get_head(self, key: str) -> Head | None:
        row = self._one("SELECT key, revision, content FROM heads WHERE key = ?", (key,))
        return None if row is None else Head(row["key"], row["revision"], row["content"])

    def set_head(self, key: str, revision: str, content: str) -> None:
        self._execute(
            "INSERT INTO heads (key, revision, content) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET revision = excluded.revision, content = excluded.content",
            (key, revision, content),
        )

    def live_heads(self, prefix: str) -> list[tuple[str, str]]:
        """(key, live revision) of every key starting with ``prefix`` that has a live revision."""
        rows = self._all(
            "SELECT key, revision FROM heads WHERE substr(key, 1, ?) = ? AND revision <> '' ORDER BY key",
            (len(prefix), prefix),
        )
        return [(str(r["key"]), str(r["revision"])) for r in rows]

    def drop_head(self, key: str) -> None:
        self._execute("DELETE FROM heads WHERE key = ?", (key,))

    # -- record index ---------------------------------------------------------------------

    def get_record(
        self, mapping: str, source: str, stream: str, record_id: str
    ) -> tuple[list[str], list[str]]:
        row = self.get_index(mapping, source, stream, record_id)
        return ([], []) if row is None else (row.voucher_keys, row.group_keys)

    def get_index(self, mapping: str, source: str, stream: str, record_id: str) -> IndexRow | None:
        row = self._one(
            "SELECT voucher_keys, group_keys, version FROM record_index WHERE mapping = ? AND source = ? "
            "AND stream = ? AND record_id = ?",
            (mapping, source, stream, record_id),
        )
        if row is None:
            return None
        return IndexRow(json.loads(row["voucher_keys"]), json.loads(row["group_keys"]), str(row["version"]))

    def put_record(  # noqa: PLR0917 - the record's identity is four positional parts
        self,
        mapping: str,
        source: str,
        stream: str,
        record_id: str,
        voucher_keys: list[str],
        group_keys: list[str],
        version: str = "",
    ) -> None:
        self._execute(
            "INSERT INTO record_index (mapping, source, stream, record_id, voucher_keys, group_keys, "
            "updated, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mapping, source, stream, record_id) DO UPDATE SET "
            "voucher_keys = excluded.voucher_keys, group_keys = excluded.group_keys, updated = "
            "excluded.updated, version = excluded.version",
            (
                mapping,
                source,
                stream,
                record_id,
                json.dumps(voucher_keys, ensure_ascii=False),
                json.dumps(group_keys, ensure_ascii=False),
                now_iso(),
                version,
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

    def dirty_groups(self, limit: int = 500) -> list[DirtyGroup]:
        rows = self._all(
            "SELECT mapping, group_key, reversal_style, run_records FROM groups_dirty "
            "ORDER BY mapping, group_key LIMIT ?",
            (limit,),
        )
        return [
            DirtyGroup(r["mapping"], r["group_key"], r["reversal_style"], int(r["run_records"])) for r in rows
        ]

    def clear_dirty_group(self, mapping: str, group_key: str) -> None:
        self._execute("DELETE FROM groups_dirty WHERE mapping = ? AND group_key = ?", (mapping, group_key))
