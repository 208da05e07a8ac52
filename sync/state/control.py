"""Table ``control``: operator flags (``paused``) every run reads."""

from __future__ import annotations

from sync.state.base import StoreBase, now_iso

__all__ = ["ControlTable"]


class ControlTable(StoreBase):
    """Read and set flags."""

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
