"""Table ``reminders_sent``: which reminder went out on which channel when, shared by every host.

The memory that stops a reminder being sent twice lives in the state store, so two
``crmsync remind`` runs at once, or on two machines over one PostgreSQL store, cannot both
send it. A reminder is *claimed* before it is sent (one compare-and-set: insert, or take over
a row last sent before the interval began); only the run whose claim took effect sends. A
failed send releases the claim, so the next run tries again; a crash between the channel
accepting and the claim being confirmed leaves the claim standing (the reminder counts as
sent): a reminder may be lost to a crash mid-send only for one interval, never sent twice.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

from sync.state.base import StoreBase

__all__ = ["RemindersSentTable"]

#: what a released claim holds as its time: before any real one, so it can be claimed at once
_NEVER = ""


class RemindersSentTable(StoreBase):
    """Claim, confirm and release reminders per channel."""

    def claim_reminder(
        self, channel: str, reminder_id: str, account_id: str, now: str, not_before: str
    ) -> bool:
        """Take the reminder for this run unless it was sent (or claimed) at or after ``not_before``.

        Times are UTC ISO strings of one format, so they compare as text.
        """
        with self.transaction():
            cursor = self._execute(
                "INSERT INTO reminders_sent (channel, reminder_id, account_id, sent_at, status, detail, "
                "host) VALUES (?, ?, ?, ?, 'sending', '', ?) ON CONFLICT (channel, reminder_id) "
                "DO UPDATE SET sent_at = excluded.sent_at, status = 'sending', detail = '', "
                "host = excluded.host "
                "WHERE reminders_sent.sent_at < ?",
                (channel, reminder_id, account_id, now, socket.gethostname(), not_before),
            )
            return int(cursor.rowcount) == 1

    def confirm_reminder(self, channel: str, reminder_id: str, detail: str) -> None:
        with self.transaction():
            self._execute(
                "UPDATE reminders_sent SET status = 'sent', detail = ? WHERE channel = ? AND reminder_id = ?",
                (detail, channel, reminder_id),
            )

    def release_reminder(self, channel: str, reminder_id: str, error: str) -> None:
        """The channel did not take it: claimable again at once."""
        with self.transaction():
            self._execute(
                "UPDATE reminders_sent SET status = 'failed', sent_at = ?, detail = ? "
                "WHERE channel = ? AND reminder_id = ?",
                (_NEVER, error, channel, reminder_id),
            )

    def reminder_sent_at(self, channel: str, reminder_id: str) -> str | None:
        """When it was last sent or claimed (None: never, or the last try failed)."""
        row = self._one(
            "SELECT sent_at FROM reminders_sent WHERE channel = ? AND reminder_id = ?", (channel, reminder_id)
        )
        return str(row["sent_at"]) if row and row["sent_at"] != _NEVER else None

    def import_reminders(self, rows: Iterable[tuple[str, str, str, str, str]]) -> int:
        """Rows of the earlier sent-log file (channel, reminder id, account, sent at, detail)."""
        n = 0
        with self.transaction():
            for channel, reminder_id, account_id, sent_at, detail in rows:
                n += int(
                    self._execute(
                        "INSERT INTO reminders_sent (channel, reminder_id, account_id, sent_at, status, "
                        "detail, host) VALUES (?, ?, ?, ?, 'sent', ?, '') "
                        "ON CONFLICT (channel, reminder_id) DO NOTHING",
                        (channel, reminder_id, account_id, sent_at, detail),
                    ).rowcount
                )
        return n
