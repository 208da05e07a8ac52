"""Tables ``heads``, ``record_index``, ``contributions``, ``groups_dirty``: what each source record
produced, so an edit or a void knows what to supersede or reverse."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sync.state.sealed import SealedColumns

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


class RecordsTable(SealedColumns):
    """The live revision of each key, and each record's vouchers and group shares."""

    # -- heads: the live revision of each voucher key --------------------------------------

    # -- read-ahead -------------------------------------------------------------------------
    # The engine maps a page of records, then asks for all their index rows and heads in two
    # statements (``prefetch``); a record seen for the first time then costs no look-up. What
    # was read ahead is forgotten when the transaction ends, and a write drops its entry.

    _ahead_heads: dict[str, Head | None] | None = None
    _ahead_index: dict[tuple[str, str, str, str], IndexRow | None] | None = None

    def prefetch(
        self, index_keys: Sequence[tuple[str, str, str, str]], head_keys: Sequence[str], chunk: int = 400
    ) -> None:
        """Read the index rows and heads of a page of records at once (inside a transaction)."""
        heads: dict[str, Head | None] = dict.fromkeys(head_keys)
        wanted = sorted(set(head_keys))
        for i in range(0, len(wanted), chunk):
            part = wanted[i : i + chunk]
            marks = ", ".join("?" for _ in part)
            for r in self._all(f"SELECT key, revision, content FROM heads WHERE key IN ({marks})", part):
                heads[r["key"]] = _head(r)
        index: dict[tuple[str, str, str, str], IndexRow | None] = dict.fromkeys(index_keys)
        by_stream: dict[tuple[str, str, str], list[str]] = {}
        for mapping, source, stream, rid in set(index_keys):
            by_stream.setdefault((mapping, source, stream), []).append(rid)
        for (mapping, source, stream), ids in by_stream.items():
            ids.sort()
            for i in range(0, len(ids), chunk):
                part = ids[i : i + chunk]
                marks = ", ".join("?" for _ in part)
                for r in self._all(
                    "SELECT record_id, voucher_keys, group_keys, version FROM record_index WHERE mapping = ? "
                    f"AND source = ? AND stream = ? AND record_id IN ({marks})",
                    (mapping, source, stream, *part),
                ):
                    rid = str(r["record_id"])
                    index[(mapping, source, stream, rid)] = IndexRow(
                        _keys_from(r["voucher_keys"], (mapping, stream, rid)),
                        json.loads(r["group_keys"]),
                        str(r["version"]),
                    )
        self._ahead_heads, self._ahead_index = heads, index

    def _forget_ahead(self) -> None:
        self._ahead_heads = self._ahead_index = None

    def get_head(self, key: str) -> Head | None:
        ahead = self._ahead_heads
        if ahead is not None and key in ahead:
            return ahead[key]
        row = self._one("SELECT key, revision, content FROM heads WHERE key = ?", (key,))
        return None if row is None else _head(row)

    def set_head(self, key: str, revision: str, content: str) -> None:
        if self._ahead_heads is not None:
            self._ahead_heads[key] = Head(key, revision, content)
        self._write_later(
            "heads",
            "INSERT INTO heads (key, revision, content) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET revision = excluded.revision, content = excluded.content",
            (key, revision, "" if content == revision else content),  # not the same text twice
        )

    def live_heads(self, prefix: str) -> list[tuple[str, str]]:
        """(key, live revision) of every key starting with ``prefix`` that has a live revision."""
        rows = self._all(
            "SELECT key, revision FROM heads WHERE substr(key, 1, ?) = ? AND revision <> '' ORDER BY key",
            (len(prefix), prefix),
        )
        return [(str(r["key"]), str(r["revision"])) for r in rows]

    def drop_head(self, key: str) -> None:
        if self._ahead_heads is not None:
            self._ahead_heads[key] = None
        self._execute("DELETE FROM heads WHERE key = ?", (key,))

    # -- record index ---------------------------------------------------------------------

    def get_record(
        self, mapping: str, source: str, stream: str, record_id: str
    ) -> tuple[list[str], list[str]]:
        row = self.get_index(mapping, source, stream, record_id)
        return ([], []) if row is None else (row.voucher_keys, row.group_keys)

    def get_index(self, mapping: str, source: str, stream: str, record_id: str) -> IndexRow | None:
        ahead = self._ahead_index
        if ahead is not None and (mapping, source, stream, record_id) in ahead:
            return ahead[(mapping, source, stream, record_id)]
        row = self._one(
            "SELECT voucher_keys, group_keys, version FROM record_index WHERE mapping = ? AND source = ? "
            "AND stream = ? AND record_id = ?",
            (mapping, source, stream, record_id),
        )
        if row is None:
            return None
        return IndexRow(
            _keys_from(row["voucher_keys"], (mapping, stream, record_id)),
            json.loads(row["group_keys"]),
            str(row["version"]),
        )

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
        if self._ahead_index is not None:
            self._ahead_index[(mapping, source, stream, record_id)] = IndexRow(
                list(voucher_keys), list(group_keys), version
            )
        self._write_later(
            "record_index",
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
                _keys_text(voucher_keys, (mapping, stream, record_id)),
                json.dumps(group_keys, ensure_ascii=False),
                "",  # `updated`: not kept since migration 12 (read by nothing; runs and outbox say when)
                version,
            ),
        )

    # -- summarisation --------------------------------------------------------------------

    def get_contribution(self, mapping: str, group_key: str, record_id: str) -> str | None:
        row = self._one(
            "SELECT payload, sealed FROM contributions WHERE mapping = ? AND group_key = ? AND record_id = ?",
            (mapping, group_key, record_id),
        )
        return None if row is None else self._unseal(row, "contributions")

    def put_contribution(self, mapping: str, group_key: str, record_id: str, payload: str) -> None:
        self._execute(
            "INSERT INTO contributions (mapping, group_key, record_id, payload, sealed) "
            "VALUES (?, ?, ?, '', ?) ON CONFLICT (mapping, group_key, record_id) "
            "DO UPDATE SET payload = '', sealed = excluded.sealed",
            (mapping, group_key, record_id, self._seal(payload, "contributions")),
        )

    def remove_contribution(self, mapping: str, group_key: str, record_id: str) -> None:
        self._execute(
            "DELETE FROM contributions WHERE mapping = ? AND group_key = ? AND record_id = ?",
            (mapping, group_key, record_id),
        )

    def group_members(self, mapping: str, group_key: str) -> list[tuple[str, str]]:
        return [
            (r["record_id"], self._unseal(r, "contributions"))
            for r in self._all(
                "SELECT record_id, payload, sealed FROM contributions WHERE mapping = ? AND group_key = ? "
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


# -- compact columns: what the row's own key already says is not stored again ---------------


def _head(row: dict[str, Any]) -> Head:
    """A heads row; ``content`` '' means the same as the revision (the common case)."""
    revision = str(row["revision"])
    return Head(str(row["key"]), revision, str(row["content"]) or revision)


def _keys_text(keys: Sequence[str], where: tuple[str, str, str]) -> str:
    """The voucher keys as JSON, the record's own default key (mapping:stream:id) written ''."""
    own = ":".join(where)
    return json.dumps(["" if k == own else k for k in keys], ensure_ascii=False)


def _keys_from(text: str, where: tuple[str, str, str]) -> list[str]:
    own = ":".join(where)
    return [k or own for k in json.loads(text)]
