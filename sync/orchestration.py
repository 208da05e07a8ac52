"""What one ``crmsync sync`` (or ``reconcile --post``) does around the engine.

The engine reads, maps, plans and posts; it knows nothing of the features built on top of
it. This module wires them in, in one place: the audit note of changed config files, the
reconciliation planner hook (``reconcile.post_vouchers``), the write-back of ERP numbers to
the CRM after posting, and the audit head written outside the database (``audit.head_file``).
All of it runs under the state store's run lock, so no two runs post from one outbox.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from sync.config import AppConfig
from sync.config.sections import load_section
from sync.connector import SourceHandle
from sync.destination import Destination
from sync.engine.build import build_sources, load_mappings, mapping_files, open_store
from sync.engine.identity import open_destination
from sync.engine.run import Engine, PlanHook, Progress
from sync.engine.staleness import advice, staleness
from sync.engine.summary import RunSummary
from sync.state import StateStore, audit
from sync.state.base import now_iso

__all__ = ["reconcile_and_post", "sync_once"]

log = logging.getLogger("crmsync.orchestration")


def sync_once(
    config: AppConfig,
    *,
    progress: Progress | None = None,
    post: bool = True,
    destination_factory: Callable[[AppConfig], Destination] | None = None,
    sources: dict[str, SourceHandle] | None = None,
) -> RunSummary:
    """Load everything, take the run lock (waiting ``state.lock_timeout_seconds``), run once.

    ``sources`` replaces the configured sources (the Airbyte destination's input stream).
    """
    mappings = load_mappings(config)
    plans = _plan_hooks(config)
    audit_cfg = load_section(audit.AuditConfig, config.audit, "audit", config.config_path)

    def run(store: StateStore) -> RunSummary:
        _note_config(store, config)
        handles = sources if sources is not None else build_sources(config, set(mappings.streams()))
        if destination_factory is not None:
            dest = destination_factory(config) if post else None
        else:
            dest = open_destination(config, store) if post else None
        try:
            summary = Engine(store, mappings, handles, dest, progress=progress, plans=plans).run(post=post)
            if max(summary.read, summary.vouchers_posted) >= _MANY_ROWS:
                store.refresh_statistics()  # before the checks below, which join the grown tables
            stale = staleness(store, mappings)
            summary.stale_mappings = [s.public_dict() for s in stale]
            summary.stale_advice = list(advice(stale))
            if post:
                from sync.writeback import after_posting

                after_posting(config, store)  # ERP numbers back to the CRM; never raises
            _write_audit_head(store, config, audit_cfg)
            return summary
        finally:
            if dest is not None:
                dest.close()

    return _locked(config, run)


#: a run that wrote this many rows refreshes the planner's statistics (PostgreSQL)
_MANY_ROWS = 1000


def reconcile_and_post(config: AppConfig, rc: Any, inputs: Any = None) -> RunSummary:
    """``crmsync reconcile --post``: one engine run that reads no source, plans the
    reconciliation vouchers and posts the outbox, under the run lock like a sync.

    ``inputs`` already read (the report's) are reused; they come from the sources, not the
    state store, so reading them before taking the lock changes nothing. The run posts
    whatever else is waiting in the outbox too: there is one outbox and one poster.
    """
    from sync.reconcile.posting import ReconcilePlan

    mappings = load_mappings(config)

    def run(store: StateStore) -> RunSummary:
        dest = open_destination(config, store)
        try:
            return Engine(store, mappings, {}, dest, plans=[ReconcilePlan(config, rc, inputs)]).run()
        finally:
            dest.close()

    return _locked(config, run)


def _locked(config: AppConfig, run: Callable[[StateStore], RunSummary]) -> RunSummary:
    store = open_store(config)
    if store.created:  # a moved config or a deleted state: the person running it must know
        log.warning(
            "a new, empty state store was created at %s: it holds no record of earlier postings",
            store.where if "://" in store.where else os.path.abspath(store.where),
        )
    try:
        with store.locked(config.state.lock_timeout_seconds):
            return run(store)
    finally:
        store.close()


def _plan_hooks(config: AppConfig) -> Sequence[PlanHook]:
    """Reconciliation vouchers (``reconcile.post_vouchers: true``): validated before the lock."""
    from sync.reconcile.posting import plan_hook

    hook = plan_hook(config)
    return [] if hook is None else [hook]


def _note_config(store: StateStore, config: AppConfig) -> None:
    """A ``config_changed`` audit entry when the config or a mapping file changed."""
    files = {"config": config.config_path}
    for path in mapping_files(config):
        files[f"mapping:{path}"] = path
    audit.note_config(store, files)


def _write_audit_head(store: StateStore, config: AppConfig, cfg: audit.AuditConfig) -> None:
    """Append the chain head to ``audit.head_file``: a copy of it outside the database."""
    if not cfg.head_file:
        return
    seq, digest = audit.head(store)
    path = config.resolve_path(cfg.head_file)
    line = json.dumps({"at": now_iso(), "seq": seq, "hash": digest, "state": store.where})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError as exc:  # the run itself succeeded; say so loudly, but do not fail it
        log.error("could not append the audit head to %s: %s", path, exc)
