"""``crmsync schedule``: run sync on the config's cron expression until stopped.

One run at a time (the runs happen in this process, one after the other; the state lock
also keeps out runs started elsewhere). SIGTERM or SIGINT stops cleanly: between runs at
once, during a run after it finishes. A failed run is logged and the schedule goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from types import FrameType

import click

from sync.cli.common import config_option, run_command, setup_logging
from sync.errors import ConfigurationError, CrmsyncError

__all__ = ["schedule"]

log = logging.getLogger("crmsync.schedule")


@click.command("schedule")
@config_option
@click.option(
    "--max-runs", type=click.IntRange(min=1), help="Stop after this many runs (for tests and one-offs)."
)
@click.option("--now", "run_now", is_flag=True, help="Run once at start, then follow the schedule.")
@run_command
def schedule(config_path: str, max_runs: int | None, run_now: bool) -> None:
    """Run `crmsync sync` on the `schedule:` cron expression (5 fields, or 6 with seconds last)."""
    from croniter import croniter

    from sync.config import load_config
    from sync.config.loader import ConfigProblems
    from sync.config.sections import schedule_problems
    from sync.orchestration import sync_once

    setup_logging()
    config = load_config(config_path)
    if not config.schedule:
        raise ConfigurationError(
            f"{config.config_path}: no `schedule:` cron expression",
            hint='add e.g. schedule: "*/15 * * * *" (every 15 minutes)',
        )
    bad = schedule_problems(config)
    if bad:
        raise ConfigProblems(bad)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping after the current run", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cron = croniter(config.schedule, dt.datetime.now(dt.UTC))
    runs = 0
    first = run_now
    log.info("schedule %r; next run at %s", config.schedule, "now" if first else cron.get_next(dt.datetime))
    if not first:
        cron = croniter(config.schedule, dt.datetime.now(dt.UTC))
    while not stop.is_set():
        if not first:
            when = cron.get_next(dt.datetime)
            delay = (when - dt.datetime.now(dt.UTC)).total_seconds()
            if delay > 0 and stop.wait(delay):
                break
        first = False
        runs += 1
        try:
            summary = sync_once(load_config(config_path))
            log.info("run %d: %s", summary.run_id, "; ".join(summary.lines()[:1]))
        except CrmsyncError as exc:
            log.error("run failed (exit code %d): %s; the schedule goes on", exc.exit_code, exc.render())
        except Exception:
            log.exception("run failed unexpectedly; the schedule goes on")
        if max_runs is not None and runs >= max_runs:
            break
    log.info("schedule stopped after %d runs", runs)
