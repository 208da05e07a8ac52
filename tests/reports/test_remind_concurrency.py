"""Two `crmsync remind` runs at once send each reminder once: on one SQLite state, and from two
processes on one PostgreSQL state (as two machines would). A log of an earlier release is
taken over, so an upgrade sends nothing again.

Real processes, a real webhook receiver that answers slowly (so the runs' sends overlap),
the sample CRM export as the tenant.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.reports.receivers import http_receiver

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2027-01-31"  # every sample order is overdue by then


def _config(folder: Path, state_url: str, url: str) -> Path:
    config = folder / "config.yaml"
    config.write_text(
        f"""
state: {{url: {json.dumps(state_url)}}}
sources:
  crm: {{type: files, path: "{REPO / "examples" / "crm"}"}}
destination: {{type: ledger, path: .crmsync/ledger.db}}
mappings: ["{REPO}/mappings/fxiaoke-kingdee/*.yaml"]
reminders:
  interval_hours: 24
  channels:
    - {{name: robot, type: webhook, url: "{url}/send?key=robot-key", style: wecom}}
""",
        encoding="utf-8",
    )
    return config


def _remind(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sync.cli", "remind", "-c", str(config), "--as-of", AS_OF],
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_overlapping_runs_send_each_reminder_once(tmp_path: Path, state_url: str) -> None:
    with http_receiver() as (hook, url):
        hook.delay = 0.3
        first, second = (tmp_path / "a", tmp_path / "b")
        first.mkdir()
        second.mkdir()  # two working folders: as two machines, sharing only the state store
        runs = [_remind(_config(first, state_url, url)), _remind(_config(second, state_url, url))]
        outputs = [run.communicate(timeout=300) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], [err[-1500:] for _, err in outputs]
        sent = sum(out.count("[sent] robot") for out, _ in outputs)
        skipped = sum(out.count("[skipped] robot") for out, _ in outputs)
        customers = {json.loads(body)["text"]["content"].splitlines()[0] for _, _, body in hook.requests}
        assert sent == len(hook.requests) == len(customers) >= 4  # each customer once
        assert skipped == sent  # the other run saw every one of them taken


def test_the_log_of_an_earlier_release_is_taken_over_and_nothing_is_sent_again(tmp_path: Path) -> None:
    with http_receiver() as (hook, url):
        config = _config(tmp_path, "sqlite:///.crmsync/state.db", url)
        first = _remind(config)
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-1500:]
        sent = len(hook.requests)
        # what an earlier release kept: its own file, no rows in the store
        rows = (
            sqlite3.connect(tmp_path / ".crmsync" / "state.db")
            .execute("SELECT channel, reminder_id, account_id, sent_at, detail FROM reminders_sent")
            .fetchall()
        )
        (tmp_path / ".crmsync" / "state.db").unlink()
        for extra in ("state.db-wal", "state.db-shm", "state.key"):
            (tmp_path / ".crmsync" / extra).unlink(missing_ok=True)
        legacy = sqlite3.connect(tmp_path / ".crmsync" / "reminders.db")
        legacy.execute(
            "CREATE TABLE sent_reminders (channel TEXT NOT NULL, reminder_id TEXT NOT NULL, "
            "account_id TEXT NOT NULL, sent_at TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', "
            "PRIMARY KEY (channel, reminder_id))"
        )
        legacy.executemany("INSERT INTO sent_reminders VALUES (?, ?, ?, ?, ?)", rows)
        legacy.commit()
        legacy.close()
        upgraded = _remind(config)
        out, err = upgraded.communicate(timeout=300)
        assert upgraded.returncode == 0, err[-1500:]
        assert f"took over {sent} entries" in out and len(hook.requests) == sent
