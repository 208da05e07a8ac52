"""Which reminder went where, when: the memory that stops a reminder being sent twice.

A small SQLite file of its own (by default ``reminders.db`` beside the SQLite state store,
or in ``.crmsync/`` when the state store is PostgreSQL): reminders are advisory, so they
stay out of the posting state store's schema and its migrations. A row is written right
after a channel accepted the reminder; a crash between the two can repeat one reminder,
never lose one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sync.state.sidecar import open_sidecar

__all__ = ["SentLog"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS sent_reminders (
    channel TEXT NOT NULL,
    reminder_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (channel, reminder_id)
)"""


class SentLog:
    """Which reminder went out on which channel when, so the same one is not sent twice in an interval."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_sidecar(path, _SCHEMA, "reminder log", "reminders.sent_log")

    def last_sent(self, channel: str, reminder_id: str) -> dt.datetime | None:
        row = self._conn.execute(
            "SELECT sent_at FROM sent_reminders WHERE channel = ? AND reminder_id = ?", (channel, reminder_id)
        ).fetchone()
        return dt.datetime.fromisoformat(row[0]) if row else None

    def recently_sent(self, channel: str, reminder_id: str, now: dt.datetime, interval: dt.timedelta) -> bool:
        last = self.last_sent(channel, reminder_id)
        return last is not None and now - last < interval

    def record(
        self, channel: str, reminder_id: str, account_id: str, now: dt.datetime, detail: str = ""
    ) -> None:
        self._conn.execute(
            "INSERT INTO sent_reminders (channel, reminder_id, account_id, sent_at, detail) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, reminder_id) "
            "DO UPDATE SET sent_at = excluded.sent_at, detail = excluded.detail",
            (channel, reminder_id, account_id, now.astimezone(dt.UTC).isoformat(), detail),
        )

    def close(self) -> None:
        self._conn.close()
