"""``crmsync retry``: failed vouchers back to pending, quarantined records mapped again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sync.destination import Destination
from sync.engine.outbox import RecordOutcome, RecordWriter
from sync.engine.reversals import Planner
from sync.engine.run import Engine
from sync.engine.summary import RunSummary
from sync.state import StateStore, audit

__all__ = ["requeue"]


def requeue(
    store: StateStore, mappings: Any, destination: Destination | None, *, keys: Sequence[str] | None
) -> dict[str, Any]:
    """Retry what ``keys`` name (None: everything); post at once when a destination is given.

    The caller holds the run lock.
    """
    requeued = store.retry_failed(keys or ())
    quarantined = store.open_quarantine()
    if keys is not None:
        wanted = set(keys)
        quarantined = [q for q in quarantined if str(q.id) in wanted or q.record_id in wanted]
    remapped = still = 0
    summary = RunSummary()
    planner = Planner.of(store, None, mappings, destination)
    writer = RecordWriter(store, planner, summary)
    with store.transaction():
        for q in quarantined:
            if q.source == "(group)":
                store.mark_group_dirty(q.mapping, q.record_id, "red", 0)
                store.resolve_quarantine(q.mapping, q.source, q.stream, q.record_id)
                remapped += 1
                continue
            results = mappings.map_record(q.source, q.stream, q.record)
            outcome = writer.apply(q.source, q.stream, q.record, results)
            remapped += 1
            still += outcome is RecordOutcome.QUARANTINED
    result: dict[str, Any] = {
        "vouchers_requeued": requeued,
        "records_remapped": remapped,
        "still_quarantined": still,
    }
    audit.record(  # audit hook (sync.state.audit): who asked for which retry
        store, audit.Action.RETRY, "--all" if keys is None else " ".join(keys), dict(result)
    )
    if destination is not None:
        run = Engine(store, mappings, {}, destination).run()
        result["summary"] = run.as_dict()
    return result
