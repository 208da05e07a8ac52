"""``crmsync sync``: one run, with a progress bar on a terminal and plain lines in a log."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from sync.cli.common import config_option, echo_json, format_option, run_command, setup_logging
from sync.engine.run import Progress

__all__ = ["sync"]

log = logging.getLogger("crmsync.sync")


@click.command("sync")
@config_option
@format_option("text", "json")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@run_command
def sync(config_path: str, fmt: str, verbose: bool) -> None:
    """Run one sync: read every source from its cursor, map, post each voucher exactly once.

    \b
    The closing summary counts every record read exactly once:
      read = posted + already posted + skipped + quarantined + failed
    Exit codes: 0 all done, 1 some records failed or were quarantined,
    2 configuration or state error, 3 destination unavailable,
    4 another run holds the lock on the state store.
    """
    from sync.config import load_config
    from sync.orchestration import sync_once

    setup_logging(verbose)
    config = load_config(config_path)
    with _progress(enabled=fmt == "text" and sys.stderr.isatty()) as progress:
        summary = sync_once(config, progress=progress)
    if fmt == "json":
        echo_json(summary.as_dict())
    else:
        for line in summary.lines():
            click.echo(line)
    sys.exit(summary.exit_code)


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Progress]:
    if not enabled:
        yield _log_progress()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        read_task = bar.add_task("reading", total=None)
        post_task = bar.add_task("posting", total=None, visible=False)

        def phase(name: str, total: int | None) -> None:
            if name == "posting":
                bar.update(post_task, total=total, visible=True)

        yield Progress(
            on_read=lambda n: bar.advance(read_task, n),
            on_posted=lambda n: bar.advance(post_task, n),
            on_phase=phase,
        )


def _log_progress() -> Progress:
    """Plain log lines at most every 5 seconds (a log file must not fill with a bar)."""
    counts = {"read": 0, "posted": 0}
    last = [time.monotonic()]

    def tick(kind: str, n: int) -> None:
        counts[kind] += n
        now = time.monotonic()
        if now - last[0] >= 5:
            last[0] = now
            log.info("progress: read %d records, posted %d vouchers", counts["read"], counts["posted"])

    def phase(name: str, total: int | None) -> None:
        if name == "posting":
            log.info(
                "read %d records; posting %s pending vouchers",
                counts["read"],
                "the" if total is None else total,
            )

    return Progress(on_read=lambda n: tick("read", n), on_posted=lambda n: tick("posted", n), on_phase=phase)
