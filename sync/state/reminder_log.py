"""Which reminder went where, when: the memory that stops a reminder being sent twice.

Kept in the state store (``sync.state.reminders_sent``), where every run on every machine
sees it; ``claim`` before sending makes two runs at once send each reminder once. Releases
before this one kept the log in a SQLite file of its own (``reminders.db`` beside the state,
or ``reminders.sent_log``); its rows are taken over once, on the first run that finds it, so
an upgrade sends nothing again.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from sync.errors import StateError
from sync.state.store import StateStore

__all__ = ["SentReminders"]

_IMPORTED = "reminders_log_imported"


def _text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


class SentReminders:
    """The sent log as ``run_reminders`` uses it: claim, confirm, release, when last sent."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def claim(
        self, channel: str, reminder_id: str, account_id: str, now: dt.datetime, interval: dt.timedelta
    ) -> bool:
        return self.store.claim_reminder(channel, reminder_id, account_id, _text(now), _text(now - interval))

    def confirm(self, channel: str, reminder_id: str, detail: str) -> None:
        self.store.confirm_reminder(channel, reminder_id, detail)

    def release(self, channel: str, reminder_id: str, error: str) -> None:
        self.store.release_reminder(channel, reminder_id, error)

    def last_sent(self, channel: str, reminder_id: str) -> dt.datetime | None:
        text = self.store.reminder_sent_at(channel, reminder_id)
        return dt.datetime.fromisoformat(text) if text else None

    def recently_sent(self, channel: str, reminder_id: str, now: dt.datetime, interval: dt.timedelta) -> bool:
        last = self.last_sent(channel, reminder_id)
        return last is not None and now - last < interval

    def take_over(self, legacy: Path) -> int:
        """Rows of an earlier release's sent-log file, once (0 when there is none or it was done)."""
        if self.store.get_flag(_IMPORTED) or not legacy.exists():
            return 0
        try:
            conn = sqlite3.connect(f"file:{legacy}?mode=ro", uri=True)
            try:
                rows = conn.execute(
                    "SELECT channel, reminder_id, account_id, sent_at, detail FROM sent_reminders"
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StateError(
                f"the earlier reminder log {legacy} cannot be read: {exc}",
                hint="fix or move the file away (reminders it lists may then be sent again)",
            ) from None
        moved = self.store.import_reminders(
            (str(c), str(r), str(a), _text(dt.datetime.fromisoformat(str(t))), str(d))
            for c, r, a, t, d in rows
        )
        self.store.set_flag(_IMPORTED, str(legacy))
        return moved
