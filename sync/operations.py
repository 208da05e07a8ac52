"""The operator's actions on a state: approve, retry, dismiss, pause, resume.

One implementation for every way a person acts: the CLI (``crmsync approve`` …) and the web
console's buttons call these functions, so what a click does is exactly what the command
does, audited the same way. Who acts is the audit trail's actor (the OS user, or the console
user under ``audit.acting_as``); ``by`` only adds the name a command was given to the detail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.config import AppConfig
from sync.dates import parse_period
from sync.errors import ConfigurationError
from sync.state import StateStore, Status, audit

__all__ = [
    "ApproveResult",
    "DismissResult",
    "approve_vouchers",
    "dismiss_quarantine",
    "pause_posting",
    "resume_posting",
    "retry",
    "stale_mappings",
]


@dataclass(frozen=True, slots=True)
class ApproveResult:
    approved: list[str]
    #: chosen, but replaced by a newer revision meanwhile (not approved)
    gone: int


def approve_vouchers(
    store: StateStore,
    *,
    keys: Sequence[str] = (),
    period: str | None = None,
    mapping: str | None = None,
    all_: bool = False,
    by: str = "",
) -> ApproveResult:
    """Move waiting vouchers to pending: those ``keys`` name (key or key#revision), or of a period
    and/or mapping, or all. Refuses a request that names nothing."""
    if not (keys or period or mapping or all_):
        raise ConfigurationError(
            "say which vouchers to approve", hint="give KEY…, or --period 2026-11 [--mapping NAME], or --all"
        )
    if period:
        try:
            parse_period(period, field="--period")
        except ValueError as exc:
            raise ConfigurationError(str(exc), hint="write the period as YYYY-MM, e.g. 2026-11") from None
    waiting = store.list_vouchers(status=Status.AWAITING_APPROVAL)
    chosen = {
        r.external_ref: r
        for r in waiting
        if (not keys or r.key in keys or r.external_ref in keys)
        and (not period or r.voucher_date[:7] == period)
        and (not mapping or r.mapping == mapping)
    }
    # No run lock: each move is a compare-and-set (awaiting_approval -> pending), so a voucher
    # that a concurrent sync superseded after the listing above stays superseded. One
    # transaction per voucher, oldest first: approval never holds one voucher's row while
    # waiting for another's, so it cannot deadlock with a sync on PostgreSQL.
    moved: list[str] = []
    for r in sorted(chosen.values(), key=lambda row: row.seq):
        with store.transaction():
            if store.approve(r.external_ref):
                detail: dict[str, Any] = {"total": r.total, "approved_by": by or audit.actor_name()}
                audit.record(store, audit.Action.APPROVE, r.external_ref, detail)
                moved.append(r.external_ref)
    return ApproveResult(moved, len(chosen) - len(moved))


@dataclass(frozen=True, slots=True)
class DismissResult:
    dismissed: list[int]
    #: named but no longer open (resolved or dismissed before): left as they are
    not_open: list[int] = field(default_factory=list)


def dismiss_quarantine(store: StateStore, ids: Sequence[int], reason: str, *, by: str = "") -> DismissResult:
    """End quarantine entries that can never be fixed, with who and why in the audit trail.

    Compare-and-set on each entry (open -> dismissed), so it needs no run lock.
    """
    if not reason.strip():
        raise ConfigurationError("the reason is empty", hint="say why the entry can never be fixed")
    who = by or audit.actor_name()
    entries = {q.id: q for q in store.quarantine_entries(("open", "resolved", "dismissed"), ids)}
    unknown = [i for i in ids if i not in entries]
    if unknown:
        raise ConfigurationError(
            f"no quarantine entry {', '.join(map(str, unknown))}", hint="see `crmsync failures` for the ids"
        )
    done: list[int] = []
    for entry_id in ids:
        q = entries[entry_id]
        with store.transaction():
            if store.dismiss_quarantine(entry_id, f"{who}: {reason}"):
                audit.record(
                    store,
                    audit.Action.DISMISS,
                    f"{q.source}/{q.stream}/{q.record_id}",
                    {"quarantine_id": entry_id, "mapping": q.mapping, "reason": reason, "dismissed_by": who},
                )
                done.append(entry_id)
    return DismissResult(done, [i for i in ids if i not in done])


def retry(config: AppConfig, keys: Sequence[str] | None, *, post: bool) -> dict[str, Any]:
    """Re-queue failed vouchers and re-map quarantined records (``keys``; None: everything),
    under the run lock; post at once when ``post``. Given-up write-backs are queued again too.

    Raises ``LockHeld`` (exit 4) while a sync runs.
    """
    from sync.engine.build import load_mappings, open_store
    from sync.engine.identity import open_destination
    from sync.engine.retrying import requeue
    from sync.writeback.run import requeue_writeback

    mappings = load_mappings(config)
    store = open_store(config)
    try:
        with store.locked(config.state.lock_timeout_seconds):
            dest = open_destination(config, store) if post else None
            try:
                result = requeue(store, mappings, dest, keys=list(keys) if keys is not None else None)
            finally:
                if dest is not None:
                    dest.close()
    finally:
        store.close()
    result["writeback_requeued"] = requeue_writeback(config, list(keys) if keys is not None else None)
    return result


def pause_posting(store: StateStore, reason: str) -> None:
    """Stop posting for every run (reading and mapping go on); audited with the reason."""
    with store.transaction():
        store.set_flag("paused", reason or "paused by operator")
        audit.record(store, audit.Action.PAUSE, "posting", {"reason": reason})


def resume_posting(store: StateStore) -> bool:
    """Post again; False when posting was not paused (nothing recorded then)."""
    with store.transaction():
        if store.get_flag("paused") is None:
            return False
        store.set_flag("paused", None)
        audit.record(store, audit.Action.RESUME, "posting", {})
    return True


def stale_mappings(config: AppConfig, store: StateStore) -> tuple[list[Any], list[str]]:
    """The stale mappings, or a note saying why they could not be told (a mapping that fails
    to load is ``crmsync validate``'s business, not a reason for ``status`` to fail)."""
    from sync.engine.build import load_mappings
    from sync.engine.staleness import staleness

    try:
        mappings = load_mappings(config)
    except ConfigurationError:
        return [], ["mappings: could not be loaded, so their versions are not compared (crmsync validate)"]
    return staleness(store, mappings), []
