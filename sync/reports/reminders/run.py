"""One reminder run: for every reminder and channel, claim it (unless sent within the interval),
send it, and confirm or release the claim.

A failing channel does not stop the others; its reminders are released so the next run
tries again. Two runs at once (or on two machines over one PostgreSQL store) claim each
reminder once, so each is sent once. A dry run renders everything and claims nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sync.errors import PermanentError, TransientError
from sync.reports.reminders.channels import send_email, send_webhook
from sync.reports.reminders.config import EmailChannel, RemindersConfig, SmsChannel
from sync.reports.reminders.message import Reminder, render_text
from sync.reports.reminders.sms import send_sms
from sync.state.reminder_log import SentReminders

__all__ = ["Outcome", "run_reminders"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one reminder on one channel (sent, skipped as sent, failed and why)."""

    channel: str
    reminder: Reminder
    status: str  # sent | skipped | failed | dry-run
    detail: str
    subject: str = ""
    body: str = ""


def run_reminders(
    reminders: list[Reminder],
    config: RemindersConfig,
    log: SentReminders | None,
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> list[Outcome]:
    moment = now or dt.datetime.now(dt.UTC)
    interval = dt.timedelta(hours=config.interval_hours)
    outcomes = []
    for channel in config.channels:
        for reminder in reminders:
            subject, body = render_text(reminder, channel.language, channel.subject, channel.body)
            if dry_run:
                if log is not None and log.recently_sent(channel.name, reminder.id, moment, interval):
                    outcomes.append(_skipped(channel.name, reminder, log))
                else:
                    outcomes.append(Outcome(channel.name, reminder, "dry-run", "would send", subject, body))
                continue
            if log is not None and not log.claim(
                channel.name, reminder.id, reminder.account_id, moment, interval
            ):
                outcomes.append(_skipped(channel.name, reminder, log))
                continue
            try:
                if isinstance(channel, EmailChannel):
                    detail = send_email(channel, reminder, config.owner_emails)
                elif isinstance(channel, SmsChannel):
                    detail = send_sms(channel, reminder)
                else:
                    detail = send_webhook(channel, reminder)
            except (TransientError, PermanentError) as exc:
                if log is not None:
                    log.release(channel.name, reminder.id, exc.message)
                outcomes.append(Outcome(channel.name, reminder, "failed", exc.message, subject, body))
                continue
            if log is not None:
                log.confirm(channel.name, reminder.id, detail)
            outcomes.append(Outcome(channel.name, reminder, "sent", detail, subject, body))
    return outcomes


def _skipped(channel: str, reminder: Reminder, log: SentReminders) -> Outcome:
    last = log.last_sent(channel, reminder.id)
    when = f"already sent {last:%Y-%m-%d %H:%M} UTC" if last else "already sent"
    return Outcome(channel, reminder, "skipped", when)
