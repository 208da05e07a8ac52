"""One write-back pass: compare what each CRM record should show with what was written, and
send the differences, bounded per run, each failure recorded against its record.

Retries: the client retries a transient failure briefly (a few seconds at most); when it
still fails the CRM is down or throttling, so the pass stops and everything left is tried on
the next run, and the one after, for as long as the outage lasts: an outage is not the
record's fault and never uses up its attempts. A refusal (e.g. 数据已锁定, the record is
locked by an approval) is reported and tried again on the next runs up to ``max_attempts``,
then given up: shown by ``crmsync status`` and ``crmsync failures`` until ``crmsync retry``
re-queues it or its values change. Quota and permission problems stop the pass: every
further call would fail the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.config import AppConfig
from sync.errors import ConfigurationError, CrmsyncError, PermanentError, TransientError
from sync.state.writeback_progress import Entry, Progress
from sync.writeback.config import WritebackConfig
from sync.writeback.plan import Desired, changed_rows, desired_values, from_entry

__all__ = [
    "Updater",
    "WritebackResult",
    "after_posting",
    "open_progress",
    "progress_path",
    "requeue_writeback",
    "write_back",
    "writeback_standing",
]

log = logging.getLogger("crmsync.writeback")

#: update(object api name, record id, {field: value}); raises Transient/Permanent/ConfigurationError
Updater = Callable[[str, str, Mapping[str, Any]], object]


@dataclass
class WritebackResult:
    """What one write-back pass did, in counts an operator reads in the run's log."""

    enabled: bool = True
    written: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)  # "PaymentObj 5f3a…: errorCode 32000 (数据已锁定…)"
    retry: int = 0
    gave_up: int = 0
    deferred: int = 0  # beyond max_per_run: next run
    stopped: str = ""  # why the pass stopped early (quota, permission, unexpected error)

    def line(self) -> str:
        text = (
            f"write-back: {self.written} written, {self.unchanged} unchanged, {len(self.refused)} refused, "
            f"{self.retry} to retry, {self.gave_up} given up, {self.deferred} deferred"
        )
        return text + (f"; stopped: {self.stopped}" if self.stopped else "")


def write_back(
    desired: list[Desired], update: Updater, progress: Progress, config: WritebackConfig
) -> WritebackResult:
    """Send what differs from the recorded progress; see the module docstring for the rules."""
    result = WritebackResult()
    sent = 0
    for want in desired:
        entry = progress.get(want.stream, want.record_id)
        same = entry is not None and entry.digest == want.digest
        if same and entry is not None and entry.state in ("done", "gave_up"):
            if entry.state == "done":
                result.unchanged += 1
            else:
                result.gave_up += 1
            continue
        if sent >= config.max_per_run:
            result.deferred += 1
            continue
        attempts = (entry.attempts if same and entry is not None else 0) + 1
        fields = dict(want.fields)
        blob = json.dumps(fields, ensure_ascii=False)
        sent += 1
        try:
            update(want.stream, want.record_id, fields)
        except TransientError as exc:
            # never given up: the CRM being down says nothing about this record
            progress.put(want.stream, want.record_id, want.digest, blob, "retry", attempts, exc.message)
            result.retry += 1
            # the client already retried: the CRM is down or throttling; the rest waits for the next run
            result.stopped = exc.message
            result.deferred = len(desired) - result.written - result.unchanged - result.retry - result.gave_up
            result.deferred -= len(result.refused)
            break
        except PermanentError as exc:
            state = "refused" if attempts < config.max_attempts else "gave_up"
            progress.put(want.stream, want.record_id, want.digest, blob, state, attempts, exc.message)
            result.refused.append(f"{want.stream} {want.record_id}: {exc.message}")
            result.gave_up += state == "gave_up"
        except ConfigurationError as exc:
            result.stopped = exc.message
            break
        else:
            progress.put(want.stream, want.record_id, want.digest, blob, "done", attempts)
            result.written += 1
    return result


_WATERMARK = "outbox_updated"


