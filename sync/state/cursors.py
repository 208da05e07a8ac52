"""Table ``cursors``: each stream's Airbyte state, committed with the records it moved past."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from sync.state.base import StoreBase, now_iso

__all__ = ["Cursor", "CursorsTable"]


@dataclass(frozen=True, slots=True)
class Cursor:
    """One stream's stored Airbyte state, and when it last moved."""

    source: str
    stream: str
    state: dict[str, Any]
    updated: str

    def public_dict(self) -> dict[str, Any]:
        return asdict(self)


class CursorsTable(StoreBase):
    """Read and store stream states."""

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

    def cursors(self) -> list[Cursor]:
        rows = self._all("SELECT source, stream, state, updated FROM cursors ORDER BY source, stream")
        return [Cursor(r["source"], r["stream"], json.loads(r["state"]), r["updated"]) for r in rows]
