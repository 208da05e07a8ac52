"""The sealed payload columns of four tables: seal on write, open on read, re-seal on rotation.

Which tables hold customer data, and how to page through each, is said once here
(``SEALED``); the table modules call ``_seal`` / ``_unseal`` and never see a key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sync.state.base import StoreBase
from sync.state.keyring import KeySpec, resolve_sealer
from sync.state.sealing import Sealer

__all__ = ["SEALED", "SealedColumns", "SealedTable"]

#: the control row that names the key the store's data is sealed with
KEY_FLAG = "seal_key_id"


@dataclass(frozen=True)
class SealedTable:
    """A table with a sealed payload: its name, the old text column, and its primary key."""

    name: str
    text_column: str
    keys: tuple[str, ...]


SEALED = (
    SealedTable("source_records", "payload", ("source", "stream", "record_id")),
    SealedTable("outbox", "payload", ("seq",)),
    SealedTable("quarantine", "record", ("id",)),
    SealedTable("contributions", "payload", ("mapping", "group_key", "record_id")),
)


class SealedColumns(StoreBase):
    """Seal and open payloads; find the rows still plain or sealed with another key."""

    sealer: Sealer = Sealer(None)
    key_spec: KeySpec = KeySpec()

    def _init_sealing(self, spec: KeySpec, *, read_only: bool = False) -> None:
        """Pick the key (refusing a wrong or missing one) before anything is read or written."""
        row = self._one("SELECT value FROM control WHERE name = ?", (KEY_FLAG,))
        registered = None if row is None else str(row["value"])
        self.key_spec = spec
        self.sealer = resolve_sealer(
            spec,
            registered,
            may_create=not read_only and registered is None,
            where=self.where,
            postgres=self.dialect == "pg",
        )
        if read_only or self.sealer.primary is None or registered is not None:
            return
        with self.transaction():
            self._execute(
                "INSERT INTO control (name, value, updated) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (KEY_FLAG, self.sealer.key_id, "1970-01-01T00:00:00.000+00:00"),
            )
        self.reseal()  # rows written before payloads were sealed (a store from an older crmsync)

    def _seal(self, text: str, table: str) -> bytes:
        return self.sealer.seal(text, table)

    def _unseal(self, row: dict[str, Any], table: SealedTable | str) -> str:
        """The payload text of a row selected with its ``sealed`` column (plain rows as they are)."""
        t = table if isinstance(table, SealedTable) else _TABLES[table]
        blob = row.get("sealed")
        if blob is None:
            return str(row[t.text_column])
        return self.sealer.open(blob, t.name)

    # -- re-sealing -------------------------------------------------------------------------

    def _stale_rows(self, t: SealedTable, batch: int) -> Iterator[list[dict[str, Any]]]:
        """Pages of rows not sealed with the primary key (plain, or another key's id)."""
        cols = ", ".join(t.keys)
        marks = ", ".join("?" for _ in t.keys)
        after: tuple[Any, ...] | None = None
        kid = bytes.fromhex(self.sealer.key_id)
        while True:
            where = "" if after is None else f" AND ({cols}) > ({marks})"
            rows = self._all(
                f"SELECT {cols}, {t.text_column}, sealed FROM {t.name} WHERE "
                f"(sealed IS NULL OR substr(sealed, 2, 4) <> ?){where} ORDER BY {cols} LIMIT ?",
                (kid, *(after or ()), batch),
            )
            if not rows:
                return
            after = tuple(rows[-1][k] for k in t.keys)
            yield rows

    def reseal(self, batch: int = 500) -> int:
        """Seal every payload not yet sealed with the primary key; returns how many were."""
        done = 0
        for t in SEALED:
            for rows in self._stale_rows(t, batch):
                with self.transaction():
                    for r in rows:
                        text = self._unseal(r, t)
                        self._execute(
                            f"UPDATE {t.name} SET sealed = ?, {t.text_column} = '' WHERE "
                            + " AND ".join(f"{k} = ?" for k in t.keys),
                            (self._seal(text, t.name), *(r[k] for k in t.keys)),
                        )
                done += len(rows)
        return done

    def sealed_key_id(self) -> str | None:
        """The id of the key the store says its data is sealed with (None: nothing sealed yet)."""
        row = self._one("SELECT value FROM control WHERE name = ?", (KEY_FLAG,))
        return None if row is None else str(row["value"])

    def set_sealed_key(self) -> None:
        """Record that every payload is now sealed with the primary key (after ``reseal``)."""
        with self.transaction():
            self._execute("UPDATE control SET value = ? WHERE name = ?", (self.sealer.key_id, KEY_FLAG))


_TABLES = {t.name: t for t in SEALED}