def _pass(
    store: Any, progress: Progress, wb: WritebackConfig, update: Updater, source: str
) -> WritebackResult:
    """Only what changed since the last complete pass, plus values still due from earlier ones.

    The watermark (the outbox's ``updated`` time) advances only when the pass got through
    everything, so nothing changed is ever skipped; re-reading is harmless (digests).
    """
    since = progress.get_meta(_WATERMARK) or ""
    rows = changed_rows(store, since)
    fresh = {(d.stream, d.record_id): d for d in desired_values(rows, wb, source)}
    due = [from_entry(e.stream, e.record_id, e.fields) for e in progress.due()]
    desired = [d for d in due if (d.stream, d.record_id) not in fresh] + list(fresh.values())
    result = write_back(desired, update, progress, wb)
    if rows and not result.stopped and not result.deferred:
        progress.set_meta(_WATERMARK, max(str(r.updated) for r in rows))
    return result


def open_progress(config: AppConfig) -> Progress | None:
    """The write-back progress file when write-back is configured and has run (never created here)."""
    if not config.writeback:
        return None
    path = progress_path(config, load_writeback_config(config).state_file)
    return Progress(path) if path.exists() else None


def writeback_standing(config: AppConfig) -> tuple[dict[str, int] | None, list[Entry]]:
    """(records per state, those not written: retry, refused, given up); (None, []) without
    write-back. For ``status`` and ``failures``, which only read."""
    progress = open_progress(config)
    if progress is None:
        return (None if not config.writeback else {}), []
    try:
        return progress.counts(), progress.problems()
    finally:
        progress.close()


def requeue_writeback(config: AppConfig, record_ids: list[str] | None) -> int:
    """``crmsync retry``: given-up write-backs (all, or of these records) are due on the next run."""
    progress = open_progress(config)
    if progress is None:
        return 0
    try:
        return progress.requeue(record_ids)
    finally:
        progress.close()


def progress_path(config: AppConfig, configured: str | None) -> Path:
    if configured:
        return config.resolve_path(configured)
    url = config.state.url
    if url.startswith("sqlite:///"):
        return config.resolve_path(url.removeprefix("sqlite:///")).parent / "writeback.db"
    return config.base_dir / ".crmsync" / "writeback.db"


def load_writeback_config(config: AppConfig) -> WritebackConfig:
    from sync.config.sections import load_section

    cfg: WritebackConfig = load_section(WritebackConfig, config.writeback, "writeback", config.config_path)
    return cfg


def _source_name(config: AppConfig, wb: WritebackConfig) -> str:
    names = [n for n, s in config.sources.items() if s.type == "fxiaoke"]
    if wb.source:
        if wb.source not in names:
            raise ConfigurationError(
                f"{config.config_path}: writeback.source {wb.source!r} is not a fxiaoke source",
                hint=f"fxiaoke sources: {', '.join(names) or '(none)'}",
            )
        return wb.source
    if not names:
        raise ConfigurationError(
            f"{config.config_path}: writeback needs a source of type fxiaoke",
            hint="remove the writeback section, or add the Fxiaoke source",
        )
    return names[0]


def fxiaoke_updater(config: AppConfig, source: str) -> Updater:
    """The CRM client of ``source`` (built by its connector, found through the registry)."""
    from sync.config.registry import resolve

    section = config.sources[source]
    updater: Updater = resolve("source", section.type).build_updater(section.model_dump())
    return updater


def after_posting(config: AppConfig, store: Any, updater: Updater | None = None) -> WritebackResult:
    """The engine's hook after a run posted: write ERP numbers back; never raises."""
    try:
        wb = load_writeback_config(config)
        if not wb.active:
            return WritebackResult(enabled=False)
        source = _source_name(config, wb)
        progress = Progress(progress_path(config, wb.state_file))
        try:
            result = _pass(store, progress, wb, updater or fxiaoke_updater(config, source), source)
        finally:
            progress.close()
    except CrmsyncError as exc:
        log.error("write-back skipped: %s", exc.render())
        return WritebackResult(stopped=exc.message)
    except Exception as exc:  # the hook must never fail a run whose posting succeeded
        log.exception("write-back failed unexpectedly")
        return WritebackResult(stopped=f"{type(exc).__name__}: {exc}")
    for problem in result.refused:
        log.warning("write-back refused: %s", problem)
    log.info("%s", result.line())
    return result
